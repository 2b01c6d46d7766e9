"""Boost models are data (kizuna/data/mw/missiles.yaml): each with a source, each figure checked."""

from __future__ import annotations

import copy
from importlib import resources

import pytest
import yaml

from kizuna.mw.threats import DEFAULT_MODEL, MODELS, parse_models


def _doc() -> dict:
    text = (resources.files("kizuna") / "data" / "mw" / "missiles.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def test_every_bundled_model_names_a_source_and_each_class_has_one_default() -> None:
    doc = _doc()
    for name, entry in doc["models"].items():
        assert len(entry["source"]) > 40, name
    assert sorted(DEFAULT_MODEL) == sorted({m.threat_class for m in MODELS.values()})
    assert DEFAULT_MODEL["ICBM"] == "hwasong-17-like"
    # a figure is a number: YAML 1.1 reads an unsigned "1.0e5" as a string, which the parser refuses
    assert MODELS["hwasong-17-like"].plume_w_sr == 1.5e6


def _set(path: tuple, value: object):
    def apply(doc: dict) -> dict:
        node = doc
        for key in path[:-1]:
            node = node[key]
        if value is KeyError:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        return doc

    return apply


HOSTILE = [
    (_set(("models",), {}), "needs a non-empty 'models' mapping"),
    (
        _set(("models", "scud-b-like", "payload_kg"), "1.0e5"),
        "scud-b-like: payload_kg '1.0e5' is not a number",
    ),
    (_set(("models", "scud-b-like", "payload_kg"), -1.0), "payload_kg -1.0 must be a finite number above 0"),
    (_set(("models", "scud-b-like", "rv_cd"), float("nan")), "rv_cd nan must be a finite number above 0"),
    (_set(("models", "scud-b-like", "diameter_m"), True), "diameter_m True is not a number"),
    (_set(("models", "scud-b-like", "threat_class"), "XRBM"), "threat_class 'XRBM' is not one of"),
    (_set(("models", "scud-b-like", "source"), " "), "scud-b-like: source is empty"),
    (_set(("models", "scud-b-like", "stages"), []), "stages must be a non-empty list"),
    (_set(("models", "scud-b-like", "stages"), [{"burn_s": 1.0}]), "stage 1 needs exactly"),
    (_set(("models", "scud-b-like", "stages", 0, "isp_s"), 0.0), "stage 1: isp_s 0.0 must be"),
    (_set(("models", "scud-b-like", "payload_kg"), KeyError), "scud-b-like: missing payload_kg"),
    (_set(("models", "scud-b-like", "thrust_kn"), 5.0), "unknown field thrust_kn"),
    (_set(("models", "hwasong-15-like", "default"), True), "a second default for ICBM"),
    (_set(("models", "scud-b-like", "default"), False), "no default model for SRBM"),
]


@pytest.mark.parametrize(("change", "message"), HOSTILE)
def test_a_bad_model_entry_is_refused_naming_the_model_and_field(change, message) -> None:
    with pytest.raises(ValueError, match=None) as err:
        parse_models(change(copy.deepcopy(_doc())), "missiles.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("missiles.yaml")
