"""Threat trajectory figures (PNG, matplotlib Agg): altitude against downrange, coloured by
flight phase, beside the ground track."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kizuna.model.missile import PHASE_NAMES, ThreatTrajectory
from kizuna.mw.trajectory import ecef_to_geodetic, great_circle

PHASE_COLOURS = ("tab:red", "tab:blue", "tab:purple", "tab:orange")


def plot_trajectory(traj: ThreatTrajectory, path: Path, title: str) -> Path:
    """Two panels: altitude [km] vs downrange [km], and the ground track (lon/lat), with launch
    and impact marked. Written through a temporary file renamed into place."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lat, lon, h = ecef_to_geodetic(traj.position_ecef_m)
    down, _ = great_circle(traj.launch_lat_deg, traj.launch_lon_deg, lat, lon)
    down_km = down * 6371.0088
    alt_km = np.maximum(h, 0.0) / 1000.0
    # Unwrap longitude so a track across the antimeridian stays one line.
    lon_u = np.degrees(np.unwrap(np.radians(lon)))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    for code, name in enumerate(PHASE_NAMES):
        m = traj.phase == code
        if not np.any(m):
            continue
        ax1.plot(down_km[m], alt_km[m], ".", ms=2, color=PHASE_COLOURS[code], label=name)
        ax2.plot(lon_u[m], lat[m], ".", ms=2, color=PHASE_COLOURS[code], label=name)
    ax1.set_xlabel("downrange [km]")
    ax1.set_ylabel("altitude [km]")
    ax1.set_title(
        f"apogee {traj.apogee_km:.0f} km, range {traj.ground_range_km:.0f} km, "
        f"{traj.flight_time_s / 60:.1f} min"
    )
    ax1.grid(True, alpha=0.3)
    ax1.legend(loc="best", fontsize=8)
    ax2.plot(lon_u[0], lat[0], "k^", label="launch")
    ax2.plot(lon_u[-1], lat[-1], "kx", label="impact")
    ax2.set_xlabel("longitude [deg]")
    ax2.set_ylabel("latitude [deg]")
    ax2.set_title("ground track")
    ax2.grid(True, alpha=0.3)
    ax2.set_aspect(1.0 / max(0.2, float(np.cos(np.radians(np.mean(lat))))), adjustable="datalim")
    fig.suptitle(title)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.partial.png")
    try:
        fig.savefig(tmp, dpi=110)
        tmp.replace(path)
    finally:
        plt.close(fig)
        if tmp.exists():
            tmp.unlink()
    return path
