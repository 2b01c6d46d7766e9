"""Boost models per threat class: stages, masses, burn times, specific impulse, body drag.

Every model is "-like": figures of the order published in the open literature for the named
missile, rounded, with payload and burn times chosen so that the model's maximum range at full
burn falls in the published band and the lofted test flights' reported apogees are within reach
(``tests/test_mw_trajectory.py`` checks both). None is an intelligence estimate. Sources, per model:

- ``scud-b-like`` (SRBM): R-17 / Scud-B, launch mass ~5.9 t, ~3.7 t of propellant burnt in ~62 s,
  ~1 t warhead, body 0.88 m, range ~300 km. S. J. Zaloga, *Scud Ballistic Missile and Launch
  Systems 1955-2005* (Osprey, 2006); CSIS Missile Threat, "Scud-B" (missilethreat.csis.org).
- ``nodong-like`` (MRBM): Nodong-1, launch mass ~16 t, ~12.9 t propellant in ~110 s, 1.25-1.36 m
  body, ~1 t payload, range ~1,200-1,500 km. M. Schiller, *Characterizing the North Korean
  Nuclear Missile Threat* (RAND TR-1268, 2012); CSIS Missile Threat, "No Dong 1".
- ``hwasong-12-like`` (IRBM): single liquid stage, launch mass ~24-25 t, 1.5 m body, range
  ~4,500 km with a light payload. M. Elleman, "North Korea's Hwasong-12 IRBM", 38 North (2017);
  CSIS Missile Threat, "Hwasong-12"; Japan MoD reports of the 14 May 2017 and 29 Aug / 15 Sep
  2017 flights.
- ``hwasong-15-like`` (ICBM): two liquid stages, launch mass ~65-72 t, 2.0-2.4 m body, the first
  stage a twin-chamber engine (published estimates ~80-110 tf); range over 13,000 km with a light
  payload. The model's first stage is stronger (~125 tf, a 120 s burn): with public masses it is
  what flies the reported 4,475 km lofted apogee, since a near-vertical shot loses about g x burn
  time to gravity. M. Elleman,
  "The New Hwasong-15 ICBM: A Significant Improvement That May be Ready as Early as 2018",
  38 North (30 Nov 2017); CSIS Missile Threat, "Hwasong-15".
- ``hwasong-17-like`` (ICBM): two liquid stages, launch mass ~80-110 t, 2.5-2.9 m body, four
  first-stage chambers; range over 13,000 km with a heavy payload. CSIS Missile Threat,
  "Hwasong-17"; IISS Military Balance 2023; Japan MoD press release of 18 Nov 2022.
- ``df-17-like`` (HGV): two-stage solid booster of ~16 t carrying a ~1.5 t hypersonic glide
  vehicle (DF-ZF) of ~3 m^2 planform and L/D ~2.6, range ~1,800-2,500 km. CSIS Missile Threat, "DF-17"; US DoD, *Military and Security
  Developments Involving the PRC* (2020-2023).

Specific impulse is one effective value per stage (between sea-level and vacuum for a first
stage); thrust is ``isp * g0 * propellant / burn``. Drag of the boosting stack is the body's
frontal area with a Mach-dependent drag coefficient of a slender body (``BOOST_CD_MACH``); after
burnout the flying body is the re-entry vehicle with its own mass and ``cd * area`` (its
ballistic coefficient ``m / (cd A)`` is stated per model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kizuna.model.missile import THREAT_CLASSES

# Drag coefficient of a slender missile body against Mach number (zero lift, power on; the
# shape of the classic curve: ~0.2 subsonic, a transonic peak near Mach 1.1, falling to ~0.25
# hypersonic; e.g. Fleeman, *Tactical Missile Design*, 2nd ed., fig. 2.20).
BOOST_CD_MACH = (
    np.array([0.0, 0.8, 1.1, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0]),
    np.array([0.20, 0.22, 0.45, 0.40, 0.34, 0.29, 0.25, 0.24, 0.24]),
)


@dataclass(frozen=True)
class Stage:
    """One stage: ``burn_s`` seconds at constant flow, ``propellant_kg``, ``dry_kg`` jettisoned at
    burnout, effective ``isp_s``."""

    burn_s: float
    propellant_kg: float
    dry_kg: float
    isp_s: float

    @property
    def thrust_n(self) -> float:
        return self.isp_s * 9.80665 * self.propellant_kg / self.burn_s


@dataclass(frozen=True)
class MissileModel:
    """A boost model and what flies after burnout.

    ``payload_kg`` rides to burnout; it is the re-entry vehicle (or glide vehicle) whose
    ``rv_cd * rv_area_m2`` sets drag after burnout. IR and RCS figures are order-of-magnitude
    public values: ``plume_w_sr`` the short-wave IR radiant intensity of the plume at full thrust
    (scaled with thrust; liquid and solid boosters of this size radiate 1e5-1e6 W/sr in the
    2.7 um band, e.g. Simmons, *Rocket Exhaust Plume Phenomenology*, 2000), ``booster_rcs_m2`` and
    ``rv_rcs_m2`` the radar cross-section of the stack and of the RV (nose-on, X/S band).
    """

    name: str
    threat_class: str
    stages: tuple[Stage, ...]
    payload_kg: float
    diameter_m: float
    rv_cd: float
    rv_area_m2: float
    plume_w_sr: float
    booster_rcs_m2: float
    rv_rcs_m2: float
    hot_body_w_sr: float  # IR of the vehicle after burnout (re-entry or glide heating)
    vertical_rise_s: float
    pitch_kick_s: float
    glide_l_over_d: float = 0.0  # only glide vehicles

    def __post_init__(self) -> None:
        if self.threat_class not in THREAT_CLASSES:
            raise ValueError(f"{self.name}: unknown class {self.threat_class}")

    @property
    def launch_mass_kg(self) -> float:
        return self.payload_kg + sum(s.propellant_kg + s.dry_kg for s in self.stages)

    @property
    def burn_s(self) -> float:
        return sum(s.burn_s for s in self.stages)

    @property
    def frontal_area_m2(self) -> float:
        return float(np.pi * self.diameter_m**2 / 4.0)

    @property
    def rv_ballistic_coefficient_kg_m2(self) -> float:
        return self.payload_kg / (self.rv_cd * self.rv_area_m2)


MODELS: dict[str, MissileModel] = {
    m.name: m
    for m in (
        MissileModel(
            name="scud-b-like",
            threat_class="SRBM",
            stages=(Stage(burn_s=62.0, propellant_kg=3_700.0, dry_kg=1_100.0, isp_s=230.0),),
            payload_kg=1_000.0,
            diameter_m=0.88,
            rv_cd=0.25,
            rv_area_m2=0.61,  # the whole body re-enters: Scud-B does not separate its warhead
            plume_w_sr=1.0e5,
            booster_rcs_m2=1.0,
            rv_rcs_m2=1.0,
            hot_body_w_sr=200.0,
            vertical_rise_s=5.0,
            pitch_kick_s=5.0,
        ),
        MissileModel(
            name="nodong-like",
            threat_class="MRBM",
            stages=(Stage(burn_s=110.0, propellant_kg=13_000.0, dry_kg=1_900.0, isp_s=250.0),),
            payload_kg=1_000.0,
            diameter_m=1.36,
            rv_cd=0.15,
            rv_area_m2=0.70,
            plume_w_sr=3.0e5,
            booster_rcs_m2=3.0,
            rv_rcs_m2=0.1,
            hot_body_w_sr=200.0,
            vertical_rise_s=6.0,
            pitch_kick_s=8.0,
        ),
        MissileModel(
            name="hwasong-12-like",
            threat_class="IRBM",
            stages=(Stage(burn_s=115.0, propellant_kg=20_500.0, dry_kg=2_200.0, isp_s=315.0),),
            payload_kg=650.0,
            diameter_m=1.5,
            rv_cd=0.12,
            rv_area_m2=0.55,
            plume_w_sr=6.0e5,
            booster_rcs_m2=5.0,
            rv_rcs_m2=0.05,
            hot_body_w_sr=150.0,
            vertical_rise_s=8.0,
            pitch_kick_s=10.0,
        ),
        MissileModel(
            name="hwasong-15-like",
            threat_class="ICBM",
            stages=(
                Stage(burn_s=120.0, propellant_kg=52_000.0, dry_kg=5_000.0, isp_s=290.0),
                Stage(burn_s=130.0, propellant_kg=9_500.0, dry_kg=1_500.0, isp_s=315.0),
            ),
            payload_kg=700.0,
            diameter_m=2.4,
            rv_cd=0.10,
            rv_area_m2=0.8,
            plume_w_sr=1.0e6,
            booster_rcs_m2=10.0,
            rv_rcs_m2=0.05,
            hot_body_w_sr=150.0,
            vertical_rise_s=10.0,
            pitch_kick_s=10.0,
        ),
        MissileModel(
            name="hwasong-17-like",
            threat_class="ICBM",
            stages=(
                Stage(burn_s=140.0, propellant_kg=80_000.0, dry_kg=8_000.0, isp_s=290.0),
                Stage(burn_s=130.0, propellant_kg=17_000.0, dry_kg=2_000.0, isp_s=320.0),
            ),
            payload_kg=1_000.0,
            diameter_m=2.9,
            rv_cd=0.10,
            rv_area_m2=1.0,
            plume_w_sr=1.5e6,
            booster_rcs_m2=15.0,
            rv_rcs_m2=0.05,
            hot_body_w_sr=150.0,
            vertical_rise_s=10.0,
            pitch_kick_s=10.0,
        ),
        MissileModel(
            name="df-17-like",
            threat_class="HGV",
            stages=(
                Stage(burn_s=60.0, propellant_kg=9_600.0, dry_kg=1_100.0, isp_s=260.0),
                Stage(burn_s=45.0, propellant_kg=3_300.0, dry_kg=500.0, isp_s=270.0),
            ),
            payload_kg=1_500.0,
            diameter_m=1.4,
            rv_cd=0.08,  # drag at zero lift; in glide drag follows lift through L/D
            rv_area_m2=3.0,  # glide vehicle planform (lift reference area)
            plume_w_sr=4.0e5,
            booster_rcs_m2=3.0,
            rv_rcs_m2=0.1,
            hot_body_w_sr=2.0e3,  # a glider at Mach 6-10 in the atmosphere stays hot
            vertical_rise_s=5.0,
            pitch_kick_s=6.0,
            glide_l_over_d=2.6,
        ),
    )
}

# The model each class uses unless another is named.
DEFAULT_MODEL = {
    "SRBM": "scud-b-like",
    "MRBM": "nodong-like",
    "IRBM": "hwasong-12-like",
    "ICBM": "hwasong-17-like",
    "HGV": "df-17-like",
}


def model_for(threat_class: str, name: str | None = None) -> MissileModel:
    """The named model (which must be of ``threat_class``) or the class's default."""
    if name is None:
        if threat_class not in DEFAULT_MODEL:
            raise ValueError(f"unknown threat class {threat_class!r}; one of {THREAT_CLASSES}")
        return MODELS[DEFAULT_MODEL[threat_class]]
    if name not in MODELS:
        raise ValueError(f"unknown missile model {name!r}; one of {', '.join(MODELS)}")
    model = MODELS[name]
    if model.threat_class != threat_class:
        raise ValueError(f"missile model {name!r} is class {model.threat_class}, not {threat_class}")
    return model


