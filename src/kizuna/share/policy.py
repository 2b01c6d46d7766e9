"""Access policy over markings: who may see a product, and how markings combine.

The check is the lattice dominance of Bell-LaPadula style multilevel security as used by STANAG 4774/4778
labels: a subject sees an object when its nationality is in the (community-expanded) releasability, its
clearance dominates the classification, and it holds every RESTRICTIVE caveat.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from kizuna.errors import KizunaError
from kizuna.share.markings import (
    NOFORN,
    Classification,
    Marking,
    MarkingConfig,
    MarkingError,
    default_config,
)

DOWNGRADE_ROLE = "downgrader"
ALL_NATIONS = "*"


class PolicyError(KizunaError, PermissionError):
    """An action the policy does not allow (e.g. a downgrade by someone without the role)."""


@dataclass(frozen=True)
class Subject:
    """A user or a partner node: nationality, clearance, caveat accesses and roles."""

    name: str
    nationality: str
    clearance: Classification
    accesses: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def releasable_nations(
    marking: Marking, owner_nation: str | None, config: MarkingConfig | None = None
) -> frozenset[str] | None:
    """Country codes the marking allows, or None for "everyone" (UNCLASSIFIED without REL TO).

    NOFORN means the owner nation only: the marking's owner when written, else the originator's nation.
    That owner is never expanded as a community (a validated marking cannot have a community owner with
    NOFORN; should one get here unvalidated, or an originator's nation be a community name, nobody is
    allowed rather than every member).
    """
    cfg = config or default_config()
    if marking.noforn:
        owner = marking.owner or owner_nation
        return frozenset({owner}) if owner and owner not in cfg.communities else frozenset()
    if not marking.releasable_to:
        return None
    return cfg.expand(marking.releasable_to)


def may_access(
    subject: Subject,
    marking: Marking,
    *,
    owner_nation: str | None = None,
    config: MarkingConfig | None = None,
) -> Decision:
    nations = releasable_nations(marking, owner_nation, config)
    if nations is not None and subject.nationality not in nations:
        return Decision(False, f"{subject.nationality} not in releasability")
    if subject.clearance < marking.classification:
        return Decision(False, f"clearance {subject.clearance.banner} below {marking.classification.banner}")
    missing = marking.access_caveats - subject.accesses
    if missing:
        return Decision(False, f"missing caveat access {sorted(missing)}")
    return Decision(True, "releasable")


def combine(
    markings: Sequence[Marking], *, deriving_nation: str, config: MarkingConfig | None = None
) -> Marking:
    """Marking of a product derived from `markings`: classification max, releasability intersection,
    caveats union. When the intersection is empty the product stays with the deriving nation (NOFORN),
    which held every input."""
    if not markings:
        raise ValueError("combine needs at least one marking")
    cfg = config or default_config()
    level = max(m.classification for m in markings)
    caveats = frozenset().union(*(m.caveats for m in markings))
    nations: frozenset[str] | None = None
    for m in markings:
        allowed = releasable_nations(m, m.owner or deriving_nation, cfg)
        if allowed is not None:
            nations = allowed if nations is None else nations & allowed
    if NOFORN in caveats or (nations is not None and not nations):
        return Marking(level, frozenset(), caveats | {NOFORN}, deriving_nation).validate(cfg)
    if nations is None:
        return (
            Marking(level, frozenset(), caveats).validate(cfg)
            if level == Classification.UNCLASSIFIED
            else Marking(level, frozenset(), caveats | {NOFORN}, deriving_nation).validate(cfg)
        )
    rel = _compress(nations, cfg)
    owner = deriving_nation if deriving_nation in nations else None
    return Marking(level, rel, caveats, owner).validate(cfg)


def with_originator(marking: Marking, nation: str, config: MarkingConfig | None = None) -> Marking:
    """The marking a node of `nation` signs on its own product: the originator's nation is implied in
    the releasability (``SECRET//REL TO USA`` published by a JPN node is ``SECRET//REL TO USA, JPN``), so
    a nation is never refused its own product. NOFORN and national-only markings are not widened: one of
    another nation is refused (:class:`PolicyError`), since a node may not publish a marking its own
    nation cannot hold."""
    cfg = config or default_config()
    widen = marking.releasable_to and not marking.noforn and not marking.national_only
    if widen and nation not in cfg.expand(marking.releasable_to):
        try:
            marking = replace(marking, releasable_to=marking.releasable_to | {nation}).validate(cfg)
        except MarkingError as exc:
            raise PolicyError(f"this node's nation {nation!r} cannot be added to REL TO: {exc}") from None
    nations = releasable_nations(marking, nation, cfg)
    if nations is not None and nation not in nations:
        raise PolicyError(
            f"{marking.banner()} is not releasable to {nation}: a node may not publish a marking its own "
            "nation cannot hold"
        )
    return marking


def _compress(nations: frozenset[str], cfg: MarkingConfig) -> frozenset[str]:
    """Write a country set with a community name where one matches exactly (e.g. QUAD)."""
    for name, members in cfg.communities.items():
        if members == nations:
            return frozenset({name})
    return nations


def at_least_as_restrictive(
    new: Marking, old: Marking, *, owner_nation: str, config: MarkingConfig | None = None
) -> bool:
    """True when `new` releases nothing `old` did not (so changing to it is not a downgrade)."""
    cfg = config or default_config()
    a, b = releasable_nations(new, owner_nation, cfg), releasable_nations(old, owner_nation, cfg)
    rel_ok = b is None or (a is not None and a <= b)
    return new.classification >= old.classification and new.caveats >= old.caveats and rel_ok


def check_downgrade(
    actor: Subject,
    old: Marking,
    new: Marking,
    *,
    owner_nation: str,
    justification: str,
    config: MarkingConfig | None = None,
) -> None:
    """Raise :class:`PolicyError` unless `actor` may lower `old` to `new`."""
    if DOWNGRADE_ROLE not in actor.roles:
        raise PolicyError(f"{actor.name} lacks the {DOWNGRADE_ROLE!r} role")
    if not may_access(actor, old, owner_nation=owner_nation, config=config):
        raise PolicyError(f"{actor.name} may not access the marking being downgraded")
    # Without this a "downgrade" to TOP SECRET by a SECRET user stored a version above the actor's
    # clearance (and the node's), which no one here could read again.
    if not may_access(actor, new, owner_nation=owner_nation, config=config):
        raise PolicyError(f"{actor.name} may not apply a marking they could not access")
    if actor.nationality != owner_nation:
        raise PolicyError("only the originating nation may downgrade its product")
    if not justification.strip():
        raise PolicyError("a downgrade needs a written justification")


def expand_all(names: Iterable[str], config: MarkingConfig | None = None) -> frozenset[str]:
    return (config or default_config()).expand(names)
