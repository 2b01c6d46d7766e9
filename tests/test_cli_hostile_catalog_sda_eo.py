"""Hostile values for every option of catalog, propagate, screen, cdm, eo and pnt commands.

One table: each row is a command line and a fragment the one-line refusal must contain. Each runs
through `cli_harness.refused`: exit 2, one `error:` line, no traceback, nothing on stdout. Path
placeholders ({db}, {aoi}, ...) are filled from a small catalog built once per module.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from tests.cli_harness import MALFORMED_TIMES, NOT_A_NUMBER, complete_numbers, invoke, refused
from tests.conftest import SAMPLE

from kizuna.demo import sample_files

SCREEN = ["screen", "--owner", "JPN", "--db", "{db}"]
PROPAGATE = ["propagate", "--norad", "25544", "--db", "{db}"]
PROPAGATE_WINDOW = ["--start", "2026-06-10T00:00:00", "--stop", "2026-06-10T01:00:00"]
REVISIT = ["eo", "revisit", "--constellation", "walker:12/3/1:575:42", "--aoi", "{aoi}", "--db", "{db}"]
ACCESS = ["eo", "access", "--constellation", "walker:12/3/1:575:42", "--point", "35.7,139.7", "--db", "{db}"]
WALKER = ["--constellation", "walker:12/3/1:575:42"]
ADD = ["eo", "design", "add", "d", "--db", "{db}"]
SEARCH = ["eo", "design", "search", "--point", "50.45,30.52", "--max-sats", "4", "--target-max-gap-min", "60"]
SEARCH_START = [*SEARCH, "--start", "2026-06-11T00:00:00Z"]
PLAN = ["eo", "plan", "--constellation", "walker:12/3/1:575:42", "--requests", "{req}", "--db", "{db}"]
START = ["--start", "2026-06-11T00:00:00Z"]
NO_DB = "/nonexistent/dir/k.db"
PNT_START = ["--start", "2026-07-10T00:00:00Z", "--hours", "1", "--step-s", "1800"]
PNT_POINT = ["--point", "35.68,139.77", *PNT_START]
PNT_COMPARE = ["pnt", "compare", "--nav", "{nav}", "--start", "2021-04-28T18:00:00Z"]
PNT_REGION = ["--region", "taiwan", "--grid-deg", "2", *PNT_START]
PNT_INTERFERENCE = ["pnt", "interference", "--ais", "{ais_csv}"]


# "abc" and "" are refused by typer's own conversion (already one line through the root group);
# the rows here are the values typer lets through: NaN, infinities and the given out-of-range ones.
FINITE_ONLY = tuple(v for v in NOT_A_NUMBER if v.lstrip("+-") in ("nan", "inf"))
# eo delivery and eo coverage: the base command lines
DELIVERY = ["eo", "delivery", *WALKER, "--point", "35.7,139.7", "--db", "{db}"]
COVERAGE = ["eo", "coverage", *WALKER, "--aoi", "{box}", "--db", "{db}"]


def _numbers(base: list[str], option: str, *extra: str) -> list[tuple[list[str], str]]:
    """Rows trying `option` with NaN, +-inf and the given out-of-range values."""
    return [([*base, f"{option}={v}"], option) for v in (*FINITE_ONLY, *extra)]


# --point LAT,LON[,NAME]: not numbers, not finite, out of range, wrong order, missing parts, empty name
POINTS_HOSTILE = ("", "35", "abc,139", "35,east", "nan,139", "35,inf", "91,0", "-90.5,0", "0,180.5")
POINTS_HOSTILE += ("139.7,35.7", "35,139,", "35,139, ", "1e999,0")


def _times(base: list[str], option: str) -> list[tuple[list[str], str]]:
    return [([*base, f"{option}={t}"], option) for t in MALFORMED_TIMES]


def _pnt_rows(command: str) -> list[tuple[list[str], str]]:
    """The options every pnt command shares, each with its hostile values."""
    base = ["pnt", command, "--point", "35.68,139.77"]
    start = ["--start", "2026-07-10T00:00:00Z"]
    return [
        *_times(base, "--start"),
        *_numbers([*base, *start], "--hours", "-1", "0", "1e9"),
        *_numbers([*base, *start], "--step-s", "0", "-1", "1e9"),
        *_numbers([*base, *start], "--max-pdop", "0", "-1", "1e9"),
        *[([*base, *start, "--min-satellites", v], "--min-satellites") for v in ("3", "-1", "100000")],
        *[
            (["pnt", command, *start, f"--point={v}"], "--point")
            for v in ("abc", "91,0", "0,181", "nan,0", "35,139,0", "")
        ],
        *[([*base, *start, f"--mask={v}"], "--mask") for v in ("-5", "90", "nan", "inf", "/no/mask.csv")],
        ([*base, *start, "--mask", "{bad_mask}"], "bad_mask.csv:3: elevation_deg"),
        ([*base, *start, "--mask", "{bin}"], "UTF-8"),
        ([*base, *start, "--mask", "{dir}"], "directory"),
        ([*base, *start, "--elements", "/no/elements.csv"], "--elements"),
        ([*base, *start, "--elements", "{bin}"], "--elements"),
        ([*base, *start, "--elements", "{dir}"], "--elements"),
        ([*base, *start, "--elements", "{leo}"], "no satellites"),
        ([*base, *start, "--nav", "/no/brdc.21n"], "--nav"),
        ([*base, *start, "--nav", "{bin}"], "--nav"),
        ([*base, *start, "--nav", "{file}"], "--nav"),
        ([*base, *start, "--nav", "{nav}", "--elements", "{leo}"], "not both"),
        ([*base, *start, "--shared-clock", "gps,qzs"], "--shared-clock"),
        ([*base, *start, "--hours", "2", "--step-s", "0.0001"], "time steps"),
        ([*base, "--start", "2262-04-11T00:00:00Z", "--hours", "100"], "supported range"),
        ([*base, *start, "-f", "xml"], "--format"),
    ]


HOSTILE: list[tuple[list[str], str]] = [
    # ------------------------------------------------------------ catalog load
    (["catalog", "load", "{file}", "--db", "{db}", "--max-errors", "-1"], "--max-errors"),
    (["catalog", "load", "{file}", "--db", "{db}", "--max-errors", "1e9"], "--max-errors"),
    (["catalog", "load", "{file}", "--db", "{db}", "--max-errors", "2000000"], "--max-errors"),
    (["catalog", "load", "/nonexistent/x.tle", "--db", "{db}"], "no such file"),
    (["catalog", "load", "{dir}", "--db", "{db}"], "directory"),
    (["catalog", "load", "{file}", "--db", NO_DB], f"--db {NO_DB}: cannot create database"),
    # ------------------------------------------------------------ catalog show
    (["catalog", "show", "99999", "--db", "{db}"], "not in the catalog"),
    (["catalog", "show", "abc", "--db", "{db}"], "norad"),
    (["catalog", "show", "25544", "--db", "{db}", "-f", "xml"], "--format"),
    (["catalog", "show", "25544", "--db", "{missing_db}"], "--db"),
    # ------------------------------------------------------------ catalog search
    (["catalog", "search", "--db", "{db}", "--limit", "-1"], "--limit"),
    (["catalog", "search", "--db", "{db}", "--limit", "1e9"], "--limit"),
    (["catalog", "search", "--db", "{db}", "--regime", "XEO"], "--regime"),
    (["catalog", "search", "--db", "{db}", "-f", "xml"], "--format"),
    (["catalog", "search", "--db", "{tle_db}", "--owner", "JPN"], "no SATCAT rows loaded"),
    (["catalog", "search", "--db", "{tle_db}", "--type", "PAYLOAD"], "no SATCAT rows loaded"),
    (["catalog", "search", "--db", "{missing_db}"], "--db"),
    # ------------------------------------------------------------ catalog export
    (["catalog", "export", "--db", "{db}", "--norad", "99999"], "99999"),
    (["catalog", "export", "--db", "{db}", "--norad", "99999", "-f", "satcat-csv"], "SATCAT"),
    (["catalog", "export", "--db", "{db}", "--norad", "abc"], "--norad"),
    (["catalog", "export", "--db", "{db}", "--norad", "-5"], "--norad"),
    (["catalog", "export", "--db", "{db}", "-f", "pdf"], "--format"),
    (["catalog", "export", "--db", "{missing_db}"], "--db"),
    # ------------------------------------------------------------ catalog publish
    (
        ["catalog", "publish", "--norad", "99999", "--partners", "{file}", "--keys", "{dir}", "--db", "{db}"],
        "99999",
    ),
    (
        ["catalog", "publish", "--norad", "x", "--partners", "{file}", "--keys", "{dir}", "--db", "{db}"],
        "--norad",
    ),
    (
        [
            "catalog",
            "publish",
            "--norad",
            "25544",
            "--partners",
            "/no/p.yaml",
            "--keys",
            "{dir}",
            "--db",
            "{db}",
        ],
        "--partners",
    ),
    (
        [
            "catalog",
            "publish",
            "--norad",
            "25544",
            "--partners",
            "{file}",
            "--keys",
            "{dir}",
            "--db",
            "{missing_db}",
        ],
        "--db",
    ),
    # ------------------------------------------------------------ propagate
    *_numbers([*PROPAGATE, *PROPAGATE_WINDOW], "--step-s", "0", "-1", "1e12"),
    *_times([*PROPAGATE, "--stop", "2026-06-10T01:00:00"], "--start"),
    *_times([*PROPAGATE, "--start", "2026-06-10T00:00:00"], "--stop"),
    ([*PROPAGATE, "--start", "2026-06-10T01:00:00", "--stop", "2026-06-10T00:00:00"], "not after"),
    ([*PROPAGATE, "--start", "2026-06-10T01:00:00Z", "--stop", "2026-06-10T09:00:00+09:00"], "not after"),
    ([*PROPAGATE, "--start", "2026-06-10", "--stop", "2126-06-10", "--step-s", "1"], "time steps"),
    ([*PROPAGATE, "--start", "1950-01-01", "--stop", "2199-01-01"], "longer than"),
    ([*PROPAGATE, *PROPAGATE_WINDOW, "-o", "/nonexistent/x.csv"], "--out"),
    ([*PROPAGATE, *PROPAGATE_WINDOW, "-o", "{file}"], "exists"),
    ([*PROPAGATE, *PROPAGATE_WINDOW, "-o", "{dir}"], "directory"),
    ([*PROPAGATE, *PROPAGATE_WINDOW, "--frame", "ecef"], "--frame"),
    ([*PROPAGATE, *PROPAGATE_WINDOW, "-f", "xml"], "--format"),
    (["propagate", "--norad", "99999", "--db", "{db}", *PROPAGATE_WINDOW], "no element sets"),
    (["propagate", "--norad", "abc", "--db", "{db}", *PROPAGATE_WINDOW], "--norad"),
    (["propagate", "--file", "/nonexistent/x.tle", *PROPAGATE_WINDOW], "--file"),
    (["propagate", "--file", "{dir}", *PROPAGATE_WINDOW], "--file"),
    (["propagate", *PROPAGATE_WINDOW], "--norad"),
    (["propagate", "--norad", "25544", "--db", "{missing_db}", *PROPAGATE_WINDOW], "--db"),
    # ------------------------------------------------------------ screen
    *_numbers(SCREEN, "--days", "-1", "0", "1e9"),
    *_numbers(SCREEN, "--step-s", "0", "-1", "1e9"),
    *_numbers(SCREEN, "--threshold-km", "-5", "0", "1e9"),
    *_numbers(SCREEN, "--stale-days", "-1", "0", "1e9"),
    *_times(SCREEN, "--start"),
    ([*SCREEN, "--start", "2199-12-01", "--days", "100"], "supported range"),
    ([*SCREEN, "--days", "365", "--step-s", "0.001"], "time steps"),
    *[
        ([*SCREEN, f"--rtn-km={v}"], "--rtn-km")
        for v in ("1,-1,1", "0,1,1", "nan,1,1", "1,2", "x", "1e9,1,1")
    ],
    *[
        ([*SCREEN, f"--sigma-rtn-km={v}"], "--sigma-rtn-km")
        for v in ("0.2,-1,0.2", "inf,1,1", "a,b,c", "1e9,1,1")
    ],
    ([*SCREEN, "--limit", "-1"], "--limit"),
    ([*SCREEN, "-f", "xml"], "--format"),
    ([*SCREEN, "-f", "cdm-kvn", "--out", "{file}"], "--out"),
    ([*SCREEN, "-f", "cdm-kvn", "--out", "/nonexistent/dir/cdms"], "--out"),
    ([*SCREEN, "-f", "cdm-kvn", "--out", "{dir}"], "not empty"),
    ([*SCREEN, "-f", "table", "--out", "{new_dir}"], "stdout"),
    ([*SCREEN, "-f", "json", "--out", "{new_dir}"], "stdout"),
    ([*SCREEN, "--hbr-table", "/nonexistent/hbr.csv"], "--hbr-table"),
    ([*SCREEN, "--scheduler", "nowhere"], "--scheduler"),
    ([*SCREEN, "--publish", "UNCLASSIFIED"], "--partners"),
    ([*SCREEN, "--publish", "U", "--partners", "/no/p.yaml", "--keys", "{dir}"], "--partners"),
    (["screen", "--assets", "99999", "--db", "{db}"], "99999"),
    (["screen", "--assets", "abc", "--db", "{db}"], "--assets"),
    (["screen", "--owner", "NOBODY", "--db", "{db}"], "NOBODY"),
    (["screen", "--all", "--owner", "JPN", "--db", "{db}"], "exactly one"),
    (["screen", "--db", "{db}"], "exactly one"),
    (["screen", "--owner", "JPN", "--db", NO_DB], f"--db {NO_DB}: cannot create database"),
    (["screen", "--owner", "JPN", "--db", "{empty_db}"], "empty"),
    # ------------------------------------------------------------ cdm show / assess
    (["cdm", "show", "{bin}"], "UTF-8"),
    (["cdm", "show", "/nonexistent/x.cdm"], "no such file"),
    (["cdm", "show", "{dir}"], "directory"),
    (["cdm", "show", "{bad_cdm}"], "ORIGINATOR"),
    (["cdm", "show", "{cdm}", "-f", "xml"], "--format"),
    (["cdm", "assess", "{cdm}", "--db", NO_DB], f"--db {NO_DB}: cannot create database"),
    (["cdm", "assess", "{bin}", "--no-store"], "UTF-8"),
    (["cdm", "assess", "{bad_cdm}", "--no-store"], "ORIGINATOR"),
    (["cdm", "assess", "{cdm}", "--no-store", "-f", "xml"], "--format"),
    *_numbers(["cdm", "assess", "{cdm}", "--no-store"], "--hbr-m", "-1", "0", "1e9"),
    # ------------------------------------------------------------ eo revisit
    *_numbers([*REVISIT, *START], "--days", "-1", "0", "1e9"),
    *_numbers([*REVISIT, *START], "--step-s", "0", "-1", "1e9"),
    *_numbers([*REVISIT, *START], "--spacing-km", "0", "-1", "1e9"),
    *_times(REVISIT, "--start"),
    ([*REVISIT, *START, "--step-s", "0.01"], "--step-s 0.01: must be at least 1"),
    ([*REVISIT, *START, "--plot", "/nonexistent/p.png"], "--plot"),
    ([*REVISIT, *START, "--plot", "{file}"], "exists"),
    ([*REVISIT, *START, "-f", "xml"], "--format"),
    ([*REVISIT, *START, "--sensor", "bogus"], "sensor"),
    (["eo", "revisit", "--constellation", "walker:12/3/1:575:42", "--aoi", "/no/aoi.json", *START], "--aoi"),
    (["eo", "revisit", "--constellation", "walker:12/3/1:575:42", "--aoi", "{bin}", *START], "--aoi"),
    (["eo", "revisit", "--constellation", "NO-SUCH-SAT", "--aoi", "{aoi}", "--db", "{db}", *START], "empty"),
    *_numbers([*REVISIT, *START], "--min-dwell-s", "-1", "1e9"),
    *_numbers([*REVISIT, *START], "--merge-gap-s", "-1", "1e9"),
    *_numbers([*REVISIT, *START], "--fresh-min", "-1", "0", "1e9"),
    *[([*REVISIT, *START, f"--point={v}"], "--point") for v in POINTS_HOSTILE],
    ([*REVISIT, *START, "--point", "35,139,Tokyo"], "already used"),
    (["eo", "revisit", *WALKER, *START, "--db", "{db}"], "--aoi/--point"),
    # ------------------------------------------------------------ eo access
    *_numbers([*ACCESS, *START], "--days", "-1", "0", "1e9"),
    *_numbers([*ACCESS, *START], "--step-s", "0", "-1", "1e9"),
    *_numbers([*ACCESS, *START], "--spacing-km", "0", "-1", "1e9"),
    *_numbers([*ACCESS, *START], "--min-dwell-s", "-1", "1e9"),
    *_numbers([*ACCESS, *START], "--merge-gap-s", "-1", "1e9"),
    *_times(ACCESS, "--start"),
    ([*ACCESS, *START, "--step-s", "0.5"], "--step-s 0.5: must be at least 1"),
    ([*ACCESS, *START, "-f", "kml"], "--format"),
    ([*ACCESS, *START, "--sensor", "sar:50-20"], "sensor"),
    ([*ACCESS, *START, "--sensor", "cone:0"], "cone"),
    *[(["eo", "access", *WALKER, *START, f"--point={v}", "--db", "{db}"], "--point") for v in POINTS_HOSTILE],
    (
        ["eo", "access", *WALKER, *START, "--point", "1,2,A", "--point", "3,4,A", "--db", "{db}"],
        "already used",
    ),
    (["eo", "access", *WALKER, *START, "--db", "{db}"], "--aoi/--point"),
    (["eo", "access", *WALKER, *START, "--aoi", "/no/aoi.json", "--db", "{db}"], "--aoi"),
    (["eo", "access", *WALKER, *START, "--aoi", "{bin}", "--db", "{db}"], "--aoi"),
    (["eo", "access", *WALKER, *START, "--aoi", "{file}", "--db", "{db}"], "not JSON"),
    (["eo", "access", "--constellation", "NO-SUCH-SAT", "--point", "1,2", "--db", "{db}", *START], "empty"),
    (["eo", "access", "--constellation", "walker:36/5/1:575:42", "--point", "1,2", *START], "multiple"),
    (["eo", "access", "--constellation", "walker:10000000/1/0:575:42", "--point", "1,2", *START], "50000"),
    (["eo", "access", "--constellation", "sso:0:575:10.5", "--point", "1,2", *START], "sso"),
    (["eo", "access", "--constellation", "sso:10000000:575:10.5", "--point", "1,2", *START], "sso"),
    (["eo", "access", "--constellation", "sso:1:20:10.5", "--point", "1,2", *START], "sso altitude"),
    (["eo", "access", "--constellation", "sso:1:575:24.5", "--point", "1,2", *START], "sso local time"),
    (
        ["eo", "access", "--constellation", "QPS-SAR", "--point", "1,2", "--db", "{missing_db}", *START],
        "--db",
    ),
    # ------------------------------------------------------------ eo delivery
    *_times(DELIVERY, "--start"),
    *_numbers([*DELIVERY, *START], "--hours", "-1", "0", "1e9"),
    *_numbers([*DELIVERY, *START], "--horizon-hours", "-1", "1e9"),
    *_numbers([*DELIVERY, *START], "--requests-every-min", "-1", "0", "1e9"),
    *_numbers([*DELIVERY, *START], "--image-gbit", "-1", "0", "1e9"),
    *_numbers([*DELIVERY, *START], "--imaging-s", "-1", "0", "1e9"),
    *_numbers([*DELIVERY, *START], "--storage-gbit", "-1", "0", "1e9"),
    *_numbers([*DELIVERY, *START], "--step-s", "0", "-1", "1e9"),
    *_numbers([*DELIVERY, *START], "--spacing-km", "0", "-1", "1e9"),
    *[([*DELIVERY, *START, "--random-requests", v], "--random-requests") for v in ("0", "-3", "9000000")],
    *[([*DELIVERY, *START, "--seed", v], "--seed") for v in ("-1", "abc")],
    ([*DELIVERY, *START, "--random-requests", "5", "--requests-every-min", "10"], "not both"),
    ([*DELIVERY, *START, "--image-gbit", "20", "--storage-gbit", "10"], "--storage-gbit"),
    ([*DELIVERY, *START, "--hours", "2", "--step-s", "0.001"], "--step-s 0.001: must be at least 1"),
    ([*DELIVERY, "--start", "2262-04-11T00:00:00Z"], "supported range"),
    ([*DELIVERY, *START, "--stations", "/no/stations.yaml"], "--stations"),
    ([*DELIVERY, *START, "--stations", "{bin}"], "--stations"),
    ([*DELIVERY, *START, "--stations", "{dir}"], "directory"),
    ([*DELIVERY, *START, "--stations", "{bad_stations}"], "bad_stations.csv:3: lat_deg"),
    ([*DELIVERY, *START, "--stations", "{file}"], "--stations"),
    ([*DELIVERY, *START, "--sensor", "sar:50-20"], "sensor"),
    ([*DELIVERY, *START, "-f", "xml"], "--format"),
    ([*DELIVERY, *START, "--png", "/nonexistent/h.png"], "--png"),
    ([*DELIVERY, *START, "--png", "{file}"], "exists"),
    *[
        (["eo", "delivery", *WALKER, *START, f"--point={v}", "--db", "{db}"], "--point")
        for v in POINTS_HOSTILE
    ],
    (["eo", "delivery", *WALKER, *START, "--db", "{db}"], "--aoi/--point"),
    (["eo", "delivery", *WALKER, *START, "--aoi", "/no/aoi.json", "--db", "{db}"], "--aoi"),
    (["eo", "delivery", "--constellation", "NO-SUCH-SAT", "--point", "1,2", "--db", "{db}", *START], "empty"),
    # ------------------------------------------------------------ eo coverage
    *_times(COVERAGE, "--start"),
    *_numbers([*COVERAGE, *START], "--hours", "-1", "0", "1e9"),
    *_numbers([*COVERAGE, *START], "--step-s", "0", "-1", "1e9"),
    *_numbers([*COVERAGE, *START], "--spacing-km", "0", "-1", "0.5", "1e9"),
    ([*COVERAGE, *START, "--mode", "wideband"], "--mode"),
    ([*COVERAGE, *START, "--look-side", "up"], "--look-side"),
    ([*COVERAGE, *START, "--hours", "2", "--step-s", "0.001"], "--step-s 0.001: must be at least 1"),
    ([*COVERAGE, "--start", "2262-04-11T00:00:00Z"], "supported range"),
    ([*COVERAGE, *START, "-f", "geojson"], "--format"),
    ([*COVERAGE, *START, "--png", "/nonexistent/c.png"], "--png"),
    ([*COVERAGE, *START, "--png", "{file}"], "exists"),
    ([*COVERAGE, *START, "--geojson", "/nonexistent/c.geojson"], "--geojson"),
    ([*COVERAGE, *START, "--geojson", "{dir}"], "directory"),
    (["eo", "coverage", *WALKER, *START, "--aoi", "{aoi}", "--db", "{db}"], "no Polygon"),
    (["eo", "coverage", *WALKER, *START, "--aoi", "/no/aoi.json", "--db", "{db}"], "--aoi"),
    (["eo", "coverage", *WALKER, *START, "--aoi", "{bin}", "--db", "{db}"], "--aoi"),
    (["eo", "coverage", *WALKER, *START, "--aoi", "{file}", "--db", "{db}"], "not JSON"),
    (["eo", "coverage", *WALKER, *START, "--db", "{db}"], "--aoi"),
    (["eo", "coverage", "--constellation", "NO-SUCH-SAT", "--aoi", "{box}", "--db", "{db}", *START], "empty"),
    # ------------------------------------------------------------ eo plan
    *_numbers([*PLAN, *START], "--hours", "-1", "0", "1e9"),
    *_numbers([*PLAN, *START], "--agility-deg-s", "-1", "0", "1e9"),
    *_numbers([*PLAN, *START], "--settle-s", "-1", "1e9"),
    *_numbers([*PLAN, *START], "--duty-cycle", "-0.1", "0", "1.5"),
    *_numbers([*PLAN, *START], "--time-limit-s", "-1", "0", "1e9"),
    *_times(PLAN, "--start"),
    ([*PLAN, *START, "--method", "best"], "unknown planner"),
    ([*PLAN, *START, "-f", "xml"], "--format"),
    (
        ["eo", "plan", "--constellation", "walker:12/3/1:575:42", "--requests", "/no/r.json", *START],
        "--requests",
    ),
    # ------------------------------------------------------------ eo save
    *_times(["eo", "save", "w", "--design", "walker:12/3/1:575:42", "--db", "{db}"], "--epoch"),
    (["eo", "save", " ", "--design", "walker:12/3/1:575:42", "--db", "{db}"], "NAME"),
    (["eo", "save", "w", "--design", "walker:12/3/1:575:42:" + "9" * 120, "--db", "{db}"], "--design"),
    (["eo", "save", "w", "--design", "walker:12/3/1:575", "--db", "{db}"], "design"),
    (["eo", "save", "w", "--design", "NO-SUCH-SAT", "--db", "{db}"], "empty"),
    (
        ["eo", "save", "w", "--design", "walker:12/3/1:575:42", "--db", NO_DB],
        f"--db {NO_DB}: cannot create database",
    ),
    # ------------------------------------------------------------ eo design add / list / show / delete
    (["eo", "design", "add", " ", "--part", "QPS-SAR", "--db", "{db}"], "NAME"),
    (["eo", "design", "add", "d" * 121, "--part", "QPS-SAR", "--db", "{db}"], "NAME"),
    *[
        ([*ADD, "--part", v], "--part")
        for v in ("", " ", "@2026-06-11", "walker:12/3/1:575", "walker:12/5/1:575:53")
    ],
    *[
        ([*ADD, "--part", v], "--part")
        for v in ("sso:0:575:10", "sso:1:20:10", "sso:1:575:25", "walker:100000/1/0:575:53")
    ],
    *[([*ADD, "--part", f"walker:12/3/1:575:53@{t}"], "--part") for t in MALFORMED_TIMES],
    ([*ADD, "--part", "NO-SUCH-SAT"], "empty"),
    ([*ADD, *[a for _ in range(33) for a in ("--part", "sso:1:575:10")]], "--part"),
    ([*ADD, "--part", "walker:30000/1/0:575:53", "--part", "walker:30000/1/0:575:53"], "50000"),
    (["eo", "design", "add", "d", "--part", "sso:1:575:10", "--db", NO_DB], f"--db {NO_DB}: cannot create"),
    (["eo", "design", "list", "--db", "{db}", "-f", "xml"], "--format"),
    (["eo", "design", "list", "--db", "{missing_db}"], "--db"),
    (["eo", "design", "show", "nothing", "--db", "{db}"], "no stored constellation"),
    (["eo", "design", "show", "nothing", "--db", "{missing_db}"], "--db"),
    (["eo", "design", "show", "nothing", "--db", "{db}", "-f", "xml"], "--format"),
    *_times(["eo", "design", "show", "nothing", "--db", "{db}"], "--start"),
    (["eo", "design", "delete", "nothing", "--db", "{db}"], "no stored constellation"),
    (["eo", "design", "delete", "nothing", "--db", "{missing_db}"], "--db"),
    # ------------------------------------------------------------ eo design search
    *_times(SEARCH, "--start"),
    *[
        (
            [
                "eo",
                "design",
                "search",
                "--point",
                "1,2",
                "--max-sats",
                v,
                "--target-max-gap-min",
                "60",
                *START,
            ],
            "--max-sats",
        )
        for v in ("0", "-1", "2001")
    ],
    *_numbers(SEARCH_START, "--target-max-gap-min", "0", "-1", "1e9"),
    *_numbers(SEARCH_START, "--hours", "0", "-1", "1e9"),
    *_numbers(SEARCH_START, "--spacing-km", "0", "-1", "1e9"),
    *_numbers(SEARCH_START, "--step-s", "0", "-1", "1e9"),
    *_numbers(SEARCH_START, "--min-dwell-s", "-1", "1e9"),
    *_numbers(SEARCH_START, "--merge-gap-s", "-1", "1e9"),
    *_numbers(SEARCH_START, "--sso-ltan-h", "-1", "25"),
    ([*SEARCH_START, "--step-s", "0.01"], "--step-s 0.01: must be at least 1"),
    ([*SEARCH, "--start", "2262-04-11T00:00:00Z", "--hours", "100"], "supported range"),
    *[
        ([*SEARCH_START, f"--altitudes-km={v}"], "--altitudes-km")
        for v in ("", "abc", "100", "575,nan", "1e9")
    ],
    *[([*SEARCH_START, f"--inclinations={v}"], "--inclinations") for v in ("", "abc", "-1", "181", "53,inf")],
    *[([*SEARCH_START, f"--planes={v}"], "--planes") for v in ("", "0", "1.5", "abc", "101")],
    *[([*SEARCH_START, f"--sats-per-plane={v}"], "--sats-per-plane") for v in ("", "0", "2.5", "1001")],
    *[([*SEARCH_START, "--max-evaluations", v], "--max-evaluations") for v in ("0", "-1", "100001", "1")],
    ([*SEARCH_START, "--altitudes-km", "20000", "--inclinations", "sso"], "sun-synchronous"),
    ([*SEARCH_START, "--planes", "8", "--sats-per-plane", "1"], "no design"),
    ([*SEARCH_START, "--sensor", "bogus"], "sensor"),
    ([*SEARCH_START, "-f", "xml"], "--format"),
    *[
        (
            [
                "eo",
                "design",
                "search",
                f"--point={v}",
                "--max-sats",
                "4",
                "--target-max-gap-min",
                "60",
                *START,
            ],
            "--point",
        )
        for v in POINTS_HOSTILE
    ],
    ([*SEARCH_START, "--point", "50.45,30.52"], "already used"),
    (["eo", "design", "search", "--max-sats", "4", "--target-max-gap-min", "60", *START], "--aoi/--point"),
    ([*SEARCH_START, "--aoi", "/no/aoi.json"], "--aoi"),
    ([*SEARCH_START, "--aoi", "{bin}"], "--aoi"),
    ([*SEARCH_START, "--aoi", "{file}"], "not JSON"),
    # ------------------------------------------------------------ pnt dop / availability / scenarios
    *[row for command in ("dop", "availability", "scenarios") for row in _pnt_rows(command)],
    (["pnt", "dop", *PNT_REGION, "--grid-deg", "0.01"], "--grid-deg"),
    *_numbers(["pnt", "dop", *PNT_REGION], "--grid-deg", "0", "-1", "0.05", "11"),
    (["pnt", "dop", *PNT_START, "--region", "mars"], "--region"),
    (["pnt", "dop", *PNT_POINT, "--region", "taiwan"], "exactly one"),
    (["pnt", "dop", *PNT_START], "exactly one"),
    (["pnt", "dop", *PNT_POINT, "--constellations", "gps,galileo,glonas"], "glonas"),
    (["pnt", "dop", *PNT_POINT, "--constellations", ","], "--constellations"),
    (["pnt", "dop", *PNT_POINT, "--png", "/nonexistent/p.png"], "--png"),
    (["pnt", "dop", *PNT_POINT, "--png", "{file}"], "exists"),
    (["pnt", "dop", *PNT_REGION, "--geojson", "/nonexistent/m.geojson"], "--geojson"),
    (["pnt", "dop", *PNT_REGION, "--geojson", "{dir}"], "directory"),
    (["pnt", "dop", *PNT_POINT, "--geojson", "{new_dir}.geojson"], "needs --region"),
    (["pnt", "availability", *PNT_POINT, "--png", "{new_dir}.png"], "needs --region"),
    (
        [
            "pnt",
            "availability",
            "--start",
            "2026-07-10",
            "--step-s",
            "60",
            "--region",
            "korea",
            "--grid-deg",
            "0.1",
        ],
        "--grid-deg/--step-s",
    ),
    (["pnt", "scenarios", *PNT_START], "--point"),
    (["pnt", "dop", *PNT_POINT, "--nav", "{nav}", "--constellations", "glonass,beidou"], "not computed"),
    (
        ["pnt", "dop", "--point", "24.8,121.0", "--start", "2026-07-10T00:00:00Z", "--nav", "{nav}"],
        "within 2 h",
    ),
    # ------------------------------------------------------------ pnt compare
    *_times(["pnt", "compare", "--nav", "{nav}"], "--start"),
    *_numbers([*PNT_COMPARE], "--hours", "-1", "0", "1e9"),
    *_numbers([*PNT_COMPARE], "--step-s", "0", "-1", "1e9"),
    *_numbers([*PNT_COMPARE], "--max-match-km", "0", "-1", "1e9"),
    (["pnt", "compare", "--start", "2021-04-28T18:00:00Z"], "--nav"),
    (["pnt", "compare", "--start", "2021-04-28T18:00:00Z", "--nav", "/no/brdc.21n"], "--nav"),
    (["pnt", "compare", "--start", "2021-04-28T18:00:00Z", "--nav", "{bin}"], "--nav"),
    (["pnt", "compare", "--start", "2021-04-28T18:00:00Z", "--nav", "{file}"], "--nav"),
    ([*PNT_COMPARE, "--elements", "/no/elements.csv"], "--elements"),
    ([*PNT_COMPARE, "--elements", "{leo}"], "no satellites"),
    ([*PNT_COMPARE, "--constellations", "glonass"], "not computed"),
    ([*PNT_COMPARE, "--constellations", "gps,xyz"], "--constellations"),
    ([*PNT_COMPARE, "-f", "xml"], "--format"),
    (PNT_COMPARE, "same days"),
    # ------------------------------------------------------------ pnt interference
    *_times(PNT_INTERFERENCE, "--start"),
    *_times(PNT_INTERFERENCE, "--stop"),
    ([*PNT_INTERFERENCE, "--start", "2024-03-02", "--stop", "2024-03-01"], "--stop"),
    *_numbers([*PNT_INTERFERENCE, "--point", "44.5,38"], "--radius-km", "0", "-1", "2001"),
    ([*PNT_INTERFERENCE, "--radius-km", "10"], "needs --point"),
    *[([*PNT_INTERFERENCE, f"--point={v}"], "--point") for v in ("abc", "91,0", "0,181", "nan,0", "")],
    ([*PNT_INTERFERENCE, "--region", "mars"], "--region"),
    ([*PNT_INTERFERENCE, "--region", "ukraine", "--point", "44,38"], "not both"),
    ([*PNT_INTERFERENCE, "--kind", "meaconing"], "--kind"),
    *[([*PNT_INTERFERENCE, "--min-vessels", v], "--min-vessels") for v in ("1", "0", "-1", "1001")],
    *_numbers(PNT_INTERFERENCE, "--min-confidence", "-0.1", "1.5"),
    *_numbers(PNT_INTERFERENCE, "--bin-s", "0", "-1", "59", "1e9"),
    ([*PNT_INTERFERENCE, "-f", "xml"], "--format"),
    ([*PNT_INTERFERENCE, "--png", "/nonexistent/p.png"], "--png"),
    ([*PNT_INTERFERENCE, "--png", "{file}"], "exists"),
    ([*PNT_INTERFERENCE, "--png", "{dir}"], "directory"),
    (["pnt", "interference", "--ais", "/no/ais.nmea"], "--ais"),
    (["pnt", "interference", "--ais", "{bin}"], "--ais"),
    (["pnt", "interference", "--ais", "{dir}"], "directory"),
    (["pnt", "interference", "--ais", "{file}"], "no AIS position"),
    (["pnt", "interference", "--ais", "{untimed_ais}"], "carries a time"),
    (["pnt", "interference", "--db", "{missing_db}"], "--db"),
    (["pnt", "interference", "--db", "{file}"], "not a database"),
    ([*PNT_INTERFERENCE, "--db", "{dir}"], "--db"),
    # ------------------------------------------------------------ demo (it deletes and recreates its database)
    (["demo", "--db", "{db}", "--out-dir", "{new_dir}"], "use --force"),
    (["demo", "--db", "postgresql://kizuna@127.0.0.1/test", "--out-dir", "{new_dir}"], "not a URL"),
    (["demo", "--db", "{dir}", "--force", "--out-dir", "{new_dir}"], "is a directory"),
    (["demo", "--db", "{file}/demo.db", "--out-dir", "{new_dir}"], "is not a directory"),
    (["demo", "--out-dir", "{file}/plots"], "--out-dir"),
]


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> dict[str, str]:
    from kizuna.cli import app  # noqa: F401 - import once, before any row runs

    root = tmp_path_factory.mktemp("hostile")
    db = root / "k.db"
    loaded = invoke(["-q", "catalog", "load", *map(str, sample_files()), "--db", str(db)])
    assert loaded.exit_code == 0, loaded.output
    tle_db = root / "tle.db"
    assert (
        invoke(
            ["-q", "catalog", "load", str(SAMPLE / "leo_2026-06_sample.3le"), "--db", str(tle_db)]
        ).exit_code
        == 0
    )
    empty_db = root / "empty.db"
    from kizuna.store import CatalogStore

    CatalogStore(str(empty_db)).close()
    full = root / "full"
    full.mkdir()
    (full / "x.txt").write_text("x\n")
    existing = root / "existing.txt"
    existing.write_text("already here\n")
    binary = root / "binary.cdm"
    binary.write_bytes(bytes(range(256)) * 4)
    bad_cdm = root / "bad.cdm"
    bad_cdm.write_text("CCSDS_CDM_VERS = 1.0\nCREATION_DATE = 2020-01-01T00:00:00\n")
    # a CDM that screen itself writes: a valid input for the cdm rows
    cdms = root / "cdms"
    wrote = invoke(
        ["-q", "screen", "--owner", "JPN", "--days", "0.5", "--threshold-km", "60", "-f", "cdm-kvn"]
        + ["--out", str(cdms), "--db", str(db)]
    )
    assert wrote.exit_code == 0, wrote.output
    aoi = root / "aoi.geojson"
    aoi.write_text(
        json.dumps(
            {
                "type": "Feature",
                "properties": {"name": "Tokyo"},
                "geometry": {"type": "Point", "coordinates": [139.7, 35.7]},
            }
        )
    )
    req = root / "req.json"
    req.write_text(
        json.dumps(
            [
                {
                    "id": "a",
                    "lat": 34.0,
                    "lon": 129.9,
                    "priority": 2,
                    "start": "2026-06-11T00:00:00Z",
                    "stop": "2026-06-11T06:00:00Z",
                    "mode": "stripmap",
                }
            ]
        )
    )
    box = root / "box.geojson"
    box.write_text(
        json.dumps(
            {
                "type": "Feature",
                "properties": {"name": "box"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[139, 35], [140, 35], [140, 36], [139, 36], [139, 35]]],
                },
            }
        )
    )
    bad_stations = root / "bad_stations.csv"
    bad_stations.write_text("name,lat_deg,lon_deg\nA,1,2\nB,95,2\n")
    bad_mask = root / "bad_mask.csv"
    bad_mask.write_text("azimuth_deg,elevation_deg\n0,10\n90,ninety\n")
    ais_csv = root / "ais.csv"
    ais_csv.write_text(
        "mmsi,time_utc,lat,lon,sog\n273000001,2024-03-01T00:00:00Z,44.5,38.0,10\n"
        "273000001,2024-03-01T00:01:00Z,44.501,38.0,10\n"
    )
    untimed_ais = root / "untimed.nmea"  # a real sentence (gpsd's ais-18-27.log) with no time
    untimed_ais.write_text("!AIVDM,1,1,,A,13RlIW?04F1beOVEFLB9bRvH0L0L,0*6C\n")
    return {
        "ais_csv": str(ais_csv),
        "untimed_ais": str(untimed_ais),
        "bad_mask": str(bad_mask),
        "bad_stations": str(bad_stations),
        "box": str(box),
        "leo": str(SAMPLE / "leo_2026-06_sample.3le"),
        "nav": str(Path(str(resources.files("kizuna") / "data" / "pnt" / "brdc1180.21n"))),
        "db": str(db),
        "tle_db": str(tle_db),
        "empty_db": str(empty_db),
        "missing_db": str(root / "typo.db"),
        "dir": str(full),
        "new_dir": str(root / "new"),
        "file": str(existing),
        "bin": str(binary),
        "bad_cdm": str(bad_cdm),
        "cdm": str(sorted(cdms.glob("*.cdm"))[0]),
        "aoi": str(aoi),
        "req": str(req),
    }


@pytest.mark.parametrize(("args", "fragment"), HOSTILE, ids=[" ".join(a) for a, _ in HOSTILE])
def test_hostile_value_is_refused_in_one_line(paths, args, fragment):
    filled = [a.format(**paths) for a in args]
    refused(filled, contains=fragment)
    assert not Path(paths["missing_db"]).exists(), "a read-only command created the database it was given"
    assert not Path(paths["new_dir"]).exists(), "a refused command created its output directory"


def test_demo_never_deletes_a_database_it_was_not_made_for(paths):
    """`kizuna demo --db kizuna.db` used to delete the user's catalog before loading the sample."""
    before = Path(paths["db"]).read_bytes()
    refused(["demo", "--db", paths["db"], "--out-dir", paths["new_dir"]], contains="--force")
    assert Path(paths["db"]).read_bytes() == before


