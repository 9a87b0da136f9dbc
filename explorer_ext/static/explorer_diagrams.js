// nkipy-kg explorer, diagram views: tiles, memory, graph of the selected stage. Their data
// comes from nkipy_kg/explore_diagrams.py, explore_memory.py and explore_graph.py; this
// file only draws it. Same module scope as explorer_ir.js (`esc`, `note`, ...).

// An unchanged stage has no entry of its own: it shows the last stage's that does.
function diagramsFor(data, i) {
  const all = data.diagrams || {};
  for (let k = i; k >= 0; k--) if (all[String(k)]) return [k, all[String(k)]];
  return [-1, null];
}
const fmtB = (b) => (b >= 1024 ? `${(b / 1024).toFixed(b % 1024 ? 1 : 0)} KiB` : `${b} B`);
const note = (t) => `<div class="dg-note">${t}</div>`;

// One tensor/op: its (last two dims of) shape cut into the tile grid; the partition
// dim is drawn as rows when it is dim 0 of those two, as columns otherwise.
function tileSvg(e) {
  const shape = e.shape.length ? e.shape : [1], tile = e.tile && e.tile.length ? e.tile : shape;
  const r = shape.length, R = r >= 2 ? shape[r - 2] : 1, C = shape[r - 1];
  const tr = r >= 2 ? tile[tile.length - 2] || R : 1, tc = tile[tile.length - 1] || C;
  const gr = Math.max(1, Math.ceil(R / tr)), gc = Math.max(1, Math.ceil(C / tc));
  const MAX = 200, MIN = 18, s = MAX / Math.max(R, C);
  const H = Math.max(MIN, R * s), W = Math.max(MIN, C * s);
  const x0 = 40, y0 = 26, ch = H / gr, cw = W / gc;
  let cells = "";
  const shown = gr * gc <= 1024;
  for (let a = 0; shown && a < gr; a++) for (let b = 0; b < gc; b++) {
    cells += `<rect class="tile t${(a + b) % 2}" x="${(x0 + b * cw).toFixed(1)}" y="${(y0 + a * ch).toFixed(1)}" width="${cw.toFixed(1)}" height="${ch.toFixed(1)}"><title>tile (${a}, ${b})</title></rect>`;
  }
  if (!shown) cells = `<rect class="tile t0" x="${x0}" y="${y0}" width="${W}" height="${H}"/>`;
  const pd = e.partition_dim, pRows = pd !== null && pd !== undefined && pd === r - 2, pCols = pd !== null && pd !== undefined && pd === r - 1;
  const part = pRows ? `<line class="pax" x1="${x0 - 10}" y1="${y0}" x2="${x0 - 10}" y2="${y0 + H}" marker-end="url(#nkx-arr)"/>
      <text class="plabel" transform="translate(${x0 - 16},${y0 + H / 2}) rotate(-90)" text-anchor="middle">partition · dim ${pd}</text>`
    : pCols ? `<line class="pax" x1="${x0}" y1="${y0 + H + 10}" x2="${x0 + W}" y2="${y0 + H + 10}" marker-end="url(#nkx-arr)"/>
      <text class="plabel" x="${x0 + W / 2}" y="${y0 + H + 24}" text-anchor="middle">partition · dim ${pd}</text>` : "";
  const w = x0 + Math.max(W, 120) + 12, h = y0 + H + 30;
  return `<svg class="tile-svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(shape.join("×"))} in ${gr}×${gc} tiles">
    <defs><marker id="nkx-arr" markerWidth="6" markerHeight="6" refX="5" refY="3" orient="auto"><path d="M0,0 L6,3 L0,6 z" class="arrhead"/></marker></defs>
    <text class="dim" x="${x0}" y="14">${esc(shape.join(" × "))}</text>
    ${cells}<rect class="tframe" x="${x0}" y="${y0}" width="${W}" height="${H}"/>
    <rect class="tile-one" x="${x0}" y="${y0}" width="${cw.toFixed(1)}" height="${ch.toFixed(1)}"/>
    ${cw >= 46 && ch >= 16 ? `<text class="tlabel" x="${(x0 + cw / 2).toFixed(1)}" y="${(y0 + ch / 2 + 4).toFixed(1)}" text-anchor="middle">${esc(`${tr} × ${tc}`)}</text>` : ""}
    ${part}</svg>`;
}

