"""The live pipeline's other inputs end to end through `run_once`: AIS files (the bundled real ORBCOMM
sample; a two-pair encounter scene for the AOI rule), SAR detections against stored AIS (ground truth
by construction), real CARA CDMs (this node's Pc against CARA's published Pc2D), the CCSDS TDM examples
(KVN and XML encodings of one message give the same observations) and the proximity watch (its closest
approach against python-sgp4 propagating both objects on a 1-second grid)."""

from __future__ import annotations

import contextlib
import copy
import csv
import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import shared
from tests.pipeline_support import JPN_ASSET, PIPELINE, SAMPLE, coalition, neighbour, write_csv

from kizuna.ops.pipeline import PipelineConfig, Runner, run_once
from kizuna.share.loopback import free_port
from kizuna.share.node import Node, NodeConfig
from kizuna.share.products import derived_product_id
from kizuna.share.signing import Signer, load_private_key
from kizuna.store.ingest import load_file
from kizuna.store.pipeline_jobs import JobLedger

AIS_SAMPLE = SAMPLE.parent / "ais" / "libais_tagblock.nmea"
TDM_DIR = Path(__file__).parent / "data" / "ccsds" / "tdm"
KIND_DIRS = {"elements": "incoming", "ais": "ais", "sar_detections": "sar", "cdm": "cdm", "tdm": "tdm"}


class Crash(BaseException):
    """Stands in for the process dying (nothing in the runner may catch it)."""


def _node(tmp_path: Path, store, extra: dict | None = None, catalog: bool = False):  # type: ignore[no-untyped-def]
    pipeline = copy.deepcopy(PIPELINE) | {"watch": dict(KIND_DIRS)} | (extra or {})
    for d in KIND_DIRS.values():
        (tmp_path / d).mkdir(exist_ok=True)
    cfgs = coalition(tmp_path, {n: free_port() for n in ("JPN", "USA", "UKR")}, pipeline)
    if catalog:
        for name in ("leo_2026-06_sample.3le", "satcat_sample.csv"):
            load_file(store, SAMPLE / name)
    node = Node(
        store,
        NodeConfig.load(cfgs["JPN"]),
        Signer("JPN", load_private_key(tmp_path / "keys" / "JPN.key.pem")),
    )
    c = node.config
    config = PipelineConfig.load(cfgs["JPN"], c.nation, c.clearance.banner, c.markings)
    assert config is not None
    return node, config


def _products(node: Node, ptype: str) -> list:
    return [p for p in (node.verified_row(r) for r in node.share.page(None, limit=10_000)) if p.type == ptype]


def _drop(path: Path, text: str) -> Path:
    """Written aside and renamed in, as a watched directory should be fed."""
    tmp = path.with_name("." + path.name)
    tmp.write_text(text)
    tmp.rename(path)
    return path


# ------------------------------------------------------------------ AIS
def test_an_ais_file_is_stored_once_and_its_job_shows_the_counts(tmp_path, store):
    """The bundled ORBCOMM sample (libais, real): 3 timed position reports of 2014-12-10 and one
    two-part static message; the same content under another name is the same job."""
    from kizuna.store.ais_store import AisStore

    world = [[-180, -90], [180, -90], [180, 90], [-180, 90]]
    # every event type with the GLOBE shore rules and the bundled ports: the default detector path
    node, config = _node(tmp_path, store, {"maritime": {"aois": [{"name": "world", "polygon": world}]}})
    _drop(tmp_path / "ais" / "orbcomm.nmea", AIS_SAMPLE.read_text())
    jobs = run_once(node, config)
    assert [(j.kind, j.state) for j in jobs] == [("ais", "done")]
    steps = {s.step: s.counts for s in jobs[0].steps}
    assert list(steps) == ["ingest", "events"]
    # Reference: the three `!AIVDM,1,1` type-1 sentences of the file, each with its tag-block time.
    assert steps["ingest"]["loaded"] == 3 and steps["ingest"]["rejected"] == 0
    # one vessel: the three type-1 payloads share their MMSI bits ("13F?Vv7...")
    assert steps["events"]["vessels"] == 1 and steps["events"]["positions_read"] == 3
    assert AisStore(store).count() == 3
    _drop(tmp_path / "ais" / "copy.nmea", AIS_SAMPLE.read_text())
    assert run_once(node, config) == []
    assert AisStore(store).count() == 3


def _encounter_rows(mmsi_a: int, mmsi_b: int, lat: float, lon: float, t0: datetime) -> list[list[str]]:
    """Two vessels drifting together 200 m apart at 1 kn for 4 h, one report each per 5 minutes (a
    GFW encounter: within 500 m for >= 2 h at a median speed < 2 kn)."""
    rows = []
    for k in range(49):
        t = (t0 + timedelta(minutes=5 * k)).strftime("%Y-%m-%dT%H:%M:%S")
        drift = k * 5 / 60 * 1852 / 111_195  # 1 kn northward, in degrees of latitude
        rows.append([str(mmsi_a), t, f"{lat + drift:.6f}", f"{lon:.6f}", "1.0", "0.0", "0"])
        rows.append(
            [
                str(mmsi_b),
                t,
                f"{lat + drift:.6f}",
                f"{lon + 200 / (111_195 * math.cos(math.radians(lat))):.6f}",
                "1.0",
                "0.0",
                "0",
            ]
        )
    return rows


