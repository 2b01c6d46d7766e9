"""Composed designs (`kizuna eo design add/list/show/delete`) and the design search.

- NORAD ids of designed satellites: unique across parts and clear of the catalog's ids (a catalog
  holding 300000-300001 pushes the design to 300002; a Walker of 9,500 beside an SSO plane no longer
  overlaps it; a design past the Alpha-5 maximum continues from 270000).
- The search reproduces a known answer: for Kyiv (50.45 N) a 53 deg shell beats 42 deg shells, which
  at <= 45 deg incidence cannot see it (their reach ends near 46.6 N: a point at 46.0 N is seen, one
  at 47.2 N is not); every Pareto point is re-run through `kizuna eo revisit` (same maximum gap and
  mean response time), and no point of the front is dominated by another evaluated design.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from tests.cli_harness import invoke
from tests.conftest import SAMPLE

from kizuna.eo import (
    AreaOfInterest,
    RevisitDefinition,
    compute_access,
    parse_sensor,
    per_target,
    sample_points,
)
from kizuna.eo.constellation import DESIGN_NORAD_BASE, parse_design
from kizuna.eo.design import (
    ALPHA5_MAX_NORAD,
    DESIGN_NORAD_FLOOR,
    DesignPart,
    DesignPoint,
    SearchSpace,
    compose,
    design_norad_pool,
    pareto_front,
)
from kizuna.formats.tle import read_tle, write_tle

START = datetime(2026, 6, 11, tzinfo=UTC)
START_ARG = ["--start", "2026-06-11T00:00:00Z"]
KYIV = "50.45,30.52,Kyiv"
TLE_FILE = SAMPLE / "leo_2026-06_sample.3le"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The bundled sample catalog plus two objects numbered 300000 and 300001 (Alpha-5 U0000, U0001):
    ids a design would take if it did not look at the catalog."""
    tmp = tmp_path_factory.mktemp("design")
    path = tmp / "k.db"
    sets = read_tle(TLE_FILE.read_text(), str(TLE_FILE)).records
    squatters = [replace(sets[k], norad_id=DESIGN_NORAD_BASE + k, object_name=f"ANALYST {k}") for k in (0, 1)]
    extra = tmp / "analyst.3le"
    extra.write_text(write_tle(squatters))
    for f in (TLE_FILE, extra):
        loaded = invoke(["-q", "catalog", "load", str(f), "--db", str(path)])
        assert loaded.exit_code == 0, loaded.output
    return str(path)


def _json(args: list[str]) -> dict:
    res = invoke(args)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


# ---------------------------------------------------------------- NORAD ids
def test_parts_get_distinct_ids_where_single_designs_collide() -> None:
    # Built alone, a Walker of 9,500 satellites (from 300000) and an SSO plane (from 309000) overlap.
    alone = {es.norad_id for es in parse_design("walker:9500/10/1:575:53", START).element_sets}
    assert alone & {es.norad_id for es in parse_design("sso:3:575:10.5", START).element_sets}
    c = compose("x", [DesignPart("walker:9500/10/1:575:53"), DesignPart("sso:3:575:10.5")], START)
    ids = [es.norad_id for es in c.element_sets]
    assert len(ids) == len(set(ids)) == 9503
    assert ids[-3:] == [309500, 309501, 309502]
    assert c.notes["designed_norad_ids"][1]["norad_ids"] == [[309500, 309502]]


def test_pool_skips_catalog_ids_and_wraps_below_the_base() -> None:
    assert design_norad_pool({300000, 300002}, 3) == [300001, 300003, 300004]
    top = ALPHA5_MAX_NORAD - DESIGN_NORAD_BASE + 1  # 40,000 ids above the base
    pool = design_norad_pool((), top + 2)
    assert pool[top - 1] == ALPHA5_MAX_NORAD and pool[top:] == [DESIGN_NORAD_FLOOR, DESIGN_NORAD_FLOOR + 1]
    with pytest.raises(ValueError, match="free"):
        design_norad_pool(range(DESIGN_NORAD_FLOOR, DESIGN_NORAD_FLOOR + 10), 70_000)


def test_a_design_past_the_alpha5_maximum_builds() -> None:
    c = compose("big", [DesignPart("walker:45000/100/1:550:53")], START)
    ids = {es.norad_id for es in c.element_sets}
    assert len(ids) == 45000 and max(ids) == ALPHA5_MAX_NORAD and min(ids) == DESIGN_NORAD_FLOOR


def test_catalog_part_counted_once_and_designed_ids_avoid_it() -> None:
    sets = read_tle(TLE_FILE.read_text(), str(TLE_FILE)).records
    qps = [es for es in sets if (es.object_name or "").startswith("QPS-SAR")]
    c = compose(
        "x",
        [DesignPart("QPS-SAR"), DesignPart("QPS-SAR-5"), DesignPart("walker:4/2/1:575:53")],
        START,
        catalog=lambda prefix: qps,
        catalog_ids={300000},
    )
    assert len(c) == len(qps) + 4
    assert [es.norad_id for es in c.element_sets[-4:]] == [300001, 300002, 300003, 300004]