function tileCard(e, k) {
  const shape = e.shape.length ? e.shape : [1], tile = e.tile && e.tile.length ? e.tile : shape;
  const grid = shape.map((d, j) => Math.max(1, Math.ceil(d / (tile[j] || d))));
  const what = e.kind === "layout" ? `layout${e.mem_space ? " · " + esc(e.mem_space) : ""}` : e.kind === "tile_op" ? "tile_op (loop tiles)" : "tiled loop nest";
  const loops = e.loops ? `<div class="dg-sub">${e.loops.map((l) => `for ${l.lb ?? "?"}..${l.ub ?? "?"} step ${l.step ?? "?"} → ${l.trips ?? "?"} trips`).join("<br>")}</div>` : "";
  return `<div class="tcard k-${esc(e.kind)}" data-k="${k}"${e.line ? ` data-line="${e.line}"` : ""}>
    <div class="tc-head"><span class="tc-val">${esc(e.value || "")}</span> <span class="tc-op">${esc(e.op)}</span>${e.body ? ` <span class="tc-body" title="the generic's body ops, in order">${esc(e.body)}</span>` : ""}<span class="chip">${what}</span></div>
    ${tileSvg(e)}
    <div class="dg-sub">tile <b>${esc(tile.join("×"))}</b>${e.requested ? ` (tile_op ${esc(e.requested.join("×"))})` : ""} · grid <b>${esc(grid.join("×"))}</b>${e.partition_dim !== null && e.partition_dim !== undefined ? ` · partition dim <b>${e.partition_dim}</b>` : ""}</div>${loops}</div>`;
}

function renderTiles(el, d, pick) {
  const tiles = (d && d.tiles) || [];
  if (!tiles.length) { el.innerHTML = note("No tiling decisions in this stage yet: <code>nkipy.layout</code>/<code>nkipy.tile_op</code> appear after infer-layout, scf.for tile loops after knob-driven-tiling."); return; }
  const opts = tiles.map((e, k) => `<option value="${k}"${k === pick ? " selected" : ""}>${esc(e.value || "")} ${esc(e.op)} · ${esc(e.kind)}</option>`).join("");
  // Once ops sit in tile loops, those come first: they are what the stage decided.
  const groups = [["tiled ops in their scf.for loop nests (after tiling)", tiles.map((e, k) => [e, k]).filter(([e]) => e.kind === "loop")],
    ["layout and tile_op annotations (from infer-layout)", tiles.map((e, k) => [e, k]).filter(([e]) => e.kind !== "loop")]];
  const body = groups.filter(([, g]) => g.length).map(([title, g]) =>
    `<div class="dg-h">${title}</div><div class="tcards">${g.filter(([, k]) => pick < 0 || k === pick).map(([e, k]) => tileCard(e, k)).join("")}</div>`).join("");
  el.innerHTML = `<div class="dg-tools"><label>tensor / op <select class="tile-pick" aria-label="Tensor or op"><option value="-1">all (${tiles.length})</option>${opts}</select></label></div>${body}`;
}

// The plots span the view (text stays at its CSS size instead of shrinking with a viewBox).
const plotWidth = (el) => Math.max(520, Math.min(1400, (el.clientWidth || 900) - 30));

function pressureSvg(m, budget, W) {
  const n = Math.max(1, m.ops.length), H = 190, L = 64, T = 14, PW = W - L - 16, PH = H - T - 30;
  const peak = Math.max(m.peak.sbuf, m.peak.psum, budget, 1);
  const top = peak * 1.18, x = (k) => L + (k / Math.max(1, n - 1)) * PW, y = (b) => T + PH - (b / top) * PH;
  const area = (arr) => `M${x(0)},${y(0)} ` + arr.map((b, k) => `L${x(k).toFixed(1)},${y(b).toFixed(1)}`).join(" ") + ` L${x(n - 1)},${y(0)} Z`;
  const ticks = [0, top / 2, top].map((b) => `<text class="ax" x="${L - 6}" y="${y(b) + 4}" text-anchor="end">${fmtB(Math.round(b))}</text><line class="grid" x1="${L}" x2="${L + PW}" y1="${y(b)}" y2="${y(b)}"/>`).join("");
  const cap = (b, cls, label) => (b && b <= top ? `<line class="${cls}" x1="${L}" x2="${L + PW}" y1="${y(b)}" y2="${y(b)}"/><text class="${cls}-t" x="${L + 6}" y="${y(b) - 4}">${esc(label)}</text>` : "");
  const ev = m.events.map((e) => `<g class="ev ev-${esc(e.kind)}"><line x1="${x(e.at)}" x2="${x(e.at)}" y1="${T}" y2="${T + PH}"/>
    <text x="${x(e.at) + 3}" y="${T + 10}">${esc(e.kind)} ${esc(e.buffer)}</text><title>${esc(e.kind)} ${esc(e.buffer)} ↔ HBM slot ${esc(e.slot)} (${fmtB(e.bytes)}/partition) at op ${e.at} ${esc(m.ops[e.at] || "")}</title></g>`).join("");
  const pk = m.peak_at.sbuf;
  return `<svg class="mem-svg pressure" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="live bytes per partition over program order">
    ${ticks}<path class="ar-sbuf" d="${area(m.pressure.sbuf)}"/>${m.peak.psum ? `<path class="ar-psum" d="${area(m.pressure.psum)}"/>` : ""}
    ${cap(m.capacity.sbuf, "cap", `SBUF capacity ${fmtB(m.capacity.sbuf)}`)}${cap(m.capacity.psum, "cap-psum", `PSUM capacity ${fmtB(m.capacity.psum)}`)}
    ${cap(budget, "cap", `spill budget ${fmtB(budget)} (sbuf-capacity)`)}
    <circle class="peak" cx="${x(pk)}" cy="${y(m.peak.sbuf)}" r="3.5"><title>peak ${fmtB(m.peak.sbuf)} at op ${pk} ${esc(m.ops[pk] || "")}</title></circle>
    ${ev}<text class="ax" x="${L}" y="${H - 8}">op 0</text><text class="ax" x="${L + PW}" y="${H - 8}" text-anchor="end">op ${n - 1} (program order, loop bodies inlined)</text></svg>`;
}

