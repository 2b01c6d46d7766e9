"""One router per domain, in the order ``create_app`` mounts them."""

from kizuna.service.routes import (
    audit,
    console,
    console_views,
    feed,
    health,
    jobs,
    node_status,
    products,
    session,
    sync_notify,
    taxii,
)

ROUTERS = (
    health.router,
    node_status.router,
    taxii.router,
    products.router,
    audit.router,
    feed.router,
    jobs.router,
    sync_notify.router,
    session.router,
    console.router,
    console_views.router,
)

__all__ = [
    "ROUTERS",
    "audit",
    "console",
    "console_views",
    "feed",
    "health",
    "jobs",
    "node_status",
    "products",
    "session",
    "sync_notify",
    "taxii",
]
