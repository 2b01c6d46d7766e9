"""Space-surveillance sensors as data: ground radars, optical telescopes, space-based optical
sensors and laser ranging stations, each with its public source (``kizuna/data/ssa/sensors.yaml``,
or a user's file of the same shape).

What decides whether a sensor sees an object, stated once here and used by visibility, tasking
and the observation simulator:

- radar: within the field of regard (azimuth sector, above ``min_elevation_deg``, within
  ``max_range_km``) and large enough. The radar equation at fixed power and dwell makes the
  signal scale as RCS / R^4; with RCS ~ pi d^2 / 4 (the optical region, d >> wavelength) the
  smallest detectable diameter grows as R^2, calibrated by the stated reference
  (``reference_diameter_m`` at ``reference_range_km``, e.g. 10 cm at 650 km):
  ``min_diameter_m(R) = reference_diameter_m * (R / reference_range_km)^2``;
- optical: a dark site (sun below ``max_sun_elevation_deg``), a sunlit target, the line of sight
  clear of the sun and moon, and bright enough: the apparent magnitude of a diffusely reflecting
  (Lambertian) sphere of diameter d, albedo a, at range R and solar phase angle phi is
  ``m = -26.74 - 2.5 log10(a d^2 / (4 R^2) * 2/3 * F(phi))`` with
  ``F(phi) = ((pi - phi) cos phi + sin phi) / pi`` (e.g. McCue et al., *Applied Optics* 10 (1971);
  Hejduk, AMOS 2011), no brighter than ``limiting_magnitude``;
- laser: a retroreflector, within range and elevation;
- space-based optical: as optical from the host orbit, with the line of sight clear of the
  Earth's limb by ``earth_limb_exclusion_deg`` and of the sun.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from kizuna.errors import KizunaError

KINDS = ("radar", "optical", "space_optical", "laser")
SUN_MAGNITUDE = -26.74  # apparent visual magnitude of the sun at 1 au
DEFAULT_ALBEDO = 0.175  # NASA's Size Estimation Model value for debris (optical)
DEFAULT_SENSORS = Path(str(resources.files("kizuna") / "data" / "ssa" / "sensors.yaml"))

_COMMON = ("kind", "operator", "tracks_per_hour", "slew_deg_s", "source")
_GROUND = ("site", "min_elevation_deg")
_REQUIRED: dict[str, tuple[str, ...]] = {
    "radar": (
        *_COMMON,
        *_GROUND,
        "max_range_km",
        "reference_diameter_m",
        "reference_range_km",
        "az_min_deg",
        "az_max_deg",
        "sigma_range_m",
        "sigma_angle_deg",
        "sigma_range_rate_m_s",
    ),
    "optical": (
        *_COMMON,
        *_GROUND,
        "limiting_magnitude",
        "max_sun_elevation_deg",
        "sun_exclusion_deg",
        "moon_exclusion_deg",
        "sigma_angle_arcsec",
    ),
    "space_optical": (
        *_COMMON,
        "host",
        "limiting_magnitude",
        "earth_limb_exclusion_deg",
        "sun_exclusion_deg",
        "sigma_angle_arcsec",
    ),
    "laser": (*_COMMON, *_GROUND, "max_range_km", "sigma_range_m"),
}
_OPTIONAL = ("max_sun_elevation_deg",)
# (low, high) of every number a sensor file may hold
_BOUNDS: dict[str, tuple[float, float]] = {
    "tracks_per_hour": (0.001, 1e6),
    "slew_deg_s": (0.001, 1000.0),
    "min_elevation_deg": (-5.0, 89.0),
    "max_range_km": (1.0, 500_000.0),
    "reference_diameter_m": (1e-4, 100.0),
    "reference_range_km": (1.0, 500_000.0),
    "az_min_deg": (0.0, 360.0),
    "az_max_deg": (0.0, 720.0),
    "sigma_range_m": (1e-5, 1e5),
    "sigma_angle_deg": (1e-7, 10.0),
    "sigma_range_rate_m_s": (1e-6, 1e4),
    "limiting_magnitude": (-5.0, 30.0),
    "max_sun_elevation_deg": (-90.0, 90.0),
    "sun_exclusion_deg": (0.0, 180.0),
    "moon_exclusion_deg": (0.0, 180.0),
    "earth_limb_exclusion_deg": (0.0, 90.0),
    "sigma_angle_arcsec": (1e-4, 3600.0),
}


class SensorFileError(KizunaError, ValueError):
    """A sensor file cannot be read or has a bad entry (the message names file, sensor, field)."""


@dataclass(frozen=True)
class Site:
    lat_deg: float
    lon_deg: float
    alt_m: float


@dataclass(frozen=True)
class HostOrbit:
    """The orbit of a space-based sensor: circular, sun-synchronous by local time of the ascending
    node (``ltan_h``) or with a fixed ``raan_deg``."""

    altitude_km: float
    inclination_deg: float
    ltan_h: float | None = None
    raan_deg: float | None = None


@dataclass(frozen=True)
class SsaSensor:
    name: str
    kind: str
    operator: str
    source: str
    tracks_per_hour: float
    slew_deg_s: float
    site: Site | None = None
    host: HostOrbit | None = None
    figures: Mapping[str, float] = field(default_factory=dict)

    def figure(self, name: str) -> float:
        return float(self.figures[name])

    def min_diameter_m(self, range_km: np.ndarray | float) -> np.ndarray:
        """Radar: the smallest diameter detected at each range (``inf`` beyond ``max_range_km``)."""
        if self.kind != "radar":
            raise ValueError(f"{self.name}: min_diameter_m is a radar figure, not {self.kind}")
        r = np.asarray(range_km, float)
        d = self.figure("reference_diameter_m") * (r / self.figure("reference_range_km")) ** 2
        return np.where(r <= self.figure("max_range_km"), d, np.inf)

    def in_azimuth(self, azimuth_deg: np.ndarray | float) -> np.ndarray:
        """Whether each azimuth is inside the field of regard (a sector may cross north)."""
        az = np.mod(np.asarray(azimuth_deg, float), 360.0)
        lo, hi = self.figure("az_min_deg"), self.figure("az_max_deg")
        if hi - lo >= 360.0:
            return np.ones(az.shape, bool)
        return np.mod(az - lo, 360.0) <= (hi - lo)


def lambertian_phase(phase_angle_deg: np.ndarray | float) -> np.ndarray:
    """Phase function of a diffuse sphere: 1 at full phase (0 deg), 0 at new (180 deg)."""
    phi = np.radians(np.asarray(phase_angle_deg, float))
    return ((np.pi - phi) * np.cos(phi) + np.sin(phi)) / np.pi


def visual_magnitude(
    diameter_m: np.ndarray | float,
    range_km: np.ndarray | float,
    phase_angle_deg: np.ndarray | float,
    albedo: float = DEFAULT_ALBEDO,
) -> np.ndarray:
    """Apparent magnitude of a Lambertian sphere lit by the sun (module docstring)."""
    d = np.asarray(diameter_m, float)
    r_m = np.asarray(range_km, float) * 1000.0
    flux = albedo * d**2 / (4.0 * r_m**2) * (2.0 / 3.0) * lambertian_phase(phase_angle_deg)
    with np.errstate(divide="ignore"):
        return SUN_MAGNITUDE - 2.5 * np.log10(np.maximum(flux, 0.0))


def _number(where: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SensorFileError(f"{where}: {key} {value!r} is not a number")
    number = float(value)
    lo, hi = _BOUNDS.get(key, (-math.inf, math.inf))
    if not math.isfinite(number) or not lo <= number <= hi:
        raise SensorFileError(f"{where}: {key} {value!r} is outside {lo:g}..{hi:g}")
    return number


def _site(where: str, value: Any) -> Site:
    if not isinstance(value, dict) or sorted(value) != ["alt_m", "lat_deg", "lon_deg"]:
        raise SensorFileError(f"{where}: site needs exactly lat_deg, lon_deg, alt_m")
    lat, lon, alt = (value[k] for k in ("lat_deg", "lon_deg", "alt_m"))
    for key, number, limit in (("lat_deg", lat, 90.0), ("lon_deg", lon, 180.0), ("alt_m", alt, 9000.0)):
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
            raise SensorFileError(f"{where}: site {key} {number!r} is not a number")
        if abs(number) > limit:
            raise SensorFileError(f"{where}: site {key} {number} is outside -{limit:g}..{limit:g}")
    return Site(float(lat), float(lon), float(alt))


def _host(where: str, value: Any) -> HostOrbit:
    if not isinstance(value, dict) or "altitude_km" not in value or "inclination_deg" not in value:
        raise SensorFileError(f"{where}: host needs altitude_km, inclination_deg and ltan_h or raan_deg")
    if ("ltan_h" in value) == ("raan_deg" in value):
        raise SensorFileError(f"{where}: host needs one of ltan_h or raan_deg")
    unknown = set(value) - {"altitude_km", "inclination_deg", "ltan_h", "raan_deg"}
    if unknown:
        raise SensorFileError(f"{where}: host has unknown field {sorted(unknown)[0]}")
    numbers = {}
    for key, (lo, hi) in {
        "altitude_km": (150.0, 100_000.0),
        "inclination_deg": (0.0, 180.0),
        "ltan_h": (0.0, 24.0),
        "raan_deg": (0.0, 360.0),
    }.items():
        if key in value:
            v = value[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not (lo <= float(v) <= hi):
                raise SensorFileError(f"{where}: host {key} {v!r} is outside {lo:g}..{hi:g}")
            numbers[key] = float(v)
    return HostOrbit(**numbers)


def parse_sensors(doc: Any, where: str) -> dict[str, SsaSensor]:
    """Sensors from a parsed YAML document; a bad entry raises naming ``where``, sensor and field."""
    if not isinstance(doc, dict) or not isinstance(doc.get("sensors"), dict) or not doc["sensors"]:
        raise SensorFileError(f"{where}: needs a non-empty 'sensors' mapping")
    out: dict[str, SsaSensor] = {}
    for raw_name, entry in doc["sensors"].items():
        name = str(raw_name)
        here = f"{where}: sensor {name}"
        if not name or not name.replace("-", "").replace("_", "").isalnum() or name != name.lower():
            raise SensorFileError(f"{here}: a name is lower-case letters, digits, '-' or '_'")
        if not isinstance(entry, dict):
            raise SensorFileError(f"{here}: is not a mapping")
        kind = entry.get("kind")
        if kind not in KINDS:
            raise SensorFileError(f"{here}: kind {kind!r} is not one of {', '.join(KINDS)}")
        required = _REQUIRED[kind]
        missing = [k for k in required if k not in entry]
        if missing:
            raise SensorFileError(f"{here}: missing {missing[0]}")
        unknown = [k for k in entry if k not in required and k not in _OPTIONAL]
        if unknown:
            raise SensorFileError(f"{here}: {unknown[0]} is not a field of a {kind} sensor")
        operator = entry["operator"]
        if not (
            isinstance(operator, str) and len(operator) == 3 and operator.isalpha() and operator.isupper()
        ):
            raise SensorFileError(f"{here}: operator {operator!r} is not an ISO 3166 alpha-3 code")
        source = entry["source"]
        if not isinstance(source, str) or len(source.strip()) < 20:
            raise SensorFileError(f"{here}: source must say where the figures come from")
        figures = {
            k: _number(here, k, entry[k])
            for k in (*required, *_OPTIONAL)
            if k in entry and k not in ("kind", "operator", "source", "site", "host")
        }
        if kind == "radar" and figures["az_max_deg"] <= figures["az_min_deg"]:
            raise SensorFileError(f"{here}: az_max_deg must exceed az_min_deg (add 360 to cross north)")
        if kind == "radar" and figures["reference_range_km"] > figures["max_range_km"]:
            raise SensorFileError(f"{here}: reference_range_km is beyond max_range_km")
        out[name] = SsaSensor(
            name=name,
            kind=kind,
            operator=operator,
            source=" ".join(source.split()),
            tracks_per_hour=figures.pop("tracks_per_hour"),
            slew_deg_s=figures.pop("slew_deg_s"),
            site=_site(here, entry["site"]) if "site" in entry else None,
            host=_host(here, entry["host"]) if "host" in entry else None,
            figures=figures,
        )
    return out


def load_sensors(path: Path | None = None) -> dict[str, SsaSensor]:
    """The bundled network, or a user's file of the same shape."""
    import yaml

    where = str(path) if path is not None else "sensors.yaml"
    try:
        text = (path or DEFAULT_SENSORS).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SensorFileError(f"{where}: cannot be read ({exc.__class__.__name__})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise SensorFileError(f"{where}:{line} is not valid YAML") from None
    return parse_sensors(doc, where)


def sensor_rows(sensors: Mapping[str, SsaSensor]) -> list[dict[str, Any]]:
    """One row per sensor for tables: where it is, what it sees, how much it can do."""
    rows = []
    for s in sensors.values():
        f = s.figures
        if s.kind == "radar":
            sees = f"{f['reference_diameter_m'] * 100:g} cm at {f['reference_range_km']:g} km"
            reach = f"{f['max_range_km']:g} km"
        elif s.kind in ("optical", "space_optical"):
            sees = f"mag {f['limiting_magnitude']:g}"
            reach = "sunlit targets"
        else:
            sees = "retroreflectors"
            reach = f"{f['max_range_km']:g} km"
        where = (
            f"{s.site.lat_deg:.2f}, {s.site.lon_deg:.2f}"
            if s.site
            else (f"{s.host.altitude_km:g} km, {s.host.inclination_deg:g} deg" if s.host else "")
        )
        rows.append(
            {
                "name": s.name,
                "kind": s.kind,
                "operator": s.operator,
                "where": where,
                "sees": sees,
                "reach": reach,
                "tracks_per_hour": s.tracks_per_hour,
                "source": s.source,
            }
        )
    return rows
