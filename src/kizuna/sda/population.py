"""A future catalog: today's objects plus the filed shells of planned constellations and a 10 cm
debris population, as ordinary SGP4 element sets, to measure how screening scales with the catalog
we will have.

Pieces, each stated where it lives:

- shells: ``data/sda/planned_constellations.yaml`` (every shell with its filing), placed as
  Walker-delta patterns by :func:`kizuna.eo.constellation.walker`, the same builder constellation
  design uses;
- debris: ``data/sda/breakup_debris.yaml`` (parent orbits of known breakups with their fragment
  counts), fragments drawn with the NASA Standard Breakup Model's area-to-mass and delta-v laws
  (Johnson, Krisko, Liou & Anz-Meador 2001, "NASA's new breakup model of EVOLVE 4.0", Adv. Space
  Res. 28(9)) for a characteristic length of 10 cm.

Everything is deterministic for a seed: the same base catalog, seed and counts give the same
element sets, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

import numpy as np
import yaml

from kizuna.eo.constellation import walker
from kizuna.errors import KizunaError
from kizuna.model.constants import EARTH_RADIUS_WGS72_KM, MU_WGS72_KM3_S2, SECONDS_PER_DAY
from kizuna.model.records import ElementSet

#: NORAD ids of generated objects start here: far above today's catalogue numbers (about 70,000 in
#: mid-2026, growing by some 10,000 a year) and below the Space Fence analyst range (270000+) and
#: the constellation-design range (300000+), so a generated object never shadows a real one.
FUTURE_NORAD_BASE = 150_000
FUTURE_NORAD_LIMIT = 269_999
MAX_GENERATED = FUTURE_NORAD_LIMIT - FUTURE_NORAD_BASE + 1
#: the total the scaling measurement asks for (issue: "the 100,000-object catalog")
DEFAULT_TOTAL = 100_000
LAYOUTS = ("filed", "approved")
#: B* per unit area-to-mass ratio [1/ER per m^2/kg]. Calibrated, not textbook: the tracked
#: fragments of these breakups in the 2022 public catalogue have median B* of 7e-4 to 1.5e-3 1/ER
#: (Fengyun-1C 7.0e-4, Cosmos 2251 6.7e-4, Iridium 33 1.5e-3, Cosmos 1408 1.3e-3, NOAA-16 1.1e-3),
#: and the SBM gives tracked-size (>= 20 cm) fragments a median A/M near 0.1 m^2/kg. The fitted
#: B* absorbs the gap between SGP4's static atmosphere and the real one, which the physical
#: Cd * A/m * rho0 / 2 does not.
BSTAR_PER_AREA_TO_MASS = 0.01
#: characteristic length of the generated debris [m]: the 10 cm class the upgraded radars see
DEBRIS_LENGTH_M = 0.10
#: largest eccentricity kept for a fragment: beyond it the orbit reaches far past LEO and SGP4's
#: deep-space branch, which no 10 cm LEO fragment of these events does
MAX_DEBRIS_ECCENTRICITY = 0.2


class PopulationError(KizunaError, ValueError):
    """The plan or the request cannot make a future catalog (bad YAML row, too many objects)."""


@dataclass(frozen=True)
class Shell:
    """One filed shell: `planes` x `per_plane` satellites, circular, at `alt_km` and `inc_deg`."""

    constellation: str
    alt_km: float
    inc_deg: float
    planes: int
    per_plane: int
    phasing: int
    planes_basis: str
    source: str

    @property
    def count(self) -> int:
        return self.planes * self.per_plane

    @property
    def label(self) -> str:
        return f"{self.constellation} {self.alt_km:g}/{self.inc_deg:g}"


@dataclass(frozen=True)
class BreakupEvent:
    """A breakup whose fragments seed the debris: the parent's orbit, the SBM law and a weight."""

    name: str
    perigee_km: float
    apogee_km: float
    inc_deg: float
    kind: str  # "collision" or "explosion"
    weight: float
    source: str


