"""Hostile values for the truth and reference ephemeris options (`kizuna observe simulate
--truth-oem/--truth-cpf`, `kizuna od fit --reference-cpf`), and good runs of the truth options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli_harness import invoke, refused

DATA = Path(__file__).resolve().parent / "data"
SAMPLE = Path(__file__).resolve().parents[1] / "src" / "kizuna" / "data" / "sample"
LEO = str(SAMPLE / "leo_2026-06_sample.3le")
CPF = str(DATA / "orekit" / "Lageos2" / "lageos2_cpf_160213_5441.sgf")
CPF_DIR = DATA / "ilrs" / "cpf"
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
OBS = ["observe", "simulate", "--out", "{tmp}/sim", "--sensor", "koganei-slr"]
FIT = ["od", "fit", "--tdm", "{tdm}", "--station", "here=35,135,0", "--initial", LEO]

ROWS: list[tuple[list[str], str]] = [
    ([*OBS, "--truth-cpf", "{tmp}/missing.cpf"], "--truth-cpf"),
    ([*OBS, "--truth-cpf", "{tmp}"], "--truth-cpf"),
    ([*OBS, "--truth-cpf", "{binary}"], "--truth-cpf {binary}: not a UTF-8 text file"),
    (
        [*OBS, "--truth-cpf", str(CPF_DIR / "cpf_invalid_format.csg")],
        "cpf_invalid_format.csg:1: format: 'CDR' is not 'CPF'",
    ),
    (
        [*OBS, "--truth-cpf", str(CPF_DIR / "cpf_corrupted_data.csg")],
        ":4: x position: 'corrupted' is not a number",
    ),
    ([*OBS, "--truth-cpf", "{short_cpf}"], "states: lagrange interpolation of degree 9 needs 10"),
    ([*OBS, "--truth-cpf", "{empty}"], "--truth-cpf {empty}:1: H1: no H1 record"),
    ([*OBS, "--truth-cpf", CPF, "--tle", LEO], "--truth-cpf: give a truth ephemeris or --tle, not both"),
    ([*OBS, "--truth-cpf", CPF, "--truth-oem", "{oem}"], "give one truth orbit"),
    ([*OBS, "--truth-cpf", CPF, "--norad", "1,2"], "--norad: name one object"),
    ([*OBS, "--truth-cpf", CPF, "--norad", "x"], "--norad: 'x' is not a catalog number"),
    ([*OBS, "--truth-cpf", CPF, "--start", "2020-01-01T00:00:00Z"], "the ephemeris covers"),
    ([*OBS, "--truth-cpf", CPF, "--hours", "-1"], "--hours"),
    ([*OBS, "--truth-oem", "{tmp}/missing.oem"], "--truth-oem"),
    ([*OBS, "--truth-oem", "{empty}"], "--truth-oem"),
    ([*OBS, "--truth-oem", "{oem_tai}"], "TIME_SYSTEM: TAI: only UTC"),
    ([*OBS, "--truth-oem", "{oem_moon}"], "CENTER_NAME: MOON: only Earth-centred"),
    ([*OBS, "--truth-oem", "{oem_frame}"], "REF_FRAME: reference frame 'RTN' is not supported"),
    ([*OBS, "--truth-oem", "{oem_two}"], "2 segments; a truth orbit is one segment"),
    ([*OBS, "--truth-oem", "{oem_few}"], "states: lagrange interpolation of degree 7 needs 8"),
    ([*OBS, "--truth-oem", "{oem}", "--cadence-s", "0"], "--cadence-s"),
    ([*FIT, "--reference-cpf", "{tmp}/missing.cpf"], "--reference-cpf"),
    ([*FIT, "--reference-cpf", str(CPF_DIR / "cpf_invalid_format.csg")], "'CDR' is not 'CPF'"),
    ([*FIT, "--reference-cpf", "{binary}"], "--reference-cpf {binary}: not a UTF-8 text file"),
    (
        [*FIT, "--reference-cpf", CPF],
        "covers 2016-02-13T00:00:00Z to 2016-02-13T23:55:00Z, not the first measurement (2026-03-01T00:00:00Z)",
    ),
]


def _oem_text(n: int = 20, time_system: str = "UTC", center: str = "EARTH", frame: str = "GCRF") -> str:
    head = (
        "CCSDS_OEM_VERS = 2.0\nCREATION_DATE = 2026-06-10T00:00:00\nORIGINATOR = TEST\n"
        f"META_START\nOBJECT_NAME = X\nOBJECT_ID = 2026-001A\nCENTER_NAME = {center}\nREF_FRAME = {frame}\n"
        f"TIME_SYSTEM = {time_system}\nSTART_TIME = 2026-06-10T00:00:00\nSTOP_TIME = 2026-06-10T00:{n - 1:02d}:00\n"
        "INTERPOLATION = LAGRANGE\nINTERPOLATION_DEGREE = 7\nMETA_STOP\n"
    )
    rows = "".join(f"2026-06-10T00:{k:02d}:00 7000.0 {k * 450.0} 0.0 0.0 7.5 0.0\n" for k in range(n))
    return head + rows


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:  # noqa: ANN001
    tmp = tmp_path_factory.mktemp("hostile_ssa_more")
    made = {
        "binary": b"\xff\xfe\x00\x01",
        "empty": "",
        "short_cpf": "\n".join(Path(CPF).read_text().splitlines()[:12]) + "\n99\n",
        "tdm": RANGE_ONLY_TDM,
        "oem": _oem_text(),
        "oem_tai": _oem_text(time_system="TAI"),
        "oem_moon": _oem_text(center="MOON"),
        "oem_frame": _oem_text(frame="RTN"),
        "oem_two": _oem_text() + _oem_text().split("ORIGINATOR = TEST\n")[1],
        "oem_few": _oem_text(n=5),
    }
    out = {"tmp": str(tmp)}
    for name, content in made.items():
        path = tmp / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        out[name] = str(path)
    return out


@pytest.mark.parametrize("row", ROWS, ids=[" ".join(r[0][1:])[-80:] for r in ROWS])
def test_hostile_value_is_refused_in_one_line(row, files):  # noqa: ANN001
    args, fragment = row
    if args[0] == "od":
        pytest.importorskip("orekit_jpype")
    refused([a.format(**files) for a in args], contains=fragment.format(**files))


NEW_OPTIONS = {("observe", "simulate"): {"--truth-oem", "--truth-cpf"}, ("od", "fit"): {"--reference-cpf"}}


def test_every_new_option_has_rows():
    seen = {a for args, _ in ROWS for a in args if a.startswith("-")}
    for options in NEW_OPTIONS.values():
        assert options <= seen


def test_laser_ranges_simulated_from_the_lageos2_cpf(tmp_path):
    from kizuna.formats.tdm import read_tdm

    out = tmp_path / "cpf"
    args = ["observe", "simulate", "--truth-cpf", CPF, "--out", str(out), "--hours", "12"]
    result = invoke([*args, "--sensor", "koganei-slr", "--retro", "22195", "--no-noise", "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["parameters"]["norad_id"] == 22195  # from the CPF's H2 record
    assert doc["parameters"]["start_utc"] == "2016-02-13T00:01:00Z"
    (row,) = doc["sensors"]
    assert row["tracks"] >= 1 and Path(row["file"]).exists()
    tdm = read_tdm(Path(row["file"]).read_text())
    ranges = [o.value for s in tdm.segments for o in s.observations]
    # LAGEOS-2 flies at 5,900 km: ranges from a ground station lie between that and ~10,000 km
    assert len(ranges) == row["observations"] and min(ranges) > 5600 and max(ranges) < 10_500


def test_observations_from_an_oem(tmp_path, files):  # noqa: ANN001
    import numpy as np

    from kizuna.formats.detect import read_path
    from kizuna.formats.oem import Oem, OemSegment, write_oem_kvn
    from kizuna.orbit import propagate, time_grid

    iss = next(es for es in read_path(Path(LEO)).records if es.norad_id == 25544)
    grid = time_grid("2026-06-10T00:00:00", "2026-06-10T12:00:00", 60.0)
    eph = propagate(iss, grid, "gcrs")
    meta = {
        "OBJECT_NAME": "ISS",
        "OBJECT_ID": "1998-067A",
        "CENTER_NAME": "EARTH",
        "REF_FRAME": "GCRF",
        "TIME_SYSTEM": "UTC",
        "START_TIME": "2026-06-10T00:00:00",
        "STOP_TIME": "2026-06-10T12:00:00",
        "INTERPOLATION": "HERMITE",
        "INTERPOLATION_DEGREE": "5",
    }
    states = np.concatenate([eph.position_km[0], eph.velocity_kms[0]], axis=1)
    oem = Oem(header={"CREATION_DATE": "2026-06-10T00:00:00", "ORIGINATOR": "TEST"})
    oem.segments.append(OemSegment(metadata=meta, epochs=grid, states=states))
    path = tmp_path / "iss.oem"
    path.write_text(write_oem_kvn(oem))
    out = tmp_path / "oem"
    args = ["observe", "simulate", "--truth-oem", str(path), "--norad", "25544", "--out", str(out)]
    result = invoke([*args, "--sensor", "kamisaibara-radar,cobra-dane", "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["parameters"]["truth"] == str(path) and doc["parameters"]["norad_id"] == 25544
    assert sum(r["observations"] for r in doc["sensors"]) > 20


def test_coverage_with_a_space_based_sensor_in_the_network(tmp_path):
    """USA's network now includes the SBSS Block 10 telescope: the GEO belt it sees grows from the
    ground sensors' arcs to nearly all of it, and the maps are drawn."""
    deep = str(SAMPLE / "active_2026-07_sample.csv")
    out = tmp_path / "maps"
    args = [
        "sensors",
        "coverage",
        "--tle",
        deep,
        "--catalog",
        "--start",
        "2026-07-10T00:00:00Z",
        "--hours",
        "24",
    ]
    result = invoke([*args, "--networks", "JPN,JPN+USA", "--png", str(out), "-f", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["network"]: r for r in json.loads(result.stdout)["networks"]}
    assert rows["JPN"]["geo_belt_visible_pct"] < 40.0 < 95.0 < rows["JPN+USA"]["geo_belt_visible_pct"]
    assert rows["JPN+USA"]["geo_detected_pct"] >= rows["JPN"]["geo_detected_pct"]
    assert (out / "geo_strip.png").stat().st_size > 5000


def test_tasking_plan_on_the_space_based_sensor():
    deep = str(SAMPLE / "active_2026-07_sample.csv")
    args = ["tasking", "plan", "--tle", deep, "--catalog", "--start", "2026-07-10T00:00:00Z", "--hours", "6"]
    result = invoke([*args, "--sensor", "sbss-block-10", "--budget", "50", "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    tracks = next(v for v in doc.values() if isinstance(v, list))
    assert tracks and {t["sensor"] for t in tracks} == {"sbss-block-10"}
