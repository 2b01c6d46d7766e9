"""Console session lifetimes come from the node config (key `sessions`), checked field by field."""

from __future__ import annotations

import math

import pytest
import yaml
from fastapi import FastAPI

from kizuna.service.sessions import console_state
from kizuna.share.loopback import write_coalition
from kizuna.share.node import ConfigError, NodeConfig, SessionLifetimes
from kizuna.store import CatalogStore


@pytest.fixture
def base(tmp_path):
    return yaml.safe_load(write_coalition(tmp_path, {"JPN": 1, "USA": 2})["JPN"].read_text())


def test_lifetimes_default_to_8_and_12_hours_and_follow_the_config(base, tmp_path):
    assert NodeConfig.from_mapping(base, tmp_path).sessions == SessionLifetimes(8.0, 12.0)
    cfg = NodeConfig.from_mapping({**base, "sessions": {"idle_h": 0.5, "absolute_h": 2}}, tmp_path)
    assert cfg.sessions == SessionLifetimes(0.5, 2.0)


def test_the_console_uses_the_configured_lifetimes(base, tmp_path):
    cfg = NodeConfig.from_mapping({**base, "sessions": {"idle_h": 0.25, "absolute_h": 1}}, tmp_path)

    class _Node:  # the config and the store (which keeps the sessions) are all console_state reads
        config = cfg
        catalog = CatalogStore(str(tmp_path / "sessions.db"))

    app = FastAPI()
    app.state.node = _Node()
    store = console_state(app).sessions
    assert (store.idle_s, store.absolute_s) == (900.0, 3600.0)


@pytest.mark.parametrize(
    ("sessions", "message"),
    [
        ({"idle_h": 0}, "sessions.idle_h: must be hours above 0"),
        ({"idle_h": -1}, "sessions.idle_h: must be hours above 0"),
        ({"absolute_h": math.nan}, "sessions.absolute_h: must be hours above 0"),
        ({"absolute_h": math.inf}, "sessions.absolute_h: must be hours above 0"),
        ({"absolute_h": 10_000}, "sessions.absolute_h: must be hours above 0"),
        ({"idle_h": True}, "sessions.idle_h: must be hours above 0"),
        ({"idle_h": "8"}, "sessions.idle_h: must be hours above 0"),
        ({"idle_h": 13}, "sessions.idle_h: 13 h is longer than sessions.absolute_h (12 h)"),
        ({"idle": 8}, "sessions: unknown key(s) ['idle']"),
        ([8], "sessions: must be a mapping"),
    ],
)
def test_hostile_lifetimes_are_refused_naming_the_field(base, tmp_path, sessions, message):
    with pytest.raises(ConfigError) as refused:
        NodeConfig.from_mapping({**base, "sessions": sessions}, tmp_path)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
