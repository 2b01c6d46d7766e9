"""AIS store (SQLite and PostgreSQL) and the maritime CLI end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
from pyais import encode_dict
from typer.testing import CliRunner

from kizuna.cli import app
from kizuna.store.ais_store import AisStore

runner = CliRunner()
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _tag(t: datetime, station: str = "rTEST") -> str:
    body = f"s:{station},c:{int(t.timestamp())}"
    c = 0
    for ch in body.encode():
        c ^= ch
    return f"\\{body}*{c:02X}\\"


def _meeting_nmea(stay_min: int) -> str:
    """Two ships, the second 300 m north of the first for ``stay_min`` minutes, encoded by pyais with
    NMEA 4.0 tag-block times; approach and departure at 10 kn."""
    lines = []
    for m in range(-60, stay_min + 61, 5):
        t = T0 + timedelta(minutes=m)
        east_deg = 0.5 * 1852 / 3600 * m * 60 / (111_195 * np.cos(np.radians(30)))
        off = -m if m < 0 else (m - stay_min if m > stay_min else 0)
        north_m = 300.0 + off * 10 * 1852 / 60
        for mmsi, lat, sog in (
            (111111111, 30.0, 0.5),
            (222222222, 30.0 + north_m / 111_195, 10.0 if off else 0.5),
        ):
            for s in encode_dict(
                {"type": 1, "mmsi": mmsi, "lat": lat, "lon": 140.0 + east_deg, "speed": sog, "course": 90.0},
                talker_id="AI",
                sentence_type="VDM",
            ):
                lines.append(_tag(t) + s)
    return "\n".join(lines) + "\n"


def test_store_roundtrip_dedup_and_static(store, tmp_path):
    path = tmp_path / "m.nmea"
    path.write_text(_meeting_nmea(180) + "!AIVDM,1,1,,B,15NBj>PP1gG>1PVKTDTUJOv00<0M,0*08\n")
    ais = AisStore(store)
    s1 = ais.load_file(path, chunk_lines=13)
    assert s1.positions_loaded == 2 * len(range(-60, 241, 5)) and len(s1.issues) == 1
    assert s1.issues[0].line == s1.positions_loaded + 1 and s1.issues[0].field == "checksum"
    s2 = ais.load_file(path)
    assert s2.positions_loaded == 0 and s2.positions_duplicate == s1.positions_loaded
    pos = ais.positions(bbox=(139.0, 29.0, 141.0, 31.0), start=T0, stop=T0 + timedelta(hours=1))
    assert set(pos.mmsi.tolist()) == {111111111, 222222222} and len(pos) == 2 * 13
    assert pos.time_utc.min() == np.datetime64("2026-03-01T00:00:00", "ns")


def test_cli_load_events_and_map(tmp_path):
    db = str(tmp_path / "c.db")
    f = tmp_path / "meet.nmea"
    f.write_text(_meeting_nmea(180))
    r = runner.invoke(app, ["ais", "load", str(f), "--db", db])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["positions_loaded"] > 0
    png = tmp_path / "map.png"
    r = runner.invoke(
        app,
        [
            "ais",
            "events",
            "--type",
            "encounter",
            "--bbox",
            "139,29,141,31",
            "--db",
            db,
            "--format",
            "json",
            "--map",
            str(png),
        ],
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [(e["type"], e["start_utc"], e["end_utc"]) for e in doc["events"]] == [
        ("encounter", "2026-03-01T00:00:00.000Z", "2026-03-01T03:00:00.000Z")
    ]
    assert "500 m" in doc["definitions"][0]
    assert png.stat().st_size > 10_000
    r = runner.invoke(app, ["ais", "events", "--db", db, "--format", "geojson"])
    assert r.exit_code == 0 and json.loads(r.stdout)["type"] == "FeatureCollection"
    r = runner.invoke(app, ["ais", "events", "--db", db, "--bbox", "1,2,3"])
    assert r.exit_code == 2


def test_cli_sar_detect_and_dark(tmp_path):
    tif = tmp_path / "scene.tif"
    r = runner.invoke(app, ["sar", "scene", str(tif), "--size", "512", "--ships", "6", "--seed", "3"])
    assert r.exit_code == 0, r.output
    truth = json.loads(r.stdout)["ships"]
    dets = tmp_path / "dets.geojson"
    r = runner.invoke(
        app,
        [
            "sar",
            "detect",
            str(tif),
            "--format",
            "json",
            "--output",
            str(dets),
            "--map",
            str(tmp_path / "sar.png"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert len(json.loads(dets.read_text())["features"]) == len(truth)
    # AIS for the first three ships, reported at the image time
    lines = []
    t = datetime(2026, 6, 1, 1, 30, tzinfo=UTC)
    for k, s in enumerate(truth[:3]):
        for sent in encode_dict(
            {
                "type": 1,
                "mmsi": 431000000 + k,
                "lat": s["lat_deg"],
                "lon": s["lon_deg"],
                "speed": 0.0,
                "course": 0.0,
            },
            talker_id="AI",
            sentence_type="VDM",
        ):
            lines.append(_tag(t) + sent)
    ais = tmp_path / "ais.nmea"
    ais.write_text("\n".join(lines) + "\n")
    r = runner.invoke(
        app,
        [
            "dark",
            "--detections",
            str(dets),
            "--ais",
            str(ais),
            "--time",
            "2026-06-01T01:30:00Z",
            "--format",
            "json",
        ],
    )
    assert r.exit_code == 0, r.output
    prod = json.loads(r.stdout)
    assert prod["counts"]["matched"] == 3 and prod["counts"]["dark_candidates"] == len(truth) - 3
    r = runner.invoke(app, ["sar", "detect", str(tmp_path / "missing.tif")])
    assert r.exit_code == 2


def test_demo_runs_offline_and_finds_the_planted_dark_ships(tmp_path):
    from rich.console import Console

    from kizuna.demo import maritime as demo
    from kizuna.maritime.tracks import haversine_m
    from kizuna.store import CatalogStore

    store = CatalogStore(str(tmp_path / "demo.db"))
    demo.run_demo(store, tmp_path, Console(file=open(tmp_path / "log.txt", "w"), width=120))  # noqa: SIM115
    prod = json.loads((tmp_path / "maritime_dark_product.json").read_text())
    assert (tmp_path / "maritime_map.png").stat().st_size > 50_000
    assert prod["synthetic_image"] is True
    truth = json.loads((tmp_path / "maritime_synthetic_truth.json").read_text())["ships"]
    planted = [(x["lat_deg"], x["lon_deg"]) for x in truth if x["mmsi"] is None]
    assert len(planted) == 6 and prod["counts"]["ais_in_footprint"] == len(truth) - 6
    cands = prod["dark_candidates"]
    for lat, lon in planted:
        assert min(haversine_m(lat, lon, c["lat_deg"], c["lon_deg"]) for c in cands) < 100.0
    store.close()
