import "./base.js";
import "cesium/Build/Cesium/Widgets/widgets.css";
import * as Cesium from "cesium";
import { twoline2satrec, propagate, gstime, eciToEcf } from "satellite.js";
import { level, bannerOf, screenBanner } from "./markings.js";
import "./style.css";

// State the browser tests and the benchmark read (never used to decide what is shown).
const K = (window.kizuna = { catalogCount: 0, drawn: 0, catalogDrawnMs: null, ready: false, feedEvents: 0 });
const $ = (sel) => document.querySelector(sel);
const CATALOG_MARK = { banner: "UNCLASSIFIED", label: { classification: "UNCLASSIFIED" } };
const TICK_MS = 1000;

let csrf = null;
let view = "globe";
let viewer = null;
let points = null;
let worker = null;
let tles = new Map(); // norad id -> [name, line1, line2]
let pointByNorad = new Map();
let selectedPoint = null;
let feed = null;
let conjEntities = [];
const shown = { globe: [], conjunctions: [], alerts: [], maritime: [], eo: [], feed: [] };
const detailMarks = { conjunctions: [], eo: [] };

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function markTag(m) {
  return `<span class="mark c${level(m)}" data-marking>${esc(m.banner || bannerOf(m.label))}</span>`;
}

// ----------------------------------------------------------------- banners
function updateBanner() {
  const marks = [CATALOG_MARK, ...shown[view], ...(detailMarks[view] || [])];
  const text = screenBanner(marks);
  const cls = `banner c${marks.reduce((m, x) => Math.max(m, level(x)), 0)}`;
  for (const id of ["#banner-top", "#banner-bottom"]) {
    $(id).textContent = text;
    $(id).className = cls;
  }
}

// ----------------------------------------------------------------- API
async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (csrf && options.method && options.method !== "GET") headers["X-Kizuna-CSRF"] = csrf;
  const r = await fetch(path, { credentials: "same-origin", ...options, headers });
  if (r.status === 401) {
    showLogin();
    throw new Error("not logged in");
  }
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.status === 204 ? null : r.json();
}

function showLogin(message = "") {
  $("#app").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message;
  if (feed) feed.close();
  feed = null;
  for (const k of Object.keys(shown)) shown[k] = [];
  detailMarks.conjunctions = [];
  detailMarks.eo = [];
  updateBanner();
}

async function login(token) {
  const r = await fetch("/session", { method: "POST", headers: { Authorization: `Bearer ${token}` }, credentials: "same-origin" });
  if (!r.ok) {
    $("#login-error").textContent = r.status === 401 ? "Login refused." : `Login failed (${r.status}).`;
    return;
  }
  await start(await r.json());
}

async function start(me) {
  csrf = me.csrf;
  $("#whoami").textContent = `${me.user} (${me.nationality}, cleared ${me.clearance})`;
  $("#login").hidden = true;
  $("#app").hidden = false;
  initGlobe();
  await Promise.all([loadCatalog(), loadConjunctions(), loadAlerts(), loadMaritime(), loadEo(), loadFeed()]);
  K.ready = true;
}

// ----------------------------------------------------------------- globe and catalog
function initGlobe() {
  if (viewer) return;
  Cesium.Ion.defaultAccessToken = "";
  viewer = new Cesium.Viewer("globe", {
    baseLayer: Cesium.ImageryLayer.fromProviderAsync(
      Cesium.TileMapServiceImageryProvider.fromUrl(Cesium.buildModuleUrl("Assets/Textures/NaturalEarthII")),
    ),
    geocoder: false,
    baseLayerPicker: false,
    homeButton: false,
    sceneModePicker: false,
    navigationHelpButton: false,
    animation: false,
    timeline: false,
    fullscreenButton: false,
    infoBox: false,
    selectionIndicator: false,
    creditContainer: document.createElement("div"),
    skyBox: false,
    skyAtmosphere: false,
    msaaSamples: 1,
    // Render when something changed (new positions, camera moves), not every animation frame:
    // with software rendering a continuous loop would take every cycle of the page.
    requestRenderMode: true,
    maximumRenderTimeChange: Infinity,
  });
  window.kizunaViewer = viewer; // for the benchmark (frame rate with continuous rendering)
  // Each of these costs a full-screen pass, which software rendering (a machine without a GPU) pays
  // on every frame; the catalog reads as well without them.
  const scene = viewer.scene;
  scene.sun = undefined;
  scene.moon = undefined;
  scene.fog.enabled = false;
  scene.postProcessStages.fxaa.enabled = false;
  scene.globe.showGroundAtmosphere = false;
  scene.globe.maximumScreenSpaceError = 3;
  scene.backgroundColor = Cesium.Color.fromCssColorString("#05070b");
  points = viewer.scene.primitives.add(new Cesium.PointPrimitiveCollection());
  viewer.screenSpaceEventHandler.setInputAction((e) => {
    const picked = viewer.scene.pick(e.position);
    if (picked && picked.id && picked.id.norad !== undefined) selectObject(picked.id.norad);
  }, Cesium.ScreenSpaceEventType.LEFT_CLICK);
  let frames = 0;
  viewer.scene.postRender.addEventListener(() => {
    frames += 1;
    K.frames = frames;
  });
}

