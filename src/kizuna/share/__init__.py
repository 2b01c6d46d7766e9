"""Sharing layer: markings, policy, signed products, tamper-evident audit, federation between nodes."""

from kizuna.share.markings import Classification, Marking, MarkingError, parse_banner
from kizuna.share.policy import Subject, combine, may_access
from kizuna.share.products import Product, canonical_json

__all__ = [
    "Classification",
    "Marking",
    "MarkingError",
    "Product",
    "Subject",
    "canonical_json",
    "combine",
    "may_access",
    "parse_banner",
]
