"""Sessions of people using the console: a random id in an HttpOnly cookie, the session held here.

A user logs in with the bearer token the node already knows them by (``POST /session``); the node
answers with a cookie holding a random session id (256 bits) and keeps, server side, whose it is, when
it was made and when it was last used. A session ends at logout (``DELETE /session``), after
``idle_s`` without a request or ``absolute_s`` after login, whichever comes first (node config
``sessions: {idle_h: 8, absolute_h: 12}``, the defaults). Sessions live in the serving process only: a restart logs everyone out, which fails
closed. The cookie authenticates exactly as the token would (:func:`kizuna.service.deps.identify`);
a request that changes state with the cookie must also carry the session's CSRF token in the
``X-Kizuna-CSRF`` header, which a page of another origin cannot read (synchronizer token).

Failed logins from one client address are counted per window (:class:`LoginThrottle`): past the
limit every login from that address is refused, the right token included, until the window ends.
"""

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kizuna.share.node import SessionLifetimes

SESSION_COOKIE = "kizuna_session"
CSRF_HEADER = "x-kizuna-csrf"
# Session ids and CSRF tokens: 32 random bytes, URL-safe base64 (43 characters).
TOKEN_BYTES = 32
MAX_COOKIE_CHARS = 64
DEFAULT_IDLE_S = SessionLifetimes.idle_h * 3600.0
DEFAULT_ABSOLUTE_S = SessionLifetimes.absolute_h * 3600.0
# Sessions one node holds at most; a login past it ends the oldest session (bounded memory).
MAX_SESSIONS = 10_000


@dataclass
class Session:
    user: str  # the configured user's name
    csrf: str
    created_s: float
    used_s: float


class SessionStore:
    """Open sessions by the SHA-256 of their id (the id itself is never kept), thread-safe."""

    def __init__(
        self,
        *,
        idle_s: float = DEFAULT_IDLE_S,
        absolute_s: float = DEFAULT_ABSOLUTE_S,
        max_sessions: int = MAX_SESSIONS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 < idle_s <= absolute_s:
            raise ValueError("session lifetimes must satisfy 0 < idle_s <= absolute_s")
        self.idle_s, self.absolute_s, self.max_sessions, self.clock = idle_s, absolute_s, max_sessions, clock
        self._lock = threading.Lock()
        self._by_digest: dict[bytes, Session] = {}

    @staticmethod
    def _digest(session_id: str) -> bytes:
        return hashlib.sha256(session_id.encode()).digest()

    def open(self, user: str) -> tuple[str, Session]:
        """A new session for `user`: (the id for the cookie, the session)."""
        now = self.clock()
        session_id = secrets.token_urlsafe(TOKEN_BYTES)
        session = Session(user, secrets.token_urlsafe(TOKEN_BYTES), now, now)
        with self._lock:
            self._expire(now)
            while len(self._by_digest) >= self.max_sessions:
                oldest = min(self._by_digest, key=lambda k: self._by_digest[k].created_s)
                del self._by_digest[oldest]
            self._by_digest[self._digest(session_id)] = session
        return session_id, session

    def find(self, session_id: str) -> Session | str:
        """The live session of `session_id` (its idle clock restarted), or why not."""
        if not session_id or len(session_id) > MAX_COOKIE_CHARS:
            return "session cookie malformed"
        now = self.clock()
        digest = self._digest(session_id)
        with self._lock:
            session = self._by_digest.get(digest)
            if session is None:
                return "session unknown or ended"
            if now - session.created_s > self.absolute_s or now - session.used_s > self.idle_s:
                del self._by_digest[digest]
                return "session expired"
            session.used_s = now
            return session

    def close(self, session_id: str) -> bool:
        with self._lock:
            return self._by_digest.pop(self._digest(session_id), None) is not None

    def expires_s(self, session: Session) -> float:
        """When `session` ends if not used again (epoch seconds)."""
        return min(session.used_s + self.idle_s, session.created_s + self.absolute_s)

    def __len__(self) -> int:
        with self._lock:
            self._expire(self.clock())
            return len(self._by_digest)

    def _expire(self, now: float) -> None:
        dead = [
            k
            for k, s in self._by_digest.items()
            if now - s.created_s > self.absolute_s or now - s.used_s > self.idle_s
        ]
        for k in dead:
            del self._by_digest[k]


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
                node = getattr(app.state, "node", None)
                lifetimes = node.config.sessions if node is not None else SessionLifetimes()
                store = SessionStore(
                    idle_s=lifetimes.idle_h * 3600.0, absolute_s=lifetimes.absolute_h * 3600.0
                )
                state = ConsoleState(store, LoginThrottle())
                app.state.console = state
    assert isinstance(state, ConsoleState)
    return state


def csrf_matches(session: Session, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(session.csrf.encode(), header.encode())
