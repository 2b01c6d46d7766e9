"""GNSS constellations: which catalog objects belong to which system, and where they are.

Satellite positions come from two sources, held in one record (`GnssSatellites`) so the
geometry and DOP code never knows which:

- GP element sets of the public catalog (SGP4, then TEME -> ITRF through `kizuna.orbit`): every
  system at once, good to a few kilometres for these MEO/GEO/IGSO orbits, which shifts a
  look angle by about 0.01 deg and a DOP by far less than it varies over a minute.
- broadcast ephemerides of a RINEX navigation file (`kizuna.pnt.broadcast`): metre-level, but
  only for the systems and hours the file covers.

Catalog selection is by name, as CelesTrak names the objects (checked against the 2026-07 active
set of ../shared/data/tle): GPS satellites are ``NAVSTAR nn (USA nnn)``, Galileo ``GSAT0nnn
(GALILEO n)`` (``GSAT-n`` without the zero are Indian communication satellites), BeiDou ``BEIDOU-..``,
GLONASS ``COSMOS nnnn [GLONASS-M]`` (other COSMOS objects share the prefix), QZSS ``QZS-n
(MICHIBIKI-n)`` and NavIC ``IRNSS-1x`` / ``NVS-0n``. A mean-motion band per system then drops
objects that left their constellation's orbit (retired GPS satellites raised to disposal orbits
near 1.92 rev/day keep their NAVSTAR names).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from kizuna.model.records import ElementSet
from kizuna.orbit.propagate import propagate


@dataclass(frozen=True)
class GnssSystem:
    """One constellation: its RINEX letter, how catalog names show it, and its orbit band."""

    key: str  # gps, qzss, ...
    letter: str  # RINEX system identifier
    title: str
    name_pattern: str  # regular expression on OBJECT_NAME, case-insensitive
    mean_motion_revday: tuple[float, float]  # the operational orbits' band

    def matches(self, es: ElementSet) -> bool:
        lo, hi = self.mean_motion_revday
        return bool(re.search(self.name_pattern, es.object_name or "", re.IGNORECASE)) and (
            lo <= es.mean_motion_revday <= hi
        )


# Bands: MEO systems by their repeat periods (GPS 2 rev/sidereal day, Galileo 17/10 and the two
# satellites left in eccentric orbits by their 2014 launch (1.86 rev/day), BeiDou MEO
# 13/7, GLONASS 17/8), QZSS and NavIC and BeiDou GEO/IGSO at one rev per sidereal day.
SYSTEMS: dict[str, GnssSystem] = {
    s.key: s
    for s in (
        GnssSystem("gps", "G", "GPS", r"^(NAVSTAR|GPS )", (1.98, 2.03)),
        GnssSystem("glonass", "R", "GLONASS", r"\[GLONASS", (2.10, 2.16)),
        GnssSystem("galileo", "E", "Galileo", r"^GSAT0\d{3}|GALILEO", (1.65, 1.90)),
        GnssSystem("beidou", "C", "BeiDou", r"^BEIDOU", (0.95, 1.92)),
        GnssSystem("qzss", "J", "QZSS", r"^QZS", (0.95, 1.05)),
        GnssSystem("navic", "I", "NavIC", r"^(IRNSS|NVS-)", (0.95, 1.05)),
    )
}
SYSTEM_BY_LETTER = {s.letter: s for s in SYSTEMS.values()}


def parse_systems(text: str | Iterable[str]) -> tuple[str, ...]:
    """`"gps,qzss"` (or a list) -> ("gps", "qzss"), order kept, repeats dropped; ValueError naming
    an unknown one. `all` stands for every system."""
    parts = [p.strip().lower() for p in (text.split(",") if isinstance(text, str) else text)]
    parts = [p for p in parts if p]
    if not parts:
        raise ValueError(f"name at least one constellation of {', '.join(SYSTEMS)}")
    keys: list[str] = []
    for p in parts:
        if p == "all":
            keys.extend(SYSTEMS)
        elif p in SYSTEMS:
            keys.append(p)
        else:
            raise ValueError(f"unknown constellation {p!r}: use {', '.join(SYSTEMS)} or all")
    return tuple(dict.fromkeys(keys))


def select_catalog(element_sets: Iterable[ElementSet], systems: Sequence[str]) -> dict[str, list[ElementSet]]:
    """Element sets of each requested system (latest epoch per NORAD id), by system key."""
    latest: dict[int, ElementSet] = {}
    for es in element_sets:
        if es.norad_id not in latest or es.epoch_utc > latest[es.norad_id].epoch_utc:
            latest[es.norad_id] = es
    chosen: dict[str, list[ElementSet]] = {key: [] for key in systems}
    for es in sorted(latest.values(), key=lambda e: e.norad_id):
        for key in systems:
            if SYSTEMS[key].matches(es):
                chosen[key].append(es)
                break
    return chosen


@dataclass(frozen=True)
class GnssSatellites:
    """Positions of N satellites at T times in ITRF (Earth-fixed), km: `position_km[i, j]`.

    `system[i]` is the RINEX letter; a NaN position means no valid state at that time (SGP4 error,
    or no broadcast record close enough), which every analysis reads as "not in view".
    """

    name: np.ndarray  # (N,) str: catalog name or RINEX id (G07)
    system: np.ndarray  # (N,) '<U1'
    times_utc: np.ndarray  # (T,) datetime64[ns]
    position_km: np.ndarray  # (N, T, 3)
    source: str  # "catalog" or the navigation file

    def __len__(self) -> int:
        return len(self.name)

    def subset(self, letters: Iterable[str]) -> GnssSatellites:
        keep = np.isin(self.system, list(letters))
        return GnssSatellites(
            self.name[keep], self.system[keep], self.times_utc, self.position_km[keep], self.source
        )

    def counts(self) -> dict[str, int]:
        """Satellites per system letter, in SYSTEMS order."""
        return {
            s.letter: int(np.count_nonzero(self.system == s.letter))
            for s in SYSTEMS.values()
            if np.any(self.system == s.letter)
        }


def catalog_positions(
    element_sets: Iterable[ElementSet], systems: Sequence[str], times_utc: np.ndarray
) -> GnssSatellites:
    """SGP4 positions (ITRF) of every catalog satellite of `systems` at `times_utc`."""
    chosen = select_catalog(element_sets, systems)
    sets = [es for key in systems for es in chosen[key]]
    letters = [SYSTEMS[key].letter for key in systems for _ in chosen[key]]
    times = np.asarray(times_utc, dtype="datetime64[ns]")
    if not sets:
        return GnssSatellites(
            np.array([], dtype=str), np.array([], dtype="<U1"), times, np.empty((0, len(times), 3)), "catalog"
        )
    eph = propagate(sets, times, frame="itrf")
    position = np.where(eph.ok[..., None], eph.position_km, np.nan)
    return GnssSatellites(
        np.array([es.object_name or str(es.norad_id) for es in sets]),
        np.array(letters, dtype="<U1"),
        times,
        position,
        "catalog",
    )


__all__ = [
    "SYSTEMS",
    "SYSTEM_BY_LETTER",
    "GnssSatellites",
    "GnssSystem",
    "catalog_positions",
    "parse_systems",
    "select_catalog",
]
