"""The node's HTTP service (FastAPI): products per type, TAXII 2.1, SSE live feed, audit."""

from kizuna.service.app import create_app

__all__ = ["create_app"]
