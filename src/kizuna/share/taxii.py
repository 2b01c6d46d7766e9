"""Where a node's TAXII 2.1 collections live (OASIS TAXII Version 2.1): the API root path and the
collection ids, shared by the server (``kizuna.service.routes.taxii``) and the federation client that
pulls a partner's collection.

A collection id is a UUID, which "universally and uniquely identifies this Collection" (TAXII 2.1,
collection resource): a UUIDv5 (RFC 9562) of the node id and the collection's alias, so two nodes
never share one, a node always serves the same one, and a partner computes it without asking.
"""

from __future__ import annotations

import uuid

API_ROOT_PATH = "/taxii2/kizuna/"
DISCOVERY_PATH = "/taxii2/"
# The one collection: every product version the caller may hold. Its alias is the collection
# resource's `alias`, unique within the API root.
PRODUCTS = "products"
COLLECTIONS = (PRODUCTS,)
# Fixed for ever: changing it changes every collection id partners and consumers have stored.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:kizuna:taxii2:collection")


def collection_id(node_id: str, alias: str = PRODUCTS) -> str:
    """The id of collection `alias` on node `node_id`."""
    return str(uuid.uuid5(_NAMESPACE, f"{node_id}/{alias}"))


def objects_path(node_id: str, alias: str = PRODUCTS) -> str:
    """The path of the Get Objects endpoint (TAXII 2.1) of collection `alias` on node `node_id`."""
    return f"{API_ROOT_PATH}collections/{collection_id(node_id, alias)}/objects/"
