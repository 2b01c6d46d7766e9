"""Hostile values for the port/anchorage and GFW-rule options of `ais events`, `ais ports` and
`ais anchorages`, and what those commands do with good input.

Each row is a command line (valid except for one option) and a fragment the one-line refusal must
contain: exit 2, one `error:` line, no traceback, nothing on stdout (tests/cli_harness.refused).
"""

from __future__ import annotations

import json
import os

import pytest
from tests.cli_harness import invoke, refused
from tests.test_maritime_ports import moored_call
from tests.test_maritime_store_cli import _meeting_nmea

AIS_EVENTS = ["ais", "events", "--db", "{ais_db}", "--no-shore"]
PORTS = ["ais", "ports"]
ANCH = ["ais", "anchorages", "--db", "{ais_db}"]
BAD_NUMBERS = ("nan", "inf", "-inf")


def _numbers(base: list[str], option: str, values: tuple[str, ...]) -> list:
    rows = [(base + [option, v], f"{option} {v}: must be a finite number") for v in BAD_NUMBERS]
    rows += [(base + [option, v], f"{option} {float(v):g}: must be") for v in values]
    return rows


def _counts(base: list[str], option: str, values: tuple[str, ...]) -> list:
    return [(base + [option, v], f"{option} {v}: must be at least") for v in values]


def _inputs(base: list[str], option: str) -> list:
    return [
        (base + [option, "{tmp}/missing.csv"], f"{option} {{tmp}}/missing.csv: no such file"),
        (base + [option, "{adir}"], f"{option} {{adir}}: is a directory"),
        (base + [option, "{binary}"], f"{option} {{binary}}: not a UTF-8 text file"),
        (base + [option, "{no_ports}"], f"{option} {{no_ports}}: no port or anchorage could be read"),
        (base + [option, "{empty}"], f"{option} {{empty}}: no port or anchorage"),
    ]


def _times(base: list[str], option: str) -> list:
    return [(base + [option, t], option) for t in ("yesterday", "2026-13-01T00:00:00Z", "1800-01-01")]


