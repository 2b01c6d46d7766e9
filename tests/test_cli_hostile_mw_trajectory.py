"""Hostile values for every option of `kizuna mw trajectory`, and one good run per format.

Each row is a command line valid except for one option, and a fragment the one-line refusal must
contain: exit 2, one `error:` line, no traceback and nothing on stdout (tests/cli_harness.refused).
"""

from __future__ import annotations

import json

import pytest
from tests.cli_harness import MALFORMED_TIMES, complete_numbers, invoke, refused

BASE = ["mw", "trajectory", "--class", "SRBM", "--from", "sunan", "--to", "38.0,127.5"]
BAD_NUMBERS = ("nan", "inf", "-inf")


def _with(option: str, value: str) -> list[str]:
    args = list(BASE)
    if option in args:
        i = args.index(option)
        args[i + 1] = value
        return args
    return args + [option, value]


ROWS = [
    (_with("--class", "XRBM"), "--class 'XRBM'"),
    (_with("--class", ""), "--class"),
    (_with("--from", "atlantis"), "--from 'atlantis': not a known site"),
    (_with("--from", "91,0"), "--from '91,0': latitude"),
    (_with("--from", "10,200"), "--from '10,200'"),
    (_with("--from", "nan,0"), "--from 'nan,0'"),
    (_with("--from", "1,2,3"), "--from '1,2,3': wants"),
    (_with("--to", "atlantis"), "--to 'atlantis'"),
    (_with("--to", "abc,def"), "--to 'abc,def': wants"),
    (_with("--to", "-95,10"), "--to '-95,10'"),
    (_with("--to", "sunan"), "--to 'sunan': the target is within 10 km"),
    (_with("--to", "guam"), "--to 'guam': target"),  # beyond an SRBM's reach
    (_with("--profile", "ballistic"), "--profile 'ballistic'"),
    (_with("--profile", "glide"), "--profile glide: only class HGV"),
    (_with("--apogee-km", "500"), "--apogee-km: a minimum-energy flight"),
    (_with("--missile", "v-2"), "--missile: unknown missile model"),
    (_with("--missile", "hwasong-17-like"), "--missile: missile model 'hwasong-17-like' is class ICBM"),
    (_with("--step-s", "0"), "--step-s 0: must be greater than 0"),
    (_with("--step-s", "-5"), "--step-s -5: must be greater than 0"),
    (_with("--step-s", "601"), "--step-s 601: must be at most 600"),
    (_with("--step-s", "0.01"), "--step-s 0.01: must be at least 0.1"),
    (_with("--format", "xml"), "--format 'xml'"),
    (_with("--plot", "/no/such/dir/x.png"), "--plot /no/such/dir/x.png: directory"),
    (_with("--plot", "{tmp}/out.svg"), "--plot {tmp}/out.svg: the plot is a PNG"),
    (_with("--plot", "{tmp}/exists.png"), "--plot {tmp}/exists.png: exists"),
    (_with("--plot", "{tmp}"), "is a directory"),
]
ROWS += [(_with("--step-s", v), f"--step-s {v}: must be a finite number") for v in BAD_NUMBERS]
LOFTED = [*BASE, "--profile", "lofted"]
ROWS += [([*LOFTED, "--apogee-km", v], f"--apogee-km {v}: must be a finite number") for v in BAD_NUMBERS]
ROWS += [
    ([*LOFTED, "--apogee-km", "0"], "--apogee-km 0: must be greater than 0"),
    ([*LOFTED, "--apogee-km", "-100"], "--apogee-km -100: must be greater than 0"),
    ([*LOFTED, "--apogee-km", "20000"], "--apogee-km 20000: must be at most 10000"),
    ([*LOFTED, "--apogee-km", "3000"], "--apogee-km 3000:"),  # more than a Scud can fly
]
ROWS += [(_with("--launch-utc", t), "--launch-utc") for t in MALFORMED_TIMES]


@pytest.mark.parametrize(("args", "fragment"), ROWS, ids=[" ".join(r[0][2:]) for r in ROWS])
def test_hostile_values_are_refused_in_one_line(args, fragment, tmp_path):
    (tmp_path / "exists.png").write_bytes(b"")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    refused(args, contains=fragment.replace("{tmp}", str(tmp_path)))


def test_good_run_in_every_format_and_a_plot(tmp_path):
    png = tmp_path / "t.png"
    args = [*BASE, "--step-s", "20", "--launch-utc", "2026-03-01T12:00:00+09:00"]
    table = invoke([*args, "--plot", str(png)])
    assert table.exit_code == 0, table.output
    complete_numbers(table.stdout)
    assert "apogee_km" in table.stdout and "reentry" in table.stdout
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    doc = json.loads(invoke([*args, "-f", "json"]).stdout)
    summary = doc["summary"]
    assert summary["launch_utc"] == "2026-03-01T03:00:00Z"
    assert summary["miss_km"] < 0.1
    assert doc["samples"][0]["time_utc"].startswith("2026-03-01T03:00:00")
    assert doc["samples"][-1]["time_s"] == pytest.approx(summary["flight_time_s"])
    assert doc["shown"] == doc["total"] == len(doc["samples"])
    csv_lines = invoke([*args, "-f", "csv"]).stdout.strip().splitlines()
    assert csv_lines[0].startswith("time_s,time_utc,phase")
    assert len(csv_lines) == len(doc["samples"]) + 1
