"""Rebuild the bundled sample catalog from ../shared/data (run from the repo root).

The bundled files are verbatim subsets of real public files: whole 3LE sets and
whole CSV rows, never edited. See src/kizuna/data/sample/README.md.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
OUT = Path(__file__).resolve().parents[1] / "src" / "kizuna" / "data" / "sample"
JAPANESE = ("ALOS", "GOSAT", "ASNARO", "STRIX", "QPS-SAR", "QZS", "HIMAWARI", "IBUKI")


def leo_subset(every: int = 25) -> str:
    """Japanese LEO payloads, the SATCAT-sample objects, and every `every`-th other object."""
    with open(OUT / "satcat_sample.csv", newline="") as fh:
        satcat_ids = {int(r["NORAD_CAT_ID"]) for r in csv.DictReader(fh)}
    lines = (SHARED / "tle" / "leo_catalog_3le_2026-06.txt").read_text().splitlines()
    sets = [lines[i : i + 3] for i in range(0, len(lines), 3)]
    keep = []
    for k, (name, l1, l2) in enumerate(sets):
        norad = int(l1[2:7])
        if norad in satcat_ids or name[2:].startswith(JAPANESE) or k % every == 0:
            keep.append("\n".join((name, l1, l2)))
    return "\n".join(keep) + "\n"


def active_subset() -> str:
    """GEO/IGSO Japanese payloads, plus GNSS, GEO and HEO examples from the active OMM CSV."""
    text = (SHARED / "tle" / "celestrak_active_omm_2026-07.csv").read_text()
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    n = header.index("MEAN_MOTION")
    e = header.index("ECCENTRICITY")
    name = header.index("OBJECT_NAME")
    keep, counts = [], {"gnss": 0, "geo": 0, "heo": 0}
    for r in body:
        mm, ecc, nm = float(r[n]), float(r[e]), r[name]
        if nm.startswith(("QZS", "HIMAWARI")):
            keep.append(r)
        elif 1.8 < mm < 2.3 and counts["gnss"] < 12 and nm.startswith(("GPS", "GALILEO", "COSMOS")):
            keep.append(r)
            counts["gnss"] += 1
        elif 0.99 < mm < 1.01 and ecc < 0.01 and counts["geo"] < 20:
            keep.append(r)
            counts["geo"] += 1
        elif ecc > 0.5 and counts["heo"] < 8:
            keep.append(r)
            counts["heo"] += 1
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(keep)
    return out.getvalue()


if __name__ == "__main__":
    if not SHARED.exists():
        sys.exit(f"{SHARED} not found")
    (OUT / "leo_2026-06_sample.3le").write_text(leo_subset())
    (OUT / "active_2026-07_sample.csv").write_text(active_subset())
    print("written to", OUT)
