"""The node's TAXII 2.1 interface, read and written by the OASIS reference client (taxii2-client 2.3.0,
`taxii2client.v21`) over a loopback socket as any TAXII consumer would, plus direct requests for what the
client does not show: media types and negotiation (406, 415), the X-TAXII-Date-Added headers, error
messages, releasability (no existence oracle), and the federation sync that pulls the same collection.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
import requests
import yaml
from taxii2client.exceptions import AccessError
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from kizuna.service import create_app
from kizuna.service.app import MAX_BODY_BYTES
from kizuna.service.responses import accepts_taxii, is_taxii_content_type
from kizuna.share.federation import node_auth_headers, sync_partner
from kizuna.share.loopback import ServerThread, free_port, write_coalition
from kizuna.share.markings import parse_banner
from kizuna.share.node import Node
from kizuna.share.products import Product, iso_z
from kizuna.share.taxii import collection_id, objects_path
from kizuna.store.taxii_status import TaxiiStatusStore

TAXII = "application/taxii+json;version=2.1"
PRODUCT_TYPE = "application/vnd.kizuna.product+json;version=1"
ANALYST = "token-JPN"  # JPN, SECRET + ORCON, publisher
LIAISON = "token-ukr-liaison"  # UKR, SECRET, no role
LOW_PUBLISHER = "token-conf-publisher"  # JPN, CONFIDENTIAL, publisher


class Bearer(requests.auth.AuthBase):
    """The node's user credential, as taxii2-client sends any `auth`."""

    def __init__(self, token: str):
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def jpn(tmp_path):
    """JPN served by uvicorn on a loopback port (USA configured as its partner, not running)."""
    ports = {"JPN": free_port(), "USA": free_port()}
    cfgs = write_coalition(tmp_path, ports)
    cfg = yaml.safe_load(cfgs["JPN"].read_text())
    cfg["users"] += [
        {
            "name": "ukr-liaison",
            "token": LIAISON,
            "nationality": "UKR",
            "clearance": "SECRET",
            "accesses": [],
            "roles": [],
        },
        {
            "name": "conf-publisher",
            "token": LOW_PUBLISHER,
            "nationality": "JPN",
            "clearance": "CONFIDENTIAL",
            "accesses": [],
            "roles": ["publisher"],
        },
    ]
    cfgs["JPN"].write_text(yaml.safe_dump(cfg, allow_unicode=True))
    node = Node.open(str(tmp_path / "JPN.db"), cfgs["JPN"], tmp_path / "keys")
    server = ServerThread(create_app(node), ports["JPN"]).start()
    base = f"http://127.0.0.1:{ports['JPN']}"
    try:
        yield node, base
    finally:
        server.stop()
        node.catalog.close()


def publish(node: Node, banner: str, payload: dict[str, object], type: str = "conjunction") -> Product:
    p = Product.new(type, payload, parse_banner(banner), "JPN", objects=(25544,))
    node.publish(p, actor="setup")
    return p


def collection_url(base: str, node_id: str = "JPN") -> str:
    return f"{base}/taxii2/kizuna/collections/{collection_id(node_id)}/"


def products_collection(base: str, token: str = ANALYST) -> Collection:
    return Collection(collection_url(base), auth=Bearer(token))


def ids(envelope: dict) -> list[str]:
    return [o["product"]["id"] for o in envelope.get("objects", [])]


# ---------------------------------------------------------------- discovery, API root, collections
def test_discovery_api_root_and_collections_through_the_reference_client(jpn):
    node, base = jpn
    server = Server(f"{base}/taxii2/", auth=Bearer(ANALYST))
    assert server.title == "Kizuna node JPN"
    [root] = server.api_roots
    assert root.url == f"{base}/taxii2/kizuna/" and server.default is root
    assert root.versions == [TAXII]
    assert root.max_content_length == MAX_BODY_BYTES  # the limit the body-limit middleware enforces
    [col] = root.collections
    assert col.id == collection_id("JPN") != collection_id("USA")
    assert uuid.UUID(col.id).version == 5
    assert (col.alias, col.can_read, col.can_write, col.media_types) == (
        "products",
        True,
        True,
        [PRODUCT_TYPE],
    )
    # Get a Collection answers the same resource; can_write is the caller's own (no publisher role).
    assert products_collection(base)._raw == col._raw
    reader = products_collection(base, LIAISON)
    assert reader.can_read is True and reader.can_write is False
    with pytest.raises(AccessError):
        reader.add_objects({"objects": []})


