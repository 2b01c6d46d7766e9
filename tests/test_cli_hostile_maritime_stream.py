"""Hostile values for every option of `kizuna ais stream`.

Each row is a command line (valid except for one option or the SOURCE) and a fragment the one-line
refusal must contain: exit 2, one `error:` line, no traceback, nothing on stdout
(tests/cli_harness.refused). A refused stream never opens its feed: a guard below fails the test if
a socket is connected or bound. Placeholders in braces are files made once per module.
"""

from __future__ import annotations

import socket

import pytest
from tests.cli_harness import refused

STREAM = ["ais", "stream", "{feed}", "--db", "{tmp}/s.db", "--no-shore", "--once"]
NODE = ["--partners", "{cfg}", "--keys", "{keys}"]
NOT_FINITE = ("nan", "inf", "-inf")


def _numbers(option: str, values: tuple[str, ...]) -> list:
    rows = [(STREAM + [option, v], f"{option} {v}: must be a finite number") for v in NOT_FINITE]
    rows += [(STREAM + [option, v], f"{option} {float(v):g}: must be") for v in values]
    return rows


def _counts(option: str, values: tuple[str, ...]) -> list:
    return [(STREAM + [option, v], f"{option} {v}: must be at least") for v in values]


def _source(value: str) -> list[str]:
    return ["ais", "stream", value, "--db", "{tmp}/s.db", "--no-shore"]


