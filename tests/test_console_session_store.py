"""Console sessions kept in the node's store (SQLite and PostgreSQL): a restart of the service keeps
them, the database never holds a session id or CSRF token, and expiry and logout still end them for
every serving process."""

import hashlib

import pytest
from sqlalchemy import select

from kizuna.service.sessions import SessionStore, csrf_for
from kizuna.store.schema import console_session


class Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock():
    return Clock()


def test_a_restart_keeps_the_session_and_its_csrf_token(store, clock):
    first = SessionStore(store, idle_s=600, absolute_s=3600, clock=clock)
    session_id, session = first.open("analyst-jpn")
    clock.t += 30
    restarted = SessionStore(store, idle_s=600, absolute_s=3600, clock=clock)  # a new process
    found = restarted.find(session_id)
    assert not isinstance(found, str)
    assert found.user == "analyst-jpn" and found.csrf == session.csrf == csrf_for(session_id)
    assert found.created_s == session.created_s


def test_the_database_holds_only_the_hash_of_the_id(store, clock):
    sessions = SessionStore(store, clock=clock)
    session_id, session = sessions.open("analyst-ukr")
    with store.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(select(console_session))]
    assert len(rows) == 1
    flat = " ".join(str(v) for v in rows[0])
    assert session_id not in flat and session.csrf not in flat
    assert rows[0][0] == hashlib.sha256(session_id.encode()).hexdigest()
    # The stored hash itself used as a cookie opens nothing.
    assert sessions.find(rows[0][0]) == "session unknown or ended"


def test_logout_in_one_process_ends_the_session_in_another(store, clock):
    a = SessionStore(store, idle_s=600, absolute_s=3600, clock=clock)
    b = SessionStore(store, idle_s=600, absolute_s=3600, clock=clock)
    session_id, _ = a.open("analyst-jpn")
    assert not isinstance(b.find(session_id), str)
    assert a.close(session_id)
    assert b.find(session_id) == "session unknown or ended"
    assert not b.close(session_id)


def test_idle_expiry_holds_across_a_restart(store, clock):
    sessions = SessionStore(store, idle_s=600, absolute_s=3600, clock=clock)
    session_id, _ = sessions.open("analyst-jpn")
    clock.t += 500
    assert not isinstance(sessions.find(session_id), str)  # used at +500: written back (>= 60 s)
    clock.t += 599
    restarted = SessionStore(store, idle_s=600, absolute_s=3600, clock=clock)
    assert not isinstance(restarted.find(session_id), str)  # 599 s after the last use
    clock.t += 601
    assert restarted.find(session_id) == "session expired"
    assert restarted.find(session_id) == "session unknown or ended"  # and its row is gone


def test_absolute_expiry_holds_across_a_restart(store, clock):
    sessions = SessionStore(store, idle_s=600, absolute_s=1000, clock=clock)
    session_id, _ = sessions.open("analyst-jpn")
    for _ in range(3):
        clock.t += 300
        sessions = SessionStore(store, idle_s=600, absolute_s=1000, clock=clock)
        assert not isinstance(sessions.find(session_id), str)
    clock.t += 101  # 1001 s after login, last used 101 s ago
    assert SessionStore(store, idle_s=600, absolute_s=1000, clock=clock).find(session_id) == "session expired"


def test_the_last_use_is_written_back_at_most_every_touch_interval(store, clock):
    sessions = SessionStore(store, idle_s=600, absolute_s=3600, clock=clock)
    session_id, _ = sessions.open("analyst-jpn")
    digest = hashlib.sha256(session_id.encode()).hexdigest()

    def stored_used_s() -> float:
        with store.engine.connect() as conn:
            return float(
                conn.execute(
                    select(console_session.c.used_s).where(console_session.c.id_sha256 == digest)
                ).scalar_one()
            )

    opened = stored_used_s()
    clock.t += 10
    sessions.find(session_id)
    assert stored_used_s() == opened  # 10 s: not written
    clock.t += 50
    sessions.find(session_id)
    assert stored_used_s() == opened + 60  # 60 s: written


def test_expired_sessions_are_dropped_at_the_next_login(store, clock):
    sessions = SessionStore(store, idle_s=600, absolute_s=3600, clock=clock)
    for user in ("a", "b", "c"):
        sessions.open(user)
    clock.t += 601
    sessions.open("d")
    with store.engine.connect() as conn:
        users = [r.user_name for r in conn.execute(select(console_session.c.user_name))]
    assert users == ["d"]


def test_a_restarted_service_keeps_the_browsers_session(tmp_path):
    """End to end: a user logs in to one app; a second app on the same node store (the service
    restarted, or another process) takes the cookie and the CSRF token; a logout there ends the
    session in the first."""
    from fastapi.testclient import TestClient

    from kizuna.service.app import create_app
    from kizuna.share.loopback import free_port, write_coalition
    from kizuna.share.node import Node

    cfgs = write_coalition(tmp_path, {"JPN": free_port(), "USA": free_port()})
    node = Node.open(str(tmp_path / "JPN.db"), cfgs["JPN"], tmp_path / "keys")
    try:
        user = node.config.users[0]
        token = next(t for t in _tokens(cfgs["JPN"]) if node.user_for_token(t) is not None)
        first = TestClient(create_app(node), base_url="http://testserver")
        me = first.post("/session", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["user"] == user.name
        second = TestClient(create_app(node), base_url="http://testserver")
        second.cookies.update(first.cookies)
        assert second.get("/session").json()["csrf"] == me["csrf"]
        assert second.delete("/session").status_code == 401  # the cookie alone changes nothing
        assert second.delete("/session", headers={"X-Kizuna-CSRF": me["csrf"]}).status_code == 204
        assert first.get("/session").status_code == 401
    finally:
        node.catalog.close()


def _tokens(config_path) -> list[str]:
    import yaml

    doc = yaml.safe_load(config_path.read_text())
    return [u["token"] for u in doc.get("users", []) if "token" in u]
