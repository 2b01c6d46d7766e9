"""A node for the web console's browser tests, benchmark and screenshots.

One JPN node holding a real public catalog (the first `max_objects` of a 3LE file) and products of
every kind the console shows, under two markings: UNCLASSIFIED, and SECRET//REL TO USA, JPN. Two
users of the node: ``analyst-jpn`` (a JPN national, SECRET) and ``analyst-ukr`` (a UKR national,
SECRET), so the same page shows the JPN user everything and the UKR user only the UNCLASSIFIED items.

The conjunction products are the four highest-Pc events of a real all-vs-all screening of that
catalog (1 day from its newest epoch, 10 km sphere, TLE-only maximum Pc), so the console shows real
encounter geometry and the Pc the screening computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path

import yaml

from kizuna.errors import KizunaError
from kizuna.sda.screening import screen
from kizuna.share.markings import parse_banner
from kizuna.share.node import Node
from kizuna.share.products import Product
from kizuna.share.signing import generate_keys
from kizuna.store.catalog import CatalogStore
from kizuna.store.ingest import load_file

SECRET_REL = "SECRET//REL TO USA, JPN"
# An operational screening sphere: a few hundred catalog objects give a handful of events a day.
CONJUNCTION_SPHERE_KM = 10.0
TOKENS = {"analyst-jpn": "console-token-jpn", "analyst-ukr": "console-token-ukr"}


@dataclass
class ConsoleNode:
    node: Node
    tokens: dict[str, str]  # user name -> bearer token
    secret_ids: set[str]  # ids of the SECRET//REL TO USA, JPN products
    unclassified_ids: set[str]
    conjunction_pc: dict[str, float]  # conjunction product id -> its Pc


def _config(directory: Path) -> Path:
    users = [
        {"name": name, "token": TOKENS[name], "nationality": nation, "clearance": "SECRET", "accesses": []}
        for name, nation in (("analyst-jpn", "JPN"), ("analyst-ukr", "UKR"))
    ]
    cfg = {
        "node": {"id": "JPN", "nation": "JPN", "clearance": "SECRET", "accesses": []},
        "partners": [],
        "users": users,
        "insecure": True,  # served on loopback without TLS, and says so
    }
    path = directory / "JPN.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def build_console_node(directory: Path, catalog_3le: Path, max_objects: int | None = 2000) -> ConsoleNode:
    """Make the node in `directory` (keys, config, SQLite store) and fill it."""
    directory.mkdir(parents=True, exist_ok=True)
    keys = directory / "keys"
    if not (keys / "JPN.key.pem").exists():
        generate_keys(keys, "JPN")
    config = _config(directory)
    source = catalog_3le
    if max_objects is not None:
        lines = catalog_3le.read_text().splitlines()
        source = directory / "catalog.3le"
        source.write_text("\n".join(lines[: 3 * max_objects]) + "\n")
    store = CatalogStore(str(directory / "jpn.db"))
    load_file(store, source)
    store.close()
    node = Node.open(str(directory / "jpn.db"), config, keys)
    sets = [es for es in node.catalog.latest_element_sets() if es.mean_motion_revday > 11.25][:8]
    when = max(es.epoch_utc for es in sets) + timedelta(hours=1)
    secret, unclassified = parse_banner(SECRET_REL), parse_banner("UNCLASSIFIED")
    out = ConsoleNode(node, dict(TOKENS), set(), set(), {})

    def publish(ptype: str, payload: dict[str, object], marking: str, objects: tuple[int, ...]) -> str:
        product = Product.new(
            ptype, payload, secret if marking == SECRET_REL else unclassified, "JPN", objects=objects
        )
        node.publish(product, actor="console-demo")
        (out.secret_ids if marking == SECRET_REL else out.unclassified_ids).add(product.id)
        return product.id

    # Conjunctions: the highest-Pc events of a real screening, alternately SECRET and UNCLASSIFIED,
    # so the most probable one leads a JPN user's list and is withheld from a UKR user.
    catalog = node.catalog.latest_element_sets()
    start = max(es.epoch_utc for es in catalog).replace(minute=0, second=0, microsecond=0)
    screened = screen(catalog, start, start + timedelta(days=1), threshold_km=CONJUNCTION_SPHERE_KM)
    events = sorted(
        (e for e in screened.events if e.pc is not None), key=lambda e: e.pc or 0.0, reverse=True
    )[:4]
    if len(events) < 4:
        raise KizunaError(f"{catalog_3le}: screening found {len(events)} conjunctions, the console needs 4")
    for event, marking in zip(
        events, (SECRET_REL, UNCLASS := "UNCLASSIFIED", SECRET_REL, UNCLASS), strict=True
    ):
        pid = publish("conjunction", event.as_dict(), marking, (event.primary, event.secondary))
        out.conjunction_pc[pid] = event.pc or 0.0
    t0 = when.astimezone(UTC)
    publish(
        "maneuver",
        {"norad_id": sets[0].norad_id, "epoch_utc": t0.isoformat(), "delta_sma_km": 1.8, "score": 6.2},
        UNCLASS,
        (sets[0].norad_id,),
    )
    publish(
        "proximity_alert",
        {"primary": sets[2].norad_id, "secondary": sets[3].norad_id, "range_km": 4.2, "duration_h": 6},
        SECRET_REL,
        (sets[2].norad_id, sets[3].norad_id),
    )
    track = [
        {
            "lat_deg": 34.0 + 0.1 * k,
            "lon_deg": 139.8 + 0.15 * k,
            "time_utc": (t0 + timedelta(minutes=10 * k)).isoformat(),
        }
        for k in range(8)
    ]
    publish("maritime_alert", {"alert": "loitering", "mmsi": 431000001, "track": track}, UNCLASS, ())
    publish(
        "dark_vessels",
        {"candidates": [{"lat_deg": 33.5, "lon_deg": 135.2, "length_m": 180.0, "score": 0.91}]},
        SECRET_REL,
        (),
    )
    publish("revisit_report", {"aoi": "Tokyo Bay", "mean_revisit_h": 5.8, "max_gap_h": 13.1}, UNCLASS, ())
    return out
