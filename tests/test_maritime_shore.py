"""Default shore model (GLOBE 30" land mask from global-land-mask) and the shore conditions of the events.

References: the package's own ``global_land_mask.globe.is_land`` (lookup), a brute-force scan of
that package's mask (distance), the published position of Jarvis Island, and known geography.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from kizuna.maritime.events import detect_events, detect_gaps, detect_loitering, detect_spoofing
from kizuna.maritime.shore import STEP_DEG, GlobalLandMask, default_shore
from kizuna.maritime.tracks import clean_tracks, haversine_m
from kizuna.model.constants import METERS_PER_NM
from kizuna.model.maritime import PositionArrays

T0 = np.datetime64("2026-03-01T00:00:00", "ns")
LANDES = (44.0, -1.62)  # ~20 km off the straight Atlantic coast of the Landes, France
OPEN_BISCAY = (46.0, -6.0)  # > 200 km from Brittany and from the Spanish coast


@pytest.fixture(scope="module")
def globe():
    """The package's own lookup: loading it holds its 933 MB mask, so only this module does."""
    from global_land_mask import globe as g

    return g


def _track(mmsi, minutes, lat, lon, sog) -> PositionArrays:  # type: ignore[no-untyped-def]
    n = len(minutes)
    return PositionArrays(
        np.full(n, mmsi),
        T0 + (np.asarray(minutes) * 60e9).astype("timedelta64[ns]"),
        np.broadcast_to(np.asarray(lat, float), n).copy(),
        np.broadcast_to(np.asarray(lon, float), n).copy(),
        np.broadcast_to(np.asarray(sog, float), n).copy(),
        np.full(n, 90.0),
        np.full(n, np.nan),
    )


def test_is_land_agrees_with_the_package_lookup(globe):
    rng = np.random.default_rng(7)
    lat = rng.uniform(-89.9, 89.9, 20_000)
    lon = rng.uniform(-179.9, 179.9, 20_000)
    # plus points crowded around coasts, where a one-cell indexing slip would show
    lat = np.r_[lat, 35.0 + rng.uniform(-1, 1, 5000), 44.0 + rng.uniform(-0.2, 0.2, 5000)]
    lon = np.r_[lon, 139.8 + rng.uniform(-1, 1, 5000), -1.3 + rng.uniform(-0.2, 0.2, 5000)]
    ours = default_shore().is_land(lat, lon)
    theirs = globe.is_land(lat, lon)
    assert np.array_equal(ours, theirs)  # exact: same cells
    assert 0.2 < ours[:20_000].mean() < 0.4  # ~29 % of the Earth is land (Antarctica included)


def test_hand_checkable_points():
    m = default_shore()
    assert m.is_land(35.68, 139.76)  # Tokyo Station
    assert not m.is_land(0.0, -140.0)
    assert m.distance_to_shore_km(0.0, -140.0) == np.inf  # central Pacific: beyond the 200 km cap
    assert GlobalLandMask(max_distance_km=100).distance_to_shore_km(0.0, -140.0) == np.inf
    # (0 N, 160 W) is NOT > 100 km from land: Jarvis Island lies 41.6 km south (published centre
    # 0 deg 22' 25" S, 160 deg 01' 17" W; ~3.5 x 2 km). Tolerance 2.5 km = island half-length + half a cell.
    assert not m.is_land(0.0, -160.0)
    to_jarvis_km = haversine_m(0.0, -160.0, -(22 / 60 + 25 / 3600), -(160 + 1 / 60 + 17 / 3600)) / 1000
    assert abs(m.distance_to_shore_km(0.0, -160.0) - to_jarvis_km) < 2.5
    assert m.distance_to_shore_km(35.68, 139.76) == 0.0
    assert m.distance_inland_m(36.5, 139.5) / 1000 > 50  # inner Honshu (Gunma)
    assert m.distance_inland_m(0.0, -140.0) == 0.0
    # the antimeridian is no edge
    assert m.distance_to_shore_km(-16.7, 180.0) == pytest.approx(
        m.distance_to_shore_km(-16.7, -180.0), abs=1e-9
    )
    d = m.distance_to_shore_km(np.array([np.nan, 44.0]), np.array([0.0, -1.62]))
    assert np.isnan(d[0]) and np.isfinite(d[1])


def _brute_force_km(globe, lat: float, lon: float, half_deg: float = 1.5) -> float:
    """Min haversine distance to every land cell centre of the package's mask in a window."""
    rows = np.arange(np.floor((90 - lat - half_deg) / STEP_DEG), np.ceil((90 - lat + half_deg) / STEP_DEG))
    wlon = half_deg / np.cos(np.radians(lat))
    cols = np.arange(np.floor((lon + 180 - wlon) / STEP_DEG), np.ceil((lon + 180 + wlon) / STEP_DEG))
    clat = 90 - (rows + 0.5) * STEP_DEG
    clon = -180 + (cols + 0.5) * STEP_DEG
    glat, glon = np.meshgrid(clat, clon, indexing="ij")
    land = globe.is_land(glat, glon)
    return float(haversine_m(lat, lon, glat[land], glon[land]).min()) / 1000 if land.any() else np.inf


