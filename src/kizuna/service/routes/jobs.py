"""The live pipeline's jobs for the node's operators (role `auditor`): last run, duration, counts and
errors per step. Jobs name local files, so a partner node never reads them."""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from kizuna.service import models
from kizuna.service.deps import CallerDep, NodeDep, require_role
from kizuna.service.responses import AUTH_RESPONSES
from kizuna.store.pipeline_jobs import JOB_STATES, JobLedger

router = APIRouter(prefix="/jobs", tags=["jobs"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": models.Error, "description": "no such job"}}


@router.get("", responses=AUTH_RESPONSES | {400: {"model": models.Error, "description": "bad state"}})
def list_jobs(
    c: CallerDep,
    node: NodeDep,
    state: Annotated[str | None, Query(max_length=12, description="queued, running, done or failed")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, object]:
    """The newest jobs first, each with its steps, and the number of jobs per state."""
    require_role(c, "auditor")
    if state is not None and state not in JOB_STATES:
        raise HTTPException(400, f"state must be one of {list(JOB_STATES)}")
    ledger = JobLedger(node.catalog)
    return {"counts": ledger.counts(), "jobs": [j.as_dict() for j in ledger.list(limit=limit, state=state)]}


@router.get("/{job_id}", responses=AUTH_RESPONSES | NOT_FOUND)
def get_job(c: CallerDep, node: NodeDep, job_id: Annotated[str, Path(max_length=80)]) -> dict[str, object]:
    """One job: its file, state, attempts, duration, and per step when, how long, counts and error."""
    require_role(c, "auditor")
    job = JobLedger(node.catalog).get(job_id)
    if job is None:
        raise HTTPException(404, "no such job")
    return job.as_dict()
