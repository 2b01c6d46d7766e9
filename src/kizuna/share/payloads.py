"""The payload shape of product kinds that carry a message another node computes with: tracking data
(``observations``: a CCSDS TDM) and orbit determination results (``orbit_determination``: an OPM with
its covariance and the fitted TLE).

Checked wherever a product enters a node (the publish API, the CLI, a partner's feed), after the
general limits of :mod:`kizuna.share.limits` and before anything is stored or parsed: a receiving node
parses a partner's TDM to fit an orbit, so its size and number of lines are bounded here, where the
cost is a length and a count, not in the reader, where it would already be work. The messages
themselves are read by :mod:`kizuna.formats` when used, naming the product and the line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from kizuna.share import limits

OBSERVATIONS = "observations"
ORBIT_DETERMINATION = "orbit_determination"

# A TDM in a product: a day of a radar tracking one object every 10 s is ~9,000 observation lines
# (~500 KB of KVN); a product is a message, so larger campaigns are split into several products.
MAX_TDM_BYTES = 768 * 1024
MAX_TDM_LINES = 20_000
# An OPM with covariance is ~2 KB; 64 KiB leaves room for comments and user-defined parameters.
MAX_OPM_BYTES = 64 * 1024
# The products a fit names as its sources (observations of a campaign are a few dozen products).
MAX_SOURCES = 1_000
MAX_PARTICIPANTS = 64
MAX_NAME_CHARS = 80
TDM_FORMATS = ("ccsds-tdm-kvn", "ccsds-tdm-xml")
OPM_FORMATS = ("ccsds-opm-kvn",)


def check(product_type: str, payload: Mapping[str, object]) -> None:
    """Raise :class:`~kizuna.share.limits.LimitError` when a payload of a kind checked here lacks a
    member, has one of the wrong type, or carries a message over its limits; other kinds pass."""
    if product_type == OBSERVATIONS:
        _check_observations(payload)
    elif product_type == ORBIT_DETERMINATION:
        _check_orbit_determination(payload)


def _fail(kind: str, problem: str) -> limits.LimitError:
    return limits.LimitError(f"{kind} payload: {problem}")


def _text(kind: str, payload: Mapping[str, object], key: str, max_bytes: int, max_lines: int) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(kind, f"`{key}` must be the message text")
    size = len(value.encode("utf-8"))
    if size > max_bytes:
        raise _fail(kind, f"`{key}` is {size} bytes; the limit is {max_bytes}")
    lines = value.count("\n") + 1
    if lines > max_lines:
        raise _fail(kind, f"`{key}` has {lines} lines; the limit is {max_lines}")
    return value


def _choice(kind: str, payload: Mapping[str, object], key: str, allowed: tuple[str, ...]) -> None:
    if payload.get(key) not in allowed:
        raise _fail(kind, f"`{key}` must be one of {', '.join(allowed)}")


def _norad(kind: str, payload: Mapping[str, object]) -> None:
    value = payload.get("norad_id")
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limits.MAX_OBJECT_ID:
        raise _fail(kind, f"`norad_id` must be a NORAD id in 0..{limits.MAX_OBJECT_ID}")


def _count(kind: str, payload: Mapping[str, object], key: str, maximum: int) -> None:
    value = payload.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise _fail(kind, f"`{key}` must be an integer in 0..{maximum}")


def _names(kind: str, payload: Mapping[str, object], key: str, maximum: int) -> None:
    value = payload.get(key)
    if (
        not isinstance(value, list)
        or len(value) > maximum
        or not all(isinstance(v, str) and 0 < len(v) <= MAX_NAME_CHARS for v in value)
    ):
        raise _fail(
            kind, f"`{key}` must be a list of at most {maximum} names of 1-{MAX_NAME_CHARS} characters"
        )


def _check_observations(payload: Mapping[str, object]) -> None:
    kind = OBSERVATIONS
    _choice(kind, payload, "format", TDM_FORMATS)
    _text(kind, payload, "tdm", MAX_TDM_BYTES, MAX_TDM_LINES)
    _norad(kind, payload)
    _count(kind, payload, "observations", MAX_TDM_LINES)
    _names(kind, payload, "participants", MAX_PARTICIPANTS)


def _check_orbit_determination(payload: Mapping[str, object]) -> None:
    kind = ORBIT_DETERMINATION
    _choice(kind, payload, "format", OPM_FORMATS)
    _text(kind, payload, "opm", MAX_OPM_BYTES, 2_000)
    _norad(kind, payload)
    _count(kind, payload, "measurements", 10 * MAX_TDM_LINES * MAX_SOURCES)
    tle = payload.get("tle")
    if tle is not None and (
        not isinstance(tle, list)
        or len(tle) != 2
        or not all(isinstance(x, str) and len(x) == 69 for x in tle)
    ):
        raise _fail(kind, "`tle` must be two lines of 69 characters (or null)")
    sigma = payload.get("position_sigma_m")
    if (
        not isinstance(sigma, int | float)
        or isinstance(sigma, bool)
        or not (math.isfinite(sigma) and sigma >= 0)
    ):
        raise _fail(kind, "`position_sigma_m` must be a finite number >= 0")
    sources = payload.get("sources")
    if not isinstance(sources, list) or len(sources) > MAX_SOURCES:
        raise _fail(kind, f"`sources` must be a list of at most {MAX_SOURCES} product ids or file names")
    for s in sources:
        if not isinstance(s, str) or not 0 < len(s) <= 200:
            raise _fail(kind, "`sources` entries must be product ids or file names of 1-200 characters")
