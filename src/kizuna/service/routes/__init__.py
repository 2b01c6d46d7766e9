"""One router per domain, in the order ``create_app`` mounts them."""

from kizuna.service.routes import audit, console, feed, health, node_status, products, session, taxii

ROUTERS = (
    health.router,
    node_status.router,
    taxii.router,
    products.router,
    audit.router,
    feed.router,
    session.router,
    console.router,
)

__all__ = [
    "ROUTERS",
    "audit",
    "console",
    "feed",
    "health",
    "node_status",
    "products",
    "session",
    "taxii",
]
