"""Broadcast orbits (RINEX navigation files) against precise orbits (SP3) of the same day.

References not written here: CODE's precise orbits (SP3, read by gnss_lib_py's parser), and
gnss_lib_py's GPS-time conversion. The navigation files are read by georinex. Broadcast orbits
are good to about a metre or two (IS-GPS-200 signal-in-space accuracy; the broadcast position
is the antenna phase centre, SP3 the centre of mass, about a metre apart for GPS).
"""

from __future__ import annotations

import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from kizuna.errors import FormatError
from kizuna.formats.rinex_nav import read_rinex_nav
from kizuna.pnt.broadcast import GPS_EPOCH, broadcast_positions, gpst_seconds, utc_from_gpst

DATA = Path(str(resources.files("kizuna") / "data" / "pnt"))
PAIRS = [
    # (navigation file, same-day SP3, satellites compared, epochs compared)
    ("BRDC00WRD_S_20230730000_01D_MN.rnx", "COD0OPSRAP_20230730000_01D_05M_ORB.SP3"),
    ("brdc1180.21n", "COD0MGXFIN_20211180000_01D_05M_ORB_gps_30min_excerpt.SP3"),
    ("BRDC00IGS_R_20261890000_01D_MN_gps_excerpt.rnx", "COD0MGXFIN_20261890000_01D_05M_ORB_gps_excerpt.SP3"),
]


