"""Shared tracking data demo: two nodes (JPN, USA) on loopback ports, both radars tracking the same
LEO object (simulated TDMs with seeded noise). USA publishes its TDM as an observations product
marked ``SECRET//REL TO USA, JPN``; JPN syncs, verifies it, fits its own tracks alone and then with
USA's, and publishes the better orbit (OPM with covariance and the fitted TLE) back to USA.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from kizuna.store import CatalogStore

NODES = ("JPN", "USA")
RADARS = {"JPN": "kamisaibara", "USA": "cobra-dane"}
NORAD_ID = 99999  # the simulated object's catalog number (the TLE field's largest 5-digit value)
MARKING = "SECRET//REL TO USA, JPN"


def run_demo(store: CatalogStore | None, out_dir: Path, console: Console) -> None:
    """The part of `kizuna demo` showing shared tracking data (the catalog `store` is not used: the
    object is simulated)."""
    from kizuna.formats.tdm import write_tdm_kvn
    from kizuna.service import create_app
    from kizuna.share.federation import sync_partner
    from kizuna.share.holdings import held_products
    from kizuna.share.loopback import ServerThread, free_port, write_coalition
    from kizuna.share.markings import parse_banner
    from kizuna.share.node import Node
    from kizuna.share.products import Product
    from kizuna.ssa import od, od_campaigns
    from kizuna.ssa.od_products import (
        OBSERVATIONS,
        ORBIT_DETERMINATION,
        observations_payload,
        orbit_determination_payload,
        tdm_of_payload,
    )

    console.rule("[bold]Kizuna demo: a partner's radar tracks improve our orbit (JPN, USA on loopback)")
    try:
        from kizuna.orbit import orekit

        orekit.start()
    except Exception as exc:  # noqa: BLE001 - no Orekit or no Java runtime: this part only is skipped
        console.print(f"[yellow]skipped:[/] orbit determination needs Orekit and a Java runtime ({exc})")
        return
    root = out_dir / "od_share"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    scenario = od_campaigns.two_radar_campaign((RADARS["JPN"], RADARS["USA"]))
    campaign = scenario.campaign
    tdm_text = {
        nation: write_tdm_kvn(od.tdm_of(scenario.tracks[radar], "SIM-LEO", originator=nation))
        for nation, radar in RADARS.items()
    }
    for nation, text in tdm_text.items():
        (root / f"{nation}_{RADARS[nation]}.tdm").write_text(text)

    ports = {n: free_port() for n in NODES}
    cfgs = write_coalition(root, ports)
    nodes = {n: Node.open(str(root / f"{n}.db"), cfgs[n], root / "keys") for n in NODES}
    servers = {}
    try:
        for n in NODES:
            servers[n] = ServerThread(create_app(nodes[n]), ports[n]).start()
        from kizuna.formats.tdm import read_tdm

        usa_tdm = tdm_text["USA"]
        shared = Product.new(
            OBSERVATIONS,
            observations_payload(usa_tdm, read_tdm(usa_tdm, "USA.tdm"), NORAD_ID),
            parse_banner(MARKING),
            "USA",
            objects=(NORAD_ID,),
        )
        nodes["USA"].publish(shared, actor="analyst-USA")
        console.print(
            f"USA published {len(scenario.tracks[RADARS['USA']])} {RADARS['USA']} measurements of "
            f"object {NORAD_ID} as {shared.id} ({MARKING})"
        )
        report = sync_partner(nodes["JPN"], nodes["JPN"].config.partners["USA"])
        held = held_products(nodes["JPN"], OBSERVATIONS, norad_id=NORAD_ID)
        console.print(
            f"JPN synced from USA: {report.ingest.ingested} product(s) ingested, {len(report.ingest.refused)} refused; "
            f"{len(held)} observations product(s) about {NORAD_ID} held verified"
        )

        def measurements_of(text: str, name: str) -> list[od.Measurement]:
            return od.measurements_from_tdm(read_tdm(text, name), scenario.sigmas)

        own = measurements_of(tdm_text["JPN"], "JPN.tdm")
        partner = [
            m
            for h in held
            for m in od.measurements_from_tdm(
                tdm_of_payload(h.product.payload, h.product.id), scenario.sigmas
            )
        ]
        fits: dict[str, tuple[int, od.OdResult]] = {}
        for label, used in (("JPN radar alone", own), ("JPN + USA (shared)", own + partner)):
            used = sorted(used, key=lambda m: m.epoch)
            fits[label] = (
                len(used),
                od.fit(used, campaign.stations, campaign.epoch, scenario.guess, campaign.options),
            )

        table = Table(title=f"Object {NORAD_ID} at {campaign.epoch:%Y-%m-%d %H:%M} UTC, batch least squares")
        for col in ("fitted from", "measurements", "position sigma m", "error vs truth m", "normalized RMS"):
            table.add_column(col, justify="left" if col == "fitted from" else "right")
        summary: dict[str, object] = {"norad_id": NORAD_ID, "shared_product": shared.id}
        for label, (used_count, result) in fits.items():
            truth = od.state_at(scenario.truth, result.epoch)
            error_m = float(np.linalg.norm(result.state[:3] - truth[:3]))
            table.add_row(
                label,
                str(used_count),
                f"{result.position_sigma_m:.1f}",
                f"{error_m:.1f}",
                f"{result.rms:.2f}",
            )
            summary[label] = {
                "measurements": used_count,
                "position_sigma_m": result.position_sigma_m,
                "error_m": error_m,
            }
        console.print(table)
        alone, both = fits["JPN radar alone"][1], fits["JPN + USA (shared)"][1]
        shrinks = both.position_sigma_m < alone.position_sigma_m
        console.print(
            "Position sigma with USA's tracks: "
            + (
                f"[green]{alone.position_sigma_m:.0f} m -> {both.position_sigma_m:.0f} m[/]"
                if shrinks
                else "[red]did not shrink[/]"
            )
        )
        payload = orbit_determination_payload(
            both,
            NORAD_ID,
            "SIM-LEO",
            od.fitted_tle(both, None, NORAD_ID),
            ["JPN.tdm", *(h.product.id for h in held)],
            fits["JPN + USA (shared)"][0],
            "JPN",
        )
        result_product = Product.new(
            ORBIT_DETERMINATION, payload, parse_banner(MARKING), "JPN", objects=(NORAD_ID,)
        )
        nodes["JPN"].publish(result_product, actor="analyst-JPN")
        sync_partner(nodes["USA"], nodes["USA"].config.partners["JPN"])
        back = held_products(nodes["USA"], ORBIT_DETERMINATION, norad_id=NORAD_ID)
        console.print(
            f"JPN published the fit as {result_product.id}; USA holds it verified: "
            + ("[green]yes[/]" if any(h.product.id == result_product.id for h in back) else "[red]no[/]")
        )
        summary["sigma_shrinks"] = shrinks
        summary["od_product"] = result_product.id
        (out_dir / "od_share_demo.json").write_text(json.dumps(summary, indent=2))
    finally:
        for s in servers.values():
            s.stop()
        for node in nodes.values():
            node.catalog.close()