AOI_EAST = [[149.0, 29.0], [151.0, 29.0], [151.0, 31.0], [149.0, 31.0], [149.0, 29.0]]


def test_only_maritime_events_inside_an_aoi_become_products(tmp_path, store):
    """Two encounters in one file, one inside the configured AOI (open Pacific east of Japan), one
    2,000 km away: the detector finds both, only the first is published, marked by its `in_aoi` rule."""
    from kizuna.maritime.events import detect_events
    from kizuna.maritime.tracks import clean_tracks
    from kizuna.store.ais_store import AisStore

    extra = {
        "maritime": {
            "aois": [{"name": "east", "polygon": AOI_EAST}],
            "events": ["encounter"],
            "shore": False,
        },
        "markings": {
            "rules": [{"product": "maritime_event", "in_aoi": "east", "marking": "SECRET//REL TO USA, JPN"}]
        },
    }
    node, config = _node(tmp_path, store, extra)
    t0 = datetime(2026, 6, 1, tzinfo=UTC)
    rows = _encounter_rows(431000001, 431000002, 30.0, 150.0, t0) + _encounter_rows(
        431000003, 431000004, 10.0, 170.0, t0
    )
    text = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading\n" + "\n".join(",".join(r) for r in rows) + "\n"
    _drop(tmp_path / "ais" / "two-encounters.csv", text)
    jobs = run_once(node, config)
    assert [j.state for j in jobs] == ["done"], jobs[0].as_dict()
    counts = {s.step: s.counts for s in jobs[0].steps}["events"]
    assert counts["events"] == 2 and counts["products"] == 1
    products = _products(node, "maritime_event")
    assert len(products) == 1
    p = products[0]
    assert p.payload["type"] == "encounter" and p.payload["aois"] == ["east"]
    assert {p.payload["mmsi"], p.payload["other_mmsi"]} == {431000001, 431000002}
    assert 29.0 < p.payload["lat_deg"] < 31.0 and 149.0 < p.payload["lon_deg"] < 151.0
    assert p.marking.banner() == "SECRET//REL TO USA, JPN"
    # The same detector on everything stored finds the same two encounters (nothing lost by the step).
    ref = detect_events(clean_tracks(AisStore(store).positions()), ["encounter"], shore=None)
    assert sorted({e.mmsi, e.other_mmsi} == {431000001, 431000002} for e in ref) == [False, True]
    # A later file with more of the same vessels continues the same event: its next version, same id.
    later = _encounter_rows(431000001, 431000002, 30.0, 150.0, t0 + timedelta(hours=4, minutes=5))[:4]
    _drop(
        tmp_path / "ais" / "more.csv",
        "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading\n" + "\n".join(",".join(r) for r in later) + "\n",
    )
    assert [j.state for j in run_once(node, config)] == ["done"]
    assert sorted((q.id, q.version) for q in _products(node, "maritime_event")) == [(p.id, 1), (p.id, 2)]


def test_an_open_encounter_grown_by_a_later_file_is_published_as_its_next_version(tmp_path, store):
    """One 4 h encounter (reports every 5 min from 00:00 to 04:00) split over two files at 02:30: the
    first file's job publishes it still open (ends 02:30, already >= 2 h, an encounter by GFW's rule);
    the second's finds the same event (same vessels and start) ending at 04:00 and publishes it as
    version 2 of the same product id, not a new product; a third file that adds nothing changes
    nothing. Times checked by hand against the rows written."""
    from kizuna.share.products import derived_product_id as derived

    extra = {
        "maritime": {"aois": [{"name": "east", "polygon": AOI_EAST}], "events": ["encounter"], "shore": False}
    }
    node, config = _node(tmp_path, store, extra)
    t0 = datetime(2026, 6, 1, tzinfo=UTC)
    rows = _encounter_rows(431000001, 431000002, 30.0, 150.0, t0)
    head = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading\n"
    cut = 2 * 31  # reports up to and including 02:30 (k = 0..30, two vessels each)
    _drop(tmp_path / "ais" / "a.csv", head + "\n".join(",".join(r) for r in rows[:cut]) + "\n")
    assert [j.state for j in run_once(node, config)] == ["done"]
    (first,) = _products(node, "maritime_event")
    assert first.version == 1 and first.payload["end_utc"].startswith("2026-06-01T02:30")
    _drop(tmp_path / "ais" / "b.csv", head + "\n".join(",".join(r) for r in rows[cut:]) + "\n")
    assert [j.state for j in run_once(node, config)] == ["done"]
    stored = sorted(_products(node, "maritime_event"), key=lambda p: p.version)
    assert [(p.id, p.version) for p in stored] == [(first.id, 1), (first.id, 2)]
    grown = stored[1]
    assert grown.payload["start_utc"] == first.payload["start_utc"]
    assert grown.payload["end_utc"].startswith("2026-06-01T04:00")
    assert grown.originator == "JPN" and grown.marking == first.marking
    assert first.id == derived(
        "JPN", f"maritime_event/encounter||431000001|431000002|{t0:%Y-%m-%dT%H:%M:%S}.000000000"
    )
    # a new file of one of its vessels that adds nothing (a report already stored) grows nothing
    _drop(tmp_path / "ais" / "c.csv", head + ",".join(rows[2]) + "\n")
    assert [j.state for j in run_once(node, config)] == ["done"]
    assert sorted(p.version for p in _products(node, "maritime_event")) == [1, 2]


