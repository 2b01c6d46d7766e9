"""Guards of a running node: a CLI writing beside a live node never fails a request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from tests.conftest import PG_URL, REPO, _postgres_reason

from kizuna.service import create_app
from kizuna.share.loopback import write_coalition
from kizuna.share.node import Node

ANALYST = {"Authorization": "Bearer token-JPN"}  # publisher, auditor, downgrader
READER = {"Authorization": "Bearer token-reader"}  # no roles
PUBLISH_BODY = {"type": "conjunction", "payload": {"miss_km": 0.2}, "marking": "UNCLASSIFIED"}


def _coalition(tmp: Path, ports: dict[str, int] | None = None, feed: dict[str, int] | None = None) -> Path:
    cfgs = write_coalition(tmp, ports or {"JPN": 1, "USA": 2})
    cfg = yaml.safe_load(cfgs["JPN"].read_text())
    cfg["users"].append(
        {
            "name": "reader",
            "token": "token-reader",
            "nationality": "JPN",
            "clearance": "SECRET",
            "accesses": [],
            "roles": [],
        }
    )
    if feed is not None:
        cfg["feed"] = feed
    cfgs["JPN"].write_text(yaml.safe_dump(cfg, sort_keys=False))
    return cfgs["JPN"]


@pytest.fixture
def node(tmp_path):
    n = Node.open(str(tmp_path / "JPN.db"), _coalition(tmp_path), tmp_path / "keys")
    yield n
    n.catalog.close()


def _refusals(node: Node, after: int) -> list[dict[str, object]]:
    rows = [r for r in node.share.audit_rows() if int(r["seq"]) > after and r["event"] == "refusal"]  # type: ignore[call-overload]
    return [{**r, "detail": json.loads(str(r["detail"]))} for r in rows]


# ------------------------------------------------------------------------ a CLI beside a live node
WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from kizuna.share.audit import AuditEvent
    from kizuna.share.markings import parse_banner
    from kizuna.share.node import Node
    from kizuna.share.products import Product

    db, cfg, keys, n = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    node = Node.open(db, cfg, keys)
    print("ready", flush=True)
    for i in range(n):
        # What `kizuna product publish` and `kizuna serve --insecure` write: a product, an audit entry.
        node.publish(Product.new("element_set", {"i": i}, parse_banner("UNCLASSIFIED"), "JPN"), actor="cli")
        node.audit.record(AuditEvent("config", "cli", None, None, {"i": i}))
    """
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def node_db(request, tmp_path):
    if request.param == "sqlite":
        yield str(tmp_path / "JPN.db")
        return
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = f"t_guard_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_a_cli_writing_beside_a_live_node_fails_no_request(tmp_path, node_db):
    """The audit head and its counter are read and advanced under one write lock (SQLite BEGIN
    IMMEDIATE, PostgreSQL row locks): before, a deferred SQLite transaction read the head, another
    process appended, and the request failed with "audit counter N disagrees with head M"."""
    cfg = _coalition(tmp_path)
    node = Node.open(node_db, cfg, tmp_path / "keys")
    app = create_app(node)
    writes = 150
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    cli = subprocess.Popen(
        [sys.executable, "-c", WRITER, node_db, str(cfg), str(tmp_path / "keys"), str(writes)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert cli.stdout is not None and cli.stdout.readline().strip() == "ready"
        statuses: list[int] = []
        with TestClient(app) as client:
            while cli.poll() is None or len(statuses) < 40:
                # A publish (product and audit entry) and a read (an access entry, audit only).
                statuses.append(client.post("/products", json=PUBLISH_BODY, headers=ANALYST).status_code)
                statuses.append(client.get("/products/element-sets?limit=5", headers=ANALYST).status_code)
        _, stderr = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 0, stderr.strip().splitlines()[-1:]
    assert set(statuses) == {200, 201}, sorted(set(statuses))
    report = node.audit.verify()
    assert report.ok, report.problems[:3]
    published = statuses.count(201)
    assert node.share.count() == writes + published
    node.catalog.close()