@dataclass(frozen=True)
class FutureCatalog:
    """The base catalog plus generated shells and debris; `counts` by part, for the report."""

    element_sets: tuple[ElementSet, ...]
    epoch_utc: datetime
    counts: dict[str, int] = field(default_factory=dict)


def _number(row: Mapping[str, Any], key: str, where: str, lo: float, hi: float) -> float:
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= float(value) <= hi:
        raise PopulationError(f"{where}: field {key!r} must be a number in {lo:g}..{hi:g}, got {value!r}")
    return float(value)


def _integer(row: Mapping[str, Any], key: str, where: str, lo: int, hi: int) -> int:
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise PopulationError(f"{where}: field {key!r} must be an integer in {lo}..{hi}, got {value!r}")
    return value


def _load_yaml(text: str, file: str) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise PopulationError(f"{file}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(doc, dict):
        raise PopulationError(f"{file}: expected a mapping at the top")
    return doc


def read_shells(text: str, file: str = "<text>", layout: str = "filed") -> list[Shell]:
    """The shells of every constellation in a plan, in the given layout where a constellation has
    it (else its filed layout)."""
    if layout not in LAYOUTS:
        raise PopulationError(f"layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    doc = _load_yaml(text, file)
    constellations = doc.get("constellations")
    if not isinstance(constellations, list) or not constellations:
        raise PopulationError(f"{file}: field 'constellations' must be a non-empty list")
    shells: list[Shell] = []
    for k, c in enumerate(constellations):
        where = f"{file}: constellations[{k}]"
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"].strip():
            raise PopulationError(f"{where}: field 'name' must be a non-empty text")
        layouts = c.get("layouts")
        if not isinstance(layouts, dict) or "filed" not in layouts:
            raise PopulationError(f"{where} ({c['name']}): field 'layouts' must have a 'filed' layout")
        chosen = layouts.get(layout, layouts["filed"])
        where = f"{where} ({c['name']}) layout {layout if layout in layouts else 'filed'}"
        if not isinstance(chosen, dict) or not isinstance(chosen.get("source"), str):
            raise PopulationError(f"{where}: field 'source' must name the filing")
        rows = chosen.get("shells")
        if not isinstance(rows, list) or not rows:
            raise PopulationError(f"{where}: field 'shells' must be a non-empty list")
        for j, row in enumerate(rows):
            w = f"{where} shells[{j}]"
            if not isinstance(row, dict):
                raise PopulationError(f"{w}: expected a mapping")
            planes = _integer(row, "planes", w, 1, 1000)
            basis = row.get("planes_basis")
            if basis not in ("filing", "assumed"):
                raise PopulationError(f"{w}: field 'planes_basis' must be 'filing' or 'assumed'")
            shells.append(
                Shell(
                    constellation=c["name"].strip(),
                    alt_km=_number(row, "alt_km", w, 150.0, 40_000.0),
                    inc_deg=_number(row, "inc_deg", w, 0.0, 180.0),
                    planes=planes,
                    per_plane=_integer(row, "per_plane", w, 1, 10_000),
                    phasing=_integer(row, "phasing", w, 0, planes - 1),
                    planes_basis=basis,
                    source=chosen["source"].strip(),
                )
            )
    return shells


def read_breakups(text: str, file: str = "<text>") -> tuple[float, list[BreakupEvent]]:
    """(lowest perigee kept [km], breakup events) from a debris plan."""
    doc = _load_yaml(text, file)
    min_perigee_km = _number(doc, "min_perigee_km", file, 100.0, 2000.0)
    rows = doc.get("events")
    if not isinstance(rows, list) or not rows:
        raise PopulationError(f"{file}: field 'events' must be a non-empty list")
    events = []
    for k, row in enumerate(rows):
        w = f"{file}: events[{k}]"
        if not isinstance(row, dict) or not isinstance(row.get("name"), str):
            raise PopulationError(f"{w}: field 'name' must be a text")
        if row.get("type") not in ("collision", "explosion"):
            raise PopulationError(f"{w} ({row['name']}): field 'type' must be collision or explosion")
        if not isinstance(row.get("source"), str):
            raise PopulationError(f"{w} ({row['name']}): field 'source' must name the report")
        perigee = _number(row, "perigee_km", w, min_perigee_km, 2000.0)
        events.append(
            BreakupEvent(
                name=row["name"],
                perigee_km=perigee,
                apogee_km=_number(row, "apogee_km", w, perigee, 2000.0),
                inc_deg=_number(row, "inc_deg", w, 0.0, 180.0),
                kind=row["type"],
                weight=_number(row, "weight", w, 1e-9, 1e9),
                source=row["source"],
            )
        )
    return min_perigee_km, events


def _bundled(name: str) -> tuple[str, str]:
    ref = resources.files("kizuna") / "data" / "sda" / name
    return ref.read_text(encoding="utf-8"), f"kizuna/data/sda/{name}"


def bundled_shells(layout: str = "filed") -> list[Shell]:
    """The planned-constellation shells shipped with Kizuna."""
    return read_shells(*_bundled("planned_constellations.yaml"), layout=layout)


def bundled_breakups() -> tuple[float, list[BreakupEvent]]:
    """The breakup events shipped with Kizuna."""
    return read_breakups(*_bundled("breakup_debris.yaml"))


def catalog_epoch(element_sets: Sequence[ElementSet]) -> datetime:
    """The median epoch of a catalog, down to the whole minute: generated objects take it as their
    epoch so a screening started there finds none of them stale."""
    if not element_sets:
        raise PopulationError("the base catalog is empty: give an epoch for the generated objects")
    epochs = sorted(es.epoch_utc for es in element_sets)
    return epochs[len(epochs) // 2].replace(second=0, microsecond=0)


def shell_element_sets(
    shells: Sequence[Shell], epoch_utc: datetime, rng: np.random.Generator, first_norad: int
) -> list[ElementSet]:
    """Every shell as a Walker-delta pattern. Each shell's first plane sits at a random node
    (shells of different operators are not aligned with one another); numbering runs on from
    `first_norad` in shell order."""
    out: list[ElementSet] = []
    for shell in shells:
        raan0_deg = float(rng.uniform(0.0, 360.0 / shell.planes))
        c = walker(
            shell.count,
            shell.planes,
            shell.phasing,
            shell.alt_km,
            shell.inc_deg,
            epoch_utc,
            raan0_deg=raan0_deg,
            name=shell.label,
            first_norad=first_norad + len(out),
        )
        out.extend(c.element_sets)
    return out


def _area_to_mass(rng: np.random.Generator, n: int) -> np.ndarray:
    """A/M [m^2/kg] of spacecraft fragments at Lc = 10 cm: the SBM's two log-normal modes
    (lambda_c = log10(Lc) = -1: weight 0.38 on mu -0.54 / sigma 0.475, the rest on mu -0.9 /
    sigma 0.28)."""
    first = rng.random(n) < 0.38
    log_am = np.where(first, rng.normal(-0.54, 0.475, n), rng.normal(-0.9, 0.28, n))
    return 10.0**log_am


def _delta_v_kms(rng: np.random.Generator, kind: str, area_to_mass: np.ndarray) -> np.ndarray:
    """Isotropic delta-v vectors [km/s]; SBM magnitude law log10(dv [m/s]) ~ N(mu, 0.4) with
    mu = 0.9 chi + 2.9 (collisions) or 0.2 chi + 1.85 (explosions), chi = log10(A/M)."""
    chi = np.log10(area_to_mass)
    mu = 0.9 * chi + 2.9 if kind == "collision" else 0.2 * chi + 1.85
    dv_ms = 10.0 ** rng.normal(mu, 0.4)
    direction = rng.normal(size=(len(chi), 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    return direction * (dv_ms / 1000.0)[:, None]


def _fragments(
    event: BreakupEvent, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(semi-major axis [km], eccentricity, inclination [deg], A/M) of n fragments of one event,
    before the perigee cut. The breakup point is uniform in time along the parent orbit."""
    rp = EARTH_RADIUS_WGS72_KM + event.perigee_km
    ra = EARTH_RADIUS_WGS72_KM + event.apogee_km
    a0, e0 = (rp + ra) / 2.0, (ra - rp) / (ra + rp)
    # Mean anomaly uniform, true anomaly from it (first order in e is enough for e < 0.01)
    m = rng.uniform(0.0, 2.0 * math.pi, n)
    nu = m + 2.0 * e0 * np.sin(m)
    p = a0 * (1.0 - e0**2)
    r = p / (1.0 + e0 * np.cos(nu))
    # Perifocal frame with the node at the origin and perigee on the node line: only a, e and i of
    # a fragment are kept, so the parent's node and perigee do not matter; its latitude does.
    inc = math.radians(event.inc_deg)
    cu, su = np.cos(nu), np.sin(nu)
    vk = math.sqrt(MU_WGS72_KM3_S2 / p)
    pos = np.stack([r * cu, r * su * math.cos(inc), r * su * math.sin(inc)], axis=1)
    vx, vy = -vk * su, vk * (e0 + cu)
    vel = np.stack([vx, vy * math.cos(inc), vy * math.sin(inc)], axis=1)
    am = _area_to_mass(rng, n)
    vel = vel + _delta_v_kms(rng, event.kind, am)
    rr = np.linalg.norm(pos, axis=1)
    v2 = np.einsum("ij,ij->i", vel, vel)
    a = 1.0 / (2.0 / rr - v2 / MU_WGS72_KM3_S2)
    h = np.cross(pos, vel)
    hn = np.linalg.norm(h, axis=1)
    e_vec = np.cross(vel, h) / MU_WGS72_KM3_S2 - pos / rr[:, None]
    e = np.linalg.norm(e_vec, axis=1)
    i_deg = np.degrees(np.arccos(np.clip(h[:, 2] / hn, -1.0, 1.0)))
    return a, e, i_deg, am


def breakup_debris(
    events: Sequence[BreakupEvent],
    count: int,
    epoch_utc: datetime,
    rng: np.random.Generator,
    first_norad: int,
    *,
    min_perigee_km: float,
) -> list[ElementSet]:
    """`count` 10 cm fragments shared among `events` by weight (largest remainders), each drawn
    again until its perigee is above `min_perigee_km` and its eccentricity below
    MAX_DEBRIS_ECCENTRICITY. Node, perigee and mean anomaly are uniform (old clouds have spread)."""
    if count == 0:
        return []
    weights = np.array([e.weight for e in events], float)
    share = weights / weights.sum() * count
    per_event = np.floor(share).astype(int)
    for k in np.argsort(-(share - per_event), kind="stable")[: count - int(per_event.sum())]:
        per_event[k] += 1
    out: list[ElementSet] = []
    for event, n in zip(events, per_event, strict=True):
        a_parts, e_parts, i_parts, am_parts = [], [], [], []
        have = 0
        for _ in range(100):  # a few rounds suffice: most fragments of these events stay in orbit
            a, e, i, am = _fragments(event, max(2 * (n - have), 16), rng)
            ok = (a > 0) & (e < MAX_DEBRIS_ECCENTRICITY)
            ok &= a * (1.0 - e) - EARTH_RADIUS_WGS72_KM >= min_perigee_km
            a_parts.append(a[ok])
            e_parts.append(e[ok])
            i_parts.append(i[ok])
            am_parts.append(am[ok])
            have += int(ok.sum())
            if have >= n:
                break
        else:
            raise PopulationError(f"breakup {event.name}: too few fragments stay above {min_perigee_km} km")
        a_km = np.concatenate(a_parts)[:n]
        ecc = np.concatenate(e_parts)[:n]
        inc = np.concatenate(i_parts)[:n]
        bstar = BSTAR_PER_AREA_TO_MASS * np.concatenate(am_parts)[:n]
        angles = rng.uniform(0.0, 360.0, (n, 3))
        n_revday = np.sqrt(MU_WGS72_KM3_S2 / a_km**3) * SECONDS_PER_DAY / (2.0 * math.pi)
        for k in range(n):
            norad = first_norad + len(out)
            out.append(
                ElementSet(
                    norad_id=norad,
                    epoch_utc=epoch_utc,
                    mean_motion_revday=round(float(n_revday[k]), 8),
                    eccentricity=round(float(ecc[k]), 7),
                    inclination_deg=round(float(inc[k]), 4),
                    raan_deg=round(float(angles[k, 0]), 4),
                    arg_perigee_deg=round(float(angles[k, 1]), 4),
                    mean_anomaly_deg=round(float(angles[k, 2]), 4),
                    # rounded to the 5 significant digits a TLE carries, so a written and re-read
                    # catalog is the one generated
                    bstar_per_er=float(f"{bstar[k]:.4e}"),
                    object_name=f"{event.name} DEB10 {k + 1}",
                    source="future-debris",
                )
            )
    return out


def future_catalog(
    base: Sequence[ElementSet],
    *,
    seed: int = 0,
    debris: int | None = None,
    total: int = DEFAULT_TOTAL,
    layout: str = "filed",
    epoch_utc: datetime | None = None,
    shells: Sequence[Shell] | None = None,
    breakups: tuple[float, Sequence[BreakupEvent]] | None = None,
) -> FutureCatalog:
    """`base` (the newest element set per object) plus the shells and `debris` fragments; with
    `debris` None the fragments fill the catalog up to `total` objects.

    Generated objects are numbered from FUTURE_NORAD_BASE: shells first (in plan order), then
    debris. The epoch defaults to the base catalog's median epoch (see :func:`catalog_epoch`)."""
    shells = bundled_shells(layout) if shells is None else list(shells)
    min_perigee_km, events = bundled_breakups() if breakups is None else breakups
    newest: dict[int, ElementSet] = {}
    for es in base:
        if es.norad_id not in newest or es.epoch_utc > newest[es.norad_id].epoch_utc:
            newest[es.norad_id] = es
    clash = sorted(n for n in newest if FUTURE_NORAD_BASE <= n <= FUTURE_NORAD_LIMIT)
    if clash:
        raise PopulationError(
            f"the base catalog uses NORAD {clash[0]} ({len(clash)} ids in all) inside the range kept for "
            f"generated objects ({FUTURE_NORAD_BASE}..{FUTURE_NORAD_LIMIT})"
        )
    epoch = catalog_epoch(list(newest.values())) if epoch_utc is None else epoch_utc
    n_shells = sum(s.count for s in shells)
    if debris is None:
        debris = total - len(newest) - n_shells
        if debris < 0:
            raise PopulationError(
                f"total {total}: the base catalog ({len(newest)}) and the shells ({n_shells}) already "
                f"make {len(newest) + n_shells} objects"
            )
    if debris < 0:
        raise PopulationError(f"debris {debris}: must be 0 or more")
    if n_shells + debris > MAX_GENERATED:
        raise PopulationError(
            f"{n_shells} shell satellites and {debris} fragments exceed the {MAX_GENERATED} NORAD ids "
            f"kept for generated objects"
        )
    rng = np.random.default_rng(seed)
    sats = shell_element_sets(shells, epoch, rng, FUTURE_NORAD_BASE)
    frags = breakup_debris(
        events, debris, epoch, rng, FUTURE_NORAD_BASE + len(sats), min_perigee_km=min_perigee_km
    )
    counts = {"base": len(newest)}
    for s in shells:
        counts[s.constellation] = counts.get(s.constellation, 0) + s.count
    counts["debris"] = len(frags)
    ordered = sorted(newest.values(), key=lambda es: es.norad_id)
    return FutureCatalog(tuple(ordered + sats + frags), epoch, counts)


def nested_subsets(n_objects: int, sizes: Sequence[int], seed: int) -> list[np.ndarray]:
    """Indices of nested random subsets: one seeded permutation, its first `size` entries for each
    size, so every smaller subset lies inside every larger one (growth is then measured on the
    same objects, not on fresh draws)."""
    if any(s < 1 or s > n_objects for s in sizes):
        raise PopulationError(f"subset sizes {list(sizes)} must lie in 1..{n_objects}")
    order = np.random.default_rng(seed).permutation(n_objects)
    return [np.sort(order[:s]) for s in sizes]
