"""`kizuna catalog future`: today's catalog plus planned constellations and 10 cm debris, written as
an element-set file the loader reads (wiring only; the work is in kizuna.sda.population)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

import typer

from kizuna.cli._common import (
    ForceOption,
    atomic_output,
    check_choice,
    count,
    fail,
    input_file,
    note,
    output_file,
    parse_time,
    print_json,
    progress,
    warn,
)
from kizuna.errors import KizunaError
from kizuna.model.records import ElementSet

#: formats without a creation timestamp, so one seed gives one file byte for byte (OMM KVN and XML
#: stamp CREATION_DATE)
FUTURE_FORMATS = ("3le", "tle", "omm-csv", "omm-json")
#: seeds numpy's generator takes without surprise, and that a JSON report keeps exactly
MAX_SEED = 2**32 - 1
#: element sets written per progress step
WRITE_CHUNK = 5_000


def _writer(fmt: str) -> Callable[[Sequence[ElementSet]], str]:
    from kizuna.formats import omm, tle

    writers: dict[str, Callable[[Sequence[ElementSet]], str]] = {
        "tle": lambda s: tle.write_tle(s, names=False),
        "3le": tle.write_tle,
        "omm-csv": omm.write_omm_csv,
    }
    return writers[fmt]


def catalog_future(
    out: Annotated[Path, typer.Option("--out", "-o", help="file to write (refused if it exists)")],
    base: Annotated[
        Path | None,
        typer.Option(
            help="today's catalog (TLE/3LE or OMM); its median epoch is the generated objects' epoch"
        ),
    ] = None,
    debris: Annotated[
        int | None,
        typer.Option(help="10 cm fragments to add (default: enough to reach --total)"),
    ] = None,
    total: Annotated[int, typer.Option(help="objects in all when --debris is not given")] = 100_000,
    seed: Annotated[int, typer.Option(help="seed of every random draw (same seed, same file)")] = 0,
    layout: Annotated[
        str, typer.Option(help="filed (full filed build-out) or approved (licensed subset where one exists)")
    ] = "filed",
    epoch: Annotated[
        str | None, typer.Option(help="ISO-8601 epoch of generated objects (default: --base's median)")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help=", ".join(FUTURE_FORMATS))] = "3le",
    force: ForceOption = False,
) -> None:
    """Write a future catalog: --base plus the filed shells of Starlink Gen2, Guowang, Qianfan and
    Kuiper (Walker shells, each with its filing in kizuna/data/sda/planned_constellations.yaml) and
    10 cm breakup fragments (kizuna/data/sda/breakup_debris.yaml). Prints the counts as JSON."""
    from kizuna.formats import omm
    from kizuna.formats.detect import read_path
    from kizuna.sda.population import DEFAULT_TOTAL, LAYOUTS, MAX_GENERATED, future_catalog

    fmt = check_choice(fmt, "--format", FUTURE_FORMATS)
    layout = check_choice(layout, "--layout", LAYOUTS)
    count(seed, "--seed", minimum=0, maximum=MAX_SEED)
    if debris is not None:
        count(debris, "--debris", minimum=0, maximum=MAX_GENERATED)
    if total != DEFAULT_TOTAL and debris is not None:
        fail("--total and --debris both set the fragment count: give one")
    count(total, "--total", minimum=1, maximum=MAX_GENERATED + 340_000)
    epoch_utc = parse_time(epoch, "--epoch") if epoch is not None else None
    if base is None and epoch_utc is None:
        fail("--epoch: needed when no --base catalog gives one")
    if base is not None:
        input_file(base, "--base")
    output_file(out, "--out", force=force)
    with progress() as bar:
        sets: list[ElementSet] = []
        if base is not None:
            task = bar.add_task(f"reading {base.name}", total=None)
            try:
                parsed = read_path(base)
            except (KizunaError, OSError, UnicodeDecodeError) as exc:
                fail(f"--base {base}: {exc}")
            sets = [r for r in parsed.records if isinstance(r, ElementSet)]
            if not sets:
                first = parsed.issues[0] if parsed.issues else None
                fail(f"--base {base}: no element sets" + (f" ({first})" if first else ""))
            if parsed.issues:
                warn(f"--base {base}: {len(parsed.issues)} bad records skipped (first: {parsed.issues[0]})")
            bar.update(task, total=1, completed=1)
        task = bar.add_task("building shells and debris", total=None)
        try:
            fc = future_catalog(
                sets, seed=seed, debris=debris, total=total, layout=layout, epoch_utc=epoch_utc
            )
        except KizunaError as exc:
            fail(f"--base/--debris/--total: {exc}")
        bar.update(task, total=1, completed=1)
        task = bar.add_task(f"writing {out.name}", total=len(fc.element_sets))
        with atomic_output(out) as fh:
            if fmt == "omm-json":
                # one document: built whole (a JSON array cannot be appended to chunk by chunk)
                fh.write(omm.write_omm_json(fc.element_sets, indent=1))
                bar.update(task, completed=len(fc.element_sets))
            else:
                write = _writer(fmt)
                for k in range(0, len(fc.element_sets), WRITE_CHUNK):
                    chunk = fc.element_sets[k : k + WRITE_CHUNK]
                    text = write(chunk)
                    if fmt == "omm-csv" and k:
                        text = text.split("\n", 1)[1]  # the header once
                    fh.write(text)
                    bar.update(task, advance=len(chunk))
    note(f"wrote {len(fc.element_sets)} element sets to {out}")
    print_json(
        {
            "out": str(out),
            "format": fmt,
            "objects": len(fc.element_sets),
            "epoch": fc.epoch_utc.isoformat().replace("+00:00", "Z"),
            "seed": seed,
            "layout": layout,
            "counts": fc.counts,
        }
    )


def register(group: typer.Typer) -> None:
    group.command("future")(catalog_future)
