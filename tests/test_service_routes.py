"""The node app is assembled from the router modules alone: every module under ``service/routes`` is
mounted, and every path the app serves comes from exactly one of them."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter, FastAPI

import kizuna.service.routes as routes_pkg
from kizuna.service import create_app
from kizuna.share.loopback import free_port, write_coalition
from kizuna.share.node import Node


def test_every_path_comes_from_one_router_module(tmp_path):
    cfgs = write_coalition(tmp_path, {"JPN": free_port(), "USA": free_port()})
    node = Node.open(str(tmp_path / "JPN.db"), cfgs["JPN"], tmp_path / "keys")
    try:
        served = set(create_app(node).openapi()["paths"])
    finally:
        node.catalog.close()

    owner: dict[str, str] = {}
    for info in pkgutil.iter_modules(routes_pkg.__path__):
        module = importlib.import_module(f"{routes_pkg.__name__}.{info.name}")
        router = getattr(module, "router", None)
        assert isinstance(router, APIRouter), f"routes/{info.name}.py has no module-level APIRouter"
        assert router in routes_pkg.ROUTERS, f"routes/{info.name}.py is not mounted by create_app"
        alone = FastAPI()
        alone.include_router(router)
        for path in alone.openapi()["paths"]:
            assert path not in owner, f"{path} is served by both {owner[path]} and {info.name}"
            owner[path] = info.name
    assert served == set(owner)
    assert {"/health", "/taxii2/", "/products", "/audit/checkpoint", "/feed/stream"} <= served


def test_product_collections_are_spelled_as_english_plurals(tmp_path):
    """Each product type's collection path is written out (`/products/dark-vessels`,
    `/products/derived`); appending "s" to every type name served `/products/dark-vesselss` and
    `/products/deriveds`."""
    from kizuna.share.products import PRODUCT_TYPES

    cfgs = write_coalition(tmp_path, {"JPN": free_port(), "USA": free_port()})
    node = Node.open(str(tmp_path / "JPN.db"), cfgs["JPN"], tmp_path / "keys")
    try:
        served = set(create_app(node).openapi()["paths"])
    finally:
        node.catalog.close()
    collections = {
        p.split("/")[2] for p in served if p.startswith("/products/") and "{" not in p.split("/")[2]
    }
    assert collections == {
        "element-sets",
        "conjunctions",
        "revisit-reports",
        "maneuvers",
        "proximity-alerts",
        "dark-vessels",
        "maritime-alerts",
        "maritime-events",
        "observations",
        "launch-events",
        "track-updates",
        "impact-predictions",
        "orbit-determinations",
        "derived",
    }
    assert len(collections) == len(PRODUCT_TYPES)
