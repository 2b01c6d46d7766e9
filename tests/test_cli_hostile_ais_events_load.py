"""Hostile values for `kizuna ais events --load`: the files it loads first are refused as `ais load`
refuses them, named by the option.

Each row is a command line and a fragment the one-line refusal must contain: exit 2, one `error:`
line, no traceback and nothing on stdout (tests/cli_harness.refused).
"""

from __future__ import annotations

import pytest
from tests.cli_harness import refused
from tests.test_cli_hostile_maritime_load import _files

EVENTS = ["ais", "events", "--no-ports", "--load"]
ROWS = [
    (EVENTS + ["{emptydir}"], "--load {emptydir}: is a directory with no AIS file"),
    (EVENTS + ["{otherdir}"], "--load {otherdir}: is a directory with no AIS file"),
    (EVENTS + ["{bindir}"], "--load {bindir}/x.nmea: not a"),
    (EVENTS + ["{tmp}/missing.nmea"], "--load {tmp}/missing.nmea: no such file"),
    (EVENTS + ["{untimed}"], "{untimed}: no usable time"),
    (EVENTS + ["{untimeddir}"], "{untimeddir}/a.nmea: no usable time"),
    (EVENTS + ["{untimed}", "--bbox", "1,2,3"], "--bbox"),
]


@pytest.mark.parametrize(("args", "fragment"), ROWS, ids=[" ".join(a) for a, _ in ROWS])
def test_ais_events_load_refuses(args, fragment, tmp_path):
    f = _files(tmp_path)
    fill = {k: str(v) for k, v in f.items()}
    db = ["--db", str(tmp_path / "events.db")]
    refused([a.format(**fill) for a in args] + db, contains=fragment.format(**fill))