def test_every_command_of_this_file_is_in_the_table():
    commands = {tuple(a[:2]) if a[0] in ("catalog", "cdm", "eo", "pnt") else (a[0],) for a, _ in HOSTILE}
    assert commands == {
        ("catalog", "load"),
        ("catalog", "show"),
        ("catalog", "search"),
        ("catalog", "export"),
        ("catalog", "publish"),
        ("propagate",),
        ("screen",),
        ("cdm", "show"),
        ("cdm", "assess"),
        ("eo", "revisit"),
        ("eo", "access"),
        ("eo", "plan"),
        ("eo", "delivery"),
        ("eo", "coverage"),
        ("eo", "save"),
        ("eo", "design"),
        ("pnt", "dop"),
        ("pnt", "availability"),
        ("pnt", "scenarios"),
        ("pnt", "compare"),
        ("pnt", "interference"),
        ("demo",),
    }


# ---------------------------------------------------------------- what works, works in full
def test_propagate_start_with_offset_is_the_same_instant_as_z(paths):
    common = ["propagate", "--norad", "25544", "--step-s", "600", "--db", paths["db"]]
    tokyo = invoke([*common, "--start", "2026-07-10T09:00:00+09:00", "--stop", "2026-07-10T10:00:00+09:00"])
    utc = invoke([*common, "--start", "2026-07-10T00:00:00Z", "--stop", "2026-07-10T01:00:00Z"])
    assert tokyo.exit_code == 0 and utc.exit_code == 0, (tokyo.output, utc.output)
    assert tokyo.stdout == utc.stdout
    assert "25544,2026-07-10T00:00:00.000Z," in utc.stdout


