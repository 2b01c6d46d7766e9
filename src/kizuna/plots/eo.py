"""Gap timeline per target (PNG, matplotlib Agg): accesses as ticks, gaps coloured by length."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kizuna.eo.access import AccessWindows
from kizuna.eo.revisit import merge_intervals


def plot_gap_timeline(access: AccessWindows, labels: np.ndarray, path: Path, title: str) -> Path:
    """One row per label (target or area; `labels[target_index]` names the row)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    t0 = access.period_start_utc
    period_h = (access.period_stop_utc - t0).astype("int64") / 3.6e12
    st = (access.start_utc - t0).astype("int64") / 3.6e12
    sp = (access.stop_utc - t0).astype("int64") / 3.6e12
    rows = list(dict.fromkeys(np.asarray(labels).tolist()))
    fig, ax = plt.subplots(figsize=(12, 0.6 * len(rows) + 1.8), dpi=110)
    cmap, norm = plt.get_cmap("viridis_r"), LogNorm(vmin=1 / 60, vmax=max(period_h, 1.0))
    for y, row in enumerate(rows):
        m = np.asarray(labels)[access.target_index] == row
        s, e = merge_intervals(st[m], sp[m])
        edges_s = np.r_[0.0, e]
        edges_e = np.r_[s, period_h]
        for a, b in zip(edges_s, edges_e, strict=True):
            if b > a:
                ax.barh(y, b - a, left=a, height=0.5, color=cmap(norm(b - a)), edgecolor="none")
        ax.barh(y, np.maximum(e - s, period_h / 2000), left=s, height=0.8, color="crimson")
        if len(s) == 0:
            ax.text(period_h / 2, y, "no access in the period", ha="center", va="center", color="white")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlim(0, period_h)
    ax.set_xlabel(
        f"hours from {np.datetime_as_string(t0, unit='m')}Z  (red: access; bars: gaps, "
        "end of access to start of next)"
    )
    ax.set_title(title)
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, label="gap length [h]", pad=0.01)
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