function colorFor(line2) {
  const n = parseFloat(line2.substring(52, 63));
  if (n > 11.25) return Cesium.Color.fromCssColorString("#7fd4ff");
  if (n > 0.9 && n < 1.1) return Cesium.Color.fromCssColorString("#ffd27f");
  return Cesium.Color.fromCssColorString("#c3a6ff");
}

async function loadCatalog() {
  const cat = await api("/console/api/catalog");
  K.catalogCount = cat.count;
  $("#catalog-count").textContent = String(cat.count);
  tles = new Map(cat.objects.map((o) => [o[0], [o[1], o[2], o[3]]]));
  K.catalogIds = cat.objects.map((o) => o[0]);
  points.removeAll();
  pointByNorad = new Map();
  for (const o of cat.objects) {
    const p = points.add({ position: Cesium.Cartesian3.ZERO, pixelSize: 2, color: colorFor(o[3]), show: false, id: { norad: o[0] } });
    pointByNorad.set(o[0], p);
  }
  if (worker) worker.terminate();
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  const scratch = new Cesium.Cartesian3();
  worker.onmessage = (ev) => {
    const m = ev.data;
    if (m.kind !== "positions") return;
    K.propagateMs = m.ms;
    // The next propagation once a second, or later when one takes long (a slow machine): the worker
    // then stays idle at least twice as long as it works, leaving the cores to rendering.
    setTimeout(tick, Math.max(TICK_MS, 2 * m.ms));
    const pos = m.positions;
    let drawn = 0;
    for (let i = 0; i < points.length; i++) {
      const p = points.get(i);
      const x = pos[3 * i];
      if (Number.isFinite(x)) {
        scratch.x = x;
        scratch.y = pos[3 * i + 1];
        scratch.z = pos[3 * i + 2];
        p.position = scratch;
        p.show = true;
        drawn += 1;
      } else p.show = false;
    }
    K.drawn = drawn;
    viewer.scene.requestRender();
    $("#catalog-time").textContent = new Date(m.timeMs).toISOString().slice(0, 19) + "Z";
    if (K.catalogDrawnMs === null) {
      const once = viewer.scene.postRender.addEventListener(() => {
        once();
        K.catalogDrawnMs = performance.now();
      });
      viewer.scene.requestRender();
    }
  };
  worker.postMessage({ kind: "catalog", objects: cat.objects });
  const current = worker;
  const tick = () => {
    if (worker === current) worker.postMessage({ kind: "tick", timeMs: Date.now() });
  };
  tick();
}

function historyPlot(history) {
  if (history.length < 2) return "";
  const w = 700, h = 160, pad = 30;
  const t = history.map((e) => Date.parse(e.epoch_utc));
  const lo = Math.min(...history.map((e) => e.perigee_alt_km));
  const hi = Math.max(...history.map((e) => e.apogee_alt_km));
  const x = (v) => pad + ((v - t[0]) / Math.max(1, t[t.length - 1] - t[0])) * (w - 2 * pad);
  const y = (v) => h - pad - ((v - lo) / Math.max(1e-6, hi - lo)) * (h - 2 * pad);
  const line = (key, color) =>
    `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${history.map((e, i) => `${x(t[i]).toFixed(1)},${y(e[key]).toFixed(1)}`).join(" ")}"/>`;
  return `<svg width="${w}" height="${h}" role="img" aria-label="perigee and apogee altitude">
    ${line("apogee_alt_km", "#ffd27f")}${line("perigee_alt_km", "#7fd4ff")}
    <text x="${pad}" y="14" fill="#ccc" font-size="11">apogee / perigee altitude, ${lo.toFixed(0)}-${hi.toFixed(0)} km</text></svg>`;
}

