"""Warning sensors and detection rules: the first detection of one launch by one GEO sensor worked
out by hand, each rule shown to bite (Earth blocking, field of regard, threshold, plume altitude,
limb, radar horizon, sector and range), and the data file's architectures."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import erfa
import numpy as np
import pytest

from kizuna.model.missile import PHASE_BOOST, ThreatTrajectory
from kizuna.mw.detection import (
    COLD_BODY_INTENSITY_W_SR,
    STEFAN_BOLTZMANN_W_M2_K4,
    SensorTable,
    ThreatGrid,
    band_radiance_w_m2_sr,
    detect,
    frame_starts,
    height_m,
    hold,
    rule_masks,
)
from kizuna.mw.sensors import (
    GEO_RADIUS_M,
    WGS84_A_M,
    InfraredPayload,
    RadarPayload,
    Sensor,
    SensorError,
    build_group,
    geodetic_to_ecef_m,
    group_rows,
    load_architectures,
    sensor_positions_ecef_m,
)

LAUNCH = np.datetime64("2026-11-30T00:00:00", "ns")


def geo_sensor(lon_deg: float = 125.0, **ir: float | None) -> Sensor:
    payload = {
        "field_of_regard_deg": 9.0,
        "hot_nei_w_m2": 1e-11,
        "cold_nei_w_m2": None,
        "snr": 5.0,
        "min_plume_alt_km": 10.0,
        "limb_clearance_km": 100.0,
    }
    payload.update(ir)
    return Sensor(
        name="GEO",
        kind="geo",
        group="test",
        revisit_s=10.0,
        sigma_rad=30e-6,
        infrared=InfraredPayload(**payload),  # type: ignore[arg-type]
        geo_lon_deg=lon_deg,
    )


def vertical_rise(intensity_w_sr, lon_deg: float = 125.0, accel_m_s2: float = 30.0, seconds: int = 120):
    """A plume rising straight up from the equator at `lon_deg`: h = a t^2 / 2, sampled every 1 s."""
    t = np.arange(0.0, seconds + 1.0)
    h = 0.5 * accel_m_s2 * t**2
    up = np.array([math.cos(math.radians(lon_deg)), math.sin(math.radians(lon_deg)), 0.0])
    pos = (WGS84_A_M + h)[:, None] * up
    vel = (accel_m_s2 * t)[:, None] * up
    return ThreatTrajectory(
        threat_id="rise",
        threat_class="SRBM",
        profile="minimum_energy",
        launch_utc=LAUNCH,
        launch_lat_deg=0.0,
        launch_lon_deg=lon_deg,
        impact_lat_deg=0.0,
        impact_lon_deg=lon_deg,
        time_s=t,
        position_ecef_m=pos,
        velocity_ecef_m_s=vel,
        phase=np.full(len(t), PHASE_BOOST, dtype=np.int8),
        ir_intensity_w_sr=np.asarray(intensity_w_sr(t), dtype=float),
        rcs_m2=np.full(len(t), 1.0),
        burnout_time_s=float(seconds),
        apogee_km=h[-1] / 1000.0,
        ground_range_km=0.0,
        flight_time_s=float(seconds),
    )


def first_detection_s(traj: ThreatTrajectory, sensor: Sensor, phase_s: float = 0.0) -> float:
    grid = ThreatGrid.resample([traj], 1.0)
    table = SensorTable.from_sensors([sensor])
    pos = sensor_positions_ecef_m([sensor], grid.times_utc()[0])
    det = detect(grid, table, pos, np.array([[phase_s]]))
    return float(det.first_look_s(grid.time_s)[0, 0])


# ---------------------------------------------------------------- the hand computation
def test_first_detection_by_one_geo_sensor_worked_by_hand():
    """One GEO sensor over 125 E, one launch straight up from the equator under it.

    Geometry: the sensor sits at r_GEO = 42,164,172 m on the equator, the pad at the equatorial
    radius a = 6,378,137 m on the same radius, so the range is r_GEO - a - h = 35,786,035 m - h.
    The missile climbs at 30 m/s^2: h(t) = 15 t^2 m.

    Case 1, plume 1e5 W/sr from ignition, sensor NEI 1e-11 W/m2, SNR 5 (threshold 5e-11 W/m2):
      threshold: I / R^2 = 1e5 / 35,786,035^2 = 7.81e-11 W/m2 >= 5e-11 already on the pad, so
        the threshold never binds;
      plume-altitude rule (10 km): 15 t^2 >= 10,000 -> t >= sqrt(666.7) = 25.82 s;
      frames every 10 s from launch (phase 0): looks at 0, 10, 20, 30 s -> first detection 30 s.
      With the frames shifted by a phase of 3 s (frames open at 7, 17, 27 s): 27 s.
    Case 2, plume building up as I(t) = 2,000 t W/sr, same sensor:
      threshold: 2,000 t >= 5e-11 x R^2. Near t = 32 s, h = 15.4 km, R = 35,770,675 m,
        5e-11 x R^2 = 63,975 W/sr -> t >= 31.99 s; the altitude rule (25.82 s) is already met;
      looks at 30 s (I = 60,000 W/sr, short of 5e-11 x 35,772,535^2 = 63,983) and at 40 s
        (I = 80,000 W/sr, h = 24 km, needs 63,923) -> first detection 40 s.
    """
    sensor = geo_sensor()
    constant = vertical_rise(lambda t: np.full(len(t), 1e5))
    assert first_detection_s(constant, sensor) == 30.0
    assert first_detection_s(constant, sensor, phase_s=3.0) == 27.0
    ramp = vertical_rise(lambda t: 2000.0 * t)
    assert first_detection_s(ramp, sensor) == 40.0
    # The hand numbers themselves, from the model's geometry: range on the pad and at 30 s.
    grid = ThreatGrid.resample([ramp], 1.0)
    pos = sensor_positions_ecef_m([sensor], grid.times_utc()[0])
    rng = np.linalg.norm(grid.position_ecef_m[0] - pos[0], axis=-1)
    assert rng[0] == pytest.approx(35_786_035.0, abs=0.01)
    assert rng[30] == pytest.approx(35_786_035.0 - 15 * 900, abs=0.01)
    # Without the altitude rule (0 km) case 1 is seen on the first look, at launch.
    assert first_detection_s(constant, geo_sensor(min_plume_alt_km=0.0)) == 0.0


# ---------------------------------------------------------------- each rule bites
def _masks(target_ecef_m, sensor: Sensor, intensity: float = 1e5, rcs: float = 1.0):
    tgt = np.asarray(target_ecef_m, float).reshape(1, 1, 3)
    pos = sensor_positions_ecef_m([sensor], np.array([LAUNCH]))
    m = rule_masks(tgt, np.array([[intensity]]), np.array([[rcs]]), pos, SensorTable.from_sensors([sensor]))
    return {k: bool(v[0, 0, 0]) for k, v in m.items()}


def test_earth_blocks_a_launch_on_the_far_side():
    target = geodetic_to_ecef_m(0.0, 125.0, 50e3)
    assert _masks(target, geo_sensor(125.0))["detectable"]
    far = _masks(target, geo_sensor(-55.0, field_of_regard_deg=180.0), intensity=1e6)
    assert not far["earth"] and not far["detectable"]
    assert far["field_of_regard"] and far["hot_threshold"] and far["plume_altitude"]


def test_field_of_regard_bites():
    target = geodetic_to_ecef_m(30.0, 125.0, 50e3)  # about 4.8 deg off the GEO sensor's nadir
    assert _masks(target, geo_sensor(field_of_regard_deg=9.0))["detectable"]
    narrow = _masks(target, geo_sensor(field_of_regard_deg=3.0))
    assert not narrow["field_of_regard"] and not narrow["detectable"]
    assert narrow["earth"] and narrow["hot_threshold"]


def test_threshold_bites():
    target = geodetic_to_ecef_m(0.0, 125.0, 50e3)
    # 1e5 W/sr at 35,736 km is 7.83e-11 W/m2: NEI 1.5e-11 x SNR 5 = 7.5e-11 passes, 1.6e-11 fails.
    assert _masks(target, geo_sensor(hot_nei_w_m2=1.5e-11))["detectable"]
    dim = _masks(target, geo_sensor(hot_nei_w_m2=1.6e-11))
    assert not dim["hot_threshold"] and not dim["detectable"] and dim["plume_altitude"]


def test_plume_altitude_rule_bites():
    assert not _masks(geodetic_to_ecef_m(0.0, 125.0, 9e3), geo_sensor())["detectable"]
    assert _masks(geodetic_to_ecef_m(0.0, 125.0, 11e3), geo_sensor())["detectable"]


def _leo_cold_sensor() -> Sensor:
    from kizuna.model.records import ElementSet

    es = ElementSet(
        norad_id=330000,
        epoch_utc=datetime(2026, 11, 30, tzinfo=UTC),
        mean_motion_revday=13.0,
        eccentricity=0.0,
        inclination_deg=0.0,
        raan_deg=0.0,
        arg_perigee_deg=0.0,
        mean_anomaly_deg=0.0,
    )
    ir = InfraredPayload(75.0, None, 1e-13, 6.0, 10.0, 100.0)
    return Sensor(name="LEO", kind="leo", group="t", revisit_s=1, sigma_rad=1e-4, infrared=ir, element_set=es)


def test_limb_rule_bites_for_cold_bodies():
    """A cold body against space is seen; the same body with the Earth's limb behind it is not."""
    s = _leo_cold_sensor()
    p = sensor_positions_ecef_m([s], np.array([LAUNCH]))[0, 0]
    up = p / np.linalg.norm(p)
    side = np.cross(up, [0.0, 0.0, 1.0])
    side /= np.linalg.norm(side)
    r_sensor = np.linalg.norm(p)

    def body(central_deg: float, alt_m: float) -> np.ndarray:
        c = math.radians(central_deg)
        return (WGS84_A_M + alt_m) * (math.cos(c) * up + math.sin(c) * side)

    # The sensor flies at about 1,260 km (13 rev/day). A body 10 deg of arc away at 900 km: the
    # line of sight past it clears the limb by about 780 km.
    high = _masks(body(10.0, 900e3), s, intensity=0.0)
    assert high["limb"] and high["field_of_regard"] and high["cold_threshold"] and high["detectable"]
    # At 600 km the line past it grazes 79 km above the surface: clear of the Earth, not of the
    # 100 km limb clearance (the bright limb behind it); with a 50 km clearance it is seen.
    graze = _masks(body(10.0, 600e3), s, intensity=0.0)
    assert graze["earth"] and graze["cold_threshold"] and not graze["limb"] and not graze["detectable"]
    lenient = replace(s, infrared=replace(s.infrared, limb_clearance_km=50.0))  # type: ignore[type-var]
    assert _masks(body(10.0, 600e3), lenient, intensity=0.0)["detectable"]
    # At 300 km the line past it runs into the Earth (below the horizon).
    low = _masks(body(10.0, 300e3), s, intensity=0.0)
    assert low["earth"] and low["field_of_regard"] and not low["limb"] and not low["detectable"]
    assert r_sensor > WGS84_A_M


