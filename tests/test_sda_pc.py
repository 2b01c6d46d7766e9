"""Pc against published NASA CARA vectors (nasa/CARA_Analysis_Tools, NOSA 1.3).

- 53 real CARA CDMs with CARA's PcCircle 2-D Pc (column Pc2D). CARA's README puts differences
  between Matlab/BLAS builds near 1e-8 relative; our 1-D integral of the same Foster model
  agrees to 1.7e-8 worst case, so the test allows 1e-7 relative.
- Alfano (2009) cases 1-11 (states and covariances at TCA, inputs from Alfano's own
  spreadsheets) against CARA_Pc2D; case 12 has zero relative velocity, where CARA gives NaN and
  so do we (ValueError). Worst case here 9e-8 relative; allowed 1e-6.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from tests.conftest import shared

from kizuna.formats.cdm import read_cdm
from kizuna.sda.pc import (
    _principal,
    encounter_plane,
    pc_chan,
    pc_foster,
    pc_isotropic,
    pc_max_isotropic,
    pc_max_scaled,
    rtn_to_inertial_cov,
)


def _cara_rows():
    path = shared("cdm_pc/cara/PcTestCaseCDMs/CARA_PcMethod_Test_Conjunctions__Sheet1.csv")
    with path.open() as fh:
        return path.parent, list(csv.DictReader(fh))


def _plane_from_cdm(cdm):
    o1, o2 = cdm.objects
    r1, v1 = o1.state_km()
    r2, v2 = o2.state_km()
    c1 = rtn_to_inertial_cov(o1.covariance_rtn_km2(), r1, v1)
    c2 = rtn_to_inertial_cov(o2.covariance_rtn_km2(), r2, v2)
    return encounter_plane(r1, v1, c1, r2, v2, c2)


def test_foster_matches_cara_pc2d_on_53_cdms():
    base, rows = _cara_rows()
    assert len(rows) == 53
    worst = 0.0
    for row in rows:
        cdm = read_cdm((base / f"{row['Conjunction_ID']}.cdm").read_text(), row["Conjunction_ID"])
        plane = _plane_from_cdm(cdm)
        hbr_km = float(row["HBR_m"]) / 1000.0
        assert cdm.hbr_m() == pytest.approx(float(row["HBR_m"]))
        # miss distance (|r2 - r1| at the CDM's TCA) and relative speed as CARA tabulates them
        (r1, _v1), (r2, _v2) = cdm.objects[0].state_km(), cdm.objects[1].state_km()
        assert np.linalg.norm(r2 - r1) * 1000 == pytest.approx(float(row["MissDist_m"]), abs=1e-3)
        assert plane.rel_speed_kms * 1000 == pytest.approx(float(row["Vrel_mps"]), abs=1e-3)
        pc = pc_foster(plane.miss_2d_km, plane.cov_2d_km2, hbr_km)
        ref = float(row["Pc2D"])
        worst = max(worst, abs(pc - ref) / ref)
        assert pc == pytest.approx(ref, rel=1e-7), row["Conjunction_ID"]
    assert worst < 1e-7


def _alfano_inputs(path):
    rows = list(csv.reader(path.open()))
    out = {}
    for i, r in enumerate(rows):
        label = r[0] if r else ""
        for who in ("Primary", "Secondary"):
            for what, n in (("position", 1), ("velocity", 1), ("covariance", 6)):
                if label.startswith(f"{who} Object ECI {what}"):
                    vals = [[float(x) for x in rows[i + 2 + k][:6] if x != ""] for k in range(n)]
                    out[(who, what)] = np.array(vals).squeeze() * (1e-3 if what != "covariance" else 1e-6)
    return out


def test_alfano_2009_cases_match_cara_pc2d():
    table = shared("cdm_pc/cara/A09TestCases_01_12_Distributed.csv")
    checked = 0
    for row in csv.DictReader(table.open()):
        case = int(row["Case"])
        s = _alfano_inputs(shared(f"cdm_pc/cara/Alfano_2009_Test_Cases/Case{case}_data_at_TCA__Sheet1.csv"))
        args = (
            s["Primary", "position"],
            s["Primary", "velocity"],
            s["Primary", "covariance"],
            s["Secondary", "position"],
            s["Secondary", "velocity"],
            s["Secondary", "covariance"],
        )
        ref = float(row["CARA_Pc2D"])
        if math.isnan(ref):  # case 12: zero relative velocity, no 2-D encounter plane
            with pytest.raises(ValueError, match="zero relative velocity"):
                encounter_plane(*args)
            continue
        plane = encounter_plane(*args)
        pc = pc_foster(plane.miss_2d_km, plane.cov_2d_km2, float(row["HBR"]) / 1000.0)
        assert pc == pytest.approx(ref, rel=1e-6), case
        checked += 1
    assert checked == 11


def test_chan_agrees_with_foster_where_it_applies():
    """Chan's equivalent-area series is accurate when the hard-body disk is small against the
    narrowest sigma (Chan 2008, ch. 5: R/sigma_min small): there it must agree to 1 %.
    Where it does not apply (R/sigma_min large, strongly elongated) it can be off by 90 %,
    which is why Foster's integral is the primary method and Chan only a cross-check."""
    base, rows = _cara_rows()
    applicable = 0
    for row in rows:
        cdm = read_cdm((base / f"{row['Conjunction_ID']}.cdm").read_text())
        plane = _plane_from_cdm(cdm)
        hbr_km = float(row["HBR_m"]) / 1000.0
        _x, _y, sx, sy = _principal(plane.miss_2d_km, plane.cov_2d_km2)
        if hbr_km / min(sx, sy) <= 0.1:
            applicable += 1
            foster = pc_foster(plane.miss_2d_km, plane.cov_2d_km2, hbr_km)
            assert pc_chan(plane.miss_2d_km, plane.cov_2d_km2, hbr_km) == pytest.approx(foster, rel=1e-2)
    assert applicable >= 5


