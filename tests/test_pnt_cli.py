"""`kizuna pnt`: what works, works in full (hostile values are in test_cli_hostile_catalog_sda_eo.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from tests.cli_harness import complete_numbers, invoke

from kizuna.formats.detect import read_path
from kizuna.orbit.timescale import time_grid
from kizuna.pnt import SYSTEMS, ElevationMask, Receivers, catalog_positions, evaluate_dop

DATA = Path(str(resources.files("kizuna") / "data" / "pnt"))
TOKYO = ["--point", "35.6812,139.7671"]
DAY = ["--start", "2026-07-10T00:00:00Z", "--hours", "24", "--step-s", "600"]


def _json(args: list[str]) -> dict:
    result = invoke(args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_point_series_is_the_library_result() -> None:
    doc = _json(["pnt", "dop", *TOKYO, *DAY, "--constellations", "gps,qzss", "--mask", "15", "-f", "json"])
    times = time_grid("2026-07-10T00:00:00Z", "2026-07-11T00:00:00Z", 600.0)
    sats = catalog_positions(read_path(DATA / "gnss_2026-07.csv").records, ["gps", "qzss"], times)
    ref = evaluate_dop(Receivers.at(35.6812, 139.7671), sats, ElevationMask(15.0))
    assert doc["shown"] == doc["total"] == len(times) == 145
    assert [r["pdop"] for r in doc["times"]] == pytest.approx(ref.pdop[0].tolist(), rel=1e-12)
    assert [r["satellites"] for r in doc["times"]] == ref.n_visible[0].tolist()
    p = doc["parameters"]
    assert p["satellites"] == {"G": 38, "J": 5} and p["mask"] == "15 deg" and p["times"] == 145
    assert doc["times"][0]["time_utc"] == "2026-07-10T00:00:00.000Z"


def test_point_time_series_plot(tmp_path: Path) -> None:
    png = tmp_path / "tokyo.png"
    result = invoke(["pnt", "dop", *TOKYO, *DAY, "--png", str(png), "-f", "csv"])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.stdout.splitlines()[0] == "time_utc,satellites,gdop,pdop,hdop,vdop,tdop"
    assert len(result.stdout.splitlines()) == 1 + 145


def test_tables_fit_80_columns_when_piped(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"), "COLUMNS": "80"}
    for args in (
        ["pnt", "dop", *TOKYO, *DAY],
        ["pnt", "availability", "--region", "taiwan", "--grid-deg", "1", *DAY],
        ["pnt", "scenarios", *TOKYO, *DAY, "--mask", "30"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "kizuna", "-q", *args], capture_output=True, env=env, timeout=300
        )
        assert done.returncode == 0, done.stderr.decode()
        text = done.stdout.decode()
        complete_numbers(text)
        assert max(len(line) for line in text.splitlines()) <= 80, (args, text)


def test_region_map_writes_png_and_geojson_cells(tmp_path: Path) -> None:
    png, geojson = tmp_path / "taiwan.png", tmp_path / "taiwan.geojson"
    doc = _json(
        ["pnt", "availability", "--region", "taiwan", "--grid-deg", "0.5", *DAY, "--mask", "20"]
        + ["--png", str(png), "--geojson", str(geojson), "-f", "json", "--max-pdop", "3"]
    )
    cells = json.loads(geojson.read_text())
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cells["type"] == "FeatureCollection" and len(cells["features"]) == doc["total"] == 8 * 9
    first = cells["features"][0]
    assert first["geometry"]["type"] == "Polygon"
    ring = np.array(first["geometry"]["coordinates"][0])
    assert ring[:, 0].min() == pytest.approx(118.5) and ring[:, 1].min() == pytest.approx(21.5)
    assert first["properties"]["availability_pct"] == pytest.approx(doc["points"][0]["availability_pct"])
    assert cells["parameters"]["max_pdop"] == 3.0
    assert all(0.0 <= p["availability_pct"] <= 100.0 for p in doc["points"])
    # refused on a second run without --force: nothing is overwritten silently
    again = invoke(["pnt", "availability", "--region", "taiwan", *DAY, "--geojson", str(geojson)])
    assert again.exit_code == 2 and "exists" in again.stderr


def test_scenarios_show_the_qzss_zenith_advantage_and_gps_denial() -> None:
    doc = _json(["pnt", "scenarios", *TOKYO, *DAY, "--mask", "30", "-f", "json"])
    rows = {r["scenario"]: r for r in doc["scenarios"]}
    assert set(rows) == {
        "all",
        "no QZSS",
        "no NavIC",
        "no QZSS/NavIC",
        "GPS denied",
        "GPS only",
        "GPS + QZSS",
    }
    assert rows["all"]["mean_above_60_deg"] - rows["no QZSS"]["mean_above_60_deg"] > 1.0
    assert rows["GPS + QZSS"]["mean_above_60_deg"] > rows["GPS only"]["mean_above_60_deg"] + 1.0
    assert rows["GPS + QZSS"]["availability_pct"] > rows["GPS only"]["availability_pct"]
    assert rows["GPS denied"]["systems"] == "REC" + "JI" and rows["GPS denied"]["availability_pct"] == 100.0


def test_horizon_mask_file_and_broadcast_orbits(tmp_path: Path) -> None:
    canyon = tmp_path / "canyon.csv"
    canyon.write_text("# north-south street\n0,15\n60,70\n120,70\n180,15\n240,70\n300,70\n")
    open_sky = _json(["pnt", "dop", *TOKYO, *DAY, "--mask", "15", "-f", "json"])
    street = _json(["pnt", "dop", *TOKYO, *DAY, "--mask", str(canyon), "-f", "json"])
    assert street["parameters"]["mask"].startswith(f"horizon {canyon}")
    assert sum(r["satellites"] for r in street["times"]) < 0.6 * sum(
        r["satellites"] for r in open_sky["times"]
    )
    nav = _json(
        ["pnt", "dop", "--point", "24.8,121.0", "--start", "2021-04-28T18:00:00Z", "--hours", "5"]
        + ["--nav", str(DATA / "brdc1180.21n"), "--constellations", "gps", "-f", "json"]
    )
    assert nav["parameters"]["satellites"] == {"G": 32}
    assert all(r["pdop"] is not None and r["pdop"] < 4 for r in nav["times"])


def test_elements_far_from_the_period_are_warned_about() -> None:
    result = invoke(["pnt", "dop", *TOKYO, "--start", "2026-10-01T00:00:00Z", "--hours", "1", "-f", "csv"])
    assert result.exit_code == 0 and "more than 14 days" in result.stderr


def test_every_system_key_is_documented_in_the_option_help() -> None:
    result = invoke(["pnt", "dop", "--help"])
    for key in SYSTEMS:
        assert key in result.stdout


def test_compare_output_when_a_generous_gate_matches_other_days() -> None:
    """Real same-day accuracy is tested against SP3 (test_pnt_broadcast.py); here the command's
    output: with a 10,000 km gate the 2026 catalog 'matches' 2021 broadcast orbits, one row each."""
    args = ["pnt", "compare", "--nav", str(DATA / "brdc1180.21n"), "--start", "2021-04-28T18:00:00Z"]
    doc = _json([*args, "--max-match-km", "10000", "--constellations", "gps", "-f", "json"])
    assert doc["total"] == doc["parameters"]["matched"] == len(doc["satellites"]) > 0
    row = doc["satellites"][0]
    assert row["name"].startswith("NAVSTAR") and row["matched"].startswith("G")
    assert row["rms_km"] > 100.0  # years apart: nothing like the same satellite
    strict = invoke(args)
    assert strict.exit_code == 2 and "same days" in strict.stderr
