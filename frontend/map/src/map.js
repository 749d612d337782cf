// The /map page: every paper as a WebGL point (regl-scatterplot), topic labels that follow the zoom,
// hover titles, click-through, colour modes, a month slider, search hits and the reader's papers.
// Data: /map/points.bin (column arrays, see paperboy/web/map_routes.py); titles by chunk when the mouse reaches a point.
import createScatterplot from "regl-scatterplot";

const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
  "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
  "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
];
const SEQUENTIAL = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"];
const TOP_CATEGORIES = 9; // more colours than this stop being tellable apart
const FINE_ZOOM = 0.55; // camera distance under which fine topics replace the broad ones
const NO_MONTH = 0xffff;
// "you are here": one colour and shape per interest profile (distinct from the topic palette's first hues)
const YOU_COLOURS = ["#e8590c", "#c2255c", "#2b8a3e", "#1864ab", "#5f3dc4", "#862e9c"];
const YOU_SHAPES = ["◯", "□", "◇", "△"];

const $ = (id) => document.getElementById(id);

function parsePoints(buf) {
  const head = new DataView(buf, 0, 16);
  const magic = String.fromCharCode(...new Uint8Array(buf, 0, 4));
  if (magic !== "PBM1") throw new Error("not a paperboy map: " + magic);
  const n = head.getUint32(4, true);
  const firstMonth = head.getUint32(8, true);
  let off = 16;
  const take = (Type) => { const a = new Type(buf, off, n); off += n * Type.BYTES_PER_ELEMENT; return a; };
  const x = take(Float32Array), y = take(Float32Array);
  const topic = take(Uint16Array), month = take(Uint16Array), category = take(Uint16Array);
  return { n, firstMonth, x, y, topic, month, category };
}

function monthName(m) {
  return `${1970 + Math.floor(m / 12)}-${String((m % 12) + 1).padStart(2, "0")}`;
}

