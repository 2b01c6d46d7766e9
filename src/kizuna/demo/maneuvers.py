"""`make demo` part for maneuvers and proximity: ISS reboosts, and one proximity alert in the sample."""

from __future__ import annotations

import dataclasses
import json
from importlib import resources
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from kizuna.formats.tle import read_tle
from kizuna.plots.maneuvers import plot_detection
from kizuna.sda import maneuvers as M
from kizuna.sda.proximity import watch
from kizuna.store import CatalogStore

_SHARED_ISS = (
    Path(__file__).resolve().parents[3]
    / ".."
    / "shared"
    / "data"
    / "tle"
    / "history"
    / "iss_25544_2020-2024.tle"
)


def iss_history_text() -> tuple[str, str]:
    """The shared 2020-2024 ISS history when present, else the bundled 2023 slice."""
    if _SHARED_ISS.exists():
        return _SHARED_ISS.read_text(), "../shared/data/tle/history/iss_25544_2020-2024.tle"
    res = resources.files("kizuna") / "data" / "maneuvers" / "iss_25544_2023.tle"
    return res.read_text(), "kizuna/data/maneuvers/iss_25544_2023.tle (bundled)"


def run_demo(store: CatalogStore, out_dir: Path, console: Console) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    console.rule("[bold]Maneuver detection: ISS reboosts")
    text, source = iss_history_text()
    sets = read_tle(text, source).records
    cfg = dataclasses.replace(M.LEO_CONFIG, min_dv_mps=0.1)
    det = M.detect(sets, cfg)
    found = det.maneuvers
    raises = [m for m in found if m.direction == "+in-track"]
    console.print(
        f"{len(det.series.a_km)} ISS element sets from {source}: {len(found)} maneuvers of at "
        f"least 0.1 m/s, {len(raises)} of them prograde (reboosts); plain a-jump baseline flags "
        f"{len(M.detect_baseline(sets))}."
    )
    table = Table(title="ISS maneuvers (most recent 12)")
    for col in ("best time (UTC)", "window (h)", "dv m/s", "direction", "kind", "da km", "conf."):
        table.add_column(col)
    for m in found[-12:]:
        hours = (m.window_end_utc - m.window_start_utc) / np.timedelta64(1, "h")
        table.add_row(
            str(m.as_row()["t_utc"])[:19],
            f"{hours:.1f}",
            f"{m.dv_mps:.2f}",
            m.direction,
            m.kind,
            f"{m.delta_a_km:+.3f}",
            f"{m.confidence:.2f}",
        )
    console.print(table)
    png = plot_detection(
        det,
        out_dir / "iss_maneuvers.png",
        title=f"ISS: {len(found)} maneuvers >= 0.1 m/s detected from TLE history",
    )
    console.print(f"Wrote {png}")

    console.rule("[bold]Proximity watch: Japanese LEO payloads vs the bundled catalog")
    assets = [e.latest for e in store.search(owner="JPN") if e.latest is not None and e.regime == "LEO"]
    if not assets:
        console.print("[yellow]no Japanese LEO assets in the store[/]")
        return
    epochs = sorted(a.epoch_utc for a in assets)
    t0 = epochs[len(epochs) // 2].replace(minute=0, second=0, microsecond=0)
    catalog = store.latest_element_sets()
    alerts = watch(assets, catalog, t0, 1.0, 10.0)
    console.print(
        f"{len(assets)} assets x {len(catalog)} catalog objects, 24 h from {t0:%Y-%m-%d %H:%M} UTC, "
        f"radius 10 km: {len(alerts)} alerts"
    )
    if not alerts:
        return
    a = alerts[0]
    names = {s.norad_id: s.object_name for s in assets}
    t = Table(
        title=f"Closest: {a.object_name} ({a.object_norad}) near {names.get(a.asset_norad)} "
        f"({a.asset_norad}) -- pattern {', '.join(a.patterns)}"
    )
    for col in ("closest per revolution (UTC)", "range km", "rel speed km/s", "R km", "T km", "N km"):
        t.add_column(col)
    order = np.argsort(a.minima_range_km)[:6]
    for i in sorted(order):
        r, tr, nn = a.minima_rtn_km[i]
        t.add_row(
            str(a.minima_utc[i])[:19],
            f"{a.minima_range_km[i]:.2f}",
            f"{a.minima_rel_speed_kms[i]:.3f}",
            f"{r:.2f}",
            f"{tr:.2f}",
            f"{nn:.2f}",
        )
    console.print(t)
    path = out_dir / "proximity_alert.json"
    path.write_text(json.dumps(a.to_product_payload(), indent=1))
    console.print(f"Wrote {path}")
