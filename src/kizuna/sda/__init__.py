"""Space domain awareness: conjunction screening, collision probability, CDM assessment."""

from kizuna.sda.records import ConjunctionEvent, ObjectProblem, ScreeningResult, ScreeningVolume
from kizuna.sda.screening import screen

__all__ = ["ConjunctionEvent", "ObjectProblem", "ScreeningResult", "ScreeningVolume", "screen"]
