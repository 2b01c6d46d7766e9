"""The cache of markings parsed from labels (keyed by the label's JSON text): a label that differs in
any JSON value is parsed on its own, a refused label is refused every time, and the cache never
answers for a label it was not given."""

from __future__ import annotations

import pytest

from kizuna.share.markings import MarkingError, parse_banner
from kizuna.share.products import _LABELS, _label_key


def _label(**changes: object) -> dict[str, object]:
    return {**parse_banner("SECRET//REL TO USA, JPN").as_label(), **changes}


def test_the_same_label_in_another_member_order_is_the_same_marking() -> None:
    label = _label()
    reordered = dict(reversed(list(label.items())))
    assert (
        _LABELS.marking(reordered, None)
        == _LABELS.marking(label, None)
        == parse_banner("SECRET//REL TO USA, JPN")
    )


@pytest.mark.parametrize(
    ("changes", "banner"),
    [
        ({"classification": "TOP SECRET"}, "TOP SECRET//REL TO USA, JPN"),
        ({"releasable_to": ["JPN", "UKR", "USA"]}, "SECRET//REL TO USA, JPN, UKR"),
        ({"caveats": ["ORCON"]}, "SECRET//ORCON/REL TO USA, JPN"),
    ],
)
def test_a_label_differing_in_one_value_gets_its_own_marking(changes: dict[str, object], banner: str) -> None:
    _LABELS.marking(_label(), None)  # cached first
    assert _LABELS.marking(_label(**changes), None) == parse_banner(banner)


@pytest.mark.parametrize(
    "changes",
    [{"releasable_to": ["JPN", 1]}, {"classification": 3}, {"owner": "null"}, {"caveats": None}],
)
def test_a_refused_label_is_refused_every_time(changes: dict[str, object]) -> None:
    for _ in range(2):
        with pytest.raises((MarkingError, ValueError, TypeError)):
            _LABELS.marking(_label(**changes), None)


def test_labels_with_the_same_text_but_different_json_types_have_different_keys() -> None:
    assert _label_key(_label(owner=None)) != _label_key(_label(owner="null"))
    assert _label_key(_label(classification="1")) != _label_key(_label(classification=1))
    assert _label_key(_label(caveats=[])) != _label_key(_label(caveats={}))
    assert _label_key(["not", "a", "dict"]) is None
    assert _label_key({str(i): i for i in range(9)}) is None  # larger than any label