async function selectObject(norad) {
  const o = await api(`/console/api/objects/${norad}`);
  if (selectedPoint) {
    selectedPoint.pixelSize = 2;
    selectedPoint.outlineWidth = 0;
  }
  selectedPoint = pointByNorad.get(norad) || null;
  if (selectedPoint) {
    selectedPoint.pixelSize = 9;
    selectedPoint.outlineColor = Cesium.Color.YELLOW;
    selectedPoint.outlineWidth = 2;
  }
  const rows = o.history
    .slice(-15)
    .reverse()
    .map((e) => `<tr><td>${esc(e.epoch_utc)}</td><td>${e.mean_motion_revday.toFixed(8)}</td><td>${e.eccentricity.toFixed(7)}</td><td>${e.inclination_deg.toFixed(4)}</td><td>${e.perigee_alt_km.toFixed(1)}</td><td>${e.apogee_alt_km.toFixed(1)}</td></tr>`)
    .join("");
  $("#object-details").innerHTML = `<h3 data-field="object">${esc(o.name || "")} (${o.norad_id}) ${markTag(o)}</h3>
    <p>${esc(o.object_id || "")} ${esc(o.object_type || "")} owner ${esc(o.owner || "-")} regime ${esc(o.regime || "-")}, ${o.history.length} element sets</p>
    ${historyPlot(o.history)}
    <table><thead><tr><th>epoch</th><th>n rev/d</th><th>e</th><th>i deg</th><th>perigee km</th><th>apogee km</th></tr></thead><tbody>${rows}</tbody></table>`;
  setView("globe");
}

K.select = (norad) => selectObject(norad);

// ----------------------------------------------------------------- conjunctions
let conjunctionItems = [];

function fmtPc(pc) {
  return typeof pc === "number" ? pc.toExponential(3) : "-";
}

async function loadConjunctions() {
  const r = await api("/console/api/conjunctions");
  conjunctionItems = r.items;
  K.conjunctions = r.items;
  shown.conjunctions = r.items;
  $("#conj-list tbody").innerHTML = r.items
    .map((c, i) => {
      const p = c.payload || {};
      const a = p.primary ?? p.primary_norad_id, b = p.secondary ?? p.secondary_norad_id;
      return `<tr data-id="${esc(c.id)}" data-index="${i}"><td data-field="pc">${fmtPc(p.pc)}</td><td>${Number(p.miss_km).toFixed(3)}</td><td>${esc(p.tca_utc)}</td><td>${esc(a)} / ${esc(b)}</td><td>${markTag(c)}</td></tr>`;
    })
    .join("");
  for (const tr of document.querySelectorAll("#conj-list tbody tr")) tr.onclick = () => showConjunction(conjunctionItems[+tr.dataset.index]);
  updateBanner();
}

function orbitPositions(norad, tcaMs) {
  const t = tles.get(norad);
  if (!t) return null;
  const sat = twoline2satrec(t[1], t[2]);
  const periodMin = (2 * Math.PI) / sat.no;
  const gmst = gstime(new Date(tcaMs));
  const out = [];
  for (let k = 0; k <= 180; k++) {
    const when = new Date(tcaMs + ((k / 180 - 0.5) * periodMin) * 60000);
    const pv = propagate(sat, when);
    if (!pv || !pv.position) continue;
    // Inertial orbit drawn in the Earth-fixed axes of TCA, so it closes on itself around the TCA point.
    const p = eciToEcf(pv.position, gmst);
    out.push(new Cesium.Cartesian3(p.x * 1000, p.y * 1000, p.z * 1000));
  }
  return out;
}

function tcaPoint(payload, which, tcaMs) {
  const itrf = payload[`${which}_itrf`];
  if (Array.isArray(itrf) && itrf.length >= 3 && itrf.some((v) => v !== 0))
    return new Cesium.Cartesian3(itrf[0] * 1000, itrf[1] * 1000, itrf[2] * 1000);
  const norad = payload[which] ?? payload[`${which}_norad_id`];
  const t = tles.get(norad);
  if (!t) return null;
  const pv = propagate(twoline2satrec(t[1], t[2]), new Date(tcaMs));
  if (!pv || !pv.position) return null;
  const p = eciToEcf(pv.position, gstime(new Date(tcaMs)));
  return new Cesium.Cartesian3(p.x * 1000, p.y * 1000, p.z * 1000);
}

