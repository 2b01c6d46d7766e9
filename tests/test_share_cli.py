"""CLI wiring: keygen, product publish, node sync against a live loopback node, audit verify."""

from __future__ import annotations

import json

from sqlalchemy import update
from typer.testing import CliRunner

from kizuna.cli import app
from kizuna.service import create_app
from kizuna.share.loopback import ServerThread, free_port, write_coalition
from kizuna.share.node import Node
from kizuna.store import CatalogStore
from kizuna.store.share_store import audit

runner = CliRunner()


def test_keygen_publish_sync_and_audit_verify(tmp_path):
    keys = tmp_path / "k2"
    r = runner.invoke(app, ["node", "keygen", "--node-id", "JPN", "--keys", str(keys)])
    assert r.exit_code == 0 and (keys / "JPN.key.pem").stat().st_mode & 0o777 == 0o600
    assert runner.invoke(app, ["node", "keygen", "--node-id", "JPN", "--keys", str(keys)]).exit_code == 2

    ports = {"JPN": free_port(), "USA": free_port()}
    cfgs = write_coalition(tmp_path, ports)
    jdb, udb = str(tmp_path / "JPN.db"), str(tmp_path / "USA.db")
    payload = tmp_path / "p.json"
    payload.write_text(json.dumps({"miss_km": 0.2}))
    common = ["--partners", str(cfgs["JPN"]), "--keys", str(tmp_path / "keys"), "--db", jdb]
    r = runner.invoke(
        app,
        [
            "product",
            "publish",
            *common,
            "--type",
            "conjunction",
            "--marking",
            "SECRET//REL TO USA, JPN",
            "--payload",
            str(payload),
            "--object",
            "25544",
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["banner"] == "SECRET//REL TO USA, JPN"
    r = runner.invoke(
        app,
        [
            "product",
            "publish",
            *common,
            "--type",
            "conjunction",
            "--marking",
            "SECRET//NOFORN/REL TO USA",
            "--payload",
            str(payload),
        ],
    )
    assert r.exit_code == 2 and "NOFORN" in r.output

    node = Node.open(jdb, cfgs["JPN"], tmp_path / "keys")
    server = ServerThread(create_app(node), ports["JPN"]).start()
    try:
        r = runner.invoke(
            app,
            [
                "node",
                "sync",
                "--partners",
                str(cfgs["USA"]),
                "--keys",
                str(tmp_path / "keys"),
                "--db",
                udb,
                "--partner",
                "JPN",
                "-f",
                "json",
            ],
        )
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["partners"][0]["ingested"] == 1
    finally:
        server.stop()
        node.catalog.close()

    r = runner.invoke(app, ["audit", "verify", "--db", udb, "-f", "json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["ok"] is True
    store = CatalogStore(udb)
    with store.engine.begin() as conn:
        conn.execute(update(audit).where(audit.c.seq == 1).values(detail="{}"))
    store.close()
    r = runner.invoke(app, ["audit", "verify", "--db", udb])
    assert r.exit_code == 2 and "edited" in r.output
