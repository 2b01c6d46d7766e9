"""Security markings: classification, releasability and caveats.

Banner lines follow the US Intelligence Community marking grammar (ODNI "Intelligence Community Authorized
Classification and Control Markings Register and Manual"): categories are separated by ``//``, values
within a category by ``/``, releasability is ``REL TO`` with ISO 3166-1 alpha-3 codes and named
communities, and a foreign or international owner is a leading ``//OWNER`` (e.g. ``//NATO SECRET``).
The structured label mirrors the STANAG 4774 confidentiality label (``ConfidentialityInformation`` with a
``PolicyIdentifier``, a ``Classification`` and ``Category`` elements that are PERMISSIVE for releasability
and RESTRICTIVE for caveats).

Rules that make a marking contradictory (rejected with :class:`MarkingError`):

* ``NOFORN`` together with ``REL TO``;
* a classified marking (CONFIDENTIAL or above) that does not state its releasability (``REL TO`` or
  ``NOFORN``): a coalition node never guesses;
* an owner that is not in its own ``REL TO`` list;
* a caveat that needs a classified marking (ORCON, SCI) on UNCLASSIFIED;
* unknown country codes, communities or caveats, duplicated values, unknown classification words.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cache
from pathlib import Path
from typing import Any

from kizuna.errors import KizunaError

STANAG_4774_NS = "urn:nato:stanag:4774:confidentialitymetadatalabel:1:0"
POLICY_IDENTIFIER = "KIZUNA-COALITION"


class MarkingError(KizunaError, ValueError):
    """A marking is malformed or contradictory; the message says which rule it breaks."""

    def __init__(self, marking: str, message: str):
        self.marking = marking
        super().__init__(f"invalid marking {marking!r}: {message}")


class Classification(IntEnum):
    """Coalition classification levels, ordered so that ``>=`` is dominance."""

    UNCLASSIFIED = 0
    CONFIDENTIAL = 1
    SECRET = 2
    TOP_SECRET = 3

    @property
    def banner(self) -> str:
        return self.name.replace("_", " ")

    @classmethod
    def parse(cls, text: str) -> Classification:
        word = " ".join(text.strip().upper().replace("_", " ").split())
        if word in _CLASS_WORDS:
            return _CLASS_WORDS[word]
        raise ValueError(word)


_CLASS_WORDS = {
    "UNCLASSIFIED": Classification.UNCLASSIFIED,
    "U": Classification.UNCLASSIFIED,
    "CONFIDENTIAL": Classification.CONFIDENTIAL,
    "C": Classification.CONFIDENTIAL,
    "SECRET": Classification.SECRET,
    "S": Classification.SECRET,
    "TOP SECRET": Classification.TOP_SECRET,
    "TS": Classification.TOP_SECRET,
}

NOFORN = "NOFORN"
SCI_CONTROLS = frozenset({"SI", "TK", "HCS"})


@dataclass(frozen=True)
class MarkingConfig:
    """What a node knows about markings: communities, caveats and national level names.

    ``national_levels`` maps a nation to its own level words (e.g. Japan's 秘 / 極秘 / 特定秘密) so a node
    can accept and display them while policy works on the coalition :class:`Classification`.
    ``classified_only`` caveats may not appear on UNCLASSIFIED products.
    """

    communities: Mapping[str, frozenset[str]]
    caveats: frozenset[str]
    classified_only: frozenset[str]
    national_levels: Mapping[str, Mapping[str, Classification]] = field(default_factory=dict)

    def expand(self, names: Iterable[str]) -> frozenset[str]:
        """Country codes named directly or through a community."""
        out: set[str] = set()
        for n in names:
            out |= self.communities.get(n, {n})
        return frozenset(out)

    def national_to_coalition(self, nation: str, word: str) -> Classification:
        levels = self.national_levels.get(nation, {})
        if word in levels:
            return levels[word]
        try:
            return Classification.parse(word)
        except ValueError:
            raise MarkingError(
                word, f"unknown {nation} classification level; known: {', '.join(levels) or 'none'}"
            ) from None

    def coalition_to_national(self, nation: str, level: Classification) -> str:
        """The highest-ranked national word that maps to `level` (the coalition word when none)."""
        for word, lv in self.national_levels.get(nation, {}).items():
            if lv == level:
                return word
        return level.banner

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> MarkingConfig:  # YAML: any shape, checked here
        base = default_config()
        communities = dict(base.communities)
        for name, members in dict(data.get("communities") or {}).items():
            communities[str(name).upper()] = frozenset(str(m).upper() for m in members)
        caveats = base.caveats | {str(c).upper() for c in data.get("caveats") or []}
        levels = {k: dict(v) for k, v in base.national_levels.items()}
        for nation, words in dict(data.get("national_levels") or {}).items():
            levels[str(nation)] = {str(w): Classification.parse(str(c)) for w, c in dict(words).items()}
        cfg = cls(
            communities=communities,
            caveats=frozenset(caveats),
            classified_only=base.classified_only,
            national_levels=levels,
        )
        for name, members in communities.items():
            bad = sorted(m for m in members if not is_country(m))
            if bad:
                raise MarkingError(name, f"community members are not ISO 3166 alpha-3 codes: {bad}")
        return cfg

    @classmethod
    def load(cls, path: Path) -> MarkingConfig:
        import yaml

        return cls.from_mapping(yaml.safe_load(path.read_text()) or {})


@cache
def _countries() -> frozenset[str]:
    import pycountry

    return frozenset(c.alpha_3 for c in pycountry.countries)


def is_country(code: str) -> bool:
    """An ISO 3166-1 alpha-3 code (from the pycountry ISO database)."""
    return code in _countries()


@cache
def default_config() -> MarkingConfig:
    nato = [
        "ALB",
        "BEL",
        "BGR",
        "CAN",
        "HRV",
        "CZE",
        "DNK",
        "EST",
        "FIN",
        "FRA",
        "DEU",
        "GRC",
        "HUN",
        "ISL",
        "ITA",
        "LVA",
        "LTU",
        "LUX",
        "MNE",
        "NLD",
        "MKD",
        "NOR",
        "POL",
        "PRT",
        "ROU",
        "SVK",
        "SVN",
        "ESP",
        "SWE",
        "TUR",
        "GBR",
        "USA",
    ]
    return MarkingConfig(
        communities={
            "QUAD": frozenset({"AUS", "IND", "JPN", "USA"}),
            "FVEY": frozenset({"AUS", "CAN", "GBR", "NZL", "USA"}),
            "NATO": frozenset(nato),
        },
        caveats=frozenset({NOFORN, "ORCON", "PROPIN", "IMCON", "SI", "TK", "HCS"}),
        classified_only=frozenset({"ORCON", "SI", "TK", "HCS"}),
        national_levels={
            # Japan: 特定秘密 (Act No. 108 of 2013) above the ministry levels 極秘 and 秘.
            "JPN": {
                "特定秘密": Classification.TOP_SECRET,
                "極秘": Classification.SECRET,
                "秘": Classification.CONFIDENTIAL,
            },
            # Ukraine, Law "On State Secret": особливої важливості / цілком таємно / таємно.
            "UKR": {
                "ОСОБЛИВОЇ ВАЖЛИВОСТІ": Classification.TOP_SECRET,
                "ЦІЛКОМ ТАЄМНО": Classification.SECRET,
                "ТАЄМНО": Classification.CONFIDENTIAL,
            },
            "GBR": {
                "TOP SECRET": Classification.TOP_SECRET,
                "SECRET": Classification.SECRET,
                "OFFICIAL-SENSITIVE": Classification.CONFIDENTIAL,
                "OFFICIAL": Classification.UNCLASSIFIED,
            },
        },
    )


@dataclass(frozen=True)
class Marking:
    """A validated marking. ``releasable_to`` holds country codes and community names as written;
    empty means "no REL TO" (only allowed for UNCLASSIFIED, where it means releasable to all, and with
    NOFORN, where it means the owner nation only)."""

    classification: Classification
    releasable_to: frozenset[str] = frozenset()
    caveats: frozenset[str] = frozenset()
    owner: str | None = None

    @property
    def noforn(self) -> bool:
        return NOFORN in self.caveats

    @property
    def access_caveats(self) -> frozenset[str]:
        """Caveats a subject must hold an access for (dissemination controls like NOFORN are not)."""
        return self.caveats - {NOFORN}

    def validate(self, config: MarkingConfig | None = None) -> Marking:
        cfg = config or default_config()
        text = self.banner()
        if self.noforn and self.releasable_to:
            raise MarkingError(text, "NOFORN forbids any foreign release, so REL TO contradicts it")
        if self.classification > Classification.UNCLASSIFIED and not self.releasable_to and not self.noforn:
            raise MarkingError(
                text, "a classified marking must state its releasability (REL TO ... or NOFORN)"
            )
        unknown = sorted(c for c in self.caveats if c not in cfg.caveats)
        if unknown:
            raise MarkingError(text, f"unknown caveat(s) {unknown}; known: {sorted(cfg.caveats)}")
        if self.classification == Classification.UNCLASSIFIED:
            bad = sorted(self.caveats & cfg.classified_only)
            if bad:
                raise MarkingError(text, f"{bad} may only be applied to classified information")
        for name in self.releasable_to:
            if name not in cfg.communities and not is_country(name):
                raise MarkingError(
                    text,
                    f"{name!r} in REL TO is neither an ISO 3166 alpha-3 code "
                    f"nor a known community ({', '.join(sorted(cfg.communities))})",
                )
        if self.owner is not None:
            if self.owner not in cfg.communities and not is_country(self.owner):
                raise MarkingError(text, f"owner {self.owner!r} is not a country code or community")
            if self.releasable_to and not (cfg.expand([self.owner]) <= cfg.expand(self.releasable_to)):
                raise MarkingError(text, f"owner {self.owner} must be included in its own REL TO")
        return self

    # ------------------------------------------------------------- banner
    def banner(self) -> str:
        """The banner line, e.g. ``SECRET//ORCON/REL TO USA, JPN, UKR`` (countries A-Z, then communities)."""
        head = self.classification.banner
        if self.owner:
            head = f"//{self.owner} {head}"
        # IC register order: SCI controls form their own category before the dissemination controls.
        sci = sorted(self.caveats & SCI_CONTROLS)
        controls = sorted(self.caveats - SCI_CONTROLS - {NOFORN})
        if self.noforn:
            controls.append(NOFORN)
        if self.releasable_to:
            countries = sorted(n for n in self.releasable_to if len(n) == 3 and is_country(n))
            others = sorted(self.releasable_to - set(countries))
            # USA first (IC register), or the foreign owner first, then A-Z; communities last.
            first = self.owner if self.owner in countries else ("USA" if "USA" in countries else None)
            if first:
                countries.remove(first)
                countries.insert(0, first)
            controls.append("REL TO " + ", ".join(countries + others))
        parts = [head] + (["/".join(sci)] if sci else []) + (["/".join(controls)] if controls else [])
        return "//".join(parts)

    __str__ = banner

    # ------------------------------------------------------------- structured label
    def as_label(self) -> dict[str, object]:
        """JSON label (the fields of a STANAG 4774 ConfidentialityInformation)."""
        return {
            "policy_identifier": POLICY_IDENTIFIER,
            "classification": self.classification.banner,
            "owner": self.owner,
            "releasable_to": sorted(self.releasable_to),
            "caveats": sorted(self.caveats),
        }

    def as_xml(self) -> str:
        """XML modelled on the STANAG 4774 confidentiality label (categories PERMISSIVE/RESTRICTIVE)."""
        from lxml import etree

        ns = STANAG_4774_NS
        root = etree.Element(f"{{{ns}}}ConfidentialityLabel", nsmap={"slab": ns})
        info = etree.SubElement(root, f"{{{ns}}}ConfidentialityInformation")
        etree.SubElement(info, f"{{{ns}}}PolicyIdentifier").text = POLICY_IDENTIFIER
        etree.SubElement(info, f"{{{ns}}}Classification").text = self.classification.banner
        if self.owner:
            cat = etree.SubElement(info, f"{{{ns}}}Category", TagName="Owner", Type="INFORMATIVE")
            etree.SubElement(cat, f"{{{ns}}}GenericValue").text = self.owner
        if self.releasable_to:
            cat = etree.SubElement(info, f"{{{ns}}}Category", TagName="Releasable To", Type="PERMISSIVE")
            for n in sorted(self.releasable_to):
                etree.SubElement(cat, f"{{{ns}}}GenericValue").text = n
        if self.caveats:
            cat = etree.SubElement(info, f"{{{ns}}}Category", TagName="Caveat", Type="RESTRICTIVE")
            for c in sorted(self.caveats):
                etree.SubElement(cat, f"{{{ns}}}GenericValue").text = c
        return etree.tostring(root, encoding="unicode")


def parse_banner(text: str, config: MarkingConfig | None = None) -> Marking:
    """Parse a banner line into a validated :class:`Marking` (raises :class:`MarkingError`)."""
    cfg = config or default_config()
    raw = text
    s = " ".join(text.strip().upper().split())
    if not s:
        raise MarkingError(raw, "empty marking")
    owner = None
    if s.startswith("//"):
        head, _, rest = s[2:].partition("//")
        parts = head.split(" ", 1)
        if len(parts) != 2:
            raise MarkingError(raw, "a leading '//' must be followed by an owner and a classification")
        owner, cls_word = parts[0], parts[1]
        s = cls_word + ("//" + rest if rest else "")
    pieces = s.split("//")
    try:
        level = Classification.parse(pieces[0])
    except ValueError:
        raise MarkingError(
            raw,
            f"unknown classification {pieces[0]!r}; expected one of "
            "UNCLASSIFIED, CONFIDENTIAL, SECRET, TOP SECRET",
        ) from None
    caveats: list[str] = []
    rel: list[str] = []
    seen_rel = False
    for block in pieces[1:]:
        if not block.strip():
            raise MarkingError(raw, "empty category between '//' separators")
        for token in block.split("/"):
            token = token.strip()
            if not token:
                raise MarkingError(raw, "empty control between '/' separators")
            if token.startswith("REL TO"):
                if seen_rel:
                    raise MarkingError(raw, "REL TO appears twice")
                seen_rel = True
                names = [n.strip() for n in token[len("REL TO") :].split(",")]
                if not names or any(not n for n in names):
                    raise MarkingError(raw, "REL TO needs a comma-separated list of codes")
                rel.extend(names)
            else:
                caveats.append(token)
    for values, what in ((rel, "REL TO"), (caveats, "caveat")):
        dup = sorted({v for v in values if values.count(v) > 1})
        if dup:
            raise MarkingError(raw, f"duplicated {what} value(s) {dup}")
    try:
        return Marking(level, frozenset(rel), frozenset(caveats), owner).validate(cfg)
    except MarkingError as exc:
        raise MarkingError(raw, str(exc).split(": ", 1)[1]) from None


def marking_from_label(label: Mapping[str, object], config: MarkingConfig | None = None) -> Marking:
    """Inverse of :meth:`Marking.as_label`, validating every field."""
    if not isinstance(label, Mapping):
        raise MarkingError(repr(label), "label must be a JSON object")
    text = json.dumps(label, sort_keys=True, default=str)[:200]
    if label.get("policy_identifier") != POLICY_IDENTIFIER:
        raise MarkingError(text, f"policy_identifier must be {POLICY_IDENTIFIER!r}")
    try:
        level = Classification.parse(str(label["classification"]))
    except (KeyError, ValueError):
        raise MarkingError(text, "missing or unknown classification") from None
    rel, cav, owner = label.get("releasable_to", []), label.get("caveats", []), label.get("owner")
    if (
        not isinstance(rel, list)
        or not isinstance(cav, list)
        or not all(isinstance(x, str) for x in [*rel, *cav])
        or not (owner is None or isinstance(owner, str))
    ):
        raise MarkingError(text, "releasable_to and caveats must be lists of strings, owner a string")
    if len(set(rel)) != len(rel) or len(set(cav)) != len(cav):
        raise MarkingError(text, "duplicated values")
    return Marking(level, frozenset(rel), frozenset(cav), owner).validate(config)


def marking_from_xml(xml: str | bytes, config: MarkingConfig | None = None) -> Marking:
    """Parse the STANAG 4774-style XML label (entities and network access disabled)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml, parser)
    except etree.XMLSyntaxError as exc:
        raise MarkingError(str(xml)[:80], f"not well-formed XML: {exc}") from None
    ns = {"s": STANAG_4774_NS}
    info = root.find("s:ConfidentialityInformation", ns)
    if root.tag != f"{{{STANAG_4774_NS}}}ConfidentialityLabel" or info is None:
        raise MarkingError(str(xml)[:80], "expected slab:ConfidentialityLabel/ConfidentialityInformation")
    label: dict[str, object] = {
        "policy_identifier": info.findtext("s:PolicyIdentifier", namespaces=ns),
        "classification": info.findtext("s:Classification", namespaces=ns) or "",
        "owner": None,
        "releasable_to": [],
        "caveats": [],
    }
    keys = {"Owner": "owner", "Releasable To": "releasable_to", "Caveat": "caveats"}
    for cat in info.findall("s:Category", ns):
        key = keys.get(cat.get("TagName", ""))
        if key is None:
            raise MarkingError(str(xml)[:80], f"unknown category {cat.get('TagName')!r}")
        values = [(v.text or "").strip() for v in cat.findall("s:GenericValue", ns)]
        label[key] = values[0] if key == "owner" and values else values
    return marking_from_label(label, config)
