"""Typed records shared by every package. Records hold data and validation only."""

from kizuna.model.records import ElementSet, SpaceObject, object_regime

__all__ = ["ElementSet", "SpaceObject", "object_regime"]
