"""`kizuna od`: orbit determination through Orekit from CCSDS TDMs (files, or observation products
shared by partners and held verified by this node): an estimated state with its covariance (OPM, OEM
over a span), a fitted TLE, residual statistics per station and kind, and the fit published as a
marked, signed product; `od pc`: the collision probability of two estimates with their own
covariances, written as a CDM."""

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
    parse_time,
    parse_triple,
    positive,
    print_json,
    progress,
    read_text,
    warn,
)
from kizuna.errors import KizunaError

od_app = typer.Typer(
    help="Orbit determination from tracking data (Orekit): fit, publish-observations, pc.",
    no_args_is_help=True,
)
NodeConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--partners",
        envvar="KIZUNA_PARTNERS",
        help="node config (YAML): with --shared-observations, --product or --publish",
    ),
]
NodeKeysOption = Annotated[
    Path | None, typer.Option("--keys", envvar="KIZUNA_KEYS", help="directory of node keys")
]
MAX_NORAD_ID = 999_999_999
MAX_PRODUCTS = 1_000
# Lines of shared TDMs fitted at once: ten products at their size limit, or a week of one object
# tracked by a dozen radars (a batch fit's cost grows with every measurement).
MAX_SHARED_TDM_LINES = 200_000

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
    tdm_files: Annotated[
        list[Path] | None, typer.Option("--tdm", help="CCSDS TDM files (KVN or XML), repeatable")
    ] = None,
    shared_observations: Annotated[
        int | None,
        typer.Option(
            "--shared-observations",
            help="also fit every observations product about this NORAD id that the node holds verified",
        ),
    ] = None,
    product_ids: Annotated[
        list[str] | None,
        typer.Option(
            "--product", help="also fit this observations product held by the node (id), repeatable"
        ),
    ] = None,
    publish: Annotated[
        str | None,
        typer.Option(
            "--publish", help="publish the fit as an orbit_determination product under this marking"
        ),
    ] = None,
    norad: Annotated[
        int | None,
        typer.Option("--norad", help="the object's NORAD id (default: --shared-observations, or --initial)"),
    ] = None,
    partners: NodeConfigOption = None,
    keys: NodeKeysOption = None,
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
    db: Annotated[
        str | None,
        typer.Option("--db", envvar="KIZUNA_DB", help="the node's database (catalog and products)"),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite existing outputs")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """Fit an orbit to the measurements of TDM files and of shared observation products (Orekit's
    estimators, numerical force model); optionally publish it as a marked, signed product."""
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
    tdm_files = tdm_files or []
    product_ids = product_ids or []
    if shared_observations is not None:
        count(shared_observations, "--shared-observations", minimum=1, maximum=MAX_NORAD_ID)
    if norad is not None:
        count(norad, "--norad", minimum=1, maximum=MAX_NORAD_ID)
    if len(product_ids) > MAX_PRODUCTS:
        fail(f"--product: at most {MAX_PRODUCTS} products")
    for pid in product_ids:
        _product_id(pid, "--product")
    if not tdm_files and shared_observations is None and not product_ids:
        fail("--tdm: give at least one TDM file (or --shared-observations / --product)")
    object_norad = norad or shared_observations or (int(initial) if initial and initial.isdigit() else None)
    if publish is not None and object_norad is None:
        fail("--publish: name the object with --norad (or --shared-observations, or --initial NORAD)")
    node = None
    marking = None
    if shared_observations is not None or product_ids or publish is not None:
        node, marking = _open_node(db, partners, keys, publish)
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
    sources: list[dict[str, Any]] = []
    for path in tdm_files:
        sources.append({"source": str(path), "originator": "file", "banner": "-", "measurements": 0})
        text = read_text(path, "--tdm")
        try:
            message = read_tdm(text, str(path))
        except FormatError as exc:
            fail(f"--tdm {exc}")
        for issue in message.issues:
            note(f"{issue.file}: line {issue.line}: {issue.field}: {issue.message} (left out)")
        try:
            found = od.measurements_from_tdm(message, sigmas, overrides)
        except od.OdError as exc:
            fail(f"--tdm {exc}")
        measurements += found
        sources[-1]["measurements"] = len(found)
    if node is not None:
        shared = _shared_measurements(node, shared_observations, product_ids, sigmas, overrides)
        for source, found in shared:
            measurements += found
            sources.append(source)
    if not measurements:
        fail("--tdm: no range, range-rate or angle measurements in the files or products")
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
    if node is not None and marking is not None and object_norad is not None:
        summary["published"] = _publish_fit(
            node, marking, result, object_norad, object_name, template, sources, len(measurements)
        )
    parameters = {
        "tdm": [str(p) for p in tdm_files],
        "shared_observations": shared_observations,
        "products": product_ids,
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
        if node is not None:
            emit_rows(sources, SOURCE_COLUMNS, fmt, title="inputs")
    emit_rows(
        stats,
        COLUMNS,
        fmt,
        title="residuals (observed - computed)",
        parameters=parameters,
        key="residuals",
        extra={"estimate": {**summary, "covariance_m": result.covariance.tolist()}, "sources": sources}
        if fmt == "json"
        else None,
    )
    if node is not None:
        node.catalog.close()


SOURCE_COLUMNS = (
    Column("source", "source"),
    Column("originator", "originator"),
    Column("marking", "banner"),
    Column("measurements", "measurements", lambda v: f"{v}", "right"),
)


def _product_id(text: str, option: str) -> str:
    from kizuna.share import limits

    if limits.safe_id(text) is None:
        fail(
            f"{option} {text[:60]!r}: not a product id (1-{limits.MAX_ID_CHARS} characters of A-Z a-z 0-9 . _ : -)"
        )
    return text


def _open_node(
    db: str | None, partners: Path | None, keys: Path | None, publish: str | None, option: str = "--publish"
) -> tuple[Any, Any]:
    """The node whose store holds the shared products (and signs a published fit), and the marking
    to publish under, checked before any work."""
    from kizuna.cli.share import _node
    from kizuna.share.markings import MarkingError, parse_banner

    if partners is None:
        fail("--partners: the node config is needed to read shared products or publish")
    if keys is None:
        fail("--keys: the node's key directory is needed to read shared products or publish")
    if publish is not None and (not publish.strip() or len(publish) > 400):
        fail(f"{option} {publish[:60]!r}: a banner line of 1-400 characters")
    node = _node(db, partners, keys, must_exist=True)
    marking = None
    if publish is not None:
        try:
            marking = parse_banner(publish, node.config.markings)
        except (MarkingError, ValueError) as exc:
            fail(f"{option} {exc}")
    return node, marking


def _shared_measurements(
    node: Any,
    norad_id: int | None,
    product_ids: list[str],
    sigmas: dict[str, Any],
    overrides: dict[str, float],
) -> list[tuple[dict[str, Any], list[Any]]]:
    """Measurements of the observations products the node holds verified: those about `norad_id`
    (a product whose TDM cannot be read is left out with a warning, the rest kept) and each named
    one (which must be held, verify and read)."""
    from kizuna.errors import FormatError
    from kizuna.share.holdings import HoldingsError, held_products
    from kizuna.ssa import od
    from kizuna.ssa.od_products import OBSERVATIONS, tdm_of_payload

    option = "--product" if product_ids else "--shared-observations"
    try:
        held = held_products(node, OBSERVATIONS, norad_id=norad_id, ids=product_ids)
    except HoldingsError as exc:
        fail(f"{option} {exc}")
    # Bounded before any TDM is parsed: each product is at most MAX_TDM_LINES lines, but a thousand of
    # them would make a fit of millions of measurements.
    lines = sum(str(h.product.payload.get("tdm", "")).count("\n") for h in held)
    if lines > MAX_SHARED_TDM_LINES:
        fail(
            f"{option}: the {len(held)} products hold {lines} lines of tracking data; at most "
            f"{MAX_SHARED_TDM_LINES} are fitted at once (name fewer with --product)"
        )
    if norad_id is not None and not any(h.product.payload.get("norad_id") == norad_id for h in held):
        warn(f"--shared-observations {norad_id}: no observations products about it held verified here")
    named = set(product_ids)
    out = []
    for h in held:
        p = h.product
        try:
            message = tdm_of_payload(p.payload, p.id)
            for issue in message.issues:
                note(f"{issue.file}: line {issue.line}: {issue.field}: {issue.message} (left out)")
            found = od.measurements_from_tdm(message, sigmas, overrides)
        except (FormatError, od.OdError) as exc:
            if p.id in named:
                fail(f"--product {exc}")
            warn(f"{exc} (product left out)")
            continue
        source = {"source": p.id, "originator": p.originator, "banner": h.banner, "measurements": len(found)}
        out.append((source, found))
    return out


def _publish_fit(
    node: Any,
    marking: Any,
    result: Any,
    norad_id: int,
    object_name: str,
    template: tuple[str, str] | None,
    sources: list[dict[str, Any]],
    measurements: int,
) -> str:
    """Sign, store and audit the fit as an orbit_determination product; returns its id."""
    from kizuna.share.products import Product
    from kizuna.ssa import od
    from kizuna.ssa.od_products import ORBIT_DETERMINATION, orbit_determination_payload

    try:
        tle = od.fitted_tle(result, template, norad_id if norad_id <= 99999 else 99999)
    except Exception as exc:  # noqa: BLE001 - Orekit's TLE fit may not converge; the OPM stands alone
        warn(f"--publish: no TLE fitted to the estimate ({type(exc).__name__}); published without one")
        tle = None
    payload = orbit_determination_payload(
        result, norad_id, object_name, tle, [str(s["source"]) for s in sources], measurements, node.node_id
    )
    try:
        product = Product.new(ORBIT_DETERMINATION, payload, marking, node.node_id, objects=(norad_id,))
        node.publish(product, actor="cli")
    except (KizunaError, ValueError) as exc:
        fail(f"--publish {exc}")
    return product.id


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


@od_app.command("publish-observations")
def publish_observations_cmd(
    tdm_file: Annotated[Path, typer.Option("--tdm", help="a CCSDS TDM file (KVN or XML) of one object")],
    norad: Annotated[int, typer.Option("--norad", help="the observed object's NORAD id")],
    marking: Annotated[str, typer.Option("--marking", help="banner, e.g. 'SECRET//REL TO USA, JPN'")],
    partners: NodeConfigOption = None,
    keys: NodeKeysOption = None,
    db: Annotated[str | None, typer.Option("--db", envvar="KIZUNA_DB", help="the node's database")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
) -> None:
    """Publish the tracking data of a TDM as an observations product: marked, signed, audited, and
    served to the partners its marking releases it to (who can fit it with `od fit --product`)."""
    from kizuna.errors import FormatError
    from kizuna.formats.tdm import read_tdm
    from kizuna.share.payloads import MAX_TDM_BYTES
    from kizuna.share.products import Product
    from kizuna.ssa.od_products import OBSERVATIONS, observations_payload

    fmt = output_format(fmt, "--format", ("table", "json"))
    count(norad, "--norad", minimum=1, maximum=MAX_NORAD_ID)
    if not marking.strip() or len(marking) > 400:
        fail(f"--marking {marking[:60]!r}: a banner line of 1-400 characters")
    path = input_file(tdm_file, "--tdm")
    size = path.stat().st_size
    if size > MAX_TDM_BYTES:  # before reading it: a product is a message, not a file transfer
        fail(f"--tdm {path}: {size} bytes; an observations product carries at most {MAX_TDM_BYTES}")
    text = read_text(path, "--tdm")
    try:
        message = read_tdm(text, str(path))
    except FormatError as exc:
        fail(f"--tdm {exc}")
    for issue in message.issues:
        note(f"{issue.file}: line {issue.line}: {issue.field}: {issue.message} (published as read)")
    if message.observations == 0:
        fail(f"--tdm {path}: no observations to share")
    node, banner = _open_node(db, partners, keys, marking, "--marking")
    try:
        product = Product.new(
            OBSERVATIONS, observations_payload(text, message, norad), banner, node.node_id, objects=(norad,)
        )
        signed = node.publish(product, actor="cli")
    except (KizunaError, ValueError) as exc:
        fail(f"--tdm {path}: {exc}")
    finally:
        node.catalog.close()
    doc = {
        "id": product.id,
        "version": product.version,
        "type": OBSERVATIONS,
        "norad_id": norad,
        "observations": message.observations,
        "banner": signed["banner"],
    }
    if fmt == "json":
        print_json(doc)
    else:
        out.print(key_value_table("published", doc.items()))


PC_COLUMNS = (
    Column("TCA (UTC)", "tca_utc"),
    Column("miss m", "miss_m", lambda v: f"{v:.1f}", "right"),
    Column("rel speed m/s", "rel_speed_m_s", lambda v: f"{v:.1f}", "right"),
    Column("HBR m", "hbr_m", lambda v: f"{v:g}", "right"),
    Column("sigma 1 m", "position_sigma_1_m", lambda v: f"{v:.1f}", "right"),
    Column("sigma 2 m", "position_sigma_2_m", lambda v: f"{v:.1f}", "right"),
    Column("Pc", "pc", lambda v: f"{v:.3e}", "right"),
    Column("method", "method"),
)
MAX_PC_WINDOW_S = 6 * 3600.0  # the TCA scan is a 10 s grid of two numerical propagations


@od_app.command("pc")
def pc_cmd(
    first: Annotated[Path, typer.Option("--first", help="an OPM or OEM (KVN or XML) with covariance")],
    second: Annotated[
        Path | None, typer.Option("--second", help="the other object's OPM or OEM with covariance")
    ] = None,
    catalog: Annotated[
        int | None,
        typer.Option(
            "--catalog", help="or the other object as a catalog NORAD id (SGP4, default covariance)"
        ),
    ] = None,
    sigma_rtn_m: Annotated[
        str | None,
        typer.Option(
            "--sigma-rtn-m",
            help="R,T,N 1-sigma of the catalog object in m (default 200,1000,200: SGP4 error a day out)",
        ),
    ] = None,
    hbr_m: Annotated[float, typer.Option("--hbr-m", help="combined hard-body radius")] = 10.0,
    tca_guess: Annotated[
        str | None,
        typer.Option("--tca", help="UTC time near the closest approach (default: --first's epoch)"),
    ] = None,
    window_s: Annotated[
        float, typer.Option("--window-s", help="search the TCA within --tca +- this")
    ] = 600.0,
    cdm: Annotated[
        Path | None, typer.Option("--cdm", help="write a CCSDS CDM (KVN) carrying the covariances")
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", envvar="KIZUNA_DB", help="catalog database for --catalog")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing --cdm")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """Collision probability of two orbit-determination results with their own covariances: the TCA
    found by numerical propagation, each covariance carried there by its state transition matrix,
    Foster's 2-D Pc, and a CDM carrying both covariances."""
    from kizuna.sda.assess import TLE_DEFAULT_SIGMA_RTN
    from kizuna.ssa import od

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    if (second is None) == (catalog is None):
        fail("--second: give the other object as --second FILE or --catalog NORAD (one of them)")
    if catalog is not None:
        count(catalog, "--catalog", minimum=1, maximum=MAX_NORAD_ID)
    if sigma_rtn_m is not None and catalog is None:
        fail("--sigma-rtn-m: only for a --catalog object (files carry their own covariance)")
    sigma_m = (
        parse_triple(sigma_rtn_m, "--sigma-rtn-m")
        if sigma_rtn_m is not None
        else tuple(1e3 * s for s in TLE_DEFAULT_SIGMA_RTN[:3])
    )
    if max(sigma_m) > 1e6:
        fail(f"--sigma-rtn-m {sigma_rtn_m!r}: each sigma at most 1000000 m")
    positive(hbr_m, "--hbr-m", maximum=1000.0, unit="m")
    positive(window_s, "--window-s", maximum=MAX_PC_WINDOW_S, unit="s")
    guess = parse_time(tca_guess, "--tca") if tca_guess is not None else None
    output_file(cdm, "--cdm", force=force)
    estimates = [_estimate(first, "--first", guess)]
    names = [_object_name(first)]
    notes: list[str | None] = [None, None]
    when = guess or estimates[0].epoch
    if second is not None:
        estimates.append(_estimate(second, "--second", when))
        names.append(_object_name(second))
    else:
        assert catalog is not None
        estimates.append(_catalog_estimate(catalog, db, when, sigma_m))
        names.append(str(catalog))
        notes[1] = (
            f"covariance: assumed default RTN 1-sigma {sigma_m[0]:g}, {sigma_m[1]:g}, {sigma_m[2]:g} m"
            " at the SGP4 state (no fit), carried to TCA by the state transition matrix"
        )
    if names[0] == names[1]:
        names = [f"{names[0]}-1", f"{names[1]}-2"]
    try:
        event = od.conjunction(estimates[0], estimates[1], when, window_s=window_s, hbr_m=hbr_m)
    except (od.OdError, ValueError) as exc:
        fail(exc)
    except Exception as exc:  # noqa: BLE001 - Orekit's Java exceptions name the cause in their message
        fail(f"propagation failed: {od._java_message(exc)}")
    if abs((event.tca - when).total_seconds()) >= window_s - 10.0:
        warn(f"--window-s {window_s:g}: the closest approach found is at the window's edge; widen it")
    if cdm is not None:
        from kizuna.formats.cdm import write_cdm_kvn

        message = od.conjunction_cdm(event, (names[0], names[1]), covariance_notes=(notes[0], notes[1]))
        with atomic_output(cdm) as fh:
            fh.write(write_cdm_kvn(message))
    row = {
        "tca_utc": event.tca.isoformat().replace("+00:00", "Z"),
        "miss_m": event.miss_m,
        "rel_speed_m_s": event.rel_speed_m_s,
        "hbr_m": event.hbr_m,
        "position_sigma_1_m": float(np.sqrt(max(np.trace(event.covariances[0][:3, :3]), 0.0))),
        "position_sigma_2_m": float(np.sqrt(max(np.trace(event.covariances[1][:3, :3]), 0.0))),
        "pc": event.pc,
        "method": event.method,
    }
    parameters = {
        "first": str(first),
        "second": str(second) if second is not None else f"catalog {catalog}",
        "sigma_rtn_m": list(sigma_m) if catalog is not None else None,
        "hbr_m": hbr_m,
        "tca_guess_utc": when.isoformat().replace("+00:00", "Z"),
        "window_s": window_s,
        "cdm": str(cdm) if cdm is not None else None,
    }
    emit_rows([row], PC_COLUMNS, fmt, title=f"{names[0]} vs {names[1]}", parameters=parameters, key="events")


def _object_name(path: Path) -> str:
    return path.stem[:40] or "OBJECT"


def _estimate(path: Path, option: str, near: Any) -> Any:
    """An OPM or OEM file with covariance as an estimate (format told from the first keyword)."""
    from kizuna.errors import FormatError
    from kizuna.formats.oem import read_oem
    from kizuna.formats.opm import read_opm_kvn
    from kizuna.ssa import od
    from kizuna.ssa.od_products import estimate_from_oem, estimate_from_opm

    text = read_text(path, option)
    head = text.lstrip()[:200]
    try:
        if head.startswith("CCSDS_OPM_VERS"):
            return estimate_from_opm(read_opm_kvn(text, str(path)))
        if head.startswith("CCSDS_OEM_VERS") or (head.startswith("<") and "oem" in head.lower()):
            return estimate_from_oem(read_oem(text, str(path)), near)
    except FormatError as exc:
        fail(f"{option} {exc}")
    except od.OdError as exc:
        fail(f"{option} {exc}")
    except Exception as exc:  # noqa: BLE001 - Orekit refuses an orbit (hyperbolic, inside the Earth)
        fail(f"{option} {path}: not a usable orbit: {od._java_message(exc)}")
    fail(f"{option} {path}: not an OPM (KVN) or an OEM (KVN or XML)")


def _catalog_estimate(norad_id: int, db: str | None, when: Any, sigma_m: tuple[float, ...]) -> Any:
    from kizuna.formats.tle import format_tle
    from kizuna.sda.assess import TLE_DEFAULT_SIGMA_RTN
    from kizuna.ssa import od
    from kizuna.ssa.od_products import estimate_from_tle

    store = open_store(db, must_exist=True)
    sets = store.latest_element_sets([norad_id])
    if not sets:
        fail(f"--catalog {norad_id}: no element set in the catalog")
    line1, line2 = format_tle(sets[0])
    velocity_m_s = tuple(1e3 * s for s in TLE_DEFAULT_SIGMA_RTN[3:])
    try:
        return estimate_from_tle(line1, line2, when, (*sigma_m, *velocity_m_s))
    except Exception as exc:  # noqa: BLE001 - SGP4 fails for a decayed object
        fail(f"--catalog {norad_id}: no SGP4 state at {when:%Y-%m-%dT%H:%M:%SZ}: {od._java_message(exc)}")