def test_max_content_length_follows_the_configured_body_limit(jpn):
    from fastapi.testclient import TestClient

    node, _ = jpn
    with TestClient(create_app(node, max_body_bytes=12345)) as client:
        r = client.get("/taxii2/kizuna/", headers=bearer(ANALYST))
        assert r.json()["max_content_length"] == 12345
        big = {"objects": [{"type": "derived", "payload": {"x": "y" * 20000}, "marking": "UNCLASSIFIED"}]}
        posted = client.post(
            collection_url("") + "objects/",
            content=json.dumps(big),
            headers={**bearer(ANALYST), "Content-Type": TAXII},
        )
        assert posted.status_code == 413 and posted.headers["content-type"] == TAXII
        assert posted.json()["http_status"] == "413"


# ---------------------------------------------------------------- objects, paging, manifest
def test_get_objects_pages_with_as_pages_and_added_after(jpn):
    node, base = jpn
    published = [publish(node, "SECRET//REL TO USA, JPN", {"i": i}).id for i in range(7)]
    col = products_collection(base)
    pages = list(as_pages(col.get_objects, per_request=3))
    assert [len(p["objects"]) for p in pages] == [3, 3, 1]
    assert [p["more"] for p in pages] == [True, True, False]
    assert [i for p in pages for i in ids(p)] == published  # in the order the node added them

    manifest = col.get_manifest()
    assert [m["id"] for m in manifest["objects"]] == published and manifest["more"] is False
    third = manifest["objects"][2]
    assert third["media_type"] == PRODUCT_TYPE
    assert third["version"] == iso_z(node.verify_wire(node.share.get(None, published[2]).wire).created_utc)
    after_third = col.get_objects(added_after=third["date_added"])
    assert ids(after_third) == published[3:]
    # The manifest pages like the objects.
    manifest_pages = list(as_pages(col.get_manifest, per_request=4))
    assert [[m["id"] for m in p["objects"]] for p in manifest_pages] == [published[:4], published[4:]]


def test_date_added_headers_and_media_type_on_every_answer(jpn):
    node, base = jpn
    first, _, last = (publish(node, "UNCLASSIFIED", {"i": i}).id for i in range(3))
    with httpx.Client(base_url=base, headers=bearer(ANALYST)) as http:
        objects = collection_url("") + "objects/"
        r = http.get(objects)
        assert r.status_code == 200 and r.headers["content-type"] == TAXII
        dates = {
            m["id"]: m["date_added"] for m in http.get(collection_url("") + "manifest/").json()["objects"]
        }
        assert r.headers["X-TAXII-Date-Added-First"] == dates[first]
        assert r.headers["X-TAXII-Date-Added-Last"] == dates[last]
        page = http.get(objects, params={"limit": 1, "added_after": dates[first]})
        assert page.headers["X-TAXII-Date-Added-First"] == page.headers["X-TAXII-Date-Added-Last"]
        assert page.json()["more"] is True
        for path in ("manifest/", f"objects/{first}/", f"objects/{first}/versions/"):
            got = http.get(collection_url("") + path)
            assert got.status_code == 200 and got.headers["content-type"] == TAXII, path
            assert got.headers["X-TAXII-Date-Added-First"] == dates[first], path
        empty = http.get(objects, params={"added_after": dates[last]})
        assert empty.json()["objects"] == [] and empty.json()["more"] is False
        assert "X-TAXII-Date-Added-First" not in empty.headers  # nothing was added after that
        for path in ("/taxii2/", "/taxii2/kizuna/", "/taxii2/kizuna/collections/", collection_url("")):
            assert http.get(path).headers["content-type"] == TAXII, path


