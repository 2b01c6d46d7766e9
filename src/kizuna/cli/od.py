"""`kizuna od`: orbit determination through Orekit from CCSDS TDMs: an estimated state with its
covariance (OPM, OEM over a span), a fitted TLE, and residual statistics per station and kind."""

from __future__ import annotations

import math
from datetime import UTC, timedelta
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from kizuna.cli._common import (
    TABLE_FORMATS,
    Column,
    atomic_output,
    count,
    emit_rows,
    fail,
    input_file,
    key_value_table,
    note,
    open_store,
    out,
    output_file,
    output_format,
    positive,
    progress,
    read_text,
)

od_app = typer.Typer(help="Orbit determination from tracking data (Orekit): fit.", no_args_is_help=True)

COLUMNS = (
    Column("station", "station"),
    Column("kind", "kind"),
    Column("component", "component"),
    Column("unit", "unit"),
    Column("used", "count", lambda v: f"{v}", "right"),
    Column("rejected", "rejected", lambda v: f"{v}", "right"),
    Column("mean", "mean", lambda v: f"{v:.4g}", "right"),
    Column("rms", "rms", lambda v: f"{v:.4g}", "right"),
    Column("rms/sigma", "normalized_rms", lambda v: f"{v:.3f}", "right"),
)
MAX_SPAN_H = 24.0 * 30  # an OEM beyond a month of a covariance carried linearly says little


def register(app: typer.Typer) -> None:
    app.add_typer(od_app, name="od")


def _stations(station_args: list[str], sensors_file: Path | None) -> tuple[dict[str, Any], dict[str, Any]]:
    from kizuna.ssa.od import Station, sigmas_from_sensors, stations_from_sensors
    from kizuna.ssa.sensors import SensorFileError, load_sensors

    if sensors_file is not None:
        input_file(sensors_file, "--sensors")
    try:
        sensors = load_sensors(sensors_file)
    except SensorFileError as exc:
        fail(f"--sensors {exc}" if sensors_file is not None else exc)
    stations = stations_from_sensors(sensors)
    sigmas = sigmas_from_sensors(sensors)
    for text in station_args:
        name, sep, rest = text.partition("=")
        parts = rest.split(",")
        if not sep or not name.strip() or len(parts) != 3:
            fail(f"--station {text!r}: use NAME=LAT_DEG,LON_DEG,ALT_M")
        try:
            lat, lon, alt = (float(p) for p in parts)
        except ValueError:
            fail(f"--station {text!r}: LAT_DEG, LON_DEG and ALT_M must be numbers")
        if (
            not all(math.isfinite(v) for v in (lat, lon, alt))
            or abs(lat) > 90
            or abs(lon) > 360
            or not -500 <= alt <= 1e5
        ):
            fail(
                f"--station {text!r}: latitude within [-90, 90], longitude [-360, 360], altitude [-500, 100000] m"
            )
        stations[name.strip()] = Station(name.strip(), lat, lon, alt)
    return stations, sigmas


def _initial(initial: str | None, db: str | None) -> tuple[str, str] | None:
    """A TLE (line 1, line 2) from a file or the store's newest element set of a NORAD id."""
    from kizuna.formats.tle import format_tle, read_tle

    if initial is None:
        return None
    if initial.isdigit():
        norad = int(initial)
        if not 0 < norad < 340000000:
            fail(f"--initial {initial}: not a NORAD catalog number")
        store = open_store(db, must_exist=True)
        sets = store.latest_element_sets([norad])
        if not sets:
            fail(f"--initial {initial}: no element set in the catalog")
        return format_tle(sets[0])
    path = Path(initial)
    text = read_text(path, "--initial")
    result = read_tle(text, str(path))
    if result.issues:
        issue = result.issues[0]
        fail(f"--initial {path}:{issue.line}: {issue.field}: {issue.message}")
    if not result.records:
        fail(f"--initial {path}: no TLE in the file")
    return format_tle(result.records[0])


