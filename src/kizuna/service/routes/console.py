"""What the console (the web page the node serves at ``/``) reads: compact, and only what is released.

Every route here takes the caller like every other route (bearer token, or the console's session
cookie) and reads products only through ``node.visibility(caller.subject)``, so the page is shown
exactly what the node releases to its user and never filters anything itself. Each item carries its
signed marking (banner and structured label) so the page can raise the classification banner of the
most restricted item on screen.

The element catalog is the node's public catalog (element sets as distributed by CelesTrak and
Space-Track), marked UNCLASSIFIED; it is sent as TLE lines, which the page propagates with SGP4
(satellite.js) in a Web Worker.
"""

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from kizuna.formats.tle import format_tle
from kizuna.service import models
from kizuna.service.deps import CallerDep, CursorsDep, NodeDep, audit_access
from kizuna.service.responses import AUTH_RESPONSES
from kizuna.share.node import Node
from kizuna.share.products import iso_z
from kizuna.store.share_store import ProductRow

router = APIRouter(prefix="/console/api", tags=["console"])

# The built page (web/, `make console`), inside the package so it is served from the installed
# package; absent in a source tree nobody built, and then `/` is not served.
CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console"
# The public catalog's marking: element sets as the catalog owners distribute them.
CATALOG_MARKING = {"banner": "UNCLASSIFIED", "label": {"classification": "UNCLASSIFIED"}}
# Products one list answers at most (newest first); the page shows the newest.
MAX_ITEMS = 1000
# Element sets of one object's history answered at most (newest).
MAX_HISTORY = 2000


class _CatalogCache:
    """The catalog answer, rebuilt when the element-set count changes (a load adds sets): the TLE
    text of 24,000 objects takes about a second to make, the page asks for it on every load."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: int | None = None
        self._body: bytes = b""

    def body(self, node: Node) -> bytes:
        key = node.catalog.count_element_sets()
        with self._lock:
            if key != self._key:
                sets = node.catalog.latest_element_sets()
                rows = []
                for es in sets:
                    l1, l2 = format_tle(es)
                    rows.append([es.norad_id, es.object_name or "", l1, l2])
                self._body = json.dumps(
                    {**CATALOG_MARKING, "count": len(rows), "objects": rows}, separators=(",", ":")
                ).encode()
                self._key = key
            return self._body


_CACHE_LOCK = threading.Lock()


def _catalog_cache(request: Request) -> _CatalogCache:
    cache = getattr(request.app.state, "console_catalog", None)
    if cache is None:
        with _CACHE_LOCK:
            cache = getattr(request.app.state, "console_catalog", None)
            if cache is None:
                cache = _CatalogCache()
                request.app.state.console_catalog = cache
    assert isinstance(cache, _CatalogCache)
    return cache


@router.get("/catalog", responses=AUTH_RESPONSES)
def catalog(request: Request, c: CallerDep, node: NodeDep) -> Response:
    """The newest element set of every object as TLE lines: ``objects: [[norad_id, name, line1,
    line2], ...]``, with ``count`` and the catalog's marking."""
    return Response(_catalog_cache(request).body(node), media_type="application/json")


@router.get("/objects/{norad_id}", responses=AUTH_RESPONSES | {404: {"description": "no such object"}})
def object_history(
    c: CallerDep, node: NodeDep, norad_id: Annotated[int, PathParam(ge=0, le=339_999)]
) -> dict[str, object]:
    """One object: its SATCAT facts and its element history (newest last, at most 2,000 sets)."""
    entry = node.catalog.get_object(norad_id)
    history = node.catalog.history(norad_id)[-MAX_HISTORY:]
    if entry is None and not history:
        raise HTTPException(404, "no such object in the catalog")
    so = entry.space_object if entry is not None else None
    return {
        **CATALOG_MARKING,
        "norad_id": norad_id,
        "name": (so.object_name if so else None) or (history[-1].object_name if history else None),
        "object_id": (so.object_id if so else None) or (history[-1].object_id if history else None),
        "owner": so.owner if so else None,
        "object_type": so.object_type if so else None,
        "regime": entry.regime if entry is not None else None,
        "history": [
            {
                "epoch_utc": iso_z(es.epoch_utc),
                "mean_motion_revday": es.mean_motion_revday,
                "eccentricity": es.eccentricity,
                "inclination_deg": es.inclination_deg,
                "raan_deg": es.raan_deg,
                "perigee_alt_km": round(es.perigee_alt_km, 3),
                "apogee_alt_km": round(es.apogee_alt_km, 3),
                "bstar_per_er": es.bstar_per_er,
            }
            for es in history
        ],
    }


def _item(row: ProductRow) -> dict[str, Any]:
    doc = json.loads(row.wire)["product"]  # the signed document: {product, banner, signature}
    return {
        "id": row.product_id,
        "version": row.version,
        "type": row.type,
        "originator": row.originator,
        "created_utc": doc.get("created_utc"),
        "objects": doc.get("objects", []),
        "banner": row.banner,
        "label": doc.get("marking"),
        "payload": doc.get("payload"),
    }