def test_object_versions_and_the_version_filter(jpn):
    node, base = jpn
    v1 = Product.new("maneuver", {"dv_ms": 0.1}, parse_banner("SECRET//REL TO USA, JPN"), "JPN")
    node.publish(v1, actor="setup")
    v2 = v1.next_version(payload={"dv_ms": 0.2})
    node.publish(v2, actor="setup")
    v3 = v2.next_version(payload={"dv_ms": 0.3})
    node.publish(v3, actor="setup")
    other = publish(node, "UNCLASSIFIED", {"i": 0}, type="element_set")
    col = products_collection(base)

    def versions(**match: object) -> list[int]:
        return [o["product"]["version"] for o in col.get_object(v1.id, **match)["objects"]]

    assert versions() == [3]  # the latest, as TAXII 2.1 requires when no version is asked for
    assert versions(version="all") == [1, 2, 3]
    assert versions(version="first") == [1]
    assert versions(version="first,last") == [1, 3]
    assert versions(version=v2.created_utc) == [2]  # a timestamp: the creation time version 2 was signed with
    assert versions(version="2") == [2]  # a product version number (Kizuna extension)
    assert col.object_versions(v1.id)["versions"] == [iso_z(p.created_utc) for p in (v1, v2, v3)]
    # Get Objects and the manifest default to the latest version too; match filters combine.
    assert [o["product"]["version"] for o in col.get_objects()["objects"] if o["product"]["id"] == v1.id] == [
        3
    ]
    assert ids(col.get_objects(type="element_set")) == [other.id]
    assert ids(col.get_objects(id=[v1.id, other.id], version="all")) == [v1.id] * 3 + [other.id]
    [record] = col.get_manifest(id=v1.id)["objects"]
    assert record["version"] == iso_z(v3.created_utc)


# ---------------------------------------------------------------- releasability
def test_a_caller_sees_only_what_is_released_to_them_and_hidden_ids_are_404(jpn):
    node, base = jpn
    secret = publish(node, "SECRET//REL TO USA, JPN", {"miss_km": 0.4})
    public = publish(node, "UNCLASSIFIED", {"miss_km": 9.0})
    # Version 1 is releasable to UKR, version 2 (more restrictive, allowed) is not.
    shared = Product.new("conjunction", {"v": 1}, parse_banner("SECRET//REL TO USA, JPN, UKR"), "JPN")
    node.publish(shared, actor="setup")
    node.publish(
        shared.next_version(payload={"v": 2}, marking=parse_banner("SECRET//REL TO USA, JPN")), actor="t"
    )

    analyst, liaison = products_collection(base), products_collection(base, LIAISON)
    assert set(ids(analyst.get_objects(version="all"))) == {secret.id, public.id, shared.id}
    assert ids(liaison.get_objects(version="all")) == [public.id, shared.id]
    # "last" is decided among the versions the caller may see: UKR's latest of `shared` is version 1.
    assert [o["product"]["version"] for o in liaison.get_object(shared.id)["objects"]] == [1]
    assert [o["product"]["version"] for o in analyst.get_object(shared.id)["objects"]] == [2]
    assert len(liaison.object_versions(shared.id)["versions"]) == 1
    assert [m["id"] for m in liaison.get_manifest()["objects"]] == [public.id, shared.id]

    with httpx.Client(base_url=base, headers=bearer(LIAISON)) as http:
        for suffix in ("/", "/versions/"):
            hidden = http.get(collection_url("") + f"objects/{secret.id}{suffix}")
            absent = http.get(collection_url("") + f"objects/product--{uuid.uuid4()}{suffix}")
            assert hidden.status_code == absent.status_code == 404
            assert hidden.content == absent.content  # existence is not revealed
            assert hidden.json()["description"] == "no such product is releasable to you"
        assert http.get(collection_url(""), params={}).json()["can_write"] is False
    refused = [json.loads(r["detail"]) for r in node.share.audit_rows() if r["event"] == "refusal"]
    assert sum(d.get("action") == "taxii get object" for d in refused) == 2
    accesses = [json.loads(r["detail"]) for r in node.share.audit_rows() if r["event"] == "access"]
    assert any(d["what"] == "taxii objects" and f"{public.id}@1" in d["items"] for d in accesses)


def test_a_partner_node_reads_with_its_signature_and_is_not_served_its_own_products(jpn, tmp_path):
    from kizuna.share.signing import Signer, load_private_key

    node, base = jpn
    usa = Signer("USA", load_private_key(tmp_path / "keys" / "USA.key.pem"))
    theirs = Product.new("derived", {"from": "USA"}, parse_banner("SECRET//REL TO USA, JPN"), "USA")
    assert node.ingest([usa.sign_product(theirs)], source="USA").ingested == 1
    mine = publish(node, "SECRET//REL TO USA, JPN", {"i": 1})
    path = objects_path("JPN") + "?match[version]=all"
    r = httpx.get(base + path, headers=node_auth_headers(usa, "GET", path))
    assert r.status_code == 200 and ids(r.json()) == [mine.id]
    assert ids(products_collection(base).get_objects()) == [theirs.id, mine.id]
    hidden = objects_path("JPN") + f"{theirs.id}/"
    assert httpx.get(base + hidden, headers=node_auth_headers(usa, "GET", hidden)).status_code == 404
    col = f"/taxii2/kizuna/collections/{collection_id('JPN')}/"
    info = httpx.get(base + col, headers=node_auth_headers(usa, "GET", col)).json()
    assert (info["can_read"], info["can_write"]) == (True, False)


