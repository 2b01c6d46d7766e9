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
const detailMarks = { conjunctions: [] };

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
const loadEo = () => listInto(["revisit_report"], "eo", "#eo-list");

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

function drawSea(items) {
  const cv = $("#sea-map");
  const g = cv.getContext("2d");
  const draw = () => {
    g.clearRect(0, 0, cv.width, cv.height);
    seaImages.forEach((img, i) => img.complete && g.drawImage(img, (i * cv.width) / 2, 0, cv.width / 2, cv.height));
    const x = (lon) => ((lon + 180) / 360) * cv.width, y = (lat) => ((90 - lat) / 180) * cv.height;
    for (const item of items) {
      const pts = positionsIn(item.payload);
      g.strokeStyle = g.fillStyle = item.type === "dark_vessels" ? "#ff5050" : "#ffd27f";
      if (pts.length > 1) {
        g.beginPath();
        pts.forEach(([la, lo], i) => (i ? g.lineTo(x(lo), y(la)) : g.moveTo(x(lo), y(la))));
        g.stroke();
      }
      for (const [la, lo] of pts) g.fillRect(x(lo) - 2, y(la) - 2, 4, 4);
    }
  };
  draw();
  seaImages.forEach((img) => (img.onload = draw));
}

async function loadMaritime() {
  drawSea(await listInto(["maritime_alert", "dark_vessels"], "maritime", "#sea-list"));
}

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
