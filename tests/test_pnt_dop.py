"""DOP, lines of sight and masks against gnss_lib_py, a brute-force inverse, and known geometry.

gnss_lib_py (Stanford NAV Lab) computes look angles from ECEF positions and DOP from elevation
and azimuth with one clock; both are the independent reference for the single-system case. The
multi-clock geometry is checked against the full (3 + K) x (3 + K) inverse written out plainly.
"""

from __future__ import annotations

import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import shared

from kizuna.errors import FormatError
from kizuna.formats.detect import read_path
from kizuna.formats.horizon_mask import read_horizon_mask
from kizuna.orbit.timescale import time_grid
from kizuna.pnt import (
    SYSTEMS,
    ElevationMask,
    Receivers,
    catalog_positions,
    compare_scenarios,
    dop_from_lines_of_sight,
    elevation_azimuth_deg,
    evaluate_dop,
    line_of_sight,
    parse_systems,
    select_catalog,
)

BUNDLED = Path(str(resources.files("kizuna") / "data" / "pnt" / "gnss_2026-07.csv"))
TOKYO = (35.6812, 139.7671)


@pytest.fixture(scope="module")
def element_sets():  # noqa: ANN201
    return read_path(BUNDLED).raise_first().records


@pytest.fixture(scope="module")
def day(element_sets):  # noqa: ANN001, ANN201
    times = time_grid("2026-07-10T00:00:00Z", "2026-07-11T00:00:00Z", 300.0)
    return catalog_positions(element_sets, list(SYSTEMS), times)


def _gnss_lib_py_dop(el_deg: np.ndarray, az_deg: np.ndarray) -> dict[str, float]:
    from gnss_lib_py.navdata.navdata import NavData
    from gnss_lib_py.utils.dop import get_dop

    nav = NavData()
    nav["gps_millis"] = np.zeros(len(el_deg))
    nav["el_sv_deg"] = el_deg
    nav["az_sv_deg"] = az_deg
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = get_dop(nav, GDOP=True, PDOP=True, HDOP=True, VDOP=True, TDOP=True)
    return {k.lower(): float(np.asarray(ref[k]).ravel()[0]) for k in ("GDOP", "PDOP", "HDOP", "VDOP", "TDOP")}


@pytest.mark.parametrize(
    ("lat", "lon", "system"), [(*TOKYO, "gps"), (50.45, 30.52, "galileo"), (-33.9, 18.4, "beidou")]
)
def test_dop_equals_gnss_lib_py_for_the_same_satellites_and_receiver(day, lat, lon, system) -> None:  # noqa: ANN001
    from gnss_lib_py.utils.coordinates import ecef_to_el_az

    sats = day.subset([SYSTEMS[system].letter])
    rx = Receivers.at(lat, lon)
    los = line_of_sight(rx, sats.position_km)
    el, az = elevation_azimuth_deg(los)
    compared = 0
    for j in range(0, len(sats.times_utc), 7):
        ref_el, ref_az = ecef_to_el_az(
            rx.position_km[0].reshape(3, 1) * 1000.0, sats.position_km[:, j].T * 1000.0
        )
        # the look angles themselves agree (gnss_lib_py: ECEF -> ENU by its own rotation)
        np.testing.assert_allclose(el[0, j], ref_el, atol=1e-8)
        np.testing.assert_allclose(np.mod(az[0, j] - ref_az + 180.0, 360.0) - 180.0, 0.0, atol=1e-8)
        in_view = ref_el >= 10.0
        if in_view.sum() < 4:
            continue
        ref = _gnss_lib_py_dop(ref_el[in_view], ref_az[in_view])
        mine = dop_from_lines_of_sight(los[0, j], el[0, j] >= 10.0, np.zeros(len(sats), dtype=int), 1)
        for name, value in ref.items():
            assert mine[name] == pytest.approx(value, abs=1e-9), (name, j)
        compared += 1
    assert compared >= 30


def _brute_force(los: np.ndarray, visible: np.ndarray, clock: np.ndarray) -> dict[str, float]:
    """The textbook: H = [-u, one-hot clock], Q = inv(H^T H), GDOP over position + reference clock."""
    used = np.flatnonzero(visible)
    clocks = list(dict.fromkeys(clock[used].tolist()))  # in order of first appearance...
    clocks.sort()  # ...but the reference clock is the lowest column index in view
    h = np.zeros((used.size, 3 + len(clocks)))
    h[:, :3] = -los[used]
    for row, n in enumerate(used):
        h[row, 3 + clocks.index(clock[n])] = 1.0
    q = np.linalg.inv(h.T @ h)
    pdop2, tdop2 = np.trace(q[:3, :3]), q[3, 3]
    return {
        "pdop": np.sqrt(pdop2),
        "hdop": np.sqrt(q[0, 0] + q[1, 1]),
        "vdop": np.sqrt(q[2, 2]),
        "tdop": np.sqrt(tdop2),
        "gdop": np.sqrt(pdop2 + tdop2),
    }


