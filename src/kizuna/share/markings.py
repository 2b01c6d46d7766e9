"""Security markings: classification, releasability and caveats.

Banner lines follow the US Intelligence Community marking grammar (ODNI "Intelligence Community Authorized
Classification and Control Markings Register and Manual"): categories are separated by ``//``, values
within a category by ``/``, releasability is ``REL TO`` with ISO 3166-1 alpha-3 codes and named
communities, and a foreign or international owner is a leading ``//OWNER`` (e.g. ``//NATO SECRET``).
The structured label mirrors the STANAG 4774 confidentiality label (``ConfidentialityInformation`` with a
``PolicyIdentifier``, a ``Classification`` and ``Category`` elements that are PERMISSIVE for releasability
and RESTRICTIVE for caveats).

Accepted forms beyond the coalition words (UNCLASSIFIED, CONFIDENTIAL, SECRET, TOP SECRET and U, C, S,
TS):

* ``XXX ONLY`` (IC register "...ONLY" style, one ISO 3166-1 alpha-3 code) is the national-only form: the
  marking is releasable to that nation only and that nation is its owner (``SECRET//JPN ONLY`` is
  ``owner=JPN, releasable_to={JPN}``; ``//JPN SECRET//REL TO JPN`` is the same marking and is written back
  as ``SECRET//JPN ONLY``);
* a national level word configured for a node (:attr:`MarkingConfig.national_levels`, e.g. 極秘, ТАЄМНО,
  OFFICIAL) stands in the classification position and maps to its coalition :class:`Classification`. A
  word found in exactly one nation's table makes that nation the owner (``極秘//JPN ONLY``); a written
  owner must be a nation whose table holds the word. A word that is also a coalition word (GBR's SECRET)
  is the coalition word. Banners are always written back with coalition words, in ASCII.

Characters (checked before anything is upper-cased, so that no look-alike can become an ASCII letter):

* the text is normalised to NFC first;
* format characters (Unicode category Cf: zero-width space, joiners, bidi controls), control characters
  other than ASCII white space, non-ASCII white space and any character that NFKC normalisation changes
  (full-width letters, ligatures, the long s ``ſ``) are rejected wherever they stand;
* every other non-ASCII character must lie inside a configured national level word, written in that
  word's upper or lower case (a dotless ``ı`` or a Cyrillic look-alike of a Latin letter is rejected);
* the error names the offending character by code point (``U+017F LATIN SMALL LETTER LONG S``).

Rules that make a marking malformed or contradictory (rejected with :class:`MarkingError`):

* ``NOFORN`` together with ``REL TO``, or with ``XXX ONLY``;
* ``REL TO`` not written exactly as ``REL TO`` and a space before its list (``REL TOJPN``);
* ``XXX ONLY`` naming anything but a single ISO 3166-1 alpha-3 code, appearing twice, together with
  ``REL TO``, or with an owner other than that nation;
* a classified marking (CONFIDENTIAL or above) that does not state its releasability (``REL TO``,
  ``XXX ONLY`` or ``NOFORN``): a coalition node never guesses;
* an owner that is not in its own ``REL TO`` list;
* a community owner (``//QUAD``, ``//NATO``) with ``NOFORN``: NOFORN and national-only mean the owner
  nation only, which a community is not, so a community never widens them;
* a caveat that needs a classified marking (ORCON, SCI) on UNCLASSIFIED;
* a community named with a country code (it would widen that nation's markings): refused in the
  configuration;
* unknown country codes, communities or caveats, duplicated values, unknown classification words, and a
  national level word that is ambiguous (in several nations' tables and no owner written) or belongs to a
  nation other than the written owner.

Configured national level words are themselves checked when a :class:`MarkingConfig` is built: NFC,
upper case, NFKC-stable, no format or control characters, no ``/`` or ``,``, no mix of Latin with another
script's letters (UTS #39 mixed-script look-alikes), and a word equal to a coalition word maps to that
coalition level.
"""

from __future__ import annotations

import json
import re
import unicodedata
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
ONLY_SUFFIX = " ONLY"
_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")


def describe_character(c: str) -> str:
    """``U+017F LATIN SMALL LETTER LONG S``: how an error names a character."""
    fallback = "<control>" if unicodedata.category(c) == "Cc" else "<unnamed>"
    return f"U+{ord(c):04X} {unicodedata.name(c, fallback)}"


