"""Earth-observation part of `make demo`: real QPS-SAR satellites and a 36-satellite 4x9 design over
Kyiv, Kharkiv, the Senkaku islands and the Tsushima strait (revisit table and gap plot)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
from rich.console import Console

from kizuna.eo.access import compute_access
from kizuna.eo.aoi import parse_geojson, sample_points
from kizuna.eo.constellation import from_element_sets, walker
from kizuna.eo.revisit import GAP_DEFINITION, per_aoi
from kizuna.eo.sensors import SarSensor
from kizuna.plots.eo import plot_gap_timeline
from kizuna.plots.tables import revisit_table
from kizuna.store import CatalogStore
from kizuna.store.eo_store import ConstellationStore


def demo_aoi_text() -> str:
    return (resources.files("kizuna") / "data" / "eo" / "aoi_demo.geojson").read_text()


def run_demo(store: CatalogStore, out_dir: Path, console: Console, *, days: float = 2.0) -> None:

    out_dir.mkdir(parents=True, exist_ok=True)
    console.rule("[bold]Earth observation: SAR revisit over four areas")
    sets = [e.latest for e in store.search(name="QPS-SAR") if e.latest is not None]
    real = from_element_sets("QPS-SAR (catalog)", sets, prefix="QPS-SAR")
    start = max(es.epoch_utc for es in real.element_sets).replace(hour=0, minute=0, second=0, microsecond=0)
    design = walker(36, 4, 1, 575.0, 42.0, start, name="iQPS-like 36 = 4x9 walker:36/4/1:575:42")
    ConstellationStore(store).save(design)
    targets = sample_points(parse_geojson(demo_aoi_text(), "aoi_demo.geojson"), spacing_km=10.0)
    sensor = SarSensor(15.0, 45.0, "both")
    stop = np.datetime64(start.replace(tzinfo=None), "ns") + np.timedelta64(int(days * 86400), "s")
    for const, tag in ((real, "qps_sar_real"), (design, "walker_36_4_1")):
        acc = compute_access(const, targets, start, stop, sensor)
        rows = per_aoi(acc, targets)
        console.print(
            revisit_table(
                rows,
                f"{const.name}: {len(const)} sats, {sensor.describe()}, "
                f"{days:g} d from {start:%Y-%m-%d} UTC, {len(targets)} points",
            )
        )
        png = plot_gap_timeline(
            acc,
            targets.aoi,
            out_dir / f"eo_gaps_{tag}.png",
            f"{const.name}: access (red) and gaps, {sensor.describe()}",
        )
        console.print(f"  {len(acc)} access windows; gap timeline: {png}")
    console.print(f"[dim]{GAP_DEFINITION}[/]")