def test_multi_clock_dop_equals_the_full_inverse(day) -> None:  # noqa: ANN001
    rx = Receivers.at(*TOKYO)
    letters = list(dict.fromkeys(day.system.tolist()))
    clock = np.array([letters.index(s) for s in day.system])
    los = line_of_sight(rx, day.position_km)
    el, az = elevation_azimuth_deg(los)
    for mask_deg in (10.0, 35.0):
        visible = el >= mask_deg
        dops = dop_from_lines_of_sight(los, visible, clock, len(letters))
        for j in range(0, len(day.times_utc), 11):
            ref = _brute_force(los[0, j], visible[0, j], clock)
            for name, value in ref.items():
                assert dops[name][0, j] == pytest.approx(value, rel=1e-10), (name, mask_deg, j)


def test_an_extra_clock_costs_precision_and_sharing_it_gives_it_back(day) -> None:  # noqa: ANN001
    """GPS + QZSS with two clocks is worse than with one; one clock equals treating QZSS as GPS."""
    rx = Receivers.at(*TOKYO)
    both = day.subset(["G", "J"])
    mask = ElevationMask(30.0)
    separate = evaluate_dop(rx, both, mask)
    shared = evaluate_dop(rx, both, mask, shared_clocks=["GJ"])
    assert separate.clocks == ("G", "J") and shared.clocks == ("G",)
    finite = np.isfinite(separate.pdop) & np.isfinite(shared.pdop)
    assert np.all(shared.pdop[finite] <= separate.pdop[finite] + 1e-12)
    relabelled = type(both)(both.name, np.full(len(both), "G"), both.times_utc, both.position_km, both.source)
    np.testing.assert_allclose(evaluate_dop(rx, relabelled, mask).pdop, shared.pdop, rtol=1e-12)


