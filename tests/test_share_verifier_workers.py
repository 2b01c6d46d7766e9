"""Every check of a received product in the verifier pool's workers: the workers give the very verdicts
(and refusal reasons) this process gives, and never check with a key the node no longer trusts."""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kizuna.share.loopback import free_port, write_coalition
from kizuna.share.markings import parse_banner
from kizuna.share.node import Node, NodeConfig
from kizuna.share.products import Product
from kizuna.share.signing import IntegrityError, Signer, load_private_key
from kizuna.share.verifier import Verdicts, VerifierPool, start_verification
from kizuna.store import CatalogStore


@pytest.fixture(scope="module")
def pool():
    p = VerifierPool(workers=1, min_batch=1, chunk=3)
    yield p
    p.close()


@pytest.fixture
def usa_jpn(tmp_path):
    cfgs = write_coalition(tmp_path, {"JPN": free_port(), "USA": free_port()})
    store = CatalogStore(str(tmp_path / "kizuna.db"))
    usa = Node(
        store,
        NodeConfig.load(cfgs["USA"]),
        Signer("USA", load_private_key(tmp_path / "keys" / "USA.key.pem")),
    )
    jpn = Signer("JPN", load_private_key(tmp_path / "keys" / "JPN.key.pem"))
    yield usa, jpn
    store.close()


def _product(pid: str, payload: dict[str, object], originator: str = "JPN") -> Product:
    return Product(
        pid, 1, "conjunction", datetime.now(UTC), originator, payload, parse_banner("SECRET//REL TO USA, JPN")
    )


def _received(signed: dict[str, object]) -> dict[str, object]:
    return json.loads(json.dumps(signed))


def _hostile_batch(jpn: Signer) -> list[object]:
    """Good products (with floats whose canonical form differs from Python's) and one of each refusal."""
    good = [
        _received(jpn.sign_product(_product(f"g{i}", {"pc": 1e-5 * (i + 1), "miss_km": 5.0, "i": i})))
        for i in range(5)
    ]
    tampered = copy.deepcopy(good[0])
    tampered["product"]["payload"]["i"] = -1  # the signature no longer covers it
    extra = copy.deepcopy(good[1])
    extra["product"]["note"] = "unsigned member"  # not in the one canonical form
    banner = copy.deepcopy(good[2])
    banner["banner"] = "UNCLASSIFIED"  # banner beside the document differs from the signed label
    unknown = _received(Signer("JPN", Ed25519PrivateKey.generate()).sign_product(_product("u1", {"i": 1})))
    claims = _received(jpn.sign_product(_product("c1", {"i": 1})))
    claims["product"]["originator"] = "USA"  # JPN's key, USA's name
    unsigned = copy.deepcopy(good[3])
    del unsigned["signature"]
    malformed = copy.deepcopy(good[4])
    malformed["product"]["version"] = "one"
    return [*good, tampered, extra, banner, unknown, claims, unsigned, malformed, "not a document"]


def _shown(verdicts: list[Product | IntegrityError]) -> list[object]:
    return [(v.product_id, v.version, v.reason) if isinstance(v, IntegrityError) else v for v in verdicts]


def test_the_workers_give_every_verdict_and_reason_given_here(usa_jpn, pool):
    usa, jpn = usa_jpn
    docs = _hostile_batch(jpn)
    here = start_verification(docs, usa.trust, usa.config.markings).result()
    job = pool.start(docs, usa.trust, usa.config.markings)
    assert job is not None
    deadline = time.monotonic() + 60
    while job.received < len(docs) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert job.received == len(docs)  # the worker claimed and answered every document itself
    by_workers = Verdicts([IntegrityError("not verified")] * len(docs), job).result()
    assert _shown(by_workers) == _shown(here)
    shared = start_verification(docs, usa.trust, usa.config.markings, pool=pool).result()
    assert _shown(shared) == _shown(here)
    assert [v.id for v in here if isinstance(v, Product)] == [f"g{i}" for i in range(5)]
    reasons = [v.reason for v in here if isinstance(v, IntegrityError)]
    assert len(reasons) == 8
    assert reasons[0] == "bad signature" and reasons[1].startswith("not in canonical form")
    assert reasons[2].startswith("banner") and reasons[3].startswith("unknown signing key")
    assert reasons[4] == "signed by JPN's key but claims originator USA"
    assert reasons[5] == "unsigned product" and reasons[6].startswith("malformed product")
    assert reasons[7] == "not a signed product document"