def test_a_grown_product_is_a_next_version_of_the_nodes_own_head_and_never_lowers_its_marking(
    tmp_path, store
):
    """publish_idempotent with `grown`: a product that grows its stored head is version 2 of it, with
    the head's marking when its own is lower; one that does not grow it stores nothing; the versions
    verify as the node's own; a call with the same products again (a resumed job) stores nothing."""
    from kizuna.share.markings import parse_banner
    from kizuna.share.products import Product

    node, _ = _node(tmp_path, store)
    pid = derived_product_id("JPN", "maritime_event/test")
    high = parse_banner("SECRET//REL TO USA, JPN")
    low = parse_banner("UNCLASSIFIED")
    node.publish_idempotent([Product.new("maritime_event", {"end": 1}, high, "JPN", id=pid)], actor="t")

    def later(head: Product, new: Product) -> bool:
        return int(new.payload["end"]) > int(head.payload["end"])  # type: ignore[call-overload]

    same = Product.new("maritime_event", {"end": 1}, low, "JPN", id=pid)
    assert node.publish_idempotent([same], actor="t", grown=later) == []
    more = Product.new("maritime_event", {"end": 2}, low, "JPN", id=pid)
    (v2,) = node.publish_idempotent([more], actor="t", grown=later)
    assert (v2.id, v2.version, v2.payload, v2.marking.banner()) == (pid, 2, {"end": 2}, high.banner())
    assert node.publish_idempotent([more], actor="t", grown=later) == []
    assert sorted((p.version, p.payload["end"]) for p in _products(node, "maritime_event")) == [
        (1, 1),
        (2, 2),
    ]


def test_a_crash_between_ais_steps_resumes_without_duplicates(tmp_path, store):
    extra = {
        "maritime": {"aois": [{"name": "east", "polygon": AOI_EAST}], "events": ["encounter"], "shore": False}
    }
    node, config = _node(tmp_path, store, extra)
    rows = _encounter_rows(431000001, 431000002, 30.0, 150.0, datetime(2026, 6, 1, tzinfo=UTC))
    _drop(
        tmp_path / "ais" / "a.csv",
        "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading\n" + "\n".join(",".join(r) for r in rows) + "\n",
    )
    ledger = JobLedger(store)
    from kizuna.ops.pipeline import Watcher

    Watcher(config, ledger, node).scan(now_s=datetime.now(UTC).timestamp() + 1)

    def die(_job: str, step: str) -> None:
        if step == "ingest":
            raise Crash

    with pytest.raises(Crash):
        Runner(node, config, ledger, after_step=die).run_pending()
    assert ledger.list()[0].done_steps() == {"ingest"}
    if ledger.dialect == "postgresql":
        # Its runner's lock session is still open: another runner leaves the job alone (heartbeat
        # fresh, lock held) ...
        other = JobLedger(store)
        assert run_once(node, config, ledger=other) == []
        # ... and takes it back at once when that session ends, as when the process dies.
        ledger.close()
        jobs = run_once(node, config, ledger=other)
        other.close()
    else:  # the only runner: its running jobs died with it, taken back at once
        jobs = run_once(node, config, ledger=ledger)
    assert [j.state for j in jobs] == ["done"]
    counts = {s.step: s.counts for s in jobs[0].steps}
    assert counts["ingest"]["loaded"] == 98 and counts["events"]["products"] == 1
    assert len(_products(node, "maritime_event")) == 1


# ------------------------------------------------------------------ SAR detections
def test_sar_detections_without_ais_are_the_dark_vessel_candidates(tmp_path, store):
    """Eight ships imaged at 01:30 off Tokyo Bay; five report AIS 7 min before and 5 min after the
    image, three do not: the product lists exactly those three as dark (ground truth by construction)."""
    node, config = _node(tmp_path, store)
    t_img = datetime(2026, 6, 1, 1, 30, tzinfo=UTC)
    ships = [(f"det-{k}", 34.9 + 0.02 * k, 139.9 + 0.015 * (k % 3)) for k in range(8)]
    ais = ["MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading"]
    for k, (_, lat, lon) in enumerate(ships[:5]):
        for dt_min in (-7, 5):
            # 6 kn due north: the position at the image time is on the line between the two reports
            dlat = 6 * 1852 / 111_195 * dt_min / 60
            t = (t_img + timedelta(minutes=dt_min)).strftime("%Y-%m-%dT%H:%M:%S")
            ais.append(f"{431000100 + k},{t},{lat + dlat:.6f},{lon:.6f},6.0,0.0,0")
    _drop(tmp_path / "ais" / "tokyo.csv", "\n".join(ais) + "\n")
    assert [j.state for j in run_once(node, config)] == ["done"]
    det = ["id,lat,lon,time_utc,length_m"] + [
        f"{i},{la:.6f},{lo:.6f},2026-06-01T01:30:00Z,120" for i, la, lo in ships
    ]
    _drop(tmp_path / "sar" / "scene.csv", "\n".join(det) + "\n")
    jobs = run_once(node, config)
    assert [(j.kind, j.state) for j in jobs] == [("sar_detections", "done")], jobs[0].as_dict()
    (p,) = _products(node, "dark_vessels")
    assert {d["detection_id"] for d in p.payload["dark_candidates"]} == {"det-5", "det-6", "det-7"}
    assert {m["detection_id"]: m["mmsi"] for m in p.payload["matched"]} == {
        f"det-{k}": 431000100 + k for k in range(5)
    }
    assert all(m["distance_m"] < 50 for m in p.payload["matched"])


