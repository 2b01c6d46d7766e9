"""`kizuna observe`: simulated sensor observations of a truth orbit (an element set, an OEM or an
ILRS CPF prediction), written as CCSDS TDMs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer

from kizuna.cli._common import (
    TABLE_FORMATS,
    Column,
    DbOption,
    atomic_output,
    check_choice,
    check_number,
    count,
    emit_rows,
    fail,
    output_dir,
    output_format,
    parse_ids,
    read_text,
)
from kizuna.cli.sensors import (
    DIAMETER,
    HOURS,
    RETRO,
    SENSORS_OPTION,
    START,
    TLE,
    _load,
    hours_of,
    load_objects,
    retro_ids,
    select_sensors,
    start_of,
)

if TYPE_CHECKING:
    from kizuna.orbit.ephemeris import Ephemeris

observe_app = typer.Typer(help="Simulated observations: simulate.", no_args_is_help=True)

COLUMNS = (
    Column("sensor", "sensor"),
    Column("kind", "kind"),
    Column("tracks", "tracks", str, "right"),
    Column("observations", "observations", str, "right"),
    Column("file", "file"),
)


def register(app: typer.Typer) -> None:
    app.add_typer(observe_app, name="observe")


def read_ephemeris(path: Path, option: str, kind: str) -> tuple[Ephemeris, int | None]:
    """An OEM (``kind`` "oem": one segment, interpolated as it declares) or an ILRS CPF prediction
    (``kind`` "cpf") as a truth ephemeris, and the NORAD id the file gives (CPF), or a one-line
    refusal naming the option, file, line and field."""
    from kizuna.errors import FormatError
    from kizuna.formats.cpf import cpf_ephemeris, read_cpf
    from kizuna.formats.oem import oem_ephemeris, read_oem
    from kizuna.orbit.ephemeris import EphemerisError

    text = read_text(path, option)
    try:
        if kind == "cpf":
            cpf = read_cpf(text, str(path))
            if cpf.issues:
                first = cpf.issues[0]
                fail(f"{option} {first} ({len(cpf.issues)} bad records: a truth orbit must be whole)")
            return cpf_ephemeris(cpf), cpf.norad_id
        oem = read_oem(text, str(path))
        if oem.issues:
            fail(f"{option} {oem.issues[0]} ({len(oem.issues)} bad lines: a truth orbit must be whole)")
        if len(oem.segments) != 1:
            fail(f"{option} {path}: {len(oem.segments)} segments; a truth orbit is one segment")
        return oem_ephemeris(oem.segments[0], str(path)), None
    except FormatError as exc:
        fail(f"{option} {exc}")
    except EphemerisError as exc:
        fail(f"{option} {path}: {exc}")


@observe_app.command("simulate")
def simulate_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="directory for the TDMs (created if missing)")],
    norad: Annotated[str | None, typer.Option("--norad", help="the truth object's NORAD id")] = None,
    tle: Annotated[Path | None, TLE] = None,
    truth_oem: Annotated[
        Path | None,
        typer.Option("--truth-oem", help="truth orbit from a CCSDS OEM (one segment, UTC), instead of a TLE"),
    ] = None,
    truth_cpf: Annotated[
        Path | None,
        typer.Option("--truth-cpf", help="truth orbit from an ILRS CPF prediction, instead of a TLE"),
    ] = None,
    sensor: Annotated[
        list[str] | None,
        typer.Option("--sensor", help="sensor names (repeat or comma-separate; default all ground)"),
    ] = None,
    start: Annotated[str | None, START] = None,
    hours: Annotated[float, HOURS] = 24.0,
    seed: Annotated[int, typer.Option("--seed", help="random seed for noise and biases (0 or more)")] = 0,
    cadence_s: Annotated[
        float, typer.Option("--cadence-s", help="seconds between observations in a track")
    ] = 10.0,
    biases: Annotated[
        bool,
        typer.Option("--biases", help="add a constant bias per sensor and quantity, drawn from N(0, sigma)"),
    ] = False,
    no_noise: Annotated[
        bool, typer.Option("--no-noise", help="write the truth (biases still apply)")
    ] = False,
    diameter_m: Annotated[float, DIAMETER] = 1.0,
    retro: Annotated[list[str] | None, RETRO] = None,
    tdm_format: Annotated[str, typer.Option("--format", help="TDM encoding: kvn or xml")] = "kvn",
    force: Annotated[bool, typer.Option("--force", help="write into a non-empty --out directory")] = False,
    sensors_file: Annotated[Path | None, SENSORS_OPTION] = None,
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--output", "-f", help="summary as table, csv or json")] = "table",
) -> None:
    """TDMs of what each sensor would measure of one object (noise, optional biases, seeded): radar
    range/az/el/range-rate, telescope RA/Dec, laser range, over the detectable passes."""
    from kizuna.formats.tdm import write_tdm_kvn, write_tdm_xml
    from kizuna.ssa.simulate import simulate, to_tdm
    from kizuna.ssa.visibility import VisibilityError

    fmt = output_format(fmt, "--output", TABLE_FORMATS)
    tdm_format = check_choice(tdm_format, "--format", ("kvn", "xml"))
    seed = count(seed, "--seed", minimum=0, maximum=2**63 - 1)
    check_number(cadence_s, "--cadence-s", minimum=0.1, maximum=3600.0, unit="s")
    check_number(diameter_m, "--diameter-m", minimum=0.0, exclusive_minimum=True, maximum=100.0, unit="m")
    length = hours_of(hours)
    retro_list = retro_ids(retro)
    target = output_dir(out_dir, "--out", force=force)
    assert target is not None
    network = _load(sensors_file)
    chosen = [s for s in select_sensors(network, sensor, "--sensor") if s.kind != "space_optical"]
    if not chosen:
        fail("--sensor: space-based sensors are not simulated; name a radar, telescope or laser station")
    truths = [(p, o) for p, o in ((truth_oem, "--truth-oem"), (truth_cpf, "--truth-cpf")) if p is not None]
    if len(truths) > 1:
        fail("--truth-cpf: give one truth orbit, --truth-oem or --truth-cpf")
    truth: Any
    if truths:
        if tle is not None:
            fail(f"{truths[0][1]}: give a truth ephemeris or --tle, not both")
        truth_path, option = truths[0]
        truth, file_norad = read_ephemeris(truth_path, option, "cpf" if option == "--truth-cpf" else "oem")
        ids = parse_ids([norad] if norad else None, "--norad")
        if len(ids) > 1:
            fail("--norad: name one object")
        norad_id = ids[0] if ids else (file_norad or 0)
        name = truth.name or str(norad_id)
        if start is None:  # the ephemeris' first whole minute
            first = truth.start_utc.astype("datetime64[m]") + np.timedelta64(1, "m")
            t0 = datetime.fromisoformat(str(first)).replace(tzinfo=UTC)
        else:
            t0 = start_of(start, [])
    else:
        if norad is None and tle is None:
            fail("--norad: name the truth object (or give a --tle file holding one)")
        sets = load_objects(tle, [norad] if norad else None, norad is None, db)
        if len(sets) != 1:
            fail(f"--norad: the --tle file holds {len(sets)} objects; name one")
        truth, norad_id = sets[0], sets[0].norad_id
        name = truth.object_name or str(norad_id)
        t0 = start_of(start, sets)
    try:
        tracks = simulate(
            truth,
            chosen,
            t0,
            t0 + length,
            cadence_s=cadence_s,
            seed=seed,
            noise=not no_noise,
            random_biases=biases,
            diameter_m=diameter_m,
            retroreflectors=retro_list,
            norad_id=norad_id,
        )
    except VisibilityError as exc:
        fail(exc)
    target.mkdir(parents=True, exist_ok=True)
    writer = write_tdm_kvn if tdm_format == "kvn" else write_tdm_xml
    rows = []
    for s in chosen:
        mine = [t for t in tracks if t.sensor.name == s.name]
        path = None
        if mine:
            path = target / f"{norad_id}_{s.name}.{tdm_format}"
            with atomic_output(path) as fh:
                fh.write(writer(to_tdm(mine, name)))
        rows.append(
            {
                "sensor": s.name,
                "kind": s.kind,
                "tracks": len(mine),
                "observations": sum(len(t.times_utc) for t in mine),
                "file": str(path) if path else "",
            }
        )
    emit_rows(
        rows,
        COLUMNS,
        fmt,
        title=f"simulated observations of {name} ({norad_id})",
        parameters={
            "norad_id": norad_id,
            "truth": str(truths[0][0]) if truths else "tle",
            "start_utc": t0.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "hours": hours,
            "seed": seed,
            "cadence_s": cadence_s,
            "biases": biases,
            "noise": not no_noise,
        },
        key="sensors",
    )
