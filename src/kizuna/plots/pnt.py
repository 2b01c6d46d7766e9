"""GNSS maps and time series (PNG, matplotlib Agg): a value per grid cell, or DOPs over time."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kizuna.pnt.regions import Grid


def plot_grid_map(
    grid: Grid,
    values: Sequence[float] | np.ndarray,
    path: Path,
    title: str,
    label: str,
    *,
    cmap: str = "viridis",
) -> Path:
    """One colour per grid cell; `values` is row-major like `Grid.receivers` (NaN cells blank)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    region = grid.region
    rows, cols = grid.shape
    image = np.asarray(values, dtype="float64").reshape(rows, cols)
    lat_edges = np.linspace(region.south_deg, region.north_deg, rows + 1)
    lon_edges = np.linspace(region.west_deg, region.east_deg, cols + 1)
    width = 8.0
    height = max(
        3.0, min(10.0, width * (region.north_deg - region.south_deg) / (region.east_deg - region.west_deg))
    )
    fig, ax = plt.subplots(figsize=(width, height + 1.0), dpi=110)
    mesh = ax.pcolormesh(lon_edges, lat_edges, np.ma.masked_invalid(image), cmap=cmap, shading="flat")
    fig.colorbar(mesh, ax=ax, label=label)
    ax.set_xlabel("longitude [deg]")
    ax.set_ylabel("latitude [deg]")
    ax.set_aspect(1.0 / max(np.cos(np.radians(0.5 * (region.south_deg + region.north_deg))), 0.2))
    ax.set_title(title, fontsize=10)
    ax.grid(True, linewidth=0.3, alpha=0.5)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_dop_series(
    times_utc: np.ndarray, dops: dict[str, np.ndarray], n_visible: np.ndarray, path: Path, title: str
) -> Path:
    """DOPs (top) and satellites in view (bottom) against time at one receiver."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hours = (np.asarray(times_utc, dtype="datetime64[ns]") - times_utc[0]).astype("int64") / 3.6e12
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), dpi=110, sharex=True)
    for name, values in dops.items():
        top.plot(hours, values, label=name.upper(), linewidth=1.0)
    top.set_ylabel("DOP")
    top.legend(loc="upper right", fontsize=8, ncol=len(dops))
    top.grid(True, linewidth=0.3)
    top.set_title(title, fontsize=10)
    bottom.step(hours, n_visible, where="post", color="tab:gray")
    bottom.set_ylabel("satellites in view")
    bottom.set_xlabel(f"hours from {np.datetime_as_string(times_utc[0], unit='s')}Z")
    bottom.grid(True, linewidth=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