def test_sar_detections_without_a_time_fail_their_job_with_one_line(tmp_path, store):
    node, config = _node(tmp_path, store)
    _drop(tmp_path / "sar" / "untimed.csv", "id,lat,lon\na,35.0,139.9\n")
    (job,) = run_once(node, config)
    assert (
        job.state == "failed" and "carry no time_utc" in (job.error or "") and "\n" not in (job.error or "")
    )


# ------------------------------------------------------------------ CDMs
def test_received_cdms_become_conjunctions_with_this_nodes_pc_equal_to_caras(tmp_path, store):
    """Three real CARA CDMs: each becomes one conjunction product whose own Pc (Foster) is CARA's
    published Pc2D within 1e-7 relative (CARA's Matlab/BLAS spread is ~1e-8), stored once."""
    from kizuna.store.cdm_store import CdmStore

    base = shared("cdm_pc/cara/PcTestCaseCDMs")
    with (base / "CARA_PcMethod_Test_Conjunctions__Sheet1.csv").open() as f:
        rows = {r["Conjunction_ID"]: r for r in csv.DictReader(f)}
    picked = sorted(rows)[:3]
    node, config = _node(tmp_path, store, catalog=True)
    for cid in picked:
        _drop(tmp_path / "cdm" / f"{cid}.cdm", (base / f"{cid}.cdm").read_text())
    jobs = run_once(node, config)
    assert [(j.kind, j.state) for j in jobs] == [("cdm", "done")] * 3, [j.error for j in jobs]
    products = _products(node, "conjunction")
    assert len(products) == 3 and len(CdmStore(store).list()) == 3
    by_file = {p.payload["file"]: p for p in products}
    for cid in picked:
        p = by_file[f"{cid}.cdm"]
        assert p.payload["assessment"]["pc"] == pytest.approx(float(rows[cid]["Pc2D"]), rel=1e-7)
        # the message states MISS_DISTANCE to the metre; CARA's column is |r2 - r1| from its states
        assert p.payload["miss_km"] * 1000 == pytest.approx(float(rows[cid]["MissDist_m"]), abs=1.0)
        assert p.objects  # the CDM's NORAD designators
    _drop(tmp_path / "cdm" / "again.cdm", (base / f"{picked[0]}.cdm").read_text())
    assert run_once(node, config) == [] and len(CdmStore(store).list()) == 3


def test_a_malformed_cdm_fails_its_job_naming_the_file(tmp_path, store):
    node, config = _node(tmp_path, store)
    _drop(tmp_path / "cdm" / "bad.cdm", "CCSDS_CDM_VERS = 1.0\nCREATION_DATE = yesterday\n")
    (job,) = run_once(node, config)
    assert job.state == "failed" and "bad.cdm" in (job.error or "")
    assert _products(node, "conjunction") == []


# ------------------------------------------------------------------ TDMs
def _tracking(products: list) -> list[tuple[str, str, float]]:
    from kizuna.ssa.od_products import tdm_of_payload

    return sorted(
        (o.keyword, o.epoch.isoformat(), o.value)
        for p in products
        for seg in tdm_of_payload(p.payload, p.id).segments
        for o in seg.observations
    )


@pytest.mark.parametrize("example", ["TDMExample2", "TDMExample4", "TDMExample8", "TDMExample15"])
def test_tdm_kvn_and_xml_of_one_ccsds_example_give_the_same_observations_products(tmp_path, store, example):
    """The CCSDS examples (Blue Book 503.0-B-2 annex) with their second participant renamed to a
    NORAD number: KVN and XML give the same tracking data, every data line of the KVN file is in the
    products, and each product is an `observations` TDM of that object (what `od fit` fits)."""
    node, config = _node(tmp_path, store)
    for ext in ("kvn", "xml"):
        text = (TDM_DIR / f"{example}.{ext}").read_text()
        text = re.sub(r"(PARTICIPANT_2\s*=\s*)\S+", r"\g<1>25544", text)
        text = re.sub(r"<PARTICIPANT_2>[^<]*</PARTICIPANT_2>", "<PARTICIPANT_2>25544</PARTICIPANT_2>", text)
        _drop(tmp_path / "tdm" / f"{example}.{ext}", text)
    jobs = run_once(node, config)
    assert [(j.kind, j.state) for j in jobs] == [("tdm", "done")] * 2, [j.error for j in jobs]
    products = _products(node, "observations")
    assert products and all(p.payload["norad_id"] == 25544 and p.objects == (25544,) for p in products)
    # product ids derive from the file's hash, segment and first value: which file each came from
    kvn_job = next(j for j in jobs if j.path.endswith(".kvn"))
    from_kvn = {derived_product_id("JPN", f"tdm/{kvn_job.sha256}/{i}/0") for i in range(50)}
    by_ext: dict[str, list] = {".kvn": [], ".xml": []}
    for p in products:
        by_ext[".kvn" if p.id in from_kvn else ".xml"].append(p)
    assert by_ext[".kvn"] and len(by_ext[".kvn"]) == len(by_ext[".xml"])
    assert _tracking(by_ext[".kvn"]) == _tracking(by_ext[".xml"])
    # Every data line of the KVN file (KEYWORD = EPOCH VALUE between DATA_START and DATA_STOP) is there.
    text = (TDM_DIR / f"{example}.kvn").read_text().splitlines()
    inside, data_lines = False, 0
    for line in text:
        s = line.strip()
        inside = (inside or s == "DATA_START") and s != "DATA_STOP"
        data_lines += inside and "=" in s and not s.startswith("COMMENT")
    assert len(_tracking(by_ext[".kvn"])) == data_lines


