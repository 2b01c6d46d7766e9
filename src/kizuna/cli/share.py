"""`kizuna serve`, `kizuna node ...`, `kizuna audit verify`, `kizuna product publish`: wiring only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kizuna.errors import KizunaError

out = Console()
err = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="KIZUNA_DB", help="SQLite file or postgresql:// URL (default kizuna.db)"),
]
PartnersOption = Annotated[
    Path,
    typer.Option("--partners", envvar="KIZUNA_PARTNERS", help="node config: node, partners, users (YAML)"),
]
KeysOption = Annotated[Path, typer.Option("--keys", envvar="KIZUNA_KEYS", help="directory of node keys")]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="table or json")]


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[red]error:[/] {exc}")
    return typer.Exit(2)


def _node(db: str | None, partners: Path, keys: Path, node_id: str | None = None):  # type: ignore[no-untyped-def]
    from kizuna.share.node import Node

    try:
        node = Node.open(db or "kizuna.db", partners, keys)
    except (KizunaError, OSError, ValueError) as exc:
        raise _fail(exc) from None
    if node_id and node_id != node.node_id:
        raise _fail(ValueError(f"--node-id {node_id} but {partners} configures {node.node_id}"))
    return node


def _witness_cell(w: dict[str, object] | None) -> str:
    if w is None:
        return "-"
    if w["ok"] is True:
        return f"[green]ok[/] at entry {w['seq']}"
    if w["ok"] is False:
        return f"[red]FAILS[/] {w['problem']}"
    return f"not checked: {w['problem']}"


def register(app: typer.Typer) -> None:
    node_app = typer.Typer(help="Coalition node: keys and federation.", no_args_is_help=True)
    audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
    product_app = typer.Typer(help="Marked, signed products.", no_args_is_help=True)
    app.add_typer(node_app, name="node")
    app.add_typer(audit_app, name="audit")
    app.add_typer(product_app, name="product")

    @app.command("serve")
    def serve(
        partners: PartnersOption,
        keys: KeysOption,
        db: DbOption = None,
        node_id: Annotated[str | None, typer.Option("--node-id")] = None,
        host: str = "127.0.0.1",
        port: int = 8443,
        sync_interval_s: Annotated[float, typer.Option(help="0 disables the sync loop")] = 10.0,
    ) -> None:
        """Run the node API (mutual TLS when the config has `tls`) with a background partner sync loop."""
        import ssl

        import uvicorn

        from kizuna.service import create_app
        from kizuna.share.federation import SyncLoop
        from kizuna.share.loopback import PeerCertH11Protocol

        node = _node(db, partners, keys, node_id)
        kwargs: dict[str, object] = {}
        if node.config.tls:
            t = node.config.tls
            kwargs = {
                "ssl_certfile": str(t.cert),
                "ssl_keyfile": str(t.key),
                "ssl_ca_certs": str(t.ca),
                "ssl_cert_reqs": ssl.CERT_REQUIRED,
                "http": PeerCertH11Protocol,
            }
        else:
            err.print(
                "[yellow]warning:[/] no `tls` in the config: partners authenticate by signed "
                "requests only, without mutual TLS"
            )
        loop = SyncLoop(node, sync_interval_s, log=err.print).start() if sync_interval_s > 0 else None
        try:
            uvicorn.run(create_app(node), host=host, port=port, log_level="info", **kwargs)  # type: ignore[arg-type]
        finally:
            if loop:
                loop.stop()

    @node_app.command("keygen")
    def keygen(
        node_id: Annotated[str, typer.Option("--node-id")], keys: KeysOption, force: bool = False
    ) -> None:
        """Create the node's Ed25519 signing key pair (PEM)."""
        from kizuna.share.signing import generate_keys

        try:
            priv, pub = generate_keys(keys, node_id, overwrite=force)
        except KizunaError as exc:
            raise _fail(exc) from None
        out.print(f"wrote {priv} (private, 0600) and {pub} (give this to partners)")

    @node_app.command("sync")
    def sync(
        partners: PartnersOption,
        keys: KeysOption,
        db: DbOption = None,
        partner: Annotated[list[str] | None, typer.Option(help="only these partners")] = None,
        fmt: FormatOption = "table",
    ) -> None:
        """Pull every partner's feed from the stored cursors (verify, re-check policy, ingest)."""
        from kizuna.share.federation import SyncError, sync_partner

        node = _node(db, partners, keys)
        reports, failed = [], False
        for p in node.config.partners.values():
            if not p.url or (partner and p.id not in partner):
                continue
            try:
                rep = sync_partner(node, p)
            except SyncError as exc:
                failed = True
                err.print(f"[red]sync {p.id} failed:[/] {exc}")
                continue
            reports.append(rep.as_dict())
            if rep.witness is not None and rep.witness.ok is False:
                failed = True  # the partner's audit history changed under us: an operator must look
                err.print(f"[red]{p.id}'s audit log fails witnessing:[/] {rep.witness.problem}")
        if fmt == "json":
            print(json.dumps(reports, indent=2))
        else:
            table = Table(title=f"sync at {node.node_id}")
            for col in (
                "partner",
                "pages",
                "fetched",
                "ingested",
                "duplicates",
                "refused",
                "audit witnessed",
            ):
                table.add_column(col, justify="right" if col != "partner" else "left")
            for r in reports:
                table.add_row(
                    *(
                        str(r[c])
                        for c in ("partner", "pages", "fetched", "ingested", "duplicates", "refused")
                    ),
                    _witness_cell(r["witness"]),
                )
            out.print(table)
        raise typer.Exit(2 if failed else 0)

    @audit_app.command("witnesses")
    def audit_witnesses(
        partners: PartnersOption, keys: KeysOption, db: DbOption = None, fmt: FormatOption = "table"
    ) -> None:
        """Compare this node's audit chain with the checkpoints of it that partners witnessed; exit 2 when
        a partner holds a hash the local chain no longer has (history rewritten or truncated here)."""
        from kizuna.share.federation import check_witnesses

        node = _node(db, partners, keys)
        reports = [r.as_dict() for r in check_witnesses(node)]
        local = node.audit.verify()
        bad = not local.ok or any(r["ok"] is False for r in reports)
        if fmt == "json":
            print(json.dumps({"local": local.as_dict(), "witnesses": reports}, indent=2))
        else:
            out.print(
                f"local chain, {local.entries} entries: "
                + ("[green]verifies[/]" if local.ok else "[red]TAMPERED[/]")
            )
            table = Table(title=f"what partners witnessed of {node.node_id}'s audit log")
            for col in ("partner", "entry", "result"):
                table.add_column(col)
            for r in reports:
                table.add_row(str(r["partner"]), "-" if r["seq"] is None else str(r["seq"]), _witness_cell(r))
            out.print(table)
        raise typer.Exit(2 if bad else 0)

    @audit_app.command("verify")
    def audit_verify(db: DbOption = None, fmt: FormatOption = "table") -> None:
        """Recompute the hash chain; exit 2 when any entry was edited, deleted or reordered."""
        from kizuna.share.audit import AuditLog
        from kizuna.store import CatalogStore
        from kizuna.store.share_store import ShareStore

        try:
            report = AuditLog(ShareStore(CatalogStore(db))).verify()
        except KizunaError as exc:
            raise _fail(exc) from None
        if fmt == "json":
            print(json.dumps(report.as_dict(), indent=2))
        else:
            out.print(
                f"{report.entries} entries: "
                + ("[green]chain verifies[/]" if report.ok else "[red]TAMPERED[/]")
            )
            for p in report.problems:
                out.print(f"  {p}")
        raise typer.Exit(0 if report.ok else 2)

    @product_app.command("publish")
    def publish(
        partners: PartnersOption,
        keys: KeysOption,
        product_type: Annotated[str, typer.Option("--type")],
        marking: Annotated[str, typer.Option(help="banner, e.g. 'SECRET//REL TO USA, JPN'")],
        payload: Annotated[Path, typer.Option(help="JSON file with the payload object")],
        db: DbOption = None,
        objects: Annotated[list[int] | None, typer.Option("--object", help="NORAD ids")] = None,
        actor: str = "cli",
    ) -> None:
        """Sign, store and audit a product of this node; prints the signed document."""
        from kizuna.share.markings import parse_banner
        from kizuna.share.products import Product

        node = _node(db, partners, keys)
        try:
            body = json.loads(payload.read_text())
            product = Product.new(
                product_type,
                body,
                parse_banner(marking, node.config.markings),
                node.node_id,
                objects=tuple(objects or ()),
            )
            signed = node.publish(product, actor=actor)
        except (KizunaError, OSError, ValueError, PermissionError) as exc:
            raise _fail(exc) from None
        print(json.dumps(signed, indent=2, ensure_ascii=False))
