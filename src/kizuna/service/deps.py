"""Dependencies every router takes: the node, the cursor box and the authenticated caller.

Policy is enforced here, in one place: :func:`current_caller` turns credentials into a policy
:class:`Subject`, :func:`require_role` gates the user-only operations, and routes query only through
``node.visibility(caller.subject)``, so a route never sees a row its caller may not.

Every refusal is audited. One decided here (401 without credentials that verify, 403 without the
role) is raised as :class:`Refused`, which the app's handler writes through :class:`RefusalAudit`
before answering; the routers audit the refusals they decide themselves, and the node those its
policy decides. The caller is told no more than before ("authentication required"); the audit
entry names the reason (no credentials, an unknown token, a signature that does not verify...).
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request

from kizuna.service.cursors import CursorBox
from kizuna.service.sessions import CSRF_HEADER, SESSION_COOKIE, console_state, csrf_matches
from kizuna.share.audit import AuditEvent
from kizuna.share.federation import verify_node_request
from kizuna.share.node import Node
from kizuna.share.policy import Subject
from kizuna.share.products import iso_z
from kizuna.store.share_store import ProductRow

# Methods that change state: with a session cookie they also need the session's CSRF header.
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The login route: failed attempts there are counted per client address and throttled.
LOGIN_PATH = "/session"

# What an audit entry keeps of a request path and of a claimed node id: both come from the client.
MAX_AUDITED_PATH_CHARS = 200
MAX_AUDITED_NAME_CHARS = 64


@dataclass(frozen=True)
class Caller:
    subject: Subject
    kind: str  # "user" or "node"
    node_id: str | None = None


# The dependencies below are `async def`: they only read the request and app state (and verify one
# Ed25519 signature, ~0.1 ms), so they run on the event loop. As plain functions FastAPI would run each
# in its thread pool: a thread hop per dependency, per request, on the path from publish to visible.
async def get_node(request: Request) -> Node:
    """The node this app serves (set by ``create_app``)."""
    return cast(Node, request.app.state.node)


async def get_cursors(request: Request) -> CursorBox:
    """The app's cursor box, keyed from the node key (set by ``create_app``)."""
    return cast(CursorBox, request.app.state.cursors)


NodeDep = Annotated[Node, Depends(get_node)]
CursorsDep = Annotated[CursorBox, Depends(get_cursors)]


def identify(node: Node, request: Request) -> Caller | str:
    """A user by bearer token, or a partner node by its request signature (which, over mutual TLS, must
    name the same node as the client certificate); otherwise why not, for the audit log (the caller is
    only ever told "authentication required"). Reads headers only, never the body, so the body-limit
    middleware can refuse an unauthenticated write before a byte of it is read.

    A person using the console authenticates with the session cookie instead
    (:mod:`kizuna.service.sessions`); a state-changing request with it must carry the session's CSRF
    header. Logins (``POST /session`` with the bearer token) that fail are counted per client
    address: past the limit, logins from that address are refused until the window ends."""
    auth = request.headers.get("authorization", "")
    bearer = auth.lower().startswith("bearer ")
    login = request.method == "POST" and request.url.path == LOGIN_PATH
    app = request.scope.get("app")
    client = request.client.host if request.client else "unknown"
    if login and app is not None and console_state(app).throttle.blocked(client):
        return "too many failed logins from this address; refused until the window ends"
    if bearer:
        user = node.user_for_token(auth[7:].strip())
        if user is not None:
            return Caller(user.subject, "user")
    elif SESSION_COOKIE in request.cookies and app is not None and not login:
        return _session_caller(node, request, app)
    if login and app is not None:
        console_state(app).throttle.failed(client)
        return "login with a bearer token that is not recognised" if bearer else "login without a token"
    claimed = request.headers.get("x-kizuna-node")
    peer = (request.scope.get("state") or {}).get("peer_node")
    path_qs = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    node_id = verify_node_request(request.headers, request.method, path_qs, node.trust)
    if node_id is None:
        if claimed:
            return f"request signature of node {claimed[:MAX_AUDITED_NAME_CHARS]!r} does not verify"
        return "bearer token not recognised" if bearer else "no credentials"
    if peer is not None and peer != node_id:
        return f"TLS client certificate names {peer!r} but the request signature {node_id!r}"
    if node_id not in node.config.partners:
        return f"node {node_id!r} signs with a trusted key but is not a partner"
    return Caller(node.config.partners[node_id].subject, "node", node_id)


def _session_caller(node: Node, request: Request, app: object) -> Caller | str:
    """The user of a live session cookie, or why the cookie does not authenticate."""
    session = console_state(app).sessions.find(request.cookies[SESSION_COOKIE])
    if isinstance(session, str):
        return session
    if request.method in STATE_CHANGING and not csrf_matches(session, request.headers.get(CSRF_HEADER)):
        return "session cookie on a state-changing request without its CSRF header"
    user = node.user_named(session.user)
    return Caller(user.subject, "user") if user is not None else "session of a user no longer configured"


def authenticate(node: Node, request: Request) -> Caller | None:
    """The caller :func:`identify` finds, or None."""
    found = identify(node, request)
    return found if isinstance(found, Caller) else None