def test_tdm_segments_of_no_catalog_object_are_named_not_published(tmp_path, store):
    """The CCSDS example as written tracks `yyyy-nnnA`, which is no object of the catalog: a partner
    could not fit it, so nothing is published and the step names the segment."""
    node, config = _node(tmp_path, store)
    _drop(tmp_path / "tdm" / "TDMExample2.kvn", (TDM_DIR / "TDMExample2.kvn").read_text())
    (job,) = run_once(node, config)
    assert job.state == "done"
    assert _products(node, "observations") == []
    (step,) = [s for s in job.steps if s.step == "observations"]
    assert step.counts["products"] == 0
    assert step.counts["unresolved_segments"][0]["problem"] == "no participant is a catalog object"


# ------------------------------------------------------------------ proximity
def test_proximity_alerts_agree_with_sgp4_on_a_one_second_grid(tmp_path, store):
    """An object placed a few km from a JPN payload: the proximity step's closest approach is the
    minimum distance of the two TEME positions from python-sgp4 (the peer library) on a 1-s grid over
    the watch window, within 0.2 km (the step refines a 60-s grid by straight lines)."""
    from sgp4.api import Satrec, jday

    from kizuna.formats.tle import write_tle

    extra = {"proximity": {"range_km": 25.0, "days": 0.25}}
    node, config = _node(tmp_path, store, extra, catalog=True)
    asset = node.catalog.latest_element_sets([JPN_ASSET])[0]
    obj = neighbour(asset, 99902, 0)
    write_csv(tmp_path / "incoming" / "near.csv", [obj])
    jobs = run_once(node, config)
    assert [j.state for j in jobs] == ["done"] and [s.step for s in jobs[0].steps][-1] == "proximity"
    alerts = [p for p in _products(node, "proximity_alert") if set(p.objects) == {JPN_ASSET, 99902}]
    assert len(alerts) == 1
    a = alerts[0].payload
    start = datetime.fromisoformat(a["watch"]["start_utc"].replace("Z", "+00:00"))
    sats = []
    for e in (node.catalog.latest_element_sets([JPN_ASSET])[0], node.catalog.latest_element_sets([99902])[0]):
        l1, l2 = write_tle([e], names=False).splitlines()[-2:]
        sats.append(Satrec.twoline2rv(l1, l2))
    jd0, fr0 = jday(start.year, start.month, start.day, start.hour, start.minute, start.second)
    secs = np.arange(0, int(0.25 * 86400) + 1, 1.0)
    pos = []
    for s in sats:
        err, r, _v = s.sgp4_array(np.full(len(secs), jd0), fr0 + secs / 86400.0)
        assert not err.any()
        pos.append(r)
    rng = np.linalg.norm(pos[0] - pos[1], axis=1)
    assert a["min_range_km"] == pytest.approx(float(rng.min()), abs=0.2)
    assert alerts[0].marking is not None