# ---------------------------------------------------------------- launch regions and targets
@dataclass(frozen=True)
class Site:
    """A public launch region reference point or target (``kind`` ``launch`` or ``target``)."""

    name: str
    kind: str
    lat_deg: float
    lon_deg: float
    country: str
    description: str
    source: str


SITE_COLUMNS = ("name", "kind", "lat_deg", "lon_deg", "country", "description", "source")


def parse_sites(text: str, where: str) -> dict[str, Site]:
    """Sites from CSV text (``SITE_COLUMNS``); a bad row raises ``ValueError`` naming ``where``,
    the line and the field."""
    import csv
    import io
    import math

    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in SITE_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{where}: line 1: missing columns {', '.join(missing)}")
    out: dict[str, Site] = {}
    for row in reader:
        line = reader.line_num
        name = (row["name"] or "").strip().lower()
        if not name:
            raise ValueError(f"{where}: line {line}: name is empty")
        if row["kind"] not in ("launch", "target"):
            raise ValueError(f"{where}: line {line}: kind {row['kind']!r} is not launch or target")
        vals = {}
        for field_name, limit in (("lat_deg", 90.0), ("lon_deg", 180.0)):
            try:
                value = float(row[field_name])
            except (TypeError, ValueError):
                raise ValueError(
                    f"{where}: line {line}: {field_name} {row[field_name]!r} is not a number"
                ) from None
            if not math.isfinite(value) or abs(value) > limit:
                raise ValueError(f"{where}: line {line}: {field_name} {value} is out of range")
            vals[field_name] = value
        if not (row["source"] or "").strip():
            raise ValueError(f"{where}: line {line}: source is empty")
        out[name] = Site(
            name,
            row["kind"],
            vals["lat_deg"],
            vals["lon_deg"],
            row["country"],
            row["description"],
            row["source"].strip(),
        )
    return out


def bundled_sites() -> dict[str, Site]:
    """The package's public launch regions and targets (``kizuna/data/mw/sites.csv``)."""
    from importlib import resources

    path = resources.files("kizuna") / "data" / "mw" / "sites.csv"
    return parse_sites(path.read_text(encoding="utf-8"), "sites.csv")
