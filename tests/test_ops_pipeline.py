"""The live pipeline in one process: its config, the job ledger (re-arrival, crash between and inside
steps, resume), markings by rule, and the incremental screening checked against a full screening of the
whole catalog (sda.screening.screen, all objects against the asset) on the bundled sample."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import numpy as np
import pytest
from tests.pipeline_support import (
    JPN_ASSET,
    PIPELINE,
    SAMPLE,
    coalition,
    neighbour,
    write_csv,
)

from kizuna.ops.pipeline import PipelineConfig, Runner, Watcher, run_once
from kizuna.share.loopback import free_port
from kizuna.share.markings import parse_banner
from kizuna.share.node import ConfigError, Node, NodeConfig
from kizuna.share.signing import Signer, load_private_key
from kizuna.store.ingest import load_file
from kizuna.store.pipeline_jobs import JobLedger


class Crash(BaseException):
    """Stands in for the process dying (not an Exception: nothing in the runner may catch it)."""


def _jpn(tmp_path, store, sample=("leo_2026-06_sample.3le", "satcat_sample.csv")):  # type: ignore[no-untyped-def]
    cfgs = coalition(tmp_path, {n: free_port() for n in ("JPN", "USA", "UKR")})
    for name in sample:
        load_file(store, SAMPLE / name)
    node = Node(
        store,
        NodeConfig.load(cfgs["JPN"]),
        Signer("JPN", load_private_key(tmp_path / "keys" / "JPN.key.pem")),
    )
    config = _config(node, cfgs["JPN"])
    return tmp_path, node, config


@pytest.fixture
def jpn(tmp_path, store):
    """JPN's node on the conftest store (SQLite, then PostgreSQL) with the sample catalog loaded."""
    return _jpn(tmp_path, store)


ISS_2023 = SAMPLE.parent / "maneuvers" / "iss_25544_2023.tle"


def test_maneuvers_revealed_by_arrivals_match_the_detector_on_the_whole_history(tmp_path, store):
    """ISS element sets of 2023 (real, Space-Track) arrive in two files split on 10 February: the
    maneuver products of the two jobs are the reboosts the detector finds in the whole history of
    January to March (sda.maneuvers.detect_maneuvers, the reference here), by the epochs around them."""
    from kizuna.formats.detect import read_path
    from kizuna.sda.maneuvers import detect_maneuvers

    tmp, node, config = _jpn(tmp_path, store, sample=("satcat_sample.csv",))
    lines = ISS_2023.read_text().splitlines()
    pairs = [(lines[i], lines[i + 1]) for i in range(0, len(lines), 2)]
    # TLE epochs are YYDDD.ddd in columns 19-32 of line 1: day 41 is 10 February, day 90 is 31 March.
    day = [float(a[20:32]) for a, _ in pairs]
    first = [p for p, d in zip(pairs, day, strict=True) if d < 41]
    second = [p for p, d in zip(pairs, day, strict=True) if 41 <= d < 91]
    for name, part in (("iss-a.tle", first), ("iss-b.tle", second)):
        (tmp / "incoming" / name).write_text("".join(f"{a}\n{b}\n" for a, b in part))
        jobs = run_once(node, config)
        assert [j.state for j in jobs] == ["done"], jobs[0].as_dict()
    products = [p for p in _products(node) if p.type == "maneuver"]
    got = {str(p.payload["window_end_utc"]) for p in products}
    whole = read_path(ISS_2023).records
    reference = [m for m in detect_maneuvers([e for e in whole if e.epoch_utc.timetuple().tm_yday < 91])]
    # The clear reboosts (dv >= 0.3 m/s: ISS reboosts are ~0.5-2 m/s) are all there, by their window.
    strong = {m.as_row()["window_end_utc"] for m in reference if m.dv_mps >= 0.3}
    assert len(strong) >= 4 and strong <= got
    # And nothing strong appears that the whole history does not support.
    ref_all = {m.as_row()["window_end_utc"] for m in reference}
    extra = {
        str(p.payload["window_end_utc"]) for p in products if float(p.payload["dv_mps"]) >= 0.3
    } - ref_all
    assert not extra
    assert len({p.id for p in products}) == len(products)


def _config(node: Node, path: Path) -> PipelineConfig:
    c = node.config
    loaded = PipelineConfig.load(path, c.nation, c.clearance.banner, c.markings)
    assert loaded is not None
    return loaded


