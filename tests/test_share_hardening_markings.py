"""Security markings, hardened (issue "Coalition node, hardened"): look-alike characters, the exact
REL TO form, community owners with NOFORN, the national-only and national-word forms, and the
originator's nation implied on publish.

References: Unicode UAX #15 (NFC/NFKC) and UTS #39 (mixed-script look-alikes) through Python's
`unicodedata` tables; the ODNI IC Markings Register for ``REL TO`` and the "...ONLY" national form;
Japan's Act No. 108 of 2013 and Ukraine's Law "On State Secret" for the national level words.
"""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kizuna.service import create_app
from kizuna.share.federation import node_auth_headers
from kizuna.share.loopback import free_port, write_coalition
from kizuna.share.markings import (
    Classification,
    Marking,
    MarkingConfig,
    MarkingError,
    default_config,
    is_country,
    marking_from_label,
    marking_from_xml,
    parse_banner,
)
from kizuna.share.node import ConfigError, Node, NodeConfig
from kizuna.share.policy import PolicyError, Subject, may_access, releasable_nations, with_originator
from kizuna.share.products import Product
from kizuna.share.taxii import objects_path

TOKEN = {n: {"Authorization": f"Bearer token-{n}"} for n in ("JPN", "USA")}


# ------------------------------------------------------------------ finding 1: look-alike characters
@pytest.mark.parametrize(
    ("banner", "named"),
    [
        ("ſecret//rel to uſa", "U+017F LATIN SMALL LETTER LONG S"),
        ("SECRET//REL TO USA, ıTA", "U+0131 LATIN SMALL LETTER DOTLESS I"),
        ("secret//rel to usa, ıta", "U+0131 LATIN SMALL LETTER DOTLESS I"),
        ("SECRET//REL TO USA, Eﬆ", "U+FB06 LATIN SMALL LIGATURE ST"),
        ("ＳECRET//REL TO USA", "U+FF33 FULLWIDTH LATIN CAPITAL LETTER S"),
        ("SECRET//REL TO\u00a0USA", "U+00A0 NO-BREAK SPACE"),
        ("SECRET//REL TO USA,\u2028JPN", "U+2028 LINE SEPARATOR"),
        ("SECRET//REL TO USA,\u3000JPN", "U+3000 IDEOGRAPHIC SPACE"),
        ("SECRET\u200b//REL TO USA", "U+200B ZERO WIDTH SPACE"),
        ("SECRET//REL TO USA\u2069", "U+2069 POP DIRECTIONAL ISOLATE"),
        ("SE\u0301CRET//REL TO USA", "U+00C9 LATIN CAPITAL LETTER E WITH ACUTE"),  # composed by NFC
        ("SECRET//REL TO USA, JPN\x00", "U+0000 <control>"),
        # Cyrillic look-alikes of Latin letters are not ASCII and not a configured word.
        ("\u0405ECRET//REL TO USA", "U+0405 CYRILLIC CAPITAL LETTER DZE"),
        # A national word is matched letter by letter: a variant form upper-casing to its letter is not it.
        ("ТАЄМН\u1c82//UKR ONLY", "U+1C82 CYRILLIC SMALL LETTER NARROW O"),
        ("ТАЄМНO//UKR ONLY", "U+0422 CYRILLIC CAPITAL LETTER TE"),  # Latin O at the end
    ],
)
def test_look_alike_and_invisible_characters_are_rejected_by_code_point(banner, named):
    with pytest.raises(MarkingError, match=re.escape(named)):
        parse_banner(banner)


def test_ascii_white_space_still_collapses():
    assert parse_banner(" secret//rel to\tusa,  jpn\n").banner() == "SECRET//REL TO USA, JPN"


# ------------------------------------------------------------------ finding 2: exact REL TO
@pytest.mark.parametrize("banner", ["S//REL TOJPN", "SECRET//REL TOUSA, JPN", "SECRET//ORCON/REL TOJPN"])
def test_rel_to_needs_its_space(banner):
    with pytest.raises(MarkingError, match="REL TO "):
        parse_banner(banner)