def _released(node: Node, c: CallerDep, ptype: str | None, limit: int) -> list[ProductRow]:
    """The current version of every product of `ptype` released to the caller, newest first."""
    vis = node.visibility(c.subject)
    rows: list[ProductRow] = []
    after = 0
    while True:
        page = node.share.page(vis, after=after, limit=1000, type=ptype, current_only=True)
        rows.extend(page)
        if len(page) < 1000:
            break
        after = page[-1].seq
    rows = sorted(rows, key=lambda r: r.seq, reverse=True)[:limit]
    audit_access(node, c, rows, f"console {ptype or 'feed'}")
    return rows


def _cdm_text(payload: dict[str, Any], originator: str) -> str | None:
    """The CCSDS CDM (KVN) of a conjunction product that carries the screening event's states, or
    None when it does not (a product made by hand, with the summary numbers only)."""
    from kizuna.formats.cdm import write_cdm_kvn
    from kizuna.sda.assess import event_to_cdm
    from kizuna.sda.records import ConjunctionEvent

    need = ("primary_teme", "secondary_teme", "primary_itrf", "secondary_itrf")
    if not all(isinstance(payload.get(k), list) and len(payload[k]) == 6 for k in need):
        return None
    try:
        event = ConjunctionEvent(
            primary=int(payload["primary"]),
            secondary=int(payload["secondary"]),
            tca_utc=np.datetime64(str(payload["tca_utc"]).rstrip("Z"), "ns"),
            miss_km=float(payload["miss_km"]),
            rel_speed_kms=float(payload["rel_speed_kms"]),
            radial_km=float(payload["radial_km"]),
            intrack_km=float(payload["intrack_km"]),
            crosstrack_km=float(payload["crosstrack_km"]),
            primary_teme=tuple(float(x) for x in payload["primary_teme"]),
            secondary_teme=tuple(float(x) for x in payload["secondary_teme"]),
            primary_itrf=tuple(float(x) for x in payload["primary_itrf"]),
            secondary_itrf=tuple(float(x) for x in payload["secondary_itrf"]),
            pc=None if payload.get("pc") is None else float(payload["pc"]),
            pc_method=str(payload.get("pc_method") or ""),
            hbr_m=None if payload.get("hbr_m") is None else float(payload["hbr_m"]),
            hbr_source=str(payload.get("hbr_source") or ""),
            primary_name=str(payload.get("primary_name") or ""),
            secondary_name=str(payload.get("secondary_name") or ""),
            primary_object_id=str(payload.get("primary_object_id") or ""),
            secondary_object_id=str(payload.get("secondary_object_id") or ""),
            primary_cov_rtn_km2=tuple(float(x) for x in payload.get("primary_cov_rtn_km2") or ()),
            secondary_cov_rtn_km2=tuple(float(x) for x in payload.get("secondary_cov_rtn_km2") or ()),
        )
        created = datetime.now(UTC).replace(microsecond=0)
        return write_cdm_kvn(event_to_cdm(event, originator=originator, creation_utc=created))
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return None


def _pc(item: dict[str, Any]) -> float:
    pc = (item.get("payload") or {}).get("pc")
    return float(pc) if isinstance(pc, int | float) else -1.0


@router.get("/conjunctions", responses=AUTH_RESPONSES)
def conjunctions(
    c: CallerDep, node: NodeDep, limit: Annotated[int, Query(ge=1, le=MAX_ITEMS)] = MAX_ITEMS
) -> dict[str, object]:
    """Conjunction products released to the caller, highest Pc first, each with its CDM (KVN) when
    the product carries the event's states."""
    items = []
    for row in _released(node, c, "conjunction", limit):
        item = _item(row)
        payload = item["payload"] if isinstance(item["payload"], dict) else {}
        item["cdm"] = _cdm_text(payload, row.originator)
        items.append(item)
    items.sort(key=_pc, reverse=True)
    return {"items": items}


@router.get("/products", responses=AUTH_RESPONSES)
def products(
    c: CallerDep,
    node: NodeDep,
    box: CursorsDep,
    type: Annotated[models.ProductType | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ITEMS)] = 200,
) -> JSONResponse:
    """Products released to the caller (of one type, or of every type), newest first; `next` is the
    live feed's cursor (``/feed/stream?next=``) for what arrives after them."""
    # The feed resumes after the store's high-water mark read before the list: a product stored
    # meanwhile comes in both (the page keeps one), none is missed.
    high = node.share.max_seq()
    rows = _released(node, c, type, limit)
    body = {"items": [_item(r) for r in rows], "next": box.seal(high)}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def mount_console(app: FastAPI, directory: Path = CONSOLE_DIR) -> None:
    """Serve the built console at ``/`` (after every router, so the API paths come first). Nothing is
    mounted when the console was not built."""
    if (directory / "index.html").is_file():
        app.mount("/", StaticFiles(directory=directory, html=True), name="console")
