"""Space-surveillance figures (PNG, matplotlib Agg): GEO belt longitude coverage per network, LEO
detection by inclination and altitude, and catalog uncertainty against the daily observation budget."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_geo_strip(cov: Any, path: Path, title: str = "GEO belt seen per network") -> Path:
    """One row per network: the longitudes of the GEO belt some sensor can see (shaded), and the
    near-GEO catalog objects at their longitude, filled when detected in the period."""
    plt = _pyplot()
    n = len(cov.networks)
    fig, ax = plt.subplots(figsize=(10, 0.6 * n + 1.6), dpi=110)
    width = float(cov.geo_lon_deg[1] - cov.geo_lon_deg[0]) if len(cov.geo_lon_deg) > 1 else 1.0
    for i, name in enumerate(cov.networks):
        y = n - 1 - i
        vis = cov.geo_visible[name]
        ax.bar(cov.geo_lon_deg[vis], 0.8, width=width, bottom=y - 0.4, color="#9ecae1", linewidth=0)
        seen = cov.geo_objects_seen[name]
        lon = cov.geo_objects_lon_deg
        ax.scatter(
            lon[~seen],
            np.full((~seen).sum(), y),
            s=4,
            facecolors="none",
            edgecolors="#636363",
            linewidths=0.4,
        )
        ax.scatter(lon[seen], np.full(seen.sum(), y), s=4, color="#d62728")
    ax.set_yticks(range(n))
    ax.set_yticklabels(list(reversed(cov.networks)))
    ax.set_xlim(0, 360)
    ax.set_xticks(range(0, 361, 30))
    ax.axvline(135.0, color="k", linewidth=0.5, linestyle=":")
    ax.set_xlabel("GEO longitude [deg east]  (shaded: visible; red: objects detected, grey: not)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_leo_coverage(cov: Any, path: Path, networks: Sequence[str] | None = None) -> Path:
    """Per network, the fraction of LEO catalog objects detected in each inclination x mean-altitude
    cell (blank where the catalog has none)."""
    plt = _pyplot()
    names = list(networks or cov.networks)
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.2 * cols, 3.4 * rows + 0.4), dpi=110, squeeze=False, layout="constrained"
    )
    inc, alt = cov.leo_inc_edges_deg, cov.leo_alt_edges_km
    total = cov.leo_total
    mesh = None
    for k, ax in enumerate(axes.flat):
        if k >= len(names):
            ax.axis("off")
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(total > 0, 100.0 * cov.leo_seen[names[k]] / total, np.nan)
        # cells drawn on their index, labelled with the edges: the altitude bins are uneven
        mesh = ax.pcolormesh(np.ma.masked_invalid(frac.T), cmap="viridis", vmin=0, vmax=100)
        ax.set_xticks(range(0, len(inc), 3))
        ax.set_xticklabels([f"{v:g}" for v in inc[::3]], fontsize=7)
        ax.set_yticks(range(0, len(alt), 2))
        ax.set_yticklabels([f"{v:g}" for v in alt[::2]], fontsize=7)
        ax.set_title(names[k], fontsize=9)
        ax.set_xlabel("inclination [deg]", fontsize=8)
        ax.set_ylabel("mean altitude [km]", fontsize=8)
    if mesh is not None:
        fig.colorbar(mesh, ax=axes, label="LEO objects detected in the period [%]", shrink=0.8)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_uncertainty_study(series: Mapping[str, Mapping[str, np.ndarray]], path: Path, title: str) -> Path:
    """Median (and 90th percentile, dashed) catalog position sigma against days, one line per budget."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    for label, s in series.items():
        (line,) = ax.plot(s["day"], s["median_sigma_km"], label=f"{label}: median")
        ax.plot(
            s["day"], s["p90_sigma_km"], linestyle="--", color=line.get_color(), label=f"{label}: 90th pct"
        )
    ax.set_yscale("log")
    ax.set_xlabel("days")
    ax.set_ylabel("position sigma [km]")
    ax.grid(True, which="both", linewidth=0.3, alpha=0.5)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
