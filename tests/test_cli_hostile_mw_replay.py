"""Hostile values for every option of `kizuna mw replay`: each row is a command line (valid except
for one option) and a fragment the one-line refusal must contain; every row ends in exit 2, one
`error:` line, no traceback and nothing on stdout (tests/cli_harness.refused), and nothing is
published (the options are checked before the node flies or publishes anything)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.cli_harness import MALFORMED_TIMES, refused

BASE = ["mw", "replay", "--partners", "{cfg}", "--keys", "{keys}", "--db", "{node_db}"]
BASE += ["--threat-class", "SRBM", "--launch", "39.0,125.7", "--target", "37.5,127.0"]
BAD_NUMBERS = ("nan", "inf", "-inf")


def _drop(args: list[str], option: str) -> list[str]:
    i = args.index(option)
    return args[:i] + args[i + 2 :]


def _numbers(option: str, values: tuple[str, ...]) -> list[tuple[list[str], str]]:
    rows = [(BASE + [option, v], f"{option} {v}: must be a finite number") for v in BAD_NUMBERS]
    rows += [(BASE + [option, v], f"{option} {float(v):g}: must be") for v in values]
    rows.append((BASE + [option, "abc"], option))
    return rows


def _latlon(option: str) -> list[tuple[list[str], str]]:
    base = _drop(BASE, option)
    return [
        (base + [option, "39.0"], f"{option} '39.0': wants LAT,LON"),
        (base + [option, "a,b"], f"{option} 'a,b': wants LAT,LON"),
        (base + [option, "1,2,3"], f"{option} '1,2,3': wants LAT,LON"),
        (base + [option, "nan,125"], "must be finite"),
        (base + [option, "39,inf"], "must be finite"),
        (base + [option, "91,125"], "LAT within -90..90"),
        (base + [option, "39,-200"], "LON within"),
        (base + [option, ""], f"{option} '': wants LAT,LON"),
    ]


ROWS: list[tuple[list[str], str]] = [
    # the node: config, keys, database, identity
    (
        _drop(BASE, "--partners") + ["--partners", "{tmp}/missing.yaml"],
        "--partners {tmp}/missing.yaml: no such file",
    ),
    (_drop(BASE, "--partners") + ["--partners", "{adir}"], "--partners {adir}: is a directory"),
    (_drop(BASE, "--partners") + ["--partners", "{bad_yaml}"], "not YAML"),
    (_drop(BASE, "--keys") + ["--keys", "{tmp}/nokeys"], "--keys {tmp}/nokeys: no such directory"),
    (_drop(BASE, "--keys") + ["--keys", "{adir}"], "--keys"),
    (_drop(BASE, "--db") + ["--db", "{existing}/x.db"], "cannot create database"),
    (BASE + ["--node-id", "USA"], "--node-id USA but"),
    (BASE + ["--node-id", "../etc"], "--node-id"),
    # the flight
    (BASE + ["--threat-class", "HGV"], "--threat-class 'HGV': use one of"),
    (BASE + ["--threat-class", "srbm"], "--threat-class 'srbm': use one of"),
    (BASE + ["--profile", "sideways"], "--profile 'sideways': use one of"),
    *[
        (BASE + ["--profile", "lofted", "--apogee-km", v], f"--apogee-km {v}: must be a finite number")
        for v in BAD_NUMBERS
    ],
    (BASE + ["--profile", "lofted", "--apogee-km", "0"], "--apogee-km 0: must be greater than"),
    (BASE + ["--profile", "lofted", "--apogee-km", "-5"], "--apogee-km -5: must be greater than"),
    (BASE + ["--profile", "lofted", "--apogee-km", "1e6"], "--apogee-km 1e+06: must be at most"),
    (BASE + ["--apogee-km", "500"], "--apogee-km: a minimum-energy shot"),
    *_latlon("--launch"),
    *_latlon("--target"),
    (_drop(BASE, "--target") + ["--target", "-33.9,151.2"], "--target -33.9,151.2"),  # beyond an SRBM's reach
    *[(BASE + ["--launch-utc", t], "--launch-utc") for t in MALFORMED_TIMES],
    # the products
    (BASE + ["--marking", ""], "--marking: empty banner"),
    (BASE + ["--marking", "  "], "--marking: empty banner"),
    (BASE + ["--marking", "SECRETISH//REL TO USA"], "--marking 'SECRETISH//REL TO USA'"),
    (BASE + ["--marking", "SECRET//REL TO ATLANTIS"], "--marking 'SECRET//REL TO ATLANTIS'"),
    *_numbers("--track-interval-s", ("0", "-1", "0.5", "601", "1e300")),
    *_numbers("--frame-s", ("0", "-1", "0.01", "61")),
    (
        BASE + ["--frame-s", "20", "--track-interval-s", "10"],
        "--frame-s 20: must be at most --track-interval-s 10",
    ),
    *_numbers("--firm-ratio", ("0", "-0.5", "1", "2")),
    *_numbers("--first-ellipse-km", ("0", "-1", "1e9")),
    *_numbers("--sigma-urad", ("0", "-3", "1e9")),
    (BASE + ["--seed", "-1"], "--seed"),
    (BASE + ["--seed", str(2**40)], "--seed"),
    (BASE + ["--seed", "abc"], "--seed"),
    *_numbers("--speed", ("-1", "1e6")),
    (BASE + ["--actor", ""], "--actor: empty name"),
    (BASE + ["--actor", "   "], "--actor: empty name"),
    (BASE + ["-f", "xml"], "--format 'xml': use one of"),
    (BASE + ["--format", "kml"], "--format 'kml': use one of"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    from kizuna.share.loopback import write_coalition
    from kizuna.share.node import Node

    tmp = tmp_path_factory.mktemp("hostile_mw")
    f: dict[str, Path] = {"tmp": tmp}
    cfgs = write_coalition(tmp / "coalition", {"JPN": 1, "USA": 2})
    f["cfg"], f["keys"] = cfgs["JPN"], tmp / "coalition" / "keys"
    f["node_db"] = tmp / "JPN.db"
    node = Node.open(str(f["node_db"]), f["cfg"], f["keys"])
    node.catalog.close()
    f["adir"] = tmp / "adir"
    f["adir"].mkdir()
    f["existing"] = tmp / "existing.txt"
    f["existing"].write_text("already here\n")
    f["bad_yaml"] = tmp / "bad.yaml"
    f["bad_yaml"].write_text("node: [unclosed\n")
    return {k: str(v) for k, v in f.items()}


def _id(row: tuple[list[str], str]) -> str:
    return " ".join(a.replace("{", "").replace("}", "") for a in row[0][len(BASE) - 6 :])[:90]


@pytest.mark.parametrize("row", ROWS, ids=[_id(r) for r in ROWS])
def test_hostile_value_is_refused_in_one_line(row, files):
    from kizuna.share.node import Node

    args, fragment = row
    if "{ro_dir}" in " ".join(args) and os.geteuid() == 0:
        pytest.skip("permission bits do not bind root")
    refused([a.format(**files) for a in args], contains=fragment.format(**files))
    node = Node.open(files["node_db"], Path(files["cfg"]), Path(files["keys"]))
    try:
        assert node.share.count() == 0, "a refused replay published something"
    finally:
        node.catalog.close()


def test_every_option_has_a_row():
    import inspect

    from kizuna.cli.mw_replay import replay

    names = {p.name for p in inspect.signature(replay).parameters.values()}
    flags = {
        "fmt": "--format",
        "node_id": "--node-id",
        "launch_utc": "--launch-utc",
        "threat_class": "--threat-class",
    }
    wanted = {flags.get(n, "--" + n.replace("_", "-")) for n in names}
    # an option is covered when a row's expected refusal names it (--db's names the database file)
    seen = {flag for flag in wanted if any(flag in fragment for _, fragment in ROWS)} | {"--db"}
    assert wanted <= seen, wanted - seen
