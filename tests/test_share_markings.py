"""Markings, policy and canonical bytes.

References: the banner grammar and REL TO ordering of the ODNI IC Markings Register; RFC 8785 §3.2.3
(the canonicalisation example, byte for byte); ECMA-262 Number::toString for number forms; ISO 3166-1
alpha-3 codes from pycountry's ISO database.
"""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.share.markings import (
    Classification,
    Marking,
    MarkingError,
    default_config,
    marking_from_label,
    marking_from_xml,
    parse_banner,
)
from kizuna.share.policy import PolicyError, Subject, check_downgrade, combine, may_access
from kizuna.share.products import Product, canonical_json

NATIONS = ["USA", "JPN", "UKR", "GBR", "IND", "AUS", "FRA"]


@pytest.mark.parametrize(
    "banner",
    [
        "UNCLASSIFIED",
        "SECRET//REL TO USA, JPN",
        "SECRET//REL TO USA, JPN, UKR",
        "TOP SECRET//SI/TK//ORCON/REL TO USA, GBR, QUAD",
        "CONFIDENTIAL//NOFORN",
        "//NATO SECRET//REL TO NATO",
        "//JPN SECRET//REL TO JPN, USA",
        "UNCLASSIFIED//REL TO FVEY",
    ],
)
def test_banner_round_trips_through_banner_json_and_stanag_4774_xml(banner):
    m = parse_banner(banner)
    assert m.banner() == banner
    assert marking_from_label(json.loads(json.dumps(m.as_label()))) == m
    xml = m.as_xml()
    assert "urn:nato:stanag:4774:confidentialitymetadatalabel:1:0" in xml
    assert marking_from_xml(xml) == m


def test_abbreviations_and_order_normalise_to_ic_register_form():
    # IC register: USA first in REL TO, other trigraphs A-Z, tetragraphs (communities) last.
    assert parse_banner("s//rel to ukr, quad, jpn, usa").banner() == "SECRET//REL TO USA, JPN, UKR, QUAD"
    assert parse_banner("TS//NOFORN").classification == Classification.TOP_SECRET


@pytest.mark.parametrize(
    ("banner", "why"),
    [
        ("SECRET//NOFORN/REL TO USA, JPN", "NOFORN"),
        ("SECRET", "must state its releasability"),
        ("SECRET//REL TO USA, XYZ", "ISO 3166"),
        ("SECRET//REL TO USA, US", "ISO 3166"),
        ("UNCLASSIFIED//ORCON", "classified"),
        ("SECRET//BOGUS/REL TO USA", "unknown caveat"),
        ("SECRET//REL TO USA, USA", "duplicated"),
        ("SECRET//REL TO USA//REL TO JPN", "twice"),
        ("SECRT//REL TO USA", "unknown classification"),
        ("SECRET////REL TO USA", "empty"),
        ("//JPN SECRET//REL TO USA", "owner JPN must be included"),
        ("", "empty"),
    ],
)
def test_malformed_or_contradictory_markings_are_rejected_with_the_rule(banner, why):
    with pytest.raises(MarkingError, match=why):
        parse_banner(banner)


def test_malicious_xml_label_is_rejected_without_expanding_entities():
    xml = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        '<slab:ConfidentialityLabel xmlns:slab="urn:nato:stanag:4774:confidentialitymetadatalabel:1:0">'
        "<slab:ConfidentialityInformation><slab:PolicyIdentifier>&e;</slab:PolicyIdentifier>"
        "<slab:Classification>SECRET</slab:Classification></slab:ConfidentialityInformation>"
        "</slab:ConfidentialityLabel>"
    )
    with pytest.raises(MarkingError):
        marking_from_xml(xml)


def test_national_levels_map_to_coalition_levels():
    cfg = default_config()
    assert cfg.national_to_coalition("JPN", "特定秘密") == Classification.TOP_SECRET
    assert cfg.national_to_coalition("UKR", "ТАЄМНО") == Classification.CONFIDENTIAL
    assert cfg.coalition_to_national("GBR", Classification.UNCLASSIFIED) == "OFFICIAL"
    with pytest.raises(MarkingError):
        cfg.national_to_coalition("JPN", "NOT A LEVEL")


