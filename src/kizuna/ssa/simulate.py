"""Simulated sensor observations of a truth orbit, as CCSDS TDMs.

For each sensor's detectable passes (``kizuna.ssa.visibility``), observations every ``cadence_s``
while the sensor detects the object, each with the sensor's noise (``sigma_*`` in the sensor file;
Gaussian, seeded) and optional constant biases:

- radar: RANGE [km], AZEL angles [deg] and DOPPLER_INSTANTANEOUS (range rate, km/s), PATH 1,2,1;
- optical: RADEC angles [deg], topocentric, GCRS axes (REFERENCE_FRAME ICRF), PATH 2,1; the noise is
  isotropic on the sky (the RA deviate is divided by cos(dec));
- laser: RANGE [km], PATH 1,2,1.

RANGE is the one-way equivalent (half the round-trip light path), tags are reception times
(TIMETAG_REF RECEIVE), and the object is placed where it was when the received light left it (one
light-time iteration in GCRS: the correction is under 1 microsecond of arc-time after it). The
site's WGS-84 coordinates ride in COMMENT lines so an orbit determination can rebuild the station.

The truth is an element set (SGP4) or a precise ephemeris (``kizuna.orbit.ephemeris``: an OEM
interpolated as it declares, a CPF prediction), whose passes come from
``visibility.find_passes_of_ephemeris``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from kizuna.formats.tdm import Observation, Tdm, TdmSegment
from kizuna.model.records import ElementSet
from kizuna.orbit import propagate
from kizuna.orbit.ephemeris import Ephemeris
from kizuna.orbit.frames import FrameRotation, TimeScales
from kizuna.orbit.timescale import iso_utc
from kizuna.ssa.sensors import SsaSensor
from kizuna.ssa.visibility import (
    SiteArrays,
    _Ephemerides,
    detection,
    find_passes,
    find_passes_of_ephemeris,
    topocentric,
)

Truth = ElementSet | Ephemeris


def truth_states(truth: Truth, times_utc: np.ndarray, frame: str) -> tuple[np.ndarray, np.ndarray]:
    """Position [km] and velocity [km/s] of the truth orbit at the times in ``frame``."""
    if isinstance(truth, Ephemeris):
        return truth.states(times_utc, frame)
    eph = propagate(truth, times_utc, frame)
    return eph.position_km[0], eph.velocity_kms[0]


C_KM_S = 299_792.458
ARCSEC_DEG = 1.0 / 3600.0


@dataclass
class Track:
    """Observations of one object by one sensor in one pass: truth and measured values per kind."""

    sensor: SsaSensor
    norad_id: int
    times_utc: np.ndarray  # datetime64[ns], reception
    truth: dict[str, np.ndarray]  # range_km, az_deg, el_deg, range_rate_kms, ra_deg, dec_deg
    measured: dict[str, np.ndarray] = field(default_factory=dict)
    bias: dict[str, float] = field(default_factory=dict)


def line_of_sight(
    element_set: Truth,
    times_utc: np.ndarray,
    site_r_itrf_km: np.ndarray,
    site_up: np.ndarray,
    *,
    light_time: bool = True,
) -> dict[str, np.ndarray]:
    """Topocentric range, azimuth/elevation (ITRF, geodetic up), range rate and RA/Dec (GCRS) of an
    object from a site at reception times (light time in GCRS when ``light_time``)."""
    t = np.asarray(times_utc, "datetime64[ns]")
    scales = TimeScales(t)
    to_itrf, to_gcrs = FrameRotation("itrf", scales), FrameRotation("gcrs", scales)
    site_teme = np.einsum("tji,j->ti", to_itrf.m, site_r_itrf_km)  # M^T r: ITRF -> TEME
    site_gcrs = np.einsum("tij,tj->ti", to_gcrs.m, site_teme)
    r_teme, v_teme = truth_states(element_set, t, "teme")
    r_gcrs = np.einsum("tij,tj->ti", to_gcrs.m, r_teme)
    if light_time:
        tau_s = np.linalg.norm(r_gcrs - site_gcrs, axis=-1) / C_KM_S
        t_ret = t - np.round(tau_s * 1e9).astype("int64").astype("timedelta64[ns]")
        r_gcrs = truth_states(element_set, t_ret, "gcrs")[0]
    los_gcrs = r_gcrs - site_gcrs
    ra = np.mod(np.degrees(np.arctan2(los_gcrs[:, 1], los_gcrs[:, 0])), 360.0)
    dec = np.degrees(np.arcsin(los_gcrs[:, 2] / np.linalg.norm(los_gcrs, axis=-1)))
    # the same line of sight in ITRF at reception: GCRS -> TEME -> ITRF
    los_teme = np.einsum("tji,tj->ti", to_gcrs.m, los_gcrs)
    los_itrf = np.einsum("tij,tj->ti", to_itrf.m, los_teme)
    az, el, rng = topocentric(site_r_itrf_km + los_itrf, site_r_itrf_km, site_up)
    # range rate in the Earth-fixed frame, where the site is at rest
    r_itrf, v_itrf = to_itrf.apply(r_teme[None], v_teme[None])
    rho = r_itrf[0] - site_r_itrf_km
    rr = np.einsum("ti,ti->t", rho, v_itrf[0]) / np.linalg.norm(rho, axis=-1)
    return {"range_km": rng, "az_deg": az, "el_deg": el, "range_rate_kms": rr, "ra_deg": ra, "dec_deg": dec}


def noise_sigmas(sensor: SsaSensor) -> dict[str, float]:
    """One-sigma noise per measured quantity, in the quantity's unit."""
    f = sensor.figures
    if sensor.kind == "radar":
        return {
            "range_km": f["sigma_range_m"] / 1000.0,
            "az_deg": f["sigma_angle_deg"],
            "el_deg": f["sigma_angle_deg"],
            "range_rate_kms": f["sigma_range_rate_m_s"] / 1000.0,
        }
    if sensor.kind == "optical":
        return {
            "ra_deg": f["sigma_angle_arcsec"] * ARCSEC_DEG,
            "dec_deg": f["sigma_angle_arcsec"] * ARCSEC_DEG,
        }
    if sensor.kind == "laser":
        return {"range_km": f["sigma_range_m"] / 1000.0}
    raise ValueError(f"{sensor.name}: {sensor.kind} sensors are not simulated")


