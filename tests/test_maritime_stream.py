"""Live AIS (`kizuna ais stream`): a recorded feed replayed over loopback TCP, UDP and a followed file
stores what `ais load` stores from the same lines and finds the events `ais events` finds on that
store; alerts reach a partner node the marking releases to and not one it excludes; a dropped
connection is re-dialled; memory stays within the stated caps; SIGTERM flushes before exit.

The references are `ais load` / `ais events` run on the same file (the batch path, written before
this streaming path) and the scenario's planted truth."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from pyais import encode_dict
from tests.cli_harness import invoke
from tests.conftest import REPO, SHARED_DATA
from tests.test_maritime_store_cli import T0, _tag

from kizuna.maritime.incremental import IncrementalEvents, StreamLimits, detector_for
from kizuna.model.maritime import PositionArrays
from kizuna.ops.ais_stream import (
    AisStream,
    StreamConfig,
    StreamSourceError,
    alert_product_id,
    parse_source,
)
from kizuna.store import CatalogStore
from kizuna.store.ais_store import AisStore

M_A, M_B, M_GAP, M_JUMP = 111111111, 222222222, 333333333, 444444444
GAP_LAST = T0 + timedelta(minutes=60)  # the gap vessel's last report before it goes dark
AOI = "139.5,29.5,140.5,30.5"


def _line(t, mmsi: int, lat: float, lon: float, sog: float) -> str:
    (s,) = encode_dict(
        {"type": 1, "mmsi": mmsi, "lat": lat, "lon": lon, "speed": sog, "course": 90.0},
        talker_id="AI",
        sentence_type="VDM",
    )
    return _tag(t) + s


def scenario_nmea() -> str:
    """Planted: an encounter of A and B (300 m apart, 0.5 kn, 3 h from T0) in the AOI, both also
    loitering; a 13 h gap of the gap vessel at sea (25N 150E); a 3-degree teleport of the jump vessel
    at T0 + 2 h. Every line carries its receiver time in a tag block; lines are in time order, plus a
    type 5 static report sent in two sentences (multi-sentence assembly as in `ais load`)."""
    rows = []
    stay = 180
    for m in range(-60, stay + 61, 5):
        t = T0 + timedelta(minutes=m)
        east = 0.5 * 1852 / 3600 * m * 60 / (111_195 * np.cos(np.radians(30)))
        off = -m if m < 0 else (m - stay if m > stay else 0)
        north_m = 300.0 + off * 10 * 1852 / 60
        rows.append((t, _line(t, M_A, 30.0, 140.0 + east, 0.5)))
        rows.append((t, _line(t, M_B, 30.0 + north_m / 111_195, 140.0 + east, 10.0 if off else 0.5)))
    for m in list(range(-80, 61, 10)) + list(range(14 * 60, 15 * 60 + 1, 10)):
        t = T0 + timedelta(minutes=m)
        rows.append((t, _line(t, M_GAP, 25.0, 150.0 + m * 8 / 60 / 60 / 0.91, 8.0)))
    for m in range(-60, 15 * 60 + 1, 10):
        t = T0 + timedelta(minutes=m)
        lon = 120.0 + m * 10 / 60 / 60 / 0.87 + (3.0 if m >= 120 else 0.0)
        rows.append((t, _line(t, M_JUMP, 20.0, lon, 10.0)))
    static = encode_dict(
        {"type": 5, "mmsi": M_A, "shipname": "KIZUNA MARU", "callsign": "JA1234", "ship_type": 70},
        talker_id="AI",
        sentence_type="VDM",
    )
    rows.append((T0, _tag(T0) + static[0]))
    rows.append((T0, static[1]))
    rows.sort(key=lambda r: r[0])  # stable: the two static fragments stay adjacent
    return "\n".join(line for _t, line in rows) + "\n"


# ---------------------------------------------------------------- helpers
def _positions(db: str) -> list[tuple]:
    store = CatalogStore(db, must_exist=True)
    try:
        p = AisStore(store).positions()
    finally:
        store.close()
    return sorted(
        zip(
            p.mmsi.tolist(),
            p.time_utc.astype("int64").tolist(),
            p.lat_deg.tolist(),
            p.lon_deg.tolist(),
            np.nan_to_num(p.sog_kn, nan=-1).tolist(),
            np.nan_to_num(p.cog_deg, nan=-1).tolist(),
            strict=True,
        )
    )


def _load(path: Path, db: str) -> None:
    r = invoke(["ais", "load", str(path), "--db", db])
    assert r.exit_code in (0, 2), r.output


def _batch_events(db: str) -> list[tuple]:
    r = invoke(["ais", "events", "--db", db, "--no-shore", "-f", "json"])
    assert r.exit_code == 0, r.output
    return sorted(_ev(e) for e in json.loads(r.stdout)["events"])


def _ev(e: dict) -> tuple:
    return (
        e["type"],
        e["subtype"],
        e["mmsi"],
        e["other_mmsi"],
        e["start_utc"],
        e["end_utc"],
        round(e["lat_deg"], 5),
        round(e["lon_deg"], 5),
        json.dumps(e["details"], sort_keys=True),
    )


def _lines_out(stdout: str) -> tuple[list[dict], list[dict], dict]:
    docs = [json.loads(x) for x in stdout.splitlines() if x.strip()]
    events = [d["event"] for d in docs if "event" in d]
    alerts = [d["alert"] for d in docs if "alert" in d]
    summary = next(d["summary"] for d in docs if "summary" in d)
    return events, alerts, summary


class FeedServer:
    """A TCP feed on loopback: each accepted connection gets the next of `sessions` (bytes), then
    the server closes it (a drop, as far as the client is concerned)."""

    def __init__(self, sessions: list[bytes]):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sessions = list(sessions)
        self.served = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with self.sock:
            for data in self.sessions:
                conn, _ = self.sock.accept()
                with conn:
                    for k in range(0, len(data), 4000):  # in pieces: lines cut across reads
                        conn.sendall(data[k : k + 4000])
                self.served += 1


def _stream_cli(source: str, db: str, *extra: str):
    return invoke(["ais", "stream", source, "--db", db, "--no-shore", "--flush-messages", "37", *extra])


# ---------------------------------------------------------------- the must-show replay
def test_tcp_replay_equals_load_and_events(tmp_path):
    feed = tmp_path / "feed.nmea"
    feed.write_text(scenario_nmea())
    ref_db, live_db = str(tmp_path / "ref.db"), str(tmp_path / "live.db")
    _load(feed, ref_db)
    server = FeedServer([feed.read_bytes()])
    r = _stream_cli(f"tcp://127.0.0.1:{server.port}", live_db, "--once", "--aoi", AOI)
    assert r.exit_code == 0, r.output
    events, alerts, summary = _lines_out(r.stdout)
    ref = _positions(ref_db)
    assert len(ref) > 200 and _positions(live_db) == ref
    assert summary["positions_loaded"] == len(ref) and summary["statics"] == 1
    assert summary["stopped_by"] == "end of stream" and summary["batches"] > 5
    batch = _batch_events(ref_db)
    assert batch == _batch_events(live_db)
    assert sorted(_ev(e) for e in events) == batch
    # the planted truth is in there (the reference is not empty or trivially equal)
    kinds = {(e[0], e[1], e[2]) for e in batch}
    assert {("encounter", None, M_A), ("gap", None, M_GAP), ("spoofing", "teleport", M_JUMP)} <= kinds
    assert ("loitering", None, M_A) in kinds
    enc = [e for e in events if e["type"] == "encounter"]
    assert [(e["start_utc"], e["end_utc"]) for e in enc] == [
        ("2026-03-01T00:00:00.000Z", "2026-03-01T03:00:00.000Z")
    ]
    # alerts: the encounter inside the AOI; the gap vessel dark once the clock passed 12 h of silence
    by_kind = {a["alert"]: a for a in alerts}
    assert set(by_kind) == {"encounter_in_aoi", "dark_vessel"}
    assert by_kind["dark_vessel"]["mmsi"] == M_GAP
    assert by_kind["dark_vessel"]["last_utc"] == "2026-03-01T01:00:00.000Z"
    assert by_kind["encounter_in_aoi"]["mmsi"] == M_A and by_kind["encounter_in_aoi"]["other_mmsi"] == M_B


@pytest.mark.parametrize("name", ["libais_tagblock.nmea", "libais_test.aivdm"])
def test_recorded_files_replayed_store_what_load_stores(tmp_path, name):
    path = SHARED_DATA / "ais" / name
    if not path.is_file():
        pytest.skip(f"../shared/data/ais/{name} not present")
    ref_db, live_db = str(tmp_path / "ref.db"), str(tmp_path / "live.db")
    _load(path, ref_db)
    ref = _positions(ref_db)
    assert ref, "the recorded file carries timed positions"
    server = FeedServer([path.read_bytes()])
    r = _stream_cli(f"tcp://127.0.0.1:{server.port}", live_db, "--once")
    assert r.exit_code == 0, r.output
    assert _positions(live_db) == ref
    load = invoke(["ais", "load", str(path), "--db", str(tmp_path / "again.db")])
    _, _, summary = _lines_out(r.stdout)
    assert summary["issues"] == json.loads(load.stdout)["issues"]


# ---------------------------------------------------------------- alerts through the node
def test_alert_reaches_released_partner_only_and_restart_republishes_nothing(tmp_path):
    from kizuna.service import create_app
    from kizuna.share.federation import sync_partner
    from kizuna.share.loopback import ServerThread, free_port, write_coalition
    from kizuna.share.node import Node

    ports = {n: free_port() for n in ("JPN", "USA", "UKR")}
    cfgs = write_coalition(tmp_path, ports)
    jpn_db = str(tmp_path / "JPN.db")
    ports_csv = tmp_path / "sanctioned.csv"
    # the layout of the bundled sanctioned-port table: provenance notes first, then the header
    ports_csv.write_text(
        "# notes on the source\n# more notes\nname,country,lat_deg,lon_deg\n"
        "Far Port,XX,0.0,0.0\nTest Port,XX,25.03,150.15\n"
    )
    feed = tmp_path / "feed.nmea"
    feed.write_text(scenario_nmea())
    log = tmp_path / "events.jsonl"
    args = [
        "--once",
        "--aoi",
        AOI,
        "--sanctioned-ports",
        str(ports_csv),
        "--partners",
        str(cfgs["JPN"]),
        "--keys",
        str(tmp_path / "keys"),
        "--marking",
        "CONFIDENTIAL//REL TO USA, JPN",
        "--events",
        str(log),
    ]
    r = _stream_cli(str(feed), jpn_db, *args)
    assert r.exit_code == 0, r.output
    _, alerts, summary = _lines_out(r.stdout)
    kinds = sorted(a["alert"] for a in alerts)
    assert kinds == ["dark_vessel", "encounter_in_aoi", "gap_near_sanctioned_port"]
    port_alert = next(a for a in alerts if a["alert"] == "gap_near_sanctioned_port")
    assert port_alert["port"] == "Test Port" and port_alert["mmsi"] == M_GAP
    assert summary["published"] == 3 and summary["marking"].startswith("CONFIDENTIAL")

    nodes = {n: Node.open(str(tmp_path / f"{n}.db"), cfgs[n], tmp_path / "keys") for n in ports}
    server = ServerThread(create_app(nodes["JPN"]), ports["JPN"]).start()
    try:
        usa = sync_partner(nodes["USA"], nodes["USA"].config.partners["JPN"])
        ukr = sync_partner(nodes["UKR"], nodes["UKR"].config.partners["JPN"])
        assert usa.ingest.ingested == 3 and ukr.ingest.ingested == 0
        got = nodes["USA"].share.stored_row(alert_product_id("JPN", port_alert["key"]))
        assert got is not None
        # restart on the same feed and log: nothing new found, nothing republished
        r2 = _stream_cli(str(feed), jpn_db, *args)
        assert r2.exit_code == 0, r2.output
        ev2, al2, s2 = _lines_out(r2.stdout)
        assert ev2 == [] and al2 == [] and s2["published"] == 0
        assert sync_partner(nodes["USA"], nodes["USA"].config.partners["JPN"]).ingest.ingested == 0
    finally:
        server.stop()
        for node in nodes.values():
            node.catalog.close()


def test_restart_without_log_publishes_each_alert_once(tmp_path):
    """Without an events log the alerts are printed again, but their product ids come from the key,
    so the node holds each once."""
    from kizuna.share.loopback import free_port, write_coalition
    from kizuna.share.node import Node

    cfgs = write_coalition(tmp_path, {"JPN": free_port(), "USA": free_port()})
    feed = tmp_path / "feed.nmea"
    feed.write_text(scenario_nmea())
    db = str(tmp_path / "JPN.db")
    node_args = ["--partners", str(cfgs["JPN"]), "--keys", str(tmp_path / "keys"), "--aoi", AOI]
    first = _lines_out(_stream_cli(str(feed), db, "--once", *node_args).stdout)[2]
    second = _lines_out(_stream_cli(str(feed), db, "--once", *node_args).stdout)[2]
    assert (first["published"], second["alerts"], second["published"]) == (2, 2, 0)
    node = Node.open(db, cfgs["JPN"], tmp_path / "keys")
    try:
        assert node.share.count() == 2
    finally:
        node.catalog.close()


# ---------------------------------------------------------------- transports
def test_tcp_reconnects_after_server_drop(tmp_path):
    text = scenario_nmea().encode()
    cut = text.index(b"\n", len(text) // 2) + 1
    server = FeedServer([text[:cut], text[cut:]])
    feed = tmp_path / "feed.nmea"
    feed.write_bytes(text)
    ref_db, live_db = str(tmp_path / "ref.db"), str(tmp_path / "live.db")
    _load(feed, ref_db)
    r = _stream_cli(f"tcp://127.0.0.1:{server.port}", live_db, "--idle-exit-s", "2", "--retry-max-s", "0.2")
    assert r.exit_code == 0, r.output
    _, _, summary = _lines_out(r.stdout)
    assert server.served == 2 and summary["reconnects"] >= 1
    assert summary["stopped_by"] == "idle"
    assert "connection closed by the server; retry 1" in r.stderr
    assert _positions(live_db) == _positions(ref_db)


def test_tcp_gives_up_after_max_retries(tmp_path):
    from kizuna.share.loopback import free_port

    port = free_port()  # nothing listens there
    r = _stream_cli(
        f"tcp://127.0.0.1:{port}", str(tmp_path / "x.db"), "--max-retries", "2", "--retry-max-s", "0.05"
    )
    assert r.exit_code == 0, r.output
    _, _, summary = _lines_out(r.stdout)
    assert summary["stopped_by"].startswith("gave up after 2 retries") and summary["connections"] == 0
    assert r.stderr.count("cannot connect") == 3  # two retries announced, then the give-up


def _run_in_thread(stream: AisStream) -> threading.Thread:
    th = threading.Thread(target=stream.run, daemon=True)
    th.start()
    return th


def _wait(cond, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _stream(tmp_path: Path, source: str, db: str) -> AisStream:
    store = CatalogStore(db)
    cfg = StreamConfig(parse_source(source), flush_s=0.3, flush_messages=50)
    return AisStream(AisStore(store), cfg, detector_for(["gap", "encounter"], shore=None))


def test_udp_datagrams(tmp_path):
    from kizuna.share.loopback import free_port

    feed = tmp_path / "feed.nmea"
    feed.write_text(scenario_nmea())
    lines = feed.read_text().splitlines()
    ref_db, live_db = str(tmp_path / "ref.db"), str(tmp_path / "live.db")
    _load(feed, ref_db)
    port = free_port()
    stream = _stream(tmp_path, f"udp://127.0.0.1:{port}", live_db)
    th = _run_in_thread(stream)
    _wait(lambda: stream.status.connections == 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for k in range(0, len(lines), 7):  # several sentences per datagram, the last without "\n"
            tx.sendto("\n".join(lines[k : k + 7]).encode(), ("127.0.0.1", port))
            if k % 140 == 0:
                time.sleep(0.01)  # let the reader keep up (loopback UDP drops when the buffer fills)
    _wait(lambda: stream.status.lines == len(lines))
    stream.stop.set()
    th.join(20)
    assert stream.status.stopped_by == "signal"
    assert _positions(live_db) == _positions(ref_db)


def test_file_follow_appends_partial_lines_and_truncation(tmp_path):
    feed = tmp_path / "live.nmea"
    text = scenario_nmea()
    lines = text.splitlines(keepends=True)
    half = len(lines) // 2
    feed.write_text("".join(lines[:half]))
    ref = tmp_path / "ref.nmea"
    ref.write_text(text)
    ref_db, live_db = str(tmp_path / "ref.db"), str(tmp_path / "live.db")
    _load(ref, ref_db)
    stream = _stream(tmp_path, f"file:{feed}", live_db)
    th = _run_in_thread(stream)
    _wait(lambda: stream.status.lines == half)
    with feed.open("a") as fh:  # a writer flushing half a sentence first
        fh.write(lines[half][:20])
        fh.flush()
        time.sleep(0.6)
        fh.write(lines[half][20:] + "".join(lines[half + 1 :]))
    _wait(lambda: stream.status.lines == len(lines))
    assert stream.status.issues == 0  # the cut sentence was joined, not reported
    feed.write_text("".join(lines[:10]))  # truncated and rewritten (a rotated log): read again
    _wait(lambda: stream.status.lines == len(lines) + 10)
    stream.stop.set()
    th.join(20)
    assert stream.status.reconnects == 1
    assert _positions(live_db) == _positions(ref_db)


def test_sigterm_flushes_what_it_holds(tmp_path):
    feed = tmp_path / "feed.nmea"
    feed.write_text(scenario_nmea())
    ref_db, live_db = str(tmp_path / "ref.db"), str(tmp_path / "live.db")
    _load(feed, ref_db)
    cmd = [sys.executable, "-m", "kizuna", "ais", "stream", str(feed), "--db", live_db, "--no-shore"]
    cmd += ["--flush-s", "3600", "--flush-messages", "1000000", "--status-s", "0.2"]
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    read_all = threading.Event()
    want = f"{len(feed.read_text().splitlines())} lines"

    def watch() -> None:  # the status line shows every line read (nothing stored yet)
        assert proc.stderr is not None
        for line in proc.stderr:
            if want in line:
                read_all.set()

    threading.Thread(target=watch, daemon=True).start()
    try:
        assert read_all.wait(60), "the stream never reported reading the whole file"
        assert _positions(live_db) == []  # held in memory: --flush-s 3600
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0
    summary = json.loads(out.splitlines()[-1])["summary"]
    assert summary["stopped_by"] == "signal" and summary["batches"] == 1
    assert _positions(live_db) == _positions(ref_db)


# ---------------------------------------------------------------- bounded memory
def test_vessel_and_window_caps_hold_under_a_long_stream():
    limits = StreamLimits(max_vessels=50, window_s=3600.0, max_points_per_vessel=20)
    calls: list[int] = []

    def detector(p: PositionArrays) -> list:
        calls.append(len(p))
        return []

    inc = IncrementalEvents(detector, limits)
    rng = np.random.default_rng(7)
    t0 = np.datetime64("2026-03-01T00:00:00", "ns")
    n_vessels, per_batch = 2000, 500
    for b in range(200):  # 100,000 reports from 2,000 vessels, 10 s apart per batch
        m = rng.integers(100_000_000, 100_000_000 + n_vessels, per_batch)
        t = t0 + np.timedelta64(10 * b, "s") + rng.integers(0, 10_000, per_batch).astype("timedelta64[ms]")
        z = np.zeros(per_batch)
        inc.add(
            PositionArrays(m, t, rng.uniform(-60, 60, per_batch), rng.uniform(-180, 180, per_batch), z, z, z)
        )
        inc.update()
        assert len(inc) <= 50
        assert max(len(w.t_ns) for w in inc._windows.values()) <= 20
        assert inc.points <= limits.max_vessels * limits.max_points_per_vessel
    assert inc.evicted > 1000 and max(calls) <= 50 * 20
    assert limits.max_bytes == 50 * 20 * 48
    # the window also bounds time: nothing older than window_s before each vessel's newest report
    for w in inc._windows.values():
        assert (w.t_ns[-1] - w.t_ns[0]) <= 3600 * 10**9


def test_events_close_once_and_keys_survive_a_restart():
    """A loitering run is reported when the vessel has moved on (closed), exactly once, and an
    instance seeded with the reported keys reports nothing again."""
    t0 = np.datetime64("2026-03-01T00:00:00", "ns")
    minutes = np.arange(0, 300, 5)
    sog = np.where((minutes >= 60) & (minutes < 180), 0.5, 10.0)
    lon = 150.0 + np.cumsum(sog) * 5 / 60 / 60 / 0.91
    p = PositionArrays(
        np.full(len(minutes), 555000000),
        t0 + minutes.astype("timedelta64[m]"),
        np.full(len(minutes), 25.0),
        lon,
        sog,
        np.full(len(minutes), 90.0),
        np.full(len(minutes), np.nan),
    )
    det = detector_for(["loitering"], shore=None)
    inc = IncrementalEvents(det)
    reported = []
    for k in range(0, len(p), 4):
        inc.add(p.take(np.arange(k, min(k + 4, len(p)))))
        reported += inc.update().closed
    assert [(e.kind, str(e.start_utc)[:16]) for e in reported] == [("loitering", "2026-03-01T01:00")]
    assert inc.update(final=True).closed == []
    again = IncrementalEvents(det)
    from kizuna.maritime.incremental import event_key

    again.remember([event_key(e) for e in reported])
    again.add(p)
    assert again.update(final=True).closed == []
    assert det(p)[0].start_utc == reported[0].start_utc  # same as the batch detector on everything


# ---------------------------------------------------------------- sources
@pytest.mark.parametrize(
    ("text", "kind", "host", "port"),
    [
        ("tcp://127.0.0.1:10110", "tcp", "127.0.0.1", 10110),
        ("UDP://0.0.0.0:1", "udp", "0.0.0.0", 1),
        ("tcp://[::1]:65535", "tcp", "::1", 65535),
        ("tcp://ais.example.org:5631/", "tcp", "ais.example.org", 5631),
    ],
)
def test_parse_source(text, kind, host, port):
    s = parse_source(text)
    assert (s.kind, s.host, s.port) == (kind, host, port)


def test_parse_source_files_and_refusals():
    assert parse_source("file:/tmp/x.nmea").path == Path("/tmp/x.nmea")
    assert parse_source("file:///tmp/x.nmea").path == Path("/tmp/x.nmea")
    assert parse_source("feed.nmea").kind == "file"
    for bad in ("http://h:1", "tcp://h:0", "tcp://h:65536", "tcp://h", "tcp://:80", "udp://h:x", "", "file:"):
        with pytest.raises(StreamSourceError):
            parse_source(bad)


# ---------------------------------------------------------------- defaults: the land mask on
def test_replay_with_the_land_mask_equals_events_with_it(tmp_path):
    """The default run (GLOBE shore conditions on) finds what `ais events` finds with them on; the
    gap vessel at 25N 150E is far offshore, so its gap and the dark-vessel alert stand."""
    feed = tmp_path / "feed.nmea"
    feed.write_text(scenario_nmea())
    db = str(tmp_path / "live.db")
    r = invoke(["ais", "stream", str(feed), "--db", db, "--once", "--flush-messages", "37"])
    assert r.exit_code == 0, r.output
    events, alerts, _ = _lines_out(r.stdout)
    batch = invoke(["ais", "events", "--db", db, "-f", "json"])
    assert batch.exit_code == 0, batch.output
    ref = sorted(_ev(e) for e in json.loads(batch.stdout)["events"])
    assert sorted(_ev(e) for e in events) == ref
    assert ("gap", None, M_GAP) in {(e[0], e[1], e[2]) for e in ref}
    assert all("shore condition applied" in e["definition"] for e in events if e["type"] == "gap")
    dark = [a for a in alerts if a["alert"] == "dark_vessel"]
    assert [a["mmsi"] for a in dark] == [M_GAP] and dark[0]["shore_distance_km"] > 50 * 1.852


def test_dark_alert_needs_the_offshore_distance(tmp_path):
    """With a shore model placing every point 10 nm from shore, the 50 nm rule holds the dark-vessel
    alert back; at 0 nm it fires."""

    class Shore:
        def __init__(self, nm: float):
            self.m = nm * 1852.0

        def distance_to_shore_m(self, lat, lon):
            return np.full(np.shape(lat), self.m)

        def is_land(self, lat, lon):
            return np.zeros(np.shape(lat), bool)

    feed = tmp_path / "feed.nmea"
    feed.write_text(scenario_nmea())
    for nm, min_nm, expected in ((10.0, 50.0, []), (10.0, 0.0, [M_GAP])):
        store = CatalogStore(str(tmp_path / f"s{nm}_{min_nm}.db"))
        from kizuna.ops.ais_stream import AlertRules

        cfg = StreamConfig(
            parse_source(f"file:{feed}"), once=True, rules=AlertRules(dark_min_shore_nm=min_nm)
        )
        alerts: list[dict] = []
        AisStream(
            AisStore(store),
            cfg,
            detector_for(["gap"], shore=None),
            shore=Shore(nm),
            on_alert=alerts.append,
        ).run()
        store.close()
        assert [a["mmsi"] for a in alerts if a["alert"] == "dark_vessel"] == expected


def test_arrival_time_stamps_untimed_reports(tmp_path):
    """Untimed NMEA stores nothing (as `ais load`); --arrival-time stamps the read time instead."""
    lines = [
        encode_dict({"type": 1, "mmsi": 200000000 + k, "lat": 35.0, "lon": 139.0 + k / 100}, talker_id="AI")[
            0
        ]
        for k in range(20)
    ]
    feed = tmp_path / "untimed.nmea"
    feed.write_text("\n".join(lines) + "\n")
    plain = _lines_out(_stream_cli(str(feed), str(tmp_path / "a.db"), "--once").stdout)[2]
    assert (plain["positions_loaded"], plain["positions_untimed"]) == (0, 20)
    before = np.datetime64("now", "ns")
    r = _stream_cli(str(feed), str(tmp_path / "b.db"), "--once", "--arrival-time")
    stamped = _lines_out(r.stdout)[2]
    assert (stamped["positions_loaded"], stamped["positions_untimed"]) == (20, 0)
    times = {p[1] for p in _positions(str(tmp_path / "b.db"))}
    assert all(int(before.astype("int64")) - 10**9 <= t <= time.time_ns() for t in times)


def test_vessel_cap_through_the_command(tmp_path):
    """300 vessels through a cap of 20: at most 20 held, 280 evicted, every position still stored."""
    rows = []
    for k in range(5):
        t = T0 + timedelta(minutes=10 * k)
        for v in range(300):
            rows.append(_line(t, 300000000 + v, 10.0 + v / 100, 120.0 + k / 100, 5.0))
    feed = tmp_path / "many.nmea"
    feed.write_text("\n".join(rows) + "\n")
    r = _stream_cli(str(feed), str(tmp_path / "m.db"), "--once", "--max-vessels", "20", "--max-points", "3")
    assert r.exit_code == 0, r.output
    s = _lines_out(r.stdout)[2]
    assert s["vessels_tracked"] == 20 and s["vessels_evicted"] >= 280
    assert s["points_in_windows"] <= 20 * 3 and s["positions_loaded"] == 1500
    assert s["memory_bound_bytes"] == 20 * 3 * 48
