"""Hostile values for every new key of the `pipeline:` section (watched kinds, proximity, maritime
AOIs, dark vessels, HTTP sources, `in_aoi` rules): `kizuna pipeline run-once` refuses each in one line
naming the field, exit 2, before any work."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from tests.cli_harness import refused
from tests.pipeline_support import coalition, load_sample

from kizuna.share.loopback import free_port

BOX = [[149.0, 29.0], [151.0, 29.0], [151.0, 31.0], [149.0, 31.0]]
_DELETE = object()

# (path into the pipeline section, value, the field the one-line error names)
ROWS: list[tuple[str, object, str]] = [
    ("watch.radar", "in", "pipeline.watch.radar"),
    ("watch.ais", "missing-dir", "pipeline.watch.ais"),
    ("watch.cdm", 5, "pipeline.watch.cdm"),
    ("watch.tdm", "", "pipeline.watch.tdm"),
    ("watch.sar_detections", None, "pipeline.watch.sar_detections"),
    ("proximity", "near", "pipeline.proximity"),
    ("proximity.enabled", "yes", "pipeline.proximity.enabled"),
    ("proximity.range_km", 0, "pipeline.proximity.range_km"),
    ("proximity.range_km", 1e9, "pipeline.proximity.range_km"),
    ("proximity.range_km", float("nan"), "pipeline.proximity.range_km"),
    ("proximity.range_km", "10", "pipeline.proximity.range_km"),
    ("proximity.days", 8, "pipeline.proximity.days"),
    ("proximity.days", True, "pipeline.proximity.days"),
    ("proximity.step_s", 0.1, "pipeline.proximity.step_s"),
    ("proximity.radius", 5, "pipeline.proximity.radius"),
    ("maritime", [], "pipeline.maritime"),
    ("maritime.colour", "red", "pipeline.maritime.colour"),
    ("maritime.events", "gap", "pipeline.maritime.events"),
    ("maritime.events", [], "pipeline.maritime.events"),
    ("maritime.events", ["piracy"], "pipeline.maritime.events"),
    ("maritime.lookback_h", -1, "pipeline.maritime.lookback_h"),
    ("maritime.lookback_h", 1e6, "pipeline.maritime.lookback_h"),
    ("maritime.shore", "no", "pipeline.maritime.shore"),
    ("maritime.aois", 5, "pipeline.maritime.aois"),
    ("maritime.aois", [], "pipeline.maritime.aois"),
    ("maritime.aois", "missing.geojson", "pipeline.maritime.aois"),
    ("maritime.aois", "not-json.geojson", "pipeline.maritime.aois"),
    ("maritime.aois", "points.geojson", "pipeline.maritime.aois"),
    ("maritime.aois", "open-ring.geojson", "pipeline.maritime.aois"),
    ("maritime.aois", ["box"], "pipeline.maritime.aois[0]"),
    ("maritime.aois", [{"name": "a", "polygon": BOX, "z": 1}], "pipeline.maritime.aois[0].z"),
    ("maritime.aois", [{"name": "", "polygon": BOX}], "pipeline.maritime.aois[0].name"),
    ("maritime.aois", [{"name": "x" * 300, "polygon": BOX}], "pipeline.maritime.aois[0].name"),
    ("maritime.aois", [{"name": "a", "polygon": BOX[:2]}], "pipeline.maritime.aois[0].polygon"),
    ("maritime.aois", [{"name": "a", "polygon": "box"}], "pipeline.maritime.aois[0].polygon"),
    (
        "maritime.aois",
        [{"name": "a", "polygon": [*BOX[:3], [200, 0]]}],
        "pipeline.maritime.aois[0].polygon[3]",
    ),
    (
        "maritime.aois",
        [{"name": "a", "polygon": [*BOX[:3], [0, 95]]}],
        "pipeline.maritime.aois[0].polygon[3]",
    ),
    ("maritime.aois", [{"name": "a", "polygon": [*BOX[:3], [1]]}], "pipeline.maritime.aois[0].polygon[3]"),
    (
        "maritime.aois",
        [{"name": "a", "polygon": [*BOX[:3], [True, 1]]}],
        "pipeline.maritime.aois[0].polygon[3]",
    ),
    (
        "maritime.aois",
        [{"name": "a", "polygon": [[0, 0], [0, 0], [1, 1], [0, 0]]}],
        "pipeline.maritime.aois[0].polygon",
    ),
    # across the antimeridian: a ring around the pole (jumps once) and a bow tie are refused
    (
        "maritime.aois",
        [{"name": "a", "polygon": [[0, 80], [120, 80], [-120, 80], [0, 80]]}],
        "pipeline.maritime.aois[0].polygon",
    ),
    (
        "maritime.aois",
        [{"name": "a", "polygon": [[170, 10], [-170, 20], [-170, 10], [170, 20], [170, 10]]}],
        "pipeline.maritime.aois[0].polygon",
    ),
    ("maritime.aois", "polar.geojson", "pipeline.maritime.aois"),
    ("dark_vessels", 1, "pipeline.dark_vessels"),
    ("dark_vessels.gate_m", 1, "pipeline.dark_vessels.gate_m"),
    ("dark_vessels.gate_m", 1e7, "pipeline.dark_vessels.gate_m"),
    ("dark_vessels.time_tolerance_s", -1, "pipeline.dark_vessels.time_tolerance_s"),
    ("dark_vessels.window", 3, "pipeline.dark_vessels.window"),
    ("http", {"url": "x"}, "pipeline.http"),
    ("http", [{"url": "http://a"}] * 101, "pipeline.http"),
    ("http", ["http://a"], "pipeline.http[0]"),
    ("http", [{"url": "ftp://a/x", "kind": "elements"}], "pipeline.http[0].url"),
    ("http", [{"url": "file:///etc/passwd", "kind": "elements"}], "pipeline.http[0].url"),
    ("http", [{"url": "http://", "kind": "elements"}], "pipeline.http[0].url"),
    ("http", [{"url": "http://a:99999/x", "kind": "elements"}], "pipeline.http[0].url"),
    ("http", [{"url": "http://a:0/x", "kind": "elements"}], "pipeline.http[0].url"),
    ("http", [{"url": "http://u:p@a/x", "kind": "elements"}], "pipeline.http[0].url"),
    ("http", [{"url": 5, "kind": "elements"}], "pipeline.http[0].url"),
    ("http", [{"url": "http://a/" + "x" * 3000, "kind": "elements"}], "pipeline.http[0].url"),
    ("http", [{"url": "http://a/x", "kind": "radar"}], "pipeline.http[0].kind"),
    ("http", [{"url": "http://a/x", "kind": "tdm"}], "pipeline.http[0].kind"),
    ("http", [{"url": "http://a/x", "kind": "elements", "every_s": 0}], "pipeline.http[0].every_s"),
    ("http", [{"url": "http://a/x", "kind": "elements", "every_s": "often"}], "pipeline.http[0].every_s"),
    ("http", [{"url": "http://a/x", "kind": "elements", "timeout_s": 0}], "pipeline.http[0].timeout_s"),
    ("http", [{"url": "http://a/x", "kind": "elements", "max_bytes": 0}], "pipeline.http[0].max_bytes"),
    ("http", [{"url": "http://a/x", "kind": "elements", "max_bytes": 2**40}], "pipeline.http[0].max_bytes"),
    ("http", [{"url": "http://a/x", "kind": "elements", "max_bytes": 1.5}], "pipeline.http[0].max_bytes"),
    ("http", [{"url": "http://a/x", "kind": "elements", "verb": "POST"}], "pipeline.http[0].verb"),
    ("ais_stream", 5, "pipeline.ais_stream"),
    ("ais_stream", "ftp://a:1", "pipeline.ais_stream.source"),
    ("ais_stream", "tcp://a", "pipeline.ais_stream.source"),
    ("ais_stream", "tcp://a:70000", "pipeline.ais_stream.source"),
    ("ais_stream", "/var/log/ais.log", "pipeline.ais_stream.source"),
    ("ais_stream", {"source": "tcp://a:1", "batch_s": 0}, "pipeline.ais_stream.batch_s"),
    ("ais_stream", {"source": "tcp://a:1", "batch_lines": 0}, "pipeline.ais_stream.batch_lines"),
    ("ais_stream", {"source": "tcp://a:1", "batch_lines": 10**7}, "pipeline.ais_stream.batch_lines"),
    ("ais_stream", {"source": "tcp://a:1", "arrival_time": "yes"}, "pipeline.ais_stream.arrival_time"),
    ("ais_stream", {"source": "tcp://a:1", "flush": 1}, "pipeline.ais_stream.flush"),
    ("ais_stream", {"batch_s": 1}, "pipeline.ais_stream.source"),
    (
        "markings.rules",
        [{"product": "observations", "marking": "SECRET//REL TO JPN", "in_aoi": "sea"}],
        "pipeline.markings.rules[0].in_aoi",
    ),
    (
        "markings.rules",
        [{"product": "dark_vessel", "marking": "SECRET//REL TO JPN"}],
        "pipeline.markings.rules[0].product",
    ),
]


def _set(cfg: dict, path: str, value: object) -> None:
    keys = path.split(".")
    node = cfg
    for k in keys[:-1]:
        if not isinstance(node.get(k), dict):
            node[k] = {}
        node = node[k]
    if value is _DELETE:
        node.pop(keys[-1], None)
    else:
        node[keys[-1]] = value


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict[str, object]:  # noqa: ANN001
    tmp = tmp_path_factory.mktemp("hostile_pipeline_kinds")
    paths = coalition(tmp, {n: free_port() for n in ("JPN", "USA", "UKR")})
    db = tmp / "jpn.db"
    load_sample(str(db))
    for d in ("in", "ais", "sar"):
        (tmp / d).mkdir()
    (tmp / "not-json.geojson").write_text("{nope")
    (tmp / "points.geojson").write_text('{"type": "Point", "coordinates": [150, 30]}')
    (tmp / "open-ring.geojson").write_text('{"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,1]]]}')
    polar = '{"type": "Polygon", "coordinates": [[[0,80],[120,80],[-120,80],[0,80]]]}'
    (tmp / "polar.geojson").write_text(polar)
    cfg = yaml.safe_load(paths["JPN"].read_text())
    cfg["pipeline"]["watch"] = {"elements": "in", "ais": "ais", "sar_detections": "sar"}
    return {"tmp": tmp, "db": str(db), "cfg": cfg, "keys": str(tmp / "keys")}


@pytest.mark.parametrize("row", ROWS, ids=[f"{r[0]}={str(r[1])[:40]}" for r in ROWS])
def test_hostile_pipeline_key_is_refused_in_one_line(row, base):  # noqa: ANN001
    path, value, field = row
    cfg = copy.deepcopy(base["cfg"])
    _set(cfg["pipeline"], path, value)
    tmp: Path = base["tmp"]  # type: ignore[assignment]
    bad = tmp / f"bad-{abs(hash(repr(row)))}.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    args = [
        "pipeline",
        "run-once",
        "--partners",
        str(bad),
        "--keys",
        str(base["keys"]),
        "--db",
        str(base["db"]),
    ]
    refused(args, contains=f"{field}:")


def test_the_new_keys_with_good_values_are_accepted(base):  # noqa: ANN001
    from tests.cli_harness import invoke

    cfg = copy.deepcopy(base["cfg"])
    cfg["pipeline"] |= {
        "proximity": {"range_km": 20, "days": 0.5},
        "maritime": {"aois": [{"name": "sea", "polygon": BOX}], "events": ["encounter", "gap"]},
        "dark_vessels": {"gate_m": 500},
        "http": [{"url": "http://127.0.0.1:9/x.tle", "kind": "elements", "every_s": 60, "timeout_s": 0.2}],
    }
    cfg["pipeline"]["markings"]["rules"].append(
        {"product": "maritime_event", "in_aoi": "sea", "marking": "SECRET//REL TO USA, JPN"}
    )
    tmp: Path = base["tmp"]  # type: ignore[assignment]
    good = tmp / "good.yaml"
    good.write_text(yaml.safe_dump(cfg))
    result = invoke(
        [
            "pipeline",
            "run-once",
            "--partners",
            str(good),
            "--keys",
            str(base["keys"]),
            "--db",
            str(base["db"]),
        ]
    )
    # the HTTP source (a closed loopback port) fails, is logged, and the run goes on
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"ais_stream": "tcp://127.0.0.1:1"}, "pipeline.ais_stream:"),
        ({"http": [{"url": "http://127.0.0.1:1/a.nmea", "kind": "ais"}]}, "pipeline.http[0].kind:"),
    ],
)
def test_a_feed_for_a_kind_that_is_not_watched_is_refused(base, extra, field):  # noqa: ANN001
    cfg = copy.deepcopy(base["cfg"])
    del cfg["pipeline"]["watch"]["ais"]
    cfg["pipeline"] |= extra
    tmp: Path = base["tmp"]  # type: ignore[assignment]
    bad = tmp / f"unwatched-{len(extra)}-{abs(hash(field))}.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    args = [
        "pipeline",
        "run-once",
        "--partners",
        str(bad),
        "--keys",
        str(base["keys"]),
        "--db",
        str(base["db"]),
    ]
    refused(args, contains=field)
