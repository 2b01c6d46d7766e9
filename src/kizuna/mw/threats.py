"""Boost models per threat class: stages, masses, burn times, specific impulse, body drag.

Every model is "-like": figures of the order published in the open literature for the named
missile, rounded, with payload and burn times chosen so that the model's maximum range at full
burn falls in the published band and the lofted test flights' reported apogees are within reach
(``tests/test_mw_trajectory.py`` checks both). None is an intelligence estimate. The models, each
with its sources, are data in ``kizuna/data/mw/missiles.yaml`` (:func:`parse_models` checks
them), as the sensors and architectures are.

Specific impulse is one effective value per stage (between sea-level and vacuum for a first
stage); thrust is ``isp * g0 * propellant / burn``. Drag of the boosting stack is the body's
frontal area with a Mach-dependent drag coefficient of a slender body (``BOOST_CD_MACH``); after
burnout the flying body is the re-entry vehicle with its own mass and ``cd * area`` (its
ballistic coefficient ``m / (cd A)`` is stated per model).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

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


MODEL_FIELDS = (
    "threat_class",
    "stages",
    "payload_kg",
    "diameter_m",
    "rv_cd",
    "rv_area_m2",
    "plume_w_sr",
    "booster_rcs_m2",
    "rv_rcs_m2",
    "hot_body_w_sr",
    "vertical_rise_s",
    "pitch_kick_s",
    "source",
)
OPTIONAL_MODEL_FIELDS = ("glide_l_over_d", "default")
STAGE_FIELDS = ("burn_s", "propellant_kg", "dry_kg", "isp_s")


def _positive(where: str, field_name: str, value: object, *, zero_ok: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: {field_name} {value!r} is not a number")
    number = float(value)
    if not np.isfinite(number) or number < 0.0 or (number == 0.0 and not zero_ok):
        raise ValueError(f"{where}: {field_name} {value!r} must be a finite number above 0")
    return number


def parse_models(doc: object, where: str) -> tuple[dict[str, MissileModel], dict[str, str]]:
    """Boost models and the default model per class from a parsed ``missiles.yaml``.

    A bad entry raises ``ValueError`` naming ``where``, the model and the field."""
    if not isinstance(doc, dict) or not isinstance(doc.get("models"), dict) or not doc["models"]:
        raise ValueError(f"{where}: needs a non-empty 'models' mapping")
    models: dict[str, MissileModel] = {}
    defaults: dict[str, str] = {}
    for name, entry in doc["models"].items():
        here = f"{where}: model {name}"
        if not isinstance(entry, dict):
            raise ValueError(f"{here}: is not a mapping")
        missing = [f for f in MODEL_FIELDS if f not in entry]
        unknown = [f for f in entry if f not in MODEL_FIELDS + OPTIONAL_MODEL_FIELDS]
        if missing or unknown:
            what = f"missing {', '.join(missing)}" if missing else f"unknown field {unknown[0]}"
            raise ValueError(f"{here}: {what}")
        if entry["threat_class"] not in THREAT_CLASSES:
            raise ValueError(f"{here}: threat_class {entry['threat_class']!r} is not one of {THREAT_CLASSES}")
        if not str(entry["source"] or "").strip():
            raise ValueError(f"{here}: source is empty")
        if not isinstance(entry["stages"], list) or not entry["stages"]:
            raise ValueError(f"{here}: stages must be a non-empty list")
        stages = []
        for k, stage in enumerate(entry["stages"], start=1):
            if not isinstance(stage, dict) or sorted(stage) != sorted(STAGE_FIELDS):
                raise ValueError(f"{here}: stage {k} needs exactly {', '.join(STAGE_FIELDS)}")
            stages.append(Stage(**{f: _positive(f"{here}: stage {k}", f, stage[f]) for f in STAGE_FIELDS}))
        figures = {
            f: _positive(here, f, entry[f], zero_ok=f in ("vertical_rise_s", "pitch_kick_s"))
            for f in MODEL_FIELDS
            if f not in ("threat_class", "stages", "source")
        }
        glide = entry.get("glide_l_over_d", 0.0)
        figures["glide_l_over_d"] = _positive(here, "glide_l_over_d", glide, zero_ok=True)
        models[str(name)] = MissileModel(
            name=str(name), threat_class=entry["threat_class"], stages=tuple(stages), **figures
        )
        if entry.get("default", False) is True:
            if entry["threat_class"] in defaults:
                raise ValueError(
                    f"{here}: a second default for {entry['threat_class']} "
                    f"(already {defaults[entry['threat_class']]})"
                )
            defaults[entry["threat_class"]] = str(name)
    without = [c for c in {m.threat_class for m in models.values()} if c not in defaults]
    if without:
        raise ValueError(f"{where}: no default model for {', '.join(sorted(without))}")
    return models, defaults


def _bundled_models() -> tuple[dict[str, MissileModel], dict[str, str]]:
    import yaml

    text = (resources.files("kizuna") / "data" / "mw" / "missiles.yaml").read_text(encoding="utf-8")
    return parse_models(yaml.safe_load(text), "missiles.yaml")


# The package's models (``kizuna/data/mw/missiles.yaml``) and the model each class uses unless
# another is named.
MODELS, DEFAULT_MODEL = _bundled_models()


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