def test_a_key_replaced_in_the_trust_store_is_the_one_the_workers_check_with(usa_jpn, pool):
    usa, jpn = usa_jpn
    old = [_received(jpn.sign_product(_product(f"o{i}", {"i": i}))) for i in range(4)]
    first = start_verification(old, usa.trust, usa.config.markings, pool=pool).result()
    assert all(isinstance(v, Product) for v in first)
    rotated = Signer("JPN", Ed25519PrivateKey.generate())
    usa.trust.add("JPN", rotated.key.public_key())  # same number of nodes, a new JPN key
    new = [_received(rotated.sign_product(_product(f"n{i}", {"i": i}))) for i in range(4)]
    forged = copy.deepcopy(new[0])
    forged["product"]["payload"]["i"] = 99
    docs = [*old, *new, forged]
    here = start_verification(docs, usa.trust, usa.config.markings).result()
    shared = start_verification(docs, usa.trust, usa.config.markings, pool=pool).result()
    assert _shown(shared) == _shown(here)
    assert [isinstance(v, Product) for v in shared] == [True] * 8 + [False]


def test_a_sync_through_the_workers_stores_what_a_sync_here_stores(usa_jpn, pool):
    usa, jpn = usa_jpn
    docs = _hostile_batch(jpn)
    usa.verifier_pool = pool
    rep = usa.ingest(docs, source="JPN")
    assert rep.ingested == 5 and len(rep.refused) == 8
    assert {r["product_id"] for r in usa.share.stored_rows()} == {f"g{i}" for i in range(5)}


def test_the_wire_a_worker_makes_is_the_one_made_here(usa_jpn, pool, tmp_path):
    from kizuna.share.signing import wire_text

    usa, jpn = usa_jpn
    docs = _hostile_batch(jpn)
    usa.verifier_pool = pool
    usa.ingest(docs, source="JPN")
    stored = {r["product_id"]: r["wire"] for r in usa.share.stored_rows()}
    assert stored == {d["product"]["id"]: wire_text(d) for d in docs[:5]}
    for wire in stored.values():
        assert isinstance(usa.verify_wire(wire), Product)  # served as stored, verifiable again


@pytest.mark.parametrize(
    "detail",
    [
        '{"reason":"1e-05 5.0 -0.0 1.5e+16","source":"JPN"}',
        '{"note":"\\u0000 \\" \\\\ \U0001f6f0 \u79d8 \u2028"}',
        "",
    ],
)
@pytest.mark.parametrize("version", [None, 1, 2**31 - 1])
def test_an_audit_entry_hashes_its_rfc_8785_bytes(detail, version):
    """The audit chain hashes RFC 8785 bytes of each entry (the reference serialiser here)."""
    import hashlib

    from kizuna.share.audit import entry_hash
    from kizuna.share.products import canonical_json

    prev = "ab" * 32
    members = {
        "seq": 7,
        "ts_utc": "2026-12-01T00:00:00.000000Z",
        "event": "ingest",
        "actor": "node:JPN \U0001f6f0",
        "product_id": "p-1",
        "version": version,
        "detail": detail,
    }
    expected = hashlib.sha256(bytes.fromhex(prev) + canonical_json(members)).hexdigest()
    got = entry_hash(prev, 7, members["ts_utc"], "ingest", members["actor"], "p-1", version, detail)
    assert got == expected


