"""Vessel identity: what an MMSI says about its station, flag state from the MID, static-data history.

- :func:`classify_mmsi` reads an MMSI the way ITU-R M.585-9 (Annex 1) lays them out: ship stations
  ``MIDXXXXXX`` (first digit 2-7), coast stations ``00MIDXXXX``, group calls ``0MIDXXXXX``, SAR
  aircraft ``111MIDXXX``, aids to navigation ``99MIDXXXX``, craft associated with a parent ship
  ``98MIDXXXX``, handheld VHF ``8MIDXXXXX``, AIS-SART ``970``, MOB ``972`` and EPIRB-AIS ``974``
  devices. The MID gives the administration (flag state) from the ITU table bundled as
  ``data/maritime/mid.csv`` (with its source). Invalid (more than 9 digits, unknown MID, a leading
  digit no station type uses) and suspicious MMSIs (placeholders that equipment ships with or
  installers type in: ``MID000000``, ``123456789``, one digit repeated) are named, not dropped.
- :class:`IdentityHistory` keeps every distinct (name, callsign, IMO, ship type) an MMSI has
  broadcast with the first and last time it was seen, so an event gets the identity *as of its own
  time* and a shared or re-used MMSI keeps both names instead of the last one.
- :func:`detect_identity_changes` turns that history into events: an MMSI whose name, callsign,
  IMO or ship type changes, and an IMO number seen under MMSIs of different flags (flag hopping:
  a re-flagged ship must take a new MMSI, so the IMO number is what links the two).
"""

from __future__ import annotations

import csv
import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from kizuna.model.maritime import MaritimeEvent, PositionArrays

MID_SOURCE = "ITU Maritime Identification Digits (ITU-R M.585-9; ITU MARS MID table), data/maritime/mid.csv"