function main() {
  const cfg = JSON.parse($("map-config").textContent);
  const stage = $("map-stage");
  const canvas = $("map-canvas");
  const overlay = $("map-overlay");
  const labelsBox = $("map-labels");
  const tip = $("map-tip");
  stage.dataset.state = "loading";
  performance.mark("map-start");

  const { width, height } = stage.getBoundingClientRect();
  const scatterplot = createScatterplot({
    canvas, width, height,
    pointSize: 3, opacity: 0.8, pointSizeSelected: 3, pointOutlineWidth: 2,
    spatialIndexUseWorker: false, // a worker would need blob: in the CSP; 75k points index fast enough inline
    backgroundColor: [0.988, 0.988, 0.992, 1],
    showReticle: false, lassoInitiator: false, deselectOnEscape: true,
  });

  const state = { pts: null, chunks: new Map(), hovered: null, you: [], filter: null, monthMax: 0 };

  // Titles and ids come in chunks of cfg.titles_chunk rows, fetched when the mouse first reaches one of their
  // points (the whole list is megabytes; a chunk is tens of kilobytes). A chunk: Promise of {ids, titles}.
  function parseTitles(text) {
    const ids = [], titles = [];
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    for (const line of lines) { // an empty line: a paper hidden by a moderator (keeps its row)
      const tab = line.indexOf("\t");
      ids.push(tab < 0 ? "" : line.slice(0, tab));
      titles.push(tab < 0 ? "" : line.slice(tab + 1));
    }
    return { ids, titles };
  }
  function chunkOf(row) {
    const c = Math.floor(row / cfg.titles_chunk);
    let p = state.chunks.get(c);
    if (!p) {
      p = fetch(`${cfg.titles}?chunk=${c}`)
        .then((r) => { if (!r.ok) throw new Error("titles: HTTP " + r.status); return r.text(); })
        .then((text) => { const got = parseTitles(text); p.loaded = got; return got; });
      p.catch(() => state.chunks.delete(c)); // a failed chunk is fetched again on the next hover
      state.chunks.set(c, p);
    }
    return p;
  }
  function paperOf(row) { // {id, title} of a row whose chunk is loaded, else null
    const got = chunkOf(row).loaded;
    if (!got) return null;
    const k = row % cfg.titles_chunk;
    return { id: got.ids[k], title: got.titles[k] };
  }
  const topicOf = new Map(cfg.topics.map((t) => [t.id, t]));

  function valuesFor(mode) {
    const { n, topic, month, category } = state.pts;
    const v = new Float32Array(n);
    if (mode === "category") {
      const counts = new Map();
      for (let i = 0; i < n; i++) counts.set(category[i], (counts.get(category[i]) || 0) + 1);
      const top = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP_CATEGORIES).map((e) => e[0]);
      const rank = new Map(top.map((c, k) => [c, k]));
      for (let i = 0; i < n; i++) v[i] = rank.has(category[i]) ? rank.get(category[i]) : TOP_CATEGORIES;
      return { v, colours: [...PALETTE.slice(0, TOP_CATEGORIES), "#c7c7c7"], type: "categorical" };
    }
    if (mode === "date") {
      const max = Math.max(1, state.monthMax);
      for (let i = 0; i < n; i++) v[i] = month[i] === NO_MONTH ? 0 : month[i] / max;
      return { v, colours: SEQUENTIAL, type: "continuous" };
    }
    const broadCount = cfg.broad.length;
    for (let i = 0; i < n; i++) { const t = topicOf.get(topic[i]); v[i] = t ? t.broad : 0; }
    const colours = Array.from({ length: Math.max(1, broadCount) }, (_, k) => PALETTE[k % PALETTE.length]);
    return { v, colours, type: "categorical" };
  }

  function draw(mode) {
    const { v, colours, type } = valuesFor(mode);
    scatterplot.set({ colorBy: "valueA", pointColor: colours });
    const keep = { preventFilterReset: true, zDataType: type };
    if (state.filter) keep.filter = state.filter;
    return scatterplot.draw({ x: state.pts.x, y: state.pts.y, valueA: v }, keep);
  }

  // -- labels that adapt to the zoom: broad topics from afar, fine ones up close, never overlapping.
  const labelEls = new Map();
  function labelEl(key, text, broad) {
    let el = labelEls.get(key);
    if (!el) {
      el = document.createElement("div");
      el.className = broad ? "map-label broad" : "map-label";
      el.textContent = text;
      labelsBox.appendChild(el);
      labelEls.set(key, el);
    }
    return el;
  }
  function placeLabels() {
    const camera = scatterplot.get("camera");
    const fine = camera.distance[0] < FINE_ZOOM;
    const items = (fine ? cfg.topics : cfg.broad).slice().sort((a, b) => b.size - a.size);
    const W = stage.clientWidth, H = stage.clientHeight;
    const taken = [];
    const shown = new Set();
    for (const t of items) {
      if (t.row < 0) continue;
      const p = scatterplot.getScreenPosition(t.row);
      if (!p || p[0] < 0 || p[1] < 0 || p[0] > W || p[1] > H) continue;
      const w = t.label.length * (fine ? 6.6 : 9.5) + 8, h = fine ? 16 : 20;
      const box = [p[0] - w / 2, p[1] - h / 2, p[0] + w / 2, p[1] + h / 2];
      if (taken.some((b) => box[0] < b[2] && box[2] > b[0] && box[1] < b[3] && box[3] > b[1])) continue;
      taken.push(box);
      const key = (fine ? "f" : "b") + t.id;
      const el = labelEl(key, t.label, !fine);
      el.style.transform = `translate(${Math.round(box[0])}px, ${Math.round(box[1])}px)`;
      el.hidden = false;
      shown.add(key);
    }
    for (const [key, el] of labelEls) if (!shown.has(key)) el.hidden = true;
    stage.dataset.labels = String(shown.size);
  }

  // -- "you are here": each interest profile's papers as its own marker (colour and shape), on a 2-D canvas
  // over the WebGL one; the legend names the profiles.
  function marker(ctx, shape, x, y) {
    const r = 6;
    ctx.beginPath();
    if (shape === 0) ctx.arc(x, y, r + 1, 0, Math.PI * 2);
    else if (shape === 1) ctx.rect(x - r, y - r, 2 * r, 2 * r);
    else if (shape === 2) { ctx.moveTo(x, y - r - 2); ctx.lineTo(x + r + 2, y); ctx.lineTo(x, y + r + 2); ctx.lineTo(x - r - 2, y); ctx.closePath(); }
    else { ctx.moveTo(x, y - r - 2); ctx.lineTo(x + r + 1, y + r); ctx.lineTo(x - r - 1, y + r); ctx.closePath(); }
    ctx.stroke();
  }
  function drawOverlay() {
    const dpr = window.devicePixelRatio || 1;
    const W = stage.clientWidth, H = stage.clientHeight;
    if (overlay.width !== W * dpr) { overlay.width = W * dpr; overlay.height = H * dpr; }
    const ctx = overlay.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    ctx.lineWidth = 2;
    let drawn = 0;
    state.you.forEach((prof, k) => {
      ctx.strokeStyle = YOU_COLOURS[k % YOU_COLOURS.length];
      for (const row of prof.rows) {
        const p = scatterplot.getScreenPosition(row);
        if (!p) continue;
        marker(ctx, k % YOU_SHAPES.length, p[0], p[1]);
        drawn++;
      }
    });
    stage.dataset.youDrawn = String(drawn);
  }
  function youLegend(body) {
    const box = $("map-you");
    box.textContent = "";
    if (!body.rows || !body.rows.length) return;
    box.append(`you are here: ${body.rows.length} of your papers`);
    state.you.forEach((prof, k) => {
      if (!prof.rows.length) return;
      const item = document.createElement("span");
      item.className = "map-you-profile";
      item.dataset.profile = String(prof.id);
      const mark = document.createElement("span");
      mark.className = "map-you-mark";
      mark.textContent = YOU_SHAPES[k % YOU_SHAPES.length];
      mark.style.color = YOU_COLOURS[k % YOU_COLOURS.length];
      item.append(mark, ` ${prof.name} (${prof.rows.length})`);
      box.append(" ", item);
    });
  }

  function showTip(i) {
    const p = scatterplot.getScreenPosition(i);
    const t = topicOf.get(state.pts.topic[i]);
    const paper = paperOf(i);
    if (!paper) chunkOf(i).then(() => { if (state.hovered === i) showTip(i); }, () => {});
    tip.textContent = (paper ? paper.title : "…") + (t ? `  ·  ${t.label}` : "");
    tip.hidden = false;
    const W = stage.clientWidth;
    const x = Math.min(p[0] + 12, W - tip.offsetWidth - 4);
    tip.style.transform = `translate(${Math.max(4, x)}px, ${Math.max(4, p[1] - tip.offsetHeight - 10)}px)`;
    stage.dataset.hover = String(i);
    if (paper) stage.dataset.hoverTitle = "1"; else delete stage.dataset.hoverTitle;
  }

  scatterplot.subscribe("pointOver", (i) => { state.hovered = i; showTip(i); });
  scatterplot.subscribe("pointOut", () => { state.hovered = null; tip.hidden = true; delete stage.dataset.hover; });
  scatterplot.subscribe("view", () => { placeLabels(); drawOverlay(); if (state.hovered !== null) showTip(state.hovered); });

  // Click-through: a click (not the end of a drag) on a hovered point opens the paper.
  let down = null;
  canvas.addEventListener("pointerdown", (e) => { down = [e.clientX, e.clientY]; });
  canvas.addEventListener("click", (e) => {
    const moved = down && Math.hypot(e.clientX - down[0], e.clientY - down[1]) > 4;
    if (moved || state.hovered === null) return;
    const row = state.hovered;
    chunkOf(row).then(() => {
      const paper = paperOf(row);
      if (paper && paper.id) window.location.assign("/papers/" + paper.id.split("/").map(encodeURIComponent).join("/"));
    }, () => {});
  });

  // Time slider: papers up to the chosen month.
  const slider = $("map-month");
  const monthLabel = $("map-month-label");
  function applyMonth() {
    const m = Number(slider.value);
    monthLabel.textContent = monthName(state.pts.firstMonth + m);
    if (m >= state.monthMax) {
      state.filter = null;
      return scatterplot.unfilter().then(() => { stage.dataset.visible = String(state.pts.n); });
    }
    const rows = [];
    const month = state.pts.month;
    for (let i = 0; i < state.pts.n; i++) if (month[i] <= m) rows.push(i);
    state.filter = rows;
    return scatterplot.filter(rows).then(() => { stage.dataset.visible = String(rows.length); });
  }
  slider.addEventListener("input", applyMonth);

  $("map-colour").addEventListener("change", (e) => {
    draw(e.target.value).then(() => { stage.dataset.colour = e.target.value; });
  });

  // A search drawn on the map: its hits are selected (drawn larger, outlined).
  const status = $("map-search-status");
  $("map-search").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new FormData(e.target).get("q").trim();
    if (!q) { scatterplot.deselect(); status.textContent = ""; stage.dataset.hits = "0"; return; }
    status.textContent = "searching…";
    fetch("/map/search?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
      .then(({ ok, body }) => {
        if (!ok) throw new Error(body.detail || "search failed");
        scatterplot.select(body.rows, { preventEvent: true });
        status.textContent = `${body.rows.length} hits on the map`;
        stage.dataset.hits = String(body.rows.length);
      })
      .catch((err) => { status.textContent = String(err.message || err); });
  });

  fetch(cfg.points)
    .then((r) => { if (!r.ok) throw new Error("points: HTTP " + r.status); return r.arrayBuffer(); })
    .then((buf) => {
      performance.mark("map-data");
      state.pts = parsePoints(buf);
      let max = 0;
      for (const m of state.pts.month) if (m !== NO_MONTH && m > max) max = m;
      state.monthMax = max;
      slider.max = String(max);
      slider.value = String(max);
      monthLabel.textContent = monthName(state.pts.firstMonth + max);
      return draw("topic");
    })
    .then(() => new Promise((resolve) => requestAnimationFrame(() => resolve())))
    .then(() => {
      performance.mark("map-first-paint");
      performance.measure("map-first-paint", "map-start", "map-first-paint");
      stage.dataset.state = "drawn";
      stage.dataset.visible = String(state.pts.n);
      $("map-tools").hidden = false;
      placeLabels();
      const you = document.body.hasAttribute("data-user")
        ? fetch("/map/you", { credentials: "same-origin" }).then((r) => r.json()).then((body) => {
          state.you = body.profiles || [];
          youLegend(body);
          drawOverlay();
        })
        : Promise.resolve();
      return you;
    })
    .then(() => { stage.dataset.state = "ready"; })
    .catch((err) => {
      stage.dataset.state = "error";
      const p = document.createElement("p");
      p.className = "error map-error";
      p.textContent = "The map could not load: " + (err.message || err);
      stage.appendChild(p);
    });

  window.addEventListener("resize", () => {
    const r = stage.getBoundingClientRect();
    scatterplot.set({ width: r.width, height: r.height });
  });

  // For tests and benchmarks: where a point is drawn, without reaching into the library.
  window.paperboyMap = {
    screenPosition: (i) => scatterplot.getScreenPosition(i),
    count: () => (state.pts ? state.pts.n : 0),
    topicRow: (k) => cfg.topics[k].row,
  };
}

function start() {
  try {
    main();
  } catch (err) { // e.g. no WebGL: say so; the topic list below still works
    const stage = $("map-stage");
    stage.dataset.state = "error";
    const p = document.createElement("p");
    p.className = "error map-error";
    p.textContent = "The map could not start: " + (err.message || err);
    stage.appendChild(p);
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
