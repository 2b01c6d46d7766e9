"""Hostile values for `kizuna ais load`: directory arguments and files with no usable time.

Each row is a command line and a fragment the one-line refusal must contain: exit 2, one `error:`
line, no traceback and nothing on stdout (tests/cli_harness.refused).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyais import encode_dict
from tests.cli_harness import NOT_A_NUMBER, refused


def _files(tmp: Path) -> dict[str, Path]:
    f = {"tmp": tmp}
    pos = list(encode_dict({"type": 1, "mmsi": 111000001, "lat": 35.0, "lon": 129.0}, talker_id="AI"))
    f["untimed"] = tmp / "untimed.nmea"
    f["untimed"].write_text("\n".join(pos) + "\n")
    f["emptydir"] = tmp / "emptydir"
    f["emptydir"].mkdir()
    f["otherdir"] = tmp / "otherdir"  # files, none with an AIS suffix; AIS only in a subdirectory
    f["otherdir"].mkdir()
    (f["otherdir"] / "README.md").write_text("x\n")
    (f["otherdir"] / "sub").mkdir()
    (f["otherdir"] / "sub" / "a.nmea").write_text("\n".join(pos) + "\n")
    f["bindir"] = tmp / "bindir"  # an AIS suffix on a binary file
    f["bindir"].mkdir()
    (f["bindir"] / "x.nmea").write_bytes(b"\x00\x01\x02" * 100)
    f["untimeddir"] = tmp / "untimeddir"
    f["untimeddir"].mkdir()
    (f["untimeddir"] / "a.nmea").write_text("\n".join(pos) + "\n")
    return f


LOAD = ["ais", "load"]
ROWS = [
    (LOAD + ["{emptydir}"], "FILES {emptydir}: is a directory with no AIS file"),
    (LOAD + ["{otherdir}"], "FILES {otherdir}: is a directory with no AIS file"),
    (LOAD + ["{bindir}"], "FILES {bindir}/x.nmea: not a"),
    (LOAD + ["{untimed}"], "{untimed}: no usable time"),
    (LOAD + ["{untimeddir}"], "{untimeddir}/a.nmea: no usable time"),
    (LOAD + ["{untimed}", "{tmp}/missing.nmea"], "FILES {tmp}/missing.nmea: no such file"),
    *[(LOAD + ["{untimed}", "--max-errors", v], "--max-errors") for v in (*NOT_A_NUMBER, "-1", "1.5")],
]


@pytest.mark.parametrize(("args", "fragment"), ROWS, ids=[" ".join(a) for a, _ in ROWS])
def test_ais_load_refuses(args, fragment, tmp_path):
    f = _files(tmp_path)
    fill = {k: str(v) for k, v in f.items()}
    db = ["--db", str(tmp_path / "load.db")]
    refused([a.format(**fill) for a in args] + db, contains=fragment.format(**fill))