def test_part_epoch_kept_else_analysis_start() -> None:
    epoch = datetime(2026, 6, 1, tzinfo=UTC)
    c = compose("x", [DesignPart("walker:2/1/0:575:53", epoch), DesignPart("sso:1:575:10.5")], START)
    assert [es.epoch_utc for es in c.element_sets] == [epoch, epoch, START]


# ---------------------------------------------------------------- store and CLI
def test_add_list_show_delete_and_use_by_name(db: str) -> None:
    parts = [
        "--part",
        "QPS-SAR",
        "--part",
        "walker:12/3/1:575:53",
        "--part",
        "sso:2:575:10.5@2026-06-01T00:00Z",
    ]
    res = invoke(["eo", "design", "add", "mixed", *parts, "--db", db])
    assert res.exit_code == 0, res.output
    listed = _json(["eo", "design", "list", "-f", "json", "--db", db])["constellations"]
    assert [(r["name"], r["source"], r["satellites"]) for r in listed] == [("mixed", "composed", 23)]
    shown = _json(["eo", "design", "show", "mixed", *START_ARG, "-f", "json", "--db", db])["parts"]
    # The catalog holds 300000 and 300001: the Walker starts at 300002, the SSO plane follows it.
    assert [(p["spec"], p["satellites"], p["norad_ids"]) for p in shown[1:]] == [
        ("walker:12/3/1:575:53", 12, "300002-300013"),
        ("sso:2:575:10.5", 2, "300014-300015"),
    ]
    assert shown[0]["satellites"] == 9 and "300000" not in shown[0]["norad_ids"]
    assert shown[2]["epoch_utc"].startswith("2026-06-01")
    # Used by name, the design is its parts: the windows of its Walker part are the inline Walker's.
    point = ["--point", KYIV, "--point", "35.68,139.77,Tokyo", *START_ARG, "-f", "json", "--db", db]
    named = _json(["eo", "access", "--constellation", "mixed", *point])
    assert named["parameters"]["satellites"] == 23

    def windows(doc: dict, keep: object = lambda w: True) -> list[tuple[str, str, str]]:
        return sorted((w["target"], w["start_utc"], w["stop_utc"]) for w in doc["windows"] if keep(w))  # type: ignore[operator]

    inline_walker = _json(["eo", "access", "--constellation", "walker:12/3/1:575:53", *point])
    inline_qps = _json(["eo", "access", "--constellation", "QPS-SAR", *point])
    assert windows(inline_walker) and windows(inline_qps)
    assert windows(named, lambda w: w["satellite"].startswith("2:walker")) == windows(inline_walker)
    assert windows(named, lambda w: w["norad_id"] < DESIGN_NORAD_BASE) == windows(inline_qps)
    assert invoke(["eo", "design", "add", "mixed", "--part", "QPS-SAR", "--db", db]).exit_code == 2
    assert invoke(["eo", "design", "add", "mixed", "--part", "QPS-SAR", "--force", "--db", db]).exit_code == 0
    assert _json(["eo", "design", "list", "-f", "json", "--db", db])["constellations"][0]["satellites"] == 9
    assert invoke(["eo", "design", "delete", "mixed", "--db", db]).exit_code == 0
    assert _json(["eo", "design", "list", "-f", "json", "--db", db])["constellations"] == []
    assert invoke(["eo", "design", "delete", "mixed", "--db", db]).exit_code == 2


# ---------------------------------------------------------------- no access at all
def test_a_target_no_satellite_sees_is_unseen_not_an_error(db: str) -> None:
    """42 deg orbits at <= 45 deg incidence reach about 46.6 N: Kyiv is never seen (this raised an
    IndexError in compute_access, then a casting error in per_target, before)."""
    targets = sample_points([AreaOfInterest("Kyiv", "point", ((30.52, 50.45),), {})], 10.0)
    acc = compute_access(
        parse_design("walker:12/3/1:575:42", START),
        targets,
        START,
        START + timedelta(days=1),
        parse_sensor("sar:15-45:both"),
    )
    assert len(acc) == 0
    (stats,) = per_target(acc, targets, RevisitDefinition())
    assert not stats.seen and stats.max_gap_s == 86400.0 and stats.mean_response_time_s == 43200.0
    base = ["eo", "revisit", "--constellation", "walker:12/3/1:575:42", *START_ARG, "-f", "json", "--db", db]
    kyiv = _json([*base, "--point", KYIV])
    assert kyiv["unseen_targets"] == ["Kyiv"] and kyiv["all_points"]["max_gap_s"] == 86400.0
    edge = _json([*base, "--point", "46.0,30.52,inside", "--point", "47.2,30.52,outside"])
    assert edge["unseen_targets"] == ["outside"]