def _radar(boresight: float = 280.0, half: float = 60.0) -> Sensor:
    rp = RadarPayload(1000.0, 0.01, 3000.0, 1.0, 85.0, boresight, half, 10.0)
    return Sensor(
        name="TPY",
        kind="radar",
        group="t",
        revisit_s=1.0,
        sigma_rad=5e-4,
        radar=rp,
        site_lat_deg=40.88,
        site_lon_deg=140.32,
        site_alt_m=0.0,
    )


def test_radar_horizon_sector_and_range_bite():
    radar = _radar()
    # 600 km west of the site (lon 133.2): seen at 300 km altitude, below the horizon at 10 km.
    assert _masks(geodetic_to_ecef_m(40.88, 133.2, 300e3), radar, rcs=0.1)["detectable"]
    low = _masks(geodetic_to_ecef_m(40.88, 133.2, 10e3), radar, rcs=0.1)
    assert not low["radar_horizon"] and not low["detectable"] and low["radar_range"]
    # The same target due east of the site is outside a +-60 deg sector facing 280 deg.
    east = _masks(geodetic_to_ecef_m(40.88, 147.4, 300e3), radar, rcs=0.1)
    assert not east["radar_sector"] and not east["detectable"] and east["radar_horizon"]
    assert _masks(geodetic_to_ecef_m(40.88, 147.4, 300e3), _radar(half=180.0), rcs=0.1)["detectable"]
    # Range: 0.01 m2 reaches 1,000 km; 1e-4 m2 only 1000 x 0.01^(1/4) = 316 km (the target is ~700 km).
    far = _masks(geodetic_to_ecef_m(40.88, 133.2, 300e3), radar, rcs=1e-4)
    assert not far["radar_range"] and not far["detectable"]


