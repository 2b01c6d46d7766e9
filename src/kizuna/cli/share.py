"""`kizuna serve`, `kizuna node ...`, `kizuna audit ...`, `kizuna product publish|verify`: wiring only.

The node is opened here (config, TLS files, signing key, database) with every file checked by name,
so a missing certificate or a typo in --db is one line, not a traceback or a fresh empty database.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from kizuna.cli._common import (
    TABLE_FORMATS,
    Column,
    DbOption,
    check_choice,
    check_number,
    count,
    emit_rows,
    err,
    fail,
    identifier,
    input_file,
    note,
    open_store,
    out,
    output_dir,
    print_json,
    read_text,
    warn,
)
from kizuna.errors import KizunaError

node_app = typer.Typer(help="Coalition node: keys and federation.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
product_app = typer.Typer(help="Marked, signed products.", no_args_is_help=True)

PartnersOption = Annotated[
    Path,
    typer.Option("--partners", envvar="KIZUNA_PARTNERS", help="node config: node, partners, users (YAML)"),
]
KeysOption = Annotated[Path, typer.Option("--keys", envvar="KIZUNA_KEYS", help="directory of node keys")]
TrustPartnersOption = Annotated[
    Path | None,
    typer.Option(
        "--partners",
        envvar="KIZUNA_PARTNERS",
        help="node config whose keys verify the stored products (YAML)",
    ),
]
TrustKeysOption = Annotated[
    Path | None, typer.Option("--keys", envvar="KIZUNA_KEYS", help="directory of node keys")
]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="table, csv or json")]

MAX_SYNC_INTERVAL_S = 86_400.0  # a partner feed pulled less than daily is not a live federation
MAX_NORAD_ID = 999_999_999


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(node_app, name="node")
    app.add_typer(audit_app, name="audit")
    app.add_typer(product_app, name="product")


InsecureOption = Annotated[
    bool,
    typer.Option(
        "--insecure",
        help="allow plain-HTTP partners and serving without TLS (announced and audited; tests and labs only)",
    ),
]


def _node(
    db: str | None,
    partners: Path,
    keys: Path,
    node_id: str | None = None,
    *,
    must_exist: bool = False,
    insecure: bool = False,
):  # noqa: ANN202
    """Open the node from its config and key directory; every missing or bad file is named."""
    import yaml

    from kizuna.share.node import ConfigError, Node, NodeConfig
    from kizuna.share.signing import Signer, load_private_key

    read_text(partners, "--partners")  # exists, is a file, is text
    if not keys.is_dir():
        fail(f"--keys {keys}: no such directory")
    try:
        config = NodeConfig.load(partners)
    except yaml.YAMLError as exc:
        fail(f"--partners {partners}: not YAML: {exc}")
    except ConfigError as exc:  # names the file and the key already
        fail(f"--partners {exc}")
    except (KizunaError, ValueError) as exc:
        fail(f"--partners {partners}: {exc}")
    except OSError as exc:  # a public key file the config names
        fail(f"--partners {partners}: {exc.filename or ''}: {exc.strerror or exc}")
    config.insecure = config.insecure or insecure
    if node_id and node_id != config.node_id:
        fail(f"--node-id {node_id} but {partners} configures {config.node_id}")
    if config.tls is not None:
        _check_tls(config.tls, partners)
    key_path = keys / f"{config.node_id}.key.pem"
    input_file(key_path, "--keys")
    try:
        key = load_private_key(key_path)
    except (KizunaError, ValueError, TypeError) as exc:
        fail(f"--keys {key_path}: not a usable private key ({exc})")
    store = open_store(db or "kizuna.db", must_exist=must_exist)
    try:
        return Node(store, config, Signer(config.node_id, key))
    except KizunaError as exc:
        fail(f"--partners {partners}: {exc}")


def _check_tls(tls, partners: Path) -> None:  # noqa: ANN001
    """The TLS files the config names: each there, readable and PEM of its kind, and the key the
    certificate's. Checked before serving or syncing: ssl reports a missing file as a bare "No such
    file or directory" and a bad one as "[SSL] PEM lib", naming neither the file nor the option."""
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    where = f"--partners {partners}: tls"
    pem: dict[str, bytes] = {}
    for name in ("ca", "cert", "key"):
        path = input_file(getattr(tls, name), f"{where} {name} file")
        try:
            pem[name] = path.read_bytes()
        except OSError as exc:
            fail(f"{where} {name} file {path}: {exc.strerror or exc}")
    try:
        x509.load_pem_x509_certificates(pem["ca"])
    except ValueError:
        fail(f"{where} ca file {tls.ca}: not a PEM certificate")
    try:
        x509.load_pem_x509_certificate(pem["cert"])
    except ValueError:
        fail(f"{where} cert file {tls.cert}: not a PEM certificate")
    try:
        serialization.load_pem_private_key(pem["key"], password=None)
    except (ValueError, TypeError):  # TypeError: the key is encrypted, and there is no passphrase option
        fail(f"{where} key file {tls.key}: not an unencrypted PEM private key")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(str(tls.cert), str(tls.key))
    except ssl.SSLError:
        fail(f"{where} key file {tls.key}: not the key of cert file {tls.cert}")


def _announce_transport(node, partners: Path, *, serving: bool) -> None:  # noqa: ANN001
    """TLS is required between nodes: plain HTTP (a partner url, or serving without `tls`) is refused
    unless the node is `insecure`, and then announced on stderr and in the audit log."""
    from kizuna.share.audit import AuditEvent

    plain = [p.id for p in node.config.plain_http_partners()]
    untls = serving and node.config.tls is None
    if not plain and not untls:
        return
    what = ([f"plain-HTTP partner(s) {', '.join(plain)}"] if plain else []) + (
        ["serving without TLS"] if untls else []
    )
    if not node.config.insecure:
        fail(f"--partners {partners}: {' and '.join(what)}: TLS is required between nodes (pass --insecure)")
    warn(f"INSECURE: {' and '.join(what)}; products cross the network unencrypted")
    node.audit.record(
        AuditEvent("config", f"node:{node.node_id}", None, None, {"insecure": what, "plain_http": plain})
    )


def _witness_text(w: dict[str, object] | None) -> str:
    if w is None:
        return "-"
    if w["ok"] is True:
        return f"ok at entry {w['seq']}"
    if w["ok"] is False:
        return f"FAILS: {w['problem']}"
    return f"not checked: {w['problem']}"


def serve(
    partners: PartnersOption,
    keys: KeysOption,
    db: DbOption = None,
    node_id: Annotated[str | None, typer.Option("--node-id")] = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port, 1-65535")] = 8443,
    sync_interval_s: Annotated[
        float,
        typer.Option(help=f"seconds between partner pulls, 0 disables (at most {MAX_SYNC_INTERVAL_S:g})"),
    ] = 10.0,
    insecure: InsecureOption = False,
    no_pipeline: Annotated[
        bool,
        typer.Option(
            "--no-pipeline", help="do not run the config's `pipeline:` (watch and process arrivals)"
        ),
    ] = False,
) -> None:
    """Run the node API (mutual TLS when the config has `tls`) with a background partner sync loop, and
    the live pipeline when the config has a `pipeline:` section."""
    import ssl

    import uvicorn

    from kizuna.service import create_app
    from kizuna.share.federation import SyncLoop
    from kizuna.share.loopback import PeerCertH11Protocol
    from kizuna.share.node import settle_heap

    if node_id is not None:
        identifier(node_id, "--node-id")
    if not host.strip():
        fail("--host: empty address")
    count(port, "--port", minimum=1, maximum=65_535)
    check_number(sync_interval_s, "--sync-interval-s", minimum=0.0, maximum=MAX_SYNC_INTERVAL_S, unit="s")
    node = _node(db, partners, keys, node_id, insecure=insecure)
    _announce_transport(node, partners, serving=True)
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
    from kizuna.cli.pipeline import pipeline_config
    from kizuna.ops.pipeline import PipelineLoop

    config = None if no_pipeline else pipeline_config(node, partners)
    loop = SyncLoop(node, sync_interval_s, log=err.print).start() if sync_interval_s > 0 else None
    live = PipelineLoop(node, config, log=lambda m: err.print(m, markup=False)).start() if config else None
    try:
        app = create_app(node)
        app.state.sync_loop = loop  # a partner's POST /sync/notify pulls it at once
        settle_heap()
        uvicorn.run(app, host=host, port=port, log_level="info", **kwargs)  # type: ignore[arg-type]
    finally:
        if live:
            live.stop()
        if loop:
            loop.stop()


@node_app.command("keygen")
def keygen(
    node_id: Annotated[str, typer.Option("--node-id")],
    keys: KeysOption,
    force: Annotated[bool, typer.Option("--force", help="replace an existing key pair")] = False,
) -> None:
    """Create the node's Ed25519 signing key pair (PEM)."""
    from kizuna.share.signing import generate_keys

    identifier(node_id, "--node-id")  # it becomes a file name
    output_dir(keys, "--keys", force=True)  # other nodes' keys may share the directory
    try:
        priv, pub = generate_keys(keys, node_id, overwrite=force)
    except KizunaError as exc:
        fail(f"--keys {keys}: {exc} (use --force to replace it)")
    out.print(f"wrote {priv} (private, 0600) and {pub} (give this to partners)")


SYNC_COLUMNS = (
    Column("partner", "partner"),
    Column("pages", "pages", str, "right"),
    Column("fetched", "fetched", str, "right"),
    Column("ingested", "ingested", str, "right"),
    Column("duplicates", "duplicates", str, "right"),
    Column("refused", "refused", str, "right"),
    Column("audit witnessed", "witness"),
)


@node_app.command("sync")
def sync(
    partners: PartnersOption,
    keys: KeysOption,
    db: DbOption = None,
    partner: Annotated[list[str] | None, typer.Option(help="only these partners")] = None,
    fmt: FormatOption = "table",
    insecure: InsecureOption = False,
) -> None:
    """Pull every partner's feed from the stored cursors (verify, re-check policy, ingest)."""
    from kizuna.share.federation import SyncError, sync_partner

    check_choice(fmt, "--format", TABLE_FORMATS)
    for p in partner or []:
        identifier(p, "--partner")
    node = _node(db, partners, keys, insecure=insecure)
    _announce_transport(node, partners, serving=False)
    known = {p.id for p in node.config.partners.values() if p.url}
    unknown = sorted(set(partner or []) - known)
    if unknown:
        warn(
            f"not partners with a url in {partners}: {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
        fail(f"--partner: {len(unknown)} unknown partner id(s)")
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
    parameters = {"node": node.node_id, "partners": sorted(partner) if partner else "all"}
    emit_rows(
        reports if fmt == "json" else [{**r, "witness": _witness_text(r["witness"])} for r in reports],  # type: ignore[arg-type]
        SYNC_COLUMNS,
        fmt,
        title=f"sync at {node.node_id}",
        parameters=parameters,
        key="partners",
    )
    raise typer.Exit(2 if failed else 0)


STATUS_COLUMNS = (
    Column("partner", "partner"),
    Column("transport", "transport"),
    Column("last success (UTC)", "last_success_utc"),
    Column("lag s", "lag_s", str, "right"),
    Column("failures", "failures_since_success", str, "right"),
    Column("last error (UTC)", "last_error_utc"),
    Column("last error", "last_error"),
)


@node_app.command("status")
def node_status(
    partners: PartnersOption, keys: KeysOption, db: DbOption = None, fmt: FormatOption = "table"
) -> None:
    """Sync health per partner (last success, last error, failures since, lag), from the audit log the
    node's sync loop writes; exit 2 when a partner's last attempt failed."""
    from kizuna.share.federation import partner_status

    check_choice(fmt, "--format", TABLE_FORMATS)
    node = _node(db, partners, keys, must_exist=True)
    rows = partner_status(node)
    shown = rows if fmt != "table" else [{k: ("-" if v is None else v) for k, v in r.items()} for r in rows]
    emit_rows(
        shown,
        STATUS_COLUMNS,
        fmt,
        title=f"partner sync at {node.node_id}",
        parameters={"node": node.node_id},
        key="partners",
    )
    raise typer.Exit(2 if any(r["failures_since_success"] for r in rows) else 0)


WITNESS_COLUMNS = (Column("partner", "partner"), Column("entry", "seq"), Column("result", "result"))


@audit_app.command("witnesses")
def audit_witnesses(
    partners: PartnersOption, keys: KeysOption, db: DbOption = None, fmt: FormatOption = "table"
) -> None:
    """Compare this node's audit chain with the checkpoints of it that partners witnessed; exit 2 when
    a partner holds a hash the local chain no longer has (history rewritten or truncated here)."""
    from kizuna.share.federation import check_witnesses

    check_choice(fmt, "--format", TABLE_FORMATS)
    node = _node(db, partners, keys, must_exist=True)
    reports = [r.as_dict() for r in check_witnesses(node)]
    local = node.audit.verify()
    bad = not local.ok or any(r["ok"] is False for r in reports)
    if fmt == "json":
        print_json({"parameters": {"node": node.node_id}, "local": local.as_dict(), "witnesses": reports})
        raise typer.Exit(2 if bad else 0)
    line = f"local chain, {local.entries} entries: " + ("verifies" if local.ok else "TAMPERED")
    if fmt == "table":
        out.print(line, markup=False, highlight=False)
    else:
        note(line)
    emit_rows(
        [{**r, "result": _witness_text(r)} for r in reports],
        WITNESS_COLUMNS,
        fmt,
        title=f"what partners witnessed of {node.node_id}'s audit log",
        parameters={"node": node.node_id, "local_entries": local.entries, "local_ok": local.ok},
    )
    raise typer.Exit(2 if bad else 0)


@audit_app.command("verify")
def audit_verify(
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
    partners: TrustPartnersOption = None,
    keys: TrustKeysOption = None,
) -> None:
    """Recompute the hash chain and, with --partners and --keys, verify every stored product's signature
    and policy columns; exit 2 when anything was edited, deleted or reordered."""
    from kizuna.share.audit import AuditLog
    from kizuna.store.share_store import ShareStore

    check_choice(fmt, "--format", ("table", "json"))
    if (partners is None) != (keys is None):
        fail("--partners and --keys go together: they name the keys that verify the stored products")
    if partners is not None and keys is not None:
        node = _node(db, partners, keys, must_exist=True)
        store, log = node.catalog, node.audit
    else:
        store = open_store(db, must_exist=True)
        log = AuditLog(ShareStore(store))
        warn("stored products not verified: give --partners and --keys to check their signatures")
    try:
        report = log.verify()
    except KizunaError as exc:
        fail(exc)
    if fmt == "json":
        print_json({**report.as_dict(), "parameters": {"db": store.safe_url}})
    else:
        products = "" if report.products is None else f", {report.products} stored products"
        out.print(
            f"{report.entries} entries{products}: "
            + ("[green]chain verifies[/]" if report.ok else "[red]TAMPERED[/]")
        )
        for p in report.problems:
            out.print(f"  {p}", markup=False, highlight=False)
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
    actor: Annotated[str, typer.Option(help="who publishes (recorded in the audit log)")] = "cli",
) -> None:
    """Sign, store and audit a product of this node; prints the signed document."""
    from kizuna.share.markings import parse_banner
    from kizuna.share.products import PRODUCT_TYPES, Product

    check_choice(product_type, "--type", PRODUCT_TYPES)
    for o in objects or []:
        count(o, "--object", minimum=1, maximum=MAX_NORAD_ID)
    if not actor.strip():
        fail("--actor: empty name")
    if not marking.strip():
        fail("--marking: empty banner")
    try:
        body: Any = json.loads(read_text(payload, "--payload"))
    except json.JSONDecodeError as exc:
        fail(f"--payload {payload}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}")
    if not isinstance(body, dict):
        fail(f"--payload {payload}: the payload must be a JSON object, not {type(body).__name__}")
    node = _node(db, partners, keys)
    try:
        product = Product.new(
            product_type,
            body,
            parse_banner(marking, node.config.markings),
            node.node_id,
            objects=tuple(objects or ()),
        )
        signed = node.publish(product, actor=actor)
    except (KizunaError, ValueError) as exc:
        fail(exc)
    print(json.dumps(signed, indent=2, ensure_ascii=False))


