"""Warning sensors and architectures: geostationary and highly elliptical infrared sensors
(SBIRS-like), proliferated low-orbit tracking layers as Walker designs (SDA Tranche-like), very-low
orbit sensors (below 300 km, Tsubame-like) and ground radars (J/FPS-5-like, AN/TPY-2-like).

One :class:`Sensor` is one physical instrument at one place. Its rules, each stated where it is
applied (:mod:`kizuna.mw.detection`):

- field of regard: a cone about geocentric nadir (space) or an azimuth sector and elevation band
  above the local horizon (radar);
- background: an infrared sensor sees a hot target (boost plume, a glide vehicle's hot body)
  anywhere it is not hidden by the Earth once it has climbed above ``min_plume_alt_km`` (the
  short-wave bands used for warning are absorbed in the lower atmosphere, so the Earth below looks
  dark and a plume appears only above the water vapour: below-the-horizon viewing). A cold body
  (a re-entry vehicle in midcourse) is seen only against space: the line of sight continued past
  the target must clear the Earth's limb by ``limb_clearance_km`` (above-the-horizon viewing);
- threshold: infrared, intensity / range^2 >= ``snr`` x noise-equivalent irradiance; radar, range
  <= reference range x (RCS / reference RCS)^(1/4) (the radar equation at fixed power, aperture
  and dwell), within the instrumented range and above the radar horizon;
- a frame (revisit) time: a scanning sensor looks once per ``revisit_s``; and a 1-sigma angular
  noise per line of sight (radar adds a range noise).

Architectures, their sensors and each number's public source or stated assumption live in
``kizuna/data/mw/architectures.yaml``; :func:`load_architectures` reads and checks them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from kizuna.errors import KizunaError
from kizuna.model.constants import EARTH_RADIUS_WGS72_KM, MU_WGS72_KM3_S2, SECONDS_PER_DAY
from kizuna.model.records import ElementSet, utc

KINDS = ("geo", "heo", "leo", "vleo", "radar")
SPACE_KINDS = ("geo", "heo", "leo", "vleo")
# Radius of the geostationary orbit: (mu / omega_E^2)^(1/3) with the sidereal rotation rate.
GEO_RADIUS_M = 42_164_172.0
WGS84_A_M = 6_378_137.0
WGS84_F = 1.0 / 298.257223563
_E2 = WGS84_F * (2.0 - WGS84_F)
# Designed sensors numbered in the analyst range, clear of the eo designs (300000 up).
SENSOR_NORAD_BASE = 330000
DEFAULT_ARCHITECTURES = Path(str(resources.files("kizuna") / "data" / "mw" / "architectures.yaml"))


class SensorError(KizunaError, ValueError):
    """A sensor or architecture cannot be built or read."""


@dataclass(frozen=True)
class InfraredPayload:
    """What an infrared sensor detects and how well.

    ``hot_nei_w_m2``: noise-equivalent irradiance of the short-wave (plume) band, None for none.
    ``cold_nei_w_m2``: noise-equivalent irradiance of the long-wave band that sees cold bodies
    against space, None for none. A detection needs ``snr`` times the noise.
    """

    field_of_regard_deg: float  # half-angle of the cone about geocentric nadir
    hot_nei_w_m2: float | None
    cold_nei_w_m2: float | None
    snr: float
    min_plume_alt_km: float
    limb_clearance_km: float


@dataclass(frozen=True)
class RadarPayload:
    """A ground radar: detects RCS sigma out to reference_range_km (sigma / reference_rcs_m2)^(1/4)."""

    reference_range_km: float
    reference_rcs_m2: float
    max_range_km: float
    min_elevation_deg: float
    max_elevation_deg: float
    boresight_az_deg: float
    half_width_deg: float  # azimuth half-width of the field of regard (180 = all round)
    sigma_range_m: float


@dataclass(frozen=True)
class Sensor:
    """One instrument. Space sensors carry an SGP4 element set (or sit at a fixed geostationary
    longitude); radars a WGS-84 site."""

    name: str
    kind: str  # one of KINDS
    group: str  # the YAML entry it came from
    revisit_s: float
    sigma_rad: float  # 1-sigma angular noise of one line of sight
    infrared: InfraredPayload | None = None
    radar: RadarPayload | None = None
    element_set: ElementSet | None = None
    geo_lon_deg: float | None = None
    site_lat_deg: float | None = None
    site_lon_deg: float | None = None
    site_alt_m: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SensorError(f"sensor {self.name}: kind {self.kind!r} not one of {', '.join(KINDS)}")
        if (self.radar is None) == (self.infrared is None):
            raise SensorError(f"sensor {self.name}: give exactly one of an infrared or a radar payload")
        if not (math.isfinite(self.revisit_s) and self.revisit_s > 0):
            raise SensorError(f"sensor {self.name}: revisit_s must be a positive number")
        if not (math.isfinite(self.sigma_rad) and self.sigma_rad > 0):
            raise SensorError(f"sensor {self.name}: angular noise must be a positive number")

    @property
    def is_radar(self) -> bool:
        return self.radar is not None


@dataclass(frozen=True)
class Architecture:
    name: str
    description: str
    sensors: tuple[Sensor, ...]
    groups: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.sensors)


# ---------------------------------------------------------------- positions
def geodetic_to_ecef_m(lat_deg: Any, lon_deg: Any, alt_m: Any = 0.0) -> np.ndarray:
    """WGS-84 geodetic -> ECEF metres, (..., 3)."""
    lat, lon = np.radians(np.asarray(lat_deg, float)), np.radians(np.asarray(lon_deg, float))
    h = np.asarray(alt_m, float)
    n = WGS84_A_M / np.sqrt(1.0 - _E2 * np.sin(lat) ** 2)
    return np.stack(
        [
            (n + h) * np.cos(lat) * np.cos(lon),
            (n + h) * np.cos(lat) * np.sin(lon),
            (n * (1.0 - _E2) + h) * np.sin(lat),
        ],
        axis=-1,
    )


def geodetic_up(lat_deg: Any, lon_deg: Any) -> np.ndarray:
    lat, lon = np.radians(np.asarray(lat_deg, float)), np.radians(np.asarray(lon_deg, float))
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def sensor_positions_ecef_m(
    sensors: Sequence[Sensor], times_utc: np.ndarray, *, interpolate_s: float | None = None
) -> np.ndarray:
    """Positions of every sensor at every time, (J, T, 3) ECEF metres.

    Orbiting sensors run through SGP4 and Kizuna's TEME -> ITRF rotation (GMST, polar motion). A
    geostationary sensor is held at its longitude on the equator: an ideal geostationary orbit is
    fixed in the Earth-fixed frame, and station-keeping holds real ones within about 0.1 deg (70 km),
    which turns a line of sight to a launch by under 0.1 deg and changes its range by under 0.2%.

    With ``interpolate_s``, ``times_utc`` must be sorted and orbiting sensors are propagated only
    at instants about that far apart and filled in by cubic Hermite interpolation with their
    ITRF velocities (30 s of a 90-minute orbit: under a metre; a few metres for SDP4 deep-space
    orbits, whose velocity is not exactly the derivative of their position; tested)."""
    from kizuna.orbit.propagate import propagate

    times = np.asarray(times_utc, dtype="datetime64[ns]")
    out = np.empty((len(sensors), len(times), 3))
    orbiting = [k for k, s in enumerate(sensors) if s.element_set is not None]
    if orbiting:
        sets = [sensors[k].element_set for k in orbiting]
        if interpolate_s is None or len(times) < 3:
            out[orbiting] = propagate(sets, times, frame="itrf").position_km * 1000.0  # type: ignore[arg-type]
        else:
            out[orbiting] = _hermite_positions_m(sets, times, interpolate_s)  # type: ignore[arg-type]
    for k, s in enumerate(sensors):
        if s.element_set is not None:
            continue
        if s.geo_lon_deg is not None:
            lon = math.radians(s.geo_lon_deg)
            out[k] = (GEO_RADIUS_M * math.cos(lon), GEO_RADIUS_M * math.sin(lon), 0.0)
        else:
            out[k] = geodetic_to_ecef_m(s.site_lat_deg, s.site_lon_deg, s.site_alt_m)
    return out


def _hermite_positions_m(sets: Sequence[ElementSet], times: np.ndarray, knot_s: float) -> np.ndarray:
    """SGP4 at knots every ~knot_s over the sorted `times` (plus each gap's ends), Hermite between."""
    from kizuna.orbit.propagate import propagate

    ns = times.astype("int64")
    step = int(knot_s * 1e9)
    # Knots: the grid from the first to the last instant, plus the instants on either side of any
    # gap longer than a knot step (a batch of launches spread over a day leaves long gaps).
    grid = np.arange(ns[0], ns[-1] + step, step)
    keep = np.zeros(len(grid), dtype=bool)
    idx = np.clip(np.searchsorted(grid, ns, side="right") - 1, 0, len(grid) - 1)
    keep[idx] = True
    keep[np.clip(idx + 1, 0, len(grid) - 1)] = True
    knots = grid[keep]
    eph = propagate(sets, knots.astype("datetime64[ns]"), frame="itrf")
    r, v = eph.position_km * 1000.0, eph.velocity_kms * 1000.0
    i = np.clip(np.searchsorted(knots, ns, side="right") - 1, 0, len(knots) - 2)
    h = (knots[i + 1] - knots[i]) / 1e9
    s = ((ns - knots[i]) / 1e9 / h)[None, :, None]
    hh = h[None, :, None]
    h00, h10 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s
    h01, h11 = -2 * s**3 + 3 * s**2, s**3 - s**2
    return h00 * r[:, i] + h10 * hh * v[:, i] + h01 * r[:, i + 1] + h11 * hh * v[:, i + 1]


# ---------------------------------------------------------------- building from data
def _mean_motion_revday(a_km: float) -> float:
    return math.sqrt(MU_WGS72_KM3_S2 / a_km**3) * SECONDS_PER_DAY / (2.0 * math.pi)


def _number(entry: Mapping[str, Any], key: str, where: str, *, positive: bool = True) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SensorError(f"{where}: field {key!r} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise SensorError(f"{where}: field {key!r} must be positive, got {value!r}")
    return float(value)


def _optional(entry: Mapping[str, Any], key: str, where: str) -> float | None:
    return None if entry.get(key) is None else _number(entry, key, where)


def _infrared(entry: Mapping[str, Any], where: str) -> InfraredPayload:
    p = InfraredPayload(
        field_of_regard_deg=_number(entry, "field_of_regard_deg", where),
        hot_nei_w_m2=_optional(entry, "hot_nei_w_m2", where),
        cold_nei_w_m2=_optional(entry, "cold_nei_w_m2", where),
        snr=_number(entry, "snr", where),
        min_plume_alt_km=_number(entry, "min_plume_alt_km", where, positive=False),
        limb_clearance_km=_number(entry, "limb_clearance_km", where, positive=False),
    )
    if p.hot_nei_w_m2 is None and p.cold_nei_w_m2 is None:
        raise SensorError(f"{where}: an infrared sensor needs hot_nei_w_m2, cold_nei_w_m2 or both")
    if p.field_of_regard_deg > 180:
        raise SensorError(f"{where}: field_of_regard_deg is a half-angle, at most 180")
    return p


def _radar(entry: Mapping[str, Any], site: Mapping[str, Any], where: str) -> RadarPayload:
    return RadarPayload(
        reference_range_km=_number(entry, "reference_range_km", where),
        reference_rcs_m2=_number(entry, "reference_rcs_m2", where),
        max_range_km=_number(entry, "max_range_km", where),
        min_elevation_deg=_number(entry, "min_elevation_deg", where, positive=False),
        max_elevation_deg=_number(entry, "max_elevation_deg", where),
        boresight_az_deg=_number(site, "boresight_az_deg", where, positive=False),
        half_width_deg=_number(site, "half_width_deg", where),
        sigma_range_m=_number(entry, "sigma_range_m", where),
    )


def build_group(name: str, entry: Mapping[str, Any], epoch_utc: datetime) -> list[Sensor]:
    """The sensors of one YAML entry (a constellation gives many)."""
    where = f"sensor {name}"
    kind = entry.get("kind")
    if kind not in KINDS:
        raise SensorError(f"{where}: field 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    if not entry.get("source"):
        raise SensorError(f"{where}: field 'source' is missing (every sensor names its public source)")
    revisit = _number(entry, "revisit_s", where)
    sigma = _number(entry, "sigma_urad", where) * 1e-6
    common: dict[str, Any] = {"kind": kind, "group": name, "revisit_s": revisit, "sigma_rad": sigma}
    common["source"] = str(entry["source"])
    if kind == "radar":
        sites = entry.get("sites")
        if not isinstance(sites, list) or not sites:
            raise SensorError(f"{where}: field 'sites' must list at least one site")
        out = []
        for site in sites:
            label = f"{where} site {site.get('name') if isinstance(site, dict) else site!r}"
            if not isinstance(site, dict) or not site.get("name"):
                raise SensorError(f"{label}: a site needs a name")
            lat = _number(site, "lat_deg", label, positive=False)
            lon = _number(site, "lon_deg", label, positive=False)
            if not (-90 <= lat <= 90 and -180 <= lon <= 360):
                raise SensorError(f"{label}: lat_deg/lon_deg out of range")
            out.append(
                Sensor(
                    name=f"{name} {site['name']}",
                    radar=_radar(entry, site, label),
                    site_lat_deg=lat,
                    site_lon_deg=lon,
                    site_alt_m=float(site.get("alt_m", 0.0)),
                    **common,
                )
            )
        return out
    ir = _infrared(entry, where)
    if "longitudes_deg" in entry:
        lons = entry["longitudes_deg"]
        if not isinstance(lons, list) or not lons:
            raise SensorError(f"{where}: field 'longitudes_deg' must list at least one longitude")
        return [
            Sensor(name=f"{name} {float(lon):g}E", infrared=ir, geo_lon_deg=float(lon), **common)
            for lon in lons
        ]
    if "walker" in entry:
        from kizuna.eo.constellation import parse_design
        from kizuna.model.constellation import ConstellationError

        try:
            c = parse_design(f"walker:{entry['walker']}", epoch_utc)
        except ConstellationError as exc:
            raise SensorError(f"{where}: field 'walker': {exc}") from None
        return [
            Sensor(name=f"{name} {es.object_name.split()[-1]}", infrared=ir, element_set=es, **common)  # type: ignore[union-attr]
            for es in c.element_sets
        ]
    if "orbits" in entry:
        out = []
        for k, orb in enumerate(entry["orbits"]):
            label = f"{where} orbit {k + 1}"
            perigee = _number(orb, "perigee_km", label)
            apogee = _number(orb, "apogee_km", label)
            if apogee < perigee:
                raise SensorError(f"{label}: apogee_km below perigee_km")
            rp, ra = EARTH_RADIUS_WGS72_KM + perigee, EARTH_RADIUS_WGS72_KM + apogee
            es = ElementSet(
                norad_id=SENSOR_NORAD_BASE + k,
                epoch_utc=utc(epoch_utc),
                mean_motion_revday=_mean_motion_revday((ra + rp) / 2.0),
                eccentricity=(ra - rp) / (ra + rp),
                inclination_deg=_number(orb, "inclination_deg", label),
                raan_deg=_number(orb, "raan_deg", label, positive=False),
                arg_perigee_deg=_number(orb, "arg_perigee_deg", label, positive=False),
                mean_anomaly_deg=_number(orb, "mean_anomaly_deg", label, positive=False),
                object_name=f"{name} {k + 1}",
                source="design",
            )
            out.append(Sensor(name=f"{name} {k + 1}", infrared=ir, element_set=es, **common))
        return out
    raise SensorError(f"{where}: give longitudes_deg (GEO), walker (a layer) or orbits (elements)")


def load_document(path: Path | None = None) -> dict[str, Any]:
    import yaml

    path = path or DEFAULT_ARCHITECTURES
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SensorError(f"{path}: not YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("sensors"), dict):
        raise SensorError(f"{path}: wants a 'sensors' mapping and an 'architectures' mapping")
    if not isinstance(doc.get("architectures"), dict):
        raise SensorError(f"{path}: wants an 'architectures' mapping")
    return doc


def architecture_names(path: Path | None = None) -> list[str]:
    return list(load_document(path)["architectures"])


def load_architectures(
    names: Sequence[str] | None, epoch_utc: datetime, path: Path | None = None
) -> list[Architecture]:
    """The named architectures (all when None) with their sensors built at `epoch_utc` (the epoch
    of the designed orbits: a Monte Carlo over launch times moves the satellites under the Earth)."""
    doc = load_document(path)
    archs = doc["architectures"]
    wanted = list(archs) if names is None else list(names)
    out = []
    built: dict[str, list[Sensor]] = {}
    for name in wanted:
        if name not in archs:
            raise SensorError(f"unknown architecture {name!r}: use one of {', '.join(archs)}")
        entry = archs[name] or {}
        groups = entry.get("sensors") or []
        sensors: list[Sensor] = []
        for g in groups:
            if g not in doc["sensors"]:
                raise SensorError(f"architecture {name}: unknown sensor {g!r}")
            if g not in built:
                built[g] = build_group(g, doc["sensors"][g], epoch_utc)
            sensors.extend(built[g])
        if not sensors:
            raise SensorError(f"architecture {name}: no sensors")
        out.append(Architecture(name, str(entry.get("description", "")), tuple(sensors), tuple(groups)))
    return out


def group_rows(path: Path | None = None, names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One row per sensor entry (of the named architectures): what `kizuna mw sensors` shows."""
    doc = load_document(path)
    archs = doc["architectures"]
    wanted = list(archs) if names is None else list(names)
    for n in wanted:
        if n not in archs:
            raise SensorError(f"unknown architecture {n!r}: use one of {', '.join(archs)}")
    rows = []
    for g, entry in doc["sensors"].items():
        used_by = [a for a in wanted if g in ((archs[a] or {}).get("sensors") or [])]
        if not used_by:
            continue
        sensors = build_group(g, entry, datetime(2026, 1, 1))
        s0 = sensors[0]
        ir, rd = s0.infrared, s0.radar
        if "walker" in entry:
            where = f"walker:{entry['walker']}"
        elif "longitudes_deg" in entry:
            where = "GEO " + ", ".join(f"{float(x):g}E" for x in entry["longitudes_deg"])
        elif "orbits" in entry:
            o = entry["orbits"][0]
            where = f"{o['perigee_km']:g} x {o['apogee_km']:g} km, i {o['inclination_deg']:g}"
        else:
            where = ", ".join(str(s["name"]) for s in entry["sites"])
        rows.append(
            {
                "sensor": g,
                "kind": s0.kind,
                "count": len(sensors),
                "where": where,
                "field_of_regard": (
                    f"{ir.field_of_regard_deg:g} deg off nadir"
                    if ir
                    else f"az {rd.boresight_az_deg:g}+-{rd.half_width_deg:g}, el {rd.min_elevation_deg:g}-{rd.max_elevation_deg:g}"  # type: ignore[union-attr]
                ),
                "revisit_s": s0.revisit_s,
                "sigma_urad": s0.sigma_rad * 1e6,
                "hot_nei_w_m2": ir.hot_nei_w_m2 if ir else None,
                "cold_nei_w_m2": ir.cold_nei_w_m2 if ir else None,
                "snr": ir.snr if ir else None,
                "min_plume_alt_km": ir.min_plume_alt_km if ir else None,
                "limb_clearance_km": ir.limb_clearance_km if ir else None,
                "radar_reference": (
                    f"{rd.reference_rcs_m2:g} m2 at {rd.reference_range_km:g} km (max {rd.max_range_km:g})"
                    if rd
                    else None
                ),
                "architectures": ",".join(used_by),
                "source": s0.source,
            }
        )
    return rows
