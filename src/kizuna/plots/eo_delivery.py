"""Histogram of request-to-delivery latency (PNG, matplotlib Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_delivery_histogram(latency_s: np.ndarray, path: Path, title: str, not_delivered: int = 0) -> Path:
    """Delivered requests by latency [h], with the median and 90th percentile marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hours = np.asarray(latency_s, float) / 3600.0
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
    if len(hours):
        ax.hist(hours, bins=min(60, max(5, len(hours) // 5)), color="steelblue", edgecolor="white")
        for q, style, label in ((50, "-", "median"), (90, "--", "p90")):
            v = float(np.percentile(hours, q))
            ax.axvline(v, color="crimson", linestyle=style, label=f"{label} {v:.2f} h")
        ax.legend()
    else:
        ax.text(
            0.5, 0.5, "no request delivered in the period", ha="center", va="center", transform=ax.transAxes
        )
    ax.set_xlabel("delivery latency: delivered - requested [h]")
    ax.set_ylabel("requests")
    suffix = f" ({not_delivered} not delivered in the period)" if not_delivered else ""
    ax.set_title(title + suffix)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_coverage_map(
    lon_deg: np.ndarray,
    lat_deg: np.ndarray,
    first_pass_h: np.ndarray,
    outlines: list[np.ndarray],
    path: Path,
    title: str,
) -> Path:
    """The area's sample cells coloured by the hour they were first imaged (grey: never), with each
    strip's outline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 7), dpi=110)
    seen = np.isfinite(first_pass_h)
    size = min(30.0, max(1.0, 40000.0 / max(len(lon_deg), 1)))
    ax.scatter(lon_deg[~seen], lat_deg[~seen], s=size, c="lightgrey", marker="s", linewidths=0)
    if seen.any():
        sc = ax.scatter(
            lon_deg[seen],
            lat_deg[seen],
            s=size,
            c=first_pass_h[seen],
            cmap="viridis",
            marker="s",
            linewidths=0,
        )
        fig.colorbar(sc, ax=ax, label="first imaged [h from start]")
    for ring in outlines:
        ax.plot(ring[:, 0], ring[:, 1], color="crimson", linewidth=0.8)
    pad = 0.05 * max(float(np.ptp(lon_deg)) if len(lon_deg) else 1.0, 0.1)
    ax.set_xlim(float(lon_deg.min()) - pad, float(lon_deg.max()) + pad)
    ax.set_ylim(float(lat_deg.min()) - pad, float(lat_deg.max()) + pad)
    ax.set_xlabel("longitude [deg]")
    ax.set_ylabel("latitude [deg]")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