def test_frames_and_hold():
    starts = frame_starts(np.arange(0.0, 25.0), np.array([10.0]), np.array([[0.0]]))
    assert list(np.flatnonzero(starts[0, 0])) == [0, 10, 20]
    looks = starts & (np.arange(25) >= 10)[None, None, :]
    held = hold(looks, starts)
    assert not held[0, 0, :10].any() and held[0, 0, 10:].all()


# ---------------------------------------------------------------- references outside the project
def test_height_against_erfa_geodetic():
    """Heights in the stretched frame within 0.34% of ERFA's WGS-84 gc2gd (plus 1 m)."""
    for lat, alt in [(0.0, 0.0), (35.0, 0.0), (41.0, 10e3), (60.0, 100e3), (-80.0, 1000e3)]:
        xyz = geodetic_to_ecef_m(lat, 130.0, alt)
        _, _, h = erfa.gc2gd(1, xyz)
        assert h == pytest.approx(alt, abs=1e-3)
        assert height_m(xyz) == pytest.approx(h, abs=1.0 + 0.0034 * alt)


def test_band_radiance_against_stefan_boltzmann():
    """Planck integrated over (nearly) all wavelengths is sigma T^4 / pi (within 0.01%)."""
    total = band_radiance_w_m2_sr(300.0, (0.5, 2000.0), samples=400_000) * math.pi
    assert total == pytest.approx(STEFAN_BOLTZMANN_W_M2_K4 * 300.0**4, rel=1e-4)
    # 8-12 um holds about 28% of a 300 K body's exitance, so the stated cold body is ~13 W/sr.
    assert 10.0 < COLD_BODY_INTENSITY_W_SR < 20.0