def test_rel_to_with_its_space_is_unchanged():
    assert parse_banner("S//REL TO JPN").releasable_to == {"JPN"}
    with pytest.raises(MarkingError, match="comma-separated"):
        parse_banner("SECRET//REL TO")


# ------------------------------------------------------------------ finding 3: communities and NOFORN
@pytest.mark.parametrize(
    "banner", ["//QUAD SECRET//NOFORN", "//NATO SECRET//NOFORN", "//FVEY TS//SI//NOFORN"]
)
def test_a_community_owner_with_noforn_is_contradictory(banner):
    with pytest.raises(MarkingError, match="community"):
        parse_banner(banner)


def test_a_community_cannot_be_named_as_a_nation():
    with pytest.raises(MarkingError, match="country code"):
        MarkingConfig.from_mapping({"communities": {"JPN": ["JPN", "USA", "GBR"]}})


def test_no_path_lets_a_community_widen_noforn():
    label = {
        "policy_identifier": "KIZUNA-COALITION",
        "classification": "SECRET",
        "owner": "QUAD",
        "releasable_to": [],
        "caveats": ["NOFORN"],
    }
    with pytest.raises(MarkingError, match="community"):
        marking_from_label(label)
    unvalidated = Marking(Classification.SECRET, frozenset(), frozenset({"NOFORN"}), "NATO")
    with pytest.raises(MarkingError, match="community"):
        marking_from_xml(unvalidated.as_xml())
    # Policy never expands the owner of a NOFORN marking, whether it comes from the marking or from the
    # originator's nation.
    assert releasable_nations(unvalidated, "USA") == frozenset()
    noforn = parse_banner("SECRET//NOFORN")
    assert releasable_nations(noforn, "QUAD") == frozenset()
    assert releasable_nations(noforn, "JPN") == {"JPN"}
    aus = Subject("u-AUS", "AUS", Classification.TOP_SECRET)
    assert not may_access(aus, unvalidated)
    assert not may_access(aus, noforn, owner_nation="QUAD")


# ------------------------------------------------------------------ finding 4: national forms
@pytest.mark.parametrize(
    ("banner", "expected"),
    [
        ("SECRET//JPN ONLY", Marking(Classification.SECRET, frozenset({"JPN"}), frozenset(), "JPN")),
        ("//JPN SECRET//JPN ONLY", Marking(Classification.SECRET, frozenset({"JPN"}), frozenset(), "JPN")),
        ("//JPN SECRET//REL TO JPN", Marking(Classification.SECRET, frozenset({"JPN"}), frozenset(), "JPN")),
        (
            "TS//SI//ORCON/UKR ONLY",
            Marking(Classification.TOP_SECRET, frozenset({"UKR"}), frozenset({"SI", "ORCON"}), "UKR"),
        ),
        ("極秘//JPN ONLY", Marking(Classification.SECRET, frozenset({"JPN"}), frozenset(), "JPN")),
        (
            "//JPN 極秘//REL TO JPN, USA",
            Marking(Classification.SECRET, frozenset({"JPN", "USA"}), frozenset(), "JPN"),
        ),
        (
            "特定秘密//REL TO USA, JPN",
            Marking(Classification.TOP_SECRET, frozenset({"JPN", "USA"}), frozenset(), "JPN"),
        ),
        ("秘//NOFORN", Marking(Classification.CONFIDENTIAL, frozenset(), frozenset({"NOFORN"}), "JPN")),
        (
            "таємно//rel to ukr, usa",  # lower case, as coalition words may be written
            Marking(Classification.CONFIDENTIAL, frozenset({"UKR", "USA"}), frozenset(), "UKR"),
        ),
        (
            "ЦІЛКОМ ТАЄМНО//UKR ONLY",
            Marking(Classification.SECRET, frozenset({"UKR"}), frozenset(), "UKR"),
        ),
        (
            "OFFICIAL//REL TO GBR, USA",
            Marking(Classification.UNCLASSIFIED, frozenset({"GBR", "USA"}), owner="GBR"),
        ),
        # GBR's SECRET is also the coalition word: it stays the coalition word, with no owner implied.
        ("SECRET//REL TO GBR, USA", Marking(Classification.SECRET, frozenset({"GBR", "USA"}))),
    ],
)
def test_national_only_and_national_words_map_to_coalition_markings(banner, expected):
    m = parse_banner(banner)
    assert m == expected
    # Written back in coalition words, ASCII, and the same marking through every form.
    assert m.banner().isascii()
    assert parse_banner(m.banner()) == m
    assert marking_from_label(json.loads(json.dumps(m.as_label()))) == m
    assert marking_from_xml(m.as_xml()) == m


