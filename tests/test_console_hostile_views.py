"""Hostile values for the query and path parameters of the console's EO and maritime routes: each
is refused with 422 (outside the documented schema), 400 (a box, time or window the route refuses)
or 403 (an id no product can have), with a one-line reason, never a server error, and the good
requests around them still answer."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import shared

from kizuna.demo.console import build_console_node
from kizuna.service.app import create_app
from kizuna.service.routes.console_views import MAX_POSITIONS_READ, MAX_TRACK_POINTS
from kizuna.store.ais_store import AisLoadSummary, AisStore

TRACKS = "/console/api/maritime/tracks"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    console = build_console_node(
        tmp_path_factory.mktemp("hostile-views"), shared("tle/full_catalog_3le_2022-07.txt"), max_objects=300
    )
    with TestClient(create_app(console.node), base_url="http://testserver") as c:
        c.headers["Authorization"] = f"Bearer {console.tokens['analyst-jpn']}"
        yield c


@pytest.mark.parametrize(
    ("params", "status", "reason"),
    [
        ({"west": "181"}, 422, "west"),
        ({"west": "-180.5"}, 422, "west"),
        ({"east": "nan"}, 422, "east"),
        ({"east": "inf"}, 422, "east"),
        ({"south": "-91"}, 422, "south"),
        ({"north": "abc"}, 422, "north"),
        ({"north": ""}, 422, "north"),
        ({"start_utc": "2026-01-01T00:00:00" + "0" * 40}, 422, "start_utc"),
        ({"max_points": "1"}, 422, "max_points"),
        ({"max_points": str(MAX_TRACK_POINTS + 1)}, 422, "max_points"),
        ({"max_points": "1e3"}, 422, "max_points"),
        ({"max_points": "-5"}, 422, "max_points"),
        ({"south": "10", "north": "5"}, 400, "south (10) is north of north (5)"),
        ({"start_utc": "yesterday"}, 400, "start_utc: not an ISO-8601 time"),
        ({"stop_utc": "2026-13-01T00:00:00Z"}, 400, "stop_utc: not an ISO-8601 time"),
        ({"start_utc": "0001-01-01T00:00:00+01:00"}, 400, "start_utc: not an ISO-8601 time"),
        ({"stop_utc": ""}, 400, "stop_utc: not an ISO-8601 time"),
        (
            {"start_utc": "2026-01-02T00:00:00Z", "stop_utc": "2026-01-01T00:00:00Z"},
            400,
            "stop_utc is before start_utc",
        ),
    ],
)
def test_hostile_track_queries_are_refused_naming_the_parameter(client, params, status, reason):
    r = client.get(TRACKS, params=params)
    assert r.status_code == status, r.text[:200]
    assert reason in r.text and "Traceback" not in r.text
    assert client.get(TRACKS, params={"max_points": 2}).status_code == 200


@pytest.mark.parametrize("path", ["/console/api/eo/aois", "/console/api/maritime/products"])
@pytest.mark.parametrize("limit", ["0", "1001", "-1", "x", "1.5"])
def test_hostile_list_limits(client, path, limit):
    r = client.get(path, params={"limit": limit})
    assert r.status_code == 422 and "limit" in r.text


@pytest.mark.parametrize(
    ("product_id", "status"),
    [
        ("a" * 80, 403),  # well formed, not there: as not releasable
        ("a" * 81, 422),
        ("a" * 5000, 422),
        ("a%00b", 403),
        ("..%2F..%2Fetc", 404),  # an encoded slash is a path separator: no such route
        ("%F0%9F%9B%B0", 403),
    ],
)
def test_hostile_area_ids(client, product_id, status):
    r = client.get(f"/console/api/eo/aois/{product_id}")
    assert r.status_code == status, (product_id[:20], r.status_code, r.text[:200])


def test_the_position_bound_is_checked_before_reading(client, monkeypatch):
    """A box and window holding more stored positions than the bound is refused by a count, before any
    position is read."""
    import kizuna.service.routes.console_views as views

    monkeypatch.setattr(views, "MAX_POSITIONS_READ", 10)

    def no_read(*args, **kwargs):
        raise AssertionError("positions read past the bound")

    monkeypatch.setattr(AisStore, "positions", no_read)
    r = client.get(TRACKS)
    assert r.status_code == 400 and "narrow them (at most 10)" in r.text
    assert MAX_POSITIONS_READ >= 1_000_000


def test_position_count_agrees_with_the_positions_read(store):
    """SQLite and PostgreSQL: the count the route bounds its work by is the number of rows read."""
    from datetime import UTC, datetime

    from kizuna.demo.maritime import bundled_ais_files

    ais = AisStore(store)
    for f in bundled_ais_files():
        ais.load_file(Path(f), AisLoadSummary())
    for box, start in (
        (None, None),
        ((23.0, 37.0, 24.0, 38.5), None),
        ((170.0, -90.0, -150.0, 90.0), None),
        ((-180.0, -90.0, 180.0, 90.0), datetime(2020, 1, 1, tzinfo=UTC)),
    ):
        assert ais.count_positions(bbox=box, start=start) == len(ais.positions(bbox=box, start=start).mmsi)