function showConjunction(c) {
  const p = c.payload || {};
  const a = p.primary ?? p.primary_norad_id, b = p.secondary ?? p.secondary_norad_id;
  const nameOf = (n, given) => given || (tles.get(n) || [""])[0] || String(n);
  for (const tr of document.querySelectorAll("#conj-list tbody tr")) tr.classList.toggle("selected", tr.dataset.id === c.id);
  detailMarks.conjunctions = [c];
  $("#conj-detail").innerHTML = `<h3>Conjunction ${markTag(c)}</h3>
    <table><tbody>
    <tr><th>primary</th><td data-field="primary">${esc(a)} ${esc(nameOf(a, p.primary_name))}</td></tr>
    <tr><th>secondary</th><td data-field="secondary">${esc(b)} ${esc(nameOf(b, p.secondary_name))}</td></tr>
    <tr><th>Pc</th><td data-field="pc">${fmtPc(p.pc)}</td></tr>
    <tr><th>Pc method</th><td>${esc(p.pc_method || "-")}</td></tr>
    <tr><th>TCA (UTC)</th><td>${esc(p.tca_utc)}</td></tr>
    <tr><th>miss</th><td>${Number(p.miss_km).toFixed(3)} km (R ${Number(p.radial_km ?? NaN).toFixed(3)}, T ${Number(p.intrack_km ?? NaN).toFixed(3)}, N ${Number(p.crosstrack_km ?? NaN).toFixed(3)})</td></tr>
    <tr><th>relative speed</th><td>${Number(p.rel_speed_kms).toFixed(3)} km/s</td></tr>
    <tr><th>product</th><td>${esc(c.id)} v${c.version} from ${esc(c.originator)}</td></tr>
    </tbody></table>
    <h4>CDM</h4><pre id="cdm">${esc(c.cdm || "This product carries no states at TCA: no CDM.")}</pre>`;
  for (const e of conjEntities) viewer.entities.remove(e);
  conjEntities = [];
  const tcaMs = Date.parse(p.tca_utc);
  const colors = [Cesium.Color.CYAN, Cesium.Color.ORANGE];
  [a, b].forEach((n, i) => {
    const orbit = orbitPositions(n, tcaMs);
    if (orbit) conjEntities.push(viewer.entities.add({ polyline: { positions: orbit, width: 2, material: colors[i] } }));
  });
  const pa = tcaPoint(p, "primary", tcaMs), pb = tcaPoint(p, "secondary", tcaMs);
  for (const [pt, i] of [[pa, 0], [pb, 1]]) {
    if (pt) conjEntities.push(viewer.entities.add({ position: pt, point: { pixelSize: 10, color: colors[i], outlineColor: Cesium.Color.WHITE, outlineWidth: 1 } }));
  }
  if (pa && pb) {
    conjEntities.push(
      viewer.entities.add({
        polyline: { positions: [pa, pb], width: 3, material: Cesium.Color.RED },
        position: pa,
        label: { text: `TCA, miss ${Number(p.miss_km).toFixed(3)} km`, font: "13px sans-serif", pixelOffset: new Cesium.Cartesian2(0, -20) },
      }),
    );
    const range = 3.0e6;
    viewer.camera.flyToBoundingSphere(new Cesium.BoundingSphere(pa, 1000), { offset: new Cesium.HeadingPitchRange(0, -0.6, range), duration: 0 });
  }
  viewer.scene.requestRender();
  updateBanner();
}

// ----------------------------------------------------------------- product lists
function summary(item) {
  const p = item.payload || {};
  const keys = Object.keys(p).filter((k) => typeof p[k] !== "object").slice(0, 8);
  return keys.map((k) => `${esc(k)}=${esc(typeof p[k] === "number" ? +p[k].toPrecision(6) : p[k])}`).join(" ");
}

function itemLi(item) {
  return `<li data-id="${esc(item.id)}"><b>${esc(item.type)}</b> ${esc(item.created_utc)} ${markTag(item)}
    <br><span class="hint">objects ${esc((item.objects || []).join(", ") || "-")} from ${esc(item.originator)}</span>
    <br>${summary(item)}</li>`;
}

async function listInto(types, key, el) {
  const lists = await Promise.all(types.map((t) => api(`/console/api/products?type=${t}&limit=200`)));
  const items = lists.flatMap((l) => l.items).sort((x, y) => String(y.created_utc).localeCompare(String(x.created_utc)));
  shown[key] = items;
  $(el).innerHTML = items.map(itemLi).join("") || "<li class=hint>Nothing released to you.</li>";
  updateBanner();
  return items;
}

const loadAlerts = () => listInto(["maneuver", "proximity_alert"], "alerts", "#alert-list");