# ---------------------------------------------------------------- add objects and status
def test_add_objects_publishes_each_object_and_the_status_is_kept_for_its_caller(jpn):
    node, base = jpn
    root = ApiRoot(f"{base}/taxii2/kizuna/", auth=Bearer(ANALYST))
    [col] = root.collections
    existing = publish(node, "SECRET//REL TO USA, JPN", {"v": 1})
    envelope = {
        "objects": [
            {"type": "conjunction", "payload": {"miss_km": 0.2}, "marking": "SECRET//REL TO USA, JPN"},
            # above the analyst's clearance (SECRET)
            {"type": "derived", "payload": {}, "marking": "TOP SECRET//REL TO USA, JPN"},
            {"type": "nope", "payload": {}, "marking": "UNCLASSIFIED"},
            {"type": "derived", "payload": {}, "marking": "UNCLASSIFIED", "id": "mine", "version": 1},
            {
                "type": "conjunction",
                "payload": {"v": 2},
                "marking": "SECRET//REL TO USA, JPN",
                "id": existing.id,
                "version": 2,
            },
            "not an object",
        ]
    }
    status = col.add_objects(envelope)
    assert status.status == "complete" and status.pending_count == 0
    assert (status.total_count, status.success_count, status.failure_count) == (6, 2, 4)
    new, versioned = status.successes
    assert new["id"].startswith("product--") and new["message"] == "objects[0]: published, version 1"
    assert versioned["id"] == existing.id and versioned["message"] == "objects[4]: published, version 2"
    assert [f["id"] for f in status.failures] == ["objects[1]", "objects[2]", "mine", "objects[5]"]
    messages = [f["message"] for f in status.failures]
    assert messages[0] == "objects[1]: the publisher's clearance does not cover the marking"
    assert messages[1].startswith("objects[2]: type:")
    assert messages[2] == "objects[3]: a new product gets its id from the node: omit `id`"
    assert all(f["version"] == status.request_timestamp for f in status.failures)
    # What was published is served, at the version and creation time the status named.
    got = col.get_object(new["id"])["objects"][0]["product"]
    assert (got["payload"], got["created_utc"]) == ({"miss_km": 0.2}, new["version"])
    assert col.get_object(existing.id)["objects"][0]["product"]["version"] == 2
    # The status resource is served again, to the same caller only.
    assert root.get_status(status.id)._raw == status._raw
    with httpx.Client(base_url=base) as http:
        url = f"/taxii2/kizuna/status/{status.id}/"
        other = http.get(url, headers=bearer(LOW_PUBLISHER))
        absent = http.get(f"/taxii2/kizuna/status/{uuid.uuid4()}/", headers=bearer(LOW_PUBLISHER))
        assert other.status_code == absent.status_code == 404 and other.content == absent.content
        # A caller without the publisher role may not write: 403, and nothing is stored.
        before = node.share.count()
        refused = http.post(
            collection_url("") + "objects/",
            content=json.dumps(envelope),
            headers={**bearer(LIAISON), "Content-Type": TAXII},
        )
        assert refused.status_code == 403 and refused.headers["content-type"] == TAXII
        assert node.share.count() == before


def test_add_objects_refuses_a_bad_envelope_and_too_many_objects(jpn):
    node, base = jpn
    url = base + collection_url("") + "objects/"
    headers = {**bearer(ANALYST), "Content-Type": TAXII}
    assert httpx.post(url, content=b"{not json", headers=headers).status_code == 400
    assert httpx.post(url, content=b'{"objects": 3}', headers=headers).status_code == 400
    many = {"objects": [{"type": "derived", "payload": {}, "marking": "UNCLASSIFIED"}] * 501}
    r = httpx.post(url, content=json.dumps(many), headers=headers)
    assert r.status_code == 413 and "at most 500" in r.json()["description"]
    assert node.share.count() == 0


