"""Products this node holds, as inputs to its own analyses: only what verifies and what the node's
own marking accesses release (a partner's tracking data fitted into our orbits, say).

The store's row check verifies every row it returns (signature, signed label against the policy
columns) and audits a row that fails once, so a tampered product is never handed to an analysis: it
is skipped here and named in the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kizuna.share.limits import MAX_OBJECTS
from kizuna.share.node import Node
from kizuna.share.products import Product

# Products of one kind about one object read at once: a campaign is a few dozen products; a store
# flooded with thousands for one object is refused rather than fitted.
MAX_HELD_PRODUCTS = 1_000


class HoldingsError(LookupError):
    """A product asked for by id is not held, not of the kind asked, or does not verify."""


@dataclass(frozen=True)
class Held:
    product: Product
    banner: str
    source: str  # "local" or the partner the node received it from


def held_products(
    node: Node, product_type: str, *, norad_id: int | None = None, ids: Sequence[str] = ()
) -> list[Held]:
    """The current, verified versions of `product_type` products this node may use: those about
    `norad_id` (oldest first), and each of `ids` (in the order given; one not held verified raises
    :class:`HoldingsError` naming it). More than :data:`MAX_HELD_PRODUCTS` raises too."""
    vis = node.visibility(node.self_subject)
    rows = []
    if norad_id is not None:
        rows = node.share.page(
            vis, type=product_type, norad_id=norad_id, current_only=True, limit=MAX_HELD_PRODUCTS + 1
        )
        if len(rows) > MAX_HELD_PRODUCTS:
            raise HoldingsError(
                f"more than {MAX_HELD_PRODUCTS} {product_type} products about {norad_id}; name them by id"
            )
    if len(ids) > min(MAX_HELD_PRODUCTS, MAX_OBJECTS):
        raise HoldingsError(f"at most {MAX_HELD_PRODUCTS} product ids")
    seen = {r.product_id for r in rows}
    for product_id in ids:
        if product_id in seen:
            continue
        row = node.share.get(vis, product_id)
        if row is None:
            raise HoldingsError(f"{product_id}: not held here, or it does not verify")
        if row.type != product_type:
            raise HoldingsError(f"{product_id}: a {row.type} product, not {product_type}")
        rows.append(row)
        seen.add(product_id)
    return [Held(node.verified_row(r), r.banner, r.source) for r in rows]