// The buffers live at the peak, as rectangles: partitions (rows) × bytes per partition.
function rectsSvg(m, space, W) {
  const at = m.peak_at[space], live = m.buffers.filter((b) => b.space === space && b.first <= at && at <= b.last);
  if (!live.length) return "";
  const used = live.reduce((a, b) => a + b.bytes, 0), L = 64, PW = W - L - 16, H = 150, T = 8, PH = H - T - 26;
  const span = Math.max(used * 1.15, 1), sx = PW / span, sy = PH / m.partitions;
  let x = L, html = "";
  live.forEach((b, k) => {
    const w = b.bytes * sx, h = b.partitions * sy;
    // A label only where it fits inside its rectangle (~6.6 px per monospace character).
    const label = (text, y, cls) => (w - 10 > text.length * 6.6 ? `<text${cls} x="${(x + 5).toFixed(1)}" y="${T + y}">${esc(text)}</text>` : "");
    html += `<g class="buf b${k % 6}"><rect x="${x.toFixed(1)}" y="${T}" width="${Math.max(1, w - 1).toFixed(1)}" height="${h.toFixed(1)}"/>
      ${label(b.name, 15, "")}${label(`${b.shape.join("×")} ${b.dtype}`, 28, ' class="sm"')}${label(`${fmtB(b.bytes)}/part.`, 41, ' class="sm"')}
      <title>${esc(b.name)}: memref ${esc(b.shape.join("×"))}x${esc(b.dtype)} · ${b.partitions} partitions × ${fmtB(b.bytes)} · live ops ${b.first}–${b.last}</title></g>`;
    x += w;
  });
  return `<svg class="mem-svg rects" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${space} buffers at peak">
    <rect class="frame" x="${L}" y="${T}" width="${PW}" height="${PH}"/>${html}
    <text class="ax" x="${L - 6}" y="${T + 10}" text-anchor="end">p 0</text><text class="ax" x="${L - 6}" y="${T + PH}" text-anchor="end">p ${m.partitions - 1}</text>
    <text class="ax" x="${L}" y="${H - 6}">0 B</text><text class="ax" x="${L + PW}" y="${H - 6}" text-anchor="end">${fmtB(Math.round(span))} per partition (capacity ${fmtB(m.capacity[space])})</text></svg>`;
}

function lifetimesSvg(m, W) {
  const bufs = m.buffers, n = Math.max(1, m.ops.length), L = 64, PW = W - L - 16, RH = 13;
  const H = bufs.length * RH + 22, x = (k) => L + (k / Math.max(1, n - 1)) * PW;
  const rows = bufs.map((b, k) => `<g class="life ${esc(b.space)}"><text class="ax" x="${L - 6}" y="${k * RH + 10}" text-anchor="end">${esc(b.name)}</text>
    <rect x="${x(b.first).toFixed(1)}" y="${k * RH + 2}" width="${Math.max(2, x(b.last) - x(b.first)).toFixed(1)}" height="${RH - 4}" rx="2"/>
    <title>${esc(b.name)} (${esc(b.space)}, ${fmtB(b.bytes)}/partition): ops ${b.first}–${b.last}</title></g>`).join("");
  const ev = m.events.map((e) => `<line class="evl ev-${esc(e.kind)}" x1="${x(e.at)}" x2="${x(e.at)}" y1="0" y2="${H - 20}"/>`).join("");
  return `<svg class="mem-svg lifetimes" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="buffer lifetimes">${ev}${rows}</svg>`;
}

