"""The pipeline's steps for the inputs other than element sets: AIS, SAR detections, CDMs and TDMs.

Each step is `<kind>_<step>(runner, ctx, started)` (:meth:`kizuna.ops.pipeline.Runner._step` finds
it by name) and calls the project's own reader, store and analysis for its input; none of them is
re-implemented here. As with element sets, a step's products and its "done" row commit in one
transaction (:meth:`Runner.mark_and_publish`) and product ids derive from content, so a job resumed
after a crash stores nothing twice.

``ais``
    ``ingest``: the file into the AIS store (:meth:`AisStore.load_file`, the path of ``kizuna ais
    load``; the store's unique (MMSI, time, position) rule makes a second run store nothing).
    ``events``: AIS events (GFW definitions, :func:`kizuna.maritime.events.detect_events`) on the
    stored tracks around the file's vessels, from ``maritime.lookback_h`` before its first position
    to its last; each event of one of the file's vessels that lies inside an area of
    ``maritime.aois`` becomes a ``maritime_event`` product (id derived from the event's key). An
    event still open when its file was processed and extended by a later file (same key, later end)
    is published again as the next version of that product.
``sar_detections``
    ``dark_vessels``: the detections matched with the stored AIS at the image time
    (:func:`kizuna.maritime.dark.find_dark_vessels`): one ``dark_vessels`` product per file.
``cdm``
    ``ingest``: the message into the CDM store (idempotent on its bytes). ``conjunction``: a
    ``conjunction`` product with the message's facts and this node's own Pc
    (:func:`kizuna.sda.assess.assess_cdm`).
``tdm``
    ``observations``: each catalog object's tracking data as ``observations`` products (a TDM of
    at most :data:`OBSERVATIONS_PER_PRODUCT` values, within the TDM payload limits, that partners fit
    with ``kizuna od fit --shared-observations``); a segment none of whose participants is a catalog
    object (NORAD number, name or international designator) is named in the step's counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from kizuna.errors import FormatError, KizunaError
from kizuna.ops.pipeline import Runner, StepContext, StepFailed
from kizuna.share.products import Product, derived_product_id

#: text inputs read whole (CDMs, TDMs, detection lists) larger than this are refused before reading
MAX_TEXT_BYTES = 64 << 20
#: values per `observations` product: ~60 bytes of KVN each, well under the TDM payload limit
OBSERVATIONS_PER_PRODUCT = 5000
#: AIS read either side of a SAR image: the dark-vessel matcher interpolates over at most 3 h gaps
DARK_AIS_WINDOW = timedelta(hours=3)
#: AIS read around the detections [deg]: a vessel at 30 kn covers 1.5 degrees of latitude in 3 h
DARK_AIS_BOX_PAD_DEG = 2.0
#: AIS read around the file's positions [deg]: an encounter partner reported only in an earlier file
AIS_BOX_PAD_DEG = 0.5


def _text(runner: Runner, ctx: StepContext) -> str:
    raw = runner.read_checked(ctx, MAX_TEXT_BYTES)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StepFailed(f"{ctx.path}: not UTF-8 text (byte {exc.start})") from None


# ------------------------------------------------------------------ AIS
def ais_ingest(runner: Runner, ctx: StepContext, started: datetime) -> None:
    from kizuna.store.ais_store import AisStore

    runner.check_unchanged(ctx)
    summary = AisStore(runner.node.catalog).load_file(ctx.path)
    counts: dict[str, object] = {
        "loaded": summary.positions_loaded,
        "duplicates": summary.positions_duplicate,
        "untimed": summary.positions_untimed,
        "statics": summary.statics,
        "rejected": len(summary.issues),
        "first_errors": [i.as_dict() for i in summary.issues[:20]],
    }
    runner.mark_and_publish(ctx, "ingest", started, [], counts)


def _file_vessels(ctx: StepContext) -> tuple[set[int], int, int, tuple[float, float, float, float] | None]:
    """The file's vessels (MMSIs of timed positions), first and last time [ns] and position box
    (W, S, E, N), read in chunks so memory stays flat however long the file."""
    from kizuna.formats.ais import NAT_NS, iter_ais_chunks

    mmsi: set[int] = set()
    t_lo, t_hi = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    box = [np.inf, np.inf, -np.inf, -np.inf]
    for part in iter_ais_chunks(ctx.path):
        cols = part.positions
        timed = cols.time_ns != NAT_NS
        if not timed.any():
            continue
        mmsi.update(int(m) for m in np.unique(cols.mmsi[timed]))
        t_lo = min(t_lo, int(cols.time_ns[timed].min()))
        t_hi = max(t_hi, int(cols.time_ns[timed].max()))
        lat, lon = cols.lat_deg[timed], cols.lon_deg[timed]
        ok = np.isfinite(lat) & np.isfinite(lon)
        if ok.any():
            box = [
                min(box[0], float(lon[ok].min())),
                min(box[1], float(lat[ok].min())),
                max(box[2], float(lon[ok].max())),
                max(box[3], float(lat[ok].max())),
            ]
    bbox = None
    if np.isfinite(box).all():
        p = AIS_BOX_PAD_DEG
        bbox = (
            max(box[0] - p, -180.0),
            max(box[1] - p, -90.0),
            min(box[2] + p, 180.0),
            min(box[3] + p, 90.0),
        )
    return mmsi, t_lo, t_hi, bbox


def ais_events(runner: Runner, ctx: StepContext, started: datetime) -> None:
    from kizuna.maritime.areas import areas_containing
    from kizuna.maritime.events import detect_events, event_dict, vessel_classes
    from kizuna.maritime.incremental import event_key
    from kizuna.maritime.tracks import clean_tracks
    from kizuna.ops.ais_stream import _plain_json
    from kizuna.store.ais_store import AisStore

    cfg = runner.config.maritime
    runner.check_unchanged(ctx)
    if not cfg.aois:  # only events inside an AOI are published: without one there is nothing to do
        runner.mark_and_publish(ctx, "events", started, [], {"aois": 0, "events": 0, "products": 0})
        return
    mmsi, t_lo, t_hi, bbox = _file_vessels(ctx)
    if not mmsi:
        runner.mark_and_publish(ctx, "events", started, [], {"vessels": 0, "events": 0, "products": 0})
        return
    store = AisStore(runner.node.catalog)
    first = np.datetime64(t_lo, "ns").astype("datetime64[us]").item()
    last = np.datetime64(t_hi, "ns").astype("datetime64[us]").item()
    positions = store.positions(bbox=bbox, start=first - timedelta(hours=cfg.lookback_h), stop=last)
    shore: Any = None
    if cfg.shore and {"gap", "loitering", "spoofing"} & set(cfg.events):
        from kizuna.maritime.shore import default_shore

        shore = default_shore()
    events = detect_events(
        clean_tracks(positions),
        cfg.events,
        shore=shore,
        classes_by_mmsi=vessel_classes(store.statics()),
    )
    # the events of this file's vessels; an event only of others was published by their own file
    mine = [e for e in events if e.mmsi in mmsi or (e.other_mmsi is not None and e.other_mmsi in mmsi)]
    areas = [(a.name, a.polygons) for a in cfg.aois]
    inside = areas_containing([e.lat_deg for e in mine], [e.lon_deg for e in mine], areas)
    products = []
    for e, names in zip(mine, inside, strict=True):
        if not names:
            continue
        marking = runner.config.marking_for("maritime_event", [], (), names)
        payload = _plain_json(event_dict(e)) | {"aois": names, "job": ctx.job.job_id}
        pid = derived_product_id(runner.node.node_id, f"maritime_event/{event_key(e)}")
        products.append(Product.new("maritime_event", payload, marking, runner.node.node_id, id=pid))
    counts: dict[str, object] = {
        "vessels": len(mmsi),
        "positions_read": len(positions.mmsi),
        "events": len(mine),
        "in_aois": len(products),
        "products": len(products),
    }
    runner.mark_and_publish(ctx, "events", started, products, counts, grown=_event_grew)


def _event_grew(head: Product, event: Product) -> bool:
    """An event published while still open (same key: kind, vessels, start) that a later file
    extends: it ends later now, so it is published again as the next version of its product."""

    def end(p: Product) -> datetime | None:
        text = p.payload.get("end_utc")
        try:
            return datetime.fromisoformat(str(text))
        except ValueError:
            return None

    before, after = end(head), end(event)
    return before is not None and after is not None and after > before


# ------------------------------------------------------------------ SAR detections
def sar_detections_dark_vessels(runner: Runner, ctx: StepContext, started: datetime) -> None:
    from kizuna.formats.sar import parse_detections_csv, parse_detections_geojson
    from kizuna.maritime.dark import dark_product, detection_time_offsets_s, find_dark_vessels
    from kizuna.store.ais_store import AisStore

    text = _text(runner, ctx)
    parse = parse_detections_geojson if text.lstrip().startswith("{") else parse_detections_csv
    res = parse(text, str(ctx.path))
    if not res.records:
        why = str(res.issues[0]) if res.issues else "the file holds no detections"
        raise StepFailed(f"{ctx.path}: no detection could be read: {why}")
    times = sorted(d.time_utc for d in res.records if d.time_utc is not None)
    if not times:
        raise StepFailed(f"{ctx.path}: the detections carry no time_utc (the image time is needed)")
    image = times[0].replace(tzinfo=None)
    t64 = np.datetime64(image, "ns")
    offsets = detection_time_offsets_s(res.records, t64)
    tolerance = runner.config.dark.time_tolerance_s
    if np.any(np.abs(offsets[np.isfinite(offsets)]) > tolerance):
        worst = int(np.nanargmax(np.abs(offsets)))
        raise StepFailed(
            f"{ctx.path}: detection {res.records[worst].detection_id} is {offsets[worst]:+.0f} s from the "
            f"first detection's time, beyond pipeline.dark_vessels.time_tolerance_s {tolerance:g}"
        )
    lat = [d.lat_deg for d in res.records]
    lon = [d.lon_deg for d in res.records]
    pad = DARK_AIS_BOX_PAD_DEG
    box = (
        max(min(lon) - pad, -180.0),
        max(min(lat) - pad, -90.0),
        min(max(lon) + pad, 180.0),
        min(max(lat) + pad, 90.0),
    )
    positions = AisStore(runner.node.catalog).positions(
        bbox=box, start=image - DARK_AIS_WINDOW, stop=image + DARK_AIS_WINDOW
    )
    result = find_dark_vessels(res.records, positions, t64, gate_m=runner.config.dark.gate_m)
    payload = dark_product(result, source=ctx.path.name) | {"job": ctx.job.job_id}
    marking = runner.config.marking_for("dark_vessels", [], ())
    pid = derived_product_id(runner.node.node_id, f"dark_vessels/{ctx.job.sha256}")
    products = [Product.new("dark_vessels", payload, marking, runner.node.node_id, id=pid)]
    counts: dict[str, object] = dict(payload["counts"])  # type: ignore[call-overload]
    counts |= {"rejected": len(res.issues), "first_errors": [i.as_dict() for i in res.issues[:20]]}
    counts["products"] = len(products)
    runner.mark_and_publish(ctx, "dark_vessels", started, products, counts)


# ------------------------------------------------------------------ CDMs
def _cdm(runner: Runner, ctx: StepContext) -> tuple[Any, str]:
    from kizuna.formats.cdm import read_cdm

    text = _text(runner, ctx)
    try:
        return read_cdm(text, str(ctx.path)), text
    except (FormatError, KeyError, ValueError) as exc:
        raise StepFailed(str(exc)) from None


def cdm_ingest(runner: Runner, ctx: StepContext, started: datetime) -> None:
    from kizuna.store.cdm_store import CdmStore

    cdm, text = _cdm(runner, ctx)
    row = CdmStore(runner.node.catalog).add(cdm, text, ctx.path.name)
    counts: dict[str, object] = {
        "loaded": 1,
        "message_id": cdm.message_id,
        "row": row,
        "warnings": [w.as_dict() for w in cdm.warnings[:20]],
    }
    runner.mark_and_publish(ctx, "ingest", started, [], counts)


def _norad(designator: str) -> int | None:
    text = designator.strip().lstrip("0")
    return int(text) if text.isdigit() and 1 <= int(text) <= 999_999_999 else None


def cdm_conjunction(runner: Runner, ctx: StepContext, started: datetime) -> None:
    from kizuna.ops.ais_stream import _plain_json
    from kizuna.sda.assess import assess_cdm

    cdm, _ = _cdm(runner, ctx)
    objects = tuple(n for n in (_norad(o.designator) for o in cdm.objects) if n is not None)
    owners = runner.owners_of(objects)
    payload: dict[str, object] = {
        "source": "cdm",
        "file": ctx.path.name,
        "message_id": cdm.message_id,
        "originator": str(cdm.header.get("ORIGINATOR", "")),
        "creation_date": str(cdm.header.get("CREATION_DATE", "")),
        "tca_utc": cdm.tca_utc.isoformat().replace("+00:00", "Z"),
        "miss_km": cdm.miss_km,
        "originator_pc": cdm.collision_probability,
        "objects": [
            {
                "designator": o.designator,
                "name": o.name,
                "international_designator": str(o.fields.get("INTERNATIONAL_DESIGNATOR", "")),
            }
            for o in cdm.objects
        ],
        "job": ctx.job.job_id,
    }
    try:  # this node's own Pc from the message's states and covariances
        payload["assessment"] = assess_cdm(cdm).as_dict()
    except (KizunaError, ValueError, KeyError, np.linalg.LinAlgError) as exc:
        payload["assessment_error"] = f"{type(exc).__name__}: {exc}"

    marking = runner.config.marking_for("conjunction", [owners.get(n) for n in objects], objects)
    pid = derived_product_id(runner.node.node_id, f"cdm/{ctx.job.sha256}")
    product = Product.new(
        "conjunction", _plain_json(payload), marking, runner.node.node_id, objects=objects, id=pid
    )
    counts: dict[str, object] = {"objects": len(objects), "assessed": "assessment" in payload, "products": 1}
    runner.mark_and_publish(ctx, "conjunction", started, [product], counts)


# ------------------------------------------------------------------ TDMs
def _tdm_objects(runner: Runner, participants: set[str]) -> dict[str, int]:
    """NORAD ids of the TDM participants that are catalog objects: a participant written as a NORAD
    number, or the name or international designator of an object in this node's catalog."""
    from sqlalchemy import bindparam
    from sqlalchemy import text as sql

    from kizuna.share.limits import MAX_OBJECT_ID

    found: dict[str, int] = {}
    names = []
    for p in participants:
        if p.isdigit() and 0 < int(p) <= MAX_OBJECT_ID:
            found[p] = int(p)
        elif p:
            names.append(p)
    if names:
        query = sql(
            "SELECT norad_id, object_name, object_id FROM space_object "
            "WHERE object_name IN :names OR object_id IN :names"
        ).bindparams(bindparam("names", expanding=True))
        with runner.node.catalog.engine.connect() as conn:
            for norad, name, object_id in conn.execute(query, {"names": names}).all():
                for key in (name, object_id):
                    if key in names:
                        found.setdefault(str(key), int(norad))
    return found


