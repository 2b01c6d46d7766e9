"""Console sessions (login, cookie auth, CSRF, expiry, logout, refusal audit and login throttle) and the
console's API routes: each answers only what the caller's marking releases."""

import json

import pytest
from fastapi.testclient import TestClient
from tests.conftest import shared

from kizuna.demo.console import SECRET_REL, build_console_node
from kizuna.service.app import create_app
from kizuna.service.sessions import (
    SESSION_COOKIE,
    ConsoleState,
    LoginThrottle,
    SessionStore,
)
from kizuna.store import CatalogStore

CATALOG = "tle/full_catalog_3le_2022-07.txt"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    return build_console_node(tmp_path_factory.mktemp("console"), shared(CATALOG), max_objects=300)


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def client(console, clock):
    app = create_app(console.node)
    app.state.console = ConsoleState(
        SessionStore(console.node.catalog, idle_s=600, absolute_s=3600, clock=clock),
        LoginThrottle(max_failures=3, clock=clock),
    )
    with TestClient(app, base_url="http://testserver") as c:
        yield c


def login(c: TestClient, token: str) -> dict:
    r = c.post("/session", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def refusals(console, since: int) -> list[dict]:
    rows = console.node.share.audit_rows()[since:]
    return [json.loads(r["detail"]) if isinstance(r["detail"], str) else r["detail"] for r in rows
            if r["event"] == "refusal"]  # fmt: skip


def test_login_sets_an_httponly_strict_cookie_and_the_cookie_authenticates(console, client):
    me = login(client, console.tokens["analyst-jpn"])
    assert me["user"] == "analyst-jpn" and me["nationality"] == "JPN" and len(me["csrf"]) >= 40
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie and console.tokens["analyst-jpn"] not in cookie
    r = client.get("/session")
    assert r.status_code == 200 and r.json()["user"] == "analyst-jpn"
    assert client.get("/console/api/conjunctions").status_code == 200
    assert client.get("/products/conjunctions").status_code == 200  # the same as the bearer token


def test_cookie_attributes(console, client):
    r = client.post("/session", headers={"Authorization": f"Bearer {console.tokens['analyst-ukr']}"})
    set_cookie = r.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie and "path=/" in set_cookie
    assert "secure" not in set_cookie  # plain HTTP here; Secure is set when the request came over TLS
    r = TestClient(client.app, base_url="https://testserver").post(
        "/session", headers={"Authorization": f"Bearer {console.tokens['analyst-ukr']}"}
    )
    assert "secure" in r.headers["set-cookie"].lower()


def test_state_changing_request_with_the_cookie_needs_the_csrf_header(console, client):
    me = login(client, console.tokens["analyst-jpn"])
    assert client.delete("/session").status_code == 401  # no CSRF header: refused
    assert client.delete("/session", headers={"X-Kizuna-CSRF": "x" * 43}).status_code == 401
    assert client.get("/session").status_code == 200  # the session survived both
    assert client.delete("/session", headers={"X-Kizuna-CSRF": me["csrf"]}).status_code == 204


def test_logout_ends_the_session(console, client):
    me = login(client, console.tokens["analyst-jpn"])
    cookie = client.cookies.get(SESSION_COOKIE)
    assert client.delete("/session", headers={"X-Kizuna-CSRF": me["csrf"]}).status_code == 204
    client.cookies.set(SESSION_COOKIE, cookie)  # a copy kept by an attacker is dead too
    assert client.get("/console/api/catalog").status_code == 401
    assert client.get("/session").status_code == 401


def test_idle_and_absolute_expiry(console, client, clock):
    login(client, console.tokens["analyst-jpn"])
    clock.t += 599
    assert client.get("/session").status_code == 200  # used: the idle clock restarts
    clock.t += 599
    assert client.get("/session").status_code == 200
    clock.t += 601
    assert client.get("/session").status_code == 401  # idle for over 600 s
    login(client, console.tokens["analyst-jpn"])
    for _ in range(8):  # in use every 500 s, but the absolute limit (3600 s) still ends it
        clock.t += 500
        status = client.get("/session").status_code
    assert status == 401


def test_failed_logins_are_audited_and_throttled(console, client):
    before = len(console.node.share.audit_rows())
    for _ in range(3):
        r = client.post("/session", headers={"Authorization": "Bearer wrong-token"})
        assert r.status_code == 401 and "wrong-token" not in r.text
    # Past the limit even the right token is refused from this address until the window ends.
    r = client.post("/session", headers={"Authorization": f"Bearer {console.tokens['analyst-jpn']}"})
    assert r.status_code == 401
    client.app.state.refusals.flush(everything=True)
    reasons = json.dumps(refusals(console, before))
    assert "login with a bearer token that is not recognised" in reasons
    assert "too many failed logins" in reasons or '"refused": 4' in reasons


def test_throttle_window_ends(clock):
    t = LoginThrottle(max_failures=2, window_s=60, clock=clock)
    t.failed("10.0.0.1")
    t.failed("10.0.0.1")
    assert t.blocked("10.0.0.1") and not t.blocked("10.0.0.2")
    clock.t += 60
    assert not t.blocked("10.0.0.1")


def test_session_store_bounds(clock, tmp_path):
    db = CatalogStore(str(tmp_path / "sessions.db"))
    s = SessionStore(db, idle_s=10, absolute_s=20, max_sessions=2, clock=clock)
    first, _ = s.open("a")
    s.open("b")
    s.open("c")
    assert s.find(first) == "session unknown or ended" and len(s) == 2
    assert s.find("x" * 100) == "session cookie malformed"
    with pytest.raises(ValueError):
        SessionStore(db, idle_s=30, absolute_s=20)


def test_console_routes_release_only_what_the_marking_allows(console, client):
    login(client, console.tokens["analyst-ukr"])
    ukr = client.get("/console/api/conjunctions").json()["items"]
    everything_ukr = client.get("/console/api/products").json()["items"]
    client.cookies.clear()
    login(client, console.tokens["analyst-jpn"])
    jpn = client.get("/console/api/conjunctions").json()["items"]
    everything_jpn = client.get("/console/api/products").json()["items"]
    assert {i["id"] for i in everything_ukr} == console.unclassified_ids
    assert {i["id"] for i in everything_jpn} == console.unclassified_ids | console.secret_ids
    assert all(i["banner"] == "UNCLASSIFIED" for i in ukr) and len(ukr) == 2
    assert {i["banner"] for i in jpn} == {"UNCLASSIFIED", SECRET_REL} and len(jpn) == 4
    assert [i["payload"]["pc"] for i in jpn] == sorted(console.conjunction_pc.values(), reverse=True)
    # Each conjunction carries its CDM, made from the product's states.
    assert all(i["cdm"].startswith("CCSDS_CDM_VERS") and "MISS_DISTANCE" in i["cdm"] for i in jpn)
    assert client.get("/console/api/products?type=nonsense").status_code == 422


def test_catalog_and_history(console, client):
    assert client.get("/console/api/catalog").status_code == 401
    login(client, console.tokens["analyst-ukr"])
    cat = client.get("/console/api/catalog").json()
    latest = console.node.catalog.latest_element_sets()
    assert cat["count"] == len(latest) == len(cat["objects"]) == 300
    assert cat["banner"] == "UNCLASSIFIED"
    norad, _name, l1, l2 = cat["objects"][0]
    assert l1.startswith("1 ") and l2.startswith("2 ")
    h = client.get(f"/console/api/objects/{norad}").json()
    assert h["norad_id"] == norad and len(h["history"]) >= 1
    assert client.get("/console/api/objects/339999").status_code == 404
    assert client.get("/console/api/objects/-1").status_code == 422