function renderMemory(el, d) {
  const m = d && d.memory;
  if (!m) { el.innerHTML = note("No SBUF/PSUM buffers in this stage: memory appears after one-shot-bufferize (<code>memref.alloc</code> in memory space 3 = SBUF, 2 = PSUM)."); return; }
  const pct = (a, b) => (b ? ` (${((100 * a) / b).toFixed(a / b < 0.01 ? 2 : 1)}%)` : "");
  const budget = m.budget || 0, W = plotWidth(el);
  const spills = m.events.filter((e) => e.kind === "spill").length, reloads = m.events.length - spills;
  el.innerHTML = `<div class="mem-stats">
      <span class="mstat"><span class="sw sbuf"></span>SBUF peak <b>${fmtB(m.peak.sbuf)}</b> / ${fmtB(m.capacity.sbuf)} per partition${pct(m.peak.sbuf, m.capacity.sbuf)}</span>
      <span class="mstat"><span class="sw psum"></span>PSUM peak <b>${fmtB(m.peak.psum)}</b> / ${fmtB(m.capacity.psum)}</span>
      <span class="mstat">${m.buffers.length} buffers · ${m.partitions} partitions · ${esc(m.target)}</span>
      <span class="mstat ${spills ? "spilled" : ""}">${spills} spill${spills === 1 ? "" : "s"} · ${reloads} reload${reloads === 1 ? "" : "s"} · ${m.hbm_slots} HBM slot${m.hbm_slots === 1 ? "" : "s"}</span></div>
    <div class="dg-h">Pressure: live bytes per partition after each op${m.capacity.sbuf > 1.18 * Math.max(m.peak.sbuf, m.peak.psum, budget, 1)
      ? ` <span class="dg-off">(SBUF capacity ${fmtB(m.capacity.sbuf)} is off the scale)</span>` : ""}</div>${pressureSvg(m, budget, W)}
    <div class="dg-h">SBUF at its peak (op ${m.peak_at.sbuf} · ${esc(m.ops[m.peak_at.sbuf] || "")}): partitions × bytes per partition</div>${rectsSvg(m, "sbuf", W) || note("no SBUF buffers")}
    ${m.peak.psum ? `<div class="dg-h">PSUM at its peak</div>${rectsSvg(m, "psum", W)}` : ""}
    <div class="dg-h">Lifetimes (first to last use, loops included)</div>${lifetimesSvg(m, W)}`;
}

function renderGraph(el, d) {
  const g = d && d.graph;
  if (!g) { el.innerHTML = note("No graph for this stage."); return; }
  const head = `<div class="mem-stats"><span class="mstat">${g.nodes} ops · ${g.edges} values · ${g.clusters} scf.for loops</span>
    <span class="mstat legend-g"><span class="sw g-sbuf"></span>SBUF <span class="sw g-psum"></span>PSUM <span class="sw g-hbm"></span>HBM <span class="sw g-shbm"></span>shared HBM <span class="sw g-none"></span>no memory space</span></div>`;
  if (g.error || !g.svg) { el.innerHTML = head + `<div class="dg-note graph-missing" data-testid="nkx-graph-missing">${esc(g.error || "no graph")}</div>`; return; }
  // Sanitised in Python already; strip again so no data can ever bring a script in.
  const svg = g.svg.replace(/<script[\s\S]*?<\/script\s*>/gi, "").replace(/\son\w+\s*=\s*("[^"]*"|'[^']*')/gi, "");
  const fit = el.dataset.graphFit === "1";
  el.innerHTML = head.replace("</div>", `<label class="toggle graph-fit"><input type="checkbox" class="fit-graph"${fit ? " checked" : ""}> fit to width</label></div>`)
    + `<div class="graph-box${fit ? " fit" : ""}">${svg}</div>`;
  // graphviz sizes in pt; draw 1 pt as 1 px (readable; wide graphs scroll, or fit on request).
  const s = el.querySelector(".graph-box svg"), w = s && parseFloat(s.getAttribute("width") || "");
  if (w && !fit) { s.style.width = `${w}px`; s.style.height = "auto"; }
}