def tdm_observations(runner: Runner, ctx: StepContext, started: datetime) -> None:
    from kizuna.formats.tdm import Tdm, TdmSegment, read_tdm, write_tdm_kvn
    from kizuna.ssa.od_products import OBSERVATIONS, observations_payload

    text = _text(runner, ctx)
    try:
        tdm = read_tdm(text, str(ctx.path))
    except (FormatError, KeyError, ValueError) as exc:
        raise StepFailed(str(exc)) from None
    # A product carries one object's tracking data (a partner fits it by NORAD id): segments are
    # grouped by the participant that is a catalog object; the others cannot be fitted and are named.
    participants = {
        v for seg in tdm.segments for k, v in seg.metadata.items() if k.startswith("PARTICIPANT_")
    }
    objects = _tdm_objects(runner, participants)
    by_object: dict[int, list[tuple[int, int, TdmSegment]]] = {}
    unresolved: list[dict[str, object]] = []
    for i, seg in enumerate(tdm.segments):
        norads = {
            objects[v] for k, v in seg.metadata.items() if k.startswith("PARTICIPANT_") and v in objects
        }
        if len(norads) != 1:
            names = [v for k, v in sorted(seg.metadata.items()) if k.startswith("PARTICIPANT_")]
            problem = "no participant is a catalog object" if not norads else "several catalog objects"
            unresolved.append({"segment": i, "participants": names, "problem": problem})
            continue
        norad = norads.pop()
        # segments over the per-product size are cut into parts of their observations
        for start in range(0, max(len(seg.observations), 1), OBSERVATIONS_PER_PRODUCT):
            part = TdmSegment(
                metadata=dict(seg.metadata),
                observations=seg.observations[start : start + OBSERVATIONS_PER_PRODUCT],
            )
            by_object.setdefault(norad, []).append((i, start, part))
    products = []
    for norad, parts in sorted(by_object.items()):
        marking = runner.config.marking_for("observations", [], (norad,))
        for i, start, part in parts:
            sub = Tdm(version=tdm.version, header=dict(tdm.header), segments=[part], file=tdm.file)
            payload = observations_payload(write_tdm_kvn(sub), sub, norad)
            pid = derived_product_id(runner.node.node_id, f"tdm/{ctx.job.sha256}/{i}/{start}")
            products.append(
                Product.new(OBSERVATIONS, payload, marking, runner.node.node_id, id=pid, objects=(norad,))
            )
    counts: dict[str, object] = {
        "segments": len(tdm.segments),
        "observations": tdm.observations,
        "rejected": len(tdm.issues),
        "first_errors": [i.as_dict() for i in tdm.issues[:20]],
        "unresolved_segments": unresolved[:20],
        "products": len(products),
    }
    runner.mark_and_publish(ctx, "observations", started, products, counts)