def _sp3(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(RINEX satellite names, UTC instants, positions km) from gnss_lib_py's SP3 parser."""
    from gnss_lib_py.parsers.sp3 import Sp3
    from gnss_lib_py.utils.time_conversions import gps_millis_to_datetime

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sp3 = Sp3(str(path))
    letters = {"gps": "G", "galileo": "E", "glonass": "R", "qzss": "J", "beidou": "C"}
    names = np.array([f"{letters[g]}{int(s):02d}" for g, s in zip(sp3["gnss_id"], sp3["sv_id"], strict=True)])
    millis = np.atleast_1d(sp3["gps_millis"])
    utc = np.array(
        [np.datetime64(d.replace(tzinfo=None), "ns") for d in gps_millis_to_datetime(millis)],
        dtype="datetime64[ns]",
    )
    xyz_km = np.stack([sp3["x_sv_m"], sp3["y_sv_m"], sp3["z_sv_m"]], axis=-1) / 1000.0
    return names, utc, xyz_km


@pytest.mark.parametrize(("nav", "sp3"), PAIRS)
def test_broadcast_orbits_agree_with_precise_orbits_to_metres(nav: str, sp3: str) -> None:
    names, utc, xyz_km = _sp3(DATA / sp3)
    eph = read_rinex_nav(DATA / nav)
    times = np.unique(utc)
    sats = broadcast_positions(eph, times)
    errors_m = []
    for i, name in enumerate(sats.name):
        rows = np.flatnonzero(names == name)
        if not rows.size:
            continue
        j = np.searchsorted(times, utc[rows])
        d = np.linalg.norm(sats.position_km[i, j] - xyz_km[rows], axis=-1) * 1000.0
        errors_m.append(d[np.isfinite(d)])
    err = np.concatenate(errors_m)
    # every broadcast system in the file that the SP3 also has, at most epochs
    assert err.size >= (12 if nav.startswith("BRDC") else 390)
    rms = float(np.sqrt(np.mean(err**2)))
    # measured: 1.0 m (2023, GPS + Galileo), 1.7 m (2021, 31 GPS satellites), 2.0 m (2026, 31 GPS
    # satellites at 11:30 and 12:30, each from a record 1.5 h away)
    assert rms < 2.5, rms
    assert err.max() < 6.0, err.max()  # measured 5.2 m (G14 before its upload at 22:00)
    assert err.min() > 0.1  # the antenna offset alone keeps them apart: not the same numbers


def test_the_wrong_record_or_a_wrong_clock_offset_shows_as_kilometres() -> None:
    """The check above has teeth: positions one leap-second set off (18 s) miss by ~50 km."""
    names, utc, xyz_km = _sp3(DATA / PAIRS[1][1])
    eph = read_rinex_nav(DATA / PAIRS[1][0])
    shifted = broadcast_positions(eph, np.unique(utc) + np.timedelta64(18, "s"))
    i = list(shifted.name).index("G05")
    rows = np.flatnonzero(names == "G05")
    d_km = np.linalg.norm(shifted.position_km[i, : rows.size] - xyz_km[rows], axis=-1)
    assert np.count_nonzero(np.isfinite(d_km)) >= 12 and np.nanmin(d_km) > 40.0


def test_gps_time_conversion_agrees_with_gnss_lib_py() -> None:
    from datetime import UTC, datetime

    from gnss_lib_py.utils.time_conversions import datetime_to_gps_millis

    for when in (datetime(2017, 1, 1, 0, 0, 30, tzinfo=UTC), datetime(2021, 4, 28, 18, tzinfo=UTC)):
        t = np.array([np.datetime64(when.replace(tzinfo=None), "ns")])
        assert gpst_seconds(t)[0] * 1000.0 == pytest.approx(float(datetime_to_gps_millis(when)), abs=1e-3)
        gps_calendar = GPS_EPOCH + np.timedelta64(int(round(gpst_seconds(t)[0] * 1e9)), "ns")
        assert utc_from_gpst(np.array([gps_calendar]))[0] == t[0]


def test_records_far_from_their_reference_epoch_give_no_position() -> None:
    eph = read_rinex_nav(DATA / "brdc1180.21n")
    sats = broadcast_positions(
        eph, np.array(["2021-04-28T20:00:00", "2021-05-02T00:00:00"], dtype="datetime64[ns]")
    )
    assert np.isfinite(sats.position_km[:, 0]).all()
    assert np.isnan(sats.position_km[:, 1]).all()


def test_reader_keeps_keplerian_systems_and_counts_the_rest() -> None:
    eph = read_rinex_nav(DATA / "BRDC00WRD_S_20230730000_01D_MN.rnx")
    assert eph.satellites == ["C05", "C06", "E01", "E02", "G01", "G02", "J02", "J03"]
    assert eph.skipped == {"R": 6}
    # Galileo's I/NAV and F/NAV records of one epoch both stay (georinex names the second E01_1)
    assert np.count_nonzero((eph.system == "E") & (eph.prn == 1)) > 10
    # BeiDou is read but not computed; QZSS is computed like GPS
    sats = broadcast_positions(eph, np.array(["2023-03-14T01:00:00"], dtype="datetime64[ns]"))
    assert set(sats.system) == {"G", "E", "J"}
    # J03 is QZS-4, in a quasi-zenith orbit (a = 42,164 km, e = 0.075) whose figure-eight ground
    # track is centred on 139 E
    j03 = sats.position_km[list(sats.name).index("J03"), 0]
    assert 38_900 < np.linalg.norm(j03) < 45_400
    assert 105 < np.degrees(np.arctan2(j03[1], j03[0])) < 175


def test_reader_refuses_other_files_by_name(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="COD0OPSRAP"):
        read_rinex_nav(DATA / "COD0OPSRAP_20230730000_01D_05M_ORB.SP3")
    junk = tmp_path / "junk.rnx"
    junk.write_text("this is not RINEX\n")
    with pytest.raises(FormatError, match="junk.rnx"):
        read_rinex_nav(junk)


def test_matching_by_orbit_pairs_each_satellite_with_itself_and_differences_are_metres() -> None:
    """compare_positions names no satellite: it must find G01 <-> G01 from the orbits alone."""
    from kizuna.pnt.compare import compare_positions
    from kizuna.pnt.systems import GnssSatellites

    names, utc, xyz_km = _sp3(DATA / PAIRS[1][1])
    times = np.unique(utc)
    order = sorted(set(names.tolist()))
    position = np.full((len(order), len(times), 3), np.nan)
    for k, name in enumerate(order):
        rows = np.flatnonzero(names == name)
        position[k, np.searchsorted(times, utc[rows])] = xyz_km[rows]
    precise = GnssSatellites(np.array(order), np.full(len(order), "G"), times, position, "sp3")
    broadcast = broadcast_positions(read_rinex_nav(DATA / PAIRS[1][0]), times)
    # shuffle the precise set so that matching by index would fail
    shuffled = np.random.default_rng(1).permutation(len(order))
    precise = GnssSatellites(
        precise.name[shuffled], precise.system[shuffled], times, precise.position_km[shuffled], "sp3"
    )
    diffs = compare_positions(broadcast, precise)
    assert len(diffs) == 31  # the navigation file has 32 PRNs, the precise orbits 31 (no G11)
    # The file's only G11 record (20:00) carries G10's orbit word for word, an artefact of merged
    # broadcast files: both describe one satellite, so either may take G10's precise orbit.
    g10, g11 = (list(broadcast.name).index(k) for k in ("G10", "G11"))
    seen = np.isfinite(broadcast.position_km[g11, :, 0])
    assert seen.any()
    # (G10 may use its 18:00 or 22:00 record at some of these times: centimetres apart)
    np.testing.assert_allclose(broadcast.position_km[g10, seen], broadcast.position_km[g11, seen], atol=1e-3)
    assert {(d.name, d.matched) for d in diffs if d.name != d.matched} <= {("G11", "G10")}
    rms_m = np.array([d.rms_km for d in diffs]) * 1000.0
    assert np.all(rms_m < 5.0) and np.median(rms_m) > 0.5
    radial_m = np.array([d.rms_radial_km for d in diffs]) * 1000.0
    assert np.median(radial_m) < np.median(rms_m)  # broadcast orbits are best radially
    # a set of other days matches nothing (kilometres to thousands of kilometres apart)
    later = broadcast_positions(read_rinex_nav(DATA / PAIRS[1][0]), times + np.timedelta64(1, "h"))
    assert (
        compare_positions(GnssSatellites(later.name, later.system, times, later.position_km, "x"), precise)
        == []
    )


def test_catalog_and_broadcast_orbits_of_the_same_day_differ_by_kilometres() -> None:
    """SGP4 of the GP elements bundled for 2026-07 (epochs 2026-07-08 00:08 to 07-10 07:28) against
    the IGS broadcast orbits of 2026-07-08, 08:00-15:55 UTC (the excerpt's records of 10:00 and
    14:00 GPST, each used within 2 h). GP elements are mean elements fitted to tracking, good to
    kilometres (Vallado et al., "Revisiting Spacetrack Report #3", AIAA 2006-6753); broadcast orbits
    to metres (the test above). Measured: 31 satellites (G13 is flagged unhealthy), RMS 0.24 to
    4.66 km, median 1.3 km, mostly along-track."""
    from kizuna.formats.detect import read_path
    from kizuna.orbit.timescale import time_grid
    from kizuna.pnt.compare import compare_positions
    from kizuna.pnt.systems import catalog_positions

    times = time_grid("2026-07-08T08:00:00Z", "2026-07-08T15:55:00Z", 300.0)
    eph = read_rinex_nav(DATA / PAIRS[2][0])
    broadcast = broadcast_positions(eph, times, systems=("G",))
    catalog = catalog_positions(read_path(DATA / "gnss_2026-07.csv").records, ["gps"], times)
    assert np.isfinite(broadcast.position_km[..., 0]).all(axis=1).sum() == 31
    diffs = compare_positions(catalog, broadcast)
    assert len(diffs) == 31 and len({d.matched for d in diffs}) == 31
    assert "G13" not in {d.matched for d in diffs}
    rms_km = np.array([d.rms_km for d in diffs])
    assert np.all((rms_km > 0.1) & (rms_km < 10.0)), rms_km
    assert 0.5 < np.median(rms_km) < 3.0
    along = np.array([d.rms_along_km for d in diffs])
    radial = np.array([d.rms_radial_km for d in diffs])
    assert np.median(along) > 3 * np.median(radial)  # SGP4's error grows along the track
    assert all(d.times == len(times) for d in diffs)
    # every match is unambiguous: the next-closest broadcast satellite is thousands of km away
    index = {str(n): k for k, n in enumerate(broadcast.name)}
    for d in diffs:
        i = list(catalog.name).index(d.name)
        others = [k for n, k in index.items() if n != d.matched]
        apart = np.linalg.norm(broadcast.position_km[others] - catalog.position_km[i], axis=-1)
        assert np.median(apart, axis=1).min() > 1000.0, d
