"""Typed records of conjunction screening: the volume, events and objects left out."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

import numpy as np

from kizuna.orbit.timescale import iso_utc


@dataclass(frozen=True)
class ScreeningVolume:
    """Where a close approach counts as an event.

    `sphere`: miss distance below `radius_km`. `ellipsoid` / `box`: the secondary's position at
    TCA in the primary's RTN frame lies inside the ellipsoid or box with these semi-axes
    (half-sizes), e.g. the common LEO volume 2 x 25 x 25 km is ``ellipsoid(1, 12.5, 12.5)``.
    The test is made at TCA (minimum range), as CCSDS 508.0-B-1 SCREEN_VOLUME_* describes.
    """

    shape: str = "sphere"
    radial_km: float = 10.0
    intrack_km: float = 10.0
    crosstrack_km: float = 10.0

    def __post_init__(self) -> None:
        if self.shape not in ("sphere", "ellipsoid", "box"):
            raise ValueError("shape must be sphere, ellipsoid or box")
        if min(self.radial_km, self.intrack_km, self.crosstrack_km) <= 0:
            raise ValueError("screening volume sizes must be positive")

    @classmethod
    def sphere(cls, radius_km: float) -> ScreeningVolume:
        return cls("sphere", radius_km, radius_km, radius_km)

    @classmethod
    def ellipsoid(cls, radial_km: float, intrack_km: float, crosstrack_km: float) -> ScreeningVolume:
        return cls("ellipsoid", radial_km, intrack_km, crosstrack_km)

    @classmethod
    def box(cls, radial_km: float, intrack_km: float, crosstrack_km: float) -> ScreeningVolume:
        return cls("box", radial_km, intrack_km, crosstrack_km)

    @property
    def bound_km(self) -> float:
        """Radius of a sphere that holds the whole volume (used by the spatial filters)."""
        if self.shape == "box":
            return float(np.sqrt(self.radial_km**2 + self.intrack_km**2 + self.crosstrack_km**2))
        return max(self.radial_km, self.intrack_km, self.crosstrack_km)

    def contains(self, rtn_km: np.ndarray, miss_km: np.ndarray) -> np.ndarray:
        rtn = np.asarray(rtn_km, float).reshape(-1, 3)
        if self.shape == "sphere":
            return np.asarray(miss_km).reshape(-1) <= self.radial_km
        axes = np.array([self.radial_km, self.intrack_km, self.crosstrack_km])
        if self.shape == "ellipsoid":
            return np.sum((rtn / axes) ** 2, axis=1) <= 1.0
        return np.all(np.abs(rtn) <= axes, axis=1)


@dataclass(frozen=True)
class ConjunctionEvent:
    """One close approach: secondary relative to primary, RTN in the primary's frame at TCA."""

    primary: int
    secondary: int
    tca_utc: np.datetime64
    miss_km: float
    rel_speed_kms: float
    radial_km: float
    intrack_km: float
    crosstrack_km: float
    primary_teme: tuple[float, ...]  # x, y, z [km], vx, vy, vz [km/s]
    secondary_teme: tuple[float, ...]
    primary_itrf: tuple[float, ...] = ()
    secondary_itrf: tuple[float, ...] = ()
    pc: float | None = None
    pc_method: str = ""
    hbr_m: float | None = None
    hbr_source: str = ""
    primary_name: str = ""
    secondary_name: str = ""
    #: international designators from the element sets (OBJECT_ID, e.g. "1998-067A"); "" if unknown
    primary_object_id: str = ""
    secondary_object_id: str = ""
    #: 3x3 position covariance of each object in its own RTN frame at TCA [km^2], row-major, when
    #: `pc` was computed from covariances (:func:`kizuna.sda.assess.with_covariance_pc`); () when
    #: `pc` is the TLE-only maximum Pc, which assumes no covariance
    primary_cov_rtn_km2: tuple[float, ...] = ()
    secondary_cov_rtn_km2: tuple[float, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "primary": self.primary,
            "secondary": self.secondary,
            "primary_name": self.primary_name,
            "secondary_name": self.secondary_name,
            "primary_object_id": self.primary_object_id,
            "secondary_object_id": self.secondary_object_id,
            "tca_utc": iso_utc(np.array([self.tca_utc]))[0],
            "miss_km": round(self.miss_km, 6),
            "rel_speed_kms": round(self.rel_speed_kms, 6),
            "radial_km": round(self.radial_km, 6),
            "intrack_km": round(self.intrack_km, 6),
            "crosstrack_km": round(self.crosstrack_km, 6),
            "pc": self.pc,
            "pc_method": self.pc_method,
            "hbr_m": self.hbr_m,
            "hbr_source": self.hbr_source,
            "primary_teme": list(self.primary_teme),
            "secondary_teme": list(self.secondary_teme),
            "primary_itrf": list(self.primary_itrf),
            "secondary_itrf": list(self.secondary_itrf),
            "primary_cov_rtn_km2": list(self.primary_cov_rtn_km2),
            "secondary_cov_rtn_km2": list(self.secondary_cov_rtn_km2),
        }


