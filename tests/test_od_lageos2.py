"""Orekit's LAGEOS-2 real-data orbit determination reproduced through Kizuna's path.

Reference: Orekit's ``NumericalOrbitDeterminationTest.testLageos2`` (src/test/java/org/orekit/
estimation/leastsquares/, with ``od_test_Lageos2.in``): 95 ILRS normal points of LAGEOS-2 from four
stations on 2016-02-13/14, 20x20 geopotential, Sun, Moon, relativity, station positions from
SLRF2014 and eccentricities from ILRS SINEX, solid tides, Shapiro, Mendes-Pavlis troposphere, a
0.251 m centre-of-mass offset, a range bias per station, Gauss-Newton. That test asserts 5
iterations and 5 evaluations; the estimated position within 0.62 m and velocity within 1.4e-4 m/s
of the CPF prediction ``lageos2_cpf_160213_5451.jax`` (ILRS); and range residual statistics (min
-0.756, max 0.845, mean 0.0, standard deviation 0.261 m) each within 0.62 m. The same numbers are
asserted here, against the reference taken from the ILRS CPF prediction that Orekit's test
directory holds (``lageos2_cpf_160213_5441.sgf``, SGF), read by Kizuna's CPF reader
(``formats.cpf``) and interpolated at the epoch: in EME2000 it lies 0.09 m and 0.4 mm/s from the
JAXA prediction's state Orekit hard-codes (that file is not distributed with its tests), so the
velocity is also checked against the quoted JAXA state at Orekit's own tolerance. The normal
points are read by Kizuna's CRD reader (``formats.crd``) and the measurements built by
``ssa.od_slr``; the initial state is the test's, the same CPF state coarsened to 10 m and 1 m/s.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("orekit_jpype")

from kizuna.formats.cpf import cpf_ephemeris, read_cpf  # noqa: E402
from kizuna.formats.crd import read_crd  # noqa: E402
from kizuna.ssa import od, od_slr  # noqa: E402

DATA = Path(__file__).parent / "data"
EPOCH = datetime(2016, 2, 13, 16, 0, tzinfo=UTC)
INITIAL = np.array([7526990.0, -9646310.0, 1464110.0, 3033.0, 1715.0, -4447.0])
CPF = DATA / "orekit" / "Lageos2" / "lageos2_cpf_160213_5441.sgf"
# the state Orekit's test compares with, from JAXA's CPF (lageos2_cpf_160213_5451.jax, not distributed
# with Orekit's tests), m and m/s, as Orekit's test quotes it
JAXA_5451 = np.array([7526994.072, -9646309.832, 1464110.239, 3033.794, 1715.265, -4447.659])


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    cpf = read_cpf(CPF.read_text(), CPF.name)
    assert cpf.issues == [] and (cpf.norad_id, cpf.target_name) == (22195, "lageos2")
    return od.reference_state(cpf_ephemeris(cpf), EPOCH)


def test_the_cpf_reference_is_orekits_reference_and_initial_state(reference) -> None:
    # the .jax prediction Orekit quotes, to its mm and mm/s digits plus the two producers' difference
    assert np.linalg.norm(reference[:3] - JAXA_5451[:3]) < 0.15
    assert np.linalg.norm(reference[3:] - JAXA_5451[3:]) < 1e-3
    # Orekit's initial orbit (od_test_Lageos2.in) is this state to 10 m and 1 m/s
    assert np.all(np.abs(reference[:3] - INITIAL[:3]) < 5.0)
    assert np.all(np.abs(reference[3:] - INITIAL[3:]) < 1.0)


def _measurements():  # noqa: ANN202
    npt = read_crd((DATA / "ilrs" / "lageos2_20160214.npt").read_text(), "lageos2_20160214.npt")
    assert npt.issues == []
    snx = DATA / "orekit" / "Lageos2"
    stations = od_slr.laser_stations(
        [7090, 7825, 7119, 7941], snx / "SLRF2014_POS+VEL_2030.0_200428.snx", snx / "ecc_une.snx", EPOCH
    )
    return od_slr.laser_measurements(
        npt.records, stations, sigma_m=20.0, center_of_mass_m=0.251, outlier_sigma=6.0
    )


def test_normal_points_fit_the_cpf_orbit_before_estimation(reference) -> None:
    """The cheap check of the measurement chain (stations from SINEX, two-way ranges halved, time
    tags, corrections): the 95 normal points against the CPF reference state propagated over the
    day, without estimation, agree to a few metres (4.5 m RMS: the reference differs from the
    fitted orbit by 0.6 m and 1.3e-4 m/s at epoch, which a day of propagation grows); a wrong
    station, a range not halved or a time tag off by a second would give kilometres."""
    orekit, ours = _measurements()
    assert len(orekit) == 95 and {m.station for m in ours} == {"7090", "7825", "7119", "7941"}
    builder = od.propagator_builder(EPOCH, reference, od.OdOptions(degree=20, drag=False, relativity=True))
    propagator = builder.buildPropagator(builder.getSelectedNormalizedParameters())
    for m in orekit:
        for driver in m.getParametersDrivers():
            if driver.getReferenceDate() is None:
                driver.setReferenceDate(m.getDate())
    residuals = []
    for m, k in zip(orekit, ours, strict=True):
        state = propagator.propagate(m.getDate())
        residuals.append(k.value[0] - float(m.estimateWithoutDerivatives([state]).getEstimatedValue()[0]))
    assert np.sqrt(np.mean(np.square(residuals))) < 6.0


@pytest.mark.slow  # about 20 s of CPU; over a minute on a loaded machine
def test_lageos2_reproduces_orekits_reference_case(reference) -> None:
    orekit, ours = _measurements()
    options = od.OdOptions(
        degree=20,
        drag=False,
        srp=False,
        relativity=True,
        optimizer="gauss-newton",
        position_scale_m=10.0,
        mass_kg=405.38,
        max_iterations=25,
        convergence=1e-3,
    )
    result = od.fit_prepared(orekit, ours, EPOCH, INITIAL, options)
    assert (result.iterations, result.evaluations) == (5, 5)
    assert np.linalg.norm(result.state[:3] - reference[:3]) < 0.62
    # the SGF and JAXA predictions differ by 0.4 mm/s at the epoch: Orekit's velocity tolerance,
    # 1.4e-4 m/s, holds against the JAXA state it quotes; against the SGF CPF, to a millimetre/s
    assert np.linalg.norm(result.state[3:] - reference[3:]) < 1e-3
    assert np.linalg.norm(result.state[3:] - JAXA_5451[3:]) < 1.4e-4
    # Orekit's statistics are of estimated - observed; Kizuna's residuals are observed - computed
    used = -np.array([r.residual for r in result.residuals if not r.rejected])
    assert len(used) == 95
    assert used.min() == pytest.approx(-0.756, abs=0.62)
    assert used.max() == pytest.approx(0.845, abs=0.62)
    assert used.mean() == pytest.approx(0.0, abs=0.62)
    assert used.std(ddof=1) == pytest.approx(0.261, abs=0.62)
    # tighter than Orekit asserts: the same fit, so the same residuals to the centimetre
    assert (used.min(), used.max(), used.std(ddof=1)) == pytest.approx((-0.756, 0.845, 0.261), abs=0.02)
    assert set(result.parameters) >= {f"{pad}/range-bias" for pad in (7090, 7825, 7119, 7941)}
    assert all(abs(v) < 1.0 for k, v in result.parameters.items() if k.endswith("range-bias"))
