"""`kizuna eo access` against references this project did not write, and the windows it shares with
`eo revisit`.

- A 1 s brute force written here: SGP4 and the Earth-fixed frame from Skyfield (its own TEME -> ITRS
  path), the target on the WGS-84 ellipsoid from Skyfield, incidence = angle between the target's
  ellipsoid normal and the line to the satellite (the definition in kizuna.eo.sensors), runs of
  in-window whole seconds as windows. Every window within 2 s at both edges, real QPS-SAR satellites
  (bundled sample), 5 targets, 2 days.
- NASA TAT-C 3.6 collect_observations with a field of regard of 60 deg (= our cone:30), and its
  min_access_time (= our --min-dwell-s): same windows within 2 s.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from tests.cli_harness import invoke
from tests.conftest import SAMPLE

START = datetime(2026, 6, 10, tzinfo=UTC)
POINTS = {
    "Tokyo": (35.68, 139.77),
    "Odesa": (46.4825, 30.7233),
    "Senkaku": (25.74, 123.47),
    "Equator": (0.0, 10.0),
    "Sydney": (-33.9, 151.2),
}
POINT_ARGS = [a for name, (lat, lon) in POINTS.items() for a in ("--point", f"{lat},{lon},{name}")]
TLE_FILE = SAMPLE / "leo_2026-06_sample.3le"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("eo") / "k.db"
    loaded = invoke(["-q", "catalog", "load", str(TLE_FILE), "--db", str(path)])
    assert loaded.exit_code == 0, loaded.output
    return str(path)


def _json(args: list[str]) -> dict:
    res = invoke(args)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def _access(db: str, *extra: str, days: str = "2", sensor: str = "sar:20-45:both") -> dict:
    return _json(
        ["eo", "access", "--constellation", "QPS-SAR", *POINT_ARGS, "--start", START.isoformat()]
        + ["--days", days, "--sensor", sensor, "-f", "json", "--db", db, *extra]
    )


def _qps_tle_lines() -> dict[str, tuple[str, str]]:
    """The QPS-SAR 3LE records of the bundled sample, read as plain text (no kizuna reader)."""
    lines = TLE_FILE.read_text().splitlines()
    return {
        lines[k][2:].strip(): (lines[k + 1], lines[k + 2])
        for k in range(len(lines) - 2)
        if lines[k].startswith("0 QPS-SAR")
    }


def _skyfield_time(times_utc: np.ndarray):  # type: ignore[no-untyped-def]
    from skyfield.api import load

    sec = (times_utc - np.datetime64("2026-01-01T00:00:00", "ns")).astype("int64") / 1e9
    return load.timescale(builtin=True).utc(2026, 1, 1, 0, 0, sec)


def _skyfield_states(tle: tuple[str, str], times_utc: np.ndarray, t=None) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """ITRS position [km] and velocity [km/s] at `times_utc` from Skyfield (SGP4, TEME -> ITRS).
    Pass the Skyfield Time `t` of those instants to reuse its Earth-orientation work."""
    from skyfield.api import EarthSatellite
    from skyfield.framelib import itrs

    t = _skyfield_time(times_utc) if t is None else t
    r_sat, v_sat = EarthSatellite(tle[0], tle[1], "", t.ts).at(t).frame_xyz_and_velocity(itrs)
    return r_sat.km.T, v_sat.km_per_s.T


def _skyfield_geometry(tle: tuple[str, str], times_utc: np.ndarray, lat: float, lon: float, states=None):  # type: ignore[no-untyped-def]
    """Incidence [deg], slant range [km], look side (right = v x r side) and northward motion at
    `times_utc`: Skyfield's states and the WGS-84 ellipsoid normal at the target."""
    from skyfield.api import wgs84

    r_sat, v_sat = states if states is not None else _skyfield_states(tle, times_utc)
    r_tgt = wgs84.latlon(lat, lon).itrs_xyz.km
    phi, lam = np.radians(lat), np.radians(lon)
    up = np.array([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
    los = r_sat - r_tgt
    rng = np.linalg.norm(los, axis=1)
    incidence = np.degrees(np.arccos(np.clip(los @ up / rng, -1, 1)))
    right = np.einsum("ij,ij->i", -los, np.cross(v_sat, r_sat)) > 0
    return incidence, rng, right, v_sat[:, 2] > 0


def test_windows_match_a_1s_skyfield_brute_force_over_two_days(db):
    """Every window of every (satellite, target) within 2 s of the brute force at both edges; the
    geometry listed per window (incidence at start/mid/end, slant range, side, direction) agrees
    with Skyfield evaluated at the listed instants."""
    doc = _access(db)
    windows = doc["windows"]
    assert doc["parameters"]["points"] == 5 and len(windows) > 150
    tles = _qps_tle_lines()
    assert len(tles) == doc["parameters"]["satellites"] == 9
    grid = np.datetime64("2026-06-10T00:00:00", "ns") + np.arange(2 * 86400 + 1) * np.timedelta64(1, "s")
    matched = unmatched_short = 0
    t_grid = _skyfield_time(grid)  # precession, nutation and sidereal time once for every satellite
    for sat_name, tle in tles.items():
        states = _skyfield_states(tle, grid, t_grid)
        for target, (lat, lon) in POINTS.items():
            inc, _, _, _ = _skyfield_geometry(tle, grid, lat, lon, states)
            inside = (inc >= 20.0) & (inc <= 45.0)
            d = np.diff(np.r_[0, inside.astype(int), 0])
            s_ref, e_ref = np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1
            mine = [w for w in windows if w["satellite"] == sat_name and w["target"] == target]
            t0 = np.datetime64("2026-06-10T00:00:00", "ms")
            s = np.array([(np.datetime64(w["start_utc"][:-1]) - t0) / np.timedelta64(1, "s") for w in mine])
            e = np.array([(np.datetime64(w["stop_utc"][:-1]) - t0) / np.timedelta64(1, "s") for w in mine])
            used = np.zeros(len(mine), bool)
            for a, b in zip(s_ref, e_ref, strict=True):
                k = np.flatnonzero((np.abs(s - a) <= 2.0) & (np.abs(e - b) <= 2.0))
                if len(k) == 1:
                    used[k] = True
                    matched += 1
                else:
                    # Only a graze shorter than 2 s may fall between the whole seconds differently.
                    assert b - a < 2, (sat_name, target, a, b, s, e)
                    unmatched_short += 1
            for k in np.flatnonzero(~used):
                assert e[k] - s[k] < 2.0, (sat_name, target, s[k], e[k], s_ref, e_ref)
                unmatched_short += 1
            if not mine:
                continue
            # The listed geometry, re-derived at the listed instants.
            when = {
                key: np.array([np.datetime64(w[key][:-1], "ns") for w in mine])
                for key in ("start_utc", "stop_utc")
            }
            mid = when["start_utc"] + (when["stop_utc"] - when["start_utc"]) // 2
            inc_s = _skyfield_geometry(tle, when["start_utc"], lat, lon)[0]
            inc_e = _skyfield_geometry(tle, when["stop_utc"], lat, lon)[0]
            inc_m, rng_m, right_m, north_m = _skyfield_geometry(tle, mid, lat, lon)
            # 0.02 deg: the listed times are rounded to 1 ms (incidence changes < 0.5 deg/s).
            assert np.allclose([w["incidence_start_deg"] for w in mine], inc_s, atol=0.02)
            assert np.allclose([w["incidence_end_deg"] for w in mine], inc_e, atol=0.02)
            assert np.allclose([w["incidence_mid_deg"] for w in mine], inc_m, atol=0.02)
            assert np.allclose([w["slant_range_mid_km"] for w in mine], rng_m, atol=0.05)
            assert [w["look_side"] for w in mine] == ["right" if r else "left" for r in right_m]
            assert [w["pass_direction"] for w in mine] == [
                "ascending" if n else "descending" for n in north_m
            ]
    assert matched == len(windows) - unmatched_short >= 150
    assert unmatched_short <= 2


def _tatc_windows(points: dict[str, tuple[float, float]], days: float, min_access_s: float):  # type: ignore[no-untyped-def]
    tatc = pytest.importorskip("tatc")
    from tatc.analysis import collect_observations
    from tatc.schemas import Instrument, Point, Satellite, TwoLineElements

    assert tatc.__version__.startswith("3.6")
    tles = _qps_tle_lines()
    sats = [
        Satellite(
            name=name,
            orbit=TwoLineElements(tle=list(tle)),
            instruments=[
                Instrument(name="cone", field_of_regard=60.0, min_access_time=timedelta(seconds=min_access_s))
            ],
        )
        for name, tle in tles.items()
    ]
    pts = [Point(id=j, latitude=lat, longitude=lon) for j, (lat, lon) in enumerate(points.values())]
    obs = collect_observations(pts, sats, START, START + timedelta(days=days))
    names = list(points)
    lonlat = np.array([(g.x, g.y) for g in obs.geometry])
    ref_lon = np.array([p[1] for p in points.values()])
    ref_lat = np.array([p[0] for p in points.values()])
    j = np.argmin(np.abs(lonlat[:, None, 0] - ref_lon) + np.abs(lonlat[:, None, 1] - ref_lat), axis=1)
    start = obs.start.dt.tz_convert(None).to_numpy().astype("datetime64[ms]")
    end = obs.end.dt.tz_convert(None).to_numpy().astype("datetime64[ms]")
    return [(str(sat), names[jj], s, e) for sat, jj, s, e in zip(obs.satellite, j, start, end, strict=True)]


@pytest.mark.parametrize("min_dwell_s", [0.0, 60.0])
def test_cone_windows_match_nasa_tatc_through_eo_access(db, min_dwell_s):
    """Field of regard 60 deg (geodetic nadir, TAT-C's default) = cone:30; TAT-C's min_access_time
    drops accesses shorter than it, as --min-dwell-s does."""
    ref = _tatc_windows(POINTS, 1.0, min_dwell_s)
    doc = _access(db, "--min-dwell-s", f"{min_dwell_s:g}", days="1", sensor="cone:30")
    mine = doc["windows"]
    # A window within 10 ms of the dwell limit may fall on either side of it in either program.
    close = [w for w in mine if abs(w["duration_s"] - min_dwell_s) < 0.01]
    assert not close
    assert len(ref) == len(mine) >= 20
    if min_dwell_s:
        assert doc["parameters"]["windows_shorter_than_min_dwell"] > 0
        assert min(w["duration_s"] for w in mine) >= min_dwell_s
    for sat, target, s, e in ref:
        k = [
            w
            for w in mine
            if w["satellite"] == sat
            and w["target"] == target
            and abs((np.datetime64(w["start_utc"][:-1]) - s) / np.timedelta64(1, "s")) <= 2.0
        ]
        assert len(k) == 1, (sat, target, s)
        assert abs((np.datetime64(k[0]["stop_utc"][:-1]) - e) / np.timedelta64(1, "s")) <= 2.0


def test_revisit_without_merging_matches_tatc_aggregate(db):
    """With --merge-gap-s 0 a revisit is TAT-C's aggregated observation (overlapping accesses of all
    satellites merged): the same count per target, and the same mean revisit within 2 s."""
    pytest.importorskip("tatc")
    import pandas as pd
    from tatc.analysis import aggregate_observations, collect_observations, reduce_observations
    from tatc.schemas import Instrument, Point, Satellite, TwoLineElements

    tles = _qps_tle_lines()
    sats = [
        Satellite(
            name=name,
            orbit=TwoLineElements(tle=list(tle)),
            instruments=[Instrument(name="cone", field_of_regard=60.0)],
        )
        for name, tle in tles.items()
    ]
    pts = [Point(id=j, latitude=lat, longitude=lon) for j, (lat, lon) in enumerate(POINTS.values())]
    reduced = reduce_observations(
        aggregate_observations(collect_observations(pts, sats, START, START + timedelta(days=2)))
    )
    doc = _json(
        ["eo", "revisit", "--constellation", "QPS-SAR", *POINT_ARGS, "--start", START.isoformat()]
        + [
            "--days",
            "2",
            "--sensor",
            "cone:30",
            "--merge-gap-s",
            "0",
            "--per-point",
            "-f",
            "json",
            "--db",
            db,
        ]
    )
    mine = {p["name"]: p for p in doc["points"]}
    for _, row in reduced.iterrows():
        name = min(
            POINTS, key=lambda n: abs(POINTS[n][1] - row.geometry.x) + abs(POINTS[n][0] - row.geometry.y)
        )
        assert mine[name]["revisits"] == row.samples
        assert abs(mine[name]["mean_revisit_s"] - pd.Timedelta(row.revisit).total_seconds()) < 2.0
    assert len(reduced) == sum(p["seen"] for p in mine.values()) >= 4


# ---------------------------------------------------------------- the findings of the issue, by hand
TOKYO = ["--point", "35.68,139.77,Tokyo"]
ISSUE_WINDOW = ["--start", "2026-06-10T00:00:00Z", "--days", "2", "--sensor", "sar:20-45:both"]


def test_tokyo_split_passes_and_back_to_back_satellites_merge(db):
    """QPS-SAR over Tokyo, 2026-06-10 + 2 d, SAR 20-45 deg: 53 windows, 52 once overlaps are merged
    and 51 gaps between them with a mean of 52.2 min, of which 14 are under 5 min (split passes and
    satellites minutes apart). Merged at 300 s: 38 revisits, mean revisit 71.6 min."""
    base = ["eo", "revisit", "--constellation", "QPS-SAR", *TOKYO, *ISSUE_WINDOW, "-f", "json", "--db", db]
    raw = _json([*base, "--merge-gap-s", "0"])["areas"][0]
    assert (raw["accesses"], raw["revisits"]) == (53, 52)
    assert round(raw["mean_revisit_s"] / 60, 1) == 52.2
    doc = _json(base)
    merged = doc["areas"][0]
    assert doc["parameters"]["merge_gap_s"] == 300.0 and "300 s apart merged" in doc["definition"]
    assert (merged["accesses"], merged["revisits"]) == (53, 52 - 14)
    assert round(merged["mean_revisit_s"] / 60, 1) == 71.6
    # The listing shows which windows are one revisit: numbers 1..38 in time order.
    listed = _json(
        ["eo", "access", "--constellation", "QPS-SAR", *TOKYO, *ISSUE_WINDOW, "-f", "json", "--db", db]
    )
    numbers = [w["revisit"] for w in listed["windows"]]
    assert len(numbers) == 53 and numbers == sorted(numbers) and max(numbers) == 38
    # Hand check of one split pass: QPS-SAR-12 at 04:40 and 04:41 UTC, each leg 45 -> 20 / 20 -> 45 deg.
    split = [w for w in listed["windows"] if w["start_utc"].startswith("2026-06-10T04:4")]
    assert [w["satellite"] for w in split] == ["QPS-SAR-12 KUSHINADA-I"] * 2
    assert split[0]["revisit"] == split[1]["revisit"]
    assert round(split[0]["incidence_end_deg"]) == round(split[1]["incidence_start_deg"]) == 20


def test_a_never_seen_target_is_unseen_in_every_row(db):
    """Kyiv is never seen by QPS-SAR in 2026-06-10 + 2 d: its own row, its area and the all-targets
    row say so; the area-wide max gap is the whole 48 h (it was Odesa's 14.2 h) and the per-point
    coverage of Kyiv is 0 (it was 100)."""
    args = ["eo", "revisit", "--constellation", "QPS-SAR", "--point", "50.4501,30.5234,Kyiv"]
    args += ["--point", "46.4825,30.7233,Odesa", "--start", "2026-06-10", "--days", "2", "--db", db]
    doc = _json([*args, "--per-point", "-f", "json"])
    kyiv = [r for r in doc["areas"] + doc["points"] if r["name"] == "Kyiv"]
    assert len(kyiv) == 2
    for r in kyiv:
        assert not r["seen"] and r["revisits"] == 0 and r["unseen_points"] == 1
        assert r["coverage_area_pct"] == 0.0 and r["fresh_time_pct"] == 0.0 and r["max_gap_s"] == 172800.0
        assert r["mean_revisit_s"] is None and r["time_to_first_access_s"] is None
    total = doc["all_points"]
    assert (
        total["unseen_points"] == 1 and total["max_gap_s"] == 172800.0 and total["coverage_area_pct"] == 50.0
    )
    assert doc["unseen_targets"] == ["Kyiv"]
    res = invoke([*args, "--per-point"])
    assert res.exit_code == 0 and "1 of 2 targets never seen in the period: Kyiv" in res.stderr
    kyiv_lines = [ln for ln in res.stdout.splitlines() if ln.startswith("Kyiv")]
    assert len(kyiv_lines) == 4 and all("unseen" in ln for ln in kyiv_lines)
    total_line = next(
        ln for ln in res.stdout.splitlines() if ln.startswith("all targets") and "48.00 h" in ln
    )
    assert total_line.split()[3] == "1"  # the unseen column
    csv_rows = invoke([*args, "-f", "csv"]).stdout.splitlines()
    assert csv_rows[0].startswith("name,points,unseen_points,") and csv_rows[1].startswith("Kyiv,1,1,0,0,")
    listed = _json(["eo", "access", *args[2:], "-f", "json"])
    assert listed["targets_without_access"] == ["Kyiv"]
    assert "Kyiv: unseen, no access in the period" in invoke(["eo", "access", *args[2:]]).stdout


def test_saved_design_without_epoch_gives_the_same_accesses_as_inline(db, tmp_path):
    """`eo save` without --epoch used to fix the epoch at 2026-06-11: the same design then gave other
    windows than written inline with another --start (Odesa: 32 against 28 accesses)."""
    design = "walker:12/3/1:575:42"
    saved = invoke(["eo", "save", "w12", "--design", design, "--db", db])
    assert saved.exit_code == 0 and "epoch the start of each analysis" in saved.stdout
    pinned = invoke(["eo", "save", "w12-pinned", "--design", design, "--epoch", "2026-06-11", "--db", db])
    assert pinned.exit_code == 0 and "epoch 2026-06-11T00:00:00Z" in pinned.stdout
    common = [
        "--point",
        "46.4825,30.7233,Odesa",
        "--start",
        "2026-06-10",
        "--days",
        "2",
        "-f",
        "json",
        "--db",
        db,
    ]
    inline = _json(["eo", "access", "--constellation", design, *common])["windows"]
    named = _json(["eo", "access", "--constellation", "w12", *common])["windows"]
    assert len(inline) > 10 and named == inline
    other = _json(["eo", "access", "--constellation", "w12-pinned", *common])["windows"]
    assert other != inline  # an explicit epoch is kept
    later = [
        "--point",
        "46.4825,30.7233,Odesa",
        "--start",
        "2026-06-20",
        "--days",
        "1",
        "-f",
        "json",
        "--db",
        db,
    ]
    assert (
        _json(["eo", "access", "--constellation", "w12", *later])["windows"]
        == _json(["eo", "access", "--constellation", design, *later])["windows"]
    )


def test_geojson_has_one_point_feature_per_window_at_the_target(db):
    res = invoke(
        ["eo", "access", "--constellation", "QPS-SAR", *TOKYO, "--start", "2026-06-10", "--days", "0.5"]
        + ["-f", "geojson", "--db", db]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    feats = doc["features"]
    assert doc["type"] == "FeatureCollection" and len(feats) > 5
    assert all(f["geometry"] == {"type": "Point", "coordinates": [139.77, 35.68]} for f in feats)
    assert {"satellite", "norad_id", "start_utc", "incidence_mid_deg", "look_side"} <= set(
        feats[0]["properties"]
    )
    from kizuna.eo.aoi import parse_geojson

    assert len(parse_geojson(res.stdout, "out.geojson")) == len(feats)  # our own reader takes it back


def test_tables_are_readable_at_80_columns(db):
    """At an 80-column terminal every line fits, nothing is cut, and each window is one line."""
    from rich.console import Console

    from kizuna.plots.tables import access_tables, revisit_table

    listed = _access(db, days="1")
    rows = listed["windows"]
    console = Console(width=80, record=True, force_terminal=True)
    console.print(access_tables(rows, list(POINTS), "title", caption=listed["definition"]))
    text = console.export_text()
    lines = text.splitlines()
    assert max(len(ln) for ln in lines) <= 80 and "…" not in text
    for w in rows:
        hits = [ln for ln in lines if w["start_utc"][5:19].replace("T", " ") in ln]
        assert any(w["satellite"] in ln and f"{w['duration_s']:.1f}" in ln for ln in hits), w
    from kizuna.eo.revisit import RevisitStats

    doc = _json(
        ["eo", "revisit", "--constellation", "QPS-SAR", *POINT_ARGS, "--start", "2026-06-10", "--days", "1"]
        + ["--per-point", "-f", "json", "--db", db]
    )
    stats = [
        RevisitStats(**{k: (float("nan") if v is None else v) for k, v in r.items() if k != "seen"})
        for r in doc["areas"] + [doc["all_points"]]
    ]
    console = Console(width=80, record=True, force_terminal=True)
    console.print(revisit_table(stats, "QPS-SAR (9 sats), sar:15-45:both, 2026-06-10T00:00:00Z + 1 d"))
    text = console.export_text()
    assert max(len(ln) for ln in text.splitlines()) <= 80 and "…" not in text
    assert sum(ln.startswith("Sydney") for ln in text.splitlines()) == 2  # one line in each table


def test_points_and_aoi_together_and_their_names(db, tmp_path: Path):
    aoi = tmp_path / "a.geojson"
    aoi.write_text(
        json.dumps(
            {
                "type": "Feature",
                "properties": {"name": "Osaka"},
                "geometry": {"type": "Point", "coordinates": [135.5, 34.7]},
            }
        )
    )
    doc = _json(
        ["eo", "revisit", "--constellation", "QPS-SAR", "--aoi", str(aoi), "--point", "35.68,139.77"]
        + ["--start", "2026-06-10", "--days", "0.5", "-f", "json", "--db", db]
    )
    assert [a["name"] for a in doc["areas"]] == ["Osaka", "35.68,139.77"]
