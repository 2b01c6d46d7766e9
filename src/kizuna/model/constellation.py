"""A constellation record: named SGP4 mean-element sets, from the catalog or a design."""

from __future__ import annotations

from dataclasses import dataclass, field

from kizuna.errors import KizunaError
from kizuna.model.records import ElementSet


class ConstellationError(KizunaError, ValueError):
    """A constellation could not be built: empty selection or an impossible design."""


@dataclass(frozen=True)
class Constellation:
    """A named set of satellites, as SGP4 mean elements."""

    name: str
    element_sets: tuple[ElementSet, ...]
    design: str | None = None  # "walker:36/4/1:575:42" for designs, None for catalog selections
    source: str = "design"  # "design" or "catalog"
    notes: dict[str, object] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.element_sets:
            raise ConstellationError(f"constellation {self.name!r} has no satellites")

    def __len__(self) -> int:
        return len(self.element_sets)

    @property
    def names(self) -> list[str]:
        return [es.object_name or str(es.norad_id) for es in self.element_sets]