class EventTable(Sequence[ConjunctionEvent]):
    """Conjunction events held as columns, each :class:`ConjunctionEvent` made when it is read.

    A 100,000-object catalog gives ~5 M events a day: as frozen dataclasses with four 6-tuples
    each they took ~2 KB apiece, as columns ~300 bytes. The table reads as a sequence of
    events (index, slice, iterate, compare with a list); :meth:`closest_first` orders it
    without making any event.

    Columns, one row per event: `primary` and `secondary` index the per-object lists
    (`norad_ids`, `names`, `object_ids`, `hbr_sources`); `tca_ns` (ns since 1970, UTC),
    `miss_km`, `rel_speed_kms`, `rtn_km` (n, 3), `primary_teme`, `secondary_teme`,
    `primary_itrf`, `secondary_itrf` (n, 6: km, km/s), `pc`, `hbr_m`."""

    COLUMNS = (
        "primary",
        "secondary",
        "tca_ns",
        "miss_km",
        "rel_speed_kms",
        "rtn_km",
        "primary_teme",
        "secondary_teme",
        "primary_itrf",
        "secondary_itrf",
        "pc",
        "hbr_m",
    )
    #: events made per block when iterating (one tolist per column and block)
    BLOCK = 4096

    def __init__(
        self,
        columns: dict[str, np.ndarray],
        *,
        norad_ids: Sequence[int],
        names: Sequence[str],
        object_ids: Sequence[str],
        hbr_sources: Sequence[str],
        pc_method: str,
        rows: np.ndarray | None = None,
    ) -> None:
        missing = set(self.COLUMNS) - set(columns)
        if missing:
            raise ValueError(f"event table lacks columns {sorted(missing)}")
        self._cols = columns
        self._objects = (list(norad_ids), list(names), list(object_ids), list(hbr_sources))
        self._pc_method = pc_method
        #: which stored rows, in which order (None: all, as stored)
        self._rows = rows

    def __len__(self) -> int:
        return len(self._cols["tca_ns"]) if self._rows is None else len(self._rows)

    def _view(self, rows: np.ndarray) -> EventTable:
        norad, names, oids, sources = self._objects
        return EventTable(
            self._cols,
            norad_ids=norad,
            names=names,
            object_ids=oids,
            hbr_sources=sources,
            pc_method=self._pc_method,
            rows=rows,
        )

    def _stored(self, index: np.ndarray) -> np.ndarray:
        return index if self._rows is None else self._rows[index]

    @overload
    def __getitem__(self, index: int) -> ConjunctionEvent: ...

    @overload
    def __getitem__(self, index: slice) -> EventTable: ...

    def __getitem__(self, index: int | slice) -> ConjunctionEvent | EventTable:
        if isinstance(index, slice):
            return self._view(self._stored(np.arange(len(self))[index]))
        n = len(self)
        k = int(index)
        if not -n <= k < n:
            raise IndexError("event index out of range")
        return self._events(self._stored(np.array([k % n])))[0]

    def __iter__(self) -> Iterator[ConjunctionEvent]:
        for b in range(0, len(self), self.BLOCK):
            yield from self._events(self._stored(np.arange(b, min(b + self.BLOCK, len(self)))))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"EventTable({len(self)} events)"

    def column(self, name: str) -> np.ndarray:
        """One column for the rows of this table, in its order (NORAD ids for primary/secondary)."""
        rows = self._stored(np.arange(len(self)))
        if name in ("primary", "secondary"):
            return np.asarray(self._objects[0], np.int64)[self._cols[name][rows]]
        return self._cols[name][rows]

    def closest_first(self) -> EventTable:
        """The same events by miss distance, then TCA, primary and secondary id."""
        order = np.lexsort(
            (self.column("secondary"), self.column("primary"), self.column("tca_ns"), self.column("miss_km"))
        )
        return self._view(self._stored(order))

    def blocks(self, size: int | None = None) -> Iterator[EventBlock]:
        """The rows of this table, in its order, as column blocks of at most `size` events
        (default BLOCK): a writer formats each block at once (no event is made; the per-object
        lists are shared)."""
        size = self.BLOCK if size is None else size
        if size < 1:
            raise ValueError("block size must be at least 1")
        norad, names, oids, sources = self._objects
        for b in range(0, len(self), size):
            rows = self._stored(np.arange(b, min(b + size, len(self))))
            yield EventBlock(
                {k: self._cols[k][rows] for k in self.COLUMNS}, norad, names, oids, sources, self._pc_method
            )

    def _events(self, rows: np.ndarray) -> list[ConjunctionEvent]:
        c = self._cols
        norad, names, oids, sources = self._objects
        p, s = c["primary"][rows].tolist(), c["secondary"][rows].tolist()
        tca = c["tca_ns"][rows].tolist()
        miss, speed, pc, hbr = (c[k][rows].tolist() for k in ("miss_km", "rel_speed_kms", "pc", "hbr_m"))
        rtn = c["rtn_km"][rows].tolist()
        t1, t2, i1, i2 = (
            c[k][rows].tolist() for k in ("primary_teme", "secondary_teme", "primary_itrf", "secondary_itrf")
        )
        method = self._pc_method
        make = object.__new__
        out = []
        for n, (a, b) in enumerate(zip(p, s, strict=True)):
            event = make(ConjunctionEvent)
            # the frozen dataclass's __init__ sets each of its 22 fields through
            # object.__setattr__, a third of the cost here; it has no __post_init__, so filling
            # the instance's dict gives the very same event
            event.__dict__.update(
                primary=norad[a],
                secondary=norad[b],
                tca_utc=np.datetime64(tca[n], "ns"),
                miss_km=miss[n],
                rel_speed_kms=speed[n],
                radial_km=rtn[n][0],
                intrack_km=rtn[n][1],
                crosstrack_km=rtn[n][2],
                primary_teme=tuple(t1[n]),
                secondary_teme=tuple(t2[n]),
                primary_itrf=tuple(i1[n]),
                secondary_itrf=tuple(i2[n]),
                pc=pc[n],
                pc_method=method,
                hbr_m=hbr[n],
                hbr_source=f"{sources[a]}+{sources[b]}",
                primary_name=names[a],
                secondary_name=names[b],
                primary_object_id=oids[a],
                secondary_object_id=oids[b],
                primary_cov_rtn_km2=(),
                secondary_cov_rtn_km2=(),
            )
            out.append(event)
        return out


