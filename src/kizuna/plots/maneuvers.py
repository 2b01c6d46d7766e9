"""Plots of maneuver detection: one object's element time series with detected (and true) maneuvers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kizuna.orbit.timescale import as_datetime64
from kizuna.sda.maneuvers import Detection


def plot_detection(
    det: Detection, path: Path, *, truth_utc: Sequence[object] | None = None, title: str | None = None
) -> Path:
    """Semi-major axis (and inclination; GEO: longitude drift rate) over time, detected maneuvers as
    vertical lines coloured by direction, operator-logged maneuvers (if given) as ticks on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = det.series
    t = s.times_utc.astype("datetime64[ms]").astype(object)
    second = (
        ("drift_deg_day", "drift rate [deg/day]") if s.regime == "GEO" else ("inc_deg", "inclination [deg]")
    )
    fig, axes = plt.subplots(
        3, 1, figsize=(12, 8), dpi=110, sharex=True, gridspec_kw={"height_ratios": [3, 2, 1]}
    )
    axes[0].plot(t, s.a_km, ".", ms=2, color="0.3")
    axes[0].set_ylabel("semi-major axis [km]")
    axes[1].plot(t, getattr(s, second[0]), ".", ms=2, color="0.3")
    axes[1].set_ylabel(second[1])
    mid = s.times_utc[:-1] + (s.times_utc[1:] - s.times_utc[:-1]) // 2
    axes[2].semilogy(
        mid.astype("datetime64[ms]").astype(object), np.maximum(det.score, 1e-2), lw=0.6, color="0.4"
    )
    axes[2].set_ylabel("score [sigma]")
    colours = {
        "+in-track": "tab:green",
        "-in-track": "tab:red",
        "cross-track": "tab:blue",
        "radial": "tab:purple",
    }
    seen: set[str] = set()
    for m in det.maneuvers:
        tm = m.t_utc.astype("datetime64[ms]").astype(object)
        c = colours.get(m.direction, "k")
        for ax in axes[:2]:
            ax.axvline(
                tm,
                color=c,
                lw=0.8,
                alpha=0.7,
                label=None if m.direction in seen or ax is axes[1] else f"detected {m.direction}",
            )
        seen.add(m.direction)
    if truth_utc is not None and len(truth_utc):
        tt = as_datetime64(list(truth_utc)).astype("datetime64[ms]").astype(object)
        top = np.nanmax(s.a_km)
        axes[0].plot(tt, np.full(len(tt), top), "v", color="tab:orange", ms=5, label="operator log")
    axes[0].legend(loc="best", fontsize=8)
    axes[0].set_title(title or f"NORAD {s.norad_id} ({s.regime}): {len(det.maneuvers)} maneuvers detected")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