// ----------------------------------------------------------------- EO: areas, passes, footprints, revisit
let eoItems = [];
let eoEntities = [];
let eoDetail = null;
const hours = (v) => (typeof v === "number" ? `${v.toFixed(2)} h` : "-");

async function loadEo() {
  const r = await api("/console/api/eo/aois");
  eoItems = r.items;
  K.eoAreas = r.items.map((i) => i.payload.aoi);
  shown.eo = r.items;
  $("#eo-list tbody").innerHTML =
    r.items
      .map((i, k) => {
        const p = i.payload || {};
        return `<tr data-id="${esc(i.id)}" data-index="${k}"><td data-field="aoi">${esc(p.aoi)}</td><td>${hours(p.mean_revisit_h)}</td><td>${hours(p.max_gap_h)}</td><td>${i.passes}</td><td>${markTag(i)}</td></tr>`;
      })
      .join("") || "<tr><td colspan=5 class=hint>Nothing released to you.</td></tr>";
  for (const tr of document.querySelectorAll("#eo-list tbody tr[data-id]")) tr.onclick = () => showArea(eoItems[+tr.dataset.index]);
  if (eoDetail && !eoItems.some((i) => i.id === eoDetail.id)) clearEo();
  updateBanner();
}

function clearEo() {
  for (const e of eoEntities) viewer.entities.remove(e);
  eoEntities = [];
  eoDetail = null;
  detailMarks.eo = [];
  $("#eo-detail").innerHTML = "";
}

const degrees = (ring) => Cesium.Cartesian3.fromDegreesArray(ring.flat());

function accessTimeline(p, passes) {
  // One row per satellite, a bar per pass over the period (the access windows).
  const t0 = Date.parse(p.period_start_utc), t1 = Date.parse(p.period_stop_utc);
  const sats = [...new Set(passes.map((x) => x.satellite))].sort();
  const w = 700, row = 12, left = 170, h = sats.length * row + 24;
  const x = (t) => left + ((t - t0) / Math.max(1, t1 - t0)) * (w - left - 10);
  const bars = passes
    .map((q, k) => {
      const y = sats.indexOf(q.satellite) * row + 4;
      const a = x(Date.parse(q.start_utc)), b = x(Date.parse(q.stop_utc));
      return `<rect data-pass="${k}" x="${a.toFixed(1)}" y="${y}" width="${Math.max(2, b - a).toFixed(1)}" height="${row - 3}" fill="${q.look_side === "right" ? "#7fd4ff" : "#ffd27f"}"/>`;
    })
    .join("");
  const labels = sats.map((s, i) => `<text x="0" y="${i * row + 13}" fill="#ccc" font-size="10">${esc(s)}</text>`).join("");
  return `<svg id="eo-timeline" width="${w}" height="${h}" role="img" aria-label="access windows per satellite">${labels}${bars}
    <text x="${left}" y="${h - 4}" fill="#8893a5" font-size="10">${esc(p.period_start_utc)} to ${esc(p.period_stop_utc)}; right-looking blue, left-looking yellow</text></svg>`;
}

function gapPlot(p, gaps) {
  // Each gap between passes as a bar at its start, its height the gap's length.
  if (!gaps.length) return "";
  const t0 = Date.parse(p.period_start_utc), t1 = Date.parse(p.period_stop_utc);
  const w = 700, h = 140, pad = 28;
  const top = Math.max(...gaps.map((g) => g.gap_h));
  const x = (t) => pad + ((t - t0) / Math.max(1, t1 - t0)) * (w - 2 * pad);
  const y = (v) => h - pad - (v / Math.max(1e-6, top)) * (h - 2 * pad);
  const bars = gaps
    .map((g) => {
      const a = x(Date.parse(g.start_utc)), b = x(Date.parse(g.stop_utc));
      return `<rect x="${a.toFixed(1)}" y="${y(g.gap_h).toFixed(1)}" width="${Math.max(1, b - a).toFixed(1)}" height="${(h - pad - y(g.gap_h)).toFixed(1)}" fill="#c3a6ff"/>`;
    })
    .join("");
  return `<svg id="eo-gaps" width="${w}" height="${h}" role="img" aria-label="revisit gaps">${bars}
    <line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#555"/>
    <text x="${pad}" y="14" fill="#ccc" font-size="11">gaps between passes (longest ${top.toFixed(2)} h), by start time</text></svg>`;
}