class Refused(HTTPException):
    """A refusal decided by a dependency; the app's handler audits it (who, route, `reason`) and
    answers `detail`. A route that catches it and answers otherwise audits that answer itself."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        caller: Caller | None,
        reason: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, detail, headers=headers)
        self.caller = caller
        self.reason = reason or detail


async def current_caller(request: Request, node: NodeDep) -> Caller:
    """The authenticated caller (:func:`identify`); anything else is 401, audited."""
    found = identify(node, request)
    if not isinstance(found, Caller):
        raise Refused(401, "authentication required", None, found, headers={"WWW-Authenticate": "Bearer"})
    return found


CallerDep = Annotated[Caller, Depends(current_caller)]


def require_role(c: Caller, role: str) -> None:
    """Roles belong to users; a partner node never holds one. The 403 is audited by the app's handler."""
    if c.kind != "user" or role not in c.subject.roles:
        raise Refused(403, f"the {role!r} role is required", c)


class RefusalAudit:
    """Audit entries (event ``refusal``) for requests the service refuses: who, route, status, why.

    A refusal of an authenticated caller (a user or a partner node: accountable, and limited by what
    that identity may do) is one entry each, naming the user or ``node:<id>``. An anonymous refusal
    (401) costs its sender nothing, so those are aggregated per client address (the socket's, never a
    forwarded header) over windows of `window_s` (a minute): the first refusal of an address in a
    window is written in full, the others are counted, and one entry written once the window has
    ended gives the count per address. At most `max_addresses` addresses are tracked per window;
    refusals from further addresses are counted together. A 401 flood from any number of addresses,
    at any rate, therefore writes at most ``max_addresses + 1`` entries per window (65 per minute by
    default) and holds at most `max_addresses` counters. A window's summary is written by the first
    request after the window ends, or when the app shuts down (:meth:`flush`).
    """

    def __init__(
        self,
        node: Node,
        *,
        window_s: float = 60.0,
        max_addresses: int = 64,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.node, self.window_s, self.max_addresses, self.clock = node, window_s, max_addresses, clock
        self._lock = threading.Lock()
        self._window: int | None = None  # index of the window the counters below belong to
        self._by_address: dict[str, int] = {}
        self._untracked = 0  # refusals from addresses past max_addresses

    def record(self, request: Request, caller: Caller | None, status: int, reason: str) -> None:
        """Audit one refused request (blocking: a database write; call it off the event loop)."""
        client = request.client.host if request.client else "unknown"
        detail = {
            "action": f"{request.method} {request.url.path}"[:MAX_AUDITED_PATH_CHARS],
            "status": status,
            "reason": reason,
            "client": client,
        }
        if caller is not None:
            self._write([AuditEvent("refusal", caller.subject.name, None, None, detail)])
            return
        with self._lock:
            events = self._roll(self._index(self.clock()))
            if client in self._by_address:
                self._by_address[client] += 1
            elif len(self._by_address) < self.max_addresses:
                self._by_address[client] = 1
                events.append(
                    AuditEvent("refusal", "anonymous", None, None, {**detail, "window_s": self.window_s})
                )
            else:
                self._untracked += 1
        self._write(events)

    def due(self) -> bool:
        """True when a window with counts not yet written has ended (cheap: every request asks)."""
        window = self._window
        return window is not None and window != self._index(self.clock())

    def flush(self, *, everything: bool = False) -> None:
        """Write the summary of an ended window; `everything`: of the current one too (shutdown)."""
        now = self.clock()
        with self._lock:
            events = self._roll(self._index(now) + (1 if everything else 0))
        self._write(events)

    def _index(self, t: float) -> int:
        return int(t // self.window_s)

    def _roll(self, window: int) -> list[AuditEvent]:
        """Move to `window` (under the lock): the summary of the one before when it has refusals that
        no entry was written for."""
        if window == self._window:
            return []
        events = []
        written = len(self._by_address)
        refused = sum(self._by_address.values()) + self._untracked
        if self._window is not None and refused > written:
            start = datetime.fromtimestamp(self._window * self.window_s, UTC)
            events.append(
                AuditEvent(
                    "refusal",
                    "anonymous",
                    None,
                    None,
                    {
                        "reason": "unauthenticated requests refused in this window, counted",
                        "window_start_utc": iso_z(start),
                        "window_s": self.window_s,
                        "refused": refused,
                        "by_client": dict(sorted(self._by_address.items())),
                        "untracked_clients_refused": self._untracked,
                    },
                )
            )
        self._window, self._by_address, self._untracked = window, {}, 0
        return events

    def _write(self, events: list[AuditEvent]) -> None:
        if events:
            self.node.audit.record(*events)


def audit_access(node: Node, c: Caller, rows: list[ProductRow], what: str) -> None:
    """Record what a caller was shown: a release when the caller is a partner node, an access otherwise
    (refusals: :class:`RefusalAudit`)."""
    event = "release" if c.kind == "node" else "access"
    node.audit.record(
        AuditEvent(
            event,
            c.subject.name,
            None,
            None,
            {"what": what, "items": [f"{r.product_id}@{r.version}" for r in rows]},
        )
    )