# ------------------------------------------------------------------ HTTP source
class _Server:
    """A loopback HTTP server: `routes` path -> (status, headers, body, delay_s); requests recorded."""

    def __init__(self, routes: dict):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.routes, self.requests = routes, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server hook
                import time as _t

                outer.requests.append((self.path, dict(self.headers)))
                status, headers, body, delay_s = outer.routes[self.path]
                if headers.get("ETag") and self.headers.get("If-None-Match") == headers["ETag"]:
                    self.send_response(304)
                    self.end_headers()
                    return
                _t.sleep(delay_s)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if "Content-Length" not in headers:
                    self.send_header("Connection", "close")
                self.end_headers()
                with contextlib.suppress(OSError):  # the client hung up on a body it refused
                    self.wfile.write(body)

            def log_message(self, *_a: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def http_server():
    servers: list[_Server] = []

    def make(routes: dict) -> _Server:
        servers.append(_Server(routes))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def test_an_http_source_lands_in_its_kinds_directory_and_is_fetched_conditionally(
    tmp_path, store, http_server
):
    """A TDM served on loopback with an ETag: the first run fetches it and makes its job; the second
    sends If-None-Match, gets 304 and makes nothing."""
    body = (TDM_DIR / "TDMExample2.kvn").read_bytes()
    server = http_server(
        {"/tdm/example2.kvn": (200, {"ETag": '"v1"', "Content-Length": str(len(body))}, body, 0.0)}
    )
    extra = {"http": [{"url": f"{server.url}/tdm/example2.kvn", "kind": "tdm", "every_s": 1}]}
    node, config = _node(tmp_path, store, extra)
    from kizuna.ops.http_source import HttpPoller

    poller = HttpPoller(config.http, dict(config.watch))
    try:
        (first,) = poller.poll()
        assert first.parent == tmp_path / "tdm" and first.read_bytes() == body and first.suffix == ".kvn"
        poller.states[0].due_s = 0.0  # due again now
        assert poller.poll() == []
        assert server.requests[-1][1].get("If-None-Match") == '"v1"'
    finally:
        poller.close()
    jobs = run_once(node, config)  # fetches once more (a new poller: unconditional), same content
    assert [(j.kind, j.state) for j in jobs] == [("tdm", "done")]
    assert len(list((tmp_path / "tdm").iterdir())) == 1


_RESTARTED_POLLER = """
import sys
from pathlib import Path
from kizuna.ops.http_source import HttpPoller
from kizuna.ops.pipeline import HttpSource
from kizuna.store.catalog import CatalogStore
from kizuna.store.pipeline_jobs import HttpValidators

url, source, directory = sys.argv[1:4]
with CatalogStore(url) as store:
    poller = HttpPoller(
        [HttpSource(source, "tdm", every_s=1.0)], {"tdm": Path(directory)}, validators=HttpValidators(store)
    )
    try:
        written = poller.poll()
    finally:
        poller.close()
    print("written", len(written), poller.states[0].last_status)
"""


def test_http_validators_outlive_a_restart_so_its_first_fetch_gets_a_304(tmp_path, store, http_server):
    """The first run fetches the body (200) and keeps its ETag and Last-Modified in the node's store;
    a second process (a restarted node) asks with both from its first fetch and gets 304, no body."""
    body = (TDM_DIR / "TDMExample2.kvn").read_bytes()
    stamp = "Tue, 01 Dec 2026 08:00:00 GMT"
    headers = {"ETag": '"v7"', "Last-Modified": stamp, "Content-Length": str(len(body))}
    server = http_server({"/tdm/example2.kvn": (200, headers, body, 0.0)})
    extra = {"http": [{"url": f"{server.url}/tdm/example2.kvn", "kind": "tdm", "every_s": 1}]}
    node, config = _node(tmp_path, store, extra)
    assert [(j.kind, j.state) for j in run_once(node, config)] == [("tdm", "done")]
    assert "If-None-Match" not in server.requests[0][1]
    import subprocess
    import sys

    # the restarted node: another process, with only the store to remember the first answer
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"), "PATH": "/usr/bin:/bin"}
    args = [store.url, f"{server.url}/tdm/example2.kvn", str(tmp_path / "tdm")]
    child = subprocess.run(
        [sys.executable, "-c", _RESTARTED_POLLER, *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["written", "0", "not", "modified"]
    assert run_once(node, config) == []  # and this process's next poller asks conditionally too
    sent = server.requests[-1][1]
    assert sent.get("If-None-Match") == '"v7"' and sent.get("If-Modified-Since") == stamp
    assert server.requests[1][1].get("If-None-Match") == '"v7"'
    assert len(server.requests) == 3 and len(list((tmp_path / "tdm").iterdir())) == 1
    from kizuna.store.pipeline_jobs import HttpValidators

    assert HttpValidators(store).load(f"{server.url}/tdm/example2.kvn") == ('"v7"', stamp)
    assert HttpValidators(store).load(f"{server.url}/other") == (None, None)


@pytest.mark.parametrize("declared", [True, False])
def test_an_http_body_over_max_bytes_is_refused_and_leaves_nothing(tmp_path, http_server, declared):
    from kizuna.ops.http_source import HttpPoller
    from kizuna.ops.pipeline import HttpSource

    body = b"x" * 300_000
    headers = {"Content-Length": str(len(body))} if declared else {}
    server = http_server({"/big": (200, headers, body, 0.0)})
    (tmp_path / "in").mkdir()
    logged: list[str] = []
    source = HttpSource(f"{server.url}/big", "elements", every_s=10.0, max_bytes=100_000)
    clock = [1000.0]
    poller = HttpPoller([source], {"elements": tmp_path / "in"}, logged.append, clock=lambda: clock[0])
    try:
        assert poller.poll() == []
    finally:
        poller.close()
    assert list((tmp_path / "in").iterdir()) == []  # no body, no partial file
    assert ("Content-Length 300000 is over" if declared else "passed max_bytes") in logged[0]
    st = poller.states[0]
    assert st.failures == 1 and clock[0] + 1.0 <= st.due_s <= clock[0] + 20.0  # backoff, not every_s


def test_a_slow_or_failing_http_source_backs_off_and_the_loop_goes_on(tmp_path, http_server):
    from kizuna.ops.http_source import HttpPoller
    from kizuna.ops.pipeline import HttpSource

    server = http_server({"/slow": (200, {"Content-Length": "2"}, b"ok", 2.0), "/gone": (500, {}, b"", 0.0)})
    (tmp_path / "in").mkdir()
    logged: list[str] = []
    sources = [
        HttpSource(f"{server.url}/slow", "elements", every_s=5.0, timeout_s=0.3),
        HttpSource(f"{server.url}/gone", "elements", every_s=5.0),
    ]
    poller = HttpPoller(sources, {"elements": tmp_path / "in"}, logged.append)
    try:
        assert poller.poll() == []
    finally:
        poller.close()
    assert "Timeout" in logged[0] and "HTTP 500" in logged[1]
    assert [s.failures for s in poller.states] == [1, 1]


# ------------------------------------------------------------------ dead runners on PostgreSQL
_CLAIMING_RUNNER = """
import sys, time
from kizuna.store.catalog import CatalogStore
from kizuna.store.pipeline_jobs import JobLedger
store = CatalogStore(sys.argv[1])
ledger = JobLedger(store)
with store.engine.begin() as conn:
    ledger.enqueue(conn, "tdm", "ab" * 32, "/nowhere/x.kvn")
    job = ledger.claim(conn)
print(job.job_id, flush=True)
time.sleep(600)
"""


def test_a_killed_postgresql_runners_job_is_taken_back_at_once(store):
    """A runner process claims a job and is killed (SIGKILL): another runner with the default two-minute
    heartbeat rule takes the job at once, because the dead runner's advisory lock went with its session."""
    import subprocess
    import sys
    import time

    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one runner, which takes its own interrupted jobs back at start")
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"), "PATH": "/usr/bin:/bin"}
    child = subprocess.Popen(
        [sys.executable, "-c", _CLAIMING_RUNNER, store.url], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        job_id = (child.stdout.readline() if child.stdout else "").strip()
        assert job_id.startswith("tdm-")
        ledger = JobLedger(store)
        with store.engine.begin() as conn:  # alive: its job is not taken
            assert ledger.claim(conn) is None
        child.kill()
        child.wait(10)
        deadline = time.monotonic() + 10  # the server notices the closed socket at once, in practice
        claimed = None
        while claimed is None and time.monotonic() < deadline:
            with store.engine.begin() as conn:
                claimed = ledger.claim(conn)
            time.sleep(0.05)
        assert claimed is not None and claimed.job_id == job_id and claimed.attempts == 2
        ledger.close()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)


# ------------------------------------------------------------------ live AIS feed
def test_a_live_ais_feed_is_cut_into_batches_that_run_as_ais_jobs(tmp_path, store):
    """A loopback TCP feed serves the ORBCOMM sample (timed by its tag blocks) and 20 lines of the pyais
    sample (no receiver time): the running pipeline writes the feed as batch files into the `ais`
    directory and runs them as jobs. With `arrival_time` the untimed reports are stamped and stored
    too; the timed ones keep their own 2014 times."""
    import socket
    import threading
    import time

    from kizuna.ops.pipeline import PipelineLoop
    from kizuna.store.ais_store import AisStore

    untimed = (SAMPLE.parent / "ais" / "pyais_nmea_data_sample.txt").read_text().splitlines()[:20]
    feed = AIS_SAMPLE.read_text().splitlines() + untimed
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(("\r\n".join(feed) + "\r\n").encode())
            time.sleep(3.0)  # stays connected: a live feed does not end

    threading.Thread(target=serve, daemon=True).start()
    extra = {
        "poll_s": 0.1,
        "ais_stream": {"source": f"tcp://127.0.0.1:{port}", "batch_s": 0.3, "arrival_time": True},
    }
    node, config = _node(tmp_path, store, extra)
    loop = PipelineLoop(node, config, log=lambda _m: None, notify=False).start(warm_up=False)
    try:
        deadline = time.monotonic() + 20
        ledger = JobLedger(store)
        while time.monotonic() < deadline and not [j for j in ledger.list() if j.state == "done"]:
            time.sleep(0.1)
    finally:
        loop.stop()
        listener.close()
    done = [j for j in ledger.list() if j.kind == "ais" and j.state == "done"]
    assert done, [j.as_dict() for j in ledger.list()]
    files = sorted((tmp_path / "ais").glob("stream-*.nmea"))
    assert files and all(not f.name.startswith(".") for f in files)
    ais = AisStore(store)
    times = ais.positions().time_utc
    # the three timed ORBCOMM reports of 2014-12-10, and stamped reports of today from the pyais lines
    assert int((times < np.datetime64("2015-01-01")).sum()) == 3
    assert int((times > np.datetime64("2026-01-01")).sum()) > 0


def test_the_documented_other_inputs_config_is_valid(tmp_path):
    import re

    import yaml

    from kizuna.share.markings import default_config

    doc = (Path(__file__).resolve().parents[1] / "docs" / "live-node.md").read_text()
    block = re.findall(r"```yaml\n(.*?)```", doc, flags=re.S)[1]
    for d in ("elements", "ais", "sar", "cdm", "tdm"):
        (tmp_path / "incoming" / d).mkdir(parents=True)
    cfg = PipelineConfig.from_mapping(
        yaml.safe_load(block)["pipeline"], tmp_path, "live-node.md", "JPN", "SECRET", default_config()
    )
    assert set(cfg.watch) == {"elements", "ais", "sar_detections", "cdm", "tdm"}
    assert cfg.steps("elements")[-1] == "proximity" and cfg.proximity is not None
    assert [a.name for a in cfg.maritime.aois] == ["east-china-sea"]
    assert cfg.http[0].kind == "elements" and cfg.ais_stream is not None
    assert cfg.ais_stream.source.port == 10110
    east = cfg.marking_for("maritime_event", [], (), ["east-china-sea"])
    assert east.banner() == "SECRET//REL TO USA, JPN"
    assert cfg.marking_for("maritime_event", [], (), []) == cfg.default_marking


def test_jobs_list_and_show_show_the_new_kinds(tmp_path, store):
    import json

    from tests.cli_harness import invoke

    if store.engine.dialect.name != "sqlite":
        pytest.skip("the CLI reads the SQLite file")
    node, config = _node(tmp_path, store)
    text = re.sub(r"(PARTICIPANT_2\s*=\s*)\S+", r"\g<1>25544", (TDM_DIR / "TDMExample2.kvn").read_text())
    _drop(tmp_path / "tdm" / "ex2.kvn", text)
    (job,) = run_once(node, config)
    db = str(tmp_path / "kizuna.db")
    listed = json.loads(invoke(["jobs", "list", "--db", db, "-f", "json"]).stdout)
    assert [(j["kind"], j["state"], j["steps_done"]) for j in listed["jobs"]] == [
        ("tdm", "done", "observations")
    ]
    assert listed["jobs"][0]["products"] == 1
    shown = json.loads(invoke(["jobs", "show", job.job_id, "--db", db, "-f", "json"]).stdout)
    assert shown["steps"][0]["counts"]["observations"] == 7  # the data lines of the example
    assert shown["steps"][0]["duration_s"] >= 0


def test_aois_from_a_geojson_file_keep_holes_and_multipolygons(tmp_path):
    """RFC 7946 polygons: the first ring is the outline, the next ones holes; a MultiPolygon is one area.
    Points checked by hand: the hole's centre is outside, a point in the second part is inside."""
    import json

    from kizuna.maritime.areas import areas_containing
    from kizuna.share.markings import default_config

    square = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]
    hole = [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]
    far = [[20, 20], [21, 20], [21, 21], [20, 21], [20, 20]]
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "ring"},
                "geometry": {"type": "MultiPolygon", "coordinates": [[square, hole], [far]]},
            },
            {
                "type": "Feature",
                "properties": {"name": "west"},
                "geometry": {"type": "Polygon", "coordinates": [[[-5, 0], [3, 0], [3, 3], [-5, 3], [-5, 0]]]},
            },
        ],
    }
    (tmp_path / "aois.geojson").write_text(json.dumps(doc))
    (tmp_path / "in").mkdir()
    cfg = PipelineConfig.from_mapping(
        {"watch": {"ais": "in"}, "maritime": {"aois": "aois.geojson"}},
        tmp_path,
        "x",
        "JPN",
        "SECRET",
        default_config(),
    )
    areas = [(a.name, a.polygons) for a in cfg.maritime.aois]
    lat = [5.0, 2.0, 20.5, 1.0, 50.0]
    lon = [5.0, 2.0, 20.5, -1.0, 50.0]
    assert areas_containing(lat, lon, areas) == [[], ["ring", "west"], ["ring"], ["west"], []]