function showPass(k) {
  const passes = (eoDetail && eoDetail.payload.accesses) || [];
  const q = passes[k];
  if (!q) return;
  for (const tr of document.querySelectorAll("#eo-passes tbody tr")) tr.classList.toggle("selected", +tr.dataset.pass === k);
  for (const e of eoEntities.filter((e) => e.kizunaPass)) viewer.entities.remove(e);
  eoEntities = eoEntities.filter((e) => !e.kizunaPass);
  const add = (spec) => {
    const e = viewer.entities.add(spec);
    e.kizunaPass = true;
    eoEntities.push(e);
  };
  add({ polygon: { hierarchy: new Cesium.PolygonHierarchy(degrees(q.regard.outer), [new Cesium.PolygonHierarchy(degrees(q.regard.inner))]), material: Cesium.Color.YELLOW.withAlpha(0.15), outline: false } });
  add({ polygon: { hierarchy: degrees(q.swath), material: Cesium.Color.CYAN.withAlpha(0.35) } });
  add({ polyline: { positions: degrees(q.track), width: 2, material: Cesium.Color.WHITE } });
  K.eoPassShown = k;
  viewer.scene.requestRender();
}

async function showArea(summaryItem) {
  const item = await api(`/console/api/eo/aois/${encodeURIComponent(summaryItem.id)}`);
  clearEo();
  eoDetail = item;
  detailMarks.eo = [item];
  const p = item.payload || {};
  const passes = p.accesses || [];
  for (const tr of document.querySelectorAll("#eo-list tbody tr")) tr.classList.toggle("selected", tr.dataset.id === item.id);
  const st = p.stats || {};
  $("#eo-detail").innerHTML = `<h3 data-field="area">${esc(p.aoi)} ${markTag(item)}</h3>
    <p>${esc(p.constellation)}, sensor ${esc(p.sensor)}; ${passes.length} passes; revisits a day ${esc(st.revisits_per_day ?? "-")}, mean revisit ${hours(p.mean_revisit_h)}, longest gap ${hours(p.max_gap_h)}, coverage ${esc(st.coverage_time_pct ?? "-")} % of the time</p>
    <h4>Access windows</h4>${accessTimeline(p, passes)}
    <h4>Revisit</h4>${gapPlot(p, item.gaps || [])}
    <p class="hint">Click a pass: its field of regard at mid-access (yellow ring: the incidence window, any direction), its swath abeam of the track (cyan) and ground track (white).</p>
    <table id="eo-passes"><thead><tr><th>satellite</th><th>start (UTC)</th><th>s</th><th>look</th><th>pass</th><th>incidence</th></tr></thead><tbody>${passes
      .map((q, k) => `<tr data-pass="${k}"><td>${esc(q.satellite)}</td><td>${esc(q.start_utc)}</td><td>${q.duration_s}</td><td>${esc(q.look_side)}</td><td>${esc(q.pass_direction)}</td><td>${q.incidence_mid_deg}</td></tr>`)
      .join("")}</tbody></table>`;
  for (const tr of document.querySelectorAll("#eo-passes tbody tr")) tr.onclick = () => showPass(+tr.dataset.pass);
  for (const rect of document.querySelectorAll("#eo-timeline rect[data-pass]")) rect.onclick = () => showPass(+rect.dataset.pass);
  const ring = (p.polygon || [])[0] || [];
  if (ring.length) {
    const e = viewer.entities.add({ polygon: { hierarchy: degrees(ring), material: Cesium.Color.RED.withAlpha(0.5), outline: true, outlineColor: Cesium.Color.RED } });
    eoEntities.push(e);
    const lon = ring.map((c) => c[0]), lat = ring.map((c) => c[1]);
    const mid = Cesium.Cartesian3.fromDegrees((Math.min(...lon) + Math.max(...lon)) / 2, (Math.min(...lat) + Math.max(...lat)) / 2);
    viewer.camera.flyToBoundingSphere(new Cesium.BoundingSphere(mid, 1000), { offset: new Cesium.HeadingPitchRange(0, -Math.PI / 2, 4.5e6), duration: 0 });
  }
  if (passes.length) showPass(0);
  K.eoShown = item.id;
  viewer.scene.requestRender();
  updateBanner();
}

K.showArea = (i) => showArea(eoItems[i]);

// ----------------------------------------------------------------- maritime: 2-D map
const AIS_TRACK_POINTS = 4000;
let seaView = { west: -180, south: -90, east: 180, north: 90 };
let seaWindow = null; // [start, stop] ISO times of the AIS drawn, or every stored time
const SEA_MARGIN_MS = 12 * 3600 * 1000; // AIS this long before and after an item's own times
let seaItems = [];
let seaTracks = null;

