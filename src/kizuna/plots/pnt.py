"""GNSS maps and time series (PNG, matplotlib Agg): a value per grid cell, DOPs over time, and
interference areas over AIS positions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kizuna.pnt.interference import InterferenceArea
from kizuna.pnt.regions import Grid


def plot_grid_map(
    grid: Grid,
    values: Sequence[float] | np.ndarray,
    path: Path,
    title: str,
    label: str,
    *,
    cmap: str = "viridis",
    value_range: tuple[float, float] | None = None,
) -> Path:
    """One colour per grid cell; `values` is row-major like `Grid.receivers` (NaN cells blank).
    `value_range` fixes the colour scale (a percentage map reads 0-100 even when every cell is 100, so
    two maps compare by colour)."""
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
    vmin, vmax = value_range if value_range is not None else (None, None)
    mesh = ax.pcolormesh(
        lon_edges, lat_edges, np.ma.masked_invalid(image), cmap=cmap, shading="flat", vmin=vmin, vmax=vmax
    )
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


def plot_interference_map(
    areas: Sequence[InterferenceArea],
    lat_deg: np.ndarray,
    lon_deg: np.ndarray,
    path: Path,
    title: str,
    *,
    extent: tuple[float, float, float, float] | None = None,
) -> Path:
    """AIS positions (grey dots) and the interference areas over them: spoofing in purple, jamming
    in red, each labelled with its number in the listing, pattern and confidence. `extent` is
    (west, south, east, north) [deg]; by default the positions and areas decide it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon as PolygonPatch

    colour = {"spoofing": "tab:purple", "jamming": "tab:red"}
    fig, ax = plt.subplots(figsize=(9, 8), dpi=110)
    if len(lat_deg):
        ax.plot(lon_deg, lat_deg, ".", ms=1.5, color="0.6", label=f"AIS positions ({len(lat_deg):,})")
    xs: list[float] = list(np.asarray(lon_deg, dtype=float))
    ys: list[float] = list(np.asarray(lat_deg, dtype=float))
    for number, area in enumerate(areas, start=1):
        geometry = area.polygon
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        for rings in polygons:
            ring = np.asarray(rings[0], dtype=float)
            ax.add_patch(
                PolygonPatch(
                    ring,
                    closed=True,
                    facecolor=colour[area.kind],
                    edgecolor=colour[area.kind],
                    alpha=0.35,
                    lw=1.2,
                )
            )
            xs += list(ring[:, 0])
            ys += list(ring[:, 1])
        # a ring marker keeps an area of a few hundred metres visible on a map of a sea
        ax.plot(
            area.centre_lon_deg, area.centre_lat_deg, "o", ms=12, mfc="none", mec=colour[area.kind], mew=1.5
        )
        ax.annotate(
            f"{number}: {area.kind} ({area.pattern}), {len(area.vessels)} vessels, conf {area.confidence:.2f}",
            (area.centre_lon_deg, area.centre_lat_deg),
            fontsize=8,
            xytext=(6, 6),
            textcoords="offset points",
        )
    for kind, c in colour.items():
        if any(a.kind == kind for a in areas):
            ax.plot([], [], "s", color=c, alpha=0.5, label=kind)
    if extent is not None:
        w, s, e, n = extent
    elif xs:
        w, e, s, n = min(xs), max(xs), min(ys), max(ys)
        pad = max(0.05, 0.05 * max(e - w, n - s))
        w, e, s, n = w - pad, e + pad, s - pad, n + pad
    else:
        w, s, e, n = -180.0, -90.0, 180.0, 90.0
    ax.set_xlim(w, e)
    ax.set_ylim(s, n)
    ax.set_aspect(1.0 / max(np.cos(np.radians(0.5 * (s + n))), 0.2))
    ax.set_xlabel("longitude [deg]")
    ax.set_ylabel("latitude [deg]")
    ax.set_title(title, fontsize=10)
    ax.grid(True, linewidth=0.3, alpha=0.5)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
