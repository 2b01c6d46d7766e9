"""Two sets of positions of the same satellites, matched and differenced (catalog vs broadcast, vs SP3).

The sets name satellites differently (a catalog says ``NAVSTAR 80 (USA 309)``, a navigation file
``G11``), and no table of PRN assignments stays true for long (slots are reassigned as satellites
retire). The match is made from the orbits themselves: each pair's median distance over the common
times, one-to-one by minimum total distance (Hungarian algorithm), kept only under `max_match_km`.
Orbits of one system are thousands of kilometres apart while two descriptions of one satellite
differ by metres (broadcast vs precise) to kilometres (GP elements), so the match is unambiguous
when both sets describe the same days, and empty when they do not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from kizuna.orbit.geometry import to_rtn
from kizuna.pnt.systems import GnssSatellites

#: two descriptions of one GNSS satellite farther apart than this are two satellites
DEFAULT_MAX_MATCH_KM = 100.0


@dataclass(frozen=True)
class OrbitDifference:
    """One satellite in both sets: how far apart the two positions are over the common times."""

    name: str  # in the first set
    matched: str  # in the second set
    system: str
    times: int
    rms_km: float
    max_km: float
    rms_radial_km: float
    rms_along_km: float
    rms_cross_km: float

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _velocity_km_s(sats: GnssSatellites) -> np.ndarray:
    """Central differences of the positions (Earth-fixed) over the time grid: enough to orient RTN."""
    seconds = (sats.times_utc - sats.times_utc[0]).astype("int64") / 1e9
    if len(seconds) < 2:
        return np.full_like(sats.position_km, np.nan)
    return np.gradient(sats.position_km, seconds, axis=1)


def compare_positions(
    first: GnssSatellites, second: GnssSatellites, *, max_match_km: float = DEFAULT_MAX_MATCH_KM
) -> list[OrbitDifference]:
    """Match each satellite of `first` to at most one of `second` (same system, same times) and
    report their differences; the RTN split is in the frame of `first`'s orbit."""
    if first.times_utc.shape != second.times_utc.shape or np.any(first.times_utc != second.times_utc):
        raise ValueError("the two position sets must be on the same times")
    out: list[OrbitDifference] = []
    velocity = _velocity_km_s(first)
    for system in sorted(set(first.system.tolist()) & set(second.system.tolist())):
        ia = np.flatnonzero(first.system == system)
        ib = np.flatnonzero(second.system == system)
        a, b = first.position_km[ia], second.position_km[ib]  # (Na, T, 3), (Nb, T, 3)
        distance = np.linalg.norm(a[:, None] - b[None, :], axis=-1)  # (Na, Nb, T)
        with np.errstate(all="ignore"):
            typical = np.nanmedian(np.where(np.isfinite(distance), distance, np.nan), axis=-1)
        cost = np.where(np.isfinite(typical), typical, 1e12)
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols, strict=True):
            if not cost[r, c] <= max_match_km:
                continue
            d = distance[r, c]
            common = np.isfinite(d)
            delta = (b[c] - a[r])[common]
            rtn = to_rtn(a[r][common], velocity[ia[r]][common], delta)
            out.append(
                OrbitDifference(
                    name=str(first.name[ia[r]]),
                    matched=str(second.name[ib[c]]),
                    system=system,
                    times=int(common.sum()),
                    rms_km=float(np.sqrt(np.mean(d[common] ** 2))),
                    max_km=float(d[common].max()),
                    rms_radial_km=float(np.sqrt(np.nanmean(rtn[:, 0] ** 2))),
                    rms_along_km=float(np.sqrt(np.nanmean(rtn[:, 1] ** 2))),
                    rms_cross_km=float(np.sqrt(np.nanmean(rtn[:, 2] ** 2))),
                )
            )
    return out


__all__ = ["DEFAULT_MAX_MATCH_KM", "OrbitDifference", "compare_positions"]
