"""`kizuna demo`: the main job on the embedded default (SQLite, bundled sample)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kizuna.orbit import propagate, time_grid
from kizuna.orbit.timescale import datetime64_of
from kizuna.store import CatalogStore
from kizuna.store.ingest import load_files


def sample_files() -> list[Path]:
    root = resources.files("kizuna") / "data" / "sample"
    return sorted(
        Path(str(p))
        for p in root.iterdir()
        if p.name.endswith((".3le", ".tle", ".csv", ".json", ".kvn", ".xml"))
    )


def run_demo(db: str, out_dir: Path, console: Console) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    if "://" not in db:
        Path(db).parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(db + suffix).unlink(missing_ok=True)
    store = CatalogStore(db)
    console.rule("[bold]Kizuna demo: catalog and propagation")
    files = sample_files()
    summary = load_files(store, files)
    console.print(
        f"Loaded bundled sample into {store.safe_url}: {summary.loaded} records "
        f"({summary.duplicates} duplicates, {summary.rejected} rejected)"
    )

    counts = store.summary()
    table = Table(title="Objects by orbit regime")
    table.add_column("regime")
    table.add_column("objects", justify="right")
    for regime, n in counts["regime"].items():
        table.add_row(regime, str(n))
    console.print(table)
    table = Table(title="Objects by owner (SATCAT)")
    table.add_column("owner")
    table.add_column("objects", justify="right")
    for owner, n in counts["owner"].items():
        table.add_row(owner, str(n))
    console.print(table)

    jpn = [e for e in store.search(owner="JPN", object_type="PAYLOAD") if e.latest is not None]
    sets = [e.latest for e in jpn if e.latest is not None]  # every one: jpn kept only those
    start = max(es.epoch_utc for es in sets).replace(minute=0, second=0, microsecond=0)
    t0 = datetime64_of(start)
    times = time_grid(t0, t0 + np.timedelta64(24, "h"), 60.0)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(
            f"SGP4 {len(sets)} Japanese payloads x {len(times)} steps (ITRF)", total=len(sets)
        )
        eph = propagate(
            sets, times, "itrf", chunk_states=len(times) * 4, progress=lambda n: progress.advance(task, n)
        )
    lat, lon, alt = eph.geodetic()
    # Japan's rough box: the time each satellite spends overhead is a useful first look.
    over_japan = (lat > 24) & (lat < 46) & (lon > 122) & (lon < 146)
    table = Table(title=f"Japanese payloads, 24 h from {start:%Y-%m-%d %H:%M} UTC (60 s steps)")
    for col in (
        "NORAD",
        "name",
        "regime",
        "elements age d",
        "alt min km",
        "alt max km",
        "min over Japan",
        "SGP4",
    ):
        table.add_column(col, justify="right" if col not in ("name", "regime") else "left")
    errors = {e.norad_id: e for e in eph.errors()}
    for i, entry in enumerate(jpn):
        ok = eph.ok[i]
        age_d = (start - sets[i].epoch_utc).total_seconds() / 86400.0
        table.add_row(
            str(entry.norad_id),
            sets[i].object_name or "",
            entry.regime or "",
            f"{age_d:.1f}",
            f"{np.nanmin(alt[i][ok]):.0f}" if ok.any() else "-",
            f"{np.nanmax(alt[i][ok]):.0f}" if ok.any() else "-",
            str(int(over_japan[i].sum())),
            "ok" if entry.norad_id not in errors else errors[entry.norad_id].message[:30],
        )
    console.print(table)
    csv_path = out_dir / "jpn_payloads_24h_itrf.csv"
    with csv_path.open("w") as fh:
        fh.write("norad_id,t_utc,lat_deg,lon_deg,alt_km\n")
        iso = np.datetime_as_string(times, unit="s")
        for i, norad in enumerate(eph.norad_ids):
            for j in np.flatnonzero(eph.ok[i]):
                fh.write(f"{norad},{iso[j]}Z,{lat[i, j]:.5f},{lon[i, j]:.5f},{alt[i, j]:.3f}\n")
    png = out_dir / "jpn_payloads_ground_tracks.png"
    regimes = [e.regime or "" for e in jpn]
    plot_ground_tracks(
        lat,
        lon,
        [es.object_name or str(es.norad_id) for es in sets],
        regimes,
        png,
        f"Japanese payloads from {start:%Y-%m-%d %H:%M} UTC: LEO first 100 min, GEO/IGSO 24 h",
    )
    console.print(f"Wrote {csv_path} and {png}")
    run_domain_demos(store, out_dir, console)


def run_domain_demos(store: CatalogStore, out_dir: Path, console: Console) -> None:
    """Each capability's part of the demo, on the same store and sample (each prints its own
    heading)."""
    from kizuna.demo.conjunctions import run_demo as conjunctions
    from kizuna.demo.earth_observation import run_demo as earth_observation
    from kizuna.demo.maneuvers import run_demo as maneuvers
    from kizuna.demo.maritime import run_demo as maritime
    from kizuna.demo.od_sharing import run_demo as od_sharing
    from kizuna.demo.sharing import run_demo as sharing

    for part in (conjunctions, maneuvers, earth_observation, maritime, sharing, od_sharing):
        part(store, out_dir, console)


def plot_ground_tracks(
    lat: np.ndarray,
    lon: np.ndarray,
    names: list[str],
    regimes: list[str],
    path: Path,
    title: str,
    leo_minutes: int = 100,
) -> None:
    """Ground tracks: one orbit for LEO (24 h of LEO tracks is an unreadable mesh), the whole
    day for higher orbits (QZSS's figure-eight, GEO dots)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 6), dpi=110)
    cmap = plt.get_cmap("tab20")
    for i, name in enumerate(names):
        span = leo_minutes if regimes[i] == "LEO" else lon.shape[1]
        lo = lon[i, :span].copy()
        la = lat[i, :span].copy()
        # Break the line where it wraps at the antimeridian.
        wrap = np.flatnonzero(np.abs(np.diff(lo)) > 180) + 1
        lo = np.insert(lo, wrap, np.nan)
        la = np.insert(la, wrap, np.nan)
        high = regimes[i] != "LEO"
        ax.plot(
            lo,
            la,
            lw=2.0 if high else 0.8,
            color=cmap(i % 20),
            label=name,
            marker="o" if high else None,
            markersize=1.5,
            markevery=60,
        )
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_xlabel("longitude [deg]")
    ax.set_ylabel("geodetic latitude [deg]")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.add_patch(plt.Rectangle((122, 24), 24, 22, fill=False, ec="k", lw=1.2, ls="--"))
    ax.legend(fontsize=6, ncol=2, loc="lower left", framealpha=0.8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
