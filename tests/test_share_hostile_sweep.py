"""Four nodes on loopback sockets, two of them on PostgreSQL when it is reachable: JPN and UKR are honest,
USA is careless (its partners are configured with empty accesses) and IND is hostile (a modified node
that signs with its real key whatever it likes). IND forges versions of JPN's products, relays them with
widened markings, lowers the marking of its own product without a downgrade, squats an id JPN owns, sends
poison products and whole poison pages, answers HTML, and serves every product to everyone.

The honest nodes must hold exactly what the policy releases to them (an independent brute-force
statement of the rule), lose nothing, hold no duplicates, keep a verifying audit chain, and audit every
refusal of a hostile product."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from conftest import PG_URL, _postgres_reason
from kizuna.service import create_app
from kizuna.share.federation import SyncError, sync_partner
from kizuna.share.loopback import NODE_PROFILES, ServerThread, free_port, write_coalition
from kizuna.share.markings import Classification, Marking
from kizuna.share.node import Node
from kizuna.share.products import Product, canonical_json
from kizuna.share.signing import Signer, b64u, load_private_key

HONEST = ("JPN", "USA", "UKR")
HOSTILE = "IND"
CARELESS = "USA"
NODES = (*HONEST, HOSTILE)
N_PER_NODE = 120
COMMUNITIES = {"QUAD": {"AUS", "IND", "JPN", "USA"}, "FVEY": {"AUS", "CAN", "GBR", "NZL", "USA"}}


def random_marking(rng: random.Random, owner: str) -> Marking:
    level = Classification(rng.randrange(4))
    caveats = set(rng.sample(["ORCON", "PROPIN"], rng.randrange(3))) if level else set()
    if rng.random() < 0.1 and level:
        return Marking(level, frozenset(), frozenset(caveats | {"NOFORN"}))
    if level == 0 and rng.random() < 0.5:
        return Marking(level, frozenset(), frozenset(rng.sample(["PROPIN"], rng.randrange(2))))
    pool = ["USA", "JPN", "UKR", "GBR", "IND", "QUAD", "FVEY"]
    rel = set(rng.sample(pool, rng.randint(1, 3))) | {owner}
    return Marking(level, frozenset(rel), frozenset(caveats)).validate()


def admits(nation: str, clearance: str, accesses: list[str], m: Marking, originator: str) -> bool:
    """The release rule, stated independently of kizuna.share.policy."""
    if "NOFORN" in m.caveats:
        nations = {originator}
    elif m.releasable_to:
        nations = set().union(*(COMMUNITIES.get(x, {x}) for x in m.releasable_to))
    else:
        nations = set(NODES)
    return (
        nation in nations
        and Classification.parse(clearance) >= m.classification
        and all(c in accesses for c in m.caveats - {"NOFORN"})
    )


def expected_holders(m: Marking, originator: str) -> set[str]:
    """Honest nodes that end up holding a product: the originator, and every node the policy admits that
    the originator releases it to (a careless originator releases nothing that needs an access; a relay
    can never add a node the originator's own release would not reach)."""
    out = {originator} if originator in HONEST else set()
    for n in HONEST:
        clearance, accesses = NODE_PROFILES[n]
        if not admits(n, clearance, accesses, m, originator):
            continue
        if originator == CARELESS and m.caveats - {"NOFORN"}:
            continue
        out.add(n)
    return out


def forge(signer: Signer, doc: dict[str, object]) -> dict[str, object]:
    """What a modified node can emit: any document, signed with its own real key."""
    marking = doc["marking"]
    assert isinstance(marking, dict)
    banner = Marking(
        Classification.parse(str(marking["classification"])),
        frozenset(marking["releasable_to"]),
        frozenset(marking["caveats"]),
        marking.get("owner"),
    ).banner()
    return {
        "product": doc,
        "banner": banner,
        "signature": {
            "alg": "Ed25519",
            "key_id": signer.key_id,
            "value": b64u(signer.key.sign(canonical_json({"kizuna_product": 1, **doc}))),
        },
    }


class HostileFeed:
    """IND's modified server: a sequence of pages on whatever feed path is asked for; the first request
    answers an HTML error page with status 200. Every other path is 404."""

    def __init__(self, pages: list[list[object]]):
        self.pages = pages
        self.requests: list[str | None] = []
        self.app = FastAPI()
        self.app.add_api_route("/{path:path}", self.serve, methods=["GET"])

    async def serve(self, path: str, request: Request) -> Response:
        nxt = request.query_params.get("next")
        self.requests.append(nxt)
        if "objects" not in path:
            return JSONResponse({"title": "not found"}, status_code=404)
        if len(self.requests) == 1:
            return HTMLResponse("<html><body>502 Bad Gateway</body></html>")
        index = int(nxt or 0)
        objects = self.pages[index] if index < len(self.pages) else []
        return Response(
            json.dumps({"more": index + 1 < len(self.pages), "next": str(index + 1), "objects": objects}),
            media_type="application/json",
        )


@pytest.fixture
def coalition(tmp_path: Path) -> Iterator[tuple[Path, dict[str, Node], dict[str, ServerThread], dict]]:
    ports = {n: free_port() for n in NODES}
    cfgs = write_coalition(tmp_path, ports)
    # The careless node: its partners are listed with empty accesses (once read as "every caveat").
    careless = yaml.safe_load(cfgs[CARELESS].read_text())
    for partner in careless["partners"]:
        partner["accesses"] = []
    cfgs[CARELESS].write_text(yaml.safe_dump(careless, sort_keys=False, allow_unicode=True))

    schemas: list[str] = []
    use_pg = _postgres_reason() is None

    def database(n: str) -> str:
        if not use_pg or n not in ("USA", "UKR"):
            return str(tmp_path / f"{n}.db")
        import psycopg

        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        schemas.append(schema)
        return f"{PG_URL}?options=-csearch_path%3D{schema}"

    nodes = {n: Node.open(database(n), cfgs[n], tmp_path / "keys") for n in HONEST}
    servers = {n: ServerThread(create_app(nodes[n]), ports[n]).start() for n in HONEST}
    hostile_signer = Signer(HOSTILE, load_private_key(tmp_path / "keys" / f"{HOSTILE}.key.pem"))
    state = {"ports": ports, "signer": hostile_signer, "pg": use_pg}
    try:
        yield tmp_path, nodes, servers, state
    finally:
        for s in servers.values():
            s.stop()
        for node in nodes.values():
            node.catalog.close()
        if schemas:
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                for schema in schemas:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def sync_round(nodes: dict[str, Node]) -> None:
    for n in HONEST:
        for partner in nodes[n].config.partners.values():
            try:
                sync_partner(nodes[n], partner, limit=60)
            except SyncError:
                assert partner.id == HOSTILE, f"{n} failed to sync honest {partner.id}"


def test_four_node_sweep_with_a_hostile_and_a_careless_node(coalition):
    tmp, nodes, servers, state = coalition
    rng = random.Random(20261130)
    expected: dict[str, set[tuple[str, int]]] = {n: set() for n in HONEST}
    published: dict[str, list[Product]] = {}
    for origin in HONEST:
        batch = []
        for i in range(N_PER_NODE):
            m = random_marking(rng, origin)
            batch.append(
                Product.new(
                    rng.choice(["element_set", "conjunction", "maneuver"]),
                    {"i": i, "by": origin},
                    m,
                    origin,
                    objects=(rng.randrange(1, 60000),),
                )
            )
            for n in expected_holders(m, origin):
                expected[n].add((batch[-1].id, 1))
        nodes[origin].publish_many(batch, actor=f"analyst-{origin}")
        published[origin] = batch

    # JPN products the forgeries aim at: one every honest node holds, one UKR may not hold.
    everyone = next(p for p in published["JPN"] if expected_holders(p.marking, "JPN") == set(HONEST))
    squatted = Product.new(
        "element_set",
        {"i": "squatted"},
        Marking(Classification.SECRET, frozenset({"JPN", "USA"})),
        "JPN",
    )
    nodes["JPN"].publish_many([squatted], actor="analyst-JPN")
    expected["JPN"].add((squatted.id, 1))
    expected["USA"].add((squatted.id, 1))

    signer: Signer = state["signer"]
    legit: list[object] = []
    for i in range(N_PER_NODE):
        m = random_marking(rng, HOSTILE)
        p = Product.new("derived", {"i": i, "by": HOSTILE}, m, HOSTILE)
        legit.append(signer.sign_product(p))
        for n in HONEST:
            if admits(n, *NODE_PROFILES[n], m, HOSTILE):
                expected[n].add((p.id, 1))
    # IND's own product, then a version that silently lowers its marking (no signed downgrade_of).
    own = Product.new(
        "derived", {"v": 1}, Marking(Classification.SECRET, frozenset({"IND", "JPN", "USA", "UKR"})), HOSTILE
    )
    lowered = own.next_version(marking=Marking(Classification.UNCLASSIFIED))
    for n in HONEST:
        expected[n].add((own.id, 1))

    def doc_of(p: Product, **changes: object) -> dict[str, object]:
        return {**p.document(), **changes}

    # JPN's real signed product with its label lowered and the banner to match: only the signature is off.
    widened = json.loads(json.dumps(nodes["JPN"].signer.sign_product(everyone)))
    lower = Marking(Classification.UNCLASSIFIED)
    widened["product"]["marking"] = lower.as_label()
    widened["banner"] = lower.banner()
    deep: dict[str, object] = {}
    cursor = deep
    for _ in range(300):
        cursor["d"] = {}
        cursor = cursor["d"]  # type: ignore[assignment]

    forged = {
        # a version of JPN's product claiming JPN as originator, signed by IND's key
        "claims JPN": forge(signer, doc_of(everyone, version=2, payload={"forged": True})),
        # a version of JPN's product under IND's own name
        "versions JPN's id": forge(signer, doc_of(everyone, version=2, originator=HOSTILE)),
        # an id IND does not own, first seen by UKR from IND
        "squats JPN's id": forge(
            signer,
            doc_of(squatted, originator=HOSTILE, marking=Marking(Classification.UNCLASSIFIED).as_label()),
        ),
        # JPN's signed product relayed with its marking lowered
        "relays JPN's product widened": widened,
        "lowers its own marking": signer.sign_product(lowered),
        "deep payload": forge(signer, doc_of(own, id=f"product--{uuid.uuid4()}", payload=deep)),
        "huge version": forge(signer, doc_of(own, id=f"product--{uuid.uuid4()}", version=2**63)),
        "long id": forge(signer, doc_of(own, id="p" * 200)),
    }
    pages: list[list[object]] = [
        legit[:40],
        [signer.sign_product(own), *forged.values(), "not a product", {"product": []}],
        ["poison", {"product": {"id": "x" * 500, "version": -1}}, 7],  # a whole page of poison
        legit[40:],
    ]
    hostile = HostileFeed(pages)
    hostile_server = ServerThread(hostile.app, state["ports"][HOSTILE]).start()
    try:
        sync_round(nodes)  # the HTML answer fails one sync with IND; nothing else
        sync_round(nodes)
        # JPN widens the squatted id's release to UKR with an audited downgrade: UKR must receive it.
        analyst = nodes["JPN"].config.users[0].subject
        nodes["JPN"].downgrade(
            squatted.id,
            Marking(Classification.SECRET, frozenset({"JPN", "USA", "UKR"})),
            actor=analyst,
            justification="releasable to UKR after review",
        )
        for n in HONEST:
            expected[n].add((squatted.id, 2))
        sync_round(nodes)
        sync_round(nodes)
    finally:
        hostile_server.stop()

    assert sum(1 for r in hostile.requests if r is None) >= 1
    forged_keys = {
        (d["product"]["id"], d["product"]["version"])  # type: ignore[index]
        for d in forged.values()
        if isinstance(d["product"]["id"], str)
        and len(d["product"]["id"]) <= 80  # type: ignore[index]
        and d["product"]["version"] < 2**31  # type: ignore[index]
    }
    for n in HONEST:
        held = nodes[n].share.all_keys()
        assert len(held) == len(set(held)), f"{n} holds duplicates"
        missing, extra = expected[n] - set(held), set(held) - expected[n]
        assert not missing and not extra, f"{n}: missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]}"
        report = nodes[n].audit.verify()
        assert report.ok, report.problems
        refusals = [
            r
            for r in nodes[n].share.audit_rows()
            if r["event"] == "refusal" and r["actor"] == f"node:{HOSTILE}"
        ]
        refused_keys = {(r["product_id"], r["version"]) for r in refusals}
        assert forged_keys <= refused_keys, f"{n}: forgeries not audited: {forged_keys - refused_keys}"
        # the poison that cannot be named is still audited, one entry per object, with its digest
        anonymous = [r for r in refusals if r["product_id"] is None]
        assert len(anonymous) >= 6, f"{n}: {len(anonymous)} anonymous refusals"
        assert all("sha256" in json.loads(str(r["detail"])) for r in anonymous)
        # over-released IND products the node may not hold are refused and audited, not stored
        not_for_n = {
            (d["product"]["id"], 1)  # type: ignore[index]
            for d in legit
            if (d["product"]["id"], 1) not in expected[n]  # type: ignore[index]
        }
        assert not_for_n <= refused_keys
