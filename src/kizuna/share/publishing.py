"""Publish analysis results of this node as marked, signed, audited products (used by the CLI)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from kizuna.share.markings import parse_banner
from kizuna.share.node import Node
from kizuna.share.products import Product


def publish_payloads(
    db: str,
    partners: Path,
    keys: Path,
    banner: str,
    items: Iterable[tuple[str, dict[str, object], Sequence[int]]],
    actor: str = "cli",
) -> list[dict[str, object]]:
    """Wrap each (product type, JSON payload, NORAD ids) as a product of this node under one marking.

    Raises the share layer's errors (bad marking, unknown type, policy) before anything is stored
    for that product; each publish is its own transaction and audit entry.
    """
    node = Node.open(db, partners, keys)
    try:
        marking = parse_banner(banner, node.config.markings)
        published = []
        for product_type, payload, objects in items:
            product = Product.new(product_type, payload, marking, node.node_id, objects=tuple(objects))
            signed = node.publish(product, actor=actor)
            published.append(
                {
                    "id": product.id,
                    "version": product.version,
                    "type": product_type,
                    "objects": list(objects),
                    "banner": signed["banner"],
                }
            )
        return published
    finally:
        node.catalog.close()