# ---------------------------------------------------------------- negotiation and errors
@pytest.mark.parametrize(
    ("accept", "ok"),
    [
        (None, True),
        ("*/*", True),
        ("application/*", True),
        ("application/taxii+json", True),
        (TAXII, True),
        ("application/taxii+json; version=2.1; q=0.5", True),
        ("text/html, */*;q=0.8", True),
        ("application/json", False),
        ("text/html", False),
        ("application/taxii+json;version=2.0", False),
        ("application/taxii+json;version=2.1;q=0, */*", False),  # the most specific range wins
        ("*/*;q=0", False),
    ],
)
def test_accept_header_decides_406(accept, ok):
    assert accepts_taxii(accept) is ok


@pytest.mark.parametrize(
    ("content_type", "ok"),
    [
        (TAXII, True),
        ("application/taxii+json", True),
        ("application/taxii+json; version=2.1; charset=utf-8", True),
        ("application/json", False),
        ("application/taxii+json;version=2.0", False),
        ("text/plain", False),
        (None, False),
    ],
)
def test_content_type_decides_415(content_type, ok):
    assert is_taxii_content_type(content_type) is ok


def test_406_415_and_errors_are_taxii_error_messages(jpn):
    node, base = jpn
    objects = base + collection_url("") + "objects/"
    body = json.dumps({"objects": [{"type": "derived", "payload": {}, "marking": "UNCLASSIFIED"}]})

    def error(r: httpx.Response, status: int) -> str:
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == TAXII
        doc = r.json()
        assert doc["http_status"] == str(status) and doc["title"]
        return str(doc["description"])

    for accept in ("application/json", "application/taxii+json;version=2.0"):
        error(httpx.get(objects, headers={**bearer(ANALYST), "Accept": accept}), 406)
        error(httpx.get(base + "/taxii2/", headers={**bearer(ANALYST), "Accept": accept}), 406)
    for content_type in ("application/json", "text/plain"):
        r = httpx.post(objects, content=body, headers={**bearer(ANALYST), "Content-Type": content_type})
        error(r, 415)
    assert node.share.count() == 0
    # Refused before routing (unauthenticated write), unknown paths and methods: TAXII messages too.
    r = httpx.post(objects, content=body, headers={"Content-Type": TAXII})
    assert error(r, 401) == "authentication required" and r.headers["www-authenticate"] == "Bearer"
    error(httpx.get(base + "/taxii2/", headers={"Authorization": "Bearer wrong"}), 401)
    error(httpx.get(base + "/taxii2/kizuna/collections/products/", headers=bearer(ANALYST)), 404)
    error(
        httpx.get(
            base + f"/taxii2/kizuna/collections/{collection_id('USA')}/objects/", headers=bearer(ANALYST)
        ),
        404,
    )
    error(httpx.get(base + "/taxii2/collections/products/objects/", headers=bearer(ANALYST)), 404)
    error(httpx.delete(objects + "product--x/", headers=bearer(ANALYST)), 405)
    # Filters a TAXII server cannot read are 400 with a reason.
    for params, says in (
        ({"match[version]": "newest"}, "match[version]"),
        ({"match[version]": "0"}, "match[version]"),
        ({"match[version]": "9" * 5000}, "match[version]"),
        ({"added_after": "yesterday"}, "added_after"),
        ({"limit": "0"}, "limit"),
        ({"next": "not-a-cursor"}, "cursor"),
        ({"match[id]": ",".join(["a"] * 101)}, "at most 100"),
    ):
        assert says in error(httpx.get(objects, params=params, headers=bearer(ANALYST)), 400), params
    # Other routes keep their own error bodies.
    r = httpx.get(base + "/products/conjunctions/x", headers=bearer(LIAISON))
    assert r.status_code == 403 and r.json() == {"detail": "no such product is releasable to you"}


def test_a_limit_over_the_page_size_is_served_as_a_full_page(jpn):
    node, base = jpn
    node.publish_many(
        [Product.new("derived", {"i": i}, parse_banner("UNCLASSIFIED"), "JPN") for i in range(1001)],
        actor="t",
    )
    page = products_collection(base).get_objects(limit=5000)
    assert len(page["objects"]) == 1000 and page["more"] is True