function positionsIn(value, out = []) {
  if (Array.isArray(value)) value.forEach((v) => positionsIn(v, out));
  else if (value && typeof value === "object") {
    const lat = value.lat_deg ?? value.lat ?? value.latitude;
    const lon = value.lon_deg ?? value.lon ?? value.longitude;
    if (typeof lat === "number" && typeof lon === "number") out.push([lat, lon]);
    for (const v of Object.values(value)) if (v && typeof v === "object") positionsIn(v, out);
  }
  return out;
}

const seaImages = ["/cesium/Assets/Textures/NaturalEarthII/0/0/0.jpg", "/cesium/Assets/Textures/NaturalEarthII/0/1/0.jpg"].map((src) => {
  const img = new Image();
  img.src = src;
  return img;
});

function drawSea() {
  const cv = $("#sea-map");
  const g = cv.getContext("2d");
  const v = seaView;
  const x = (lon) => ((lon - v.west) / (v.east - v.west)) * cv.width, y = (lat) => ((v.north - lat) / (v.north - v.south)) * cv.height;
  g.clearRect(0, 0, cv.width, cv.height);
  seaImages.forEach((img, i) => img.complete && g.drawImage(img, x(-180 + 180 * i), y(90), x(0) - x(-180), y(-90) - y(90)));
  let drawn = 0;
  // The node's own AIS: one grey line per vessel.
  g.strokeStyle = "rgba(220,220,220,0.8)";
  g.fillStyle = "rgba(220,220,220,0.9)";
  for (const vessel of (seaTracks && seaTracks.vessels) || []) {
    g.beginPath();
    vessel.points.forEach(([lo, la], i) => (i ? g.lineTo(x(lo), y(la)) : g.moveTo(x(lo), y(la))));
    g.stroke();
    for (const [lo, la] of vessel.points) g.fillRect(x(lo) - 1, y(la) - 1, 2, 2);
    drawn += vessel.points.length;
  }
  K.seaTrackPoints = drawn;
  // Products: alerts (their track and place) in yellow, dark-vessel candidates in red.
  for (const item of seaItems) {
    const pts = positionsIn(item.payload);
    g.strokeStyle = g.fillStyle = item.type === "dark_vessels" ? "#ff5050" : "#ffd27f";
    if (item.type !== "dark_vessels" && pts.length > 1) {
      g.lineWidth = 2;
      g.beginPath();
      pts.forEach(([la, lo], i) => (i ? g.lineTo(x(lo), y(la)) : g.moveTo(x(lo), y(la))));
      g.stroke();
      g.lineWidth = 1;
    }
    for (const [la, lo] of pts) g.fillRect(x(lo) - 3, y(la) - 3, 6, 6);
  }
  const when = seaWindow ? `${seaWindow[0]} to ${seaWindow[1]}` : "any time";
  $("#sea-extent").textContent = `${v.west.toFixed(2)}..${v.east.toFixed(2)} E, ${v.south.toFixed(2)}..${v.north.toFixed(2)} N; ${when}; ${drawn} AIS points of ${seaTracks ? seaTracks.positions : 0} stored in view`;
}

async function loadTracks() {
  const v = seaView;
  const q = new URLSearchParams({ west: v.west, south: v.south, east: v.east, north: v.north, max_points: AIS_TRACK_POINTS });
  if (seaWindow) {
    q.set("start_utc", seaWindow[0]);
    q.set("stop_utc", seaWindow[1]);
  }
  seaTracks = await api(`/console/api/maritime/tracks?${q}`);
  // The node's own AIS, under its marking (UNCLASSIFIED): part of what is on screen.
  shown.maritime = [...seaItems, { banner: seaTracks.banner, label: seaTracks.label }];
  drawSea();
  updateBanner();
}