def test_national_only_renders_in_the_register_form_and_releases_to_one_nation():
    m = parse_banner("SECRET//JPN ONLY")
    assert m.banner() == "SECRET//JPN ONLY"
    assert parse_banner("//JPN S//REL TO JPN").banner() == "SECRET//JPN ONLY"
    assert parse_banner("極秘//JPN ONLY").banner() == "SECRET//JPN ONLY"
    assert parse_banner("//JPN 極秘//REL TO JPN, USA").banner() == "//JPN SECRET//REL TO JPN, USA"
    assert releasable_nations(m, "USA") == {"JPN"}
    # A REL TO of one nation with no owner written stays REL TO.
    assert parse_banner("SECRET//REL TO JPN").banner() == "SECRET//REL TO JPN"


@pytest.mark.parametrize(
    ("banner", "why"),
    [
        ("SECRET//QUAD ONLY", "one nation"),
        ("SECRET//JPN, USA ONLY", "one nation"),
        ("SECRET//XYZ ONLY", "one nation"),
        ("SECRET//ONLY", "one nation"),
        ("SECRET//JPN ONLY/REL TO USA", "REL TO contradicts"),
        ("SECRET//NOFORN/JPN ONLY", "write one"),
        ("SECRET//JPN ONLY/USA ONLY", "twice"),
        ("//USA SECRET//JPN ONLY", "owner is USA"),
        ("極秘//UKR ONLY", "owner is JPN"),
        ("極秘//REL TO USA", "owner JPN must be included"),
        ("//USA 極秘//REL TO JPN, USA", "not of the owner USA"),
        ("秘密//REL TO JPN", "not part of a configured national level word"),
        ("SECRETS//REL TO JPN", "unknown classification"),
    ],
)
def test_malformed_national_forms_are_rejected(banner, why):
    with pytest.raises(MarkingError, match=why):
        parse_banner(banner)


def test_configured_national_words_add_to_the_tables_and_are_checked():
    cfg = MarkingConfig.from_mapping(
        {
            "national_levels": {
                "FRA": {"Très Secret": "TOP SECRET", "Secret": "SECRET"},
                "JPN": {"部外秘": "CONFIDENTIAL"},
                "DEU": {"GEHEIM": "SECRET"},
                "AUT": {"GEHEIM": "SECRET"},
            }
        }
    )
    assert parse_banner("très secret//rel to fra, usa", cfg) == Marking(
        Classification.TOP_SECRET, frozenset({"FRA", "USA"}), owner="FRA"
    )
    assert parse_banner("部外秘//JPN ONLY", cfg).classification == Classification.CONFIDENTIAL
    assert parse_banner("極秘//JPN ONLY", cfg).classification == Classification.SECRET  # kept
    # Without the configuration the same words are refused.
    with pytest.raises(MarkingError, match=re.escape("U+00C8 LATIN CAPITAL LETTER E WITH GRAVE")):
        parse_banner("TRÈS SECRET//REL TO FRA, USA")
    # A word of several nations needs its owner written.
    with pytest.raises(MarkingError, match="AUT, DEU; write the owner"):
        parse_banner("GEHEIM//REL TO DEU, USA", cfg)
    assert parse_banner("//DEU GEHEIM//REL TO DEU, USA", cfg).owner == "DEU"
    assert cfg.national_to_coalition("FRA", "très secret") == Classification.TOP_SECRET