def _forbidden_anywhere(c: str) -> str | None:
    """Why `c` may not appear anywhere in a marking (not even in a national word), or None."""
    if c in " \t\n\r\f\v":
        return None
    category = unicodedata.category(c)
    if category == "Cf":
        return "a format character, invisible in print"
    if category == "Cc":
        return "a control character"
    if c.isascii():
        return None
    if category in ("Zs", "Zl", "Zp"):
        return "non-ASCII white space"
    compatible = unicodedata.normalize("NFKC", c)
    if compatible != c:
        return f"a compatibility character that NFKC turns into {compatible!r}"
    return None


def _national_word(word: str) -> str:
    """A configured national level word in the form banners are matched against (NFC, upper case,
    single spaces); raises :class:`MarkingError` for a word that could not be told apart from another."""
    text = unicodedata.normalize("NFC", word)
    for c in text:
        why = _forbidden_anywhere(c)
        if why:
            raise MarkingError(word, f"national level word: {describe_character(c)} is {why}")
    if "/" in text or "," in text:
        raise MarkingError(word, "national level word: '/' and ',' separate parts of a banner")
    norm = unicodedata.normalize("NFC", _ASCII_SPACE.sub(" ", text).strip().upper())
    if not norm:
        raise MarkingError(word, "national level word: empty")
    if norm.upper() != norm or unicodedata.normalize("NFKC", norm) != norm:
        raise MarkingError(word, "national level word: its upper case is not stable under NFC/NFKC")
    scripts = {unicodedata.name(c, "?").split()[0] for c in norm if c.isalpha()}
    if "LATIN" in scripts and len(scripts) > 1:
        raise MarkingError(
            word, f"national level word mixes Latin with other scripts' letters ({sorted(scripts)})"
        )
    return norm


def _word_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    """A regex finding the configured words that hold non-ASCII letters, in upper or lower case (each
    character its upper or its single lower-case form, never a case-folding look-alike such as U+017F
    for S, which re.IGNORECASE would allow)."""

    def char(u: str) -> str:
        low = u.lower()
        if low != u and len(low) == 1 and low.upper() == u:
            return f"[{re.escape(u)}{re.escape(low)}]"
        return re.escape(u)

    alternatives = [
        "".join(char(u) for u in w) for w in sorted(words, key=len, reverse=True) if not w.isascii()
    ]
    return re.compile("|".join(alternatives)) if alternatives else None


