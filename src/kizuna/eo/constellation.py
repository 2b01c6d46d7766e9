"""Constellations: satellites chosen from the catalog, or designed (Walker delta/star, sun-synchronous).

A design becomes ordinary SGP4 mean elements (`ElementSet`), so designs and real satellites run
through the same propagation and access code.

References: J. G. Walker, "Satellite constellations", J. Brit. Interplanetary Soc. 37 (1984)
(T/P/F notation); Vallado, "Fundamentals of Astrodynamics and Applications", 4th ed., sec. 9.6
(J2 nodal regression, sun-synchronous inclination) and sec. 11.3 (Walker patterns).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime

import erfa
import numpy as np

from kizuna.model.constants import EARTH_RADIUS_WGS72_KM, J2_WGS72, MU_WGS72_KM3_S2, SECONDS_PER_DAY
from kizuna.model.constellation import Constellation, ConstellationError
from kizuna.model.records import ElementSet, utc
from kizuna.orbit.timescale import jd_pair

# Nodal regression rate that follows the mean Sun: 360 deg per tropical year.
SUN_SYNCHRONOUS_RATE_DEG_DAY = 360.0 / 365.2421897
# NORAD ids for designed satellites sit in the Alpha-5 analyst range so they never collide with
# real catalog numbers below 270000: upward from DESIGN_NORAD_BASE to the Alpha-5 maximum (Z9999),
# then upward from DESIGN_NORAD_FLOOR, 70,000 ids in all (more than MAX_DESIGN_SATELLITES).
DESIGN_NORAD_BASE = 300000
DESIGN_NORAD_FLOOR = 270000
ALPHA5_MAX_NORAD = 339999
# The largest design built: above today's largest filed shells (tens of thousands of satellites), and
# checked before any element set is made, so `walker:10000000/1/0:...` is an error, not 10 M objects.
MAX_DESIGN_SATELLITES = 50_000
# The source of a stored design saved without an epoch: it is rebuilt at each analysis's start, as an
# inline design is, so a design gives the same accesses whether it is named or written out.
DESIGN_AT_START = "design@start"


def mean_motion_revday(alt_km: float) -> float:
    """Two-body mean motion of a circular orbit at `alt_km` above the WGS-72 equatorial radius."""
    a_km = EARTH_RADIUS_WGS72_KM + alt_km
    return math.sqrt(MU_WGS72_KM3_S2 / a_km**3) * SECONDS_PER_DAY / (2.0 * math.pi)


def sun_synchronous_inclination_deg(alt_km: float, eccentricity: float = 0.0) -> float:
    """Inclination whose J2 nodal regression equals the mean Sun's motion (Vallado eq. 9-37).

    dOmega/dt = -3/2 n J2 (R/p)^2 cos i, solved for i with dOmega/dt = 360 deg / tropical year.
    """
    a_km = EARTH_RADIUS_WGS72_KM + alt_km
    n_rad_s = math.sqrt(MU_WGS72_KM3_S2 / a_km**3)
    p_km = a_km * (1.0 - eccentricity**2)
    rate_rad_s = math.radians(SUN_SYNCHRONOUS_RATE_DEG_DAY) / SECONDS_PER_DAY
    cos_i = -rate_rad_s / (1.5 * n_rad_s * J2_WGS72 * (EARTH_RADIUS_WGS72_KM / p_km) ** 2)
    if not -1.0 <= cos_i <= 1.0:
        raise ConstellationError(f"no sun-synchronous orbit at {alt_km} km (cos i = {cos_i:.3f})")
    return math.degrees(math.acos(cos_i))


def sun_right_ascension_deg(epoch_utc: datetime) -> float:
    """Right ascension of the Sun (geocentric, GCRS, aberration ignored) from ERFA's epv00."""
    jd, fr = jd_pair(np.array([np.datetime64(utc(epoch_utc).replace(tzinfo=None), "ns")]))
    # TT - UTC is about 69 s; one minute moves the Sun by 0.04 arcmin, irrelevant for an LTAN.
    pvh, _ = erfa.epv00(jd[0], fr[0] + 69.184 / SECONDS_PER_DAY)
    sun = -np.asarray(pvh["p"])
    return math.degrees(math.atan2(sun[1], sun[0])) % 360.0