def test_a_stalled_worker_never_holds_a_page(usa_jpn):
    """Documents a worker has claimed but not answered (a worker starved of its core, or stopped) are
    checked here after the pool's stall time: the page is written with the same verdicts."""

    class Stalled(VerifierPool):
        def start(self, docs, trust, config, page=None):  # noqa: ANN001, ANN202
            self._started = lambda: []  # type: ignore[method-assign] # no worker is ever sent the batch
            job = super().start(docs, trust, config, page)
            assert job is not None
            half = len(docs) // 2
            with self.claims.get_lock():
                self.claims.get_obj()[3 * job.slot + 1] = half  # "claimed" by a worker that never answers
            return job

    usa, jpn = usa_jpn
    usa.verifier_pool = Stalled(workers=1, min_batch=1, stall_s=0.2)
    docs = _hostile_batch(jpn)
    t0 = time.monotonic()
    rep = usa.ingest(docs, source="JPN")
    # waited the stall time for the "claimed" half (the batch went through the pool), then no longer
    assert 0.2 <= time.monotonic() - t0 < 20
    assert rep.ingested == 5 and len(rep.refused) == 8
    assert {r["product_id"] for r in usa.share.stored_rows()} == {f"g{i}" for i in range(5)}


def test_a_worker_killed_mid_batch_costs_speed_never_a_verdict(usa_jpn):
    import os
    import signal

    pool = VerifierPool(workers=1, min_batch=1, chunk=1, stall_s=30.0)
    try:
        usa, jpn = usa_jpn
        docs = _hostile_batch(jpn) * 20
        here = start_verification(docs, usa.trust, usa.config.markings).result()
        pids = [w.process.pid for w in pool._started()]
        job = pool.start(docs, usa.trust, usa.config.markings)
        assert job is not None
        while job.received == 0:
            time.sleep(0.001)
        os.kill(pids[0], signal.SIGKILL)  # after it claimed and answered at least one document
        t0 = time.monotonic()
        shared = Verdicts([IntegrityError("not verified")] * len(docs), job).result()
        assert time.monotonic() - t0 < 20  # not the stall time: a dead worker is seen at once
        assert _shown(shared) == _shown(here)
        # the next batch starts a fresh worker
        again = start_verification(docs, usa.trust, usa.config.markings, pool=pool).result()
        assert _shown(again) == _shown(here)
        assert pool.worker_pids() and pool.worker_pids() != pids
    finally:
        pool.close()


def test_workers_reading_the_feed_page_itself_give_the_verdicts_given_here(usa_jpn, pool):
    """A sync ships the page's bytes, not the parsed documents: the workers read it as the caller did
    and check the same documents (those after the ones refused before checking)."""
    from kizuna.share.verifier import parse_page

    usa, jpn = usa_jpn
    docs = _hostile_batch(jpn)
    body = json.dumps({"objects": [{"x": 1}, *docs, {"product": {"id": "p" * 81}}], "more": False}).encode()
    objects = parse_page(body)["objects"]
    positions = list(range(1, len(docs) + 1))
    good = [objects[i] for i in positions]
    here = start_verification(good, usa.trust, usa.config.markings).result()
    job = pool.start(good, usa.trust, usa.config.markings, page=(body, positions))
    assert job is not None
    deadline = time.monotonic() + 60
    while job.received < len(good) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert job.received == len(good)  # every document checked by the worker, from the bytes
    verdicts = Verdicts([IntegrityError("not verified")] * len(good), job)
    by_workers = verdicts.result()
    assert _shown(by_workers) == _shown(here)
    accepted = [i for i, v in enumerate(by_workers) if isinstance(v, Product)]
    assert accepted == list(range(5)) and set(verdicts.wires) == set(accepted)


def test_help_checks_from_the_back_while_the_workers_go_on_from_the_front(usa_jpn, pool):
    """A sync waiting for its next page checks the page behind with the workers (Verdicts.help): the
    verdicts are those given here, each document checked once, by one side or the other."""
    usa, jpn = usa_jpn
    docs = _hostile_batch(jpn) * 8
    here = start_verification(docs, usa.trust, usa.config.markings).result()
    shared = start_verification(docs, usa.trust, usa.config.markings, pool=pool)
    job = shared._job
    assert job is not None
    helped = 0
    while shared.help():
        helped += 1
    assert helped >= 1 and not shared.help()  # nothing left to claim once help says so
    assert job.here_from < len(docs) and all(job.settled[job.here_from :])
    assert _shown(shared.result()) == _shown(here)
    assert not start_verification(docs[:1], usa.trust, usa.config.markings).help()  # checked already