@pytest.mark.parametrize(
    ("levels", "why"),
    [
        ({"JPN": {"極\u200b秘": "SECRET"}}, "U+200B ZERO WIDTH SPACE"),
        ({"JPN": {"ＳECRET": "SECRET"}}, "U+FF33 FULLWIDTH LATIN CAPITAL LETTER S"),
        ({"UKR": {"\u0405ECRET": "SECRET"}}, "mixes Latin"),
        ({"JPN": {"極秘/秘": "SECRET"}}, "separate parts"),
        ({"FRA": {"CONFIDENTIAL": "SECRET"}}, "coalition word"),
        ({"XX": {"WORD": "SECRET"}}, "ISO 3166"),
        ({"FRA": {"SECRET DEFENSE": "COSMIC"}}, "unknown coalition level"),
        ({"FRA": {" ": "SECRET"}}, "empty"),
    ],
)
def test_bad_national_words_in_the_configuration_are_refused(levels, why):
    with pytest.raises(MarkingError, match=re.escape(why)):
        MarkingConfig.from_mapping({"national_levels": levels})


def test_a_node_configuration_with_a_bad_national_word_is_one_config_error():
    # マル秘 in half-width katakana: NFKC turns it into the full-width word, so it is refused.
    data = {"markings": {"national_levels": {"JPN": {"ﾏﾙ秘": "SECRET"}}}}
    with pytest.raises(ConfigError, match=re.escape("markings: invalid marking 'ﾏﾙ秘'")) as info:
        NodeConfig.from_mapping(data, source="JPN.yaml")
    assert "U+FF8F HALFWIDTH KATAKANA LETTER MA" in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------------ finding 5: the originator's nation
def test_the_originators_nation_is_implied_and_never_widens_national_only():
    assert with_originator(parse_banner("SECRET//REL TO USA"), "JPN").banner() == "SECRET//REL TO USA, JPN"
    for unchanged in ("SECRET//REL TO QUAD", "SECRET//NOFORN", "UNCLASSIFIED", "SECRET//JPN ONLY"):
        assert with_originator(parse_banner(unchanged), "JPN") == parse_banner(unchanged)
    for foreign in ("SECRET//USA ONLY", "//USA SECRET//NOFORN"):
        with pytest.raises(PolicyError, match="its own nation cannot hold"):
            with_originator(parse_banner(foreign), "JPN")


@pytest.fixture
def coalition(tmp_path):
    cfgs = write_coalition(tmp_path, {"JPN": free_port(), "USA": free_port()})
    cfg = yaml.safe_load(cfgs["JPN"].read_text())
    cfg["markings"] = {"national_levels": {"JPN": {"部外秘": "CONFIDENTIAL"}}}
    cfgs["JPN"].write_text(yaml.safe_dump(cfg, allow_unicode=True))
    nodes = {n: Node.open(str(tmp_path / f"{n}.db"), cfgs[n], tmp_path / "keys") for n in cfgs}
    clients = {n: TestClient(create_app(node)) for n, node in nodes.items()}
    yield nodes, clients
    for c in clients.values():
        c.close()
    for node in nodes.values():
        node.catalog.close()


def _pull(nodes, clients, dst: str, src: str) -> None:
    feed = objects_path(src)
    r = clients[src].get(feed, headers=node_auth_headers(nodes[dst].signer, "GET", feed))
    assert r.status_code == 200, r.text
    nodes[dst].ingest(r.json()["objects"], source=src)


def _publish(client: TestClient, marking: str) -> dict[str, object]:
    body = {"type": "conjunction", "payload": {"miss_km": 0.3}, "marking": marking}
    r = client.post("/products", json=body, headers=TOKEN["JPN"])
    return {"status": r.status_code, **r.json()}


