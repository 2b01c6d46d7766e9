"""Missile-warning charts: architectures compared per threat (times to detection, stereo track
and warning left; track continuity per flight phase)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

PHASES = ("boost", "midcourse", "glide", "reentry")


def _value(row: Mapping[str, Any], key: str) -> float:
    v = row.get(key)
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else np.nan


def plot_assessment(
    rows: Sequence[Mapping[str, Any]],
    path: Path,
    evolution: Sequence[Mapping[str, Any]] = (),
) -> Path:
    """Three panels per threat: grouped bars of first detection, stereo track and warning time left
    (seconds) for each architecture, the tracked fraction of each flight phase, and the median
    impact-ellipse semi-major axis against time since launch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    threats = list(dict.fromkeys(str(r["threat"]) for r in rows))
    fig, axes = plt.subplots(len(threats), 3, figsize=(18, 3.8 * len(threats)), dpi=110, squeeze=False)
    for i, threat in enumerate(threats):
        sub = [r for r in rows if r["threat"] == threat]
        names = [str(r["architecture"]) for r in sub]
        x = np.arange(len(sub))
        ax = axes[i][0]
        for k, (key, label) in enumerate(
            (
                ("first_detection_s", "first detection"),
                ("stereo_s", "stereo track"),
                ("warning_time_s", "warning left"),
            )
        ):
            ax.bar(x + (k - 1) * 0.27, [_value(r, key) for r in sub], 0.27, label=label)
        ax.set_xticks(x, names, rotation=20, ha="right")
        ax.set_ylabel("seconds (median)")
        ax.set_title(f"{threat}: times")
        ax.legend(fontsize=8)
        ax = axes[i][1]
        for k, phase in enumerate(PHASES):
            ax.bar(x + (k - 1.5) * 0.2, [_value(r, f"tracked_{phase}_pct") for r in sub], 0.2, label=phase)
        ax.set_xticks(x, names, rotation=20, ha="right")
        ax.set_ylim(0, 105)
        ax.set_ylabel("phase tracked in 3-D [%]")
        ax.set_title(f"{threat}: track continuity")
        ax.legend(fontsize=8)
        ax = axes[i][2]
        for e in evolution:
            if e["threat"] == threat and e["epochs_s"]:
                ax.semilogy(e["epochs_s"], e["semi_major_km"], marker=".", label=str(e["architecture"]))
        ax.set_xlabel("seconds after launch")
        ax.set_ylabel("impact ellipse semi-major [km, 95%]")
        ax.set_title(f"{threat}: impact prediction")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