@lru_cache(maxsize=1)
def mid_table() -> dict[int, tuple[str, str]]:
    """MID -> (ISO 3166-1 alpha-2 code, country or area name), from the bundled ITU table."""
    text = (resources.files("kizuna") / "data" / "maritime" / "mid.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {int(r["mid"]): (r["iso2"], r["country"]) for r in rows}


# Station types by leading digits (ITU-R M.585-9 Annex 1); (prefix, kind, index of the MID or None).
_PREFIXES: tuple[tuple[str, str, int | None], ...] = (
    ("970", "ais_sart", None),
    ("972", "mob_device", None),
    ("974", "epirb_ais", None),
    ("111", "sar_aircraft", 3),
    ("00", "coast_station", 2),
    ("99", "aid_to_navigation", 2),
    ("98", "craft_of_parent_ship", 2),
    ("0", "group_call", 1),
    ("8", "handheld_vhf", 1),
)

#: ``kind`` values that are ships (what encounter, STS and flag questions are about)
SHIP_KINDS = frozenset({"ship"})


@dataclass(frozen=True)
class MmsiInfo:
    """What an MMSI's digits say. ``issues`` is empty for a well-formed MMSI with an allocated MID."""

    mmsi: int
    kind: str  # "ship", "coast_station", "sar_aircraft", "aid_to_navigation", ... or "invalid"
    mid: int | None
    flag: str | None  # ISO 3166-1 alpha-2 of the administration, None when there is no MID
    country: str | None
    issues: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.issues

    def as_dict(self) -> dict[str, object]:
        return {
            "mmsi": self.mmsi,
            "mmsi_kind": self.kind,
            "mid": self.mid,
            "flag": self.flag,
            "country": self.country,
            "mmsi_issues": ",".join(self.issues) or None,
        }


def _placeholder(digits: str, kind: str) -> str | None:
    if len(set(digits)) == 1:
        return "repeated_digit"
    if digits in ("123456789", "012345678", "987654321"):
        return "sequence"
    if kind == "ship" and digits[3:] in ("000000", "999999", "123456"):
        # MID followed by an unset serial: the default a transponder ships with or a typed-in dummy
        return "mid_placeholder"
    return None


@lru_cache(maxsize=65536)
def classify_mmsi(mmsi: int) -> MmsiInfo:
    """Station type, MID and flag of one MMSI, with its issues (never raises)."""
    if mmsi < 0 or mmsi > 999_999_999:
        return MmsiInfo(int(mmsi), "invalid", None, None, None, ("wrong_digit_count",))
    digits = f"{int(mmsi):09d}"
    kind, at = "ship", 0
    for prefix, k, idx in _PREFIXES:
        if digits.startswith(prefix):
            kind, at = k, idx  # type: ignore[assignment]
            break
    else:
        if digits[0] not in "234567":
            return MmsiInfo(int(mmsi), "invalid", None, None, None, ("no_station_type",))
    issues: list[str] = []
    mid = flag = country = None
    if at is not None:
        mid = int(digits[at : at + 3])
        entry = mid_table().get(mid)
        if entry is None:
            issues.append("unknown_mid")
        else:
            flag, country = entry
    if kind == "group_call":
        # group calls address ships, they do not transmit: as a source this is an 8-digit MMSI
        issues.append("wrong_digit_count")
    placeholder = _placeholder(digits, kind)
    if placeholder:
        issues.append(f"placeholder:{placeholder}")
    return MmsiInfo(int(mmsi), kind, mid, flag, country, tuple(issues))


def imo_valid(imo: int | None) -> bool:
    """IMO ship identification number check digit (IMO Resolution A.1117(30)): 7 digits, the last
    one the units digit of sum(digit_i x (7 - i)) over the first six."""
    if imo is None or not 1_000_000 <= imo <= 9_999_999:
        return False
    d = [int(c) for c in str(imo)]
    return sum(x * (7 - i) for i, x in enumerate(d[:6])) % 10 == d[6]


def ship_class(ship_type: int | None) -> str | None:
    """Coarse class from the AIS ship-and-cargo type (ITU-R M.1371-5 Table 53)."""
    if ship_type is None:
        return None
    t = int(ship_type)
    if t == 30:
        return "fishing"
    if 70 <= t <= 79:
        return "carrier"  # every cargo type: AIS has no reefer code (as events.vessel_class)
    if 80 <= t <= 89:
        return "tanker"
    if 60 <= t <= 69:
        return "passenger"
    if t in (31, 32, 52):
        return "tug"
    if t == 35:
        return "military"
    if t == 55:
        return "law_enforcement"
    if t in (36, 37):
        return "pleasure"
    if 40 <= t <= 49 or 20 <= t <= 29:
        return "high_speed"
    if t in (50, 51, 53, 54, 58):
        return "service"
    return "other"


# ---------------------------------------------------------------- static-data history
@dataclass(frozen=True)
class IdentityVersion:
    """One distinct identity an MMSI broadcast, and when (None: the static reports had no time)."""

    mmsi: int
    first_utc: np.datetime64 | None
    last_utc: np.datetime64 | None
    name: str | None = None
    callsign: str | None = None
    imo: int | None = None
    ship_type: int | None = None
    messages: int = 1
    length_m: float | None = None
    beam_m: float | None = None


IDENTITY_FIELDS = ("name", "callsign", "imo", "ship_type")


def _clean_text(s: str | None) -> str | None:
    # AIS 6-bit text pads with '@' and spaces; an all-padding field is "not available"
    if s is None:
        return None
    s = s.replace("@", " ").strip()
    return s or None


def versions_from_statics(statics: Iterable[object]) -> list[IdentityVersion]:
    """Distinct identities from static reports (objects with the :class:`VesselStatic` fields).

    Reports are taken in time order per MMSI and a field a report leaves out (type 24 part A has
    the name only, part B the callsign and type) is carried from the previous report, so the two
    halves of one ship make one identity, while two ships on one MMSI make two.
    """
    by_mmsi: dict[int, list[object]] = defaultdict(list)
    for s in statics:
        by_mmsi[int(s.mmsi)].append(s)  # type: ignore[attr-defined]
    out: list[IdentityVersion] = []
    for mmsi, reps in by_mmsi.items():
        reps.sort(key=lambda r: (getattr(r, "time_utc", None) is None, _t(getattr(r, "time_utc", None))))
        state: dict[str, object] = {}
        seen: dict[tuple, IdentityVersion] = {}
        for r in reps:
            for f in IDENTITY_FIELDS + ("length_m", "beam_m"):
                v = getattr(r, f, None)
                if f in ("name", "callsign"):
                    v = _clean_text(v)
                if v is not None:
                    state[f] = v
            key = tuple(state.get(f) for f in IDENTITY_FIELDS)
            if all(k is None for k in key):
                continue
            t = _t(getattr(r, "time_utc", None))
            old = seen.get(key)
            if old is None:
                seen[key] = IdentityVersion(
                    mmsi,
                    t,
                    t,
                    name=key[0],  # type: ignore[arg-type]
                    callsign=key[1],  # type: ignore[arg-type]
                    imo=key[2],  # type: ignore[arg-type]
                    ship_type=key[3],  # type: ignore[arg-type]
                    messages=1,
                    length_m=state.get("length_m"),  # type: ignore[arg-type]
                    beam_m=state.get("beam_m"),  # type: ignore[arg-type]
                )
            else:
                seen[key] = dataclasses.replace(
                    old,
                    first_utc=_min_t(old.first_utc, t),
                    last_utc=_max_t(old.last_utc, t),
                    messages=old.messages + 1,
                )
        out += seen.values()
    return out


def _t(t: object) -> np.datetime64 | None:
    if t is None:
        return None
    if isinstance(t, np.datetime64):
        return t.astype("datetime64[ns]")
    return np.datetime64(t.replace(tzinfo=None)).astype("datetime64[ns]")  # type: ignore[attr-defined]


def _min_t(a: np.datetime64 | None, b: np.datetime64 | None) -> np.datetime64 | None:
    return b if a is None else a if b is None else min(a, b)


def _max_t(a: np.datetime64 | None, b: np.datetime64 | None) -> np.datetime64 | None:
    return b if a is None else a if b is None else max(a, b)


class IdentityHistory:
    """Every identity of every MMSI, queried as of a time."""

    def __init__(self, versions: Iterable[IdentityVersion]):
        self._by_mmsi: dict[int, list[IdentityVersion]] = defaultdict(list)
        for v in versions:
            self._by_mmsi[v.mmsi].append(v)
        for lst in self._by_mmsi.values():
            lst.sort(key=_version_order)

    def __len__(self) -> int:
        return len(self._by_mmsi)

    def mmsis(self) -> list[int]:
        return sorted(self._by_mmsi)

    def versions(self, mmsi: int) -> list[IdentityVersion]:
        return list(self._by_mmsi.get(int(mmsi), ()))

    def at(self, mmsi: int, time_utc: np.datetime64 | None = None) -> IdentityVersion | None:
        """The identity in force at ``time_utc``: the last one first seen at or before it; before
        the first report, the first one (what the ship called itself when first heard); with no
        time, the most recent."""
        lst = self._by_mmsi.get(int(mmsi))
        if not lst:
            return None
        if time_utc is None or np.isnat(time_utc):
            return lst[-1]
        t = np.asarray(time_utc).astype("datetime64[ns]")
        best = None
        for v in lst:
            if v.first_utc is not None and v.first_utc <= t:
                best = v
        return best if best is not None else lst[0]


def _version_order(v: IdentityVersion) -> tuple[bool, np.datetime64]:
    return (v.first_utc is not None, v.first_utc if v.first_utc is not None else np.datetime64(0, "ns"))


def identity_fields(
    mmsi: int, time_utc: np.datetime64 | None, history: IdentityHistory | None, prefix: str = ""
) -> dict[str, str | int | None]:
    """Flat identity of one MMSI at one time (for an event's details)."""
    info = classify_mmsi(int(mmsi))
    v = history.at(mmsi, time_utc) if history is not None else None
    return {
        f"{prefix}name": v.name if v else None,
        f"{prefix}callsign": v.callsign if v else None,
        f"{prefix}imo": v.imo if v else None,
        f"{prefix}ship_type": v.ship_type if v else None,
        f"{prefix}ship_class": ship_class(v.ship_type) if v else None,
        f"{prefix}flag": info.flag,
        f"{prefix}mmsi_kind": info.kind,
        f"{prefix}mmsi_issues": ",".join(info.issues) or None,
    }


def attach_identity(events: Sequence[MaritimeEvent], history: IdentityHistory | None) -> list[MaritimeEvent]:
    """Events with the identity of each party as of the event's start added to ``details``
    (``name``, ``callsign``, ``imo``, ``ship_type``, ``ship_class``, ``flag``, ``mmsi_kind``,
    ``mmsi_issues``; the same with ``other_`` for an encounter's partner). What is not known (no
    static data, no MID) is left out rather than written as null; ``mmsi_kind`` is always there.
    Keys an event already has are left as they are."""
    out = []
    for e in events:
        extra: dict[str, str | int | float | None] = dict(identity_fields(e.mmsi, e.start_utc, history))
        if e.other_mmsi is not None:
            extra.update(identity_fields(e.other_mmsi, e.start_utc, history, "other_"))
        extra = {k: v for k, v in extra.items() if v is not None}
        details = {**extra, **e.details}
        out.append(dataclasses.replace(e, details=details))
    return out


# ---------------------------------------------------------------- identity changes as events
def _where(
    positions: PositionArrays | None, mmsi: int, t: np.datetime64 | None
) -> tuple[float, float, np.datetime64 | None]:
    """The vessel's reported position nearest in time to ``t`` (NaN where it has none)."""
    if positions is None or len(positions) == 0:
        return float("nan"), float("nan"), None
    rows = np.flatnonzero(positions.mmsi == mmsi)
    if len(rows) == 0:
        return float("nan"), float("nan"), None
    if t is None:
        k = rows[-1]
    else:
        k = rows[int(np.argmin(np.abs((positions.time_utc[rows] - t).astype("int64"))))]
    return float(positions.lat_deg[k]), float(positions.lon_deg[k]), positions.time_utc[k]


def _change_start(a: IdentityVersion, b: IdentityVersion) -> np.datetime64:
    # from the last report of the old identity (when it precedes the new one) to the first of the new
    first = b.first_utc
    assert first is not None
    return a.last_utc if a.last_utc is not None and a.last_utc <= first else first


def detect_identity_changes(
    history: IdentityHistory, positions: PositionArrays | None = None
) -> list[MaritimeEvent]:
    """``identity_change`` events: per MMSI, each change of name, callsign, IMO or ship type from
    one broadcast value to another (a field first filled in is not a change); per valid IMO number,
    each move to an MMSI of another flag (``flag``) or of the same flag (``mmsi``). Located at the
    vessel's position nearest the change when ``positions`` are given (NaN otherwise)."""
    definition = (
        "identity change: an MMSI's broadcast name, callsign, IMO number or ship type changing from "
        "one value to another (static reports in time order; a field first filled in is not a change); "
        "flag/mmsi: one IMO number (valid check digit) broadcast under a new MMSI, with the flags from "
        f"the MIDs ({MID_SOURCE})"
    )
    out: list[MaritimeEvent] = []
    for mmsi in history.mmsis():
        vs = [v for v in history.versions(mmsi) if v.first_utc is not None]
        for a, b in zip(vs[:-1], vs[1:], strict=True):
            changed = [
                f
                for f in IDENTITY_FIELDS
                if getattr(a, f) is not None and getattr(b, f) is not None and getattr(a, f) != getattr(b, f)
            ]
            if not changed:
                continue
            lat, lon, _ = _where(positions, mmsi, b.first_utc)
            details: dict[str, float | int | str | None] = {"changed": ",".join(changed)}
            for f in changed:
                details[f"from_{f}"] = getattr(a, f)
                details[f"to_{f}"] = getattr(b, f)
            details["versions"] = len(vs)
            out.append(
                MaritimeEvent(
                    "identity_change",
                    mmsi,
                    _change_start(a, b),
                    b.first_utc,  # type: ignore[arg-type]
                    lat,
                    lon,
                    subtype="+".join(changed),
                    details=details,
                    definition=definition,
                )
            )
    by_imo: dict[int, list[IdentityVersion]] = defaultdict(list)
    for mmsi in history.mmsis():
        for v in history.versions(mmsi):
            if v.first_utc is not None and imo_valid(v.imo):
                by_imo[int(v.imo)].append(v)  # type: ignore[arg-type]
    for imo, vs in by_imo.items():
        vs.sort(key=lambda v: v.first_utc)  # type: ignore[arg-type,return-value]
        for a, b in zip(vs[:-1], vs[1:], strict=True):
            if a.mmsi == b.mmsi:
                continue
            fa, fb = classify_mmsi(a.mmsi).flag, classify_mmsi(b.mmsi).flag
            lat, lon, _ = _where(positions, b.mmsi, b.first_utc)
            out.append(
                MaritimeEvent(
                    "identity_change",
                    b.mmsi,
                    _change_start(a, b),
                    b.first_utc,  # type: ignore[arg-type]
                    lat,
                    lon,
                    other_mmsi=a.mmsi,
                    subtype="flag" if fa != fb else "mmsi",
                    details={
                        "imo": imo,
                        "from_mmsi": a.mmsi,
                        "to_mmsi": b.mmsi,
                        "from_flag": fa,
                        "to_flag": fb,
                        "from_name": a.name,
                        "to_name": b.name,
                    },
                    definition=definition,
                )
            )
    out.sort(key=lambda e: (e.start_utc, e.mmsi))
    return out


def vessel_rows(
    history: IdentityHistory, mmsis: Iterable[int] = (), counts: Mapping[int, int] | None = None
) -> list[dict[str, object]]:
    """One row per MMSI (those with static data and those in ``mmsis``): latest identity, number of
    identities seen, flag and MMSI checks; ``counts`` gives positions per MMSI when known."""
    rows = []
    for m in sorted(set(history.mmsis()) | {int(x) for x in mmsis}):
        v = history.at(m)
        info = classify_mmsi(m)
        names = sorted({x.name for x in history.versions(m) if x.name})
        rows.append(
            {
                **info.as_dict(),
                "name": v.name if v else None,
                "callsign": v.callsign if v else None,
                "imo": v.imo if v else None,
                "imo_valid": imo_valid(v.imo) if v and v.imo is not None else None,
                "ship_type": v.ship_type if v else None,
                "ship_class": ship_class(v.ship_type) if v else None,
                "identities": len(history.versions(m)),
                "names": "|".join(names) or None,
                "positions": (counts or {}).get(m),
            }
        )
    return rows