def design_norad_id(first_norad: int, k: int) -> int:
    """The NORAD id of the k-th satellite of a design numbered from `first_norad`: past the Alpha-5
    maximum the numbering continues at DESIGN_NORAD_FLOOR."""
    norad = first_norad + k
    return norad if norad <= ALPHA5_MAX_NORAD else DESIGN_NORAD_FLOOR + norad - ALPHA5_MAX_NORAD - 1


def _element_set(
    norad: int,
    name: str,
    epoch: datetime,
    alt_km: float,
    inc_deg: float,
    raan_deg: float,
    mean_anomaly_deg: float,
) -> ElementSet:
    return ElementSet(
        norad_id=norad,
        epoch_utc=epoch,
        mean_motion_revday=mean_motion_revday(alt_km),
        eccentricity=0.0,
        inclination_deg=inc_deg,
        raan_deg=raan_deg % 360.0,
        arg_perigee_deg=0.0,
        mean_anomaly_deg=mean_anomaly_deg % 360.0,
        object_name=name,
        source="design",
    )


def walker(
    total: int,
    planes: int,
    phasing: int,
    alt_km: float,
    inc_deg: float,
    epoch_utc: datetime,
    *,
    raan_spread_deg: float = 360.0,
    raan0_deg: float = 0.0,
    name: str | None = None,
    first_norad: int = DESIGN_NORAD_BASE,
) -> Constellation:
    """Walker pattern T/P/F: P planes spread over `raan_spread_deg` (360 delta, 180 star).

    Satellite s of plane p has RAAN raan0 + p * spread / P and argument of latitude
    s * 360 / S + p * F * 360 / T (Walker 1984), with S = T / P satellites per plane.
    """
    if total < 1 or planes < 1 or total % planes:
        raise ConstellationError(
            f"walker {total}/{planes}/{phasing}: total must be a positive multiple of planes"
        )
    if total > MAX_DESIGN_SATELLITES:
        raise ConstellationError(
            f"walker {total}/{planes}/{phasing}: more than {MAX_DESIGN_SATELLITES} satellites in one design"
        )
    if not 0 <= phasing < planes:
        raise ConstellationError(f"walker {total}/{planes}/{phasing}: phasing F must be 0..P-1")
    if not 150.0 <= alt_km <= 40000.0:
        raise ConstellationError(f"walker altitude {alt_km} km is not an Earth orbit (150-40000 km)")
    if not 0.0 <= inc_deg <= 180.0:
        raise ConstellationError(f"walker inclination {inc_deg} deg outside 0..180")
    per_plane = total // planes
    epoch = utc(epoch_utc)
    design = f"walker:{total}/{planes}/{phasing}:{alt_km:g}:{inc_deg:g}"
    name = name or design
    sets = []
    for p in range(planes):
        for s in range(per_plane):
            sets.append(
                _element_set(
                    design_norad_id(first_norad, p * per_plane + s),
                    f"{name} P{p + 1}S{s + 1}",
                    epoch,
                    alt_km,
                    inc_deg,
                    raan0_deg + p * raan_spread_deg / planes,
                    s * 360.0 / per_plane + p * phasing * 360.0 / total,
                )
            )
    return Constellation(
        name=name,
        element_sets=tuple(sets),
        design=design,
        source="design",
        notes={"raan_spread_deg": raan_spread_deg},
    )


