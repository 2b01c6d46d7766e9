"""Hard-body radius per object: NASA CARA's table, else SATCAT radar cross-section, else a default.

CARA publishes HBR estimates per NORAD id (nasa/CARA_Analysis_Tools,
DataFiles/HBRMassEstimates, NOSA 1.3): `ObjectID,HBR,HBRSigma,HBRSource,...`, HBR in metres;
rows sourced from DISCOS are blank there for licensing reasons. Without it, the SATCAT RCS
gives an equivalent sphere, r = sqrt(RCS / pi) (a radar, not physical, size: stated as such).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable

from kizuna.errors import FormatIssue
from kizuna.formats.common import ParseResult
from kizuna.model.records import SpaceObject

#: fallback per object [m]: CARA's own "Default" rows run from 1.1 m (debris) to 22.5 m
DEFAULT_HBR_M = 5.0
#: SATCAT size classes (Space-Track RCS_SIZE: < 0.1, 0.1-1, > 1 m^2) as a representative area
RCS_CLASS_M2 = {"SMALL": 0.05, "MEDIUM": 0.5, "LARGE": 5.0}


def parse_cara_hbr(text: str, file: str = "<cara-hbr>") -> ParseResult[tuple[int, float, str]]:
    """Rows (norad_id, hbr_m, source) with a usable HBR; blank HBRs are skipped silently (the
    licensing gap upstream), malformed rows become issues."""
    result: ParseResult[tuple[int, float, str]] = ParseResult(file=file, format="cara-hbr")
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "ObjectID" not in reader.fieldnames or "HBR" not in reader.fieldnames:
        result.issues.append(FormatIssue(file, 1, "header", "expected columns ObjectID,HBR,..."))
        return result
    for line, row in enumerate(reader, start=2):
        hbr = (row.get("HBR") or "").strip()
        if not hbr:
            continue
        try:
            value = float(hbr)
            norad = int(row["ObjectID"])
        except (TypeError, ValueError):
            result.issue(line, "HBR", f"not a number: {hbr!r}")
            continue
        if not (value > 0 and math.isfinite(value)):
            result.issue(line, "HBR", f"not a positive radius: {hbr!r}")
            continue
        result.add((norad, value, _cara_source(row.get("HBRSource") or "")), line)
    return result


def _cara_source(hbr_source: str) -> str:
    """'CARA <HBRSource>', once: CARA's own sources already read 'CARA Protected Primary'."""
    text = hbr_source.strip()
    if not text:
        return "CARA"
    return text if text.upper().startswith("CARA") else f"CARA {text}"


def hbr_from_satcat(obj: SpaceObject | None) -> tuple[float, str] | None:
    if obj is None:
        return None
    if obj.rcs_m2 is not None and obj.rcs_m2 > 0:
        return math.sqrt(obj.rcs_m2 / math.pi), "SATCAT RCS"
    if obj.rcs_size and obj.rcs_size.upper() in RCS_CLASS_M2:
        return math.sqrt(RCS_CLASS_M2[obj.rcs_size.upper()] / math.pi), f"SATCAT RCS {obj.rcs_size.upper()}"
    return None


def hbr_table(
    objects: Iterable[SpaceObject], cara: Iterable[tuple[int, float, str]] = ()
) -> dict[int, tuple[float, str]]:
    """norad_id -> (hbr_m, source): CARA first, then SATCAT RCS. Objects in neither get
    DEFAULT_HBR_M from the screening (source "default")."""
    table: dict[int, tuple[float, str]] = {}
    for obj in objects:
        got = hbr_from_satcat(obj)
        if got:
            table[obj.norad_id] = got
    for norad, hbr, source in cara:
        table[norad] = (hbr, source)
    return table