ROWS: list[tuple[list[str], str]] = [
    # ---------------------------------------------------------------- ais events: ports and GFW rules
    *_inputs(AIS_EVENTS, "--anchorages"),
    *_counts(AIS_EVENTS, "--anchorage-min-vessels", ("0", "-3", "10000000")),
    (AIS_EVENTS + ["--anchorage-min-vessels", "abc"], "--anchorage-min-vessels"),
    *_numbers(AIS_EVENTS, "--port-exclusion-km", ("-1", "1e6")),
    *_numbers(AIS_EVENTS, "--port-entry-km", ("0", "-3", "5000")),
    *_numbers(AIS_EVENTS, "--port-exit-km", ("0", "-4", "5000")),
    (AIS_EVENTS + ["--port-entry-km", "5", "--port-exit-km", "4"], "--port-exit-km 4: must be at least"),
    *_numbers(AIS_EVENTS, "--port-min-hours", ("-1", "1e6")),
    *_counts(AIS_EVENTS, "--gap-min-positions", ("-1", "1000000")),
    (AIS_EVENTS + ["--loitering-class", "reefer"], "--loitering-class 'reefer': use one of"),
    (AIS_EVENTS + ["--loitering-class", ""], "--loitering-class '': use one of"),
    (AIS_EVENTS + ["--encounter-pair", "carrier"], "--encounter-pair 'carrier': wants CLASS-CLASS"),
    (AIS_EVENTS + ["--encounter-pair", "carrier-reefer"], "--encounter-pair 'carrier-reefer'"),
    (AIS_EVENTS + ["--encounter-pair", "tanker-tanker-tanker"], "--encounter-pair"),
    (AIS_EVENTS + ["--type", "port"], "--type 'port': use one of"),
    # flags take no value: a stray value is a usage error naming it
    (AIS_EVENTS + ["--no-ports=yes"], "--no-ports"),
    (AIS_EVENTS + ["--learn-anchorages=1"], "--learn-anchorages"),
    (AIS_EVENTS + ["--gap-both-ends=0"], "--gap-both-ends"),
    (AIS_EVENTS + ["--loitering-per-point=x"], "--loitering-per-point"),
    # ---------------------------------------------------------------- ais ports
    (PORTS + ["--bbox", "1,2,3"], "--bbox '1,2,3': wants W,S,E,N"),
    (PORTS + ["--bbox", "0,10,1,5"], "S < N"),
    (PORTS + ["--bbox", "nan,0,1,1"], "finite"),
    (PORTS + ["--country", " "], "--country"),
    (PORTS + ["-f", "geojson"], "--format 'geojson': use one of"),
    *_inputs(PORTS, "--anchorages"),
    (PORTS + ["--no-ports=1"], "--no-ports"),
    # ---------------------------------------------------------------- ais anchorages
    (["ais", "anchorages", "--db", "{tmp}/typo.db"], "no database"),
    (ANCH + ["--bbox", "0,10,1,5"], "S < N"),
    *_times(ANCH, "--start"),
    *_times(ANCH, "--stop"),
    (ANCH + ["--start", "2026-03-02", "--stop", "2026-03-01"], "not after"),
    *_counts(ANCH, "--min-vessels", ("0", "-1", "10000000")),
    *_numbers(ANCH, "--min-hours", ("0", "-12", "1e6")),
    *_numbers(ANCH, "--move-m", ("0", "-500", "1e9")),
    *_numbers(ANCH, "--cell-m", ("0", "-500", "5", "1e9")),
    (ANCH + ["--output", "{tmp}/no/such/dir/a.csv"], "does not exist"),
    (ANCH + ["--output", "{adir}"], "--output {adir}: is a directory"),
    (ANCH + ["--output", "{existing}"], "--output {existing}: exists (use --force"),
    (ANCH + ["--output", "{ro_dir}/a.csv"], "not writable"),
    (ANCH + ["-f", "xml"], "--format 'xml': use one of"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    from kizuna.store import CatalogStore
    from kizuna.store.ais_store import AisStore

    tmp = tmp_path_factory.mktemp("hostile_ports")
    f = {"tmp": tmp}
    f["nmea"] = tmp / "meet.nmea"
    f["nmea"].write_text(_meeting_nmea(180))
    f["ais_db"] = tmp / "ais.db"
    store = CatalogStore(str(f["ais_db"]))
    AisStore(store).load_file(f["nmea"])
    store.close()
    f["binary"] = tmp / "binary.dat"
    f["binary"].write_bytes(bytes(range(256)) * 8)
    f["existing"] = tmp / "existing.txt"
    f["existing"].write_text("already here\n")
    f["no_ports"] = tmp / "no_ports.csv"
    f["no_ports"].write_text("lat_deg,lon_deg\n95,10\nabc,10\n")
    f["empty"] = tmp / "empty.csv"
    f["empty"].write_text("")
    f["adir"] = tmp / "adir"
    f["adir"].mkdir()
    f["ro_dir"] = tmp / "ro_dir"
    f["ro_dir"].mkdir()
    f["ro_dir"].chmod(0o500)
    return {k: str(v) for k, v in f.items()}


def _id(row: tuple[list[str], str]) -> str:
    return " ".join(a.replace("{", "").replace("}", "") for a in row[0])[:90]


@pytest.mark.parametrize("row", ROWS, ids=[_id(r) for r in ROWS])
def test_hostile_value_is_refused_in_one_line(row, files):
    args, fragment = row
    if "{ro_dir}" in " ".join(args) and os.geteuid() == 0:
        pytest.skip("permission bits do not bind root")
    refused([a.format(**files) for a in args], contains=fragment.format(**files))


def test_every_new_option_has_a_row():
    """Every option of `ais ports` and `ais anchorages`, and every option `ais events` gained here."""
    import inspect

    from kizuna.cli.maritime import ais_anchorages, ais_ports

    seen = {a.split("=")[0] for args, _ in ROWS for a in args if a.startswith("-")}
    new_events = {
        "--no-ports",
        "--anchorages",
        "--learn-anchorages",
        "--anchorage-min-vessels",
        "--port-exclusion-km",
        "--port-entry-km",
        "--port-exit-km",
        "--port-min-hours",
        "--gap-min-positions",
        "--gap-both-ends",
        "--loitering-class",
        "--loitering-per-point",
        "--encounter-pair",
    }
    assert new_events <= seen, new_events - seen
    for cmd in (ais_ports, ais_anchorages):
        for name in inspect.signature(cmd).parameters:
            flag = {"fmt": "-f", "force": "--output"}.get(name, "--" + name.replace("_", "-"))
            assert flag in seen, (cmd.__name__, flag)


# ---------------------------------------------------------------- good input
def test_events_cli_finds_the_moored_ship_port_visit_and_learns_and_reads_anchorages(tmp_path):
    db = tmp_path / "busan.db"
    pos = moored_call()
    csv_path = tmp_path / "busan.csv"
    rows = [
        f"{m},{str(t)[:19]}Z,{la:.6f},{lo:.6f},{s:g}"
        for m, t, la, lo, s in zip(pos.mmsi, pos.time_utc, pos.lat_deg, pos.lon_deg, pos.sog_kn, strict=True)
    ]
    csv_path.write_text("mmsi,time_utc,lat_deg,lon_deg,sog_kn\n" + "\n".join(rows) + "\n")
    r = invoke(["ais", "load", str(csv_path), "--db", str(db)])
    assert r.exit_code == 0 and json.loads(r.stdout)["positions_loaded"] == len(pos), r.output
    r = invoke(["ais", "events", "--db", str(db), "--no-shore", "--type", "port_visit", "-f", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [(e["type"], e["details"]["port_name"], e["details"]["confidence"]) for e in doc["events"]] == [
        ("port_visit", "Busan", 4)
    ]
    assert doc["parameters"]["port_points"] == 3766 and "GFW port visit" in doc["definitions"][0]
    # without the World Port Index there is no port, so no visit ...
    r = invoke(
        ["ais", "events", "--db", str(db), "--no-shore", "--type", "port_visit", "--no-ports", "-f", "json"]
    )
    assert json.loads(r.stdout)["events"] == []
    # ... unless the user names their own anchorage by the berth
    mine = tmp_path / "mine.csv"
    mine.write_text("name,lat_deg,lon_deg\nBerth 7,35.091,129.0333\n")
    args = ["ais", "events", "--db", str(db), "--no-shore", "--type", "port_visit", "--no-ports"]
    r = invoke([*args, "--anchorages", str(mine), "-f", "json"])
    ev = json.loads(r.stdout)["events"]
    assert (
        len(ev) == 1
        and ev[0]["details"]["port_name"] == "Berth 7"
        and ev[0]["details"]["port_id"] == "mine:2"
    )
    # a stricter minimum duration than the 20-h call removes it, and the parameter is reported
    r = invoke([*args, "--anchorages", str(mine), "--port-min-hours", "48", "-f", "json"])
    doc = json.loads(r.stdout)
    assert doc["events"] == [] and doc["parameters"]["port_min_hours"] == 48
    # ais anchorages learns the berth where one ship stayed 20 h, when asked for 1 vessel
    out = tmp_path / "learned.csv"
    r = invoke(
        ["ais", "anchorages", "--db", str(db), "--min-vessels", "1", "--output", str(out), "-f", "json"]
    )
    assert r.exit_code == 0, r.output
    learned = json.loads(r.stdout)["anchorages"]
    assert len(learned) == 1 and learned[0]["name"] == "Busan anchorage" and learned[0]["kind"] == "anchorage"
    r = invoke([*args, "--anchorages", str(out), "-f", "json"])
    assert [e["details"]["port_kind"] for e in json.loads(r.stdout)["events"]] == ["anchorage"]
    r = invoke([*args, "--learn-anchorages", "--anchorage-min-vessels", "1", "-f", "json"])
    assert json.loads(r.stdout)["parameters"]["learned_anchorages"] == 1


def test_ports_cli_lists_the_world_port_index():
    r = invoke(["ais", "ports", "--country", "South Korea", "-f", "json"])
    assert r.exit_code == 0, r.output
    names = {p["name"] for p in json.loads(r.stdout)["ports"]}
    assert {"Busan", "Inchon", "Ulsan"} <= names
    r = invoke(["ais", "ports", "--bbox", "128.9,35.0,129.2,35.2", "-f", "csv"])
    assert "wpi:60390,Busan,South Korea,port" in r.stdout
    r = invoke(["ais", "ports", "--bbox", "179,-20,-179,-15", "-f", "json"])  # across the antimeridian
    assert all(abs(p["lon_deg"]) >= 179 for p in json.loads(r.stdout)["ports"])


def _load_csv(pos, tmp_path, name: str) -> str:
    db = tmp_path / f"{name}.db"
    path = tmp_path / f"{name}.csv"
    rows = [
        f"{m},{str(t)[:19]}Z,{la:.6f},{lo:.6f},{s:g}"
        for m, t, la, lo, s in zip(pos.mmsi, pos.time_utc, pos.lat_deg, pos.lon_deg, pos.sog_kn, strict=True)
    ]
    path.write_text("mmsi,time_utc,lat_deg,lon_deg,sog_kn\n" + "\n".join(rows) + "\n")
    r = invoke(["ais", "load", str(path), "--db", str(db)])
    assert r.exit_code == 0, r.output
    return str(db)


def test_busan_anchored_pair_is_not_an_encounter_from_the_cli(tmp_path):
    from tests.test_maritime_gfw import BUSAN_ANCHOR_LAT, BUSAN_ANCHOR_LON, _anchored_pair

    db = _load_csv(_anchored_pair(BUSAN_ANCHOR_LAT, BUSAN_ANCHOR_LON), tmp_path, "pair")
    args = ["ais", "events", "--db", db, "--no-shore", "--type", "encounter", "-f", "json"]
    r = invoke(args)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["events"] == []
    # turning the port rule off (a stated departure) brings the 24-h "encounter" back
    doc = json.loads(invoke([*args, "--port-exclusion-km", "0"]).stdout)
    assert [e["type"] for e in doc["events"]] == ["encounter"]
    assert "port/anchorage exclusion disabled" in doc["definitions"][0]


def test_loitering_class_comes_from_stored_static_data(tmp_path):
    """A slow vessel far offshore (30 N 150 E) loiters when its AIS ship type makes it a carrier."""
    import numpy as np

    m = np.arange(0, 181, 10)
    t0 = np.datetime64("2026-03-01T00:00:00")

    def db_with(ship_type: int) -> str:
        path = tmp_path / f"slow{ship_type}.csv"
        rows = [
            f"444000001,{t0 + np.timedelta64(int(k), 'm')}Z,30.0,{150 + k * 1e-4:.6f},"
            f"{0.5 if 30 <= k <= 150 else 8.0},{ship_type}"
            for k in m
        ]
        path.write_text("mmsi,time_utc,lat_deg,lon_deg,sog_kn,ship_type\n" + "\n".join(rows) + "\n")
        db = str(tmp_path / f"slow{ship_type}.db")
        assert invoke(["ais", "load", str(path), "--db", db]).exit_code == 0
        return db

    args = ["ais", "events", "--no-shore", "--type", "loitering", "-f", "json"]
    carrier = json.loads(invoke([*args, "--db", db_with(70)]).stdout)
    assert [(e["type"], e["details"]["vessel_class"]) for e in carrier["events"]] == [
        ("loitering", "carrier")
    ]
    assert carrier["events"][0]["start_utc"] == "2026-03-01T01:00:00.000Z"  # the one slow clock hour
    fishing_db = db_with(30)
    assert json.loads(invoke([*args, "--db", fishing_db]).stdout)["events"] == []
    r = invoke([*args, "--db", fishing_db, "--loitering-class", "fishing", "--loitering-per-point"])
    ev = json.loads(r.stdout)["events"]
    assert len(ev) == 1 and ev[0]["start_utc"] == "2026-03-01T00:30:00.000Z"
    assert json.loads(r.stdout)["parameters"]["loitering_speed"] == "per point"