@od_app.command("fit")
def fit_cmd(
    tdm_files: Annotated[list[Path], typer.Option("--tdm", help="CCSDS TDM files (KVN or XML), repeatable")],
    initial: Annotated[
        str | None,
        typer.Option("--initial", help="a NORAD id in the catalog or a TLE file (default: IOD from angles)"),
    ] = None,
    station: Annotated[
        list[str] | None,
        typer.Option("--station", help="NAME=LAT_DEG,LON_DEG,ALT_M for a participant not in --sensors"),
    ] = None,
    sensors_file: Annotated[
        Path | None, typer.Option("--sensors", help="sensor file (default: the bundled network)")
    ] = None,
    sigma_range_m: Annotated[
        float | None,
        typer.Option("--sigma-range-m", help="range noise for every station (default: sensor file, else 10)"),
    ] = None,
    sigma_range_rate_m_s: Annotated[
        float | None,
        typer.Option("--sigma-range-rate-m-s", help="range-rate noise (default: sensor file, else 0.1)"),
    ] = None,
    sigma_angle_arcsec: Annotated[
        float | None, typer.Option("--sigma-angle-arcsec", help="angle noise (default: sensor file, else 36)")
    ] = None,
    method: Annotated[str, typer.Option("--method", help="batch (least squares), ekf or ukf")] = "batch",
    degree: Annotated[
        int, typer.Option("--degree", help="geopotential degree and order (0: point mass)")
    ] = 8,
    drag: Annotated[bool, typer.Option("--drag/--no-drag", help="atmospheric drag (Harris-Priester)")] = True,
    srp: Annotated[bool, typer.Option("--srp/--no-srp", help="solar radiation pressure")] = False,
    third_bodies: Annotated[
        bool, typer.Option("--third-bodies/--no-third-bodies", help="Sun and Moon")
    ] = True,
    mass_kg: Annotated[float, typer.Option("--mass-kg", help="spacecraft mass")] = 1000.0,
    area_m2: Annotated[float, typer.Option("--area-m2", help="drag and SRP cross-section")] = 10.0,
    range_bias: Annotated[
        bool, typer.Option("--range-bias/--no-range-bias", help="estimate a range bias per station")
    ] = False,
    outlier_sigma: Annotated[
        float, typer.Option("--outlier-sigma", help="reject residuals beyond N sigma (0: off)")
    ] = 0.0,
    max_iterations: Annotated[int, typer.Option("--max-iterations", help="batch iterations")] = 25,
    opm: Annotated[
        Path | None, typer.Option("--opm", help="write the estimate with covariance as an OPM (KVN)")
    ] = None,
    oem: Annotated[
        Path | None, typer.Option("--oem", help="write an OEM with covariance over --span-h")
    ] = None,
    span_h: Annotated[float, typer.Option("--span-h", help="OEM span after the estimate epoch")] = 24.0,
    step_s: Annotated[float, typer.Option("--step-s", help="OEM step")] = 600.0,
    tle: Annotated[Path | None, typer.Option("--tle", help="write a TLE fitted to the estimate")] = None,
    reference_cpf: Annotated[
        Path | None,
        typer.Option(
            "--reference-cpf",
            help="an ILRS CPF prediction to score the estimate against (position, velocity)",
        ),
    ] = None,
    object_name: Annotated[str, typer.Option("--object-name", help="OBJECT_NAME of the OPM/OEM")] = "UNKNOWN",
    db: Annotated[str | None, typer.Option("--db", help="catalog database for --initial NORAD")] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite existing outputs")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """Fit an orbit to the measurements of TDM files (Orekit's estimators, numerical force model)."""
    from kizuna.errors import FormatError
    from kizuna.formats.tdm import read_tdm
    from kizuna.ssa import od

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    if method not in od.METHODS:
        fail(f"--method {method!r}: use one of {', '.join(od.METHODS)}")
    count(degree, "--degree", minimum=0, maximum=120)
    positive(mass_kg, "--mass-kg", maximum=1e6, unit="kg")
    positive(area_m2, "--area-m2", maximum=1e4, unit="m^2")
    if not (math.isfinite(outlier_sigma) and 0 <= outlier_sigma <= 1e3):
        fail(f"--outlier-sigma {outlier_sigma}: within [0, 1000] (0: no rejection)")
    count(max_iterations, "--max-iterations", minimum=1, maximum=1000)
    positive(span_h, "--span-h", maximum=MAX_SPAN_H, unit="h")
    positive(step_s, "--step-s", maximum=86400.0, unit="s")
    if oem is not None and span_h * 3600.0 / step_s > 100_000:
        fail(f"--step-s {step_s:g}: more than 100000 OEM lines over --span-h {span_h:g}")
    if not object_name.strip() or len(object_name) > 80:
        fail(f"--object-name {object_name!r}: 1 to 80 characters")
    if not tdm_files:
        fail("--tdm: give at least one TDM file")
    overrides: dict[str, float] = {}
    for value, option, key, top in (
        (sigma_range_m, "--sigma-range-m", "sigma_range_m", 1e6),
        (sigma_range_rate_m_s, "--sigma-range-rate-m-s", "sigma_range_rate_m_s", 1e4),
        (sigma_angle_arcsec, "--sigma-angle-arcsec", "sigma_angle_arcsec", 36000.0),
    ):
        if value is not None:
            overrides[key] = positive(value, option, maximum=top)
    for path, option in ((opm, "--opm"), (oem, "--oem"), (tle, "--tle")):
        output_file(path, option, force=force)
    reference = None
    if reference_cpf is not None:
        from kizuna.cli.observe import read_ephemeris

        reference, _ = read_ephemeris(reference_cpf, "--reference-cpf", "cpf")
    stations, sigmas = _stations(station or [], sensors_file)
    if overrides:
        if "sigma_angle_arcsec" in overrides:
            overrides["sigma_angle_deg"] = overrides.pop("sigma_angle_arcsec") / 3600.0
        sigmas = {name: {**figures, **overrides} for name, figures in sigmas.items()}
    template = _initial(initial, db)
    measurements: list[od.Measurement] = []
    for path in tdm_files:
        text = read_text(path, "--tdm")
        try:
            message = read_tdm(text, str(path))
        except FormatError as exc:
            fail(f"--tdm {exc}")
        for issue in message.issues:
            note(f"{issue.file}: line {issue.line}: {issue.field}: {issue.message} (left out)")
        try:
            measurements += od.measurements_from_tdm(message, sigmas, overrides)
        except od.OdError as exc:
            fail(f"--tdm {exc}")
    if not measurements:
        fail("--tdm: no range, range-rate or angle measurements in the files")
    unknown = sorted({m.station for m in measurements} - set(stations))
    if unknown:
        fail(
            f"--station: participant {unknown[0]!r} is not in the sensor network; give NAME=LAT_DEG,LON_DEG,ALT_M"
        )
    measurements.sort(key=lambda m: m.epoch)
    if reference is not None:
        first = np.datetime64(measurements[0].epoch.astimezone(UTC).replace(tzinfo=None), "ns")
        if not reference.start_utc <= first <= reference.stop_utc:
            fail(
                f"--reference-cpf {reference_cpf}: covers {reference.start_utc.astype('datetime64[s]')}Z to "
                f"{reference.stop_utc.astype('datetime64[s]')}Z, not the first measurement "
                f"({first.astype('datetime64[s]')}Z)"
            )
    options = od.OdOptions(
        method=method,
        degree=degree,
        drag=drag,
        srp=srp,
        third_bodies=third_bodies,
        mass_kg=mass_kg,
        area_m2=area_m2,
        estimate_range_bias=range_bias,
        outlier_sigma=outlier_sigma,
        max_iterations=max_iterations,
    )
    try:
        if template is not None:
            epoch, state = od.state_from_tle(*template, when=measurements[0].epoch)
        else:
            epoch, state = od.initial_orbit_from_angles(measurements, stations)
        result = od.fit(measurements, stations, epoch, state, options)
    except od.OdError as exc:
        fail(exc)
    stats = od.residual_statistics(result.residuals)
    _write_outputs(result, opm, oem, tle, span_h, step_s, object_name, template)
    summary = _summary(result, len(measurements))
    if reference is not None:
        try:
            ref_state = od.reference_state(reference, result.epoch)
        except od.OdError as exc:
            fail(f"--reference-cpf {exc}")
        summary["reference_position_diff_m"] = float(np.linalg.norm(result.state[:3] - ref_state[:3]))
        summary["reference_velocity_diff_m_s"] = float(np.linalg.norm(result.state[3:] - ref_state[3:]))
    parameters = {
        "tdm": [str(p) for p in tdm_files],
        "initial": initial or "iod",
        "method": method,
        "degree": degree,
        "drag": drag,
        "srp": srp,
        "third_bodies": third_bodies,
        "range_bias": range_bias,
    }
    if fmt == "table":
        out.print(key_value_table("orbit determination", summary.items()))
    emit_rows(
        stats,
        COLUMNS,
        fmt,
        title="residuals (observed - computed)",
        parameters=parameters,
        key="residuals",
        extra={"estimate": {**summary, "covariance_m": result.covariance.tolist()}}
        if fmt == "json"
        else None,
    )


def _summary(result: Any, n: int) -> dict[str, Any]:
    sig = np.sqrt(np.clip(np.diag(result.covariance), 0.0, None))
    doc: dict[str, Any] = {
        "epoch_utc": result.epoch.isoformat().replace("+00:00", "Z"),
        "frame": result.frame,
        "method": result.method,
        "measurements": n,
        "iterations": result.iterations,
        "rms_normalized": result.rms,
        "x_km": result.state[0] / 1e3,
        "y_km": result.state[1] / 1e3,
        "z_km": result.state[2] / 1e3,
        "vx_kms": result.state[3] / 1e3,
        "vy_kms": result.state[4] / 1e3,
        "vz_kms": result.state[5] / 1e3,
        "sigma_position_m": [float(v) for v in sig[:3]],
        "sigma_velocity_m_s": [float(v) for v in sig[3:]],
    }
    for name, value in result.parameters.items():
        doc[name] = value
    return doc


def _write_outputs(
    result: Any,
    opm: Path | None,
    oem: Path | None,
    tle: Path | None,
    span_h: float,
    step_s: float,
    name: str,
    template: tuple[str, str] | None,
) -> None:
    from kizuna.ssa import od

    if opm is not None:
        from kizuna.formats.opm import write_opm_kvn

        with atomic_output(opm) as fh:
            fh.write(write_opm_kvn(od.opm_of(result, name)))
    if oem is not None:
        from kizuna.formats.oem import write_oem_kvn

        stop = result.epoch + timedelta(hours=span_h)
        try:
            times, states, covs = od.ephemeris(result, result.epoch, stop, step_s)
        except od.OdError as exc:
            fail(exc)
        with atomic_output(oem) as fh:
            fh.write(write_oem_kvn(od.oem_of(times, states, covs, name)))
    if tle is not None:
        line1, line2 = od.fitted_tle(result, template)
        with atomic_output(tle) as fh:
            fh.write(f"{name[:24]}\n{line1}\n{line2}\n")


@od_app.command("case")
def case_cmd(
    input_path: Annotated[
        Path, typer.Argument(help="an Orekit orbit-determination input file (key = value, as od_test_W3.in)")
    ],
    solar_activity: Annotated[
        Path | None,
        typer.Option(
            "--solar-activity",
            help="Marshall (MSAFE) solar-activity table for DTM2000 drag (default: the bundled tables)",
        ),
    ] = None,
    opm: Annotated[
        Path | None, typer.Option("--opm", help="write the estimate with covariance as an OPM (KVN)")
    ] = None,
    object_name: Annotated[str, typer.Option("--object-name", help="OBJECT_NAME of the OPM")] = "UNKNOWN",
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing OPM")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """Run an Orekit orbit-determination input file (ground-station range and azimuth/elevation,
    its measurement files beside it in Orekit's tracking text layout) through Kizuna's fit."""
    from kizuna.errors import FormatError
    from kizuna.formats.orekit_od_input import read_orekit_od_input
    from kizuna.formats.tracking_text import read_tracking_text
    from kizuna.ssa import od, od_ground

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    if not object_name.strip() or len(object_name) > 80:
        fail(f"--object-name {object_name!r}: 1 to 80 characters")
    output_file(opm, "--opm", force=force)
    if solar_activity is not None:
        input_file(solar_activity, "--solar-activity")
        try:
            od.solar_activity(str(solar_activity))
        except od.OdError as exc:
            fail(f"--solar-activity {exc}")
    text = read_text(input_path, "INPUT")
    try:
        config = read_orekit_od_input(text, str(input_path))
        case = od_ground.case_from_orekit_input(
            config, None if solar_activity is None else str(solar_activity)
        )
    except FormatError as exc:
        fail(f"INPUT {exc}")
    except od.OdError as exc:
        fail(f"INPUT {exc}")
    observations = []
    for name in case.measurement_files:
        path = input_path.parent / name
        read = read_tracking_text(read_text(path, "measurements.files"), str(path))
        for issue in read.issues:
            note(f"{issue.file}: line {issue.line}: {issue.field}: {issue.message} (left out)")
        observations += [
            o for o in read.records if o.kind == "azel" or (o.kind == "range" and case.use_range)
        ]
    if not observations:
        fail(f"measurements.files {', '.join(case.measurement_files)}: no range or azimuth/elevation")
    try:
        orekit, ours = od_ground.measurements(
            observations,
            case.stations,
            case.tracking,
            case.onboard_range_bias_m,
            case.outlier_sigma,
            case.outlier_start_iteration,
        )
        # the bar counts evaluations against the estimator's budget; it stops early on convergence
        budget = case.options.max_evaluations or 2 * case.options.max_iterations
        with progress() as bar:
            task = bar.add_task(f"fitting {len(ours)} measurements (evaluations)", total=budget)
            result = od.fit_prepared(
                orekit,
                ours,
                case.epoch,
                case.initial_state,
                case.options,
                on_evaluation=lambda _it, evaluation, _rms: bar.update(task, completed=evaluation),
            )
    except od.OdError as exc:
        fail(exc)
    _write_outputs(result, opm, None, None, 0.0, 1.0, object_name, None)
    summary = {**_summary(result, len(ours)), "evaluations": result.evaluations}
    if fmt == "table":
        out.print(key_value_table("orbit determination", summary.items()))
    emit_rows(
        od.residual_statistics(result.residuals),
        COLUMNS,
        fmt,
        title="residuals (observed - computed)",
        parameters={"input": str(input_path), "solar_activity": str(solar_activity or "bundled")},
        key="residuals",
        extra={"estimate": {**summary, "covariance_m": result.covariance.tolist()}}
        if fmt == "json"
        else None,
    )
