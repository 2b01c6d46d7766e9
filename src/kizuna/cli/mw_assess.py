"""`kizuna mw sensors` and `kizuna mw assess`: warning architectures and how they do against
threats (wiring only; the analysis is kizuna.mw.assess)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from kizuna.cli._common import (
    TABLE_FORMATS,
    Column,
    ForceOption,
    check_number,
    count,
    emit_rows,
    fail,
    iso,
    note,
    output_file,
    output_format,
    parse_time,
    progress,
)
from kizuna.cli.mw import mw_app
from kizuna.errors import KizunaError

MAX_LAUNCHES = 100_000
MAX_SEED = 2**32 - 1
MAX_WINDOW_HOURS = 24.0 * 366
MAX_AZIMUTH_SPREAD_DEG = 45.0
MIN_STEP_S, MAX_STEP_S = 0.5, 30.0
DEFAULT_START = "2026-12-01T00:00:00Z"


def _fmt(value: Any, spec: str = ".0f") -> str:
    return format(value, spec)


SENSOR_COLUMNS = (
    Column("sensor", "sensor"),
    Column("kind", "kind"),
    Column("n", "count", justify="right"),
    Column("where", "where"),
    Column("field of regard", "field_of_regard"),
    Column("revisit s", "revisit_s", lambda v: f"{v:g}", "right"),
    Column("sigma urad", "sigma_urad", lambda v: f"{v:g}", "right"),
    Column("hot NEI W/m2", "hot_nei_w_m2", lambda v: f"{v:.1e}", "right"),
    Column("cold NEI W/m2", "cold_nei_w_m2", lambda v: f"{v:.1e}", "right"),
    Column("SNR", "snr", lambda v: f"{v:g}", "right"),
    Column("radar reference", "radar_reference"),
    Column("architectures", "architectures"),
)


def _names(text: str, option: str, known: list[str], what: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        fail(f"{option} {text!r}: give at least one {what}")
    for n in names:
        if n not in known:
            fail(f"{option} {n!r}: no such {what}; use one of {', '.join(known)}")
    if len(set(names)) != len(names):
        fail(f"{option} {text!r}: a {what} is named twice")
    return names


@mw_app.command("sensors")
def sensors(
    architecture: Annotated[
        str | None, typer.Option("--architecture", help="only the sensors of this architecture")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """The warning sensors of each architecture: kind, place, field of regard, revisit, noise,
    thresholds and the public source of every number."""
    from kizuna.mw.sensors import architecture_names, group_rows

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    names = (
        None
        if architecture is None
        else _names(architecture, "--architecture", architecture_names(), "architecture")
    )
    rows = group_rows(names=names)
    emit_rows(
        rows,
        SENSOR_COLUMNS if fmt == "table" else (*SENSOR_COLUMNS, Column("source", "source")),
        fmt,
        title="missile-warning sensors",
        parameters={"architecture": architecture or "all"},
        key="sensors",
    )


ASSESS_COLUMNS = (
    Column("threat", "threat"),
    Column("architecture", "architecture"),
    Column("launches", "launches", justify="right"),
    Column("detected %", "detected_pct", _fmt, "right"),
    Column("first det s", "first_detection_s", _fmt, "right"),
    Column("p90", "first_detection_p90_s", _fmt, "right"),
    Column("stereo %", "stereo_pct", _fmt, "right"),
    Column("stereo s", "stereo_s", _fmt, "right"),
    Column("boost %", "tracked_boost_pct", _fmt, "right"),
    Column("midcourse %", "tracked_midcourse_pct", _fmt, "right"),
    Column("glide %", "tracked_glide_pct", _fmt, "right"),
    Column("reentry %", "tracked_reentry_pct", _fmt, "right"),
    Column("pos 1s km", "position_sigma_km", lambda v: f"{v:.2f}", "right"),
    Column("vel 1s m/s", "velocity_sigma_m_s", lambda v: f"{v:.1f}", "right"),
    Column("warning s", "warning_time_s", _fmt, "right"),
    Column("impact call s", "impact_call_s", _fmt, "right"),
    Column("impact warning s", "impact_warning_s", _fmt, "right"),
    Column("impact miss km", "impact_miss_km", lambda v: f"{v:.1f}", "right"),
    Column("flight s", "flight_time_s", _fmt, "right"),
)
ALL_ASSESS_KEYS = (
    *ASSESS_COLUMNS,
    Column("sensors", "sensors"),
    Column("stereo_p90_s", "stereo_p90_s"),
    Column("impact_call_pct", "impact_call_pct"),
)


@mw_app.command("assess")
def assess_cmd(
    threats: Annotated[
        str,
        typer.Option(
            "--threats", help="threat scenarios, comma-separated (see the list in --help of the data file)"
        ),
    ],
    architecture: Annotated[
        str, typer.Option("--architecture", help="architectures, comma-separated (see kizuna mw sensors)")
    ],
    launches: Annotated[int, typer.Option("--launches", help="Monte Carlo launches per threat")] = 20,
    seed: Annotated[
        int, typer.Option("--seed", help="random seed of launch times, azimuths, frame phases")
    ] = 0,
    start: Annotated[str, typer.Option("--start", help="first launch time drawn (ISO-8601)")] = DEFAULT_START,
    window_hours: Annotated[
        float, typer.Option("--window-hours", help="launch times are drawn uniformly over this window")
    ] = 24.0,
    azimuth_spread_deg: Annotated[
        float, typer.Option("--azimuth-spread-deg", help="launch azimuth drawn within +- this of the aim")
    ] = 5.0,
    step_s: Annotated[float, typer.Option("--step-s", help="analysis time step [s]")] = 2.0,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
    plot: Annotated[Path | None, typer.Option("--plot", help="write a comparison chart (PNG)")] = None,
    force: ForceOption = False,
) -> None:
    """Monte Carlo of launches of each threat against each architecture: time to first detection
    and to a stereo track, track continuity per phase, track accuracy, the predicted impact point
    and its 95% ellipse (JSON: its evolution), and the warning time left at the target."""
    from kizuna.mw.sensors import architecture_names
    from kizuna.mw.threat_scenarios import scenario_names

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    threat_names = _names(threats, "--threats", scenario_names(), "threat scenario")
    arch_names = _names(architecture, "--architecture", architecture_names(), "architecture")
    count(launches, "--launches", minimum=1, maximum=MAX_LAUNCHES)
    count(seed, "--seed", minimum=0, maximum=MAX_SEED)
    t0 = parse_time(start, "--start")
    check_number(window_hours, "--window-hours", minimum=0.0, maximum=MAX_WINDOW_HOURS, unit="h")
    check_number(
        azimuth_spread_deg, "--azimuth-spread-deg", minimum=0.0, maximum=MAX_AZIMUTH_SPREAD_DEG, unit="deg"
    )
    check_number(step_s, "--step-s", minimum=MIN_STEP_S, maximum=MAX_STEP_S, unit="s")
    from kizuna.model.time import SUPPORTED_RANGE_UTC

    if t0 + timedelta(hours=window_hours, days=1) > SUPPORTED_RANGE_UTC[1]:
        fail(f"--start {iso(t0)}: the launch window leaves the supported time range")
    output_file(plot, "--plot", force=force)

    from kizuna.mw.assess import AssessConfig, assess, impact_evolution, summary_row
    from kizuna.mw.sensors import load_architectures
    from kizuna.mw.threat_scenarios import monte_carlo

    try:
        archs = load_architectures(arch_names, t0)
    except KizunaError as exc:
        fail(f"--architecture: {exc}")
    config = AssessConfig(step_s=step_s)
    rows: list[dict[str, Any]] = []
    evolution: list[dict[str, Any]] = []
    with progress() as bar:
        task = bar.add_task("assessing", total=len(threat_names) * (1 + len(archs)) * launches)
        for k, name in enumerate(threat_names):
            try:
                flights = monte_carlo(
                    name,
                    launches,
                    start_utc=t0,
                    window_hours=window_hours,
                    azimuth_spread_deg=azimuth_spread_deg,
                    seed=seed + k,
                )
            except (KizunaError, ValueError) as exc:
                fail(f"--threats {name!r}: {exc}")
            bar.advance(task, launches)
            for a in archs:
                result = assess(
                    flights, a, config=config, seed=seed + k, progress=lambda n: bar.advance(task, n)
                )
                rows.append(summary_row(name, result))
                evolution.append(impact_evolution(name, result))
    emit_rows(
        rows,
        ASSESS_COLUMNS if fmt == "table" else ALL_ASSESS_KEYS,
        fmt,
        title="missile-warning architectures: medians over the launches",
        parameters={
            "threats": ",".join(threat_names),
            "architectures": ",".join(arch_names),
            "launches": launches,
            "seed": seed,
            "start_utc": iso(t0),
            "window_hours": window_hours,
            "azimuth_spread_deg": azimuth_spread_deg,
            "step_s": step_s,
        },
        key="assessments",
        extra={"impact_evolution": evolution},
    )
    if plot is not None:
        from kizuna.plots.mw import plot_assessment

        plot_assessment(rows, plot, evolution)
        note(f"wrote {plot}")
