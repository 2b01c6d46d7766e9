"""Sessions of people using the console: a random id in an HttpOnly cookie, the session held here.

A user logs in with the bearer token the node already knows them by (``POST /session``); the node
answers with a cookie holding a random session id (256 bits) and keeps, server side, whose it is, when
it was made and when it was last used. A session ends at logout (``DELETE /session``), after
``idle_s`` without a request or ``absolute_s`` after login, whichever comes first (node config
``sessions: {idle_h: 8, absolute_h: 12}``, the defaults). Sessions are kept in the node's store
(the SHA-256 of the id, never the id: :mod:`kizuna.store.session_store`), so a restart of the service
logs nobody out and every serving process sees a logout. The cookie authenticates exactly as the token would (:func:`kizuna.service.deps.identify`);
a request that changes state with the cookie must also carry the session's CSRF token in the
``X-Kizuna-CSRF`` header, which a page of another origin cannot read (synchronizer token).

Failed logins from one client address are counted per window (:class:`LoginThrottle`): past the
limit every login from that address is refused, the right token included, until the window ends.
"""

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kizuna.share.node import SessionLifetimes
from kizuna.store.catalog import CatalogStore
from kizuna.store.session_store import SessionTable

SESSION_COOKIE = "kizuna_session"
CSRF_HEADER = "x-kizuna-csrf"
# Session ids and CSRF tokens: 32 random bytes, URL-safe base64 (43 characters).
TOKEN_BYTES = 32
MAX_COOKIE_CHARS = 64
DEFAULT_IDLE_S = SessionLifetimes.idle_h * 3600.0
DEFAULT_ABSOLUTE_S = SessionLifetimes.absolute_h * 3600.0
# Sessions one node holds at most; a login past it ends the oldest session (bounded storage).
MAX_SESSIONS = 10_000
# How often a session's last use is written back to the store at most [s] (see SessionStore).
TOUCH_S = 60.0


@dataclass
class Session:
    user: str  # the configured user's name
    csrf: str
    created_s: float
    used_s: float


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def csrf_for(session_id: str) -> str:
    """The session's CSRF token: an HMAC of a fixed label under the session id, so it is never stored
    and cannot be made without the id (which only the cookie holds)."""
    mac = hmac.new(session_id.encode(), b"kizuna console csrf token", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


class SessionStore:
    """Open sessions in the node's store (:class:`kizuna.store.session_store.SessionTable`) by the
    SHA-256 of their id; the id itself is never kept, the CSRF token is derived from it.

    Every lookup reads the row, so a logout or expiry is seen by every serving process at once. The
    last use is written back at most every `touch_s` seconds (a minute, or a tenth of the idle
    lifetime when that is shorter) rather than on every request: the idle clock a restart or another
    process sees may lag by that much, which only ever ends a session earlier."""

    def __init__(
        self,
        store: CatalogStore,
        *,
        idle_s: float = DEFAULT_IDLE_S,
        absolute_s: float = DEFAULT_ABSOLUTE_S,
        max_sessions: int = MAX_SESSIONS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 < idle_s <= absolute_s:
            raise ValueError("session lifetimes must satisfy 0 < idle_s <= absolute_s")
        self.idle_s, self.absolute_s, self.max_sessions, self.clock = idle_s, absolute_s, max_sessions, clock
        self.touch_s = min(TOUCH_S, idle_s / 10.0)
        self._table = SessionTable(store)

    def open(self, user: str) -> tuple[str, Session]:
        """A new session for `user`: (the id for the cookie, the session)."""
        now = self.clock()
        session_id = secrets.token_urlsafe(TOKEN_BYTES)
        self._table.remove_expired(now, self.idle_s, self.absolute_s)
        self._table.add(_digest(session_id), user, now, max_rows=self.max_sessions)
        return session_id, Session(user, csrf_for(session_id), now, now)

    def find(self, session_id: str) -> Session | str:
        """The live session of `session_id` (its idle clock restarted), or why not."""
        if not session_id or len(session_id) > MAX_COOKIE_CHARS:
            return "session cookie malformed"
        now = self.clock()
        digest = _digest(session_id)
        row = self._table.get(digest)
        if row is None:
            return "session unknown or ended"
        if now - row.created_s > self.absolute_s or now - row.used_s > self.idle_s:
            self._table.remove(digest)
            return "session expired"
        if now - row.used_s >= self.touch_s:
            self._table.touch(digest, now)
        return Session(row.user_name, csrf_for(session_id), row.created_s, now)

    def close(self, session_id: str) -> bool:
        if not session_id or len(session_id) > MAX_COOKIE_CHARS:
            return False
        return self._table.remove(_digest(session_id))

    def expires_s(self, session: Session) -> float:
        """When `session` ends if not used again (epoch seconds)."""
        return min(session.used_s + self.idle_s, session.created_s + self.absolute_s)

    def __len__(self) -> int:
        self._table.remove_expired(self.clock(), self.idle_s, self.absolute_s)
        return self._table.count()


class LoginThrottle:
    """Failed logins per client address and window: at most `max_failures` per `window_s`, then
    every login from that address is refused until the window ends. At most `max_addresses`
    addresses are tracked; failures from more addresses share one counter (bounded memory)."""

    def __init__(
        self,
        *,
        max_failures: int = 10,
        window_s: float = 60.0,
        max_addresses: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_failures, self.window_s, self.max_addresses = max_failures, window_s, max_addresses
        self.clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._failures: dict[str, int] = {}

    def _roll(self) -> None:
        window = int(self.clock() // self.window_s)
        if window != self._window:
            self._window, self._failures = window, {}

    def _key(self, address: str) -> str:
        if address in self._failures or len(self._failures) < self.max_addresses:
            return address
        return "*"

    def blocked(self, address: str) -> bool:
        with self._lock:
            self._roll()
            return self._failures.get(self._key(address), 0) >= self.max_failures

    def failed(self, address: str) -> None:
        with self._lock:
            self._roll()
            key = self._key(address)
            self._failures[key] = self._failures.get(key, 0) + 1


@dataclass
class ConsoleState:
    sessions: SessionStore
    throttle: LoginThrottle


_STATE_LOCK = threading.Lock()


def console_state(app: Any) -> ConsoleState:
    """The sessions and login throttle of a FastAPI app (``app.state.console``), made on first use
    with the session lifetimes of the node's config (key `sessions`); a test sets
    ``app.state.console`` first to choose a clock."""
    state = getattr(app.state, "console", None)
    if state is None:
        with _STATE_LOCK:
            state = getattr(app.state, "console", None)
            if state is None:
                node = app.state.node
                lifetimes = node.config.sessions
                store = SessionStore(
                    node.catalog, idle_s=lifetimes.idle_h * 3600.0, absolute_s=lifetimes.absolute_h * 3600.0
                )
                state = ConsoleState(store, LoginThrottle())
                app.state.console = state
    assert isinstance(state, ConsoleState)
    return state


def csrf_matches(session: Session, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(session.csrf.encode(), header.encode())
