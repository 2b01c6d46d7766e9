"""Console benchmark: the web console with the full public catalog in headless Chromium, software
rendering (SwiftShader: this machine has no GPU), side by side with a floor.

* the console: a node holding the full 2022-07 catalog (24,132 objects, ../shared/data), products as
  in the browser tests; the user already logged in (session cookie), so the clock runs from the
  navigation's start to the first frame drawn with the catalog's propagated positions (the page's
  ``performance.now()``, which counts from navigation start): HTML, the Cesium bundle, the catalog
  (TLE lines, one request), 24,000 SGP4 initialisations and one propagation in the Web Worker;
* the floor: the same console on a node with an empty catalog: the Cesium globe and the page alone.

Frames per second: rendering continuously (the page renders on demand; here it is switched to a
render loop), counted over `--fps-s` seconds while the catalog keeps moving (one propagation a second).
Each configuration runs `--repeats` times, interleaved, best kept (others share this machine).

Writes benchmarks/results/console.json and prints a table.
Usage: python benchmarks/bench_console.py [--repeats R] [--fps-s S] [--objects N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from kizuna.demo.console import build_console_node  # noqa: E402
from kizuna.service.app import create_app  # noqa: E402
from kizuna.service.routes.console import CONSOLE_DIR  # noqa: E402
from kizuna.share.loopback import ServerThread, free_port  # noqa: E402

CATALOG = ROOT.parent / "shared" / "data" / "tle" / "full_catalog_3le_2022-07.txt"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]
VIEWPORT = {"width": 1400, "height": 800}


def measure(browser, base: str, token: str, fps_s: float) -> dict[str, float]:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        r = context.request.post(base + "/session", headers={"Authorization": f"Bearer {token}"})
        assert r.ok, r.status
        page = context.new_page()
        page.goto(base + "/")
        page.wait_for_function("window.kizuna && window.kizuna.catalogDrawnMs !== null", timeout=300_000)
        load_ms = page.evaluate("window.kizuna.catalogDrawnMs")
        drawn = page.evaluate("window.kizuna.drawn")
        page.evaluate("window.kizunaViewer.scene.requestRenderMode = false")
        time.sleep(1.0)
        f0, t0 = page.evaluate("[window.kizuna.frames, performance.now()]")
        time.sleep(fps_s)
        f1, t1 = page.evaluate("[window.kizuna.frames, performance.now()]")
        propagate_ms = page.evaluate("window.kizuna.propagateMs")
        return {
            "load_s": load_ms / 1000.0,
            "fps": (f1 - f0) / ((t1 - t0) / 1000.0),
            "drawn": drawn,
            "propagate_ms": propagate_ms,
        }
    finally:
        context.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--fps-s", type=float, default=10.0)
    ap.add_argument("--objects", type=int, default=None, help="first N objects (default: all)")
    a = ap.parse_args()
    if not CATALOG.exists() or not CHROMIUM.exists() or not (CONSOLE_DIR / "index.html").exists():
        print("skipped: needs ../shared/data, /usr/bin/chromium and the built console (make console)")
        return 0
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        full = build_console_node(Path(tmp) / "full", CATALOG, a.objects)
        build_s = time.perf_counter() - t
        empty = build_console_node(Path(tmp) / "empty", CATALOG, 100)
        # The floor: the same page, no catalog (the products stay; their objects are not drawn).
        with empty.node.catalog.engine.begin() as conn:
            from kizuna.store.schema import element_set

            conn.execute(element_set.delete())
        servers, bases = [], {}
        for name, cn in (("console", full), ("floor", empty)):
            port = free_port()
            servers.append(ServerThread(create_app(cn.node), port).start())
            bases[name] = (f"http://127.0.0.1:{port}", cn.tokens["analyst-jpn"])
        runs: dict[str, list[dict[str, float]]] = {"console": [], "floor": []}
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
                try:
                    for _ in range(a.repeats):
                        for name in ("floor", "console"):
                            runs[name].append(measure(browser, *bases[name], a.fps_s))
                            print(name, runs[name][-1], flush=True)
                finally:
                    browser.close()
        finally:
            for s in servers:
                s.stop()
        objects = len(full.node.catalog.latest_element_sets())
    best = {
        name: {
            "load_s": min(r["load_s"] for r in rs),
            "fps": max(r["fps"] for r in rs),
            "drawn": rs[0]["drawn"],
            "propagate_ms": min(r["propagate_ms"] for r in rs),
        }
        for name, rs in runs.items()
    }
    result = {
        "what": "console load (navigation start to the catalog drawn) and frames per second, headless "
        "Chromium with software rendering (SwiftShader), viewport 1400x800",
        "objects": objects,
        "node_build_s": round(build_s, 1),
        "best": best,
        "runs": runs,
        "ratio_console_over_floor": {
            "load": best["console"]["load_s"] / best["floor"]["load_s"],
            "fps": best["console"]["fps"] / best["floor"]["fps"],
        },
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_avg": os.getloadavg()},
    }
    out = ROOT / "benchmarks" / "results" / "console.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'':10} {'load s':>8} {'fps':>6} {'drawn':>7} {'SGP4 ms':>8}")
    for name, b in best.items():
        print(f"{name:10} {b['load_s']:8.2f} {b['fps']:6.2f} {b['drawn']:7d} {b['propagate_ms']:8.0f}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
