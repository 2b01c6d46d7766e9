"""ILRS CPF reader (versions 1 and 2) against the values Orekit's ``CPFParserTest`` asserts for the
same files (src/test/java/org/orekit/files/ilrs/, resources in tests/data/ilrs/cpf), and its
interpolation against Orekit's own CPF ephemeris (a peer implementation) between the nodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kizuna.errors import FormatError
from kizuna.formats.cpf import cpf_ephemeris, read_cpf

CPF_DIR = Path(__file__).parent / "data" / "ilrs" / "cpf"


def _read(name: str):  # noqa: ANN202
    return read_cpf((CPF_DIR / name).read_text(), name)


def _mjd(mjd: int, sod: float) -> np.datetime64:
    return (
        np.datetime64("1858-11-17", "ns") + np.timedelta64(mjd, "D") + np.timedelta64(round(sod * 1e9), "ns")
    )


def test_jason3_version_2_header_and_states() -> None:
    cpf = _read("jason3_cpf_180613_16401.cne")
    assert (cpf.version, cpf.source, cpf.sequence_number, cpf.sub_daily_sequence_number) == (2, "CNE", 164, 1)
    assert cpf.production_utc == np.datetime64("2018-06-13T06:00", "ns")
    assert (cpf.target_name, cpf.ilrs_id, cpf.sic, cpf.norad_id) == ("jason3", "1600201", "4379", 41240)
    assert (cpf.step_s, cpf.target_class, cpf.target_location, cpf.reference_frame) == (240, 1, 1, "ITRF")
    assert cpf.tiv_compatible and not cpf.center_of_mass_applied
    assert cpf.start_utc == np.datetime64("2018-06-13T00:00", "ns")
    assert cpf.stop_utc == np.datetime64("2018-06-18T00:00", "ns")
    assert len(cpf.comments) == 8 and cpf.comments[0] == "Col 1 : <Record type=10)>"
    assert cpf.comments[7] == "Col 8 : <Geocentric Z position in meters>"
    assert cpf.epochs_utc[0] == _mjd(58282, 0.0) and cpf.epochs_utc[-1] == _mjd(58287, 0.0)
    assert cpf.position_m[0].tolist() == [6566174.663, 2703003.220, -3022783.901]
    assert cpf.position_m[-1].tolist() == [6045281.907, 1607181.391, -4519215.355]
    assert cpf.issues == [] and cpf.velocity_ms is None


def test_lageos1_version_2_center_of_mass_offset() -> None:
    cpf = _read("lageos1_cpf_180613_16401.hts")
    assert (cpf.version, cpf.source, cpf.target_name, cpf.ilrs_id, cpf.norad_id) == (
        2,
        "HTS",
        "lageos1",
        "7603901",
        8820,
    )
    assert cpf.step_s == 300 and cpf.center_of_mass_offset_m == 0.2510 and cpf.comments == []
    assert cpf.epochs_utc[0] == _mjd(58281, 84600.0) and cpf.epochs_utc[-1] == _mjd(58283, 86100.0)
    assert cpf.position_m[0].tolist() == [2966379.904, 4195129.466, -11136763.061]
    assert cpf.position_m[-1].tolist() == [-5292229.761, 4106329.723, -10235338.181]


def test_galileo_version_1() -> None:
    cpf = _read("galileo212_cpf_180613_6641.esa")
    assert (cpf.version, cpf.source, cpf.sequence_number, cpf.sub_daily_sequence_number) == (
        1,
        "ESA",
        6641,
        None,
    )
    assert (cpf.target_name, cpf.ilrs_id, cpf.sic, cpf.norad_id, cpf.step_s) == (
        "galileo212",
        "1606902",
        "7212",
        41860,
        900,
    )
    assert cpf.start_utc == np.datetime64("2018-06-12T23:59:42", "ns")
    assert cpf.stop_utc == np.datetime64("2018-06-14T23:59:42", "ns")
    assert cpf.epochs_utc[0] == _mjd(58281, 86382.0) and cpf.epochs_utc[-1] == _mjd(58283, 86382.0)
    assert cpf.position_m[0].tolist() == [-3442706.377, 29234902.063, 3170080.159]
    assert cpf.position_m[-1].tolist() == [-7329586.488, -24111259.078, -15507306.979]


def test_all_fields_velocities_and_skipped_records() -> None:
    cpf = _read("cpf_all_fields.csg")
    assert len(cpf.comments) == 2 and cpf.issues == []
    assert len(cpf.epochs_utc) == 2
    assert cpf.velocity_ms is not None and np.all(cpf.velocity_ms == 0.0)


def test_bad_files_name_file_line_and_field() -> None:
    corrupted = _read("cpf_corrupted_data.csg")
    assert [(i.line, i.field) for i in corrupted.issues] == [(4, "x position")]
    assert "'corrupted' is not a number" in str(corrupted.issues[0])
    assert len(corrupted.epochs_utc) == 1  # the good state is kept
    with pytest.raises(FormatError, match=r"cpf_invalid_format.csg:1: format: 'CDR' is not 'CPF'"):
        _read("cpf_invalid_format.csg")
    with pytest.raises(FormatError, match=r"x.cpf:2: step: 'ten' is not an integer"):
        read_cpf(
            "H1 CPF 1 ESA 2018 6 13 10 6641 sat\nH2 1 2 3 2018 6 12 0 0 0 2018 6 13 0 0 0 ten 1 1 0 0 0\nH9\n99\n",
            "x.cpf",
        )
    with pytest.raises(FormatError, match=r"x.cpf:3: H9: record '10' before the header's end"):
        read_cpf(
            "H1 CPF 1 ESA 2018 6 13 10 6641 sat\nH2 1 2 3 2018 6 12 0 0 0 2018 6 13 0 0 0 60 1 1 0 0 0\n10 0 58282 0.0 0 1 2 3\n",
            "x.cpf",
        )
    with pytest.raises(FormatError, match=r"x.cpf:1: H1: no H1 record"):
        read_cpf("", "x.cpf")


@pytest.mark.parametrize(
    ("name", "mjd", "sod", "xyz", "tol_m"),
    [
        # the off-start nodes Orekit's test evaluates its CPF propagator at, with its tolerance
        ("jason3_cpf_180613_16401.cne", 58283, 56640.0, (-1578630.043, -2922293.651, -6964482.056), 2.4e-10),
        ("lageos1_cpf_180613_16401.hts", 58282, 78000.0, (-5843276.537, 1074212.914, -10696380.103), 2.0e-9),
        (
            "galileo212_cpf_180613_6641.esa",
            58282,
            78282.0,
            (22173889.124, -19259262.865, 3650461.090),
            4.7e-10,
        ),
    ],
)
def test_interpolation_reproduces_the_nodes_orekit_checks(name, mjd, sod, xyz, tol_m) -> None:
    eph = cpf_ephemeris(_read(name))
    r_km, _ = eph.interpolate(np.array([_mjd(mjd, sod)]))
    assert np.linalg.norm(r_km[0] * 1000.0 - np.array(xyz)) < max(tol_m, 1e-6)


@pytest.mark.parametrize(
    "name", ["jason3_cpf_180613_16401.cne", "lageos1_cpf_180613_16401.hts", "galileo212_cpf_180613_6641.esa"]
)
def test_interpolation_between_nodes_matches_orekits_cpf_ephemeris(name) -> None:
    """Orekit's CPFParser and its ephemeris propagator (10-point Hermite on positions, i.e. Lagrange
    of degree 9) at instants between the nodes, in the file's ITRF: the same to 10 micrometres."""
    pytest.importorskip("orekit_jpype")
    from kizuna.orbit import orekit as ok

    ok.start()
    from org.orekit.data import DataSource
    from org.orekit.files.ilrs import CPFParser
    from org.orekit.time import AbsoluteDate, TimeScalesFactory

    cpf = _read(name)
    parsed = CPFParser().parse(DataSource(str(CPF_DIR / name)))
    ephem = parsed.getSatellites().get(cpf.ilrs_id)
    propagator = ephem.getPropagator()
    utc = TimeScalesFactory.getUTC()
    rng = np.random.default_rng(7)
    span_ns = (cpf.epochs_utc[-1] - cpf.epochs_utc[0]).astype("int64")
    times = cpf.epochs_utc[0] + (rng.uniform(0.0, 1.0, 25) * span_ns).astype("int64").astype(
        "timedelta64[ns]"
    )
    times = times.astype("datetime64[us]").astype("datetime64[ns]")  # exactly what the text below names
    ours, _ = cpf_ephemeris(cpf).interpolate(times)
    for t, r in zip(times, ours, strict=True):
        text = str(t)[:26]
        date = AbsoluteDate(text, utc)
        p = propagator.getPosition(date, ephem.getFrame())
        theirs = np.array([p.getX(), p.getY(), p.getZ()])
        assert np.linalg.norm(r * 1000.0 - theirs) < 1e-5, (name, text)