# ---------------------------------------------------------------- federation and the status store
def test_federation_pulls_every_version_from_the_partner_collection(tmp_path):
    ports = {"JPN": free_port(), "USA": free_port()}
    cfgs = write_coalition(tmp_path, ports)
    jpn = Node.open(str(tmp_path / "JPN.db"), cfgs["JPN"], tmp_path / "keys")
    usa = Node.open(str(tmp_path / "USA.db"), cfgs["USA"], tmp_path / "keys")
    server = ServerThread(create_app(jpn), ports["JPN"]).start()
    try:
        v1 = Product.new("maneuver", {"dv_ms": 0.1}, parse_banner("SECRET//REL TO USA, JPN"), "JPN")
        jpn.publish(v1, actor="t")
        jpn.publish(v1.next_version(payload={"dv_ms": 0.2}), actor="t")
        report = sync_partner(usa, usa.config.partners["JPN"], limit=1)
        assert report.ingest.ingested == 2 and report.pages == 2
        assert sorted(usa.share.all_keys()) == [(v1.id, 1), (v1.id, 2)]
        again = sync_partner(usa, usa.config.partners["JPN"])
        assert again.ingest.ingested == 0 and again.fetched == 0
    finally:
        server.stop()
        jpn.catalog.close()
        usa.catalog.close()


def test_status_documents_are_bounded_per_owner(tmp_path):
    from kizuna.store import CatalogStore

    with CatalogStore(str(tmp_path / "k.db")) as store:
        statuses = TaxiiStatusStore(store, keep_per_owner=3)
        for i in range(5):
            statuses.save(f"s{i}", "user:a", json.dumps({"i": i}))
        statuses.save("t0", "user:b", "{}")
        assert statuses.count("user:a") == 3 and statuses.count("user:b") == 1
        assert statuses.get("s0", "user:a") is None and statuses.get("s4", "user:a") == '{"i": 4}'
        assert statuses.get("t0", "user:a") is None  # another owner's status opens nothing
        with pytest.raises(ValueError, match="at least 1"):
            TaxiiStatusStore(store, keep_per_owner=0)


def test_the_store_selects_versions_alike_on_sqlite_and_postgresql(tmp_path, store):
    """ShareStore.select_page, as the TAXII endpoints call it, on the conftest store (both dialects)."""
    from kizuna.share.markings import Classification
    from kizuna.share.node import NodeConfig
    from kizuna.share.policy import Subject
    from kizuna.share.signing import Signer, load_private_key
    from kizuna.store.share_store import VersionMatch

    cfgs = write_coalition(tmp_path, {"JPN": free_port(), "USA": free_port()})
    node = Node(
        store,
        NodeConfig.load(cfgs["JPN"]),
        Signer("JPN", load_private_key(tmp_path / "keys" / "JPN.key.pem")),
    )
    shared = Product.new("conjunction", {"v": 1}, parse_banner("SECRET//REL TO USA, JPN, UKR"), "JPN")
    node.publish(shared, actor="t")
    v2 = shared.next_version(payload={"v": 2}, marking=parse_banner("SECRET//REL TO USA, JPN"))
    node.publish(v2, actor="t")
    other = publish(node, "UNCLASSIFIED", {"i": 0}, type="element_set")
    jpn = node.visibility(node.self_subject)
    ukr = node.visibility(Subject("liaison", "UKR", Classification.SECRET, frozenset()))

    def keys(vis, **kw):  # noqa: ANN001, ANN003, ANN202
        rows, more = node.share.select_page(vis, **kw)
        return [(r.product_id, r.version) for r in rows], more

    last, first = VersionMatch(last=True), VersionMatch(first=True)
    assert keys(jpn, versions=last) == ([(shared.id, 2), (other.id, 1)], False)
    assert keys(ukr, versions=last) == ([(shared.id, 1), (other.id, 1)], False)  # among what UKR may see
    assert keys(jpn, versions=first, ids=[shared.id]) == ([(shared.id, 1)], False)
    assert keys(jpn, versions=VersionMatch(numbers=frozenset({2}))) == ([(shared.id, 2)], False)
    by_time = VersionMatch(created_utc=frozenset({shared.created_utc}))
    assert keys(jpn, versions=by_time) == ([(shared.id, 1)], False)
    assert keys(jpn, types=["element_set"]) == ([(other.id, 1)], False)
    assert keys(jpn, limit=2) == ([(shared.id, 1), (shared.id, 2)], True)  # "more" is exact
    assert keys(jpn, limit=3) == ([(shared.id, 1), (shared.id, 2), (other.id, 1)], False)