def _products(node: Node) -> list:
    rows = node.share.page(None, limit=10_000)
    return [node.verified_row(r) for r in rows]


def _drop(tmp: Path, node: Node, name: str, k: int = 0, norad: int = 99901) -> Path:
    asset = node.catalog.latest_element_sets([JPN_ASSET])[0]
    return write_csv(tmp / "incoming" / name, [neighbour(asset, norad, k)])


def test_an_arrival_makes_marked_conjunction_products_equal_to_a_full_screening(jpn):
    tmp, node, config = jpn
    _drop(tmp, node, "a.csv")
    jobs = run_once(node, config)
    assert [j.state for j in jobs] == ["done"]
    assert [s.step for s in jobs[0].steps] == ["ingest", "screen", "maneuvers"]
    products = _products(node)
    assert products and all(p.type == "conjunction" for p in products)
    # Every product involves the new object and a JPN payload, and is marked by the JPN rule.
    jpn_payloads = {e.norad_id for e in node.catalog.search(owner="JPN", object_type="PAYLOAD")}
    for p in products:
        assert 99901 in p.objects and set(p.objects) & jpn_payloads
        assert p.marking.banner() == "SECRET//REL TO USA, JPN"
    # Reference: the whole catalog screened with the same window and volume, every JPN payload as primary.
    from kizuna.sda.records import ScreeningVolume
    from kizuna.sda.screening import screen

    sets = node.catalog.latest_element_sets()
    t0 = products[0].payload["screening"]["start_utc"]  # type: ignore[index]
    full = screen(
        sets,
        np.datetime64(t0.rstrip("Z")),
        np.datetime64(t0.rstrip("Z")) + np.timedelta64(6, "h"),
        primaries=sorted(jpn_payloads),
        volume=ScreeningVolume.sphere(10.0),
        step_s=60.0,
    )
    expected = {
        (e.primary, e.secondary, str(np.datetime_as_string(e.tca_utc, unit="s"))): e.miss_km
        for e in full.events
        if 99901 in (e.primary, e.secondary)
    }
    got = {
        (p.payload["primary"], p.payload["secondary"], str(p.payload["tca_utc"])[:19]): p.payload["miss_km"]
        for p in products
    }
    assert set(got) == set(expected)
    for key, miss_km in expected.items():
        assert got[key] == pytest.approx(miss_km, abs=1e-3)  # within 1 m: the same analysis


def test_the_same_content_again_is_one_job_and_no_new_product(jpn):
    tmp, node, config = jpn
    path = _drop(tmp, node, "a.csv")
    run_once(node, config)
    first = {p.id for p in _products(node)}
    (tmp / "incoming" / "copy-of-a.csv").write_bytes(path.read_bytes())
    assert run_once(node, config) == []  # the copy is the same content: the same job, already done
    assert {p.id for p in _products(node)} == first
    assert JobLedger(node.catalog).counts()["done"] == 1


def test_a_crash_between_steps_resumes_without_duplicates_or_losses(jpn, tmp_path_factory):
    tmp, node, config = jpn
    _drop(tmp, node, "a.csv")
    ledger = JobLedger(node.catalog)
    watcher = Watcher(config, ledger, node)
    import time

    watcher.scan(now_s=time.time() + 1)

    def die_after_ingest(job_id: str, step: str) -> None:
        if step == "ingest":
            raise Crash()

    with pytest.raises(Crash):
        Runner(node, config, ledger, after_step=die_after_ingest).run_pending()
    job = ledger.list()[0]
    assert job.state == "running" and job.done_steps() == {"ingest"}
    assert _products(node) == []
    # The restarted runner resumes at `screen` (SQLite: at once, being the only runner; PostgreSQL:
    # when the job's heartbeat is stale, here at once).
    resumed = run_once(node, config, ledger=JobLedger(node.catalog, stale_s=0.0))
    assert [j.state for j in resumed] == ["done"]
    steps = {s.step: s for s in resumed[0].steps}
    assert steps["ingest"].started_utc == job.steps[0].started_utc  # not run again
    products = _products(node)
    assert len(products) == steps["screen"].counts["products"] > 0
    assert len({p.id for p in products}) == len(products)


