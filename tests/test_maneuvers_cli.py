"""`kizuna maneuvers ...` and `kizuna proximity watch` through the real CLI app."""

from __future__ import annotations

import json
from importlib import resources

from tests.conftest import shared
from typer.testing import CliRunner

from kizuna.cli import app
from kizuna.demo import sample_files
from kizuna.store.ingest import load_files

runner = CliRunner()
ISS_2023 = resources.files("kizuna") / "data" / "maneuvers" / "iss_25544_2023.tle"


def test_detect_json_rows_and_plot(tmp_path):
    png = tmp_path / "iss.png"
    res = runner.invoke(
        app,
        [
            "maneuvers",
            "detect",
            "--file",
            str(ISS_2023),
            "--start",
            "2023-01-01",
            "--stop",
            "2023-06-30",
            "--min-dv",
            "0.1",
            "--format",
            "json",
            "--plot",
            str(png),
        ],
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["maneuvers"]
    assert rows and set(rows[0]) == {
        "norad",
        "t_utc",
        "window_start_utc",
        "window_end_utc",
        "dv_mps",
        "direction",
        "kind",
        "confidence",
    }
    assert all(
        r["norad"] == 25544
        and r["window_start_utc"] <= r["t_utc"] <= r["window_end_utc"]
        and r["t_utc"] < "2023-07"
        for r in rows
    )
    assert png.stat().st_size > 10_000


def test_detect_from_the_store_matches_the_file(tmp_path):
    """`--norad` reads the stored history (every epoch kept): loading the ISS file into a store and
    scanning NORAD 25544 gives the same rows as scanning the file."""
    from kizuna.store import CatalogStore

    db = str(tmp_path / "k.db")
    store = CatalogStore(db)
    load_files(store, [ISS_2023])
    store.close()
    common = ["--start", "2023-03-01", "--stop", "2023-06-30", "--min-dv", "0.1", "--format", "json"]
    from_store = runner.invoke(app, ["maneuvers", "detect", "--norad", "25544", "--db", db, *common])
    from_file = runner.invoke(app, ["maneuvers", "detect", "--file", str(ISS_2023), *common])
    assert from_store.exit_code == 0 and from_file.exit_code == 0, from_store.output + from_file.output
    rows = json.loads(from_store.stdout)["maneuvers"]
    assert rows and rows == json.loads(from_file.stdout)["maneuvers"]
    missing = runner.invoke(app, ["maneuvers", "detect", "--norad", "99999", "--db", db, *common])
    assert missing.exit_code == 2 and missing.stdout == ""
    assert "no element sets stored for NORAD 99999" in " ".join(missing.output.split())


def test_detect_needs_exactly_one_source(tmp_path):
    res = runner.invoke(app, ["maneuvers", "detect"])
    assert res.exit_code == 2
    res = runner.invoke(app, ["maneuvers", "detect", "--file", str(tmp_path / "missing.tle")])
    assert res.exit_code == 2 and "no such file" in " ".join(res.output.split())


def test_evaluate_against_operator_log():
    tle = shared("maneuvers/shorten_tle_benchmark/processed_files/Sentinel-6A.tle")
    log = shared("maneuvers/shorten_tle_benchmark/raw_data/manoeuvres/s6aman.txt")
    res = runner.invoke(
        app, ["maneuvers", "evaluate", "--file", str(tle), "--truth", str(log), "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["norad"] == 46984 and d["tolerance_days"] == 1.5 and d["logged_events"] == 12
    assert {"precision", "recall", "f1"} <= set(d["detector"]) and "baseline_a_jump" in d
    assert (
        runner.invoke(
            app, ["maneuvers", "evaluate", "--file", str(tle), "--truth", str(log), "--tolerance-days", "3"]
        ).exit_code
        == 2
    )


def test_proximity_watch_on_bundled_catalog(tmp_path):
    from kizuna.store import CatalogStore

    db = str(tmp_path / "k.db")
    store = CatalogStore(db)
    load_files(store, sample_files())
    store.close()
    # QPS-SAR-9 (63205) meets COSMOS 2493 (39490) at ~0.5 km on 2026-06-10 ~14:19 UTC (SGP4).
    res = runner.invoke(
        app,
        [
            "proximity",
            "watch",
            "--assets",
            "63205",
            "--start",
            "2026-06-10T12:00:00",
            "--days",
            "0.5",
            "--range-km",
            "5",
            "--format",
            "json",
            "--db",
            db,
        ],
    )
    assert res.exit_code == 0, res.output
    alerts = json.loads(res.stdout)["alerts"]
    hit = [a for a in alerts if a["object"] == 39490]
    assert len(hit) == 1 and hit[0]["min_range_km"] < 1.0 and hit[0]["patterns"] == ["close-approach"]
    assert hit[0]["evidence"]["closest_per_revolution"]
    res = runner.invoke(
        app,
        [
            "proximity",
            "watch",
            "--assets",
            "owner:JPN",
            "--start",
            "2026-06-10T12:00:00",
            "--days",
            "0.25",
            "--range-km",
            "5",
            "--db",
            db,
        ],
    )
    assert res.exit_code == 0 and "proximity alerts" in res.stdout


def test_demo_runs_offline_on_bundled_data(tmp_path, monkeypatch):
    """The `make demo` part works without ../shared/data: bundled ISS 2023 slice and sample catalog."""
    from rich.console import Console

    from kizuna.demo import maneuvers as maneuver_demo
    from kizuna.store import CatalogStore

    monkeypatch.setattr(maneuver_demo, "_SHARED_ISS", tmp_path / "absent.tle")
    store = CatalogStore(str(tmp_path / "demo.db"))
    load_files(store, sample_files())
    console = Console(record=True, width=150)
    maneuver_demo.run_demo(store, tmp_path / "out", console)
    text = console.export_text()
    assert "iss_25544_2023.tle (bundled)" in text and "prograde (reboosts)" in text
    assert (tmp_path / "out" / "iss_maneuvers.png").stat().st_size > 10_000
    alert = json.loads((tmp_path / "out" / "proximity_alert.json").read_text())
    assert alert["product_type"] == "proximity_alert" and alert["min_range_km"] < 10.0