def test_chan_and_foster_equal_for_circular_covariance():
    """For a circular covariance both are exact (Rician / non-central chi-square)."""
    for d, r, s in [(0.2, 0.02, 0.1), (1.0, 0.01, 0.3), (0.05, 0.03, 0.02)]:
        cov = np.eye(2) * s**2
        exact = float(pc_isotropic(d, r, s))
        assert pc_foster(np.array([d, 0.0]), cov, r) == pytest.approx(exact, rel=1e-9)
        assert pc_chan(np.array([d, 0.0]), cov, r) == pytest.approx(exact, rel=1e-9)


def test_max_pc_closed_form():
    """Alfano (2005): for R << d the maximum over sigma is R^2 / (e d^2) at sigma = d / sqrt(2)."""
    pc, sigma = pc_max_isotropic(2.0, 0.01)
    assert pc == pytest.approx(0.01**2 / (math.e * 4.0), rel=1e-4)
    assert sigma == pytest.approx(2.0 / math.sqrt(2.0), rel=1e-3)
    assert pc_max_isotropic(0.001, 0.01)[0] == 1.0  # hard bodies overlap
    # scaling a real covariance never gives less than the CDM's own Pc
    base, rows = _cara_rows()
    cdm = read_cdm((base / f"{rows[0]['Conjunction_ID']}.cdm").read_text())
    plane = _plane_from_cdm(cdm)
    pmax, k = pc_max_scaled(plane.miss_2d_km, plane.cov_2d_km2, 0.01)
    assert pmax >= pc_foster(plane.miss_2d_km, plane.cov_2d_km2, 0.01) * (1 - 1e-9)
    assert pmax == pytest.approx(pc_foster(plane.miss_2d_km, plane.cov_2d_km2 * k**2, 0.01), rel=1e-9)


def test_screening_events_with_user_covariance_use_foster():
    """Isotropic sigma on both objects: Foster's 2-D Pc must equal the exact circular-covariance
    value (non-central chi-square) with sigma*sqrt(2); an object with no sigma keeps the max Pc."""
    import numpy as np

    from kizuna.sda.assess import with_covariance_pc
    from kizuna.sda.pc import pc_isotropic
    from kizuna.sda.records import ConjunctionEvent

    r1, v1 = np.array([7000.0, 0, 0]), np.array([0, 7.5, 0])
    # Radial miss, relative velocity in the along/cross-track plane: a true closest approach.
    r2, v2 = r1 + np.array([0.3, 0.0, 0.0]), np.array([0, 0, 7.5])
    base = ConjunctionEvent(
        primary=1,
        secondary=2,
        tca_utc=np.datetime64("2026-06-10T00:00:00", "ns"),
        miss_km=0.3,
        rel_speed_kms=10.6,
        radial_km=0.3,
        intrack_km=0.0,
        crosstrack_km=0.0,
        primary_teme=(*r1, *v1),
        secondary_teme=(*r2, *v2),
        primary_itrf=(0,) * 6,
        secondary_itrf=(0,) * 6,
        pc=1e-3,
        pc_method="ALFANO-2005-MAX-PC-ISOTROPIC",
        hbr_m=20.0,
        hbr_source="default+default",
    )
    (e,) = with_covariance_pc([base], {}, (0.2, 0.2, 0.2))
    expected = float(pc_isotropic(0.3, 0.02, 0.2 * np.sqrt(2.0)))
    assert e.pc == pytest.approx(expected, rel=1e-6)
    assert e.pc_method.startswith("FOSTER-1992") and "default" in e.pc_method
    (kept,) = with_covariance_pc([base], {1: (0.2, 0.2, 0.2)})
    assert kept.pc == base.pc and kept.pc_method == base.pc_method
