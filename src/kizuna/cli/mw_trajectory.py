"""`kizuna mw trajectory`: one threat flight from launch site to target (wiring only)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kizuna.cli._common import (
    TABLE_FORMATS,
    Column,
    ForceOption,
    check_choice,
    emit_rows,
    fail,
    iso,
    key_value_table,
    note,
    out,
    output_file,
    output_format,
    parse_time,
    positive,
)
from kizuna.cli.mw import mw_app

if TYPE_CHECKING:
    from kizuna.mw.threats import Site

PROFILES = ("minimum-energy", "lofted", "depressed", "glide")
CLASSES = ("SRBM", "MRBM", "IRBM", "ICBM", "HGV")
MAX_APOGEE_KM = 10_000.0
MAX_STEP_S = 600.0
MIN_STEP_S = 0.1

ClassOption = Annotated[str, typer.Option("--class", help="threat class: SRBM, MRBM, IRBM, ICBM or HGV")]
FromOption = Annotated[str, typer.Option("--from", help="launch point: a site name or LAT,LON [deg]")]
ToOption = Annotated[str, typer.Option("--to", help="target: a site name or LAT,LON [deg]")]
ProfileOption = Annotated[
    str, typer.Option("--profile", help="minimum-energy, lofted, depressed or glide (HGV)")
]
ApogeeOption = Annotated[
    float | None,
    typer.Option(
        "--apogee-km",
        help=f"apogee [km] for lofted/depressed (default: full burn / 60 % of minimum-energy), "
        f"boost apogee for glide; (0, {MAX_APOGEE_KM:g}]",
    ),
]
MissileOption = Annotated[
    str | None, typer.Option("--missile", help="missile model of the class (default: the class's)")
]
LaunchOption = Annotated[
    str, typer.Option("--launch-utc", help="ISO-8601 launch time; offsets and Z accepted, naive is UTC")
]
StepOption = Annotated[
    float,
    typer.Option("--step-s", help=f"sample interval of the output [s], {MIN_STEP_S:g} to {MAX_STEP_S:g}"),
]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="table, csv or json")]
PlotOption = Annotated[
    Path | None, typer.Option("--plot", help="write a PNG: altitude vs downrange and the ground track")
]

SAMPLE_COLUMNS = (
    Column("time s", "time_s", lambda v: f"{v:.1f}", "right"),
    Column("time UTC", "time_utc"),
    Column("phase", "phase"),
    Column("lat deg", "lat_deg", lambda v: f"{v:.4f}", "right"),
    Column("lon deg", "lon_deg", lambda v: f"{v:.4f}", "right"),
    Column("alt km", "alt_km", lambda v: f"{v:.2f}", "right"),
    Column("downrange km", "downrange_km", lambda v: f"{v:.1f}", "right"),
    Column("speed m/s", "speed_m_s", lambda v: f"{v:.0f}", "right"),
    Column("IR W/sr", "ir_w_sr", lambda v: f"{v:.3g}", "right"),
    Column("RCS m2", "rcs_m2", lambda v: f"{v:.3g}", "right"),
)


def _place(text: str, option: str, sites: dict[str, Site]) -> tuple[float, float, str]:
    key = text.strip().lower()
    if key in sites:
        s = sites[key]
        return s.lat_deg, s.lon_deg, s.name
    if "," in text:
        try:
            lat, lon = (float(x) for x in text.split(","))
        except ValueError:
            fail(f"{option} {text!r}: wants a site name or LAT,LON")
        if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90.0 or abs(lon) > 180.0:
            fail(f"{option} {text!r}: latitude must be within +-90 and longitude within +-180 deg")
        return lat, lon, f"{lat:g},{lon:g}"
    fail(f"{option} {text!r}: not a known site ({', '.join(sorted(sites))}) nor LAT,LON")


@mw_app.command("trajectory")
def trajectory(
    threat_class: ClassOption,
    origin: FromOption,
    target: ToOption,
    profile: ProfileOption = "minimum-energy",
    apogee_km: ApogeeOption = None,
    missile: MissileOption = None,
    launch_utc: LaunchOption = "2026-01-01T00:00:00Z",
    step_s: StepOption = 30.0,
    fmt: FormatOption = "table",
    plot: PlotOption = None,
    force: ForceOption = False,
) -> None:
    """A ballistic or glide flight from launch to impact: summary and samples."""
    import numpy as np

    from kizuna.mw import trajectory as tj
    from kizuna.mw.threats import bundled_sites, model_for

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    threat_class = check_choice(threat_class.upper(), "--class", CLASSES)
    profile = check_choice(profile.lower(), "--profile", PROFILES)
    if apogee_km is not None:
        positive(apogee_km, "--apogee-km", maximum=MAX_APOGEE_KM, unit="km")
        if profile == "minimum-energy":
            fail("--apogee-km: a minimum-energy flight has its own apogee; use --profile lofted or depressed")
    if profile == "glide" and threat_class != "HGV":
        fail(f"--profile glide: only class HGV carries a glide vehicle, not {threat_class}")
    try:
        model = model_for(threat_class, missile)
    except ValueError as exc:
        fail(f"--missile: {exc}")
    t_launch = parse_time(launch_utc, "--launch-utc")
    positive(step_s, "--step-s", maximum=MAX_STEP_S, unit="s")
    if step_s < MIN_STEP_S:
        fail(f"--step-s {step_s:g}: must be at least {MIN_STEP_S:g} s")
    output_file(plot, "--plot", force=force)
    if plot is not None and plot.suffix.lower() != ".png":
        fail(f"--plot {plot}: the plot is a PNG; name it .png")
    sites = bundled_sites()
    lat0, lon0, from_name = _place(origin, "--from", sites)
    lat1, lon1, to_name = _place(target, "--to", sites)
    ang, _az = tj.great_circle(lat0, lon0, lat1, lon1)
    if float(ang) * 6371.0 < 10.0:
        fail(f"--to {target!r}: the target is within 10 km of the launch point")
    stamp = np.datetime64(t_launch.replace(tzinfo=None), "ns")
    try:
        traj = tj.fly(
            threat_class,
            lat0,
            lon0,
            lat1,
            lon1,
            profile.replace("-", "_"),
            apogee_km,
            launch_utc=stamp,
            model=model,
        )
    except tj.ShootingError as exc:
        option = "--apogee-km" if apogee_km is not None and "apogee" in str(exc) else "--to"
        fail(f"{option} {target!r}: {exc}" if option == "--to" else f"{option} {apogee_km:g}: {exc}")
    times = tj.uniform_times(traj, step_s)
    r, v = tj.sample(traj, times)
    lat, lon, h = tj.ecef_to_geodetic(r)
    down, _ = tj.great_circle(lat0, lon0, lat, lon)
    phases = tj.phase_at(traj, times)
    idx = np.clip(np.searchsorted(traj.time_s, times, side="right") - 1, 0, len(traj.time_s) - 1)
    from kizuna.model.missile import PHASE_NAMES

    utc = traj.launch_utc.astype("datetime64[ns]") + (times * 1e9).astype("timedelta64[ns]")
    rows = [
        {
            "time_s": float(times[k]),
            "time_utc": str(utc[k].astype("datetime64[ms]")) + "Z",
            "phase": PHASE_NAMES[int(phases[k])],
            "lat_deg": float(lat[k]),
            "lon_deg": float(lon[k]),
            "alt_km": max(0.0, float(h[k]) / 1000.0),
            "downrange_km": float(down[k]) * 6371.0088,
            "speed_m_s": float(np.linalg.norm(v[k])),
            "ir_w_sr": float(traj.ir_intensity_w_sr[idx[k]]),
            "rcs_m2": float(traj.rcs_m2[idx[k]]),
        }
        for k in range(len(times))
    ]
    summary: dict[str, Any] = {
        "threat_class": threat_class,
        "missile": model.name,
        "profile": traj.profile,
        "from": from_name,
        "to": to_name,
        "launch_utc": iso(t_launch),
        "apogee_km": traj.apogee_km,
        "ground_range_km": traj.ground_range_km,
        "flight_time_s": traj.flight_time_s,
        "burnout_time_s": traj.burnout_time_s,
        "burnout_speed_m_s": tj.burnout_speed_m_s(traj),
        "impact_lat_deg": traj.impact_lat_deg,
        "impact_lon_deg": traj.impact_lon_deg,
        "miss_km": float(tj.great_circle(lat1, lon1, traj.impact_lat_deg, traj.impact_lon_deg)[0])
        * 6371.0088,
    }
    params = {
        "class": threat_class,
        "missile": model.name,
        "profile": profile,
        "from": from_name,
        "to": to_name,
        "apogee_km": apogee_km,
        "launch_utc": iso(t_launch),
        "step_s": step_s,
        "earth": tj.WGS84_EARTH.name,
    }
    if plot is not None:
        from kizuna.plots.mw_trajectory import plot_trajectory

        plot_trajectory(traj, plot, f"{model.name} {traj.profile}: {from_name} -> {to_name}")
        note(f"wrote {plot}")
    title = (
        f"{model.name} {traj.profile} {from_name} -> {to_name}: apogee {traj.apogee_km:.0f} km, "
        f"range {traj.ground_range_km:.0f} km, {traj.flight_time_s / 60:.1f} min"
    )
    if fmt == "table":
        out.print(
            key_value_table(
                "summary",
                [(k, f"{val:.3f}" if isinstance(val, float) else val) for k, val in summary.items()],
            )
        )
    emit_rows(
        rows,
        SAMPLE_COLUMNS,
        fmt,
        title=title,
        parameters=params,
        key="samples",
        extra={"summary": summary},
    )
