"""Constellations composed from parts, and a bounded search for designs that meet a revisit target.

A composed design is a list of parts: real satellites (a catalog name prefix), Walker planes
(`walker:T/P/F:ALT_KM:INC_DEG[:delta|star]`) and sun-synchronous planes (`sso:COUNT:ALT_KM:LTAN_H`),
each with its own epoch or the analysis start. Designed satellites get NORAD ids from one pool
(`design_norad_pool`) shared by every part of the design and free of the catalog's ids, so no two
satellites of a design share an id and no designed satellite takes a real one.

The search enumerates Walker delta shells, sun-synchronous plane sets and Walker + sun-synchronous
mixes within a satellite budget, evaluates each with the same access and revisit functions as
`eo access` / `eo revisit`, and keeps the Pareto front of (satellites, maximum gap, mean response
time): the designs no other design beats on all three at once (Deb, "Multi-Objective Optimization
using Evolutionary Algorithms" (2001), sec. 2.4, non-dominated set).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from kizuna.eo.constellation import (
    ALPHA5_MAX_NORAD,
    DESIGN_NORAD_BASE,
    DESIGN_NORAD_FLOOR,
    MAX_DESIGN_SATELLITES,
    from_element_sets,
    is_design,
    parse_design,
    sun_synchronous_inclination_deg,
)
from kizuna.model.constellation import Constellation, ConstellationError
from kizuna.model.records import ElementSet, utc

if TYPE_CHECKING:  # the access engine (scipy) loads only when a search runs
    from kizuna.eo.access import Targets
    from kizuna.eo.revisit import RevisitDefinition
    from kizuna.eo.sensors import Sensor

#: The stored source of a composed design (store.schema.eo_constellation.source).
COMPOSED = "composed"
MAX_PARTS = 32

_WALKER_SIZE = re.compile(r"^walker:(\d+)/", re.I)
_SSO_SIZE = re.compile(r"^sso:(\d+):", re.I)


@dataclass(frozen=True)
class DesignPart:
    """One part of a composed design: `spec` is a design text or a catalog name prefix; `epoch_utc`
    None means the start of each analysis."""

    spec: str
    epoch_utc: datetime | None = None

    @property
    def designed(self) -> bool:
        return is_design(self.spec)

    def text(self) -> str:
        if self.epoch_utc is None:
            return self.spec
        return f"{self.spec}@{utc(self.epoch_utc).strftime('%Y-%m-%dT%H:%M:%SZ')}"

    def as_dict(self) -> dict[str, object]:
        return {
            "spec": self.spec,
            "epoch_utc": None if self.epoch_utc is None else utc(self.epoch_utc).isoformat(),
        }


def designed_size(spec: str) -> int:
    """Satellites in a design text, read before anything is built (0 for a catalog prefix)."""
    m = _WALKER_SIZE.match(spec.strip()) or _SSO_SIZE.match(spec.strip())
    return int(m.group(1)) if m else 0


def design_norad_pool(taken: Iterable[int], needed: int) -> list[int]:
    """`needed` NORAD ids for designed satellites, none in `taken` (the catalog's ids): upward from
    DESIGN_NORAD_BASE to the Alpha-5 maximum, then upward from DESIGN_NORAD_FLOOR."""
    taken_ids = np.unique(np.fromiter(taken, dtype=np.int64))
    candidates = np.r_[
        np.arange(DESIGN_NORAD_BASE, ALPHA5_MAX_NORAD + 1),
        np.arange(DESIGN_NORAD_FLOOR, DESIGN_NORAD_BASE),
    ]
    free = candidates[~np.isin(candidates, taken_ids)]
    if needed > len(free):
        raise ConstellationError(
            f"{needed} designed satellites need NORAD ids, only {len(free)} are free in "
            f"{DESIGN_NORAD_FLOOR}..{ALPHA5_MAX_NORAD} beside the catalog"
        )
    return [int(i) for i in free[:needed]]


def compose(
    name: str,
    parts: Sequence[DesignPart],
    start_utc: datetime,
    *,
    catalog: Callable[[str], Sequence[ElementSet]] = lambda prefix: (),
    catalog_ids: Iterable[int] = (),
) -> Constellation:
    """The satellites of `parts` for an analysis starting at `start_utc`.

    `catalog(prefix)` gives the newest element sets of catalog objects (any name containing the
    prefix; the prefix match is applied here) and `catalog_ids` every NORAD id the catalog holds in
    the design range. A real satellite named by two parts is counted once; designed satellites are
    numbered part after part from `design_norad_pool`."""
    if not parts:
        raise ConstellationError(f"design {name!r} has no parts")
    if len(parts) > MAX_PARTS:
        raise ConstellationError(f"design {name!r}: {len(parts)} parts, at most {MAX_PARTS}")
    needed = sum(designed_size(p.spec) for p in parts if p.designed)
    if needed > MAX_DESIGN_SATELLITES:
        raise ConstellationError(
            f"design {name!r}: {needed} designed satellites, more than {MAX_DESIGN_SATELLITES}"
        )
    real: dict[int, ElementSet] = {}
    built: list[tuple[int, Constellation]] = []
    for k, part in enumerate(parts):
        if part.designed:
            built.append((k, parse_design(part.spec, part.epoch_utc or start_utc)))
        else:
            selected = from_element_sets(part.spec, list(catalog(part.spec)), prefix=part.spec)
            for es in selected.element_sets:
                real.setdefault(es.norad_id, es)
    pool = iter(design_norad_pool({*catalog_ids, *real}, sum(len(c) for _, c in built)))
    sets = list(real.values())
    ranges: list[dict[str, object]] = []
    for k, c in built:
        ids = [next(pool) for _ in c.element_sets]
        sets.extend(
            replace(es, norad_id=i, object_name=f"{k + 1}:{es.object_name}")
            for i, es in zip(ids, c.element_sets, strict=True)
        )
        ranges.append({"part": k + 1, "spec": parts[k].spec, "norad_ids": _ranges(ids)})
    return Constellation(
        name=name,
        element_sets=tuple(sets),
        design=" + ".join(p.text() for p in parts),
        source=COMPOSED,
        notes={"parts": [p.as_dict() for p in parts], "designed_norad_ids": ranges},
    )


def _ranges(ids: list[int]) -> list[list[int]]:
    """Consecutive runs of `ids` as [first, last] pairs."""
    runs: list[list[int]] = []
    for i in ids:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


# ---------------------------------------------------------------- search
@dataclass(frozen=True)
class SearchSpace:
    """The designs a search enumerates. `inclinations_deg` may hold None for sun-synchronous planes
    (placed by local time of ascending node from `sso_ltan_h`, spread evenly over 24 h)."""

    max_satellites: int
    altitudes_km: tuple[float, ...] = (575.0,)
    inclinations_deg: tuple[float | None, ...] = (42.0, 53.0, 60.0, None)
    planes: tuple[int, ...] = (1, 2, 3, 4, 6)
    sats_per_plane: tuple[int, ...] = (1, 2, 3, 4, 6, 8)
    sso_ltan_h: float = 10.5
    mixes: bool = True

    def candidates(self) -> list[tuple[DesignPart, ...]]:
        """Every design of the space, smallest first: Walker delta shells T/P/F (F = 0 and P/2), sun-
        synchronous plane sets, and each Walker shell plus one sun-synchronous plane of S satellites."""
        out: list[tuple[DesignPart, ...]] = []
        shells = sorted(
            {(p * s, p, s) for p in self.planes for s in self.sats_per_plane if p * s <= self.max_satellites}
        )
        for alt in self.altitudes_km:
            for total, p, s in shells:
                for inc in self.inclinations_deg:
                    if inc is None:
                        out.append(self.sso_planes(p, s, alt))
                        continue
                    for f in sorted({0, p // 2}):
                        walker = DesignPart(f"walker:{total}/{p}/{f}:{alt:g}:{inc:g}")
                        out.append((walker,))
                        if self.mixes and total + s <= self.max_satellites:
                            out.append((walker, DesignPart(f"sso:{s}:{alt:g}:{self.sso_ltan_h:g}")))
        return sorted(out, key=lambda parts: sum(designed_size(p.spec) for p in parts))

    def sso_planes(self, planes: int, per_plane: int, alt_km: float) -> tuple[DesignPart, ...]:
        return tuple(
            DesignPart(f"sso:{per_plane}:{alt_km:g}:{(self.sso_ltan_h + 24.0 * k / planes) % 24.0:g}")
            for k in range(planes)
        )


@dataclass(frozen=True)
class DesignPoint:
    """One evaluated design: its parts and the area-wide revisit figures `eo revisit` reports."""

    parts: tuple[DesignPart, ...]
    satellites: int
    max_gap_s: float
    mean_response_time_s: float
    revisits_per_day: float
    coverage_area_pct: float
    unseen_points: int

    @property
    def design(self) -> str:
        return " + ".join(p.text() for p in self.parts)

    def dominates(self, other: DesignPoint) -> bool:
        mine = (self.satellites, self.max_gap_s, self.mean_response_time_s)
        theirs = (other.satellites, other.max_gap_s, other.mean_response_time_s)
        return all(a <= b for a, b in zip(mine, theirs, strict=True)) and mine != theirs


def pareto_front(points: Sequence[DesignPoint]) -> list[DesignPoint]:
    """The non-dominated points (fewest satellites, shortest maximum gap, shortest mean response
    time), by satellites then maximum gap; of equal points the first evaluated is kept."""
    front: list[DesignPoint] = []
    seen: set[tuple[int, float, float]] = set()
    for p in points:
        key = (p.satellites, p.max_gap_s, p.mean_response_time_s)
        if key in seen or any(q.dominates(p) for q in points):
            continue
        seen.add(key)
        front.append(p)
    return sorted(front, key=lambda p: (p.satellites, p.max_gap_s, p.mean_response_time_s))


def evaluate(
    parts: Sequence[DesignPart],
    targets: Targets,
    start_utc: datetime,
    stop_utc: datetime,
    sensor: Sensor,
    definition: RevisitDefinition,
    *,
    step_s: float,
) -> DesignPoint:
    """A design's area-wide figures over `targets`, computed as `eo revisit` computes its all-targets
    row: access windows, the minimum dwell, per-target statistics, then their aggregate."""
    from kizuna.eo.access import compute_access
    from kizuna.eo.revisit import aggregate, per_target

    const = compose("candidate", parts, start_utc)
    acc = definition.usable(compute_access(const, targets, start_utc, stop_utc, sensor, step_s=step_s))
    total = aggregate(per_target(acc, targets, definition))
    return DesignPoint(
        parts=tuple(parts),
        satellites=len(const),
        max_gap_s=total.max_gap_s,
        mean_response_time_s=total.mean_response_time_s,
        revisits_per_day=total.revisits_per_day,
        coverage_area_pct=total.coverage_area_pct,
        unseen_points=total.unseen_points,
    )


def search(
    space: SearchSpace,
    targets: Targets,
    start_utc: datetime,
    stop_utc: datetime,
    sensor: Sensor,
    definition: RevisitDefinition,
    *,
    step_s: float = 60.0,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[DesignPoint], list[DesignPoint]]:
    """Every candidate of `space` evaluated, and their Pareto front."""
    candidates = space.candidates()
    points = []
    for k, parts in enumerate(candidates):
        points.append(evaluate(parts, targets, start_utc, stop_utc, sensor, definition, step_s=step_s))
        if progress:
            progress(k + 1, len(candidates))
    return points, pareto_front(points)


def cheapest_meeting(front: Sequence[DesignPoint], max_gap_s: float) -> DesignPoint | None:
    """The front's design with the fewest satellites whose maximum gap is at most `max_gap_s` (then
    the shortest mean response time)."""
    meeting = [p for p in front if p.max_gap_s <= max_gap_s]
    return min(meeting, key=lambda p: (p.satellites, p.mean_response_time_s), default=None)


def inclination_label(inc: float | None, alt_km: float) -> str:
    """`53` for a Walker inclination, `sso(97.6)` for sun-synchronous planes at `alt_km`."""
    if inc is None:
        return f"sso({sun_synchronous_inclination_deg(alt_km):.1f})"
    return f"{inc:g}"


def parts_from_dicts(items: Sequence[Mapping[str, object]]) -> tuple[DesignPart, ...]:
    """Parts as stored (`DesignPart.as_dict`)."""
    out = []
    for d in items:
        epoch = d.get("epoch_utc")
        out.append(
            DesignPart(str(d["spec"]), datetime.fromisoformat(epoch) if isinstance(epoch, str) else None)
        )
    return tuple(out)


__all__ = [
    "ALPHA5_MAX_NORAD",
    "COMPOSED",
    "DESIGN_NORAD_FLOOR",
    "DesignPart",
    "DesignPoint",
    "SearchSpace",
    "cheapest_meeting",
    "compose",
    "design_norad_pool",
    "designed_size",
    "evaluate",
    "inclination_label",
    "pareto_front",
    "parts_from_dicts",
    "search",
]