ROWS: list[tuple[list[str], str]] = [
    # ---------------------------------------------------------------- SOURCE
    (_source("http://127.0.0.1:80"), "SOURCE 'http://127.0.0.1:80': unknown scheme 'http'"),
    (_source("ftp://host:21"), "unknown scheme"),
    (_source("tcp://127.0.0.1:0"), "port 0 is outside 1-65535"),
    (_source("tcp://127.0.0.1:65536"), "port 65536 is outside 1-65535"),
    (_source("udp://127.0.0.1:99999999"), "is outside 1-65535"),
    (_source("tcp://127.0.0.1:-1"), "port '-1' is not a number"),
    (_source("tcp://127.0.0.1:abc"), "port 'abc' is not a number"),
    (_source("tcp://127.0.0.1"), "wants tcp://HOST:PORT"),
    (_source("udp://:10110"), "wants udp://HOST:PORT"),
    (_source("tcp://bad host:10110"), "is not a host name"),
    (_source(""), "SOURCE empty source"),
    (_source("file:"), "file: needs a path"),
    (_source("{adir}"), "SOURCE {adir}: is a directory"),
    (_source("file:{adir}"), "SOURCE {adir}: is a directory"),
    (_source("{tmp}/missing.nmea") + ["--once"], "SOURCE {tmp}/missing.nmea: no such file"),
    # ---------------------------------------------------------------- --db
    (["ais", "stream", "{feed}", "--db", "{existing}/x.db", "--once"], "--db {existing}/x.db"),
    # ---------------------------------------------------------------- events and memory
    (STREAM + ["--type", "piracy"], "--type 'piracy': use one of"),
    *_numbers("--flush-s", ("0", "-1", "1e9")),
    *_counts("--flush-messages", ("0", "-5", "1000000000")),
    *_counts("--max-vessels", ("0", "-1", "1000000000")),
    *_numbers("--window-h", ("0", "-2", "1e6")),
    *_counts("--max-points", ("1", "0", "-3", "1000000000")),
    # ---------------------------------------------------------------- alert rules
    (STREAM + ["--aoi", "1,2,3"], "--aoi '1,2,3': wants W,S,E,N"),
    (STREAM + ["--aoi", "a,b,c,d"], "--aoi 'a,b,c,d': wants W,S,E,N"),
    (STREAM + ["--aoi", "nan,0,1,1"], "--aoi 'nan,0,1,1': every value must be a finite number"),
    (STREAM + ["--aoi", "0,10,1,5"], "S < N"),
    (STREAM + ["--aoi", "-200,0,1,1"], "S < N"),
    (STREAM + ["--aoi", "139,29,141,31", "--aoi", "0,0,1"], "--aoi '0,0,1'"),
    *_numbers("--dark-after-h", ("0", "-1", "1e6")),
    *_numbers("--dark-min-shore-nm", ("-1", "1000")),
    (
        STREAM + ["--sanctioned-ports", "{tmp}/missing.csv"],
        "--sanctioned-ports {tmp}/missing.csv: no such file",
    ),
    (STREAM + ["--sanctioned-ports", "{adir}"], "--sanctioned-ports {adir}: is a directory"),
    (STREAM + ["--sanctioned-ports", "{ports_no_lat}"], "{ports_no_lat}:1: header: no latitude column"),
    (STREAM + ["--sanctioned-ports", "{ports_bad_value}"], "{ports_bad_value}:4: lat/lon: not a number"),
    (
        STREAM + ["--sanctioned-ports", "{ports_off_earth}"],
        "{ports_off_earth}:2: lat/lon: impossible position",
    ),
    (STREAM + ["--sanctioned-ports", "{ports_empty}"], "no ports listed"),
    (STREAM + ["--sanctioned-ports", "{binary}"], "--sanctioned-ports"),
    *_numbers("--port-radius-km", ("0", "-10", "1e6")),
    # ---------------------------------------------------------------- publishing
    (STREAM + ["--partners", "{cfg}"], "--partners and --keys go together"),
    (STREAM + ["--keys", "{keys}"], "--partners and --keys go together"),
    (
        STREAM + ["--partners", "{tmp}/missing.yaml", "--keys", "{keys}"],
        "--partners {tmp}/missing.yaml: no such",
    ),
    (STREAM + ["--partners", "{adir}", "--keys", "{keys}"], "--partners {adir}: is a directory"),
    (STREAM + ["--partners", "{existing}", "--keys", "{keys}"], "--partners {existing}"),
    (STREAM + ["--partners", "{cfg}", "--keys", "{tmp}/nokeys"], "--keys {tmp}/nokeys: no such directory"),
    (STREAM + ["--partners", "{cfg}", "--keys", "{adir}"], "--keys {adir}/JPN.key.pem: no such file"),
    (STREAM + NODE + ["--marking", "PRETTY SECRET"], "--marking 'PRETTY SECRET'"),
    (STREAM + NODE + ["--marking", ""], "--marking ''"),
    (STREAM + NODE + ["--marking", "SECRET//REL TO"], "--marking 'SECRET//REL TO'"),
    (STREAM + ["--marking", "NOT A LEVEL"], "--marking 'NOT A LEVEL'"),
    # ---------------------------------------------------------------- events log
    (STREAM + ["--events", "{adir}"], "--events {adir}: is a directory"),
    (STREAM + ["--events", "{tmp}/no/such/dir/e.jsonl"], "does not exist"),
    (STREAM + ["--events", "{existing}"], "{existing}:1: line: not JSON"),
    (STREAM + ["--events", "{binary}"], "--events"),
    # ---------------------------------------------------------------- loop
    *_numbers("--idle-exit-s", ("-1", "1e12")),
    *_numbers("--retry-max-s", ("0", "-1", "1e9")),
    (STREAM + ["--max-retries", "-1"], "--max-retries -1: must be at least 0"),
    *_numbers("--status-s", ("0", "-1", "1e9")),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    from tests.test_maritime_stream import scenario_nmea

    from kizuna.share.loopback import free_port, write_coalition

    tmp = tmp_path_factory.mktemp("stream_hostile")
    (tmp / "feed.nmea").write_text(scenario_nmea())
    (tmp / "a_dir").mkdir()
    (tmp / "existing.txt").write_text("already here\n")
    (tmp / "binary.bin").write_bytes(b"\x00\x01\xff" * 100)
    (tmp / "no_lat.csv").write_text("name,lon\nA,1\n")
    (tmp / "bad_value.csv").write_text("# a note\nname,lat,lon\nA,1,2\nB,north,2\n")
    (tmp / "off_earth.csv").write_text("name,lat,lon\nA,91,2\n")
    (tmp / "empty_ports.csv").write_text("name,lat,lon\n")
    cfgs = write_coalition(tmp / "coalition", {"JPN": free_port(), "USA": free_port()})
    return {
        "tmp": str(tmp),
        "feed": str(tmp / "feed.nmea"),
        "adir": str(tmp / "a_dir"),
        "existing": str(tmp / "existing.txt"),
        "binary": str(tmp / "binary.bin"),
        "ports_no_lat": str(tmp / "no_lat.csv"),
        "ports_bad_value": str(tmp / "bad_value.csv"),
        "ports_off_earth": str(tmp / "off_earth.csv"),
        "ports_empty": str(tmp / "empty_ports.csv"),
        "cfg": str(cfgs["JPN"]),
        "keys": str(tmp / "coalition" / "keys"),
    }


@pytest.fixture(autouse=True)
def no_feed(monkeypatch):
    """A refused stream never reaches its source; if one did, fail instead of connecting."""

    def opened(*args: object, **kwargs: object) -> None:
        raise AssertionError("stream opened its source on a hostile value")

    monkeypatch.setattr(socket, "create_connection", opened)
    monkeypatch.setattr("kizuna.ops.ais_stream.AisStream.run", opened)


def _id(row: tuple[list[str], str]) -> str:
    return " ".join(a.replace("{", "").replace("}", "") for a in row[0][2:])[:90]


@pytest.mark.parametrize("row", ROWS, ids=[_id(r) for r in ROWS])
def test_hostile_value_is_refused_in_one_line(row, files):
    args, fragment = row
    refused([a.format(**files) for a in args], contains=fragment.format(**files))


def test_every_option_has_a_row():
    """Each option of the command (from its own signature) appears in at least one row."""
    import click
    import typer.main

    from kizuna.cli import app

    group = typer.main.get_command(app)
    ctx = click.Context(group)
    cmd = group.get_command(ctx, "ais").get_command(ctx, "stream")  # type: ignore[union-attr]
    options = {o for p in cmd.params for o in p.opts if o.startswith("--")}
    covered = {a for args, _ in ROWS for a in args if a.startswith("--")}
    # flags take no value: nothing hostile to give them
    flags = {"--no-shore", "--once", "--arrival-time", "--help"}
    assert options - flags <= covered, sorted(options - flags - covered)