def test_aois_across_the_antimeridian_hold_points_on_both_sides(tmp_path):
    """The area 170E..170W, 10N..20N written three ways: inline as one ring whose longitude jumps from
    170 to -170, in a GeoJSON file as such a Polygon (with a hole 178E..178W, 14N..16N), and cut in
    two at 180 as RFC 7946 §3.1.9 asks (a MultiPolygon). Points checked by hand: 175E and 175W at
    15N are inside (except the hole's 179.9E/W at 15N), 0E and 165E are outside, and so is 175E at
    5N (south of it)."""
    import json

    from kizuna.maritime.areas import areas_containing
    from kizuna.share.markings import default_config

    ring = [[170, 10], [-170, 10], [-170, 20], [170, 20], [170, 10]]
    hole = [[178, 14], [-178, 14], [-178, 16], [178, 16], [178, 14]]
    east = [[170, 10], [180, 10], [180, 20], [170, 20], [170, 10]]
    west = [[-180, 10], [-170, 10], [-170, 20], [-180, 20], [-180, 10]]
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "holed"},
                "geometry": {"type": "Polygon", "coordinates": [ring, hole]},
            },
            {
                "type": "Feature",
                "properties": {"name": "cut"},
                "geometry": {"type": "MultiPolygon", "coordinates": [[east], [west]]},
            },
        ],
    }
    (tmp_path / "dateline.geojson").write_text(json.dumps(doc))
    (tmp_path / "in").mkdir()
    areas = []
    for aois in ([{"name": "jump", "polygon": ring}], "dateline.geojson"):
        cfg = PipelineConfig.from_mapping(
            {"watch": {"ais": "in"}, "maritime": {"aois": aois}},
            tmp_path,
            "x",
            "JPN",
            "SECRET",
            default_config(),
        )
        areas += [(a.name, a.polygons) for a in cfg.maritime.aois]
    lat = [15.0, 15.0, 12.0, 12.0, 15.0, 15.0, 15.0, 15.0, 5.0]
    lon = [175.0, -175.0, 179.9, -179.9, 179.9, -179.9, 0.0, 165.0, 175.0]
    assert areas_containing(lat, lon, areas) == [
        ["jump", "holed", "cut"],
        ["jump", "holed", "cut"],
        ["jump", "holed", "cut"],
        ["jump", "holed", "cut"],
        ["jump", "cut"],  # in the hole
        ["jump", "cut"],
        [],
        [],
        [],
    ]