def test_distance_matches_brute_force_scan_of_the_mask(globe):
    m = default_shore()
    d = float(m.distance_to_shore_km(*LANDES))
    assert 17 < d < 23  # the Landes coast runs N-S at about 1.37 W at 44 N
    assert abs(d - _brute_force_km(globe, *LANDES)) < 1.5  # brief's tolerance; both use cell centres
    rng = np.random.default_rng(3)
    lat = 34.0 + rng.uniform(-1, 1, 12)  # around the Kii peninsula / Shikoku, Japan: complex coast
    lon = 135.5 + rng.uniform(-1, 1, 12)
    ours = m.distance_to_shore_km(lat, lon)
    ref = np.array(
        [0.0 if globe.is_land(a, b) else _brute_force_km(globe, a, b) for a, b in zip(lat, lon, strict=True)]
    )
    near = ref < 50  # the brute-force window reaches >= 1.5 deg = 166 km; stay well inside it
    assert near.sum() >= 6
    np.testing.assert_allclose(ours[near], ref[near], atol=0.01)  # 10 m: the same cells, exact on the sphere


def test_gap_near_coast_is_not_reported_far_at_sea_it_is():
    m = np.array([0.0, 10.0, 13 * 60.0 + 10, 13 * 60.0 + 20])
    near = clean_tracks(_track(1, m, *LANDES, 0.0))
    far = clean_tracks(_track(1, m, *OPEN_BISCAY, 0.0))
    assert default_shore().distance_to_shore_m(*LANDES) < 50 * METERS_PER_NM
    # two reports before the gap: GFW's 14-positions-before rule is waived to isolate the shore rule
    assert detect_gaps(near, min_positions_before=0) == []
    g = detect_gaps(far, min_positions_before=0)
    assert len(g) == 1 and g[0].details["gap_s"] == 13 * 3600
    assert "global-land-mask 1.0.0" in g[0].definition and ">= 50 nm" in g[0].definition
    assert "shore condition applied" in g[0].definition
    assert (
        len(detect_gaps(near, shore=None, min_positions_before=0)) == 1
    )  # switched off: the coastal gap is back
    assert (
        len(detect_gaps(near, min_shore_distance_nm=5, min_positions_before=0)) == 1
    )  # 20 km = 10.8 nm from shore >= 5 nm
    with pytest.raises(ValueError, match="cap"):
        detect_gaps(far, shore=GlobalLandMask(max_distance_km=50))


def test_loitering_needs_mean_distance_of_20_nm():
    m = np.arange(0, 181, 10, dtype=float)
    near = detect_loitering(clean_tracks(_track(2, m, 44.0, -1.45, 0.5)))  # 7 km off the coast
    far = detect_loitering(clean_tracks(_track(2, m, *OPEN_BISCAY, 0.5)))
    assert near == [] and len(far) == 1
    assert far[0].details["mean_shore_distance_km"] == pytest.approx(
        200.0
    )  # beyond the cap: counted as the cap


def test_track_across_honshu_is_flagged_on_land():
    # Sea of Japan (38 N 138 E) to the Pacific (35 N 141 E) in 12 h at ~19 kn, straight over Honshu
    minutes = np.arange(0, 721, 10, dtype=float)
    lat = np.linspace(38.0, 35.0, len(minutes))
    lon = np.linspace(138.0, 141.0, len(minutes))
    tracks = clean_tracks(_track(3, minutes, lat, lon, 19.0))
    ev = [e for e in detect_spoofing(tracks) if e.subtype == "on_land"]
    assert len(ev) == 1
    # the line makes landfall near Kashiwazaki (Niigata coast, ~37.37 N 138.56 E) and leaves near
    # Kujukuri beach (Chiba, ~35.5 N 140.45 E): ~2.0 deg of latitude = ~48 reports, less the 2-km margins
    assert 37.2 < ev[0].lat_deg < 37.45 and 40 < ev[0].details["positions"] < 50
    assert "on land >= 2 km behind the coast" in ev[0].definition
    assert [e for e in detect_spoofing(tracks, shore=None) if e.subtype == "on_land"] == []
    sea = clean_tracks(_track(4, minutes, np.linspace(45.0, 46.0, len(minutes)), -6.0, 19.0))
    assert detect_events(sea, ["spoofing"]) == []


def test_cli_applies_shore_by_default_and_no_shore_switches_it_off(tmp_path):
    from pyais import encode_dict
    from typer.testing import CliRunner

    from kizuna.cli import app

    lines = []
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    for minutes in (0, 10, 13 * 60 + 10, 13 * 60 + 20):
        t = t0 + timedelta(minutes=minutes)
        body = f"s:rTEST,c:{int(t.timestamp())}"
        c = 0
        for ch in body.encode():
            c ^= ch
        for s in encode_dict(
            {"type": 1, "mmsi": 244000001, "lat": LANDES[0], "lon": LANDES[1], "speed": 0.0, "course": 90.0},
            talker_id="AI",
            sentence_type="VDM",
        ):
            lines.append(f"\\{body}*{c:02X}\\{s}")
    f = tmp_path / "gap.nmea"
    f.write_text("\n".join(lines) + "\n")
    db = str(tmp_path / "g.db")
    runner = CliRunner()
    assert runner.invoke(app, ["ais", "load", str(f), "--db", db]).exit_code == 0
    few = ["--gap-min-positions", "0"]  # two reports before the gap: isolate the shore rule
    r = runner.invoke(app, ["ais", "events", "--type", "gap", "--db", db, "--format", "json", *few])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["events"] == []
    r = runner.invoke(app, ["ais", "events", "--type", "gap", "--db", db, "-f", "json", "--no-shore", *few])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert len(doc["events"]) == 1 and "NOT applied" in doc["definitions"][0]
