"""`kizuna jobs list|show` and `kizuna pipeline run-once`: the live pipeline's ledger, wiring only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from kizuna.cli._common import (
    TABLE_FORMATS,
    Column,
    DbOption,
    check_choice,
    count,
    emit_rows,
    err,
    fail,
    open_store,
    print_json,
)
from kizuna.errors import KizunaError

jobs_app = typer.Typer(help="The live pipeline's jobs: one per arrived file.", no_args_is_help=True)
pipeline_app = typer.Typer(help="The live pipeline (config `pipeline:`).", no_args_is_help=True)

FormatOption = Annotated[str, typer.Option("--format", "-f", help="table, csv or json")]
MAX_LIST = 10_000
JOB_STATES = ("queued", "running", "done", "failed")


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")
    app.add_typer(pipeline_app, name="pipeline")


def job_row(job: Any) -> dict[str, Any]:
    """One job as a flat row: last run, duration, counts and errors summed over its steps."""
    d = job.as_dict()
    steps = d["steps"]
    return {
        "job_id": d["job_id"],
        "kind": d["kind"],
        "state": d["state"],
        "attempts": d["attempts"],
        "queued_utc": d["queued_utc"],
        "started_utc": d["started_utc"],
        "duration_s": d["duration_s"],
        "steps_done": ",".join(s["step"] for s in steps if s["state"] == "done"),
        "products": sum(int(s["counts"].get("products", 0)) for s in steps),
        "error": d["error"],
        "path": d["path"],
    }


JOB_COLUMNS = (
    Column("job", "job_id"),
    Column("kind", "kind"),
    Column("state", "state"),
    Column("tries", "attempts", str, "right"),
    Column("started (UTC)", "started_utc"),
    Column("duration s", "duration_s", lambda v: f"{v:.3f}", "right"),
    Column("steps done", "steps_done"),
    Column("products", "products", str, "right"),
    Column("error", "error"),
)
STEP_COLUMNS = (
    Column("step", "step"),
    Column("state", "state"),
    Column("started (UTC)", "started_utc"),
    Column("duration s", "duration_s", lambda v: f"{v:.3f}", "right"),
    Column("counts", "counts_text"),
    Column("error", "error"),
)


def _ledger(db: str | None):  # noqa: ANN202
    from kizuna.store.pipeline_jobs import JobLedger

    return JobLedger(open_store(db or "kizuna.db", must_exist=True))


@jobs_app.command("list")
def jobs_list(
    db: DbOption = None,
    state: Annotated[
        str | None, typer.Option(help="only jobs in this state: queued, running, done, failed")
    ] = None,
    limit: Annotated[int, typer.Option(help=f"newest N jobs, 1-{MAX_LIST}")] = 50,
    fmt: FormatOption = "table",
) -> None:
    """The newest jobs: state, last run, duration, products made, errors."""
    check_choice(fmt, "--format", TABLE_FORMATS)
    if state is not None:
        check_choice(state, "--state", JOB_STATES)
    count(limit, "--limit", minimum=1, maximum=MAX_LIST)
    ledger = _ledger(db)
    rows = [job_row(j) for j in ledger.list(limit=limit, state=state)]
    counts = ledger.counts()
    emit_rows(
        rows,
        JOB_COLUMNS,
        fmt,
        title="pipeline jobs",
        parameters={"state": state or "all", "limit": limit},
        total=sum(counts.values()) if state is None else counts.get(state, 0),
        key="jobs",
        extra={"counts": counts},
    )


@jobs_app.command("show")
def jobs_show(
    job_id: Annotated[str, typer.Argument(help="job id, as `kizuna jobs list` shows it")],
    db: DbOption = None,
    fmt: FormatOption = "table",
) -> None:
    """One job and each of its steps: when, how long, counts, error."""
    import json

    check_choice(fmt, "--format", TABLE_FORMATS)
    if not job_id.strip() or len(job_id) > 80:
        fail(f"JOB {job_id[:80]!r}: not a job id")
    job = _ledger(db).get(job_id)
    if job is None:
        fail(f"JOB {job_id}: no such job (see `kizuna jobs list`)")
    if fmt == "json":
        print_json(job.as_dict())
        return
    steps = [s | {"counts_text": json.dumps(s["counts"], sort_keys=True)} for s in job.as_dict()["steps"]]
    emit_rows(
        steps,
        STEP_COLUMNS,
        fmt,
        title=f"job {job.job_id} ({job.kind}, {job.state}) {job.path}",
        key="steps",
    )


@pipeline_app.command("run-once")
def run_once(
    partners: Annotated[
        Path,
        typer.Option(
            "--partners", envvar="KIZUNA_PARTNERS", help="node config with a `pipeline:` section (YAML)"
        ),
    ],
    keys: Annotated[Path, typer.Option("--keys", envvar="KIZUNA_KEYS", help="directory of node keys")],
    db: DbOption = None,
    fmt: FormatOption = "table",
) -> None:
    """Take what is waiting in the watched directories, run every job, print them and exit."""
    from kizuna.cli.share import _node
    from kizuna.ops import pipeline

    check_choice(fmt, "--format", TABLE_FORMATS)
    node = _node(db, partners, keys)
    config = pipeline_config(node, partners)
    if config is None:
        fail(f"--partners {partners}: has no `pipeline:` section")
    try:
        jobs = pipeline.run_once(node, config, log=lambda m: err.print(m, markup=False))
    finally:
        node.catalog.close()
    emit_rows([job_row(j) for j in jobs], JOB_COLUMNS, fmt, title="pipeline run", key="jobs")
    if any(j.state == "failed" for j in jobs):
        raise typer.Exit(1)


def pipeline_config(node: Any, partners: Path) -> Any:
    """The node config's `pipeline:` section, validated (None when absent); one line naming the field."""
    from kizuna.ops.pipeline import PipelineConfig

    c = node.config
    try:
        return PipelineConfig.load(partners, c.nation, c.clearance.banner, c.markings)
    except KizunaError as exc:
        fail(f"--partners {exc}")