def test_publish_implies_the_originator_and_signs_the_implied_marking(coalition):
    nodes, clients = coalition
    jpn = nodes["JPN"]
    signed = _publish(clients["JPN"], "SECRET//REL TO USA")
    assert signed["status"] == 201
    assert signed["banner"] == "SECRET//REL TO USA, JPN"
    assert signed["product"]["marking"]["releasable_to"] == ["JPN", "USA"]  # what the signature covers
    pid = signed["product"]["id"]
    # JPN's own analyst reads JPN's product; the stored row releases it to JPN and USA.
    assert clients["JPN"].get(f"/products/conjunctions/{pid}", headers=TOKEN["JPN"]).status_code == 200
    for nation, visible in (("JPN", True), ("USA", True), ("UKR", False)):
        reader = jpn.visibility(Subject(f"u-{nation}", nation, Classification.SECRET))
        assert (jpn.share.get(reader, pid) is not None) == visible
    # The node library path signs the same implied marking.
    p = Product.new("conjunction", {}, parse_banner("CONFIDENTIAL//REL TO UKR"), "JPN")
    assert jpn.publish(p, actor="t")["banner"] == "CONFIDENTIAL//REL TO JPN, UKR"
    q = Product.new("conjunction", {}, parse_banner("CONFIDENTIAL//REL TO GBR"), "JPN")
    jpn.publish_many([q], actor="t")
    assert jpn.verify_wire(jpn.share.get(None, q.id).wire).marking.releasable_to == {"GBR", "JPN"}


def test_publish_refuses_a_marking_its_own_nation_cannot_hold(coalition):
    nodes, clients = coalition
    jpn = nodes["JPN"]
    for banner in ("//USA SECRET//NOFORN", "SECRET//USA ONLY"):
        r = _publish(clients["JPN"], banner)
        assert r["status"] == 403 and "its own nation cannot hold" in r["detail"]
        with pytest.raises(PolicyError, match="its own nation cannot hold"):
            jpn.publish(Product.new("conjunction", {}, parse_banner(banner), "JPN"), actor="t")
        with pytest.raises(PolicyError, match="its own nation cannot hold"):
            jpn.publish_many([Product.new("conjunction", {}, parse_banner(banner), "JPN")], actor="t")
    refused = [r for r in jpn.share.audit_rows() if r["event"] == "refusal"]
    assert sum("its own nation cannot hold" in str(r["detail"]) for r in refused) == 4
    assert clients["JPN"].get("/products/conjunctions", headers=TOKEN["JPN"]).json()["objects"] == []
    # Its own national-only marking is fine.
    assert _publish(clients["JPN"], "SECRET//JPN ONLY")["banner"] == "SECRET//JPN ONLY"


def test_downgrade_implies_the_originator_too(coalition):
    nodes, _ = coalition
    jpn = nodes["JPN"]
    p = Product.new("conjunction", {}, parse_banner("SECRET//REL TO USA, JPN"), "JPN")
    jpn.publish(p, actor="t")
    boss = Subject("boss", "JPN", Classification.TOP_SECRET, frozenset(), frozenset({"downgrader"}))
    signed = jpn.downgrade(p.id, parse_banner("CONFIDENTIAL//REL TO USA"), actor=boss, justification="MOD 9")
    assert signed["banner"] == "CONFIDENTIAL//REL TO USA, JPN"
    with pytest.raises(PolicyError, match="its own nation cannot hold"):
        jpn.downgrade(p.id, parse_banner("CONFIDENTIAL//USA ONLY"), actor=boss, justification="MOD 10")


def test_a_node_configured_with_national_words_publishes_them_end_to_end(coalition):
    nodes, clients = coalition
    signed = _publish(clients["JPN"], "部外秘//REL TO JPN, USA")
    assert signed["status"] == 201, signed
    assert signed["banner"] == "//JPN CONFIDENTIAL//REL TO JPN, USA"
    assert _publish(clients["JPN"], "極秘//JPN ONLY")["banner"] == "SECRET//JPN ONLY"
    # The partner, which has no such word configured, verifies and holds the coalition label.
    _pull(nodes, clients, "USA", "JPN")
    usa_copy = nodes["USA"].verify_wire(nodes["USA"].share.get(None, signed["product"]["id"]).wire)
    assert usa_copy.marking == Marking(Classification.CONFIDENTIAL, frozenset({"JPN", "USA"}), owner="JPN")
    # USA's own node does not accept the JPN word it was not configured with.
    r = clients["USA"].post(
        "/products",
        json={"type": "conjunction", "payload": {}, "marking": "部外秘//REL TO JPN, USA"},
        headers=TOKEN["USA"],
    )
    assert r.status_code == 400 and "U+90E8" in r.json()["detail"]


