"""Horizon (elevation) mask files: what a receiver cannot see, as azimuth,elevation pairs.

One pair per line, degrees, azimuth clockwise from north: ``azimuth_deg,elevation_deg`` (commas
or whitespace). ``#`` starts a comment; a first line of names (``azimuth_deg,elevation_deg``) is
allowed. The mask between two listed azimuths is linear in azimuth and wraps through north, so an
urban canyon along a north-south street is four lines::

    # street runs north-south: open along it, 60 deg walls east and west
    0,10
    45,60
    135,60
    180,10
    ...
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from kizuna.errors import FormatError

_SPLIT = re.compile(r"[,\s;]+")


@dataclass(frozen=True)
class HorizonMask:
    """Elevation mask by azimuth: `elevation_deg[i]` applies at `azimuth_deg[i]` (sorted, in [0, 360))."""

    azimuth_deg: np.ndarray
    elevation_deg: np.ndarray
    source: str = "<mask>"


def read_horizon_mask(text: str, file: str = "<text>") -> HorizonMask:
    """Parse a mask file; FormatError naming file, line and field on the first bad line."""
    azimuths: list[float] = []
    elevations: list[float] = []
    lines: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p for p in _SPLIT.split(line) if p]
        if not azimuths and parts and not _is_number(parts[0]):
            continue  # a header line of column names
        if len(parts) != 2:
            raise FormatError(file, number, "line", f"wants azimuth_deg,elevation_deg, got {raw.strip()!r}")
        for name, part in zip(("azimuth_deg", "elevation_deg"), parts, strict=True):
            if not _is_number(part):
                raise FormatError(file, number, name, f"{part!r} is not a number")
        azimuth, elevation = float(parts[0]), float(parts[1])
        if not 0.0 <= azimuth <= 360.0:
            raise FormatError(file, number, "azimuth_deg", f"{azimuth:g} is outside 0..360")
        if not 0.0 <= elevation < 90.0:
            raise FormatError(file, number, "elevation_deg", f"{elevation:g} is outside 0..90 (90 excluded)")
        azimuths.append(azimuth % 360.0)
        elevations.append(elevation)
        lines.append(number)
    if not azimuths:
        raise FormatError(file, 1, "line", "no azimuth,elevation pairs")
    az = np.array(azimuths)
    order = np.argsort(az, kind="stable")
    sorted_az = az[order]
    repeated = np.flatnonzero(np.diff(sorted_az) == 0)
    if repeated.size:
        line = max(lines[order[repeated[0]]], lines[order[repeated[0] + 1]])
        raise FormatError(file, line, "azimuth_deg", f"azimuth {sorted_az[repeated[0]]:g} is listed twice")
    return HorizonMask(sorted_az, np.array(elevations)[order], file)


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


__all__ = ["HorizonMask", "read_horizon_mask"]
