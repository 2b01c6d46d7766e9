"""CLI wiring: screen (json, cdm-kvn), cdm show/assess, demo, on the bundled sample."""

from __future__ import annotations

import json

from tests.conftest import shared
from typer.testing import CliRunner

from kizuna.cli import app
from kizuna.demo import sample_files
from kizuna.store import CatalogStore
from kizuna.store.ingest import load_files

runner = CliRunner()


def _db(tmp_path):
    db = str(tmp_path / "k.db")
    store = CatalogStore(db)
    load_files(store, sample_files())
    return db, store


def test_screen_json_and_cdm_out(tmp_path):
    db, _ = _db(tmp_path)
    res = runner.invoke(
        app,
        ["screen", "--owner", "JPN", "--days", "0.5", "--threshold-km", "60", "--format", "json", "--db", db],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    for row in doc["events"]:
        for key in (
            "primary",
            "secondary",
            "tca_utc",
            "miss_km",
            "rel_speed_kms",
            "radial_km",
            "intrack_km",
            "crosstrack_km",
            "pc",
            "pc_method",
        ):
            assert key in row
        assert row["miss_km"] < 60
    assert doc["events"], "the bundled sample has approaches within 60 km in 12 h"
    res = runner.invoke(
        app,
        [
            "screen",
            "--owner",
            "JPN",
            "--days",
            "0.5",
            "--threshold-km",
            "60",
            "--format",
            "cdm-kvn",
            "--out",
            str(tmp_path / "cdm"),
            "--db",
            db,
        ],
    )
    assert res.exit_code == 0, res.output
    files = sorted((tmp_path / "cdm").glob("*.cdm"))
    assert len(files) == len(doc["events"])
    shown = runner.invoke(app, ["cdm", "show", str(files[0])])
    assert shown.exit_code == 0 and "TCA" in shown.stdout


def test_screen_needs_one_selector(tmp_path):
    res = runner.invoke(app, ["screen", "--all", "--owner", "JPN", "--db", str(tmp_path / "x.db")])
    assert res.exit_code == 2


def test_cdm_assess_reproduces_cara_and_stores(tmp_path):
    path = shared("cdm_pc/cara/PcTestCaseCDMs/000020580_conj_000022015_20210315_212955_20210313_065123.cdm")
    db = str(tmp_path / "k.db")
    res = runner.invoke(app, ["cdm", "assess", str(path), "--format", "json", "--db", db])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert abs(doc["pc"] - 6.114793230828587e-04) / 6.1e-4 < 1e-7  # CARA Pc2D for this CDM
    from kizuna.store.cdm_store import CdmStore

    stored = CdmStore(CatalogStore(db)).list()
    assert len(stored) == 1 and stored[0].cdm.message_id == doc["message_id"]


def test_cdm_bad_file_exit_2(tmp_path):
    bad = tmp_path / "bad.cdm"
    bad.write_text("CCSDS_CDM_VERS = 1.0\nCREATION_DATE = 2020-01-01T00:00:00\n")
    res = runner.invoke(app, ["cdm", "show", str(bad)])
    assert res.exit_code == 2


def test_demo_writes_a_cdm(tmp_path):
    from rich.console import Console

    from kizuna.demo.conjunctions import run_demo
    from kizuna.formats.cdm import read_cdm

    _, store = _db(tmp_path)
    run_demo(store, tmp_path / "out", Console(record=True, width=200))
    cdms = list((tmp_path / "out").glob("*.cdm"))
    assert len(cdms) == 1
    assert read_cdm(cdms[0].read_text()).miss_km < 50
    assert (tmp_path / "out" / "sda_events.png").stat().st_size > 10_000


def test_screen_on_local_dask_cluster_matches(tmp_path):
    db, _ = _db(tmp_path)
    args = [
        "screen",
        "--owner",
        "JPN",
        "--days",
        "0.25",
        "--threshold-km",
        "60",
        "--format",
        "json",
        "--db",
        db,
    ]
    single = json.loads(runner.invoke(app, args).stdout)
    res = runner.invoke(app, [*args, "--scheduler", "local"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["events"] == single["events"]


def test_screen_publishes_conjunction_products(tmp_path):
    from kizuna.share.loopback import free_port, write_coalition
    from kizuna.share.node import Node

    db, _ = _db(tmp_path)
    cfgs = write_coalition(tmp_path, {"JPN": free_port(), "USA": free_port()})
    res = runner.invoke(
        app,
        [
            "screen",
            "--owner",
            "JPN",
            "--days",
            "0.5",
            "--threshold-km",
            "60",
            "--format",
            "json",
            "--db",
            db,
            "--publish",
            "SECRET//REL TO USA, JPN",
            "--partners",
            str(cfgs["JPN"]),
            "--keys",
            str(tmp_path / "keys"),
        ],
    )
    assert res.exit_code == 0, res.output
    events = json.loads(res.stdout)["events"]
    node = Node.open(db, cfgs["JPN"], tmp_path / "keys")
    try:
        report = node.audit.verify()
        publishes = [r for r in node.share.audit_rows() if r["event"] == "publish"]
        assert report.ok and events and len(publishes) == len(events)
    finally:
        node.catalog.close()
    no_keys = runner.invoke(
        app, ["screen", "--owner", "JPN", "--days", "0.1", "--db", db, "--publish", "UNCLASSIFIED"]
    )
    assert no_keys.exit_code == 2


def test_screen_with_default_covariance_reports_foster(tmp_path):
    db, _ = _db(tmp_path)
    res = runner.invoke(
        app,
        [
            "screen",
            "--owner",
            "JPN",
            "--days",
            "0.5",
            "--threshold-km",
            "60",
            "--format",
            "json",
            "--db",
            db,
            "--sigma-rtn-km",
            "0.2,1,0.2",
        ],
    )
    assert res.exit_code == 0, res.output
    events = json.loads(res.stdout)["events"]
    assert events and all(e["pc_method"] == "FOSTER-1992 (default RTN sigma)" for e in events)
    assert all(0.0 <= e["pc"] <= 1.0 for e in events)
    bad = runner.invoke(app, ["screen", "--owner", "JPN", "--db", db, "--sigma-rtn-km", "0.2,-1,0.2"])
    assert bad.exit_code == 2


def _screen_cdms(tmp_path, db, extra):
    out = tmp_path / ("cdm" + "_".join(extra).replace(",", "-"))
    args = [
        "screen",
        "--owner",
        "JPN",
        "--days",
        "0.5",
        "--threshold-km",
        "60",
        "-f",
        "cdm-kvn",
        "--out",
        str(out),
    ]
    res = runner.invoke(app, [*args, *extra, "--db", db])
    assert res.exit_code == 0, res.output
    return sorted(out.glob("*.cdm"))


def test_cdms_written_by_screen_reassess_to_the_pc_they_state(tmp_path):
    """`kizuna cdm assess` on a CDM written by `kizuna screen` gives the Pc the message states: the
    covariance-based Pc from the message's own covariance, or, for a TLE-only maximum Pc, the
    maximum again with the message saying so."""
    from kizuna.formats.cdm import read_cdm

    db, _ = _db(tmp_path)
    for extra, maximum in (([], True), (["--sigma-rtn-km", "10,30,10"], False)):
        files = _screen_cdms(tmp_path, db, extra)
        assert files
        checked = 0
        for path in files[:5]:
            cdm = read_cdm(path.read_text())
            stated = float(cdm.relative["COLLISION_PROBABILITY"])
            res = runner.invoke(app, ["cdm", "assess", str(path), "-f", "json", "--no-store", "--db", db])
            assert res.exit_code == 0, res.output
            doc = json.loads(res.stdout)
            assert doc["maximum_pc"] is maximum
            if stated < 1e-300:
                continue  # below double-precision range as written: nothing to compare
            assert abs(doc["pc"] - stated) <= 1e-6 * stated, (path.name, doc["pc"], stated)
            checked += 1
            for obj in cdm.objects:
                assert obj.fields["INTERNATIONAL_DESIGNATOR"] != "UNKNOWN"
        assert checked
