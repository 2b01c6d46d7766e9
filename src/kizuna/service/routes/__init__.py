"""One router per domain, in the order ``create_app`` mounts them."""

from kizuna.service.routes import audit, feed, health, jobs, node_status, products, sync_notify, taxii

ROUTERS = (
    health.router,
    node_status.router,
    taxii.router,
    products.router,
    audit.router,
    feed.router,
    jobs.router,
    sync_notify.router,
)

__all__ = ["ROUTERS", "audit", "feed", "health", "jobs", "node_status", "products", "sync_notify", "taxii"]
