"""RINEX navigation files (broadcast ephemerides, versions 2 and 3) through georinex.

georinex does the reading (every RINEX 2/3 NAV layout, the D exponents, the per-system record
lengths); this module turns its xarray dataset into one plain table of Keplerian records, the
shape the analyses use, and names the file when georinex cannot read it.

A record's `toc_system` is its epoch (time of clock) in the satellite system's own time scale, as
the file writes it (GPST for GPS and QZSS, GST for Galileo, BDT for BeiDou): georinex does not
convert it, and neither does this reader. GLONASS and SBAS records are state vectors rather than
Keplerian elements; they are counted in `skipped` and not returned.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kizuna.errors import FormatError

#: Keplerian fields of IS-GPS-200 Table 20-III (and the Galileo, QZSS and BeiDou equivalents),
#: under georinex's names: radians, metres, seconds, radians per second.
KEPLER_FIELDS = (
    "sqrtA",
    "Eccentricity",
    "M0",
    "DeltaN",
    "omega",
    "Omega0",
    "OmegaDot",
    "Io",
    "IDOT",
    "Cuc",
    "Cus",
    "Crc",
    "Crs",
    "Cic",
    "Cis",
    "Toe",
)
#: systems whose broadcast orbits are Keplerian elements: GPS, QZSS, Galileo, BeiDou
KEPLER_SYSTEMS = ("G", "J", "E", "C")


@dataclass(frozen=True)
class BroadcastEphemerides:
    """One row per broadcast record: `system[i]` + `prn[i]` names the satellite (e.g. G 7)."""

    file: str
    system: np.ndarray  # (R,) '<U1': G, J, E, C
    prn: np.ndarray  # (R,) int
    toc_system: np.ndarray  # (R,) datetime64[ns], in the system's own time scale
    elements: dict[str, np.ndarray]  # KEPLER_FIELDS -> (R,) float64
    health: np.ndarray  # (R,) float64, 0 = healthy (NaN where the file has none)
    skipped: dict[str, int] = field(default_factory=dict)  # system letter -> records not returned

    def __len__(self) -> int:
        return len(self.prn)

    @property
    def satellites(self) -> list[str]:
        """Distinct satellites as RINEX names (G07, E11, J02), sorted."""
        return sorted({f"{s}{p:02d}" for s, p in zip(self.system, self.prn, strict=True)})


def read_rinex_nav(path: str | Path) -> BroadcastEphemerides:
    """Read a RINEX 2 or 3 navigation file; FormatError naming the file when it cannot be read."""
    import georinex  # type: ignore[import-untyped]  # no stubs; its calls are typed Any

    name = str(path)
    try:
        with warnings.catch_warnings():
            # georinex warns about header lines it does not use (ionosphere, leap seconds)
            warnings.simplefilter("ignore")
            info = georinex.rinexinfo(path)
            if info.get("rinextype") != "nav":
                raise FormatError(
                    name, 1, "RINEX VERSION / TYPE", f"not a navigation file ({info.get('rinextype')})"
                )
            ds = georinex.load(path)
    except FormatError:
        raise
    except Exception as exc:  # georinex raises anything from ValueError to IndexError on a bad file
        raise FormatError(name, 1, "RINEX", f"georinex cannot read it: {type(exc).__name__}: {exc}") from None
    return _table(ds, name)


def _table(ds: Any, name: str) -> BroadcastEphemerides:
    sv_names = [str(s) for s in ds["sv"].values]
    times = np.asarray(ds["time"].values, dtype="datetime64[ns]")
    rows_system: list[str] = []
    rows_prn: list[int] = []
    rows_toc: list[np.datetime64] = []
    rows_health: list[float] = []
    values: dict[str, list[float]] = {k: [] for k in KEPLER_FIELDS}
    skipped: Counter[str] = Counter()
    data_vars = set(ds.data_vars)
    missing = [k for k in KEPLER_FIELDS if k not in data_vars]
    for j, sv in enumerate(sv_names):
        system, number = sv[0], sv[1:3]  # georinex names a second record set "E01_1"
        column = {
            k: np.asarray(ds[k].values[:, j], dtype="float64") for k in KEPLER_FIELDS if k not in missing
        }
        present = np.isfinite(column["Toe"]) if "Toe" in column else np.zeros(len(times), dtype=bool)
        if system not in KEPLER_SYSTEMS or missing:
            any_record = np.zeros(len(times), dtype=bool)
            for var in ("X", "Toe", "M0"):
                if var in data_vars:
                    any_record |= np.isfinite(np.asarray(ds[var].values[:, j], dtype="float64"))
            skipped[system] += int(any_record.sum())
            continue
        if not number.isdigit():
            raise FormatError(name, 1, "PRN", f"satellite {sv!r} is not a system letter and two digits")
        health = (
            np.asarray(ds["health"].values[:, j], dtype="float64")
            if "health" in data_vars
            else np.full(len(times), math.nan)
        )
        for i in np.flatnonzero(present):
            rows_system.append(system)
            rows_prn.append(int(number))
            rows_toc.append(times[i])
            rows_health.append(float(health[i]))
            for k in KEPLER_FIELDS:
                values[k].append(float(column[k][i]))
    if not rows_prn and not skipped:
        raise FormatError(name, 1, "RINEX", "no navigation records")
    return BroadcastEphemerides(
        file=name,
        system=np.array(rows_system, dtype="<U1"),
        prn=np.array(rows_prn, dtype="int64"),
        toc_system=np.array(rows_toc, dtype="datetime64[ns]"),
        elements={k: np.array(v, dtype="float64") for k, v in values.items()},
        health=np.array(rows_health, dtype="float64"),
        skipped=dict(skipped),
    )


__all__ = ["KEPLER_FIELDS", "KEPLER_SYSTEMS", "BroadcastEphemerides", "read_rinex_nav"]
