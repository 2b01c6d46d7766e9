"""Hostile values for every option of `kizuna od fit`: exit 2, one line naming the option."""

from __future__ import annotations

import pytest
from tests.cli_harness import refused

pytest.importorskip("orekit_jpype")

RANGE_ONLY_TDM = """CCSDS_TDM_VERS = 2.0
CREATION_DATE = 2026-03-01T00:00:00
ORIGINATOR = TEST
META_START
TIME_SYSTEM = UTC
PARTICIPANT_1 = {station}
PARTICIPANT_2 = SAT
MODE = SEQUENTIAL
PATH = 1,2,1
RANGE_UNITS = km
META_STOP
DATA_START
RANGE = 2026-03-01T00:00:00 1000.0
RANGE = 2026-03-01T00:00:20 990.0
DATA_STOP
"""
OK = ["od", "fit", "--tdm", "{tdm}"]
ROWS: list[tuple[list[str], str]] = [
    ([*OK, "-f", "xml"], "--format 'xml': use one of"),
    ([*OK, "--method", "lsq"], "--method 'lsq': use one of batch, ekf, ukf"),
    ([*OK, "--degree", "-1"], "--degree -1: must be at least 0"),
    ([*OK, "--degree", "500"], "--degree 500"),
    ([*OK, "--mass-kg", "0"], "--mass-kg"),
    ([*OK, "--mass-kg", "nan"], "--mass-kg"),
    ([*OK, "--area-m2", "inf"], "--area-m2"),
    ([*OK, "--area-m2", "-3"], "--area-m2"),
    ([*OK, "--outlier-sigma", "-1"], "--outlier-sigma -1.0: within [0, 1000]"),
    ([*OK, "--outlier-sigma", "nan"], "--outlier-sigma"),
    ([*OK, "--max-iterations", "0"], "--max-iterations 0"),
    ([*OK, "--span-h", "0"], "--span-h"),
    ([*OK, "--span-h", "1e9"], "--span-h"),
    ([*OK, "--step-s", "0"], "--step-s"),
    ([*OK, "--oem", "{tmp}/o.oem", "--step-s", "0.01"], "--step-s 0.01: more than 100000 OEM lines"),
    ([*OK, "--object-name", " "], "--object-name"),
    ([*OK, "--sigma-range-m", "0"], "--sigma-range-m"),
    ([*OK, "--sigma-range-m", "nan"], "--sigma-range-m"),
    ([*OK, "--sigma-range-rate-m-s", "-1"], "--sigma-range-rate-m-s"),
    ([*OK, "--sigma-angle-arcsec", "0"], "--sigma-angle-arcsec"),
    ([*OK, "--opm", "{existing}"], "--opm {existing}: exists (use --force"),
    ([*OK, "--opm", "{tmp}/nodir/o.opm"], "--opm {tmp}/nodir/o.opm: directory"),
    ([*OK, "--oem", "{tmp}"], "--oem {tmp}: is a directory"),
    ([*OK, "--tle", "{tmp}/nodir/o.tle", "--force"], "--tle {tmp}/nodir/o.tle: directory"),
    ([*OK, "--station", "X"], "--station 'X': use NAME=LAT_DEG,LON_DEG,ALT_M"),
    ([*OK, "--station", "X=100,0,0"], "--station 'X=100,0,0': latitude within"),
    ([*OK, "--station", "X=a,b,c"], "must be numbers"),
    ([*OK, "--sensors", "{tmp}/missing.yaml"], "--sensors {tmp}/missing.yaml: no such file"),
    ([*OK, "--sensors", "{bad_yaml}"], "--sensors"),
    ([*OK, "--initial", "{tmp}/missing.tle"], "--initial {tmp}/missing.tle: no such file"),
    ([*OK, "--initial", "{bad_tle}"], "--initial {bad_tle}:1:"),
    ([*OK, "--initial", "0"], "--initial 0: not a NORAD catalog number"),
    ([*OK, "--initial", "25544", "--db", "{tmp}/none.db"], "--db"),
    (["od", "fit", "--tdm", "{tmp}/missing.tdm"], "--tdm {tmp}/missing.tdm: no such file"),
    (["od", "fit", "--tdm", "{bad_tdm}"], "--tdm {bad_tdm}:1: CCSDS_TDM_VERS"),
    (
        ["od", "fit", "--tdm", "{unknown_tdm}"],
        "--station: participant 'nowhere' is not in the sensor network",
    ),
    ([*OK, "--station", "here=35,135,0"], "initial orbit determination needs a track of 3 angle pairs"),
]
FLAGS = {"--drag", "--srp", "--third-bodies", "--range-bias", "--force"}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:  # noqa: ANN001
    tmp = tmp_path_factory.mktemp("hostile_od")
    (tmp / "ok.tdm").write_text(RANGE_ONLY_TDM.format(station="here"))
    (tmp / "unknown.tdm").write_text(RANGE_ONLY_TDM.format(station="nowhere"))
    (tmp / "bad.tdm").write_text("CCSDS_TDM_VERS = 9.9\n")
    (tmp / "bad.yaml").write_text("sensors: [unclosed\n")
    (tmp / "bad.tle").write_text("1 25544U 98067A   26060.5 garbage\n2 25544 garbage\n")
    (tmp / "existing.opm").write_text("x\n")
    return {
        "tmp": str(tmp),
        "tdm": str(tmp / "ok.tdm"),
        "unknown_tdm": str(tmp / "unknown.tdm"),
        "bad_tdm": str(tmp / "bad.tdm"),
        "bad_yaml": str(tmp / "bad.yaml"),
        "bad_tle": str(tmp / "bad.tle"),
        "existing": str(tmp / "existing.opm"),
    }


@pytest.mark.parametrize("row", ROWS, ids=[" ".join(r[0][4:])[:80] or " ".join(r[0])[:80] for r in ROWS])
def test_hostile_value_is_refused_in_one_line(row, files):  # noqa: ANN001
    args, fragment = row
    refused([a.format(**files) for a in args], contains=fragment.format(**files))


def test_every_option_has_rows():
    import typer
    from tests.test_cli_hostile_od_share import FIT_SHARE_OPTIONS

    from kizuna.cli import app

    group = typer.main.get_command(app).commands["od"]  # type: ignore[attr-defined]
    from tests.test_cli_hostile_ssa_more import ROWS as MORE_ROWS  # the truth/reference ephemeris options

    # the options reading shared products or publishing have their rows in test_cli_hostile_od_share.py
    seen = {a for args, _ in [*ROWS, *MORE_ROWS] for a in args if a.startswith("-")} | FIT_SHARE_OPTIONS
    for param in group.commands["fit"].params:
        if param.opts and param.opts[0].startswith("-") and not set(param.opts) & FLAGS:
            assert set(param.opts) & seen, f"no hostile row for od fit {param.opts[0]}"
