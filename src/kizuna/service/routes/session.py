"""Login and logout for people using the console (:mod:`kizuna.service.sessions`).

``POST /session`` with the user's bearer token answers the session cookie (HttpOnly, SameSite=Strict,
Secure when the request came over TLS) and the session's CSRF token; ``GET /session`` tells the page
who is logged in (and the CSRF token again, after a reload); ``DELETE /session`` logs out. A login with
a token that is not recognised is refused before it reaches here (:class:`kizuna.service.app.BodyLimit`),
audited and counted against its address (:class:`kizuna.service.sessions.LoginThrottle`).
"""

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from kizuna.service.deps import CallerDep, Refused
from kizuna.service.responses import AUTH_RESPONSES
from kizuna.service.sessions import SESSION_COOKIE, Session, console_state
from kizuna.share.products import iso_z

router = APIRouter(prefix="/session", tags=["session"])


def _about(request: Request, user: str, session: Session, c: CallerDep) -> dict[str, object]:
    sessions = console_state(request.app).sessions
    return {
        "user": user,
        "nationality": c.subject.nationality,
        "clearance": c.subject.clearance.banner,
        "accesses": sorted(c.subject.accesses),
        "csrf": session.csrf,
        "expires_utc": iso_z(datetime.fromtimestamp(sessions.expires_s(session), UTC)),
    }


@router.post("", responses=AUTH_RESPONSES)
def login(request: Request, response: Response, c: CallerDep) -> dict[str, object]:
    """Log in with ``Authorization: Bearer <token>`` (users only; a partner node has no session)."""
    if c.kind != "user":
        raise Refused(403, "only users log in to the console", c)
    sessions = console_state(request.app).sessions
    session_id, session = sessions.open(c.subject.name)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(sessions.absolute_s),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.headers["Cache-Control"] = "no-store"
    return _about(request, c.subject.name, session, c)


@router.get("", responses=AUTH_RESPONSES)
def whoami(request: Request, response: Response, c: CallerDep) -> dict[str, object]:
    """The logged-in user of this session cookie."""
    response.headers["Cache-Control"] = "no-store"
    session = console_state(request.app).sessions.find(request.cookies.get(SESSION_COOKIE, ""))
    if isinstance(session, str):
        raise Refused(401, "authentication required", c, f"no console session ({session})")
    return _about(request, c.subject.name, session, c)


@router.delete("", status_code=204, responses=AUTH_RESPONSES)
def logout(request: Request, c: CallerDep) -> Response:
    """End this session (the cookie and the CSRF header authenticate this request)."""
    console_state(request.app).sessions.close(request.cookies.get(SESSION_COOKIE, ""))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