# ------------------------------------------------------------------ property: what is accepted
_LEVELS = [
    "UNCLASSIFIED", "U", "CONFIDENTIAL", "C", "SECRET", "S", "TOP SECRET", "TS", "secret", "ts",
    "極秘", "秘", "特定秘密", "ТАЄМНО", "таємно", "ЦІЛКОМ ТАЄМНО", "ОСОБЛИВОЇ ВАЖЛИВОСТІ", "OFFICIAL",
    "OFFICIAL-SENSITIVE", "ſECRET", "ＳECRET", "ТАЄМНO", "SECRЕT", "極秘", "таємно", "SECRET",
]  # fmt: skip
_OWNERS = ["", "", "", "//JPN ", "//UKR ", "//GBR ", "//USA ", "//QUAD ", "//NATO ", "//jpn "]
_RELEASABILITY = [
    "REL TO USA", "REL TO JPN, USA", "rel to ukr, usa", "REL TO GBR, USA", "REL TO QUAD",
    "REL TO FVEY, JPN", "REL TO NATO, UKR", "JPN ONLY", "UKR ONLY", "GBR ONLY", "usa only", "NOFORN", "",
    "REL TOJPN", "rel to jpn, uſa", "REL TO ıTA", "REL TO USA, ＪPN", "QUAD ONLY",
]  # fmt: skip
_CAVEATS = ["ORCON", "PROPIN", "SI", "TK", "orcon"]
_NOISE = "ſıＳﬀﬆ\u200b\u00a0\u2028\u1c82\u0301\u0405ОoK\tЄ極 /,"


@st.composite
def _banners(draw: st.DrawFn) -> str:
    """Banners near the grammar: mostly well formed, with look-alikes among the words and, now and
    then, a stray character inserted anywhere."""
    text = draw(st.sampled_from(_OWNERS)) + draw(st.sampled_from(_LEVELS))
    controls = draw(st.lists(st.sampled_from(_CAVEATS), max_size=2, unique=True))
    controls += [r for r in [draw(st.sampled_from(_RELEASABILITY))] if r]
    for control in draw(st.permutations(controls)):
        text += draw(st.sampled_from(["//", "/"])) + control
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(_NOISE)) + text[at:]
    return text


def _outside_national_words(text: str) -> str:
    """`text` without the configured national words, each written in its upper or lower case."""
    out = unicodedata.normalize("NFC", text)
    words = {w for levels in default_config().national_levels.values() for w in levels}
    for word in sorted(words, key=len, reverse=True):
        for case in (word, word.lower()):
            # a word of several parts matches with any run of whitespace between them, as the parser
            # reads it ("ЦІЛКОМ\t ТАЄМНО" is ЦІЛКОМ ТАЄМНО)
            out = re.sub(r"\s+".join(map(re.escape, case.split())), "", out)
    return out


@settings(max_examples=1500, deadline=None)
@given(st.one_of(_banners(), st.text(max_size=40)))
@example("極秘//JPN ONLY")
@example("//UKR таємно//rel to ukr, usa")
@example("ЦІЛКОМ\t ТАЄМНО//rel to ukr, usa")  # parts of a national word split by any whitespace
@example("TS//SI//ORCON/REL TO USA, GBR, QUAD")
def test_every_accepted_banner_round_trips_and_is_ascii_or_a_configured_word(text):
    try:
        m = parse_banner(text)
    except MarkingError:
        return
    banner = m.banner()
    assert banner.isascii()
    assert parse_banner(banner) == m
    assert _outside_national_words(text).isascii()
    if m.noforn or (m.owner is not None and m.releasable_to == {m.owner} and is_country(m.owner)):
        # NOFORN and national-only mean one nation: never a community's members
        nations = releasable_nations(m, "JPN")
        assert nations is not None and len(nations) == 1 and all(is_country(n) for n in nations)
