"""A static map (matplotlib Figure, no online tiles) of tracks, events and dark-vessel candidates.

Returns a Figure; the caller saves it (analyses do no file I/O).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from kizuna.model.maritime import DarkVesselResult, MaritimeEvent, PositionArrays

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_EVENT_STYLE = {
    "gap": ("o", "tab:orange"),
    "encounter": ("*", "tab:red"),
    "loitering": ("s", "tab:purple"),
    "spoofing": ("X", "black"),
    "port_visit": ("^", "tab:green"),
    "bad_position": ("x", "tab:gray"),
}


def maritime_map(
    *,
    positions: PositionArrays | None = None,
    events: Sequence[MaritimeEvent] = (),
    dark: DarkVesselResult | None = None,
    footprint: tuple[float, float, float, float] | None = None,
    image: np.ndarray | None = None,
    image_extent: tuple[float, float, float, float] | None = None,
    title: str = "Kizuna maritime picture",
    synthetic_note: str | None = None,
) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 8), dpi=110)
    if image is not None and image_extent is not None:
        w, s, e, n = image_extent
        ax.imshow(
            10 * np.log10(np.maximum(image, 1e-6)),
            extent=(w, e, s, n),
            cmap="gray",
            vmin=-10,
            vmax=20,
            origin="upper",
            interpolation="nearest",
        )
    if positions is not None and len(positions):
        order = np.lexsort((positions.time_utc.astype("int64"), positions.mmsi))
        p = positions.take(order)
        breaks = np.flatnonzero(np.r_[True, p.mmsi[1:] != p.mmsi[:-1], True])
        for a, b in zip(breaks[:-1], breaks[1:], strict=True):
            ax.plot(p.lon_deg[a:b], p.lat_deg[a:b], "-", lw=0.8, color="tab:blue", alpha=0.6)
        ax.plot(p.lon_deg, p.lat_deg, ".", ms=2, color="tab:blue", label=f"AIS positions ({len(p)})")
    for kind, (marker, color) in _EVENT_STYLE.items():
        ev = [e for e in events if e.kind == kind]
        if ev:
            ax.plot(
                [e.lon_deg for e in ev],
                [e.lat_deg for e in ev],
                marker,
                color=color,
                ms=9,
                ls="none",
                label=f"{kind} ({len(ev)})",
            )
    if footprint is not None:
        w, s, e, n = footprint
        ax.plot([w, e, e, w, w], [s, s, n, n, s], "--", color="gray", lw=1, label="SAR footprint")
    if dark is not None:
        det = dark.detections
        matched = [det[i] for i, _, _ in dark.matches]
        darkd = [det[i] for i in dark.dark_detections]
        if matched:
            ax.plot(
                [d.lon_deg for d in matched],
                [d.lat_deg for d in matched],
                "o",
                mfc="none",
                mec="lime",
                ms=10,
                mew=1.5,
                ls="none",
                label=f"SAR detection with AIS ({len(matched)})",
            )
        if darkd:
            ax.plot(
                [d.lon_deg for d in darkd],
                [d.lat_deg for d in darkd],
                "D",
                color="red",
                ms=8,
                ls="none",
                label=f"dark-vessel candidate ({len(darkd)})",
            )
        if dark.unmatched_ais:
            j = np.array(dark.unmatched_ais)
            ax.plot(
                dark.ais_lon_deg[j],
                dark.ais_lat_deg[j],
                "^",
                color="gold",
                mec="k",
                ms=8,
                ls="none",
                label=f"AIS not detected ({len(j)})",
            )
    ax.set_xlabel("longitude [deg]")
    ax.set_ylabel("latitude [deg]")
    ax.set_title(title)
    if synthetic_note:
        ax.text(
            0.01,
            0.01,
            synthetic_note,
            transform=ax.transAxes,
            fontsize=8,
            color="darkred",
            bbox={"facecolor": "white", "alpha": 0.8},
        )
    ax.grid(True, lw=0.3)
    mid = np.nanmean(ax.get_ylim())
    ax.set_aspect(1 / max(np.cos(np.radians(mid)), 0.05), adjustable="datalim")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig
