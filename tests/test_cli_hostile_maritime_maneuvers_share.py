"""Hostile values for every option of the maritime, maneuver/proximity and sharing commands.

One table: each row is a command line (valid except for one option) and a fragment the one-line
refusal must contain. Every row must end in exit 2, one `error:` line, no traceback and nothing on
stdout (tests/cli_harness.refused). Placeholders in braces are files made once per module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import yaml
from tests.cli_harness import MALFORMED_TIMES, complete_numbers, invoke, refused
from tests.test_maritime_store_cli import _meeting_nmea

ISS_2023 = Path(str(resources.files("kizuna") / "data" / "maneuvers" / "iss_25544_2023.tle"))
GOOD_TIME = "2026-06-01T01:30:00Z"

AIS_LOAD = ["ais", "load", "{nmea}", "--db", "{tmp}/load.db"]
AIS_EVENTS = ["ais", "events", "--db", "{ais_db}", "--no-shore"]
SAR_DETECT = ["sar", "detect", "{tif}"]
SAR_SCENE = ["sar", "scene", "{tmp}/never.tif", "--size", "64", "--ships", "1"]
DARK = ["dark", "--detections", "{dets}", "--time", GOOD_TIME, "--ais", "{nmea}"]
MAN_DETECT = ["maneuvers", "detect", "--file", "{iss}"]
MAN_EVAL = ["maneuvers", "evaluate", "--file", "{iss}", "--truth", "{truth}"]
PROX = ["proximity", "watch", "--assets", "63205", "--start", "2026-06-10T12:00:00", "--db", "{cat_db}"]
NODE = ["--partners", "{cfg}", "--keys", "{keys}"]
SERVE = ["serve", *NODE, "--db", "{tmp}/serve.db"]
KEYGEN = ["node", "keygen", "--keys", "{tmp}/newkeys"]
SYNC = ["node", "sync", *NODE, "--db", "{tmp}/sync.db"]
WITNESSES = ["audit", "witnesses", *NODE, "--db", "{node_db}"]
VERIFY = ["audit", "verify", "--db", "{node_db}"]
PRODUCT_VERIFY = ["product", "verify", "no-such-product", *NODE, "--db", "{node_db}"]
STATUS = ["node", "status", *NODE, "--db", "{node_db}"]
PUBLISH = ["product", "publish", *NODE, "--db", "{tmp}/pub.db", "--type", "conjunction"]
PUBLISH += ["--marking", "SECRET//REL TO USA, JPN", "--payload", "{payload}"]

BAD_NUMBERS = ("nan", "inf", "-inf")
# Node configs whose TLS files are there but unusable, and the refusal naming the file and the fault
# (ssl alone says "[SSL] PEM lib", naming neither).
BROKEN_TLS = [
    ("{tls_garbage_cert_cfg}", "tls cert file {tmp}/tls/tls/garbage.pem: not a PEM certificate"),
    ("{tls_garbage_key_cfg}", "tls key file {tmp}/tls/tls/garbage.pem: not an unencrypted PEM private key"),
    ("{tls_garbage_ca_cfg}", "tls ca file {tmp}/tls/tls/garbage.pem: not a PEM certificate"),
    ("{tls_wrong_key_cfg}", "JPN.tls.key.pem: not the key of cert file {tmp}/tls/tls/USA.crt.pem"),
    ("{tls_dir_cert_cfg}", "tls cert file {tmp}/tls/tls/a_dir: is a directory"),
]


def _numbers(base: list[str], option: str, values: tuple[str, ...]) -> list:
    """Rows for one numeric option: non-finite values are refused as such, the others by option and
    value (as the refusal prints it)."""
    rows = [(base + [option, v], f"{option} {v}: must be a finite number") for v in BAD_NUMBERS]
    rows += [(base + [option, v], f"{option} {float(v):g}: must be") for v in values]
    return rows


def _times(base: list[str], option: str) -> list:
    return [(base + [option, t], option) for t in MALFORMED_TIMES]


def _outputs(base: list[str], option: str, name: str) -> list:
    """An output path in a missing directory, under a regular file, on a directory, or clobbering."""
    return [
        (base + [option, f"{{tmp}}/no/such/dir/{name}"], "does not exist"),
        (base + [option, f"{{existing}}/{name}"], "does not exist"),
        (base + [option, "{adir}"], f"{option} {{adir}}: is a directory"),
        (base + [option, "{existing}"], f"{option} {{existing}}: exists (use --force"),
        (base + [option, f"{{ro_dir}}/{name}"], "not writable"),
    ]


def _inputs(base: list[str], option: str, *, text: bool = True) -> list:
    rows = [
        (base + [option, "{tmp}/missing.file"], f"{option} {{tmp}}/missing.file: no such file"),
        (base + [option, "{adir}"], f"{option} {{adir}}: is a directory"),
    ]
    if text:
        rows.append((base + [option, "{binary}"], f"{option} {{binary}}: not a UTF-8 text file"))
    return rows


def _drop(args: list[str], option: str) -> list[str]:
    """`args` without `option` and its value (so a row can give that option its own value)."""
    i = args.index(option)
    return args[:i] + args[i + 2 :]


ROWS: list[tuple[list[str], str]] = [
    # ---------------------------------------------------------------- ais load
    (["ais", "load", "{tmp}/missing.nmea", "--db", "{tmp}/load.db"], "FILES {tmp}/missing.nmea: no such"),
    (["ais", "load", "{binary}", "--db", "{tmp}/load.db"], "text file"),
    (["ais", "load", "{adir}", "--db", "{tmp}/load.db"], "FILES {adir}: is a directory"),
    (AIS_LOAD + ["--max-errors", "-1"], "--max-errors"),
    (AIS_LOAD + ["--db", "{existing}/x.db"], "--db {existing}/x.db: cannot create database"),
    # ---------------------------------------------------------------- ais events
    (AIS_EVENTS + ["--type", "piracy"], "--type 'piracy': use one of"),
    (AIS_EVENTS + ["--bbox", "1,2,3"], "--bbox '1,2,3': wants W,S,E,N"),
    (AIS_EVENTS + ["--bbox", "nan,0,1,1"], "finite"),
    (AIS_EVENTS + ["--bbox", "0,0,inf,1"], "finite"),
    (AIS_EVENTS + ["--bbox", "0,10,1,5"], "S < N"),
    (AIS_EVENTS + ["--bbox", "-200,0,1,1"], "S < N"),
    (AIS_EVENTS + ["--bbox", "1e309,0,1,1"], "finite"),
    *_times(AIS_EVENTS, "--start"),
    *_times(AIS_EVENTS, "--stop"),
    (AIS_EVENTS + ["--start", "2026-03-02", "--stop", "2026-03-01"], "not after"),
    (AIS_EVENTS + ["--start", "2026-03-01", "--stop", "2026-03-01"], "not after"),
    (_drop(AIS_EVENTS, "--db") + ["--db", "{tmp}/typo.db"], "no database"),
    (AIS_EVENTS + ["-f", "xml"], "--format 'xml': use one of"),
    *_outputs(AIS_EVENTS, "--map", "events.png"),
    # ---------------------------------------------------------------- sar detect
    (["sar", "detect", "{tmp}/missing.tif"], "no such file"),
    (["sar", "detect", "{adir}"], "is a directory"),
    (["sar", "detect", "{existing}"], "raster"),
    *_numbers(SAR_DETECT, "--pfa", ("0", "-1", "1", "0.5", "1e-300")),
    (SAR_DETECT + ["--method", "median"], "--method"),
    (SAR_DETECT + ["--clutter", "weibull"], "--clutter"),
    (SAR_DETECT + ["--guard", "-1"], "--guard"),
    (SAR_DETECT + ["--guard", "100000"], "--guard"),
    (SAR_DETECT + ["--background", "0"], "--background"),
    (SAR_DETECT + ["--background", "-5"], "--background"),
    (SAR_DETECT + ["--guard", "8", "--background", "8"], "--background"),
    (SAR_DETECT + ["--background", "1000000"], "--background"),
    (SAR_DETECT + ["-f", "kml"], "--format 'kml': use one of"),
    *_outputs(SAR_DETECT, "--output", "dets.geojson"),
    *_outputs(SAR_DETECT, "--map", "sar.png"),
    (SAR_DETECT + ["--output", "{tmp}/same.x", "--map", "{tmp}/same.x"], "same file"),
    # ---------------------------------------------------------------- sar scene
    (["sar", "scene", "{existing}", "--size", "64"], "--force"),
    (["sar", "scene", "{tmp}/no/such/dir/s.tif", "--size", "64"], "does not exist"),
    (["sar", "scene", "{adir}", "--size", "64"], "is a directory"),
    (["sar", "scene", "{ro_dir}/s.tif", "--size", "64"], "not writable"),
    (SAR_SCENE + ["--seed", "-1"], "--seed"),
    (SAR_SCENE + ["--seed", str(2**40)], "--seed"),
    (SAR_SCENE + ["--size", "0"], "--size"),
    (SAR_SCENE + ["--size", "-5"], "--size"),
    (SAR_SCENE + ["--size", "1000000"], "--size"),
    (SAR_SCENE + ["--ships", "-1"], "--ships"),
    (SAR_SCENE + ["--ships", "1000000000"], "--ships"),
    *_numbers(SAR_SCENE, "--nu", ("0", "-1", "1e300")),
    *_times(SAR_SCENE, "--time"),
    # ---------------------------------------------------------------- dark
    *_inputs(_drop(DARK, "--detections"), "--detections"),
    (_drop(DARK, "--detections") + ["--detections", "{no_dets}"], "no detection"),
    *_times(_drop(DARK, "--time"), "--time"),
    *_inputs(_drop(DARK, "--ais"), "--ais"),
    *_numbers(DARK, "--gate-m", ("-5", "0", "1e9")),
    (DARK + ["--bbox", "0,10,1,5"], "S < N"),
    (DARK + ["--bbox", "a,b,c,d"], "--bbox 'a,b,c,d': wants W,S,E,N"),
    (_drop(DARK, "--ais") + ["--db", "{tmp}/typo.db"], "no database"),
    (DARK + ["-f", "kml"], "--format 'kml': use one of"),
    *_outputs(DARK, "--map", "dark.png"),
    # ---------------------------------------------------------------- maneuvers detect
    (["maneuvers", "detect"], "--norad ids or --file"),
    (MAN_DETECT + ["--norad", "25544"], "--norad ids or --file"),
    (["maneuvers", "detect", "--norad", "abc", "--db", "{cat_db}"], "'abc' is not a catalog number"),
    (["maneuvers", "detect", "--norad", "-5", "--db", "{cat_db}"], "'-5' is not a catalog number"),
    (["maneuvers", "detect", "--norad", "99999", "--db", "{cat_db}"], "no stored history"),
    (["maneuvers", "detect", "--norad", "25544,99999", "--db", "{cat_db}"], "1 of 2"),
    (["maneuvers", "detect", "--norad", "25544", "--db", "{tmp}/typo.db"], "no database"),
    *_inputs(["maneuvers", "detect"], "--file"),
    (["maneuvers", "detect", "--file", "{nmea}"], "no element sets"),
    *_times(MAN_DETECT, "--start"),
    *_times(MAN_DETECT, "--stop"),
    (MAN_DETECT + ["--start", "2023-06-30", "--stop", "2023-01-01"], "not after"),
    (MAN_DETECT + ["--start", "2025-01-01"], "no element sets to scan in the --start/--stop window"),
    *_numbers(MAN_DETECT, "--min-dv", ("-1", "1e9")),
    *_outputs(MAN_DETECT, "--plot", "iss.png"),
    (MAN_DETECT + ["-f", "xml"], "--format 'xml': use one of"),
    # ---------------------------------------------------------------- maneuvers evaluate
    *_inputs(_drop(MAN_EVAL, "--file"), "--file"),
    (_drop(MAN_EVAL, "--file") + ["--file", "{two_objects}"], "one object"),
    *_inputs(_drop(MAN_EVAL, "--truth"), "--truth"),
    (MAN_EVAL, "no orbital maneuvers"),
    *_numbers(MAN_EVAL, "--tolerance-days", ("0", "-1", "3", "1e9")),
    *_outputs(MAN_EVAL, "--plot", "eval.png"),
    (MAN_EVAL + ["-f", "xml"], "--format 'xml': use one of"),
    # ---------------------------------------------------------------- proximity watch
    (_drop(PROX, "--assets") + ["--assets", "99999"], "not in the catalog"),
    (_drop(PROX, "--assets") + ["--assets", "63205,99999"], "1 of 2"),
    (_drop(PROX, "--assets") + ["--assets", "owner:ATLANTIS"], "names no object"),
    (_drop(PROX, "--assets") + ["--assets", "abc"], "not a catalog number"),
    (_drop(PROX, "--assets") + ["--assets", "{binary}"], "text file"),
    *_times(_drop(PROX, "--start"), "--start"),
    *_numbers(PROX, "--days", ("0", "-1", "1e9")),
    *_numbers(PROX, "--range-km", ("0", "-5", "1e12")),
    *_numbers(PROX, "--step-s", ("0", "-1", "1e9")),
    (PROX + ["--days", "300", "--step-s", "1"], "steps"),
    (PROX + ["-f", "xml"], "--format 'xml': use one of"),
    (_drop(PROX, "--db") + ["--db", "{tmp}/typo.db"], "no database"),
    # ---------------------------------------------------------------- serve
    *_inputs(_drop(SERVE, "--partners"), "--partners"),
    (_drop(SERVE, "--partners") + ["--partners", "{tls_missing_cfg}"], "JPN.crt.pem"),
    *[(_drop(SERVE, "--partners") + ["--partners", cfg], fragment) for cfg, fragment in BROKEN_TLS],
    (_drop(SERVE, "--partners") + ["--partners", "{feed_cfg}"], "feed.max_streams_per_caller: must be"),
    (_drop(SERVE, "--partners") + ["--partners", "{bad_yaml}"], "--partners"),
    (
        _drop(SERVE, "--partners") + ["--partners", "{small_order_key_cfg}"],
        "public_key: not a usable Ed25519",
    ),
    (
        _drop(SERVE, "--partners") + ["--partners", "{payload}"],
        "--partners {payload}: invalid node configuration",
    ),
    (_drop(SERVE, "--keys") + ["--keys", "{tmp}/no/keys"], "no such directory"),
    (_drop(SERVE, "--keys") + ["--keys", "{adir}"], "--keys"),
    (SERVE + ["--node-id", "USA"], "configures JPN"),
    (SERVE + ["--node-id", "../etc"], "--node-id"),
    (SERVE + ["--host", ""], "--host"),
    (SERVE + ["--port", "0"], "--port"),
    (SERVE + ["--port", "-1"], "--port"),
    (SERVE + ["--port", "65536"], "--port"),
    *_numbers(SERVE, "--sync-interval-s", ("-1", "1e9")),
    # ---------------------------------------------------------------- node keygen
    (KEYGEN + ["--node-id", "../evil"], "--node-id"),
    (KEYGEN + ["--node-id", ""], "--node-id"),
    (KEYGEN + ["--node-id", "a/b"], "--node-id"),
    (["node", "keygen", "--node-id", "JPN", "--keys", "{existing}"], "not a directory"),
    (["node", "keygen", "--node-id", "JPN", "--keys", "{tmp}/no/such/keys"], "does not exist"),
    (["node", "keygen", "--node-id", "JPN", "--keys", "{keys}"], "--force"),
    (["node", "keygen", "--node-id", "JPN", "--keys", "{ro_dir}/keys"], "not writable"),
    # ---------------------------------------------------------------- node sync
    (SYNC + ["--partner", "ATLANTIS"], "unknown partner"),
    (SYNC + ["--partner", "../x"], "--partner"),
    (SYNC + ["-f", "xml"], "--format 'xml': use one of"),
    *_inputs(_drop(SYNC, "--partners"), "--partners"),
    (_drop(SYNC, "--partners") + ["--partners", "{tls_missing_cfg}"], "JPN.crt.pem"),
    *[(_drop(SYNC, "--partners") + ["--partners", cfg], fragment) for cfg, fragment in BROKEN_TLS],
    (_drop(SYNC, "--keys") + ["--keys", "{tmp}/no/keys"], "no such directory"),
    (_drop(SYNC, "--partners") + ["--partners", "{small_order_key_cfg}"], "public_key: not a usable Ed25519"),
    # ---------------------------------------------------------------- audit witnesses
    (_drop(WITNESSES, "--db") + ["--db", "{tmp}/typo.db"], "no database"),
    (WITNESSES + ["-f", "xml"], "--format 'xml': use one of"),
    *_inputs(_drop(WITNESSES, "--partners"), "--partners"),
    (_drop(WITNESSES, "--partners") + ["--partners", "{tls_missing_cfg}"], "JPN.crt.pem"),
    (_drop(WITNESSES, "--keys") + ["--keys", "{empty_dir}"], "--keys"),
    # ---------------------------------------------------------------- audit verify
    (["audit", "verify", "--db", "{tmp}/typo.db"], "typo.db"),
    (VERIFY + ["-f", "csv"], "--format 'csv': use one of"),
    # ---------------------------------------------------------------- product publish
    (_drop(PUBLISH, "--type") + ["--type", "gossip"], "--type 'gossip': use one of"),
    (_drop(PUBLISH, "--marking") + ["--marking", ""], "--marking: empty banner"),
    *_inputs(_drop(PUBLISH, "--payload"), "--payload"),
    (_drop(PUBLISH, "--payload") + ["--payload", "{bad_json}"], "not JSON"),
    (_drop(PUBLISH, "--payload") + ["--payload", "{list_json}"], "JSON object"),
    (PUBLISH + ["--object", "0"], "--object"),
    (PUBLISH + ["--object", "-5"], "--object"),
    (PUBLISH + ["--object", "10000000000"], "--object"),
    (PUBLISH + ["--actor", ""], "--actor"),
    *_inputs(_drop(PUBLISH, "--partners"), "--partners"),
    # ---------------------------------------------------------------- product verify
    (PRODUCT_VERIFY, "no-such-product"),
    (["product", "verify", "{tmp}/missing.json", *NODE, "--db", "{node_db}"], "missing.json"),
    (["product", "verify", "{bad_json}", *NODE, "--db", "{node_db}"], "bad"),
    (PRODUCT_VERIFY + ["--version", "0"], "--version"),
    (PRODUCT_VERIFY + ["--version", "-3"], "--version"),
    (PRODUCT_VERIFY + ["-f", "xml"], "--format 'xml'"),
    (_drop(PRODUCT_VERIFY, "--db") + ["--db", "{tmp}/typo.db"], "typo.db"),
    *_inputs(_drop(PRODUCT_VERIFY, "--partners"), "--partners"),
    # ---------------------------------------------------------------- node status
    (STATUS + ["-f", "xml"], "--format 'xml'"),
    (_drop(STATUS, "--db") + ["--db", "{tmp}/typo.db"], "typo.db"),
    *_inputs(_drop(STATUS, "--partners"), "--partners"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """Small real inputs: an AIS store, a catalog store (bundled sample + ISS 2023), a SAR scene and
    its detections, a two-node coalition (and one whose TLS certificate is missing), a node database."""
    from kizuna.demo import sample_files
    from kizuna.formats.sar import write_scene_geotiff
    from kizuna.maritime.scene import ShipTruth, synthetic_scene
    from kizuna.share.loopback import write_coalition
    from kizuna.share.node import Node
    from kizuna.store import CatalogStore
    from kizuna.store.ais_store import AisStore
    from kizuna.store.ingest import load_files

    tmp = tmp_path_factory.mktemp("hostile")
    f = {"tmp": tmp, "iss": ISS_2023}
    f["nmea"] = tmp / "meet.nmea"
    f["nmea"].write_text(_meeting_nmea(180))
    f["ais_db"] = tmp / "ais.db"
    store = CatalogStore(str(f["ais_db"]))
    AisStore(store).load_file(f["nmea"])
    store.close()
    f["cat_db"] = tmp / "cat.db"
    store = CatalogStore(str(f["cat_db"]))
    load_files(store, [*sample_files(), ISS_2023])
    store.close()
    f["tif"] = tmp / "scene.tif"
    write_scene_geotiff(
        f["tif"], synthetic_scene((64, 64), ships=[ShipTruth(35.0, 139.8, 100.0, 20.0, 30.0)], seed=1)
    )
    f["dets"] = tmp / "dets.geojson"
    f["dets"].write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    f["no_dets"] = tmp / "no_dets.csv"
    f["no_dets"].write_text("these,are,not\ndetections,at,all\n")
    f["truth"] = tmp / "empty_log.txt"
    f["truth"].write_text("no maneuvers logged here\n")
    sample_3le = next(p for p in sample_files() if p.suffix == ".3le")
    f["two_objects"] = tmp / "two.3le"
    f["two_objects"].write_text("\n".join(sample_3le.read_text().splitlines()[:6]) + "\n")
    f["binary"] = tmp / "binary.dat"
    f["binary"].write_bytes(bytes(range(256)) * 8)
    f["existing"] = tmp / "existing.txt"
    f["existing"].write_text("already here\n")
    f["adir"] = tmp / "adir"
    f["adir"].mkdir()
    (f["adir"] / "content").write_text("x")
    f["empty_dir"] = tmp / "empty_dir"
    f["empty_dir"].mkdir()
    f["ro_dir"] = tmp / "ro_dir"
    f["ro_dir"].mkdir()
    f["ro_dir"].chmod(0o500)
    f["payload"] = tmp / "payload.json"
    f["payload"].write_text(json.dumps({"miss_km": 0.2}))
    f["bad_json"] = tmp / "bad.json"
    f["bad_json"].write_text('{"miss_km": ')
    f["list_json"] = tmp / "list.json"
    f["list_json"].write_text("[1, 2]")
    f["bad_yaml"] = tmp / "bad.yaml"
    f["bad_yaml"].write_text("node: [unclosed\n")
    cfgs = write_coalition(tmp / "coalition", {"JPN": 1, "USA": 2})
    f["cfg"], f["keys"] = cfgs["JPN"], tmp / "coalition" / "keys"
    tls_cfgs = write_coalition(tmp / "tls", {"JPN": 1, "USA": 2}, tls=True)
    doc = yaml.safe_load(tls_cfgs["JPN"].read_text())
    (tmp / "tls" / doc["tls"]["cert"]).unlink()
    f["tls_missing_cfg"] = tls_cfgs["JPN"]
    (tmp / "tls" / "tls" / "garbage.pem").write_text("not a certificate, not a key\n")
    (tmp / "tls" / "tls" / "a_dir").mkdir()

    def tls_variant(name: str, **files: str) -> Path:
        path = tmp / "tls" / f"{name}.yaml"
        path.write_text(yaml.safe_dump({**doc, "tls": {**doc["tls"], **files}}, sort_keys=False))
        return path

    usa_cert, usa_key = "tls/USA.crt.pem", "tls/USA.tls.key.pem"
    f["tls_garbage_cert_cfg"] = tls_variant("garbage_cert", cert="tls/garbage.pem")
    f["tls_garbage_key_cfg"] = tls_variant("garbage_key", cert=usa_cert, key="tls/garbage.pem")
    f["tls_garbage_ca_cfg"] = tls_variant("garbage_ca", ca="tls/garbage.pem", cert=usa_cert, key=usa_key)
    f["tls_wrong_key_cfg"] = tls_variant("wrong_key", cert=usa_cert)  # JPN's key with USA's certificate
    f["tls_dir_cert_cfg"] = tls_variant("dir_cert", cert="tls/a_dir")
    f["feed_cfg"] = tmp / "coalition" / "feed.yaml"
    feed_doc = yaml.safe_load(cfgs["JPN"].read_text())
    f["feed_cfg"].write_text(yaml.safe_dump({**feed_doc, "feed": {"max_streams_per_caller": 0}}))
    # A partner key of small order (the identity point): OpenSSL would accept one fixed signature for
    # every message under it; the node refuses the configuration.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    identity = Ed25519PublicKey.from_public_bytes(b"\x01" + b"\x00" * 31).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    small = {**feed_doc, "partners": [{**feed_doc["partners"][0], "public_key": identity.decode()}]}
    f["small_order_key_cfg"] = tmp / "coalition" / "small_order_key.yaml"
    f["small_order_key_cfg"].write_text(yaml.safe_dump(small, sort_keys=False))
    f["node_db"] = tmp / "JPN.db"
    node = Node.open(str(f["node_db"]), f["cfg"], f["keys"])
    node.catalog.close()
    return {k: str(v) for k, v in f.items()}


@pytest.fixture(autouse=True)
def no_server(monkeypatch):
    """A refused `serve` never gets here; if one did, fail instead of listening forever."""
    import uvicorn

    def started(*args: object, **kwargs: object) -> None:
        raise AssertionError("serve started a server on a hostile value")

    monkeypatch.setattr(uvicorn, "run", started)


def _id(row: tuple[list[str], str]) -> str:
    return " ".join(a.replace("{", "").replace("}", "") for a in row[0])[:90]


@pytest.mark.parametrize("row", ROWS, ids=[_id(r) for r in ROWS])
def test_hostile_value_is_refused_in_one_line(row, files):
    args, fragment = row
    if "{ro_dir}" in " ".join(args) and os.geteuid() == 0:
        pytest.skip("permission bits do not bind root")
    refused([a.format(**files) for a in args], contains=fragment.format(**files))


def test_every_command_has_rows():
    commands = {" ".join(a for a in args[:2] if not a.startswith(("-", "{"))) for args, _ in ROWS}
    assert commands >= {
        "ais load",
        "ais events",
        "sar detect",
        "sar scene",
        "dark",
        "maneuvers detect",
        "maneuvers evaluate",
        "proximity watch",
        "serve",
        "node keygen",
        "node sync",
        "audit witnesses",
        "audit verify",
        "product publish",
        "product verify",
        "node status",
    }


def test_read_only_commands_do_not_create_the_database(files):
    """`audit verify --db typo.db` used to create the file and report a verified empty chain."""
    typo = Path(files["tmp"]) / "typo.db"
    for args in (
        ["audit", "verify", "--db", str(typo)],
        ["ais", "events", "--db", str(typo)],
        ["maneuvers", "detect", "--norad", "25544", "--db", str(typo)],
    ):
        refused(args, contains=str(typo))
        assert not typo.exists(), args


def test_strict_load_exits_2_when_a_line_was_rejected(files, tmp_path):
    bad = tmp_path / "bad.nmea"
    bad.write_text(Path(files["nmea"]).read_text() + "!AIVDM,1,1,,B,garbage,0*00\n")
    db = str(tmp_path / "s.db")
    lax = invoke(["ais", "load", str(bad), "--db", db])
    assert lax.exit_code == 0 and json.loads(lax.stdout)["issues"] == 1
    strict = invoke(["ais", "load", str(bad), "--db", db, "--strict"])
    assert strict.exit_code == 2 and json.loads(strict.stdout)["issues"] == 1


def test_json_outputs_carry_parameters_and_counts(files):
    window = ["--start", "2023-01-01", "--stop", "2023-06-30"]
    r = invoke(["maneuvers", "detect", "--file", files["iss"], *window, "-f", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["parameters"]["start_utc"] == "2023-01-01T00:00:00Z" and doc["parameters"]["min_dv_mps"] == 0.0
    assert doc["shown"] == doc["total"] == len(doc["maneuvers"]) > 0
    r = invoke(["ais", "events", "--db", files["ais_db"], "--no-shore", "--type", "encounter", "-f", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["parameters"]["types"] == ["encounter"] and doc["parameters"]["positions"] == doc["positions"]
    r = invoke(["ais", "events", "--db", files["ais_db"], "--no-shore", "-f", "csv"])
    assert r.exit_code == 0 and r.stdout.splitlines()[0].startswith("type,mmsi,other_mmsi,start_utc")


def _piped(args: list[str], tmp_path: Path) -> str:
    """Run `python -m kizuna ARGS > file` and return the file's text."""
    out = tmp_path / "out.txt"
    with out.open("w") as fh:
        proc = subprocess.run(
            [sys.executable, "-m", "kizuna", *args], stdout=fh, stderr=subprocess.PIPE, text=True, timeout=300
        )
    assert proc.returncode == 0, proc.stderr
    return out.read_text()


def test_tables_piped_to_a_file_print_complete_numbers(files, tmp_path):
    text = _piped(
        ["maneuvers", "detect", "--file", files["iss"], "--start", "2023-01-01", "--stop", "2023-06-30"],
        tmp_path,
    )
    complete_numbers(text)
    rows = [ln for ln in text.splitlines() if "25544" in ln]
    # every row is one line: NORAD id, best time to the second and both window ends together
    assert rows and all(ln.count("2023-") >= 3 for ln in rows), rows
    text = _piped(["ais", "events", "--db", files["ais_db"], "--no-shore", "--type", "encounter"], tmp_path)
    complete_numbers(text)
    assert any("encounter" in ln and "111111111" in ln and "222222222" in ln for ln in text.splitlines()), (
        text
    )
