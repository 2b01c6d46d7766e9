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