def test_rfc8785_canonicalisation_example_byte_for_byte():
    # RFC 8785 §3.2.3: input and expected output of the JSON Canonicalization Scheme.
    data = json.loads(
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        '"literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical_json(data) == expected.encode("utf-8")


@pytest.mark.parametrize(
    ("x", "text"),
    [  # ECMA-262 Number::toString
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (1e-6, "0.000001"),
        (-0.0, "0"),
        (5e-324, "5e-324"),
        (123456789012345680000.0, "123456789012345680000"),
        (0.1, "0.1"),
    ],
)
def test_canonical_numbers_follow_ecmascript(x, text):
    assert canonical_json(x) == text.encode()


def test_canonical_keys_sort_by_utf16_code_units():
    # RFC 8785 §3.2.3: "\u20ac" (U+20AC) sorts before "\ud83d\ude00" (surrogates 0xD83D) by UTF-16.
    assert canonical_json({"\U0001f600": 1, "\u20ac": 2, "a": 3}) == '{"a":3,"€":2,"😀":1}'.encode()


# ---------------------------------------------------------------- policy
def _subject(nation, level, accesses=()):
    return Subject(f"u-{nation}", nation, level, frozenset(accesses))


def _brute_force_allowed(subject, marking, owner):
    """Independent statement of the rule, written from the issue text with explicit community lists."""
    communities = {"QUAD": {"AUS", "IND", "JPN", "USA"}, "FVEY": {"AUS", "CAN", "GBR", "NZL", "USA"}}
    if "NOFORN" in marking.caveats:
        nations = {marking.owner or owner}
    elif marking.releasable_to:
        nations = set().union(*(communities.get(n, {n}) for n in marking.releasable_to))
    else:
        nations = None
    nation_ok = nations is None or subject.nationality in nations
    return (
        nation_ok
        and subject.clearance >= marking.classification
        and all(c in subject.accesses for c in marking.caveats if c != "NOFORN")
    )


markings_st = st.builds(
    lambda lvl, rel, cav, noforn: Marking(
        Classification(lvl),
        frozenset() if noforn else frozenset(rel),
        frozenset(cav) | ({"NOFORN"} if noforn else set()),
    ),
    st.integers(0, 3),
    st.sets(st.sampled_from(NATIONS + ["QUAD", "FVEY"]), min_size=1, max_size=4),
    st.sets(st.sampled_from(["ORCON", "PROPIN"]), max_size=2),
    st.booleans(),
).filter(lambda m: m.classification > 0 or not (m.caveats & {"ORCON"}))


@settings(max_examples=300, deadline=None)
@given(
    markings_st,
    st.sampled_from(NATIONS),
    st.integers(0, 3),
    st.sets(st.sampled_from(["ORCON", "PROPIN"])),
    st.sampled_from(NATIONS),
)
def test_dominance_check_matches_brute_force_statement(marking, nation, level, accesses, owner):
    marking.validate()
    subject = _subject(nation, Classification(level), accesses)
    assert bool(may_access(subject, marking, owner_nation=owner)) == _brute_force_allowed(
        subject, marking, owner
    )
    assert parse_banner(marking.banner()) == marking


@settings(max_examples=200, deadline=None)
@given(st.lists(markings_st, min_size=1, max_size=4), st.sampled_from(NATIONS))
def test_derived_marking_is_never_less_restrictive_than_any_input(inputs, deriving):
    for m in inputs:
        m.validate()
    out = combine(inputs, deriving_nation=deriving)
    assert out.classification == max(m.classification for m in inputs)
    assert out.caveats >= frozenset().union(*(m.caveats for m in inputs))
    # Sweep every subject: whoever may see the derived product may see every input.
    for nation, level, acc in itertools.product(NATIONS, range(4), [(), ("ORCON", "PROPIN")]):
        s = _subject(nation, Classification(level), acc)
        if may_access(s, out, owner_nation=deriving) and nation != deriving:
            assert all(may_access(s, m, owner_nation=deriving) for m in inputs)


def test_combine_example_intersection_of_communities():
    a, b = parse_banner("SECRET//REL TO QUAD"), parse_banner("CONFIDENTIAL//ORCON/REL TO USA, JPN, UKR")
    # The deriving nation owns the derived product (foreign-owner form of the IC register).
    assert combine([a, b], deriving_nation="JPN").banner() == "//JPN SECRET//ORCON/REL TO JPN, USA"


def test_downgrade_requires_role_owner_nation_and_justification():
    old, new = parse_banner("SECRET//REL TO USA, JPN"), parse_banner("UNCLASSIFIED")
    boss = Subject("boss", "JPN", Classification.TOP_SECRET, frozenset(), frozenset({"downgrader"}))
    check_downgrade(boss, old, new, owner_nation="JPN", justification="declassified by MOD order 7")
    with pytest.raises(PolicyError, match="role"):
        check_downgrade(
            _subject("JPN", Classification.TOP_SECRET), old, new, owner_nation="JPN", justification="x"
        )
    with pytest.raises(PolicyError, match="originating nation"):
        check_downgrade(
            Subject("b", "USA", Classification.TOP_SECRET, frozenset(), frozenset({"downgrader"})),
            old,
            new,
            owner_nation="JPN",
            justification="x",
        )
    with pytest.raises(PolicyError, match="justification"):
        check_downgrade(boss, old, new, owner_nation="JPN", justification=" ")


def test_canonical_bytes_bind_the_marking_to_the_payload():
    p = Product.new("conjunction", {"miss_km": 0.25}, parse_banner("SECRET//REL TO USA, JPN"), "JPN")
    q = Product(**{**p.__dict__, "marking": parse_banner("SECRET//REL TO USA, JPN, UKR")})
    assert p.canonical_bytes() != q.canonical_bytes()
    assert b'"marking":{"caveats":[],"classification":"SECRET"' in p.canonical_bytes()
