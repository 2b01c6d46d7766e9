"""Hostile values for every option of `kizuna ais vessels`, `ais identity-changes` and `ais sts`.

Each row is a command line (valid except for one option) and a fragment the one-line refusal must
contain: exit 2, one `error:` line, no traceback, nothing on stdout (tests/cli_harness.refused).
"""

from __future__ import annotations

import json

import pytest
from tests.cli_harness import MALFORMED_TIMES, invoke, refused
from tests.test_maritime_store_cli import _meeting_nmea

VESSELS = ["ais", "vessels", "--db", "{ais_db}"]
CHANGES = ["ais", "identity-changes", "--db", "{ais_db}"]
STS = ["ais", "sts", "--db", "{ais_db}"]
BAD_NUMBERS = ("nan", "inf", "-inf")


def _numbers(base: list[str], option: str, values: tuple[str, ...]) -> list:
    rows = [(base + [option, v], f"{option} {v}: must be a finite number") for v in BAD_NUMBERS]
    rows += [(base + [option, v], f"{option} {float(v):g}: must be") for v in values]
    rows.append((base + [option, "abc"], option))
    return rows


def _no_db(base: list[str]) -> list:
    return [(base[:2] + ["--db", "{tmp}/typo.db"], "no database")]


ROWS: list[tuple[list[str], str]] = [
    # ---------------------------------------------------------------- ais vessels
    (VESSELS + ["-f", "xml"], "--format 'xml': use one of"),
    (VESSELS + ["--format", ""], "--format '': use one of"),
    (VESSELS + ["--mmsi", "-1"], "--mmsi -1: must be 0..999999999"),
    (VESSELS + ["--mmsi", "1000000000"], "--mmsi 1000000000: must be"),
    (VESSELS + ["--mmsi", "99999999999999999999999"], "--mmsi"),
    (VESSELS + ["--mmsi", "abc"], "--mmsi"),
    (VESSELS + ["--mmsi", "1e5"], "--mmsi"),
    *_no_db(VESSELS),
    # ---------------------------------------------------------------- ais identity-changes
    (CHANGES + ["-f", "kml"], "--format 'kml': use one of"),
    *_no_db(CHANGES),
    # ---------------------------------------------------------------- ais sts
    (STS + ["-f", "geojson"], "--format 'geojson': use one of"),
    (STS + ["--pair", "piracy"], "--pair 'piracy': use one of"),
    (STS + ["--pair", "tanker"], "--pair 'tanker': use one of"),
    (STS + ["--pair", "tanker-tanker", "--pair", "fishing-tanker"], "--pair 'fishing-tanker'"),
    *_numbers(STS, "--sanctioned-radius-km", ("-1", "501", "1e309")),
    *_numbers(STS, "--min-shore-km", ("-0.5", "201", "1e9")),
    (STS + ["--sanctioned-ports", "{tmp}/missing.csv"], "--sanctioned-ports {tmp}/missing.csv: no such file"),
    (STS + ["--sanctioned-ports", "{adir}"], "--sanctioned-ports {adir}: is a directory"),
    (STS + ["--sanctioned-ports", "{binary}"], "--sanctioned-ports {binary}: not a UTF-8 text file"),
    (
        STS + ["--sanctioned-ports", "{ports_bad_lat}"],
        "--sanctioned-ports {ports_bad_lat}:3: lat_deg 95 outside",
    ),
    (STS + ["--sanctioned-ports", "{ports_no_lon}"], "missing column(s) lon_deg"),
    (STS + ["--sanctioned-ports", "{ports_text_lon}"], "{ports_text_lon}:2: lon_deg 'east' is not a number"),
    (STS + ["--sanctioned-ports", "{ports_empty}"], "no header line"),
    (STS + ["--bbox", "1,2,3"], "--bbox '1,2,3': wants W,S,E,N"),
    (STS + ["--bbox", "nan,0,1,1"], "finite"),
    (STS + ["--bbox", "0,10,1,5"], "S < N"),
    *[(STS + ["--start", t], "--start") for t in MALFORMED_TIMES],
    *[(STS + ["--stop", t], "--stop") for t in MALFORMED_TIMES],
    (STS + ["--start", "2026-03-02", "--stop", "2026-03-01"], "not after"),
    *_no_db(STS),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    from kizuna.store import CatalogStore
    from kizuna.store.ais_store import AisStore

    tmp = tmp_path_factory.mktemp("hostile_identity")
    f = {"tmp": tmp}
    f["nmea"] = tmp / "meet.nmea"
    f["nmea"].write_text(_meeting_nmea(180))
    f["ais_db"] = tmp / "ais.db"
    store = CatalogStore(str(f["ais_db"]))
    AisStore(store).load_file(f["nmea"])
    store.close()
    f["binary"] = tmp / "binary.dat"
    f["binary"].write_bytes(bytes(range(256)) * 8)
    f["adir"] = tmp / "adir"
    f["adir"].mkdir()
    for name, text in {
        "ports_bad_lat": "name,country,lat_deg,lon_deg\nA,XX,10,20\nB,XX,95,20\n",
        "ports_no_lon": "name,country,lat_deg\nA,XX,10\n",
        "ports_text_lon": "name,country,lat_deg,lon_deg\nA,XX,10,east\n",
        "ports_empty": "# only a comment\n\n",
    }.items():
        f[name] = tmp / f"{name}.csv"
        f[name].write_text(text)
    return {k: str(v) for k, v in f.items()}


def _id(row: tuple[list[str], str]) -> str:
    return " ".join(a.replace("{", "").replace("}", "") for a in row[0])[:90]


@pytest.mark.parametrize("row", ROWS, ids=[_id(r) for r in ROWS])
def test_hostile_value_is_refused_in_one_line(row, files):
    args, fragment = row
    refused([a.format(**files) for a in args], contains=fragment.format(**files))


def test_every_new_option_has_a_row():
    import re

    from kizuna.cli import app

    seen = {a for args, _ in ROWS for a in args if a.startswith("-")}
    for sub in ("vessels", "identity-changes", "sts"):
        r = invoke(["ais", sub, "--help"])
        options = set(re.findall(r"(--[a-z][a-z-]+)", r.stdout)) - {"--help"}
        assert options <= seen | {"--suspicious"}, (sub, options - seen)
    assert app is not None


def test_the_commands_work_on_the_same_store(files):
    """The rows above are refused for their option, not because the commands cannot run."""
    for base in (VESSELS, CHANGES, STS, VESSELS + ["--suspicious"], STS + ["--pair", "tanker-tanker"]):
        r = invoke([a.format(**files) for a in base] + ["-f", "json"])
        assert r.exit_code == 0, r.output
        json.loads(r.stdout)
    r = invoke([a.format(**files) for a in VESSELS] + ["-f", "json"])
    # the meeting file's two MMSIs are placeholders (111111111, 222222222): named, not dropped
    by = {v["mmsi"]: v for v in json.loads(r.stdout)["vessels"]}
    assert "placeholder:repeated_digit" in by[222222222]["mmsi_issues"]