def simulate(
    element_set: Truth,
    sensors: Sequence[SsaSensor],
    start_utc: object,
    stop_utc: object,
    *,
    cadence_s: float = 10.0,
    seed: int = 0,
    noise: bool = True,
    biases: Mapping[str, Mapping[str, float]] | None = None,
    random_biases: bool = False,
    diameter_m: float = 1.0,
    retroreflectors: Collection[int] = (),
    light_time: bool = True,
    norad_id: int = 0,
) -> list[Track]:
    """Observations of one object by each sensor over its detectable passes (module docstring).
    ``biases`` maps a sensor name to constant offsets per quantity (``range_km``, ``az_deg``, ...);
    ``random_biases`` draws one per sensor and quantity from N(0, sigma) instead (seeded). An
    ephemeris truth is named by ``norad_id`` (an element set carries its own)."""
    rng = np.random.default_rng(seed)
    if isinstance(element_set, Ephemeris):
        passes = find_passes_of_ephemeris(
            element_set,
            norad_id,
            sensors,
            start_utc,
            stop_utc,
            diameter_m=diameter_m,
            retroreflectors=retroreflectors,
        )
    else:
        norad_id = element_set.norad_id
        passes = find_passes(
            [element_set],
            sensors,
            start_utc,
            stop_utc,
            default_diameter_m=diameter_m,
            retroreflectors=retroreflectors,
        )
    passes = passes.select(passes.detectable)
    sites = SiteArrays.of(sensors)
    ephem = _Ephemerides(passes.period_start_utc, passes.period_stop_utc)
    step = np.timedelta64(int(round(cadence_s * 1e9)), "ns")
    tracks: list[Track] = []
    retro = np.array([norad_id in set(retroreflectors)])
    for j, sensor in enumerate(sites.sensors):
        sigmas = noise_sigmas(sensor)
        if random_biases:
            bias = {k: float(rng.normal(0.0, s)) for k, s in sigmas.items()}
        else:
            bias = {k: float(v) for k, v in (biases or {}).get(sensor.name, {}).items()}
        mine = passes.select(passes.sensor == sensor.name)
        for a, b in zip(mine.detect_start_utc, mine.detect_stop_utc, strict=True):
            # instants on the cadence grid from the period start, inside the detectable arc
            k0 = -(-(a - passes.period_start_utc) // step)
            k1 = (b - passes.period_start_utc) // step
            if k1 < k0:
                continue
            times = passes.period_start_utc + np.arange(k0, k1 + 1) * step
            truth = line_of_sight(element_set, times, sites.r_km[j], sites.up[j], light_time=light_time)
            # detection is rechecked at each instant (the pass's arc is bounded to its sample spacing)
            r_itrf, _ = truth_states(element_set, times, "itrf")
            sun, moon = ephem.at(times)
            ok, _ = detection(
                sensor,
                r_itrf,
                sites.r_km[j],
                sites.up[j],
                sun,
                moon,
                np.full(len(times), diameter_m),
                np.repeat(retro, len(times)),
            )
            if not ok.any():
                continue
            times = times[ok]
            truth = {k: v[ok] for k, v in truth.items()}
            measured = {}
            for key, sigma in sigmas.items():
                deviate = rng.normal(0.0, sigma, len(times)) if noise else np.zeros(len(times))
                if key == "ra_deg":  # isotropic on the sky
                    deviate = deviate / np.cos(np.radians(truth["dec_deg"]))
                value = truth[key] + deviate + bias.get(key, 0.0)
                measured[key] = np.mod(value, 360.0) if key in ("ra_deg", "az_deg") else value
            tracks.append(Track(sensor, norad_id, times, truth, measured, bias))
    return tracks


_KEYWORDS = {
    "range_km": "RANGE",
    "az_deg": "ANGLE_1",
    "el_deg": "ANGLE_2",
    "ra_deg": "ANGLE_1",
    "dec_deg": "ANGLE_2",
    "range_rate_kms": "DOPPLER_INSTANTANEOUS",
}


def to_tdm(tracks: Sequence[Track], object_name: str, originator: str = "KIZUNA") -> Tdm:
    """One TDM for one sensor's tracks of one object: a segment per pass."""
    if not tracks:
        raise ValueError("no tracks to write")
    sensor = tracks[0].sensor
    if any(t.sensor.name != sensor.name for t in tracks):
        raise ValueError("one TDM holds one sensor's tracks")
    site = sensor.site
    comments = [
        f"Simulated observations of {object_name} by {sensor.name} ({sensor.kind}, {sensor.operator})",
    ]
    if site is not None:
        comments.append(
            f"SITE {sensor.name} LAT_DEG {site.lat_deg:.6f} LON_DEG {site.lon_deg:.6f} ALT_M {site.alt_m:.1f} (WGS-84)"
        )
    sig = noise_sigmas(sensor)
    comments.append("NOISE_SIGMA " + " ".join(f"{k} {v:.6g}" for k, v in sig.items()))
    bias = tracks[0].bias
    if bias:
        comments.append("TRUE_BIAS " + " ".join(f"{k} {v:.6g}" for k, v in bias.items()))
    tdm = Tdm(
        version="2.0",
        header={"CREATION_DATE": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "ORIGINATOR": originator},
        header_comments=comments,
        file=f"{sensor.name}.tdm",
    )
    two_way = sensor.kind in ("radar", "laser")
    for n, track in enumerate(tracks):
        meta = {
            "TRACK_ID": f"{sensor.name}-{track.norad_id}-{n + 1}",
            "TIME_SYSTEM": "UTC",
            "START_TIME": iso_utc(track.times_utc[:1])[0].rstrip("Z"),
            "STOP_TIME": iso_utc(track.times_utc[-1:])[0].rstrip("Z"),
            "PARTICIPANT_1": sensor.name,
            "PARTICIPANT_2": object_name,
            "MODE": "SEQUENTIAL",
            "PATH": "1,2,1" if two_way else "2,1",
            "TIMETAG_REF": "RECEIVE",
        }
        if "range_km" in track.measured:
            meta["RANGE_UNITS"] = "km"
        if "az_deg" in track.measured:
            meta["ANGLE_TYPE"] = "AZEL"
        if "ra_deg" in track.measured:
            meta["ANGLE_TYPE"] = "RADEC"
            meta["REFERENCE_FRAME"] = "ICRF"  # GCRS axes are the ICRS axes; the TDM names ICRF
        segment = TdmSegment(metadata=meta)
        stamps = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in iso_utc(track.times_utc)]
        for i, epoch in enumerate(stamps):
            for key in ("range_km", "az_deg", "ra_deg", "el_deg", "dec_deg", "range_rate_kms"):
                if key in track.measured:
                    segment.observations.append(
                        Observation(_KEYWORDS[key], epoch, float(track.measured[key][i]))
                    )
        tdm.segments.append(segment)
    return tdm


def chi_square_bounds(dof: int, z: float = 4.0) -> tuple[float, float]:
    """Wilson-Hilferty bounds of a chi-square variable with ``dof`` degrees of freedom, ``z`` sigmas."""
    a = 2.0 / (9.0 * dof)
    return dof * (1 - a - z * math.sqrt(a)) ** 3, dof * (1 - a + z * math.sqrt(a)) ** 3