@dataclass(frozen=True)
class MarkingConfig:
    """What a node knows about markings: communities, caveats and national level names.

    ``national_levels`` maps a nation to its own level words (e.g. Japan's 秘 / 極秘 / 特定秘密) so a node
    can accept and display them while policy works on the coalition :class:`Classification`. The words
    are normalised (NFC, upper case, single spaces) and checked when the configuration is built (see the
    module rules); a word's table is the nation a banner written with it belongs to.
    ``classified_only`` caveats may not appear on UNCLASSIFIED products.
    """

    communities: Mapping[str, frozenset[str]]
    caveats: frozenset[str]
    classified_only: frozenset[str]
    national_levels: Mapping[str, Mapping[str, Classification]] = field(default_factory=dict)
    _national_pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        # A community spelled as a country code would widen that nation's national-only markings.
        shadowing = sorted(name for name in self.communities if is_country(name))
        if shadowing:
            raise MarkingError(
                ", ".join(shadowing), "a community may not be named with an ISO 3166 alpha-3 country code"
            )
        # Banners are matched against the normalised words, so every table is normalised (and checked)
        # once here, whoever built the configuration.
        tables: dict[str, dict[str, Classification]] = {}
        for nation, words in self.national_levels.items():
            code = str(nation).strip().upper()
            if not is_country(code):
                raise MarkingError(str(nation), "national_levels: a nation is an ISO 3166 alpha-3 code")
            table = tables.setdefault(code, {})
            for word, level in words.items():
                norm = _national_word(str(word))
                if norm in table and table[norm] != level:
                    raise MarkingError(str(word), f"national_levels: {code} {norm!r} is given two levels")
                if norm in _CLASS_WORDS and _CLASS_WORDS[norm] != level:
                    raise MarkingError(
                        str(word),
                        f"national_levels: {code} {norm!r} is a coalition word, so it can only mean "
                        f"{_CLASS_WORDS[norm].banner}",
                    )
                table[norm] = Classification(level)
        object.__setattr__(self, "national_levels", tables)
        object.__setattr__(self, "_national_pattern", _word_pattern(self.national_words))

    def expand(self, names: Iterable[str]) -> frozenset[str]:
        """Country codes named directly or through a community."""
        out: set[str] = set()
        for n in names:
            out |= self.communities.get(n, {n})
        return frozenset(out)

    def national_to_coalition(self, nation: str, word: str) -> Classification:
        """The coalition level of one of `nation`'s level words (or of a coalition word)."""
        levels = self.national_levels.get(nation, {})
        key = " ".join(unicodedata.normalize("NFC", word).upper().split())
        if key in levels:
            return levels[key]
        try:
            return Classification.parse(word)
        except ValueError:
            raise MarkingError(
                word, f"unknown {nation} classification level; known: {', '.join(levels) or 'none'}"
            ) from None

    def nations_with_word(self, word: str) -> list[str]:
        """Nations whose level table holds `word` (already normalised: NFC, upper case)."""
        return sorted(n for n, levels in self.national_levels.items() if word in levels)

    @property
    def national_words(self) -> frozenset[str]:
        return frozenset(w for levels in self.national_levels.values() for w in levels)

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
        # Configured words add to the built-in tables (a node adds its nation's words; it does not lose
        # the partners' words by doing so).
        levels = {k: dict(v) for k, v in base.national_levels.items()}
        for nation, words in dict(data.get("national_levels") or {}).items():
            table = levels.setdefault(str(nation).strip().upper(), {})
            for w, c in dict(words).items():
                try:
                    level = Classification.parse(str(c))
                except ValueError:
                    raise MarkingError(
                        str(c), f"national_levels: {nation} {w!r}: unknown coalition level"
                    ) from None
                table[_national_word(str(w))] = level
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
    def national_only(self) -> bool:
        """Releasable to its owner nation only, written ``XXX ONLY`` (owner XXX, REL TO XXX)."""
        return (
            self.owner is not None
            and self.releasable_to == {self.owner}
            and not self.noforn
            and is_country(self.owner)
        )

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
            if self.noforn and self.owner in cfg.communities:
                raise MarkingError(
                    text,
                    f"NOFORN means the owner nation only, and {self.owner} is a community, not a nation "
                    "(a community never widens a national-only marking)",
                )
            if self.releasable_to and not (cfg.expand([self.owner]) <= cfg.expand(self.releasable_to)):
                raise MarkingError(text, f"owner {self.owner} must be included in its own REL TO")
        return self

    # ------------------------------------------------------------- banner
    def banner(self) -> str:
        """The banner line, e.g. ``SECRET//ORCON/REL TO USA, JPN, UKR`` (countries A-Z, then communities),
        or ``SECRET//JPN ONLY`` for a national-only marking; always coalition words, always ASCII."""
        head = self.classification.banner
        if self.owner and not self.national_only:
            head = f"//{self.owner} {head}"
        # IC register order: SCI controls form their own category before the dissemination controls.
        sci = sorted(self.caveats & SCI_CONTROLS)
        controls = sorted(self.caveats - SCI_CONTROLS - {NOFORN})
        if self.noforn:
            controls.append(NOFORN)
        if self.national_only:
            controls.append(f"{self.owner}{ONLY_SUFFIX}")
        elif self.releasable_to:
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


def _banner_text(raw: str, cfg: MarkingConfig) -> str:
    """The banner in NFC, single-spaced and upper-cased, after the character rules of this module:
    nothing is upper-cased before every non-ASCII character has been accounted for, so no look-alike
    (U+017F long s, U+0131 dotless i) can turn into an ASCII letter."""
    text = unicodedata.normalize("NFC", raw)
    for c in text:
        why = _forbidden_anywhere(c)
        if why:
            raise MarkingError(raw, f"{describe_character(c)} is {why}; markings are plain ASCII")
    text = _ASCII_SPACE.sub(" ", text).strip()
    in_words: set[int] = set()
    if cfg._national_pattern is not None:
        for match in cfg._national_pattern.finditer(text):
            in_words.update(range(match.start(), match.end()))
    stray = [c for i, c in enumerate(text) if not c.isascii() and i not in in_words]
    if stray:
        # Name the character no configured word contains (the look-alike in "ТАЄМНᲂ"), else the first.
        letters = {x for w in cfg.national_words for x in w + w.lower()}
        c = next((x for x in stray if x not in letters), stray[0])
        reads = c.upper() if c.upper().isascii() else unicodedata.normalize("NFKD", c)[:1]
        hint = f" (it would read as {reads!r})" if reads.isascii() and reads.isalpha() else ""
        raise MarkingError(
            raw,
            f"{describe_character(c)} is not ASCII and not part of a configured national level word{hint}",
        )
    return text.upper()


