"""Sharing demo: three nodes (JPN, USA, UKR) on loopback ports exchange marked, signed products.

JPN publishes a conjunction assessment marked ``SECRET//REL TO USA, JPN`` and an element set from the
bundled catalog marked ``UNCLASSIFIED``; after one sync round USA holds both and UKR only the element
set, and every node's audit chain verifies.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from rich.console import Console
from rich.table import Table

from kizuna.store import CatalogStore

NODES = ("JPN", "USA", "UKR")


def run_demo(store: CatalogStore, out_dir: Path, console: Console) -> None:
    from kizuna.formats.omm import omm_fields
    from kizuna.service import create_app
    from kizuna.share.federation import check_witnesses, sync_partner
    from kizuna.share.loopback import ServerThread, free_port, write_coalition
    from kizuna.share.markings import parse_banner
    from kizuna.share.node import Node
    from kizuna.share.products import Product

    console.rule("[bold]Kizuna demo: coalition sharing (JPN, USA, UKR on loopback)")
    root = out_dir / "share"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    ports = {n: free_port() for n in NODES}
    cfgs = write_coalition(root, ports)
    nodes = {n: Node.open(str(root / f"{n}.db"), cfgs[n], root / "keys") for n in NODES}
    servers = {}
    try:
        for n in NODES:
            servers[n] = ServerThread(create_app(nodes[n]), ports[n]).start()
            console.print(f"node {n} listening on http://127.0.0.1:{ports[n]}")

        jpn_sats = [
            e.latest for e in store.search(owner="JPN", object_type="PAYLOAD") if e.latest is not None
        ]
        es = jpn_sats[0] if jpn_sats else store.latest_element_sets()[0]
        element_set = Product.new(
            "element_set",
            {k: _plain(v) for k, v in omm_fields(es).items()},
            parse_banner("UNCLASSIFIED"),
            "JPN",
            objects=(es.norad_id,),
        )
        other = store.latest_element_sets()[1]
        conjunction = Product.new(
            "conjunction",
            {
                "primary_norad_id": es.norad_id,
                "secondary_norad_id": other.norad_id,
                "tca_utc": "2026-06-15T03:12:45.120Z",
                "miss_km": 0.412,
                "rel_speed_kms": 11.8,
                "pc": 2.1e-5,
                "note": "illustrative assessment for the sharing demo",
            },
            parse_banner("SECRET//REL TO USA, JPN"),
            "JPN",
            objects=(es.norad_id, other.norad_id),
        )
        for p in (conjunction, element_set):
            nodes["JPN"].publish(p, actor="analyst-JPN")

        for n in ("USA", "UKR"):
            for partner in nodes[n].config.partners.values():
                sync_partner(nodes[n], partner)

        table = Table(title="What each node holds after sync")
        table.add_column("node")
        for p, label in ((conjunction, "conjunction"), (element_set, f"element set {es.object_name}")):
            table.add_column(f"{label}\n{p.marking.banner()}", justify="center")
        table.add_column("audit chain")
        table.add_column("chain as partners witnessed it")
        summary: dict[str, dict[str, bool | int]] = {}
        for n in NODES:
            held = {pid for pid, _ in nodes[n].share.all_keys()}
            report = nodes[n].audit.verify()
            witnessed = [w for w in check_witnesses(nodes[n]) if w.ok is not None]
            table.add_row(
                n,
                *("[green]yes[/]" if p.id in held else "[red]no[/]" for p in (conjunction, element_set)),
                f"{report.entries} entries, " + ("ok" if report.ok else "TAMPERED"),
                ", ".join(
                    f"{w.partner} at entry {w.seq}: " + ("matches" if w.ok else "DIFFERS") for w in witnessed
                )
                or "-",
            )
            summary[n] = {
                "conjunction": conjunction.id in held,
                "element_set": element_set.id in held,
                "audit_ok": report.ok,
                "audit_entries": report.entries,
                "witnessed_ok": all(w.ok for w in witnessed),
            }
        console.print(table)
        ok = (
            summary["USA"]["conjunction"]
            and summary["USA"]["element_set"]
            and not summary["UKR"]["conjunction"]
            and summary["UKR"]["element_set"]
        )
        console.print(
            "UKR received only the UNCLASSIFIED element set, USA both: "
            + ("[green]as required[/]" if ok else "[red]NOT as required[/]")
        )
        (out_dir / "share_demo.json").write_text(json.dumps(summary, indent=2))
    finally:
        for s in servers.values():
            s.stop()
        for node in nodes.values():
            node.catalog.close()


def _plain(v: object) -> object:
    return v if isinstance(v, str | int | float | bool) or v is None else str(v)
