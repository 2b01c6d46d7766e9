"""Hostile values for the options of `kizuna od fit` that read shared products or publish the fit, and
for every option of `kizuna od publish-observations` and `kizuna od pc`: exit 2, one line naming the
option, before any work."""

from __future__ import annotations

import numpy as np
import pytest
from tests.cli_harness import refused

pytest.importorskip("orekit_jpype")

RANGE_ONLY_TDM = """CCSDS_TDM_VERS = 2.0
CREATION_DATE = 2026-03-01T00:00:00
ORIGINATOR = TEST
META_START
TIME_SYSTEM = UTC
PARTICIPANT_1 = here
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
NODE = ["--partners", "{config}", "--keys", "{keys}", "--db", "{db}"]
FIT = ["od", "fit", "--tdm", "{tdm}"]
PUBLISH = ["od", "publish-observations", "--tdm", "{tdm}", "--norad", "99999", "--marking", "UNCLASSIFIED"]
PC = ["od", "pc", "--first", "{opm}"]
PC2 = [*PC, "--second", "{opm}"]

FIT_ROWS: list[tuple[list[str], str]] = [
    ([*FIT, "--shared-observations", "0", *NODE], "--shared-observations 0: must be at least 1"),
    ([*FIT, "--shared-observations", "1000000000", *NODE], "--shared-observations 1000000000"),
    ([*FIT, "--shared-observations", "5"], "--partners: the node config is needed"),
    ([*FIT, "--product", "../../etc/passwd", *NODE], "--product '../../etc/passwd': not a product id"),
    ([*FIT, "--product", "x" * 81, *NODE], "--product"),
    ([*FIT, "--product", "product--not-held", *NODE], "--product product--not-held: not held here"),
    ([*FIT, "--publish", "UNCLASSIFIED", *NODE], "--publish: name the object with --norad"),
    ([*FIT, "--publish", " ", "--norad", "5", *NODE], "--publish ' ': a banner line"),
    ([*FIT, "--publish", "SECRET//REL TO NOWHERE", "--norad", "5", *NODE], "--publish"),
    ([*FIT, "--publish", "X" * 401, "--norad", "5", *NODE], "--publish"),
    ([*FIT, "--norad", "0"], "--norad 0: must be at least 1"),
    ([*FIT, "--norad", "-7"], "--norad -7"),
    (
        [*FIT, "--shared-observations", "5", "--partners", "{tmp}/missing.yaml", "--keys", "{keys}"],
        "--partners {tmp}/missing.yaml: no such file",
    ),
    ([*FIT, "--shared-observations", "5", "--partners", "{bad_yaml}", "--keys", "{keys}"], "--partners"),
    (
        [*FIT, "--shared-observations", "5", "--partners", "{config}", "--keys", "{tmp}/nokeys"],
        "--keys {tmp}/nokeys: no such directory",
    ),
    ([*FIT, "--shared-observations", "5", "--partners", "{config}"], "--keys: the node's key directory"),
    ([*FIT, "--shared-observations", "5", *NODE[:4], "--db", "{tmp}/none.db"], "--db"),
]
PUBLISH_ROWS: list[tuple[list[str], str]] = [
    ([*PUBLISH, *NODE, "-f", "xml"], "--format 'xml': use one of table, json"),
    (
        ["od", "publish-observations", "--tdm", "{tmp}/missing.tdm", "--norad", "5", "--marking", "U", *NODE],
        "no such file",
    ),
    (
        ["od", "publish-observations", "--tdm", "{bad_tdm}", "--norad", "5", "--marking", "U", *NODE],
        "--tdm {bad_tdm}:1",
    ),
    (
        ["od", "publish-observations", "--tdm", "{big_tdm}", "--norad", "5", "--marking", "U", *NODE],
        "bytes; an observations product carries at most",
    ),
    (
        ["od", "publish-observations", "--tdm", "{empty_tdm}", "--norad", "5", "--marking", "U", *NODE],
        "no observations to share",
    ),
    (["od", "publish-observations", "--tdm", "{tdm}", "--norad", "0", "--marking", "U", *NODE], "--norad 0"),
    (
        ["od", "publish-observations", "--tdm", "{tdm}", "--norad", "5", "--marking", " ", *NODE],
        "--marking ' '",
    ),
    (
        [
            "od",
            "publish-observations",
            "--tdm",
            "{tdm}",
            "--norad",
            "5",
            "--marking",
            "SECRET//REL TO NOWHERE",
            *NODE,
        ],
        "--marking",
    ),
    ([*PUBLISH], "--partners: the node config is needed"),
    (
        [*PUBLISH, "--partners", "{tmp}/missing.yaml", "--keys", "{keys}"],
        "--partners {tmp}/missing.yaml: no such file",
    ),
    ([*PUBLISH, "--partners", "{config}"], "--keys: the node's key directory"),
    (
        [*PUBLISH, "--partners", "{config}", "--keys", "{tmp}/nokeys"],
        "--keys {tmp}/nokeys: no such directory",
    ),
    ([*PUBLISH, *NODE[:4], "--db", "{tmp}/none.db"], "--db"),
]
PC_ROWS: list[tuple[list[str], str]] = [
    ([*PC2, "-f", "xml"], "--format 'xml': use one of"),
    (
        ["od", "pc", "--first", "{tmp}/missing.opm", "--second", "{opm}"],
        "--first {tmp}/missing.opm: no such file",
    ),
    (["od", "pc", "--first", "{tdm}", "--second", "{opm}"], "not an OPM (KVN) or an OEM"),
    (["od", "pc", "--first", "{opm_no_cov}", "--second", "{opm}"], "the OPM carries no covariance"),
    (["od", "pc", "--first", "{opm_itrf}", "--second", "{opm}"], "REF_FRAME ITRF is not supported"),
    (["od", "pc", "--first", "{bad_opm}", "--second", "{opm}"], "--first {bad_opm}:"),
    ([*PC], "--second: give the other object"),
    ([*PC2, "--catalog", "5"], "--second: give the other object"),
    ([*PC, "--second", "{tmp}/missing.oem"], "--second {tmp}/missing.oem: no such file"),
    ([*PC, "--catalog", "0"], "--catalog 0"),
    ([*PC, "--catalog", "25544", "--db", "{tmp}/none.db"], "--db"),
    ([*PC, "--catalog", "25544", "--db", "{db}"], "--catalog 25544: no element set in the catalog"),
    ([*PC2, "--sigma-rtn-m", "1,2,3"], "--sigma-rtn-m: only for a --catalog object"),
    ([*PC, "--catalog", "5", "--sigma-rtn-m", "1,2"], "--sigma-rtn-m '1,2'"),
    ([*PC, "--catalog", "5", "--sigma-rtn-m", "-1,2,3"], "--sigma-rtn-m"),
    ([*PC, "--catalog", "5", "--sigma-rtn-m", "nan,2,3"], "--sigma-rtn-m"),
    ([*PC, "--catalog", "5", "--sigma-rtn-m", "1e9,2,3"], "--sigma-rtn-m '1e9,2,3': each sigma at most"),
    ([*PC2, "--hbr-m", "0"], "--hbr-m"),
    ([*PC2, "--hbr-m", "nan"], "--hbr-m"),
    ([*PC2, "--hbr-m", "1e6"], "--hbr-m"),
    ([*PC2, "--tca", "yesterday"], "--tca"),
    ([*PC2, "--tca", "2026-13-01T00:00:00Z"], "--tca"),
    ([*PC2, "--window-s", "0"], "--window-s"),
    ([*PC2, "--window-s", "1e9"], "--window-s"),
    ([*PC2, "--window-s", "inf"], "--window-s"),
    ([*PC2, "--cdm", "{existing}"], "--cdm {existing}: exists (use --force"),
    ([*PC2, "--cdm", "{tmp}/nodir/x.cdm", "--force"], "--cdm {tmp}/nodir/x.cdm: directory"),
    ([*PC2, "--db", "{tmp}/none.db", "--catalog", "5"], "--second: give the other object"),
]
ROWS = FIT_ROWS + PUBLISH_ROWS + PC_ROWS
FLAGS = {"--force", "--drag", "--srp", "--third-bodies", "--range-bias"}


def _opm(path, frame: str = "EME2000", covariance: bool = True) -> str:  # noqa: ANN001
    from kizuna.formats.opm import Opm, write_opm_kvn

    opm = Opm(
        epoch=np.datetime64("2026-03-01T00:00:00", "ns"),
        state_km=np.array([7000.0, 0.0, 0.0, 0.0, 7.5, 0.0]),
        metadata={
            "OBJECT_NAME": "X",
            "OBJECT_ID": "1",
            "CENTER_NAME": "EARTH",
            "REF_FRAME": frame,
            "TIME_SYSTEM": "UTC",
        },
        header={"CREATION_DATE": "2026-03-01T00:00:00", "ORIGINATOR": "TEST"},
        covariance_km=np.eye(6) * 1e-2 if covariance else None,
    )
    path.write_text(write_opm_kvn(opm))
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:  # noqa: ANN001
    from kizuna.share.loopback import write_coalition
    from kizuna.share.node import Node
    from kizuna.share.payloads import MAX_TDM_BYTES

    tmp = tmp_path_factory.mktemp("hostile_od_share")
    cfgs = write_coalition(tmp, {"JPN": 1, "USA": 2})
    Node.open(str(tmp / "JPN.db"), cfgs["JPN"], tmp / "keys").catalog.close()  # an empty node store
    (tmp / "ok.tdm").write_text(RANGE_ONLY_TDM)
    (tmp / "bad.tdm").write_text("CCSDS_TDM_VERS = 9.9\n")
    (tmp / "big.tdm").write_text(RANGE_ONLY_TDM + "COMMENT " + "x" * MAX_TDM_BYTES + "\n")
    (tmp / "empty.tdm").write_text(
        RANGE_ONLY_TDM.replace("RANGE = 2026-03-01T00:00:00 1000.0\n", "").replace(
            "RANGE = 2026-03-01T00:00:20 990.0\n", ""
        )
    )
    (tmp / "bad.yaml").write_text("node: [unclosed\n")
    (tmp / "bad.opm").write_text("CCSDS_OPM_VERS = 3.0\nCREATION_DATE = now\nX = 1 2 3\n")
    (tmp / "existing.cdm").write_text("x\n")
    return {
        "tmp": str(tmp),
        "config": str(cfgs["JPN"]),
        "keys": str(tmp / "keys"),
        "db": str(tmp / "JPN.db"),
        "tdm": str(tmp / "ok.tdm"),
        "bad_tdm": str(tmp / "bad.tdm"),
        "big_tdm": str(tmp / "big.tdm"),
        "empty_tdm": str(tmp / "empty.tdm"),
        "bad_yaml": str(tmp / "bad.yaml"),
        "opm": _opm(tmp / "ok.opm"),
        "opm_no_cov": _opm(tmp / "nocov.opm", covariance=False),
        "opm_itrf": _opm(tmp / "itrf.opm", frame="ITRF"),
        "bad_opm": str(tmp / "bad.opm"),
        "existing": str(tmp / "existing.cdm"),
    }


@pytest.mark.parametrize("row", ROWS, ids=[" ".join(r[0][1:])[:90] for r in ROWS])
def test_hostile_value_is_refused_in_one_line(row, files):  # noqa: ANN001
    args, fragment = row
    refused([a.format(**files) for a in args], contains=fragment.format(**files))


# The options of `od fit` this file covers (the others are in test_cli_hostile_od.py).
FIT_SHARE_OPTIONS = {"--shared-observations", "--product", "--publish", "--norad", "--partners", "--keys"}


def test_every_option_has_rows():
    import typer

    from kizuna.cli import app

    group = typer.main.get_command(app).commands["od"]  # type: ignore[attr-defined]
    for command, rows in (("publish-observations", PUBLISH_ROWS), ("pc", PC_ROWS)):
        seen = {a for args, _ in rows for a in args if a.startswith("-")}
        for param in group.commands[command].params:
            if param.opts and param.opts[0].startswith("-") and not set(param.opts) & FLAGS:
                assert set(param.opts) & seen, f"no hostile row for od {command} {param.opts[0]}"
    seen = {a for args, _ in FIT_ROWS for a in args if a.startswith("-")}
    assert seen >= FIT_SHARE_OPTIONS