def test_unknown_ids_among_known_ones_warn_and_exit_2(paths):
    export = invoke(["catalog", "export", "--norad", "25544,99999", "--db", paths["db"]])
    assert export.exit_code == 2 and "25544" in export.stdout and "99999" in export.stderr
    screened = invoke(
        [
            "screen",
            "--assets",
            "25544",
            "--assets",
            "99999",
            "--days",
            "0.1",
            "-f",
            "json",
            "--db",
            paths["db"],
        ]
    )
    assert screened.exit_code == 2 and "not in the catalog: 99999" in screened.stderr
    assert json.loads(screened.stdout)["parameters"]["assets"] == [25544]


def test_screen_says_how_many_it_shows_and_what_it_used(paths):
    args = ["screen", "--owner", "JPN", "--days", "0.5", "--threshold-km", "60", "--db", paths["db"]]
    doc = json.loads(invoke([*args, "-f", "json"]).stdout)
    total = doc["total"]
    assert total == len(doc["events"]) > 50 and doc["shown"] == total
    p = doc["parameters"]
    assert (p["start_utc"], p["stop_utc"], p["threshold_km"], p["step_s"]) == (
        "2026-06-10T12:00:00Z",
        "2026-06-11T00:00:00Z",
        60.0,
        60.0,
    )
    assert p["catalog_epoch_first_utc"] < p["catalog_epoch_last_utc"]
    table = invoke(args)
    assert f"50 of {total} shown" in table.stdout and "--limit 0" in table.stderr
    assert "2026-06-10T12:00:00Z to 2026-06-11T00:00:00Z" in table.stdout
    assert p["catalog_epoch_first_utc"] in table.stdout
    limited = json.loads(invoke([*args, "-f", "json", "--limit", "3"]).stdout)
    assert (limited["shown"], limited["total"], len(limited["events"])) == (3, total, 3)
    rows = invoke([*args, "-f", "csv", "--limit", "0"]).stdout.strip().splitlines()
    assert len(rows) == 1 + total and rows[0].startswith("primary,primary_name,secondary")