def test_a_crash_inside_the_publishing_transaction_stores_nothing_then_everything_once(jpn, monkeypatch):
    tmp, node, config = jpn
    _drop(tmp, node, "a.csv")
    ledger = JobLedger(node.catalog)
    real = JobLedger.mark_step

    def mark_then_die(self, conn, job_id, step, *args, **kwargs):  # type: ignore[no-untyped-def]
        real(self, conn, job_id, step, *args, **kwargs)
        if step == "screen" and kwargs.get("error") is None:
            raise Crash()  # after the products and the mark are written, before the commit

    monkeypatch.setattr(JobLedger, "mark_step", mark_then_die)
    with pytest.raises(Crash):
        run_once(node, config)
    assert _products(node) == []  # rolled back with the mark
    assert ledger.list()[0].done_steps() == {"ingest"}
    monkeypatch.setattr(JobLedger, "mark_step", real)
    run_once(node, config, ledger=JobLedger(node.catalog, stale_s=0.0))
    products = _products(node)
    assert products and len({p.id for p in products}) == len(products)
    assert ledger.list()[0].state == "done"


def test_product_ids_are_derived_from_the_job_so_a_rerun_elsewhere_gives_the_same(jpn, tmp_path):
    tmp, node, config = jpn
    _drop(tmp, node, "a.csv")
    run_once(node, config)
    ids = {p.id for p in _products(node)}
    # The same arrival on a fresh copy of the node: the same ids.
    from kizuna.store.catalog import CatalogStore

    other = CatalogStore(str(tmp_path / "again.db"))
    try:
        for name in ("leo_2026-06_sample.3le", "satcat_sample.csv"):
            load_file(other, SAMPLE / name)
        node2 = Node(other, node.config, node.signer)
        run_once(node2, config)
        assert {p.id for p in _products(node2)} == ids
    finally:
        other.close()


def test_an_unreadable_arrival_fails_its_job_and_the_next_one_runs(jpn):
    tmp, node, config = jpn
    (tmp / "incoming" / "bad.csv").write_text("OBJECT_NAME,NORAD_CAT_ID\nX,notanumber\n")
    _drop(tmp, node, "b.csv")
    jobs = {j.path.rsplit("/", 1)[-1]: j for j in run_once(node, config)}
    assert jobs["b.csv"].state == "done"
    bad = jobs["bad.csv"]
    # A file with no good element set ingests nothing and screens nothing: done, counted, no product.
    ingest = {s.step: s for s in bad.steps}["ingest"]
    assert ingest.counts["loaded"] == 0 and ingest.counts["rejected"] >= 1
    assert {s.step: s for s in bad.steps}["screen"].counts["products"] == 0


def test_a_file_changed_after_arrival_fails_its_job_naming_the_file(jpn):
    tmp, node, config = jpn
    path = _drop(tmp, node, "a.csv")
    ledger = JobLedger(node.catalog)
    import time

    Watcher(config, ledger, node).scan(now_s=time.time() + 1)
    path.write_text(path.read_text() + "\n")  # edited in place before the runner took it
    Runner(node, config, ledger).run_pending()
    job = ledger.list(state="failed")[0]
    assert "a.csv" in (job.error or "") and "changed after it arrived" in (job.error or "")


def test_the_queue_is_bounded(jpn):
    tmp, node, config = jpn
    from dataclasses import replace

    small = replace(config, max_queued=2)
    for k in range(4):
        _drop(tmp, node, f"f{k}.csv", k=k + 1)
    ledger = JobLedger(node.catalog)
    import time

    assert Watcher(small, ledger, node).scan(now_s=time.time() + 1) == 2
    assert ledger.counts()["queued"] == 2


# ---------------------------------------------------------------- configuration
def _bad(pipeline: dict, tmp: Path) -> str:
    (tmp / "incoming").mkdir(exist_ok=True)
    with pytest.raises(ConfigError) as info:
        PipelineConfig.from_mapping(pipeline, tmp, "JPN.yaml", "JPN", "SECRET", NodeConfig_markings())
    text = str(info.value)
    assert "\n" not in text and text.startswith("JPN.yaml: invalid pipeline configuration: pipeline.")
    return text


def NodeConfig_markings():  # type: ignore[no-untyped-def]
    from kizuna.share.markings import default_config

    return default_config()