def test_the_lageos2_cpf_predicts_the_real_normal_points_to_metres() -> None:
    """The ILRS normal points of LAGEOS-2 (tests/data/ilrs/lageos2_20160214.npt, real ranges from
    four stations placed by SLRF2014) against the SGF CPF of the same day, interpolated at each
    bounce time (transmit + half the flight) in ITRF: c * tof / 2 minus the station-satellite
    distance. Uncorrected ranges carry the troposphere (2 to 7 m at these elevations) and the CPF
    its prediction error; a time tag off by a second or a frame mix-up would give kilometres."""
    pytest.importorskip("orekit_jpype")
    from datetime import UTC, datetime
    from math import degrees

    from kizuna.eo.sensors import geodetic_to_itrf
    from kizuna.formats.crd import read_crd
    from kizuna.ssa import od_slr
    from kizuna.ssa.visibility import topocentric

    data = Path(__file__).parent / "data"
    points = read_crd((data / "ilrs" / "lageos2_20160214.npt").read_text(), "lageos2_20160214.npt").records
    cpf = read_cpf((data / "orekit" / "Lageos2" / "lageos2_cpf_160213_5441.sgf").read_text(), "5441.sgf")
    eph = cpf_ephemeris(cpf)
    snx = data / "orekit" / "Lageos2"
    stations = od_slr.laser_stations(
        [7090, 7825, 7119, 7941],
        snx / "SLRF2014_POS+VEL_2030.0_200428.snx",
        snx / "ecc_une.snx",
        datetime(2016, 2, 13, 16, tzinfo=UTC),
    )
    residuals_m = []
    for pad, station in stations.items():
        point = station.getBaseFrame().getPoint()
        site, up = geodetic_to_itrf(
            np.array([degrees(point.getLatitude())]),
            np.array([degrees(point.getLongitude())]),
            np.array([point.getAltitude() / 1000.0]),
        )
        mine = [p for p in points if p.session.cdp_pad_id == pad and p.epoch_event == 2]  # transmit tags
        tof = np.array([p.time_of_flight_s for p in mine])
        bounce = np.array([p.epoch_utc for p in mine]) + (tof / 2 * 1e9).astype("int64").astype(
            "timedelta64[ns]"
        )
        r_km, _ = eph.interpolate(bounce)
        inside = np.isfinite(r_km[:, 0])  # the CPF covers the 13th; the normal points run into the 14th
        _, _, rng_km = topocentric(r_km[inside], site[0], up[0])
        residuals_m += ((tof[inside] * 299_792.458 / 2 - rng_km) * 1000.0).tolist()
    assert len(residuals_m) > 50
    assert np.max(np.abs(residuals_m)) < 8.0
    assert -1.0 < np.median(residuals_m) < 4.0  # the troposphere lengthens ranges
