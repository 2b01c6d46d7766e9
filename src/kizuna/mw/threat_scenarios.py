"""Named threat scenarios for the architecture assessment (launch site, target, missile class and
profile; public locations only, in ``kizuna/data/mw/scenarios.yaml``) and their Monte Carlo: N
launches with launch times drawn uniformly over a window and launch azimuths within a spread of
the aim, flown together by :func:`kizuna.mw.trajectory.fly_batch`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from kizuna.errors import KizunaError
from kizuna.model.missile import THREAT_CLASSES, ThreatTrajectory

SCENARIOS = Path(str(resources.files("kizuna") / "data" / "mw" / "scenarios.yaml"))


class ScenarioError(KizunaError, ValueError):
    """A threat scenario cannot be read or flown."""


@dataclass(frozen=True)
class Scenario:
    name: str
    threat_class: str
    profile: str
    site: str
    site_lat_deg: float
    site_lon_deg: float
    target: str
    target_lat_deg: float
    target_lon_deg: float
    source: str


@lru_cache(maxsize=4)
def load_scenarios(path: Path = SCENARIOS) -> dict[str, Scenario]:
    import yaml

    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    places: dict[str, Any] = doc.get("places") or {}
    out = {}
    for name, e in (doc.get("scenarios") or {}).items():
        where = f"{path.name}: scenario {name}"
        if e.get("class") not in THREAT_CLASSES:
            raise ScenarioError(f"{where}: field 'class' must be one of {', '.join(THREAT_CLASSES)}")
        for key in ("site", "target"):
            if e.get(key) not in places:
                raise ScenarioError(f"{where}: field {key!r} names no place in 'places'")
        s, t = places[e["site"]], places[e["target"]]
        out[name] = Scenario(
            name=name,
            threat_class=e["class"],
            profile=e.get("profile", "minimum_energy"),
            site=e["site"],
            site_lat_deg=float(s["lat_deg"]),
            site_lon_deg=float(s["lon_deg"]),
            target=e["target"],
            target_lat_deg=float(t["lat_deg"]),
            target_lon_deg=float(t["lon_deg"]),
            source=f"{s['source']}; {t['source']}",
        )
    return out


def scenario_names() -> list[str]:
    return list(load_scenarios())


@lru_cache(maxsize=32)
def _nominal(s: Scenario) -> Any:
    from kizuna.mw.trajectory import ShootingError, solve_glide, solve_launch

    try:
        if s.profile == "glide":  # boost steering; the glide guidance then steers to the target
            return solve_glide(
                s.threat_class, s.site_lat_deg, s.site_lon_deg, s.target_lat_deg, s.target_lon_deg
            )
        return solve_launch(
            s.threat_class,
            s.site_lat_deg,
            s.site_lon_deg,
            s.target_lat_deg,
            s.target_lon_deg,
            s.profile,
            None,
        )
    except (ShootingError, ValueError) as exc:
        raise ScenarioError(f"{s.name}: {exc}") from None


def monte_carlo(
    name: str,
    launches: int,
    *,
    start_utc: datetime,
    window_hours: float = 24.0,
    azimuth_spread_deg: float = 5.0,
    seed: int = 0,
) -> list[ThreatTrajectory]:
    """`launches` flights of scenario `name`: the aimed launch (solved once) turned by an azimuth
    drawn uniformly in +-azimuth_spread_deg (the initial kick rotated about the local vertical),
    launched at instants drawn uniformly over [start, start + window_hours]."""
    from kizuna.mw.trajectory import ShootingError, fly_batch

    scenarios = load_scenarios()
    if name not in scenarios:
        raise ScenarioError(f"no threat scenario {name!r}: use one of {', '.join(scenarios)}")
    s = scenarios[name]
    aim = _nominal(s)
    rng = np.random.default_rng(seed)
    turns = rng.uniform(-azimuth_spread_deg, azimuth_spread_deg, launches)
    offsets_ns = (rng.uniform(0.0, window_hours * 3600.0, launches) * 1e9).astype("int64")
    t0 = np.datetime64(start_utc.replace(tzinfo=None), "ns")
    aim_az = math.degrees(math.atan2(aim.kick_east_deg, aim.kick_north_deg))
    batch = [aim.with_azimuth(aim_az + float(d)) for d in turns]
    stamps = list(t0 + offsets_ns.astype("timedelta64[ns]"))
    ids = [f"{name}#{k + 1}" for k in range(launches)]
    try:
        return fly_batch(batch, s.threat_class, s.profile, stamps, threat_ids=ids)
    except (ShootingError, ValueError) as exc:
        raise ScenarioError(f"{name}: {exc}") from None
