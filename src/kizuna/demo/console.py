"""A node for the web console's browser tests, benchmark and screenshots.

One JPN node holding a real public catalog (the first `max_objects` of a 3LE file) and products of
every kind the console shows, under two markings: UNCLASSIFIED, and SECRET//REL TO USA, JPN. Two
users of the node: ``analyst-jpn`` (a JPN national, SECRET) and ``analyst-ukr`` (a UKR national,
SECRET), so the same page shows the JPN user everything and the UKR user only the UNCLASSIFIED items.

Every product is computed by the node's analyses, none is written by hand:

- conjunctions: the four highest-Pc events of an all-vs-all screening of the catalog (1 day from its
  newest epoch, 10 km sphere, TLE-only maximum Pc);
- maneuver: the newest maneuver found in the bundled 2023 ISS element history;
- proximity alert: the proximity watch of the most probable conjunction's primary over that day;
- maritime alerts: the spoofing events of the bundled real AIS, which the node stores as its own;
- dark vessels (given a Sentinel-1 GRD SAFE product): its CFAR ship detections matched to that AIS;
- revisit reports: SAR access and revisit of a Walker design over the bundled areas of interest,
  with each pass's field of regard, swath and ground track (:mod:`kizuna.eo.footprint`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import cast

import numpy as np
import yaml

from kizuna.demo.earth_observation import demo_aoi_text
from kizuna.demo.maritime import bundled_ais_files
from kizuna.eo.access import AccessWindows, Targets, compute_access
from kizuna.eo.aoi import parse_geojson, sample_points
from kizuna.eo.constellation import walker
from kizuna.eo.footprint import field_of_regard, sar_swath
from kizuna.eo.revisit import merge_intervals, per_aoi
from kizuna.eo.sensors import SarSensor
from kizuna.errors import KizunaError
from kizuna.formats.sar import read_safe_scene, scene_lonlat
from kizuna.formats.tle import read_tle
from kizuna.maritime.cfar import CfarConfig, cfar, detections_from
from kizuna.maritime.dark import dark_product, find_dark_vessels
from kizuna.maritime.events import event_dict
from kizuna.maritime.spoofing import detect_spoofing
from kizuna.maritime.tracks import clean_tracks
from kizuna.model.records import ElementSet
from kizuna.orbit.propagate import propagate
from kizuna.orbit.timescale import iso_utc
from kizuna.sda.maneuvers import LEO_CONFIG
from kizuna.sda.maneuvers import detect as detect_maneuvers
from kizuna.sda.proximity import watch
from kizuna.sda.screening import screen
from kizuna.share.markings import parse_banner
from kizuna.share.node import Node
from kizuna.share.products import Product
from kizuna.share.signing import generate_keys
from kizuna.store.ais_store import AisLoadSummary, AisStore
from kizuna.store.catalog import CatalogStore
from kizuna.store.eo_store import ConstellationStore
from kizuna.store.ingest import load_file

Publish = Callable[[str, dict[str, object], str, tuple[int, ...]], str]

SECRET_REL = "SECRET//REL TO USA, JPN"
UNCLASSIFIED = "UNCLASSIFIED"
# An operational screening sphere: a few hundred catalog objects give a handful of events a day.
CONJUNCTION_SPHERE_KM = 10.0
# The EO products: a 24-satellite SAR Walker design (24/4/1, 575 km, 53 deg: its swath reaches
# both Kyiv at 50 N and the Senkaku islands at 26 N) over the bundled areas for one day; each
# pass's swath drawn from this many samples.
EO_DESIGN = (24, 4, 1, 575.0, 53.0)
EO_DESIGN_NAME = "SAR walker:24/4/1:575:53"
EO_DAYS = 1.0
SWATH_SAMPLES = 12
REGARD_SAMPLES = 24
MAX_PASSES = 150
# Maritime alerts published at most, and the points of each vessel track they carry at most.
MAX_ALERTS = 4
MAX_TRACK_POINTS = 200
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


def build_console_node(
    directory: Path, catalog_3le: Path, max_objects: int | None = 2000, sar_safe: Path | None = None
) -> ConsoleNode:
    """Make the node in `directory` (keys, config, SQLite store) and fill it; `sar_safe`, a Sentinel-1
    GRD SAFE product, adds the dark-vessel candidates of its ship detections."""
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
    secret, unclassified = parse_banner(SECRET_REL), parse_banner("UNCLASSIFIED")
    out = ConsoleNode(node, dict(TOKENS), set(), set(), {})

    def publish(ptype: str, payload: dict[str, object], marking: str, objects: tuple[int, ...]) -> str:
        # Through JSON first: the analyses' numbers are partly numpy scalars, which the signature's
        # canonical form would write differently from the JSON stored (the product would not verify).
        plain = json.loads(json.dumps(payload, allow_nan=False))
        product = Product.new(
            ptype, plain, secret if marking == SECRET_REL else unclassified, "JPN", objects=objects
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
    for event, marking in zip(events, (SECRET_REL, UNCLASSIFIED, SECRET_REL, UNCLASSIFIED), strict=True):
        pid = publish("conjunction", event.as_dict(), marking, (event.primary, event.secondary))
        out.conjunction_pc[pid] = event.pc or 0.0
    _publish_maneuver_and_proximity(node, events[0].primary, start, catalog, publish)
    _publish_maritime(node, sar_safe, publish)
    _publish_eo(node, start, publish)
    return out


def _publish_maneuver_and_proximity(
    node: Node, asset: int, start: datetime, catalog: list[ElementSet], publish: Publish
) -> None:
    """The newest ISS maneuver found in its bundled 2023 element history, and the proximity watch of
    the most probable conjunction's primary against the catalog over the screened day."""
    history = read_tle(
        (resources.files("kizuna") / "data" / "maneuvers" / "iss_25544_2023.tle").read_text(),
        "iss_25544_2023.tle",
    ).records
    found = detect_maneuvers(history, dataclasses.replace(LEO_CONFIG, min_dv_mps=0.1)).maneuvers
    if not found:
        raise KizunaError("iss_25544_2023.tle: the maneuver detector found no ISS maneuver")
    publish("maneuver", found[-1].to_product_payload(), UNCLASSIFIED, (25544,))
    assets = [es for es in catalog if es.norad_id == asset]
    alerts = watch(assets, catalog, start, 1.0, CONJUNCTION_SPHERE_KM)
    if not alerts:
        raise KizunaError(
            f"the proximity watch of {asset} found no object within {CONJUNCTION_SPHERE_KM:g} km"
        )
    alert = alerts[0]
    publish(
        "proximity_alert", alert.to_product_payload(), SECRET_REL, (alert.asset_norad, alert.object_norad)
    )