def _with(path: str, value: object) -> dict:
    cfg = copy.deepcopy(PIPELINE)
    *parents, last = path.split(".")
    at: dict = cfg
    for p in parents:
        at = at[p] if not p.isdigit() else at[int(p)]  # type: ignore[index]
    if value is _DELETE:
        del at[last]
    else:
        at[last] = value
    return cfg


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("watch", _DELETE, "pipeline.watch"),
        ("watch", {}, "pipeline.watch"),
        ("watch.radar", "incoming", "pipeline.watch.radar"),
        ("watch.elements", "no/such/dir", "pipeline.watch.elements"),
        ("watch.elements", 7, "pipeline.watch.elements"),
        ("poll_s", 0, "pipeline.poll_s"),
        ("poll_s", "fast", "pipeline.poll_s"),
        ("poll_s", float("nan"), "pipeline.poll_s"),
        ("poll_s", True, "pipeline.poll_s"),
        ("max_queued", 0, "pipeline.max_queued"),
        ("max_queued", 1.5, "pipeline.max_queued"),
        ("protected", "JPN", "pipeline.protected"),
        ("protected.owner", "", "pipeline.protected.owner"),
        ("protected.norad", [1, "x"], "pipeline.protected.norad"),
        ("protected.norad", [0], "pipeline.protected.norad"),
        ("protected.colour", "red", "pipeline.protected.colour"),
        ("screening.days", 0, "pipeline.screening.days"),
        ("screening.days", 30, "pipeline.screening.days"),
        ("screening.threshold_km", -1, "pipeline.screening.threshold_km"),
        ("screening.threshold_km", float("inf"), "pipeline.screening.threshold_km"),
        ("screening.step_s", 0.5, "pipeline.screening.step_s"),
        ("markings.default", "SECRET//REL TO", "pipeline.markings.default"),
        ("markings.default", "PURPLE", "pipeline.markings.default"),
        ("markings.rules", "all", "pipeline.markings.rules"),
        ("markings.rules.0.product", "cake", "pipeline.markings.rules[0].product"),
        ("markings.rules.0.marking", _DELETE, "pipeline.markings.rules[0].marking"),
        ("markings.rules.0.marking", "SECRET//REL TO MARS", "pipeline.markings.rules[0].marking"),
        ("markings.rules.0.involves_owner", 5, "pipeline.markings.rules[0].involves_owner"),
        ("markings.rules.0.involves_norad", "all", "pipeline.markings.rules[0].involves_norad"),
        ("markings.rules.0.when", "always", "pipeline.markings.rules[0].when"),
        ("maneuvers", "yes", "pipeline.maneuvers"),
        ("maneuvers", {"enabled": "yes"}, "pipeline.maneuvers.enabled"),
        ("maneuvers", {"history_days": 0}, "pipeline.maneuvers.history_days"),
        ("maneuvers", {"window": 3}, "pipeline.maneuvers.window"),
        ("speed", "max", "pipeline.speed"),
    ],
)
def test_hostile_pipeline_config_is_one_line_naming_the_field(tmp_path, path, value, field):
    assert f"{field}:" in _bad(_with(path, value), tmp_path)


def test_a_minimal_pipeline_config_has_defaults_that_work_and_share_nothing(tmp_path):
    (tmp_path / "in").mkdir()
    cfg = PipelineConfig.from_mapping(
        {"watch": {"elements": "in"}}, tmp_path, "x", "JPN", "SECRET", NodeConfig_markings()
    )
    assert cfg.protected_owner == "JPN" and cfg.poll_s == 1.0 and cfg.screen_days == 1.0
    # No rule: products stay with this node until the config releases them.
    assert cfg.default_marking == parse_banner("SECRET//REL TO JPN", NodeConfig_markings())
    assert cfg.marking_for("conjunction", ["JPN"], (1, 2)) == cfg.default_marking


def test_marking_rules_first_match_wins(tmp_path):
    (tmp_path / "in").mkdir()
    cfg = PipelineConfig.from_mapping(
        {
            "watch": {"elements": "in"},
            "markings": {
                "default": "SECRET//REL TO JPN",
                "rules": [
                    {
                        "product": "conjunction",
                        "involves_norad": [25544],
                        "marking": "CONFIDENTIAL//REL TO USA, JPN, UKR",
                    },
                    {"product": "conjunction", "involves_owner": "JPN", "marking": "SECRET//REL TO USA, JPN"},
                ],
            },
        },
        tmp_path,
        "x",
        "JPN",
        "SECRET",
        NodeConfig_markings(),
    )
    assert (
        cfg.marking_for("conjunction", ["JPN", "US"], (33492, 25544)).banner()
        == "CONFIDENTIAL//REL TO USA, JPN, UKR"
    )
    assert cfg.marking_for("conjunction", ["JPN", "US"], (33492, 27424)).banner() == "SECRET//REL TO USA, JPN"
    assert cfg.marking_for("conjunction", ["PRC", "US"], (1, 2)).banner() == "SECRET//REL TO JPN"


