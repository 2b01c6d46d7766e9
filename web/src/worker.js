// Propagates the whole catalog with SGP4 (satellite.js) off the main thread: given the TLE lines once,
// answers each "tick" with Earth-fixed positions in metres (NaN for an object SGP4 cannot propagate).
import { twoline2satrec, propagate, gstime, eciToEcf } from "satellite.js";

let sats = [];

self.onmessage = (ev) => {
  const msg = ev.data;
  if (msg.kind === "catalog") {
    sats = msg.objects.map((o) => {
      try {
        return twoline2satrec(o[2], o[3]);
      } catch {
        return null;
      }
    });
    self.postMessage({ kind: "loaded", count: sats.length });
  } else if (msg.kind === "tick") {
    const started = performance.now();
    const when = new Date(msg.timeMs);
    const gmst = gstime(when);
    const out = new Float64Array(sats.length * 3);
    for (let i = 0; i < sats.length; i++) {
      const s = sats[i];
      let p = null;
      if (s) {
        try {
          const pv = propagate(s, when);
          p = pv && pv.position ? eciToEcf(pv.position, gmst) : null;
        } catch {
          p = null;
        }
      }
      if (p && Number.isFinite(p.x)) {
        out[3 * i] = p.x * 1000;
        out[3 * i + 1] = p.y * 1000;
        out[3 * i + 2] = p.z * 1000;
      } else {
        out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = NaN;
      }
    }
    const ms = performance.now() - started;
    self.postMessage({ kind: "positions", timeMs: msg.timeMs, positions: out, ms }, [out.buffer]);
  }
};