def _level(word: str, owner: str | None, raw: str, cfg: MarkingConfig) -> tuple[Classification, str | None]:
    """The coalition level of the classification word and the owner it implies: a coalition word
    implies none; a national word implies the one nation whose table holds it (or the written owner,
    which must be such a nation)."""
    if word in _CLASS_WORDS:
        return _CLASS_WORDS[word], owner
    nations = cfg.nations_with_word(word)
    if not nations:
        raise MarkingError(
            raw,
            f"unknown classification {word!r}; expected one of UNCLASSIFIED, CONFIDENTIAL, SECRET, "
            "TOP SECRET or a configured national level word",
        )
    if owner is not None and owner not in nations:
        raise MarkingError(
            raw, f"{word!r} is a national level word of {', '.join(nations)}, not of the owner {owner}"
        )
    if owner is None and len(nations) > 1:
        raise MarkingError(
            raw, f"{word!r} is a level word of {', '.join(nations)}; write the owner (//XXX {word})"
        )
    nation = owner or nations[0]
    return cfg.national_to_coalition(nation, word), nation


def parse_banner(text: str, config: MarkingConfig | None = None) -> Marking:
    """Parse a banner line into a validated :class:`Marking` (raises :class:`MarkingError`)."""
    cfg = config or default_config()
    raw = text
    s = _banner_text(raw, cfg)
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
    level, owner = _level(pieces[0], owner, raw, cfg)
    caveats: list[str] = []
    rel: list[str] = []
    seen_rel = False
    only: str | None = None
    for block in pieces[1:]:
        if not block.strip():
            raise MarkingError(raw, "empty category between '//' separators")
        for token in block.split("/"):
            token = token.strip()
            if not token:
                raise MarkingError(raw, "empty control between '/' separators")
            if token == "REL TO" or token.startswith("REL TO "):
                if seen_rel:
                    raise MarkingError(raw, "REL TO appears twice")
                seen_rel = True
                names = [n.strip() for n in token[len("REL TO") :].split(",")]
                if not names or any(not n for n in names):
                    raise MarkingError(raw, "REL TO needs a comma-separated list of codes")
                rel.extend(names)
            elif token.startswith("REL TO"):
                raise MarkingError(raw, f"{token!r}: write 'REL TO ' (with a space) before the codes")
            elif token == ONLY_SUFFIX.strip() or token.endswith(ONLY_SUFFIX):
                if only is not None:
                    raise MarkingError(raw, "a national-only control (XXX ONLY) appears twice")
                only = token[: -len(ONLY_SUFFIX)].strip() if token.endswith(ONLY_SUFFIX) else ""
                if not is_country(only):
                    raise MarkingError(
                        raw,
                        f"{token!r}: XXX ONLY names one nation by its ISO 3166 alpha-3 code "
                        "(a community or a list is written REL TO ...)",
                    )
            else:
                caveats.append(token)
    for values, what in ((rel, "REL TO"), (caveats, "caveat")):
        dup = sorted({v for v in values if values.count(v) > 1})
        if dup:
            raise MarkingError(raw, f"duplicated {what} value(s) {dup}")
    if only is not None:
        if seen_rel:
            raise MarkingError(raw, f"{only} ONLY releases to {only} alone, so REL TO contradicts it")
        if NOFORN in caveats:
            raise MarkingError(raw, f"{only} ONLY and NOFORN both state the releasability: write one")
        if owner is not None and owner != only:
            raise MarkingError(raw, f"{only} ONLY is {only}'s national-only marking; the owner is {owner}")
        owner, rel = only, [only]
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