@product_app.command("verify")
def verify(
    product: Annotated[str, typer.Argument(help="a signed product JSON file, or a product id in --db")],
    partners: PartnersOption,
    keys: KeysOption,
    db: DbOption = None,
    version: Annotated[int | None, typer.Option(help="with an id: this version (default: current)")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
) -> None:
    """Verify a signed product against this node's trust store: the Ed25519 signature over the
    canonical bytes (see `kizuna.share.signing`), the signer's key and the label; exit 2 when it fails.
    A stored product is also checked against the policy columns the node filters on."""
    from kizuna.share.signing import IntegrityError

    check_choice(fmt, "--format", ("table", "json"))
    if version is not None:
        count(version, "--version", minimum=1, maximum=2**31 - 1)
    path = Path(product)
    if path.is_file():
        text = read_text(path, "PRODUCT")
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            fail(f"{path}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}")
        except RecursionError:
            fail(f"{path}: nested too deeply to be a product")
        node = _node(":memory:", partners, keys)  # only the trust store is needed
        stored: dict[str, object] | None = None
        where = str(path)
    else:
        if not product.strip() or len(product) > 200:
            fail(f"PRODUCT {product!r}: not a file, and not a product id")
        node = _node(db, partners, keys, must_exist=True)
        stored = node.share.stored_row(product, version)
        if stored is None:
            fail(f"PRODUCT {product}: no such file, and no such product in {node.catalog.safe_url}")
        text = str(stored["wire"])
        where = f"{product} in {node.catalog.safe_url}"
    problem: str | None
    try:
        p = node.verify_wire(text)
        problem = node.stored_product_problem(stored) if stored is not None else None
    except IntegrityError as exc:
        p, problem = None, exc.reason
    result: dict[str, object] = {"ok": problem is None, "source": where}
    if p is not None:
        result |= {"id": p.id, "version": p.version, "originator": p.originator, "banner": p.marking.banner()}
    if problem is not None:
        result["problem"] = problem
    if fmt == "json":
        print_json(result)
    elif problem is None:
        out.print(
            f"verifies: {result['id']} v{result['version']} signed by {result['originator']}, {result['banner']}",
            markup=False,
            highlight=False,
        )
    else:
        out.print(f"FAILS: {where}: {problem}", markup=False, highlight=False)
    raise typer.Exit(0 if problem is None else 2)
