"""Rebuild the bundled port table from the NGA World Port Index (run from the repo root).

Input: ``../shared/data/maritime/world_port_index_pub150.csv`` (NGA Pub. 150, public domain).
Output: ``src/kizuna/data/maritime/world_port_index_compact.csv``: one row per WPI port with its
number, name, country, UN/LOCODE, harbor size and type and position, read with the package's own
reader (so a row the reader refuses is not shipped; the refusals are printed) and sorted by WPI
number. Coordinates keep the source's digits (at most 6 decimals, ~0.1 m).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from kizuna.formats.ports import BUNDLED_PORTS, read_ports_file, write_ports_csv  # noqa: E402

SOURCE = ROOT / ".." / "shared" / "data" / "maritime" / "world_port_index_pub150.csv"
OUT = ROOT / "src" / "kizuna" / "data" / "maritime" / BUNDLED_PORTS


def main() -> int:
    res = read_ports_file(SOURCE)
    for issue in res.issues:
        print(f"skipped: {issue}", file=sys.stderr)
    ports = sorted(res.records, key=lambda p: float(p.port_id.split(":")[1]))
    ports = [p.__class__(**{**{f: getattr(p, f) for f in p.__slots__}, "source": None}) for p in ports]
    OUT.write_text(write_ports_csv(ports), encoding="utf-8")
    print(f"{len(ports)} ports written to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
