// Classification banners. The node sends each item with its signed marking (the banner it computed
// and the structured label); the page only picks the most restricted of what it shows, and never
// decides what it may show: every item on screen came from the node, released to this user.

export const LEVELS = ["UNCLASSIFIED", "CONFIDENTIAL", "SECRET", "TOP SECRET"];
const SCI = new Set(["SI", "TK", "HCS", "G"]);

export function level(mark) {
  const word = (mark.label && mark.label.classification) || (mark.banner || "").split("//")[0];
  const i = LEVELS.indexOf(String(word).replace(/^\/\/[A-Z]+ /, ""));
  return i < 0 ? 0 : i;
}

function isCountry(name) {
  return /^[A-Z]{3}$/.test(name);
}

// The banner of one structured label, as the node writes it (kizuna.share.markings.Marking.banner).
export function bannerOf(label) {
  if (!label) return "UNCLASSIFIED";
  const head0 = String(label.classification || "UNCLASSIFIED");
  const rel = [...(label.releasable_to || [])];
  const caveats = [...(label.caveats || [])];
  const owner = label.owner || null;
  const noforn = caveats.includes("NOFORN");
  const nationalOnly = owner && rel.length === 1 && rel[0] === owner && !noforn && isCountry(owner);
  let head = head0;
  if (owner && !nationalOnly) head = `//${owner} ${head0}`;
  const sci = caveats.filter((c) => SCI.has(c)).sort();
  const controls = caveats.filter((c) => !SCI.has(c) && c !== "NOFORN").sort();
  if (noforn) controls.push("NOFORN");
  if (nationalOnly) controls.push(`${owner} ONLY`);
  else if (rel.length) {
    const countries = rel.filter((n) => n.length === 3 && isCountry(n)).sort();
    const others = rel.filter((n) => !countries.includes(n)).sort();
    const first = countries.includes(owner) ? owner : countries.includes("USA") ? "USA" : null;
    if (first) {
      countries.splice(countries.indexOf(first), 1);
      countries.unshift(first);
    }
    controls.push("REL TO " + [...countries, ...others].join(", "));
  }
  const parts = [head];
  if (sci.length) parts.push(sci.join("/"));
  if (controls.length) parts.push(controls.join("/"));
  return parts.join("//");
}

function restricted(mark) {
  const l = mark.label || {};
  return level(mark) > 0 || (l.caveats || []).length > 0 || (l.releasable_to || []).length > 0 || !!l.owner;
}

// The banner of a screen holding `marks` ({banner, label}): the most restricted item's own banner
// when one item (or several with the same banner) restricts the screen most, otherwise the
// aggregate: highest level, every caveat, releasable only where every item is.
export function screenBanner(marks) {
  const all = marks.filter(Boolean);
  const top = all.reduce((m, x) => Math.max(m, level(x)), 0);
  const strict = all.filter(restricted);
  if (!strict.length) return LEVELS[top];
  const banners = new Set(strict.map((m) => m.banner || bannerOf(m.label)));
  if (banners.size === 1) return [...banners][0];
  const caveats = new Set();
  let rel = null;
  for (const m of strict) {
    const l = m.label || {};
    (l.caveats || []).forEach((c) => caveats.add(c));
    if ((l.releasable_to || []).length) {
      const mine = new Set(l.releasable_to);
      rel = rel === null ? mine : new Set([...rel].filter((n) => mine.has(n)));
    } else if (level(m) > 0) {
      caveats.add("NOFORN");
    }
  }
  if (rel !== null && rel.size === 0) caveats.add("NOFORN");
  const label = {
    classification: LEVELS[top],
    caveats: [...caveats],
    releasable_to: caveats.has("NOFORN") ? [] : [...(rel || [])],
    owner: null,
  };
  return bannerOf(label);
}