def test_a_node_config_without_a_pipeline_section_has_none(tmp_path):
    cfgs = coalition(tmp_path, {n: free_port() for n in ("JPN", "USA", "UKR")})
    c = NodeConfig.load(cfgs["USA"])
    assert PipelineConfig.load(cfgs["USA"], c.nation, c.clearance.banner, c.markings) is None


def test_jobs_routes_show_last_run_duration_counts_and_errors_to_auditors(jpn):
    from fastapi.testclient import TestClient

    from kizuna.service import create_app

    tmp, node, config = jpn
    _drop(tmp, node, "a.csv")
    (tmp / "incoming" / "gone.csv").write_text("x")
    job_ids = [j.job_id for j in run_once(node, config)]
    client = TestClient(create_app(node))
    auditor = {"Authorization": "Bearer token-JPN"}
    listed = client.get("/jobs", headers=auditor)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["counts"]["done"] == 2 and {j["job_id"] for j in body["jobs"]} == set(job_ids)
    one = client.get(f"/jobs/{job_ids[0]}", headers=auditor).json()
    assert one["duration_s"] > 0 and [s["step"] for s in one["steps"]] == ["ingest", "screen", "maneuvers"]
    assert all(s["duration_s"] >= 0 and isinstance(s["counts"], dict) for s in one["steps"])
    assert client.get("/jobs/nope", headers=auditor).status_code == 404
    assert client.get("/jobs", params={"state": "lost"}, headers=auditor).status_code == 400
    assert client.get("/jobs").status_code == 401
    # Only this node's users with the auditor role: another node's user token is unknown here.
    assert client.get("/jobs", headers={"Authorization": "Bearer token-USA"}).status_code == 401


def test_postgresql_runners_claim_different_jobs_at_once(store):
    """FOR UPDATE SKIP LOCKED: while one runner's claim transaction holds a job, another claims the
    next one instead of waiting or taking the same."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises claims under its write lock: one runner at a time")
    ledger = JobLedger(store)
    with store.engine.begin() as conn:
        for k in range(3):
            ledger.enqueue(conn, "elements", hashlib.sha256(bytes([k])).hexdigest(), f"/in/{k}.csv")
    with store.engine.begin() as first, store.engine.begin() as second:
        a = ledger.claim(first)
        b = ledger.claim(second)  # would block on `a`'s row without SKIP LOCKED
        assert a is not None and b is not None and a.job_id != b.job_id
    assert ledger.counts() == {"queued": 1, "running": 2, "done": 0, "failed": 0}


def test_a_directory_of_processed_files_is_rescanned_without_the_database(jpn, monkeypatch):
    import time

    tmp, node, config = jpn
    _drop(tmp, node, "a.csv")
    ledger = JobLedger(node.catalog)
    watcher = Watcher(config, ledger, node)
    assert watcher.scan(now_s=time.time() + 1) == 1

    def no_database(*_a, **_k):  # type: ignore[no-untyped-def]
        raise AssertionError("an unchanged, recorded file went to the database again")

    monkeypatch.setattr(JobLedger, "known", no_database)
    assert watcher.scan(now_s=time.time() + 1) == 0
    # A new file still does.
    _drop(tmp, node, "b.csv", k=1)
    with pytest.raises(AssertionError, match="went to the database"):
        watcher.scan(now_s=time.time() + 1)


def test_the_documented_example_config_is_valid(tmp_path):
    import re

    import yaml

    doc = (Path(__file__).resolve().parents[1] / "docs" / "live-node.md").read_text()
    block = re.findall(r"```yaml\n(.*?)```", doc, flags=re.S)[0]
    (tmp_path / "incoming" / "elements").mkdir(parents=True)
    cfg = PipelineConfig.from_mapping(
        yaml.safe_load(block)["pipeline"], tmp_path, "live-node.md", "JPN", "SECRET", NodeConfig_markings()
    )
    assert [r.product for r in cfg.rules] == ["conjunction", "conjunction", "maneuver"]
    assert cfg.protected_owner == "JPN" and cfg.protected_norad == (25544,)