@dataclass(frozen=True)
class EventBlock:
    """Consecutive events of an :class:`EventTable` as columns, for writers that format a whole
    block at once instead of making (and then describing) one :class:`ConjunctionEvent` each.

    `columns` holds the table's columns (see :class:`EventTable`) for these rows, in the view's
    order; `primary` and `secondary` index the per-object lists. Each row is the event the table
    reads as: NORAD ids, names and OBJECT_IDs from the lists, `hbr_source` is
    "<primary's source>+<secondary's source>", `pc_method` is the table's, and the covariances
    are empty (a table holds none: events with covariance Pc are a list)."""

    columns: dict[str, np.ndarray]
    norad_ids: Sequence[int]
    names: Sequence[str]
    object_ids: Sequence[str]
    hbr_sources: Sequence[str]
    pc_method: str

    def __len__(self) -> int:
        return len(self.columns["tca_ns"])


def closest_first(events: Sequence[ConjunctionEvent]) -> Sequence[ConjunctionEvent]:
    """Events by miss distance, then TCA, primary and secondary id; a table stays a table."""
    if isinstance(events, EventTable):
        return events.closest_first()
    return sorted(events, key=lambda e: (e.miss_km, str(e.tca_utc), e.primary, e.secondary))


@dataclass(frozen=True)
class ObjectProblem:
    """An object the screening could not cover in full, and why (never dropped silently)."""

    norad_id: int
    reason: str  # "stale", "sgp4", "no-elements"
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"norad_id": self.norad_id, "reason": self.reason, "detail": self.detail}


@dataclass
class ScreeningResult:
    #: an :class:`EventTable` from the screening; a list once events are re-assessed
    events: Sequence[ConjunctionEvent]
    problems: list[ObjectProblem]
    start_utc: np.datetime64
    stop_utc: np.datetime64
    volume: ScreeningVolume
    step_s: float
    n_objects: int
    n_primaries: int
    n_candidates: int = 0
    stats: dict[str, float] = field(default_factory=dict)