function zoomSea(item) {
  const pts = positionsIn(item.payload);
  if (!pts.length) return;
  const lat = pts.map((p) => p[0]), lon = pts.map((p) => p[1]);
  const cy = (Math.min(...lat) + Math.max(...lat)) / 2, cx = (Math.min(...lon) + Math.max(...lon)) / 2;
  // Twice as wide as high (the canvas), with a margin round the item's points.
  // At least a degree and a half high round an alert (the coast around it, not the vessel alone);
  // dark-vessel candidates lie within one image, drawn a quarter of a degree high to tell them apart.
  const half = Math.max(item.type === "dark_vessels" ? 0.12 : 0.75, (Math.max(...lat) - Math.min(...lat)) * 0.75, ((Math.max(...lon) - Math.min(...lon)) / 2) * 0.75);
  seaView = { west: Math.max(-180, cx - 2 * half), east: Math.min(180, cx + 2 * half), south: Math.max(-90, cy - half), north: Math.min(90, cy + half) };
  // The item's own times (an event's start and end, an image's time), widened by the margin.
  const p = item.payload || {};
  const times = [p.start_utc, p.end_utc, p.image_time_utc].map((t) => Date.parse(t)).filter(Number.isFinite);
  seaWindow = times.length
    ? [new Date(Math.min(...times) - SEA_MARGIN_MS).toISOString(), new Date(Math.max(...times) + SEA_MARGIN_MS).toISOString()]
    : null;
  for (const li of document.querySelectorAll("#sea-list li")) li.classList.toggle("selected", li.dataset.id === item.id);
  loadTracks().catch(() => {});
}

async function loadMaritime() {
  const r = await api("/console/api/maritime/products");
  seaItems = r.items;
  K.seaItems = r.items;
  $("#sea-list").innerHTML = r.items.map(itemLi).join("") || "<li class=hint>Nothing released to you.</li>";
  for (const li of document.querySelectorAll("#sea-list li[data-id]")) li.onclick = () => zoomSea(seaItems.find((i) => i.id === li.dataset.id));
  await loadTracks();
  seaImages.forEach((img) => (img.onload = drawSea));
}

$("#sea-world").onclick = () => {
  seaView = { west: -180, south: -90, east: 180, north: 90 };
  seaWindow = null;
  loadTracks().catch(() => {});
};
K.zoomSea = (i) => zoomSea(seaItems[i]);

// ----------------------------------------------------------------- feed (SSE)
function feedItem(doc, banner) {
  return { id: doc.id, version: doc.version, type: doc.type, originator: doc.originator, created_utc: doc.created_utc, objects: doc.objects, banner, label: doc.marking, payload: doc.payload };
}

let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    loadConjunctions().catch(() => {});
    loadAlerts().catch(() => {});
    loadMaritime().catch(() => {});
    loadEo().catch(() => {});
  }, 300);
}

async function loadFeed() {
  const r = await api("/console/api/products?limit=100");
  shown.feed = r.items;
  $("#feed-list").innerHTML = r.items.map(itemLi).join("");
  updateBanner();
  if (feed) feed.close();
  feed = new EventSource(r.next ? `/feed/stream?next=${encodeURIComponent(r.next)}` : "/feed/stream");
  feed.onopen = () => ($("#feed-state").textContent = "live");
  feed.onerror = () => ($("#feed-state").textContent = "reconnecting");
  feed.addEventListener("product", (ev) => {
    // The signed document as the node stores it: {product, banner, signature}; the banner is the
    // node's own, the label the signed one (bannerOf only if a node ever sent none).
    const wire = JSON.parse(ev.data);
    const doc = wire.product;
    const item = feedItem(doc, wire.banner || bannerOf(doc.marking));
    K.feedEvents += 1;
    const known = shown.feed.some((x) => x.id === item.id && x.version === item.version);
    shown.feed = [item, ...shown.feed.filter((x) => x.id !== item.id)];
    if (!known) $("#feed-list").insertAdjacentHTML("afterbegin", itemLi(item));
    updateBanner();
    refreshSoon();
  });
}

// ----------------------------------------------------------------- views
function setView(name) {
  view = name;
  for (const b of document.querySelectorAll("header nav button")) b.classList.toggle("active", b.dataset.view === name);
  for (const v of document.querySelectorAll("#panel .view")) v.hidden = v.dataset.view !== name;
  // The globe shows the drawings of the view on screen only (its banner covers no other view's).
  for (const e of conjEntities) e.show = name === "conjunctions";
  for (const e of eoEntities) e.show = name === "eo";
  if (viewer) viewer.scene.requestRender();
  updateBanner();
}

for (const b of document.querySelectorAll("header nav button")) b.onclick = () => setView(b.dataset.view);
$("#login-form").onsubmit = (e) => {
  e.preventDefault();
  login($("#token").value).catch((err) => ($("#login-error").textContent = String(err)));
};
$("#logout").onclick = async () => {
  await api("/session", { method: "DELETE" }).catch(() => {});
  csrf = null;
  showLogin("Logged out.");
};

fetch("/session", { credentials: "same-origin" }).then(async (r) => (r.ok ? start(await r.json()) : showLogin()));