# ---------------------------------------------------------------- search
def test_pareto_front_keeps_only_non_dominated_points() -> None:
    def p(sats: int, gap: float, mrt: float) -> DesignPoint:
        return DesignPoint((DesignPart(f"walker:{sats}/1/0:575:53"),), sats, gap, mrt, 0.0, 100.0, 0)

    points = [p(4, 100, 50), p(4, 120, 40), p(6, 100, 50), p(6, 90, 60), p(8, 130, 70), p(4, 100, 50)]
    front = pareto_front(points)
    assert [(q.satellites, q.max_gap_s, q.mean_response_time_s) for q in front] == [
        (4, 100, 50),
        (4, 120, 40),
        (6, 90, 60),
    ]


def test_search_space_is_bounded_and_within_budget() -> None:
    space = SearchSpace(max_satellites=12, inclinations_deg=(42.0, 53.0, None))
    candidates = space.candidates()
    sizes = [sum(int(q.spec.split(":")[1].split("/")[0]) for q in c) for c in candidates]
    assert max(sizes) == 12 and sizes == sorted(sizes)
    assert len(candidates) == len({tuple(q.spec for q in c) for c in candidates})
    assert any(c[0].spec.startswith("sso:") for c in candidates)
    assert any(len(c) == 2 and c[1].spec.startswith("sso:") for c in candidates)


def test_kyiv_search_prefers_53_deg_and_revisit_confirms_the_front(db: str) -> None:
    args = ["eo", "design", "search", "--point", KYIV, "--max-sats", "8", "--target-max-gap-min", "120"]
    args += [*START_ARG, "--hours", "24", "--inclinations", "42,53", "--planes", "1,2,4", "-f", "json"]
    doc = _json(args)
    front = doc["pareto_front"]
    assert doc["parameters"]["evaluations"] > len(front) >= 3
    assert all(":53" in row["design"] and ":42" not in row["design"] for row in front)
    assert all(row["unseen_points"] == 0 for row in front)
    assert [r["satellites"] for r in front] == sorted(r["satellites"] for r in front)
    best = doc["fewest_satellites_meeting_target"]
    assert best is not None and next(r for r in front if r["design"] == best)["max_gap_min"] <= 120
    # The same 42 deg shells, searched alone, never see Kyiv: a period-long gap at any size.
    only42 = _json([*args[:-2], "--inclinations", "42", "--no-mixes", "-f", "json"])["pareto_front"]
    assert [(r["satellites"], r["max_gap_s"]) for r in only42] == [(1, 86400.0)]
    days = str(doc["parameters"]["days"])
    for k, row in enumerate(front):
        if len(row["parts"]) == 1:
            constellation = row["parts"][0]
        else:
            constellation = f"front{k}"
            parts = [a for part in row["parts"] for a in ("--part", part)]
            assert invoke(["eo", "design", "add", constellation, *parts, "--db", db]).exit_code == 0
        revisit = _json(
            ["eo", "revisit", "--constellation", constellation, "--point", KYIV, *START_ARG, "--days", days]
            + ["-f", "json", "--db", db]
        )
        assert revisit["parameters"]["satellites"] == row["satellites"]
        assert revisit["all_points"]["max_gap_s"] == pytest.approx(row["max_gap_s"], abs=1e-3)
        assert revisit["all_points"]["mean_response_time_s"] == pytest.approx(
            row["mean_response_time_s"], abs=1e-3
        )


def test_search_refuses_a_space_beyond_its_evaluation_cap() -> None:
    res = invoke(
        [
            "eo",
            "design",
            "search",
            "--point",
            KYIV,
            "--max-sats",
            "48",
            "--target-max-gap-min",
            "60",
            *START_ARG,
        ]
        + ["--max-evaluations", "10"]
    )
    assert res.exit_code == 2 and "--max-evaluations 10" in res.stderr and "Traceback" not in res.output


def test_show_lists_a_constellation_saved_by_eo_save_as_one_part(db: str) -> None:
    assert invoke(["eo", "save", "w12", "--design", "walker:12/3/1:575:53", "--db", db]).exit_code == 0
    assert invoke(["eo", "save", "qps", "--design", "QPS-SAR", "--db", db]).exit_code == 0
    (walker_part,) = _json(["eo", "design", "show", "w12", *START_ARG, "-f", "json", "--db", db])["parts"]
    assert (walker_part["spec"], walker_part["satellites"]) == ("walker:12/3/1:575:53", 12)
    assert walker_part["epoch_utc"] == "analysis start (2026-06-11T00:00:00Z)"
    (qps_part,) = _json(["eo", "design", "show", "qps", "-f", "json", "--db", db])["parts"]
    assert (qps_part["spec"], qps_part["satellites"]) == ("catalog selection", 9)
    assert {
        r["name"] for r in _json(["eo", "design", "list", "-f", "json", "--db", db])["constellations"]
    } >= {
        "w12",
        "qps",
    }