def _publish_maritime(node: Node, sar_safe: Path | None, publish: Publish) -> None:
    """The bundled real AIS stored in the node (its own data, shown under the node's default
    marking), a maritime alert for each spoofing event found in it (with the vessel's stored track),
    and, given a Sentinel-1 GRD SAFE product, the dark-vessel candidates of its CFAR detections."""
    ais = AisStore(node.catalog)
    summary = AisLoadSummary()
    for f in bundled_ais_files():
        ais.load_file(f, summary)
    stored = ais.positions()
    events = [event_dict(e) for e in detect_spoofing(clean_tracks(stored), shore=None)]
    if not events:
        raise KizunaError("the bundled AIS sample gave no maritime event")
    for k, event in enumerate(events[:MAX_ALERTS]):
        mmsi = int(cast(int, event["mmsi"]))
        track = ais.positions(mmsi=[mmsi])
        step = max(1, len(track.mmsi) // MAX_TRACK_POINTS)
        event["track"] = [
            {"lat_deg": round(float(la), 6), "lon_deg": round(float(lo), 6), "time_utc": t}
            for la, lo, t in zip(
                track.lat_deg[::step], track.lon_deg[::step], iso_utc(track.time_utc[::step]), strict=True
            )
        ]
        publish("maritime_alert", event, UNCLASSIFIED if k % 2 == 0 else SECRET_REL, ())
    if sar_safe is None:
        return
    scene = read_safe_scene(sar_safe)
    # The subset is open sea some 30 km from the coast: no land mask is needed (nor loaded).
    res = cfar(scene.intensity, CfarConfig(pfa=1e-7, guard=16, background=26, clutter="k", min_pixels=2))
    dets = detections_from(
        res,
        scene.intensity,
        lambda r, c: scene_lonlat(scene, r, c),
        scene.pixel_size_m,
        time_utc=scene.time_utc,
    )
    if scene.time_utc is None:
        raise KizunaError(f"{sar_safe}: the product names no acquisition time")
    t_img = np.datetime64(scene.time_utc.replace(tzinfo=None), "ns")
    result = find_dark_vessels(dets, stored, t_img, gate_m=500.0, footprint=scene.footprint())
    publish("dark_vessels", dark_product(result, source=sar_safe.name), SECRET_REL, ())


def _publish_eo(node: Node, start: datetime, publish: Publish) -> None:
    """One revisit report per area of the bundled AOI file: a SAR design (stored in the node as a
    constellation) over the screened day, its access windows per satellite pass with the swath
    drawn for each, and the revisit statistics. The Ukrainian cities are UNCLASSIFIED, the Japanese
    areas SECRET//REL TO USA, JPN."""
    design = walker(*EO_DESIGN, start.replace(tzinfo=None), name=EO_DESIGN_NAME)
    ConstellationStore(node.catalog).save(design)
    aois = parse_geojson(demo_aoi_text(), "aoi_demo.geojson")
    targets = sample_points(aois, spacing_km=10.0)
    sensor = SarSensor(15.0, 45.0, "both")
    t0 = np.datetime64(start.replace(tzinfo=None), "ns")
    t1 = t0 + np.timedelta64(int(EO_DAYS * 86400), "s")
    access = compute_access(design, targets, t0, t1, sensor, workers=1)
    stats = {row.name: row for row in per_aoi(access, targets)}
    for aoi in aois:
        payload: dict[str, object] = {
            "aoi": aoi.name,
            "polygon": [[list(p) for p in ring] for ring in aoi.coordinates[0]],
            "constellation": design.name,
            "sensor": sensor.describe(),
            "period_start_utc": iso_utc(np.array([t0]))[0],
            "period_stop_utc": iso_utc(np.array([t1]))[0],
            "mean_revisit_h": _hours(stats[aoi.name].mean_revisit_s),
            "max_gap_h": _hours(stats[aoi.name].max_gap_s),
            "stats": stats[aoi.name].as_dict(),
            "accesses": _aoi_passes(design.element_sets, access, targets, aoi.name, sensor),
        }
        marking = UNCLASSIFIED if aoi.name in ("Kyiv", "Kharkiv") else SECRET_REL
        publish("revisit_report", payload, marking, ())


def _hours(seconds: float) -> float | None:
    return round(seconds / 3600.0, 2) if np.isfinite(seconds) else None


def _aoi_passes(
    sets: Sequence[ElementSet], access: AccessWindows, targets: Targets, aoi: str, sensor: SarSensor
) -> list[dict[str, object]]:
    """The passes of each satellite over one area (the union of its points' windows), each with its
    field of regard at mid-access, its swath and its ground track for the map (see
    :mod:`kizuna.eo.footprint`: the area is always inside the field of regard, inside the swath only
    when abeam); at most MAX_PASSES, the first."""
    mask = targets.aoi[access.target_index] == aoi
    windows = access.select(mask)
    passes: list[dict[str, object]] = []
    for sat in np.unique(windows.sat_index):
        mine = windows.select(windows.sat_index == sat)
        start_s = (mine.start_utc - mine.period_start_utc).astype("int64") / 1e9
        stop_s = (mine.stop_utc - mine.period_start_utc).astype("int64") / 1e9
        for a, b in zip(*merge_intervals(start_s, stop_s), strict=True):
            inside = (start_s < b) & (stop_s > a)
            longest = int(np.flatnonzero(inside)[np.argmax(mine.duration_s[inside])])
            look_right = bool(mine.look_right[longest])
            begin = mine.period_start_utc + np.timedelta64(int(a * 1e9), "ns")
            end = mine.period_start_utc + np.timedelta64(int(b * 1e9), "ns")
            # The swath a little before and after the access, so the area sits inside the drawing.
            times = np.linspace(
                (begin - np.timedelta64(30, "s")).astype("int64"),
                (end + np.timedelta64(30, "s")).astype("int64"),
                SWATH_SAMPLES,
            ).astype("datetime64[ns]")
            eph = propagate([sets[int(sat)]], times, "itrf")
            swath = sar_swath(eph.position_km[0], eph.velocity_kms[0], sensor, look_right)
            # The field of regard when one of the area's points is in the middle of its access.
            mid = mine.mid_utc[longest]
            outer, inner = field_of_regard(
                propagate([sets[int(sat)]], np.array([mid]), "itrf").position_km[0, 0], sensor, REGARD_SAMPLES
            )
            passes.append(
                {
                    "satellite": access.sat_names[int(sat)],
                    "norad_id": int(access.sat_norad[int(sat)]),
                    "start_utc": iso_utc(np.array([begin]))[0],
                    "stop_utc": iso_utc(np.array([end]))[0],
                    "duration_s": round(b - a, 1),
                    "look_side": "right" if look_right else "left",
                    "pass_direction": "ascending" if mine.ascending[longest] else "descending",
                    "incidence_mid_deg": round(float(mine.incidence_deg[longest]), 2),
                    "mid_utc": iso_utc(np.array([mid]))[0],
                    "regard": {"outer": outer, "inner": inner},
                    "swath": swath.polygon(),
                    "track": [
                        [round(float(lo), 5), round(float(la), 5)]
                        for lo, la in zip(swath.track_lon_deg, swath.track_lat_deg, strict=True)
                    ],
                }
            )
    passes.sort(key=lambda p: str(p["start_utc"]))
    return passes[:MAX_PASSES]
