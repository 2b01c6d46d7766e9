"""The `kizuna` command line, end to end through Typer's runner."""

from __future__ import annotations

import csv
import io
import json

import pytest
from tests.conftest import SAMPLE, shared
from typer.testing import CliRunner

from kizuna.cli import app

runner = CliRunner()


@pytest.fixture()
def db(tmp_path):
    path = str(tmp_path / "cli.db")
    result = runner.invoke(
        app,
        [
            "catalog",
            "load",
            str(SAMPLE / "satcat_sample.csv"),
            str(SAMPLE / "leo_2026-06_sample.3le"),
            str(SAMPLE / "active_2026-07_sample.csv"),
            "--db",
            path,
        ],
    )
    assert result.exit_code == 0, result.output
    return path


def _json(output: str):
    return json.loads(output[output.index("{") :] if output.lstrip()[0] == "{" else output)


def test_load_summary_and_exit_codes(tmp_path, db):
    again = runner.invoke(app, ["catalog", "load", str(SAMPLE / "active_2026-07_sample.csv"), "--db", db])
    assert again.exit_code == 0
    summary = _json(again.stdout)
    assert {k: summary[k] for k in ("loaded", "duplicates", "rejected")} == {
        "loaded": 0,
        "duplicates": 47,
        "rejected": 0,
    }
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\nworld\n")
    bad = runner.invoke(app, ["catalog", "load", str(junk), "--db", db])
    assert bad.exit_code == 2
    summary = _json(bad.stdout)
    assert summary["rejected"] == 1 and summary["errors"][0] == {
        "file": str(junk),
        "line": 1,
        "field": "FORMAT",
        "message": "not a TLE/3LE, CCSDS OMM (KVN, XML, JSON, CSV) or SATCAT file",
    }


def test_load_corrupt_tle_keeps_good_records(tmp_path):
    path = shared("tle/gpconf/corrupt-input/c1-checksum-digit.tle")
    result = runner.invoke(app, ["catalog", "load", str(path), "--db", str(tmp_path / "c.db")])
    summary = _json(result.stdout)
    assert result.exit_code == 0
    assert (summary["loaded"], summary["rejected"]) == (2, 1)
    assert summary["errors"][0]["line"] == 5 and summary["errors"][0]["field"] == "LINE1"


def test_show_and_search(db):
    shown = runner.invoke(app, ["catalog", "show", "58578", "--db", db, "--format", "json"])
    assert shown.exit_code == 0
    d = json.loads(shown.stdout)
    assert d["satcat"]["owner"] == "JPN" and d["regime"] == "LEO"
    assert d["latest"]["NORAD_CAT_ID"] == 58578
    found = runner.invoke(
        app,
        [
            "catalog",
            "search",
            "--owner",
            "JPN",
            "--type",
            "PAYLOAD",
            "--regime",
            "GEO",
            "--db",
            db,
            "--format",
            "json",
        ],
    )
    rows = json.loads(found.stdout)["objects"]
    assert {r["norad_id"] for r in rows} >= {40267, 41836, 42738, 42917, 42965, 49336, 62876}
    table = runner.invoke(app, ["catalog", "search", "--owner", "JPN", "--regime", "LEO", "--db", db])
    assert table.exit_code == 0 and "STRIX" in table.stdout
    missing = runner.invoke(app, ["catalog", "show", "1", "--db", db])
    assert missing.exit_code == 2
    bad_regime = runner.invoke(app, ["catalog", "search", "--regime", "XEO", "--db", db])
    assert bad_regime.exit_code == 2


def test_export_round_trip(db, tmp_path):
    exported = runner.invoke(app, ["catalog", "export", "--format", "omm-kvn", "--db", db])
    path = tmp_path / "all.kvn"
    path.write_text(exported.stdout)
    result = runner.invoke(app, ["catalog", "load", str(path), "--db", db])
    summary = _json(result.stdout)
    assert summary["loaded"] == 0 and summary["duplicates"] == 724


def test_propagate_csv_itrf_with_several_ids(db):
    result = runner.invoke(
        app,
        [
            "propagate",
            "--norad",
            "58578",
            "25544",
            "--start",
            "2026-06-10T00:00:00",
            "--stop",
            "2026-06-10T00:10:00",
            "--step-s",
            "60",
            "--frame",
            "itrf",
            "--db",
            db,
        ],
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 2 * 11
    assert {r["norad_id"] for r in rows} == {"58578", "25544"}
    assert 400 < float(rows[0]["alt_km"]) < 600


def test_propagate_json_from_file_reports_sgp4_errors(tmp_path):
    text = (SAMPLE / "leo_2026-06_sample.3le").read_text().splitlines()[:6]
    path = tmp_path / "two.tle"
    path.write_text("\n".join(text) + "\n")
    result = runner.invoke(
        app,
        [
            "propagate",
            "--file",
            str(path),
            "--start",
            "2026-06-10T00:00:00",
            "--stop",
            "2026-06-10T01:00:00",
            "--step-s",
            "600",
            "--frame",
            "gcrs",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["frame"] == "gcrs" and len(d["objects"]) == 2 and len(d["objects"][0]["states"]) == 7
    assert d["errors"] == []


def test_propagate_needs_ids_or_file():
    result = runner.invoke(app, ["propagate", "--start", "2026-06-10", "--stop", "2026-06-11"])
    assert result.exit_code != 0


def test_catalog_publish_makes_signed_marked_products(tmp_path):
    from kizuna.share.loopback import free_port, write_coalition
    from kizuna.share.node import Node

    cfgs = write_coalition(tmp_path, {"JPN": free_port(), "USA": free_port()})
    jdb = str(tmp_path / "JPN.db")
    assert (
        runner.invoke(app, ["catalog", "load", str(SAMPLE / "leo_2026-06_sample.3le"), "--db", jdb]).exit_code
        == 0
    )
    common = ["--partners", str(cfgs["JPN"]), "--keys", str(tmp_path / "keys"), "--db", jdb]
    result = runner.invoke(
        app,
        [
            "catalog",
            "publish",
            "--norad",
            "58578",
            "--norad",
            "25544",
            "--marking",
            "SECRET//REL TO USA, JPN",
            *common,
        ],
    )
    assert result.exit_code == 0, result.output
    published = json.loads(result.stdout)
    assert {p["norad_id"] for p in published} == {58578, 25544}
    assert all(p["banner"] == "SECRET//REL TO USA, JPN" for p in published)
    node = Node.open(jdb, cfgs["JPN"], tmp_path / "keys")
    try:
        assert node.audit.verify().ok
    finally:
        node.catalog.close()
    bad = runner.invoke(app, ["catalog", "publish", "--norad", "1", *common])
    assert bad.exit_code == 2
