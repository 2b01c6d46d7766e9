"""Earth-orientation parameters (polar motion, UT1-UTC) from the IERS finals2000A file.

The file ships with the `skyfield-data` package, so nothing is downloaded at
run time. A newer file can be passed explicitly (`load_eop(path)`). Outside the
file's span the nearest value is held and the caller is told.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class EarthOrientation:
    mjd_utc: np.ndarray
    xp_arcsec: np.ndarray
    yp_arcsec: np.ndarray
    dut1_s: np.ndarray
    source: str

    def at(self, mjd_utc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """(xp, yp, UT1-UTC) interpolated linearly, and whether any time was outside the table."""
        m = np.asarray(mjd_utc, dtype="float64")
        outside = bool(np.any(m < self.mjd_utc[0]) or np.any(m > self.mjd_utc[-1]))
        xp = np.interp(m, self.mjd_utc, self.xp_arcsec)
        yp = np.interp(m, self.mjd_utc, self.yp_arcsec)
        # UT1-UTC jumps by ~1 s at a leap second; interpolating across the jump would
        # smear it over a day, so interpolate UT1-TAI-like continuous values instead.
        dut1 = _interp_across_leaps(m, self.mjd_utc, self.dut1_s)
        return xp, yp, dut1, outside


def _interp_across_leaps(m: np.ndarray, grid: np.ndarray, dut1: np.ndarray) -> np.ndarray:
    jumps = np.diff(dut1)
    leap = np.where(np.abs(jumps) > 0.5, np.round(jumps), 0.0)
    continuous = dut1 - np.concatenate([[0.0], np.cumsum(leap)])
    value = np.interp(m, grid, continuous)
    # Put the leap seconds back for the day each time falls in.
    idx = np.clip(np.searchsorted(grid, m, side="right") - 1, 0, len(grid) - 1)
    return value + np.concatenate([[0.0], np.cumsum(leap)])[idx]


def _default_path() -> Path:
    return Path(str(resources.files("skyfield_data") / "data" / "finals2000A.all"))


@functools.lru_cache(maxsize=4)
def load_eop(path: str | None = None) -> EarthOrientation:
    """Parse an IERS finals2000A.all file (Bulletin A columns)."""
    p = Path(path) if path else _default_path()
    mjd, xp, yp, dut1 = [], [], [], []
    with p.open("r", encoding="ascii", errors="replace") as fh:
        for line in fh:
            if len(line) < 68 or not line[58:68].strip() or not line[18:27].strip():
                continue
            mjd.append(float(line[7:15]))
            xp.append(float(line[18:27]))
            yp.append(float(line[37:46]))
            dut1.append(float(line[58:68]))
    if not mjd:
        raise ValueError(f"{p}: no Earth-orientation rows found")
    return EarthOrientation(np.array(mjd), np.array(xp), np.array(yp), np.array(dut1), str(p))
