"""Vectorized SGP4 for N element sets x T times, in bounded-memory chunks.

Built on sgp4's `SatrecArray` (Vallado's reference C++ SGP4). As in sgp4's own
array API, an SGP4 failure (decay, eccentricity out of range) marks that
object's states NaN with a nonzero error code; it never stops the run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sgp4.api import SGP4_ERRORS, WGS72, Satrec, SatrecArray

from kizuna.model.records import ElementSet
from kizuna.orbit.frames import FrameRotation, TimeScales, itrf_to_geodetic
from kizuna.orbit.timescale import JD_UNIX_EPOCH, as_datetime64, jd_pair

FRAMES = ("teme", "itrf", "gcrs")
_EPOCH0_1949 = datetime(1949, 12, 31)
_UNIX_EPOCH = datetime(1970, 1, 1)
_XPDOTP = 1440.0 / (2.0 * math.pi)  # rev/day -> rad/min
_DEG = math.pi / 180.0
#: states per chunk (objects x times): about 100 MB of float64 positions and velocities. A
#: consumer holding one chunk while the next is computed needs about twice that.
DEFAULT_CHUNK_STATES = 2_000_000


@dataclass(frozen=True)
class ObjectError:
    """An object SGP4 could not propagate over some or all of the requested times."""

    norad_id: int
    code: int
    message: str
    first_error_utc: np.datetime64
    failed_steps: int
    total_steps: int

    def as_dict(self) -> dict[str, object]:
        return {
            "norad_id": self.norad_id,
            "code": self.code,
            "message": self.message,
            "first_error_utc": f"{np.datetime_as_string(self.first_error_utc, unit='ms')}Z",
            "failed_steps": self.failed_steps,
            "total_steps": self.total_steps,
        }


@dataclass
class Ephemeris:
    """States of N objects at T times: `position_km[i, j]` is object i at time j."""

    norad_ids: np.ndarray  # (N,) int64
    times_utc: np.ndarray  # (T,) datetime64[ns]
    position_km: np.ndarray  # (N, T, 3)
    velocity_kms: np.ndarray  # (N, T, 3)
    error_code: np.ndarray  # (N, T) uint8, 0 = good
    frame: str
    eop_extrapolated: bool = False

    @property
    def ok(self) -> np.ndarray:
        return self.error_code == 0

    def errors(self) -> list[ObjectError]:
        out: list[ObjectError] = []
        bad_rows = np.flatnonzero(np.any(self.error_code != 0, axis=1))
        for i in bad_rows:
            codes = self.error_code[i]
            j = int(np.argmax(codes != 0))
            code = int(codes[j])
            out.append(
                ObjectError(
                    norad_id=int(self.norad_ids[i]),
                    code=code,
                    message=SGP4_ERRORS.get(code, f"SGP4 error {code}"),
                    first_error_utc=self.times_utc[j],
                    failed_steps=int(np.count_nonzero(codes)),
                    total_steps=len(codes),
                )
            )
        return out

    def geodetic(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """WGS-84 latitude, longitude [deg] and altitude [km] (ITRF frame only)."""
        if self.frame != "itrf":
            raise ValueError("geodetic coordinates need an ITRF ephemeris (frame='itrf')")
        return itrf_to_geodetic(self.position_km)


def satrec_from_element_set(es: ElementSet) -> Satrec:
    """Initialise SGP4 from mean elements exactly as sgp4's own OMM path does."""
    sat = Satrec()
    epoch_naive = es.epoch_utc.replace(tzinfo=None)
    epoch_days = (epoch_naive - _EPOCH0_1949).total_seconds() / 86400.0
    sat.sgp4init(
        WGS72,
        "i",
        es.norad_id if es.norad_id < 100000 else 0,
        epoch_days,
        es.bstar_per_er,
        es.mean_motion_dot_revday2 / (_XPDOTP * 1440.0),
        es.mean_motion_ddot_revday3 / (_XPDOTP * 1440.0 * 1440.0),
        es.eccentricity,
        es.arg_perigee_deg * _DEG,
        es.inclination_deg * _DEG,
        es.mean_anomaly_deg * _DEG,
        es.mean_motion_revday / _XPDOTP,
        es.raan_deg * _DEG,
    )
    # sgp4init takes the epoch as one double (days since 1949), good to ~0.2 us; the
    # propagation reads this (day, fraction) pair instead, so give it the exact epoch, as
    # twoline2rv does from the TLE text. A TLE epoch is a whole number of microseconds.
    whole_days = (epoch_naive - _UNIX_EPOCH).days
    micro = (epoch_naive - _UNIX_EPOCH - timedelta(days=whole_days)) // timedelta(microseconds=1)
    sat.jdsatepoch = JD_UNIX_EPOCH + whole_days
    sat.jdsatepochF = micro / 86_400_000_000
    return sat


