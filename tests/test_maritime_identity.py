"""Vessel identity: MMSI classes and flags (ITU-R M.585-9, ITU MID table), static-data history in the
store (SQLite and PostgreSQL), identity as of an event's time, identity changes as events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import shared
from typer.testing import CliRunner

from kizuna.cli import app
from kizuna.maritime.identity import (
    IdentityHistory,
    attach_identity,
    classify_mmsi,
    detect_identity_changes,
    imo_valid,
    mid_table,
    ship_class,
    versions_from_statics,
)
from kizuna.model.maritime import MaritimeEvent, VesselStatic
from kizuna.store.ais_store import AisStore

runner = CliRunner()
T0 = datetime(2026, 3, 1, tzinfo=UTC)


# ---------------------------------------------------------------- MMSI classes (ITU-R M.585-9 Annex 1)
@pytest.mark.parametrize(
    ("mmsi", "kind", "mid", "flag", "issues"),
    [
        (211476060, "ship", 211, "DE", ()),
        (366989380, "ship", 366, "US", ()),
        (445112233, "ship", 445, "KP", ()),
        (412123456, "ship", 412, "CN", ("placeholder:mid_placeholder",)),
        (3669713, "coast_station", 366, "US", ()),  # 003669713: the libais type-4 base station
        (2320001, "coast_station", 232, "GB", ()),
        (111232511, "sar_aircraft", 232, "GB", ()),
        (992351234, "aid_to_navigation", 235, "GB", ()),
        (982570001, "craft_of_parent_ship", 257, "NO", ()),
        (827396670, "handheld_vhf", 273, "RU", ()),
        (970123456, "ais_sart", None, None, ()),
        (972012345, "mob_device", None, None, ()),
        (974123456, "epirb_ais", None, None, ()),
        # invalid and suspicious
        (412000000, "ship", 412, "CN", ("placeholder:mid_placeholder",)),
        (123456789, "invalid", None, None, ("no_station_type",)),
        (111111111, "sar_aircraft", 111, None, ("unknown_mid", "placeholder:repeated_digit")),
        (222222222, "ship", 222, None, ("unknown_mid", "placeholder:repeated_digit")),
        (700055448, "ship", 700, None, ("unknown_mid",)),
        (41200001, "group_call", 412, "CN", ("wrong_digit_count",)),  # 8 digits broadcast by a ship
        (1_000_000_000, "invalid", None, None, ("wrong_digit_count",)),
        (-5, "invalid", None, None, ("wrong_digit_count",)),
    ],
)
def test_mmsi_classes_flags_and_issues(mmsi, kind, mid, flag, issues):
    info = classify_mmsi(mmsi)
    assert (info.kind, info.mid, info.flag, info.issues) == (kind, mid, flag, issues)
    assert info.valid == (not issues)


def test_mid_table_is_the_itu_table_shape():
    t = mid_table()
    # the ITU list allocates MIDs in 2xx (Europe) to 7xx (South America) only, one ISO code each
    assert len(t) == 292 and all(200 < m < 800 for m in t)
    assert all(len(iso) == 2 and iso.isupper() for iso, _ in t.values())
    # multi-MID administrations (ITU MARS): Panama 12, United States 6 (with Alaska), Malta 5
    by_iso: dict[str, int] = {}
    for iso, _ in t.values():
        by_iso[iso] = by_iso.get(iso, 0) + 1
    assert (by_iso["PA"], by_iso["US"], by_iso["MT"], by_iso["GB"], by_iso["LR"]) == (12, 6, 5, 4, 2)


# ITU call-sign series (Radio Regulations Appendix 42) of the administrations the sample below meets.
# A ship's call sign and its MMSI are both issued by its flag administration, so the flag read from
# the MID must be the administration owning the call sign's series: two ITU tables checked against
# each other on real broadcasts.
CALLSIGN_SERIES = {
    "NO": (
        "JW",
        "JX",
        "LA",
        "LB",
        "LC",
        "LD",
        "LE",
        "LF",
        "LG",
        "LH",
        "LI",
        "LJ",
        "LK",
        "LL",
        "LM",
        "LN",
        "3Y",
    ),
    "PL": ("HF", "SN", "SO", "SP", "SQ", "SR", "3Z"),
    "PT": ("CQ", "CR", "CS", "CT", "CU"),
    "RO": ("YO", "YP", "YQ", "YR"),
    "SE": ("7S", "8S", "SA", "SB", "SC", "SD", "SE", "SF", "SG", "SH", "SI", "SJ", "SK", "SL", "SM"),
    "CH": ("HB", "HE"),
    "TR": ("TA", "TB", "TC", "YM"),
    "UA": ("EM", "EN", "EO", "UR", "US", "UT", "UU", "UV", "UW", "UX", "UY", "UZ"),
    "RU": ("R", "UA", "UB", "UC", "UD", "UE", "UF", "UG", "UH", "UI"),
    "BS": ("C6",),
    "CA": (
        "CF",
        "CG",
        "CH",
        "CI",
        "CJ",
        "CK",
        "CY",
        "CZ",
        "VA",
        "VB",
        "VC",
        "VD",
        "VE",
        "VF",
        "VG",
        "VO",
        "VX",
        "VY",
        "XJ",
        "XK",
        "XL",
        "XM",
        "XN",
        "XO",
    ),  # fmt: skip
    "GB": (
        "G",
        "M",
        "2",
        "VP",
        "VQ",
        "VS",
        "ZB",
        "ZC",
        "ZD",
        "ZE",
        "ZF",
        "ZG",
        "ZH",
        "ZI",
        "ZJ",
        "ZN",
        "ZO",
        "ZQ",
    ),  # fmt: skip
    "US": ("K", "N", "W", "AA", "AB", "AC", "AD", "AE", "AF", "AG", "AH", "AI", "AJ", "AK", "AL"),
    "PA": ("3E", "3F", "H3", "H8", "H9", "HO", "HP"),
    "VC": ("J8",),
    "CN": ("B", "3H", "3I", "3J", "3K", "3L", "3M", "3N", "3O", "3P", "3Q", "3R", "3S", "3T", "3U", "XS"),
    "JP": (
        "7J",
        "7K",
        "7L",
        "7M",
        "7N",
        "8J",
        "8K",
        "8L",
        "8M",
        "8N",
        "JA",
        "JB",
        "JC",
        "JD",
        "JE",
        "JF",
        "JG",
        "JH",
        "JI",
        "JJ",
        "JK",
        "JL",
        "JM",
        "JN",
        "JO",
        "JP",
        "JQ",
        "JR",
        "JS",
    ),  # fmt: skip
    "KR": ("D7", "D8", "D9", "DS", "DT", "HL", "6K", "6L", "6M", "6N"),
    "KW": ("9K",),
    "MH": ("V7",),
    "NU": ("E6",),
    "SG": ("9V", "S6"),
    "TH": ("E2", "HS"),
    "ZA": ("S8", "ZR", "ZS", "ZT", "ZU"),
    "LR": ("5L", "5M", "6Z", "A8", "D5", "EL"),
    "BE": ("ON", "OO", "OP", "OQ", "OR", "OS", "OT"),
    "CY": ("5B", "C4", "H2", "P3"),
    "DE": (
        "DA",
        "DB",
        "DC",
        "DD",
        "DE",
        "DF",
        "DG",
        "DH",
        "DI",
        "DJ",
        "DK",
        "DL",
        "DM",
        "DN",
        "DO",
        "DP",
        "DQ",
        "DR",
        "Y2",
        "Y3",
        "Y4",
        "Y5",
        "Y6",
        "Y7",
        "Y8",
        "Y9",
    ),  # fmt: skip
    "DK": ("5P", "5Q", "OU", "OV", "OW", "OX", "OY", "OZ"),
    "ES": ("AM", "AN", "AO", "EA", "EB", "EC", "ED", "EE", "EF", "EG", "EH"),
    "FR": ("F", "HW", "HX", "HY", "TH", "TK", "TM", "TO", "TP", "TQ", "TV", "TW", "TX"),
    "IS": ("TF",),
    "IT": ("I",),
    "MD": ("ER",),
    "MT": ("9H",),
    "NL": ("PA", "PB", "PC", "PD", "PE", "PF", "PG", "PH", "PI"),
}
# Territories whose ships carry their administration's call signs (the Cayman Islands register issues
# United Kingdom series, the Faroe Islands Danish ones).
ADMINISTRATION = {"KY": "GB", "FO": "DK"}


def _shared_statics() -> list[VesselStatic]:
    from kizuna.formats.ais import iter_ais_file, split_records

    out: list[VesselStatic] = []
    for name in (
        "gpsd/ais-nmea-type6-fid55.log",
        "gpsd/ais-nmea.log",
        "gpsd/sample.aivdm",
        "libais_test.aivdm",
    ):
        for part in iter_ais_file(shared(f"ais/{name}")):
            out += split_records(part.records)[1]
    return out


def test_flags_from_mid_agree_with_the_call_sign_series_on_real_ais():
    """Must show: flags from the MID agree with the ITU table for real MMSIs from the shared files.

    Each ship's call sign is matched against the series table; a call sign in no listed series
    (typed-in junk such as '?AE2250') cannot testify and is counted, one in another administration's
    series is a disagreement."""
    checked: dict[int, str] = {}
    no_series: dict[int, str] = {}
    for s in _shared_statics():
        info = classify_mmsi(s.mmsi)
        cs = (s.callsign or "").replace("@", "").replace(" ", "").strip()
        if info.kind != "ship" or not info.valid or len(cs) < 3 or s.mmsi in checked:
            continue
        owners = {adm for adm, series in CALLSIGN_SERIES.items() if cs.startswith(series)}
        if not owners:
            no_series[s.mmsi] = cs
            continue
        admin = ADMINISTRATION.get(info.flag or "", info.flag)
        assert admin in owners, (
            f"MMSI {s.mmsi}: MID flag {info.flag} but call sign {cs} is {sorted(owners)}'s"
        )
        checked[s.mmsi] = info.flag or ""
    assert len(checked) >= 150 and len(set(checked.values())) >= 35, (len(checked), no_series)
    assert len(no_series) <= 2, no_series


# Real MMSIs from the shared files, with the administration the ITU MID list names for their MID.
REAL_SAMPLE = {
    257236000: "NO",  # ISLAND CHIEFTAIN
    261031580: "PL",
    264162436: "RO",
    269057683: "CH",
    272158400: "UA",
    273338060: "RU",
    309461000: "BS",  # SAIPEM 7000
    316003600: "CA",
    319348000: "KY",
    351759000: "PA",  # EVER DIADEM
    375103000: "VC",
    412206160: "CN",
    431000932: "JP",
    441951000: "KR",
    447087000: "KW",
    538004502: "MH",
    542433110: "NU",
    563550000: "SG",
    567000900: "TH",
    601005500: "ZA",
    636013457: "LR",  # APL AUSTRIA
    249190000: "MT",  # RUTH THERESA (libais type 5 example, call sign 9HMQ9)
    5030292: "AU",  # coast station 005030292
    111232511: "GB",  # SAR aircraft 111232511
}


def test_real_sample_flags():
    assert {m: classify_mmsi(m).flag for m in REAL_SAMPLE} == REAL_SAMPLE


def test_imo_check_digit_and_ship_classes():
    assert imo_valid(9074729) and imo_valid(9383663)  # IMO's own example; RUTH THERESA (libais)
    assert not imo_valid(9074728) and not imo_valid(123) and not imo_valid(None)
    assert [ship_class(t) for t in (30, 70, 79, 80, 84, 89, 60, 52, None)] == [
        "fishing", "carrier", "carrier", "tanker", "tanker", "tanker", "passenger", "tug", None,
    ]  # fmt: skip


# ---------------------------------------------------------------- history and identity at a time
def _st(mmsi: int, hours: float, **kw: object) -> VesselStatic:
    return VesselStatic(mmsi, T0 + timedelta(hours=hours), **kw)  # type: ignore[arg-type]


def test_type24_halves_make_one_identity_and_two_ships_make_two():
    statics = [
        _st(538000001, 0, name="ALPHA"),  # 24 A
        _st(538000001, 0.01, callsign="V7AA1", ship_type=80),  # 24 B
        _st(538000001, 5, name="ALPHA"),
        _st(538000001, 6, name="BRAVO@@@@", callsign="V7BB2"),  # another ship on the same MMSI
        _st(538000001, 7, name="ALPHA", callsign="V7AA1"),
    ]
    vs = versions_from_statics(statics)
    names = [(v.name, v.callsign) for v in vs]
    assert ("ALPHA", "V7AA1") in names and ("BRAVO", "V7BB2") in names
    h = IdentityHistory(vs)
    assert h.at(538000001, np.datetime64("2026-03-01T03:00", "ns")).name == "ALPHA"
    assert h.at(538000001, np.datetime64("2026-03-01T06:30", "ns")).name == "BRAVO"
    assert h.at(538000001, np.datetime64("2026-02-01T00:00", "ns")).name == "ALPHA"  # before any report


def test_attach_identity_uses_the_identity_at_the_event_time():
    h = IdentityHistory(
        versions_from_statics(
            [
                _st(636000001, 0, name="OLD NAME", ship_type=80),
                _st(636000001, 10, name="NEW NAME", ship_type=80),
            ]
        )
    )
    ev = MaritimeEvent(
        "encounter",
        636000001,
        np.datetime64("2026-03-01T04:00", "ns"),
        np.datetime64("2026-03-01T06:00", "ns"),
        30.0,
        125.0,
        other_mmsi=445000123,
        details={"duration_s": 7200.0},
    )
    (e,) = attach_identity([ev], h)
    assert (
        e.details["name"] == "OLD NAME" and e.details["flag"] == "LR" and e.details["ship_class"] == "tanker"
    )
    assert e.details["other_flag"] == "KP" and "other_name" not in e.details  # no static data: left out
    assert e.details["duration_s"] == 7200.0
    later = attach_identity(
        [ev.__class__(**{**ev.__dict__, "start_utc": np.datetime64("2026-03-01T12:00", "ns")})], h
    )
    assert later[0].details["name"] == "NEW NAME"


def test_identity_changes_and_flag_hopping():
    statics = [
        _st(636000001, 0, name="SEA STAR", callsign="A8AA1", imo=9074729, ship_type=80),
        _st(636000001, 20, name="SEA STAR", callsign="A8AA1", imo=9074729, ship_type=80),
        _st(636000001, 30, name="OCEAN PEARL", callsign="A8AA1", imo=9074729, ship_type=80),
        # re-flagged: same IMO under a Togolese MMSI
        _st(671000002, 50, name="OCEAN PEARL", callsign="5VAB1", imo=9074729, ship_type=80),
        _st(412000003, 5, name="A"),
        _st(412000003, 6, callsign="BXYZ"),  # first filled in: not a change
    ]
    events = detect_identity_changes(IdentityHistory(versions_from_statics(statics)))
    kinds = [(e.mmsi, e.subtype) for e in events]
    assert kinds == [(636000001, "name"), (671000002, "flag")]
    name, flag = events
    assert (name.details["from_name"], name.details["to_name"]) == ("SEA STAR", "OCEAN PEARL")
    assert name.start_utc == np.datetime64("2026-03-01T20:00", "ns")
    assert name.end_utc == np.datetime64("2026-03-02T06:00", "ns")
    assert (flag.details["from_flag"], flag.details["to_flag"], flag.other_mmsi) == ("LR", "TG", 636000001)


# ---------------------------------------------------------------- the store keeps history (SQLite, PG)
CSV_HEAD = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType\n"


def _csv(rows: list[tuple]) -> str:
    return CSV_HEAD + "".join(",".join("" if v is None else str(v) for v in r) + "\n" for r in rows)


def test_store_keeps_both_names_of_a_shared_mmsi(store, tmp_path):
    """Was: a shared MMSI kept only the last name, silently."""
    rows = []
    for k in range(12):
        t = (T0 + timedelta(hours=k)).strftime("%Y-%m-%dT%H:%M:%S")
        name, cs = ("FIRST ONE", "V7AA1") if k < 6 else ("SECOND ONE", "V7BB2")
        rows.append((538000001, t, 30.0 + k * 0.01, 125.0, 5.0, 0, 0, name, "IMO9074729", cs, 80))
    path = tmp_path / "two.csv"
    path.write_text(_csv(rows))
    ais = AisStore(store)
    ais.load_file(path, chunk_lines=5)  # the change falls inside a chunk and across chunks
    ais.load_file(path)  # a re-load keeps the same identities and times
    hist = ais.static_history()
    assert [(r["name"], r["callsign"]) for r in hist] == [("FIRST ONE", "V7AA1"), ("SECOND ONE", "V7BB2")]
    assert hist[0]["first_utc"] == datetime(2026, 3, 1, 0) and hist[0]["last_utc"] == datetime(2026, 3, 1, 5)
    assert hist[1]["first_utc"] == datetime(2026, 3, 1, 6) and hist[1]["last_utc"] == datetime(2026, 3, 1, 11)
    assert hist[0]["imo"] == 9074729 and hist[0]["ship_type"] == 80
    assert ais.statics()[538000001].name == "SECOND ONE"  # the latest is still there
    assert ais.position_counts() == {538000001: 12}


def _load_db(tmp_path: Path, text: str, name: str = "v.csv") -> str:
    db = str(tmp_path / "v.db")
    f = tmp_path / name
    f.write_text(text)
    r = runner.invoke(app, ["ais", "load", str(f), "--db", db])
    assert r.exit_code == 0, r.output
    return db


def test_cli_vessels_identity_changes_and_events_carry_identity(tmp_path):
    rows = []
    for k in range(8):
        t = (T0 + timedelta(hours=k)).strftime("%Y-%m-%dT%H:%M:%S")
        rows.append(
            (
                636000001,
                t,
                30.0 + k * 0.05,
                125.0,
                10.0,
                0,
                0,
                "SEA STAR" if k < 4 else "OCEAN PEARL",
                None,
                "A8AA1",
                80,
            )
        )
        rows.append((412000000, t, 31.0, 126.0 + k * 0.05, 10.0, 90, 90, "DUMMY", None, None, 30))
    db = _load_db(tmp_path, _csv(rows))
    r = runner.invoke(app, ["ais", "vessels", "--db", db, "-f", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    by = {v["mmsi"]: v for v in doc["vessels"]}
    assert by[636000001]["flag"] == "LR" and by[636000001]["name"] == "OCEAN PEARL"
    assert by[636000001]["identities"] == 2 and by[636000001]["positions"] == 8
    assert by[412000000]["mmsi_issues"] == "placeholder:mid_placeholder" and by[412000000]["flag"] == "CN"
    r = runner.invoke(app, ["ais", "vessels", "--db", db, "-f", "json", "--mmsi", "412000000"])
    assert [v["mmsi"] for v in json.loads(r.stdout)["vessels"]] == [412000000]
    r = runner.invoke(app, ["ais", "identity-changes", "--db", db, "-f", "json"])
    assert r.exit_code == 0, r.output
    (ev,) = json.loads(r.stdout)["events"]
    assert ev["type"] == "identity_change" and ev["details"]["to_name"] == "OCEAN PEARL"
    assert ev["lat_deg"] == pytest.approx(30.2, abs=1e-6)  # where it was when it changed
    r = runner.invoke(app, ["ais", "events", "--db", db, "--no-shore", "-f", "json", "--type", "spoofing"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["ais", "vessels", "--db", db, "--suspicious"])
    assert r.exit_code == 0 and "412000000" in r.stdout and "636000001" in r.stdout


def test_cli_events_carry_names_and_flags(tmp_path):
    """Encounter events name both parties and their flags as of the event."""
    rows = []
    for k in range(0, 5 * 60 + 1, 10):
        t = (T0 + timedelta(minutes=k)).strftime("%Y-%m-%dT%H:%M:%S")
        rows.append((636000001, t, 30.0, 125.0, 0.5, 0, 0, "SEA STAR", None, "A8AA1", 80))
        rows.append((445000123, t, 30.002, 125.0, 0.5, 0, 0, "CHON MA SAN", None, "HMXX", 80))
    db = _load_db(tmp_path, _csv(rows))
    r = runner.invoke(app, ["ais", "events", "--db", db, "--type", "encounter", "-f", "json"])
    assert r.exit_code == 0, r.output
    (ev,) = json.loads(r.stdout)["events"]
    d = ev["details"]
    assert {d["name"], d["other_name"]} == {"SEA STAR", "CHON MA SAN"}
    assert {d["flag"], d["other_flag"]} == {"LR", "KP"}