def sun_synchronous(
    alt_km: float,
    ltan_h: float,
    epoch_utc: datetime,
    *,
    count: int = 1,
    name: str = "SSO",
    first_norad: int = DESIGN_NORAD_BASE + 9000,
) -> Constellation:
    """`count` satellites evenly phased in one sun-synchronous plane with the given local time of
    the ascending node (hours); RAAN = RA of the mean Sun + 15 deg/h * (LTAN - 12)."""
    if not 1 <= count <= MAX_DESIGN_SATELLITES:
        raise ConstellationError(f"sso: {count} satellites; a plane holds 1..{MAX_DESIGN_SATELLITES}")
    if not 150.0 <= alt_km <= 40000.0:
        raise ConstellationError(f"sso altitude {alt_km} km is not an Earth orbit (150-40000 km)")
    if not 0.0 <= ltan_h <= 24.0:
        raise ConstellationError(f"sso local time of ascending node {ltan_h} h outside 0..24")
    epoch = utc(epoch_utc)
    inc = sun_synchronous_inclination_deg(alt_km)
    raan = sun_right_ascension_deg(epoch) + 15.0 * (ltan_h - 12.0)
    sets = tuple(
        _element_set(
            design_norad_id(first_norad, k), f"{name}-{k + 1}", epoch, alt_km, inc, raan, k * 360.0 / count
        )
        for k in range(count)
    )
    return Constellation(
        name=name, element_sets=sets, design=f"sso:{count}:{alt_km:g}:{ltan_h:g}", source="design"
    )


_WALKER = re.compile(r"^walker:(\d+)/(\d+)/(\d+):([0-9.]+):([0-9.]+)(?::(delta|star))?$", re.I)
_SSO = re.compile(r"^sso:(\d+):([0-9.]+):([0-9.]+)$", re.I)


def is_design(text: str) -> bool:
    return text.lower().startswith(("walker:", "sso:"))


def parse_design(text: str, epoch_utc: datetime) -> Constellation:
    """`walker:T/P/F:ALT_KM:INC_DEG[:delta|star]` or `sso:COUNT:ALT_KM:LTAN_H`."""
    m = _WALKER.match(text.strip())
    if m:
        t, p, f = (int(m.group(k)) for k in (1, 2, 3))
        spread = 180.0 if (m.group(6) or "delta").lower() == "star" else 360.0
        return walker(t, p, f, float(m.group(4)), float(m.group(5)), epoch_utc, raan_spread_deg=spread)
    m = _SSO.match(text.strip())
    if m:
        return sun_synchronous(float(m.group(2)), float(m.group(3)), epoch_utc, count=int(m.group(1)))
    raise ConstellationError(
        f"cannot read design {text!r}: use walker:T/P/F:ALT_KM:INC_DEG"
        "[:delta|star] (e.g. walker:36/4/1:575:42) or sso:COUNT:ALT_KM:LTAN_H"
    )


def at_analysis_start(c: Constellation, start_utc: datetime) -> Constellation:
    """`c` for an analysis starting at `start_utc`: a design stored with source DESIGN_AT_START is
    rebuilt from its design text at that epoch (keeping its stored name); anything else as stored."""
    if c.source != DESIGN_AT_START or c.design is None:
        return c
    built = parse_design(c.design, start_utc)
    return Constellation(
        name=c.name,
        element_sets=built.element_sets,
        design=c.design,
        source=DESIGN_AT_START,
        notes=built.notes,
    )


def from_element_sets(
    name: str,
    element_sets: Sequence[ElementSet],
    *,
    prefix: str | None = None,
) -> Constellation:
    """A catalog selection: the element sets whose object name starts with `prefix` (case-blind)."""
    sets = [
        es
        for es in element_sets
        if prefix is None or (es.object_name or "").upper().startswith(prefix.upper())
    ]
    if not sets:
        raise ConstellationError(
            f"no catalog object named {prefix or name!r}*: the constellation {name!r} would be empty"
        )
    sets.sort(key=lambda es: es.norad_id)
    return Constellation(name=name, element_sets=tuple(sets), design=None, source="catalog")