def test_too_few_satellites_or_a_flat_geometry_give_nan() -> None:
    up, east, north = [0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
    tilt = np.array([0.6, 0.0, 0.8])
    four = np.array([up, east, north, tilt])
    one_clock = dop_from_lines_of_sight(four, np.ones(4, bool), np.zeros(4, int), 1)
    assert np.isfinite(one_clock["pdop"])
    # four satellites, two systems: five unknowns
    two_clocks = dop_from_lines_of_sight(four, np.ones(4, bool), np.array([0, 0, 1, 1]), 2)
    assert np.isnan(two_clocks["pdop"]) and two_clocks["n_used"] == 4
    # five satellites in one plane through the receiver (all on the horizon): no vertical
    horizon = np.array([[np.cos(a), np.sin(a), 0.0] for a in np.linspace(0, 2 * np.pi, 5, endpoint=False)])
    flat = dop_from_lines_of_sight(horizon, np.ones(5, bool), np.zeros(5, int), 1)
    assert np.isnan(flat["gdop"])


def test_qzss_raises_satellites_above_60_deg_over_tokyo_and_lowers_pdop_in_a_30_deg_canyon(day) -> None:  # noqa: ANN001
    """The quasi-zenith orbits exist for this: at least one QZSS satellite near the zenith over Japan
    at all times, which is what an urban canyon leaves visible."""
    rx = Receivers.at(*TOKYO)
    gps, gps_qzss = day.subset(["G"]), day.subset(["G", "J"])
    high_gps = evaluate_dop(rx, gps, ElevationMask(60.0)).n_visible[0]
    high_both = evaluate_dop(rx, gps_qzss, ElevationMask(60.0)).n_visible[0]
    qzss_high = high_both - high_gps
    assert qzss_high.min() >= 1  # QZSS above 60 deg all day
    assert high_both.mean() - high_gps.mean() > 1.0  # measured: 2.2 -> 3.5
    canyon_gps = evaluate_dop(rx, gps, ElevationMask(30.0))
    canyon_both = evaluate_dop(rx, gps_qzss, ElevationMask(30.0), shared_clocks=["GJ"])
    assert np.nanmedian(canyon_both.pdop[0]) < 0.85 * np.nanmedian(canyon_gps.pdop[0])
    assert canyon_both.availability(6.0, 4)[0] > canyon_gps.availability(6.0, 4)[0] + 0.05
    # far from Asia-Oceania QZSS adds nothing above 60 deg
    lisbon = Receivers.at(38.7, -9.1)
    assert np.array_equal(
        evaluate_dop(lisbon, gps_qzss, ElevationMask(60.0)).n_visible,
        evaluate_dop(lisbon, gps, ElevationMask(60.0)).n_visible,
    )


def test_gps_denied_scenario_keeps_positions_with_the_other_systems(day) -> None:  # noqa: ANN001
    rx = Receivers.at(48.5, 35.0)  # eastern Ukraine
    results = dict(compare_scenarios(rx, day, ElevationMask(10.0)))
    assert "G" not in results["GPS denied"].systems and "G" in results["all"].systems
    assert np.isfinite(results["GPS denied"].pdop).all()
    assert np.nanmean(results["all"].pdop) < np.nanmean(results["GPS denied"].pdop)
    assert results["GPS only"].systems == ("G",)


def test_chunking_does_not_change_the_result(day) -> None:  # noqa: ANN001
    rx = Receivers.at([35.0, 25.0, 45.0], [139.0, 121.0, 128.0])
    whole = evaluate_dop(rx, day, ElevationMask(15.0))
    chunked = evaluate_dop(rx, day, ElevationMask(15.0), chunk_states=1000)
    np.testing.assert_allclose(whole.pdop, chunked.pdop, rtol=1e-12)  # summation order only
    np.testing.assert_array_equal(np.isnan(whole.pdop), np.isnan(chunked.pdop))
    np.testing.assert_array_equal(whole.n_visible_by_system, chunked.n_visible_by_system)
    assert whole.n_visible_by_system.sum(axis=-1).tolist() == whole.n_visible.tolist()


def test_catalog_selection_by_name_and_orbit(element_sets) -> None:  # noqa: ANN001
    chosen = select_catalog(element_sets, list(SYSTEMS))
    assert {k: len(v) for k, v in chosen.items()} == {
        "gps": 38,
        "glonass": 28,
        "galileo": 32,
        "beidou": 55,
        "qzss": 5,
        "navic": 8,
    }
    names = [e.object_name for e in chosen["galileo"]]
    assert all(n and n.startswith("GSAT0") for n in names)
    assert parse_systems("GPS, qzss,gps") == ("gps", "qzss")
    with pytest.raises(ValueError, match="glonas"):
        parse_systems("glonas")


def test_azimuth_mask_from_a_file_blocks_the_walls_of_a_street() -> None:
    mask = ElevationMask(
        5.0,
        read_horizon_mask(
            "azimuth_deg,elevation_deg\n0,10\n45,60\n135,60\n180,10\n225,60\n315,60\n", "canyon"
        ),
    )
    assert mask.minimum_deg(np.array([0.0, 90.0, 180.0, 270.0, 22.5, 337.5])) == pytest.approx(
        [10.0, 60.0, 10.0, 60.0, 35.0, 35.0]
    )
    el = np.array([20.0, 20.0, 61.0, np.nan])
    az = np.array([0.0, 90.0, 90.0, 0.0])
    assert mask.visible(el, az).tolist() == [True, False, True, False]


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("0,10\n90,abc\n", 2, "elevation_deg"),
        ("0,10\n400,5\n", 2, "azimuth_deg"),
        ("0,10\n90,95\n", 2, "elevation_deg"),
        ("0,10\n90\n", 2, "line"),
        ("# only a comment\n", 1, "line"),
        ("0,10\n90,20\n90,30\n", 3, "azimuth_deg"),
    ],
)
def test_mask_file_errors_name_line_and_field(text: str, line: int, field: str) -> None:
    with pytest.raises(FormatError) as caught:
        read_horizon_mask(text, "mask.csv")
    assert (caught.value.issue.file, caught.value.issue.line, caught.value.issue.field) == (
        "mask.csv",
        line,
        field,
    )


@pytest.mark.shared_data
def test_the_bundled_set_is_what_the_full_active_catalog_selects(element_sets) -> None:  # noqa: ANN001
    """Nothing else in the 2026-07 active set (16k objects, GSAT-n, other COSMOS) matches a system."""
    full = select_catalog(read_path(shared("tle/celestrak_active_omm_2026-07.csv")).records, list(SYSTEMS))
    bundled = select_catalog(element_sets, list(SYSTEMS))
    assert {k: sorted(e.norad_id for e in v) for k, v in full.items()} == {
        k: sorted(e.norad_id for e in v) for k, v in bundled.items()
    }