def _chunk_size(n_objects: int, n_times: int, chunk_states: int) -> int:
    return max(1, min(n_objects, chunk_states // max(n_times, 1)))


def iter_propagate(
    element_sets: Sequence[ElementSet],
    times: object,
    frame: str = "teme",
    *,
    chunk_states: int = DEFAULT_CHUNK_STATES,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Ephemeris]:
    """Yield one Ephemeris per chunk of objects; memory is bounded by `chunk_states` (about
    2 x 48 bytes x chunk_states while the caller holds the previous chunk).

    `progress(n)` is called with the number of objects finished after each chunk.
    """
    frame = frame.lower()
    if frame not in FRAMES:
        raise ValueError(f"frame must be one of {', '.join(FRAMES)}")
    times_utc = as_datetime64(times)
    jd, fr = jd_pair(times_utc)
    scales = TimeScales(times_utc) if frame != "teme" and len(times_utc) else None
    # the per-time rotation once for every chunk: building it costs more than applying it
    rotation = FrameRotation(frame, scales) if scales is not None else None
    n_times = len(times_utc)
    size = _chunk_size(len(element_sets), n_times, chunk_states)
    for start in range(0, len(element_sets), size):
        batch = element_sets[start : start + size]
        sats = [satrec_from_element_set(es) for es in batch]
        e, r, v = SatrecArray(sats).sgp4(jd, fr)
        failed = e != 0
        if failed.any():
            # SGP4 still fills some failed states (e.g. after decay); never let them look valid.
            r[failed] = np.nan
            v[failed] = np.nan
        if rotation is not None:
            r, v = rotation.apply(r, v)
        yield Ephemeris(
            norad_ids=np.array([es.norad_id for es in batch], dtype="int64"),
            times_utc=times_utc,
            position_km=r,
            velocity_kms=v,
            error_code=e,
            frame=frame,
            eop_extrapolated=bool(scales.eop_extrapolated) if scales else False,
        )
        if progress:
            progress(len(batch))


def propagate(
    element_sets: Sequence[ElementSet] | ElementSet,
    times: object,
    frame: str = "teme",
    *,
    chunk_states: int = DEFAULT_CHUNK_STATES,
    progress: Callable[[int], None] | None = None,
) -> Ephemeris:
    """Propagate every element set to every time and return one Ephemeris.

    The work runs in chunks (see `iter_propagate`); only the result is held whole.
    Use `iter_propagate` to stream a catalog too large to hold at once.
    """
    if isinstance(element_sets, ElementSet):
        element_sets = [element_sets]
    times_utc = as_datetime64(times)
    n, t = len(element_sets), len(times_utc)
    position = np.empty((n, t, 3))
    velocity = np.empty((n, t, 3))
    codes = np.empty((n, t), dtype="uint8")
    extrapolated = False
    row = 0
    for part in iter_propagate(element_sets, times_utc, frame, chunk_states=chunk_states, progress=progress):
        k = len(part.norad_ids)
        position[row : row + k] = part.position_km
        velocity[row : row + k] = part.velocity_kms
        codes[row : row + k] = part.error_code
        extrapolated |= part.eop_extrapolated
        row += k
    return Ephemeris(
        norad_ids=np.array([es.norad_id for es in element_sets], dtype="int64"),
        times_utc=times_utc,
        position_km=position,
        velocity_kms=velocity,
        error_code=codes,
        frame=frame.lower(),
        eop_extrapolated=extrapolated,
    )