# ---------------------------------------------------------------- the data file
def test_architectures_load_with_sources():
    archs = {a.name: a for a in load_architectures(None, datetime(2026, 11, 30))}
    assert {"geo", "geo-leo", "geo-leo-vleo", "japan-radars"} <= set(archs)
    assert len(archs["geo-leo"]) == len(archs["geo-heo"]) + 28
    assert all(s.source for a in archs.values() for s in a.sensors)
    times = np.array([LAUNCH, LAUNCH + np.timedelta64(3600, "s")])
    sensors = archs["all"].sensors
    r_km = np.linalg.norm(sensor_positions_ecef_m(sensors, times), axis=-1) / 1000.0
    kinds = np.array([s.kind for s in sensors])
    assert np.allclose(r_km[kinds == "geo"], GEO_RADIUS_M / 1000.0)
    # Circular layers at their design altitudes (SGP4 mean vs osculating: within 25 km).
    assert np.all(np.abs(r_km[kinds == "leo"] - 6378.0 - 1000.0) < 25.0)
    assert np.all(np.abs(r_km[kinds == "vleo"] - 6378.0 - 250.0) < 25.0)
    assert np.all((r_km[kinds == "heo"] > 6378.0 + 1000.0) & (r_km[kinds == "heo"] < 6378.0 + 39_100.0))
    rows = group_rows(names=["geo-leo"])
    assert {r["sensor"] for r in rows} == {"geo-ir", "heo-ir", "leo-tracking"}


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"kind": "geo", "longitudes_deg": [0]}, "'source'"),
        ({"kind": "moon", "source": "x"}, "'kind'"),
        (
            {"kind": "leo", "source": "x", "walker": "28/4/1:1000:81", "revisit_s": 1, "sigma_urad": 1},
            "'field_of_regard_deg'",
        ),
        ({"kind": "radar", "source": "x", "revisit_s": 1, "sigma_urad": 1, "sites": []}, "'sites'"),
    ],
)
def test_bad_sensor_entries_name_the_field(entry, fragment):
    with pytest.raises(SensorError, match=fragment):
        build_group("bad", entry, datetime(2026, 1, 1))


def test_unknown_architecture(tmp_path: Path):
    with pytest.raises(SensorError, match="unknown architecture 'nope'"):
        load_architectures(["nope"], datetime(2026, 1, 1))
