"""Three nodes (JPN, USA, UKR) on real loopback sockets: a full releasability sweep after sync, and a
crash of the pulling node plus a restart of the serving node mid-sync converging with no loss and no
duplicates. The expected holdings are computed by an independent brute-force statement of the rule."""

from __future__ import annotations

import random

import httpx
import pytest

from kizuna.service import create_app
from kizuna.share.federation import Backoff, SyncError, sync_partner
from kizuna.share.loopback import NODE_PROFILES, ServerThread, free_port, write_coalition
from kizuna.share.markings import Classification, Marking
from kizuna.share.node import Node
from kizuna.share.products import Product

NODES = ("JPN", "USA", "UKR")
N_PER_NODE = 700
COMMUNITIES = {"QUAD": {"AUS", "IND", "JPN", "USA"}, "FVEY": {"AUS", "CAN", "GBR", "NZL", "USA"}}


def random_marking(rng: random.Random, owner: str) -> Marking:
    level = Classification(rng.randrange(4))
    caveats = set(rng.sample(["ORCON", "PROPIN"], rng.randrange(3))) if level else set()
    if rng.random() < 0.1 and level:
        return Marking(level, frozenset(), frozenset(caveats | {"NOFORN"}))
    if level == 0 and rng.random() < 0.5:
        return Marking(level, frozenset(), frozenset(rng.sample(["PROPIN"], rng.randrange(2))))
    rel = set(rng.sample(["USA", "JPN", "UKR", "GBR", "IND", "QUAD", "FVEY"], rng.randint(1, 3))) | {owner}
    return Marking(level, frozenset(rel), frozenset(caveats)).validate()


def expected_holders(m: Marking, originator: str) -> set[str]:
    out = {originator}
    for n in NODES:
        clearance, accesses = NODE_PROFILES[n]
        if "NOFORN" in m.caveats:
            nations = {originator}
        elif m.releasable_to:
            nations = set().union(*(COMMUNITIES.get(x, {x}) for x in m.releasable_to))
        else:
            nations = set(NODES)
        if (
            n in nations
            and Classification.parse(clearance) >= m.classification
            and all(c in accesses for c in m.caveats - {"NOFORN"})
        ):
            out.add(n)
    return out


@pytest.fixture
def coalition(tmp_path, store):
    """JPN and UKR on SQLite files; USA on the conftest `store` (SQLite, then PostgreSQL)."""
    from kizuna.share.node import NodeConfig
    from kizuna.share.signing import Signer, load_private_key

    ports = {n: free_port() for n in NODES}
    cfgs = write_coalition(tmp_path, ports)
    nodes = {n: Node.open(str(tmp_path / f"{n}.db"), cfgs[n], tmp_path / "keys") for n in ("JPN", "UKR")}
    nodes["USA"] = Node(
        store,
        NodeConfig.load(cfgs["USA"]),
        Signer("USA", load_private_key(tmp_path / "keys" / "USA.key.pem")),
    )
    servers = {n: ServerThread(create_app(nodes[n]), ports[n]).start() for n in NODES}
    yield tmp_path, ports, cfgs, nodes, servers
    for s in servers.values():
        s.stop()
    for n, node in nodes.items():
        if n != "USA":  # the fixture owns USA's store
            node.catalog.close()


def test_three_node_sweep_and_crash_restart_converge(coalition):
    tmp, ports, cfgs, nodes, servers = coalition
    rng = random.Random(20261125)
    expected: dict[str, set[tuple[str, int]]] = {n: set() for n in NODES}
    for origin in NODES:
        batch = []
        for i in range(N_PER_NODE):
            m = random_marking(rng, origin)
            p = Product.new(
                rng.choice(["element_set", "conjunction", "maneuver"]),
                {"i": i, "by": origin},
                m,
                origin,
                objects=(rng.randrange(1, 60000),),
            )
            batch.append(p)
            for n in expected_holders(m, origin):
                expected[n].add((p.id, 1))
        nodes[origin].publish_many(batch, actor=f"analyst-{origin}")
    # Sanity of the random design: every node misses something and receives something.
    assert all(0 < len(expected[n]) < len(NODES) * N_PER_NODE for n in NODES)

    # UKR crashes after two pages from JPN (the exception stands in for the process dying) ...
    def crash(report):
        if report.pages == 2:
            raise KeyboardInterrupt("simulated crash")

    with pytest.raises(KeyboardInterrupt):
        sync_partner(nodes["UKR"], nodes["UKR"].config.partners["JPN"], limit=50, on_page=crash)
    # ... and restarts from its database; JPN's server goes down meanwhile, so UKR's retries give up.
    nodes["UKR"].catalog.close()
    nodes["UKR"] = Node.open(str(tmp / "UKR.db"), cfgs["UKR"], tmp / "keys")
    servers["JPN"].stop()
    with pytest.raises(SyncError, match="giving up"):
        sync_partner(
            nodes["UKR"],
            nodes["UKR"].config.partners["JPN"],
            limit=50,
            backoff=Backoff(attempts=2, base_s=0.05),
        )
    servers["JPN"] = ServerThread(create_app(nodes["JPN"]), ports["JPN"]).start()

    with httpx.Client(timeout=30) as client:
        for _round in range(2):  # the second round must be all no-ops
            for n in NODES:
                for partner in nodes[n].config.partners.values():
                    sync_partner(nodes[n], partner, client=client, limit=400)
        last = [
            sync_partner(nodes[n], p, client=client) for n in NODES for p in nodes[n].config.partners.values()
        ]
    assert all(r.ingest.ingested == 0 and not r.ingest.refused for r in last)

    for n in NODES:
        held = nodes[n].share.all_keys()
        assert len(held) == len(set(held)), f"{n} holds duplicates"
        assert set(held) == expected[n], (
            f"{n}: missing {len(expected[n] - set(held))}, extra {len(set(held) - expected[n])}"
        )
        report = nodes[n].audit.verify()
        assert report.ok, report.problems