def _piped(args: list[str], path: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"), "COLUMNS": "80"}
    with path.open("w") as fh:
        done = subprocess.run(
            [sys.executable, "-m", "kizuna", *args], stdout=fh, stderr=subprocess.PIPE, env=env, timeout=300
        )
    assert done.returncode == 0, done.stderr.decode()
    return path.read_text()


def test_piped_tables_print_complete_numbers(paths, tmp_path):
    found = json.loads(
        invoke(["catalog", "search", "--owner", "JPN", "-f", "json", "--db", paths["db"]]).stdout
    )
    with_elements = [o["latest"] for o in found["objects"] if "latest" in o]
    longest = max(with_elements, key=lambda es: len(es["OBJECT_NAME"] or ""))
    text = _piped(["catalog", "search", "--owner", "JPN", "--db", paths["db"]], tmp_path / "search.txt")
    complete_numbers(text)
    epoch = longest["EPOCH"][:19]  # the table shows the epoch to the second, with a Z
    assert f"{epoch}Z" in text and longest["OBJECT_NAME"] in text
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text)

    args = ["screen", "--owner", "JPN", "--days", "0.5", "--threshold-km", "60", "--db", paths["db"]]
    closest = json.loads(invoke([*args, "-f", "json", "--limit", "1"]).stdout)["events"][0]
    text = _piped([*args, "-f", "table"], tmp_path / "screen.txt")
    complete_numbers(text)
    assert closest["tca_utc"] in text  # e.g. 2026-06-10T14:19:00.907Z, whole
    assert f"{closest['miss_km']:.3f}" in text and closest["secondary_name"] in text
