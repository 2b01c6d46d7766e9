"""Proximity (RPO) watch: who comes close to protected assets, and how.

Assets and the catalog are propagated with SGP4 in TEME on a common time grid (kizuna.orbit, in chunks
of bounded memory). Between grid samples the relative motion is taken as straight-line (the usual
short-encounter assumption, e.g. Alfano, *Review of Conjunction Probability Methods*, 2007), so a fast
fly-by that crosses the range sphere between two samples is not missed. Each (asset, object) pair
that comes within the range is classified:

* ``co-location``: stays within R continuously for at least `co_location_hours`;
* ``approach``: the closest range per revolution of the asset keeps decreasing (most successive
  per-revolution minima lower than the previous one, and the last well below the first), ending within R;
* ``shadowing``: repeated entries within R at low relative speed (matched orbits), without a long dwell;
* ``close-approach``: anything else that enters R (a fly-by);
* ``maneuvered-then-approached`` (added to the above): a detected maneuver of the object is followed
  by closer approaches than before it.

The alert carries the evidence: per-revolution closest approaches (time, range, relative speed,
relative position in the asset's RTN frame), the samples within R, and the maneuvers involved.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from kizuna.model.constants import MU_WGS72_KM3_S2
from kizuna.model.records import ElementSet
from kizuna.orbit import iter_propagate, propagate, time_grid
from kizuna.orbit.geometry import to_rtn
from kizuna.orbit.timescale import as_datetime64, iso_utc
from kizuna.sda.maneuvers import Maneuver

PATTERNS = ("co-location", "approach", "shadowing", "close-approach", "maneuvered-then-approached")


@dataclass(frozen=True)
class ProximityConfig:
    step_s: float = 60.0
    co_location_hours: float = 6.0
    shadow_rel_speed_kms: float = 0.1
    approach_min_revs: int = 3
    approach_decreasing_fraction: float = 0.7
    approach_drop_fraction: float = 0.3  # last per-revolution minimum at most 70 % of the first
    maneuver_lookback_days: float = 7.0
    max_evidence_samples: int = 2000


@dataclass
class ProximityAlert:
    asset_norad: int
    object_norad: int
    object_name: str | None
    patterns: tuple[str, ...]
    range_km: float  # watch radius
    min_range_km: float
    tca_utc: np.datetime64
    rel_speed_at_tca_kms: float
    hours_within: float
    first_within_utc: np.datetime64
    last_within_utc: np.datetime64
    longest_dwell_h: float
    entries: int
    # Evidence: per-revolution closest approaches, and the grid samples within R.
    minima_utc: np.ndarray = field(repr=False)
    minima_range_km: np.ndarray = field(repr=False)
    minima_rel_speed_kms: np.ndarray = field(repr=False)
    minima_rtn_km: np.ndarray = field(repr=False)  # (M, 3) object minus asset in the asset's RTN frame
    within_utc: np.ndarray = field(
        repr=False
    )  # grid samples whose straight-line closest approach is within R
    within_range_km: np.ndarray = field(repr=False)
    within_rel_speed_kms: np.ndarray = field(repr=False)
    maneuvers: list[Maneuver] = field(default_factory=list)

    @property
    def pattern(self) -> str:
        return self.patterns[0]

    def as_row(self) -> dict[str, object]:
        return {
            "asset": self.asset_norad,
            "object": self.object_norad,
            "name": self.object_name,
            "patterns": list(self.patterns),
            "min_range_km": round(self.min_range_km, 3),
            "tca_utc": iso_utc(np.array([self.tca_utc]))[0],
            "rel_speed_at_tca_kms": round(self.rel_speed_at_tca_kms, 5),
            "hours_within": round(self.hours_within, 2),
            "longest_dwell_h": round(self.longest_dwell_h, 2),
            "entries": self.entries,
            "maneuvers": len(self.maneuvers),
        }

    def to_product_payload(self) -> dict[str, object]:
        """JSON-ready proximity alert with its evidence, for the sharing layer to mark and sign."""
        return {
            "product_type": "proximity_alert",
            **self.as_row(),
            "watch_range_km": self.range_km,
            "first_within_utc": iso_utc(np.array([self.first_within_utc]))[0],
            "last_within_utc": iso_utc(np.array([self.last_within_utc]))[0],
            "evidence": {
                "closest_per_revolution": [
                    {
                        "t_utc": t,
                        "range_km": round(float(r), 3),
                        "rel_speed_kms": round(float(v), 5),
                        "rtn_km": [round(float(c), 3) for c in rtn],
                    }
                    for t, r, v, rtn in zip(
                        iso_utc(self.minima_utc),
                        self.minima_range_km,
                        self.minima_rel_speed_kms,
                        self.minima_rtn_km,
                        strict=True,
                    )
                ],
                "within_range": {
                    "t_utc": iso_utc(self.within_utc),
                    "range_km": np.round(self.within_range_km, 3).tolist(),
                    "rel_speed_kms": np.round(self.within_rel_speed_kms, 5).tolist(),
                },
                "maneuvers": [m.to_product_payload() for m in self.maneuvers],
            },
        }


def _radii_km(sets: Sequence[ElementSet]) -> tuple[np.ndarray, np.ndarray]:
    n = np.array([s.mean_motion_revday for s in sets]) * 2 * math.pi / 86400.0
    a = np.cbrt(MU_WGS72_KM3_S2 / n**2)
    e = np.array([s.eccentricity for s in sets])
    return a * (1 - e), a * (1 + e)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of consecutive True runs (stop exclusive)."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def watch(
    assets: Sequence[ElementSet],
    catalog: Sequence[ElementSet],
    start: object,
    days: float,
    range_km: float,
    *,
    maneuvers: Mapping[int, Sequence[Maneuver]] | None = None,
    config: ProximityConfig | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[ProximityAlert]:
    """Every catalog object that comes within `range_km` of an asset during [start, start + days]."""
    cfg = config or ProximityConfig()
    t0 = as_datetime64(start)[0]
    times = time_grid(t0, t0 + np.timedelta64(int(days * 86400e9), "ns"), cfg.step_s)
    asset_ids = {s.norad_id for s in assets}
    others = [s for s in catalog if s.norad_id not in asset_ids]
    if not assets or not others:
        return []
    ap, aa = _radii_km(assets)
    cp, ca = _radii_km(others)
    # Radial shells must overlap (within R) for two objects ever to be within R of each other.
    shell = (cp[:, None] - range_km <= aa[None, :]) & (ca[:, None] + range_km >= ap[None, :])
    cand_idx = np.flatnonzero(shell.any(axis=1))
    cands = [others[i] for i in cand_idx]
    eph_a = propagate(list(assets), times)
    alerts: list[ProximityAlert] = []
    half = cfg.step_s / 2.0
    row = 0
    for part in iter_propagate(cands, times, chunk_states=1_000_000, progress=progress):
        k = len(part.norad_ids)
        for ia, asset in enumerate(assets):
            rows = np.flatnonzero(shell[cand_idx[row : row + k], ia])
            if not len(rows):
                continue
            dr = part.position_km[rows] - eph_a.position_km[ia][None]
            dv = part.velocity_kms[rows] - eph_a.velocity_kms[ia][None]
            rng = np.linalg.norm(dr, axis=-1)
            # Straight-line closest approach within half a step of each sample.
            vv = np.maximum(np.sum(dv * dv, -1), 1e-12)
            tau = np.clip(-np.sum(dr * dv, -1) / vv, -half, half)
            dmin = np.linalg.norm(dr + dv * tau[..., None], axis=-1)
            hit = np.flatnonzero(np.nanmin(np.where(np.isfinite(dmin), dmin, np.inf), axis=1) < range_km)
            for j in hit:
                i_cat = row + rows[j]
                obj = cands[i_cat]
                alerts.append(
                    _classify_pair(
                        asset,
                        obj,
                        times,
                        rng[j],
                        dmin[j],
                        tau[j],
                        dr[j],
                        dv[j],
                        eph_a.position_km[ia],
                        eph_a.velocity_kms[ia],
                        range_km,
                        cfg,
                        list((maneuvers or {}).get(obj.norad_id, ())),
                    )
                )
        row += k
    alerts.sort(key=lambda a: (a.min_range_km, a.asset_norad, a.object_norad))
    return alerts


def _classify_pair(
    asset: ElementSet,
    obj: ElementSet,
    times: np.ndarray,
    rng: np.ndarray,
    dmin: np.ndarray,
    tau: np.ndarray,
    dr: np.ndarray,
    dv: np.ndarray,
    r_a: np.ndarray,
    v_a: np.ndarray,
    range_km: float,
    cfg: ProximityConfig,
    object_maneuvers: list[Maneuver],
) -> ProximityAlert:
    ok = np.isfinite(dmin)
    dmin = np.where(ok, dmin, np.inf)
    speed = np.linalg.norm(dv, axis=-1)
    within = dmin < range_km
    runs = _runs(within)
    longest_h = max(((b - a) * cfg.step_s / 3600.0 for a, b in runs), default=0.0)
    i_tca = int(np.argmin(dmin))
    tca = times[i_tca] + np.timedelta64(int(round(tau[i_tca] * 1e9)), "ns")
    # Closest approach per revolution of the asset.
    period_s = 86400.0 / asset.mean_motion_revday
    sec = (times - times[0]).astype("int64") / 1e9
    rev = np.floor(sec / period_s).astype(int)
    nrev = rev.max() + 1
    order = np.lexsort((dmin, rev))
    first = np.concatenate([[True], rev[order][1:] != rev[order][:-1]])
    mins = order[first]
    full_rev = np.bincount(rev, minlength=nrev)[rev[mins]] >= 0.9 * period_s / cfg.step_s
    mins = mins[full_rev | (rev[mins] == rev[i_tca])]
    m_range = dmin[mins]
    # Evidence at the refined (straight-line) closest approach, not at the grid sample.
    m_tau = np.where(np.isfinite(tau[mins]), tau[mins], 0.0)
    m_utc = times[mins] + np.round(m_tau * 1e9).astype("int64").astype("timedelta64[ns]")
    rtn = to_rtn(r_a[mins], v_a[mins], dr[mins] + dv[mins] * m_tau[:, None])

    patterns: list[str] = []
    if longest_h >= cfg.co_location_hours:
        patterns.append("co-location")
    else:
        approach = False
        if len(m_range) >= cfg.approach_min_revs and np.all(np.isfinite(m_range)):
            dec = np.mean(np.diff(m_range) < 0)
            approach = (
                dec >= cfg.approach_decreasing_fraction
                and m_range[-1] <= (1 - cfg.approach_drop_fraction) * m_range[0]
                and m_range[-1] < range_km
            )
        if approach:
            patterns.append("approach")
        elif len(runs) >= 2 and float(np.median(speed[within])) < cfg.shadow_rel_speed_kms:
            patterns.append("shadowing")
        else:
            patterns.append("close-approach")
    involved: list[Maneuver] = []
    lookback = np.timedelta64(int(cfg.maneuver_lookback_days * 86400e9), "ns")
    for m in object_maneuvers:
        if not (times[0] - lookback <= m.t_utc <= times[-1]):
            continue
        before = dmin[times < m.t_utc]
        after = dmin[times >= m.t_utc]
        if (
            len(after)
            and float(after.min()) < range_km
            and (not len(before) or float(after.min()) < 0.8 * float(before.min()))
        ):
            involved.append(m)
    if involved:
        patterns.append("maneuvered-then-approached")
    sel = np.flatnonzero(within)[: cfg.max_evidence_samples]
    wi = np.flatnonzero(within)
    return ProximityAlert(
        asset_norad=asset.norad_id,
        object_norad=obj.norad_id,
        object_name=obj.object_name,
        patterns=tuple(patterns),
        range_km=range_km,
        min_range_km=float(dmin[i_tca]),
        tca_utc=tca,
        rel_speed_at_tca_kms=float(speed[i_tca]),
        hours_within=float(within.sum() * cfg.step_s / 3600.0),
        first_within_utc=times[wi[0]],
        last_within_utc=times[wi[-1]],
        longest_dwell_h=float(longest_h),
        entries=len(runs),
        minima_utc=m_utc,
        minima_range_km=m_range,
        minima_rel_speed_kms=speed[mins],
        minima_rtn_km=rtn,
        within_utc=times[sel],
        within_range_km=rng[sel],
        within_rel_speed_kms=speed[sel],
        maneuvers=involved,
    )
