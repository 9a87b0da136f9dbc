// nkigen explorer: renders `Exploration.to_json()` (nkipy_kg/explore.py). No network, no
// dependencies. Used two ways: as the anywidget ESM (the default export) and inlined in
// the self-contained HTML written by `Exploration.save_html` (which calls `mount`).
// Every string from the data goes through `esc` before it reaches innerHTML.

const CTX = 3;          // unchanged lines kept around a change before folding the rest
const FOLD_MIN = 8;     // shorter unchanged runs are never folded

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// ---- MLIR highlighting: one regex, one class per alternative ----------------------
const TOKEN = new RegExp([
  String.raw`(\/\/.*$)`,                                               // 1 comment
  String.raw`("(?:[^"\\]|\\.)*")`,                                      // 2 string
  String.raw`(%[\w.$-]+(?:#\d+)?)`,                                     // 3 SSA value
  String.raw`(\^[\w.$-]+)`,                                             // 4 block label
  String.raw`(@[\w.$-]+)`,                                              // 5 symbol
  String.raw`(#[\w.$-]+)`,                                              // 6 attribute alias
  String.raw`(\b(?:tensor|memref|vector)<[^<>]*(?:<[^<>]*>[^<>]*)*>|\b(?:bf16|f16|f32|f64|i1|i8|i16|i32|i64|index)\b)`, // 7 type
  String.raw`(\b[a-z_][\w]*\.[a-z_][\w.]*\b)`,                          // 8 op name
  String.raw`(\b(?:0x[0-9A-Fa-f]+|\d+(?:\.\d+)?(?:e[+-]?\d+)?)\b)`,      // 9 number
  String.raw`(\b(?:ins|outs|to|step|iter_args|affine_map|array|dense|true|false)\b)`, // 10 keyword
].join("|"), "g");
const TOKEN_CLASS = [null, "c", "s", "v", "b", "y", "a", "t", "o", "n", "k"];

function tokens(line) {
  const out = [];
  let last = 0;
  TOKEN.lastIndex = 0;
  for (let m; (m = TOKEN.exec(line)); ) {
    if (m[0] === "") { TOKEN.lastIndex++; continue; }
    if (m.index > last) out.push([line.slice(last, m.index), null]);
    let cls = null;
    for (let g = 1; g < TOKEN_CLASS.length; g++) if (m[g] !== undefined) { cls = TOKEN_CLASS[g]; break; }
    out.push([m[0], cls]);
    last = m.index + m[0].length;
  }
  if (last < line.length) out.push([line.slice(last), null]);
  return out;
}

// Highlighted HTML for `line`; characters inside `marks` ([lo, hi) ranges) are
// additionally marked as changed.
function highlight(line, marks = []) {
  const cuts = new Set();
  for (const [lo, hi] of marks) { cuts.add(lo); cuts.add(hi); }
  const inMark = (at) => marks.some(([lo, hi]) => at >= lo && at < hi);
  let html = "", pos = 0;
  for (const [text, cls] of tokens(line)) {
    const end = pos + text.length;
    const points = [pos, ...[...cuts].filter((c) => c > pos && c < end).sort((a, b) => a - b), end];
    for (let p = 0; p + 1 < points.length; p++) {
      const piece = text.slice(points[p] - pos, points[p + 1] - pos);
      const classes = [cls ? "h-" + cls : "", marks.length && inMark(points[p]) ? "wd" : ""].filter(Boolean).join(" ");
      html += classes ? `<span class="${classes}">${esc(piece)}</span>` : esc(piece);
    }
    pos = end;
  }
  return html;
}

// Word-level changes between two lines: token LCS, as char ranges [marksA, marksB].
// Lines that share too little get no marks (their row colour says enough).
const WORD = /%[\w$.-]+|[A-Za-z_][\w.]*|\d+|\s+|./g;
function wordMarks(a, b) {
  const ta = a.match(WORD) || [], tb = b.match(WORD) || [];
  const n = ta.length, m = tb.length;
  if (n * m > 40000) return [[], []];
  const dp = new Uint16Array((n + 1) * (m + 1));
  for (let x = n - 1; x >= 0; x--) for (let y = m - 1; y >= 0; y--) {
    dp[x * (m + 1) + y] = ta[x] === tb[y] ? dp[(x + 1) * (m + 1) + y + 1] + 1
      : Math.max(dp[(x + 1) * (m + 1) + y], dp[x * (m + 1) + y + 1]);
  }
  const keepA = new Uint8Array(n), keepB = new Uint8Array(m);
  let same = 0;
  for (let x = 0, y = 0; x < n && y < m; ) {
    if (ta[x] === tb[y]) { same += ta[x].length; keepA[x++] = 1; keepB[y++] = 1; }
    else if (dp[(x + 1) * (m + 1) + y] >= dp[x * (m + 1) + y + 1]) x++;
    else y++;
  }
  if (same < 0.35 * Math.max(a.length, b.length)) return [[], []];
  const ranges = (toks, keep) => {
    const out = [];
    let at = 0;
    toks.forEach((t, k) => {
      if (!keep[k] && t.trim()) {
        if (out.length && out[out.length - 1][1] >= at - 1) out[out.length - 1][1] = at + t.length;
        else out.push([at, at + t.length]);
      }
      at += t.length;
    });
    return out;
  };
  return [ranges(ta, keepA), ranges(tb, keepB)];
}

// ---- data access ------------------------------------------------------------------
// A stage's IR lines: stage 0 ships them; later stages ship only the lines their diff
// inserts (`ir_delta`) and are rebuilt from the stage before (memoised).
function stageLines(data, i) {
  const memo = data._lines || (data._lines = new Map());
  if (memo.has(i)) return memo.get(i);
  const st = data.stages[i], diff = data.diffs[String(i)];
  let lines = st ? st.ir_lines : [];
  if (st && diff && st.ir_delta) {
    const before = stageLines(data, i - 1);
    let chunk = 0;
    lines = [];
    for (const [tag, i1, i2, j1, j2] of diff.opcodes) {
      if (tag === "equal") { for (let k = i1; k < i2; k++) lines.push(before[k]); }
      else if (j2 > j1) { for (const l of st.ir_delta[chunk++]) lines.push(l); }
    }
  }
  memo.set(i, lines);
  return lines;
}
function stageSrc(data, i) {
  const st = data.stages[i];
  return st ? st.source_lines : [];
}
const RAN = new Set(["input", "changed", "unchanged"]);
const selectable = (st) => RAN.has(st.status) || st.status === "failed";
function fmtTime(s) {
  if (!s) return "";
  return s < 1e-3 ? `${(s * 1e6).toFixed(0)} µs` : s < 1 ? `${(s * 1e3).toFixed(1)} ms` : `${s.toFixed(2)} s`;
}
const compact = (n) => (n >= 1000 ? `${(n / 1000).toFixed(n >= 10000 ? 0 : 1)}k` : String(n));
function deltaSummary(d) {
  const vals = Object.values(d || {});
  const plus = vals.filter((v) => v > 0).reduce((a, b) => a + b, 0);
  const minus = -vals.filter((v) => v < 0).reduce((a, b) => a + b, 0);
  return [plus, minus];
}

// ---- rows of the side-by-side diff --------------------------------------------------
// Row: {k: "eq"|"chg"|"add"|"del"|"fold", l, r} with l/r line indices (or -1), fold: {n, rows}.
function diffRows(opcodes, expandAll, A, B) {
  const rows = [];
  opcodes.forEach(([tag, i1, i2, j1, j2], idx) => {
    if (tag === "equal") {
      const n = i2 - i1;
      const first = idx === 0, lastOp = idx === opcodes.length - 1;
      const head = first ? 0 : CTX, tail = lastOp ? 0 : CTX;
      if (expandAll || n < FOLD_MIN || n <= head + tail + 2) {
        for (let k = 0; k < n; k++) rows.push({ k: "eq", l: i1 + k, r: j1 + k });
        return;
      }
      for (let k = 0; k < head; k++) rows.push({ k: "eq", l: i1 + k, r: j1 + k });
      const hidden = [];
      for (let k = head; k < n - tail; k++) hidden.push({ k: "eq", l: i1 + k, r: j1 + k });
      rows.push({ k: "fold", rows: hidden });
      for (let k = n - tail; k < n; k++) rows.push({ k: "eq", l: i1 + k, r: j1 + k });
      return;
    }
    for (const [l, r] of alignBlock(A, B, i1, i2, j1, j2)) rows.push({ k: l < 0 ? "add" : r < 0 ? "del" : "chg", l, r });
  });
  return rows;
}

// Matched [i, j] pairs of a longest common subsequence of a[a0:a1] and b[b0:b1].
function lcsPairs(a, b, a0, a1, b0, b1, out) {
  const n = a1 - a0, m = b1 - b0, w = m + 1;
  const dp = new Uint16Array((n + 1) * w);
  for (let x = n - 1; x >= 0; x--) for (let y = m - 1; y >= 0; y--) {
    dp[x * w + y] = a[a0 + x] === b[b0 + y] ? dp[(x + 1) * w + y + 1] + 1 : Math.max(dp[(x + 1) * w + y], dp[x * w + y + 1]);
  }
  for (let x = 0, y = 0; x < n && y < m; ) {
    if (a[a0 + x] === b[b0 + y]) out.push([a0 + x++, b0 + y++]);
    else if (dp[(x + 1) * w + y] >= dp[x * w + y + 1]) x++;
    else y++;
  }
  return out;
}

// Pair the lines of a replaced block: lines equal up to SSA names / map numbers
// (renumbering) are matched by LCS; the lines between matches pair up by position.
const norm = (line) => line.replace(/%[\w$.-]+/g, "%").replace(/#map\d*/g, "#map").replace(/\^bb\d+/g, "^bb");
const LCS_MAX = 250000;
function alignBlock(A, B, i1, i2, j1, j2) {
  const out = [];
  const positional = (a1, a2, b1, b2) => {
    for (let k = 0; k < Math.max(a2 - a1, b2 - b1); k++) out.push([a1 + k < a2 ? a1 + k : -1, b1 + k < b2 ? b1 + k : -1]);
  };
  if (!A || i2 === i1 || j2 === j1 || (i2 - i1) * (j2 - j1) > LCS_MAX) { positional(i1, i2, j1, j2); return out; }
  const a = A.slice(i1, i2).map(norm), b = B.slice(j1, j2).map(norm);
  let gx = i1, gy = j1;
  for (const [x0, y0] of lcsPairs(a, b, 0, a.length, 0, b.length, [])) {
    const x = i1 + x0, y = j1 + y0;
    positional(gx, x, gy, y); out.push([x, y]); gx = x + 1; gy = y + 1;
  }
  positional(gx, i2, gy, j2);
  return out;
}

// Line diff of any two stages (adjacent ones come precomputed from Python): trim
// common ends, exact LCS on small regions, patience anchors (lines unique on both
// sides) on large ones. Returns difflib-style opcodes.
function lineDiff(a, b) {
  const pairs = [];
  const rec = (a0, a1, b0, b1) => {
    while (a0 < a1 && b0 < b1 && a[a0] === b[b0]) pairs.push([a0++, b0++]);
    const tail = [];
    while (a1 > a0 && b1 > b0 && a[a1 - 1] === b[b1 - 1]) tail.push([--a1, --b1]);
    if (a0 < a1 && b0 < b1) {
      if ((a1 - a0) * (b1 - b0) <= LCS_MAX) lcsPairs(a, b, a0, a1, b0, b1, pairs);
      else {
        let pa = a0, pb = b0;
        for (const [i, j] of uniqueAnchors(a, b, a0, a1, b0, b1)) { rec(pa, i, pb, j); pairs.push([i, j]); pa = i + 1; pb = j + 1; }
        if (pa > a0 || pb > b0) rec(pa, a1, pb, b1);
      }
    }
    for (let k = tail.length - 1; k >= 0; k--) pairs.push(tail[k]);
  };
  rec(0, a.length, 0, b.length);
  const ops = [];
  let i = 0, j = 0;
  const gap = (i2, j2) => {
    if (i < i2 || j < j2) ops.push([i < i2 && j < j2 ? "replace" : i < i2 ? "delete" : "insert", i, i2, j, j2]);
  };
  for (const [pi, pj] of pairs) {
    gap(pi, pj);
    const last = ops[ops.length - 1];
    if (last && last[0] === "equal" && last[2] === pi && last[4] === pj) { last[2]++; last[4]++; }
    else ops.push(["equal", pi, pi + 1, pj, pj + 1]);
    i = pi + 1; j = pj + 1;
  }
  gap(a.length, b.length);
  return ops;
}

// Lines occurring once in a[a0:a1] and once in b[b0:b1], longest increasing run (patience).
function uniqueAnchors(a, b, a0, a1, b0, b1) {
  const count = new Map();
  for (let i = a0; i < a1; i++) { const c = count.get(a[i]) || [0, 0, -1, -1]; c[0]++; c[2] = i; count.set(a[i], c); }
  for (let j = b0; j < b1; j++) { const c = count.get(b[j]); if (c) { c[1]++; c[3] = j; } }
  const cand = [];
  for (const [, c] of count) if (c[0] === 1 && c[1] === 1) cand.push([c[2], c[3]]);
  cand.sort((x, y) => x[0] - y[0]);
  const tails = [], prevOf = new Array(cand.length);
  cand.forEach(([, j], k) => {
    let lo = 0, hi = tails.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cand[tails[mid]][1] < j) lo = mid + 1; else hi = mid; }
    prevOf[k] = lo > 0 ? tails[lo - 1] : -1;
    tails[lo] = k;
  });
  const out = [];
  for (let k = tails.length ? tails[tails.length - 1] : -1; k >= 0; k = prevOf[k]) out.push(cand[k]);
  return out.reverse();
}

function cell(lines, src, i, marks = []) {
  if (i < 0) return `<span class="ln"></span><span class="sg"></span><span class="code empty"></span>`;
  const sl = src[i];
  const sg = sl ? `<span class="sg" title="source line ${sl}">${sl}</span>` : `<span class="sg"></span>`;
  return `<span class="ln">${i + 1}</span>${sg}<span class="code"${sl ? ` data-src="${sl}"` : ""}>${highlight(lines[i], marks)}</span>`;
}

function rowHtml(row, A, B, idx) {
  if (row.k === "fold") {
    return `<div class="row fold" data-fold="${idx}"><span>⋯ ${row.rows.length} unchanged lines</span><span class="fold-hint">click to expand</span></div>`;
  }
  const srcL = row.l >= 0 ? A.src[row.l] : 0, srcR = row.r >= 0 ? B.src[row.r] : 0;
  const [ml, mr] = row.k === "chg" ? wordMarks(A.lines[row.l], B.lines[row.r]) : [[], []];
  const left = cell(A.lines, A.src, row.l, ml);
  const right = cell(B.lines, B.src, row.r, mr);
  return `<div class="row k-${row.k}" data-sl="${srcL || ""}" data-sr="${srcR || ""}"><div class="side l">${left}</div><div class="side r">${right}</div></div>`;
}

// Scroll `el` into view inside `box` only: never scroll the page (or the notebook) around it.
function scrollWithin(box, el, center) {
  const b = box.getBoundingClientRect(), r = el.getBoundingClientRect();
  if (center) { box.scrollTop += r.top - b.top - (b.height - r.height) / 2; return; }
  if (r.top < b.top) box.scrollTop -= b.top - r.top;
  else if (r.bottom > b.bottom) box.scrollTop += r.bottom - b.bottom;
}


// ---- diagrams: tiles, memory, graph (data from nkipy_kg/explore_diagrams.py) --------
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
    ${part}</svg>`;
}

function tileCard(e, k) {
  const shape = e.shape.length ? e.shape : [1], tile = e.tile && e.tile.length ? e.tile : shape;
  const grid = shape.map((d, j) => Math.max(1, Math.ceil(d / (tile[j] || d))));
  const what = e.kind === "layout" ? `layout${e.mem_space ? " · " + esc(e.mem_space) : ""}` : e.kind === "tile_op" ? "tile_op (loop tiles)" : "tiled loop nest";
  const loops = e.loops ? `<div class="dg-sub">${e.loops.map((l) => `for ${l.lb ?? "?"}..${l.ub ?? "?"} step ${l.step ?? "?"} → ${l.trips ?? "?"} trips`).join("<br>")}</div>` : "";
  return `<div class="tcard k-${esc(e.kind)}" data-k="${k}"${e.line ? ` data-line="${e.line}"` : ""}>
    <div class="tc-head"><span class="tc-val">${esc(e.value || "")}</span> <span class="tc-op">${esc(e.op)}</span><span class="chip">${what}</span></div>
    ${tileSvg(e)}
    <div class="dg-sub">tile <b>${esc(tile.join("×"))}</b>${e.requested ? ` (tile_op ${esc(e.requested.join("×"))})` : ""} · grid <b>${esc(grid.join("×"))}</b>${e.partition_dim !== null && e.partition_dim !== undefined ? ` · partition dim <b>${e.partition_dim}</b>` : ""}</div>${loops}</div>`;
}

function renderTiles(el, d, pick) {
  const tiles = (d && d.tiles) || [];
  if (!tiles.length) { el.innerHTML = note("No tiling decisions in this stage yet: <code>nkipy.layout</code>/<code>nkipy.tile_op</code> appear after infer-layout, scf.for tile loops after knob-driven-tiling."); return; }
  const opts = tiles.map((e, k) => `<option value="${k}"${k === pick ? " selected" : ""}>${esc(e.value || "")} ${esc(e.op)} · ${esc(e.kind)}</option>`).join("");
  const groups = [["layout and tile_op annotations (infer-layout)", tiles.map((e, k) => [e, k]).filter(([e]) => e.kind !== "loop")],
    ["after tiling (scf.for loops)", tiles.map((e, k) => [e, k]).filter(([e]) => e.kind === "loop")]];
  const body = groups.filter(([, g]) => g.length).map(([title, g]) =>
    `<div class="dg-h">${title}</div><div class="tcards">${g.filter(([, k]) => pick < 0 || k === pick).map(([e, k]) => tileCard(e, k)).join("")}</div>`).join("");
  el.innerHTML = `<div class="dg-tools"><label>tensor / op <select class="tile-pick" aria-label="Tensor or op"><option value="-1">all (${tiles.length})</option>${opts}</select></label></div>${body}`;
}

function budgetOf(data) {
  for (const s of data.stages) { const m = /sbuf-capacity=(\d+)/.exec(s.options || ""); if (m) return Number(m[1]); }
  return 0;
}

function pressureSvg(m, budget) {
  const n = Math.max(1, m.ops.length), W = 860, H = 190, L = 64, T = 14, PW = W - L - 16, PH = H - T - 30;
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
function rectsSvg(m, space) {
  const at = m.peak_at[space], live = m.buffers.filter((b) => b.space === space && b.first <= at && at <= b.last);
  if (!live.length) return "";
  const used = live.reduce((a, b) => a + b.bytes, 0), W = 860, L = 64, PW = W - L - 16, H = 150, T = 8, PH = H - T - 26;
  const span = Math.max(used * 1.15, 1), sx = PW / span, sy = PH / m.partitions;
  let x = L, html = "";
  live.forEach((b, k) => {
    const w = b.bytes * sx, h = b.partitions * sy;
    html += `<g class="buf b${k % 6}"><rect x="${x.toFixed(1)}" y="${T}" width="${Math.max(1, w - 1).toFixed(1)}" height="${h.toFixed(1)}"/>
      ${w > 60 ? `<text x="${(x + 5).toFixed(1)}" y="${T + 15}">${esc(b.name)}</text><text class="sm" x="${(x + 5).toFixed(1)}" y="${T + 28}">${esc(b.shape.join("×"))} ${esc(b.dtype)}</text><text class="sm" x="${(x + 5).toFixed(1)}" y="${T + 41}">${fmtB(b.bytes)}/part.</text>` : ""}
      <title>${esc(b.name)}: memref ${esc(b.shape.join("×"))}x${esc(b.dtype)} · ${b.partitions} partitions × ${fmtB(b.bytes)} · live ops ${b.first}–${b.last}</title></g>`;
    x += w;
  });
  return `<svg class="mem-svg rects" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${space} buffers at peak">
    <rect class="frame" x="${L}" y="${T}" width="${PW}" height="${PH}"/>${html}
    <text class="ax" x="${L - 6}" y="${T + 10}" text-anchor="end">p 0</text><text class="ax" x="${L - 6}" y="${T + PH}" text-anchor="end">p ${m.partitions - 1}</text>
    <text class="ax" x="${L}" y="${H - 6}">0 B</text><text class="ax" x="${L + PW}" y="${H - 6}" text-anchor="end">${fmtB(Math.round(span))} per partition (capacity ${fmtB(m.capacity[space])})</text></svg>`;
}

function lifetimesSvg(m) {
  const bufs = m.buffers, n = Math.max(1, m.ops.length), W = 860, L = 64, PW = W - L - 16, RH = 13;
  const H = bufs.length * RH + 22, x = (k) => L + (k / Math.max(1, n - 1)) * PW;
  const rows = bufs.map((b, k) => `<g class="life ${esc(b.space)}"><text class="ax" x="${L - 6}" y="${k * RH + 10}" text-anchor="end">${esc(b.name)}</text>
    <rect x="${x(b.first).toFixed(1)}" y="${k * RH + 2}" width="${Math.max(2, x(b.last) - x(b.first)).toFixed(1)}" height="${RH - 4}" rx="2"/>
    <title>${esc(b.name)} (${esc(b.space)}, ${fmtB(b.bytes)}/partition): ops ${b.first}–${b.last}</title></g>`).join("");
  const ev = m.events.map((e) => `<line class="evl ev-${esc(e.kind)}" x1="${x(e.at)}" x2="${x(e.at)}" y1="0" y2="${H - 20}"/>`).join("");
  return `<svg class="mem-svg lifetimes" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="buffer lifetimes">${ev}${rows}</svg>`;
}

function renderMemory(el, d, data) {
  const m = d && d.memory;
  if (!m) { el.innerHTML = note("No SBUF/PSUM buffers in this stage: memory appears after one-shot-bufferize (<code>memref.alloc</code> in memory space 3 = SBUF, 2 = PSUM)."); return; }
  const pct = (a, b) => (b ? ` (${((100 * a) / b).toFixed(a / b < 0.01 ? 2 : 1)}%)` : "");
  const budget = budgetOf(data);
  const spills = m.events.filter((e) => e.kind === "spill").length, reloads = m.events.length - spills;
  el.innerHTML = `<div class="mem-stats">
      <span class="mstat"><span class="sw sbuf"></span>SBUF peak <b>${fmtB(m.peak.sbuf)}</b> / ${fmtB(m.capacity.sbuf)} per partition${pct(m.peak.sbuf, m.capacity.sbuf)}</span>
      <span class="mstat"><span class="sw psum"></span>PSUM peak <b>${fmtB(m.peak.psum)}</b> / ${fmtB(m.capacity.psum)}</span>
      <span class="mstat">${m.buffers.length} buffers · ${m.partitions} partitions · ${esc(m.target)}</span>
      <span class="mstat ${spills ? "spilled" : ""}">${spills} spill${spills === 1 ? "" : "s"} · ${reloads} reload${reloads === 1 ? "" : "s"} · ${m.hbm_slots} HBM slot${m.hbm_slots === 1 ? "" : "s"}</span></div>
    <div class="dg-h">Pressure: live bytes per partition after each op</div>${pressureSvg(m, budget)}
    <div class="dg-h">SBUF at its peak (op ${m.peak_at.sbuf} · ${esc(m.ops[m.peak_at.sbuf] || "")}): partitions × bytes per partition</div>${rectsSvg(m, "sbuf") || note("no SBUF buffers")}
    ${m.peak.psum ? `<div class="dg-h">PSUM at its peak</div>${rectsSvg(m, "psum")}` : ""}
    <div class="dg-h">Lifetimes (first to last use, loops included)</div>${lifetimesSvg(m)}`;
}

function renderGraph(el, d) {
  const g = d && d.graph;
  if (!g) { el.innerHTML = note("No graph for this stage."); return; }
  const head = `<div class="mem-stats"><span class="mstat">${g.nodes} ops · ${g.edges} values · ${g.clusters} scf.for loops</span>
    <span class="mstat legend-g"><span class="sw g-sbuf"></span>SBUF <span class="sw g-psum"></span>PSUM <span class="sw g-hbm"></span>HBM <span class="sw g-shbm"></span>shared HBM <span class="sw g-none"></span>no memory space</span></div>`;
  if (g.error || !g.svg) { el.innerHTML = head + `<div class="dg-note graph-missing" data-testid="nkx-graph-missing">${esc(g.error || "no graph")}</div>`; return; }
  // Sanitised in Python already; strip again so no data can ever bring a script in.
  const svg = g.svg.replace(/<script[\s\S]*?<\/script\s*>/gi, "").replace(/\son\w+\s*=\s*("[^"]*"|'[^']*')/gi, "");
  el.innerHTML = head + `<div class="graph-box">${svg}</div>`;
  // graphviz sizes in pt; draw 1 pt as 1 px (readable, and 3/4 of the scroll area).
  const s = el.querySelector(".graph-box svg"), w = s && parseFloat(s.getAttribute("width") || "");
  if (w) { s.style.width = `${w}px`; s.style.height = "auto"; }
}

// ---- the app ----------------------------------------------------------------------
export function mount(root, data, opts = {}) {
  // Compare mode (`%%nkigen --compare B`): data = {mode: "compare", a, b}; the explorer
  // shows kernel a, and "compare with" defaults to the same stage of kernel b.
  if (data.mode === "compare") { opts = { ...opts, other: data.b }; data = data.a; }
  const other = opts.other || null;
  const st = { view: "ir", tilePick: -1, sel: 0, base: other ? -2 : -1, diffCache: new Map(), gen: 0, hideUnchanged: false, filter: "", search: "", hit: -1, pinned: 0 };
  const total = data.stages.reduce((a, s) => a + (s.seconds || 0), 0);
  const ran = data.stages.filter((s) => RAN.has(s.status));
  const nChanged = data.stages.filter((s) => s.status === "changed").length;
  root.classList.add("nkx");
  root.tabIndex = 0;
  // JupyterLab binds j/k/arrows in command mode; keys typed in the explorer are ours.
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  root.innerHTML = `
    <header class="bar">
      <div class="title"><span class="logo">nkigen</span><span class="kname">${esc(data.kernel)}</span>${other ? `<span class="vs">vs</span><span class="kname kname-b">${esc(other.kernel)}</span>` : ""}
        <span class="chip">${esc(data.target)}</span></div>
      <div class="stats">${ran.length - 1}/${data.stages.length - 1} passes ran · ${nChanged} changed IR · ${esc(fmtTime(total))}
        ${data.error ? `<span class="chip bad">failed in ${esc(data.error.pass_name)}</span>` : ""}</div>
    </header>
    <div class="body">
      <nav class="passes">
        <div class="pass-tools">
          <input class="filter" type="search" placeholder="Filter passes" aria-label="Filter passes">
          <label class="toggle"><input type="checkbox" class="hide-unchanged"> hide unchanged</label>
        </div>
        <div class="plist" role="listbox" aria-label="Passes"></div>
        <div class="keys"><div class="legend"><span class="st-changed"><span class="dot"></span>changed</span>
          <span class="st-unchanged"><span class="dot"></span>unchanged</span><span class="st-failed"><span class="dot"></span>failed</span>
          <span class="st-not-run"><span class="dot"></span>not run</span></div>
          <kbd>↑</kbd><kbd>↓</kbd> / <kbd>j</kbd><kbd>k</kbd> step · <kbd>/</kbd> search IR · <kbd>1</kbd>–<kbd>5</kbd> views · click a line to link IR ↔ Python</div>
      </nav>
      <main class="view">
        <div class="stage-head"></div>
        <div class="tabs" role="tablist" aria-label="Views">
          <button type="button" role="tab" class="tab" data-view="ir">IR diff</button><button type="button" role="tab" class="tab" data-view="tiles">Tiles</button><button type="button" role="tab" class="tab" data-view="memory">Memory</button><button type="button" role="tab" class="tab" data-view="graph">Graph</button><button type="button" role="tab" class="tab" data-view="run">Run${data.run ? "" : " ·"}</button>
          <span class="tab-note"></span>
        </div>
        <div class="ir-tools">
          <input class="search" type="search" placeholder="Search IR (Enter: next)" aria-label="Search IR">
          <span class="hits"></span>
          <label class="base-l">compare with <select class="base" aria-label="Compare with"></select></label>
        </div>
        <div class="cols"><span class="col-l"></span><span class="col-r"></span></div>
        <div class="diff" data-testid="nkx-diff"></div>
        <div class="diagram" data-testid="nkx-diagram" hidden></div>
      </main>
      <aside class="source">
        <div class="src-head"></div>
        <div class="src-body"></div>
      </aside>
    </div>`;
  const $ = (s) => root.querySelector(s);
  // Narrow hosts (notebook outputs) get a tighter grid; a ResizeObserver keeps it right.
  const fit = () => root.classList.toggle("nkx-narrow", root.clientWidth > 0 && root.clientWidth < 1300);
  const resize = typeof ResizeObserver === "function" ? new ResizeObserver(fit) : null;
  if (resize) resize.observe(root);
  fit();
  const plist = $(".plist"), diff = $(".diff"), head = $(".stage-head"), srcBody = $(".src-body");

  // Python source panel (static; highlighting follows the selected stage).
  const src = data.source;
  if (src) {
    const file = src.label || src.file.split("/").pop();
    $(".src-head").innerHTML = `<span class="lbl">Python</span> <span class="file" title="${esc(src.file)}">${esc(file)}</span>`;
    srcBody.innerHTML = src.lines.map((t, k) =>
      `<div class="sl" data-line="${src.first_line + k}"><span class="ln">${src.first_line + k}</span><span class="code">${esc(t) || " "}</span></div>`).join("");
  } else {
    $(".src-head").innerHTML = `<span class="lbl">Python</span>`;
    srcBody.innerHTML = `<div class="none">No Python source: the input was MLIR.</div>`;
  }

  function visible(s) {
    if (st.hideUnchanged && s.status !== "changed" && s.status !== "failed" && s.status !== "input") return false;
    return !st.filter || s.name.toLowerCase().includes(st.filter);
  }

  function renderList() {
    let html = "", phase = null;
    data.stages.forEach((s, i) => {
      if (!visible(s)) return;
      if (s.phase !== phase) { phase = s.phase; html += `<div class="phase">${esc(phase)}</div>`; }
      const [plus, minus] = deltaSummary(s.op_deltas);
      let delta = (plus ? `<span class="plus">+${compact(plus)}</span>` : "") + (minus ? `<span class="minus">−${compact(minus)}</span>` : "");
      if (other && other.stages[i]) {
        // Compare mode: the other kernel's op-count delta of the same pass, after a bar.
        // "=" when both kernels' pass changed the op counts the same way.
        const [bp, bm] = deltaSummary(other.stages[i].op_deltas);
        const same = JSON.stringify(s.op_deltas || {}) === JSON.stringify(other.stages[i].op_deltas || {});
        delta += `<span class="db${same ? " same" : ""}" title="${esc(other.kernel)}">│${same ? "=" : (bp ? `<span class="plus">+${compact(bp)}</span>` : "") + (bm ? `<span class="minus">−${compact(bm)}</span>` : "") + (bp || bm ? "" : "0")}</span>`;
      }
      const title = s.status === "not-registered" ? "pass not implemented yet" : s.status === "not-run" ? "not run" : s.status;
      html += `<div class="p st-${esc(s.status)}${i === st.sel ? " sel" : ""}" data-i="${i}" role="option" title="${esc(s.name)} · ${esc(title)}${s.summary ? " — " + esc(s.summary) : ""}"
        aria-selected="${i === st.sel}"><span class="dot"></span><span class="idx">${i}</span><span class="name">${esc(s.name)}</span>
        <span class="delta">${delta}</span><span class="time">${esc(fmtTime(s.seconds))}</span></div>`;
    });
    plist.innerHTML = html || `<div class="none">No pass matches.</div>`;
    const cur = plist.querySelector(".p.sel");
    if (cur) scrollWithin(plist, cur, false);
  }

  function renderHead(s) {
    const [plus, minus] = deltaSummary(s.op_deltas);
    const d = data.diffs[String(s.index)];
    // Largest changes first; beyond MAX_CHIPS a "+k more" chip expands the rest.
    const MAX_CHIPS = 6;
    const entries = Object.entries(s.op_deltas || {}).sort((x, y) => Math.abs(y[1]) - Math.abs(x[1]) || (x[0] < y[0] ? -1 : 1));
    const chips = entries.map(([op, n], k) =>
      `<span class="opd ${n > 0 ? "plus" : "minus"}${k >= MAX_CHIPS ? " extra" : ""}">${n > 0 ? "+" : "−"}${Math.abs(n)} ${esc(op)}</span>`).join("") +
      (entries.length > MAX_CHIPS ? `<button type="button" class="opd more">+${entries.length - MAX_CHIPS} more</button>` : "");
    const lines = d ? `<span class="plus">+${d.added}</span> <span class="minus">−${d.removed}</span> lines` : "";
    const repro = s.repro ? `<div class="repro"><span class="lbl">reproduce</span><code>${esc(s.repro)}</code><button class="copy" type="button">copy</button></div>` : "";
    const err = s.status === "failed" && data.error ? `<pre class="error" data-testid="nkx-error">${esc(data.error.rendered)}</pre>` : "";
    head.innerHTML = `<div class="sh-top"><span class="sh-idx">${s.index}</span><span class="sh-name">${esc(s.name)}</span>
      ${s.options ? `<span class="chip">${esc(s.options)}</span>` : ""}<span class="chip phase-chip">${esc(s.phase)}</span>
      <span class="status st-${esc(s.status)}">${esc(s.status)}</span><span class="sh-lines">${lines}</span>
      <span class="sh-time">${esc(fmtTime(s.seconds))}</span></div>
      ${s.summary && s.index ? `<div class="summary">${esc(s.summary)}</div>` : ""}
      ${chips ? `<div class="opds">${other ? `<span class="opd-k">${esc(data.kernel)}</span>` : ""}${chips}</div>` : ""}${other ? otherChips(s.index) : ""}${err}${repro}`;
    void plus; void minus;
  }

  // Compare mode: the other kernel's op-count deltas for the same pass.
  function otherChips(i) {
    const o = other.stages[i];
    if (!o) return "";
    const entries = Object.entries(o.op_deltas || {}).sort((x, y) => Math.abs(y[1]) - Math.abs(x[1]) || (x[0] < y[0] ? -1 : 1));
    const chips = entries.slice(0, 8).map(([op, n]) => `<span class="opd ${n > 0 ? "plus" : "minus"}">${n > 0 ? "+" : "−"}${Math.abs(n)} ${esc(op)}</span>`).join("");
    return `<div class="opds opds-b" data-testid="nkx-other-deltas"><span class="opd-k">${esc(other.kernel)}</span><span class="status st-${esc(o.status)}">${esc(o.status)}</span>${chips || `<span class="dg-sub">no op-count change</span>`}${entries.length > 8 ? ` <span class="dg-sub">+${entries.length - 8} more</span>` : ""}</div>`;
  }

  // Rows are rendered in blocks: the first FIRST rows at once, the rest in CHUNK-row
  // blocks on later ticks. Blocks use `content-visibility: auto`, so off-screen IR costs
  // no layout; a pass switch costs the first block only, whatever the IR size.
  const FIRST = 250, CHUNK = 1500;
  function renderDiff() {
    const t0 = performance.now();
    const gen = ++st.gen;
    const s = data.stages[st.sel];
    // Compare mode: left is this kernel's stage, right the same stage of the other kernel.
    const os = other ? other.stages[st.sel] : null;
    const cmp = Boolean(other && st.base === -2 && RAN.has(s.status) && os && RAN.has(os.status));
    let B = { lines: stageLines(data, st.sel), src: stageSrc(data, st.sel) };
    const chosen = !cmp && st.base >= 0 && st.base !== st.sel && RAN.has(s.status) && RAN.has(data.stages[st.base].status);
    const prev = cmp ? st.sel : chosen ? st.base : st.sel > 0 ? st.sel - 1 : -1;
    let A = prev >= 0 ? { lines: stageLines(data, prev), src: stageSrc(data, prev) } : null;
    if (cmp) { A = B; B = { lines: stageLines(other, st.sel), src: stageSrc(other, st.sel) }; }
    const unchanged = !chosen && !cmp && s.status === "unchanged";
    const single = !cmp && (!A || (!chosen && s.status === "input") || s.status === "failed" || unchanged);
    let n, rowAt, prefix = other && st.base === -2 && !cmp
      ? `<div class="nochange cmp-missing">${esc(other.kernel)} has no IR for stage ${s.index} (${esc(os ? os.status : "missing")}): showing ${esc(data.kernel)} alone.</div>` : "";
    if (single) {
      const V = s.status === "failed" ? A : B;
      $(".col-l").textContent = "";
      $(".col-r").textContent = s.status === "failed" ? `IR before ${s.name} (input of the failed pass)`
        : unchanged ? `IR after ${s.index} ${s.name} (same as before it)` : "traced IR";
      if (unchanged) prefix += `<div class="nochange">This pass did not change the IR.</div>`;
      n = V.lines.length;
      rowAt = (k) => `<div class="row k-eq one" data-sr="${V.src[k] || ""}"><div class="side r">${cell(V.lines, V.src, k)}</div></div>`;
    } else {
      const opcodes = cmp ? cachedDiff("b", st.sel, A.lines, B.lines)
        : chosen ? cachedDiff(prev, st.sel, A.lines, B.lines) : data.diffs[String(s.index)].opcodes;
      $(".col-l").textContent = cmp ? `${data.kernel} · stage ${s.index} ${s.name}` : `${chosen ? "stage" : "before"} · ${prev} ${data.stages[prev].name}`;
      $(".col-r").textContent = cmp ? `${other.kernel} · stage ${s.index} ${os.name}` : `${chosen ? "stage" : "after"} · ${s.index} ${s.name}`;
      const rows = diffRows(opcodes, st.search !== "", A.lines, B.lines);
      st.rows = rows; st.A = A; st.B = B;
      n = rows.length;
      rowAt = (k) => rowHtml(rows[k], A, B, k);
      if (chosen || cmp) {
        const [add, del] = opcodes.reduce(([x, y], [t, i1, i2, j1, j2]) => t === "equal" ? [x, y] : [x + j2 - j1, y + i2 - i1], [0, 0]);
        const what = cmp ? `Comparing stage ${s.index} of ${esc(data.kernel)} with stage ${s.index} of ${esc(other.kernel)}`
          : `Comparing stage ${prev} with stage ${s.index}`;
        prefix = `<div class="nochange${cmp ? " cmp" : ""}" data-testid="nkx-compare">${what}: <span class="plus">+${add}</span> <span class="minus">−${del}</span> lines${add + del ? "" : " (identical IR)"}</div>`;
      }
    }
    diff.classList.toggle("single", single);
    $(".cols").classList.toggle("single", single);
    diff.innerHTML = prefix;
    diff.scrollTop = 0;
    root.dataset.rendered = "partial";
    let k = 0;
    const block = (size) => {
      const end = Math.min(n, k + size);
      let html = "";
      for (; k < end; k++) html += rowAt(k);
      diff.insertAdjacentHTML("beforeend", `<div class="blk" style="contain-intrinsic-size:auto ${size * 19}px">${html}</div>`);
    };
    const finish = () => {
      applySearch(false);
      applyPin();
      root.dataset.rendered = "full";
      root.dataset.fullMs = (performance.now() - t0).toFixed(1);
    };
    const more = () => {
      if (gen !== st.gen) return;          // another stage was selected meanwhile
      if (k >= n) { finish(); return; }
      block(CHUNK);
      setTimeout(more, 0);
    };
    block(FIRST);
    root.dataset.renderMs = (performance.now() - t0).toFixed(1);
    if (k >= n) finish(); else setTimeout(more, 0);
  }

  function cachedDiff(i, j, a, b) {
    const key = `${i}:${j}`;
    if (!st.diffCache.has(key)) st.diffCache.set(key, lineDiff(a, b));
    return st.diffCache.get(key);
  }

  function renderBase() {
    const sel = $(".base");
    let html = `<option value="-1">previous stage</option>` +
      (other ? `<option value="-2"${st.base === -2 ? " selected" : ""}>same stage of ${esc(other.kernel)}</option>` : "");
    data.stages.forEach((s, i) => {
      if (RAN.has(s.status) && i !== st.sel) html += `<option value="${i}"${i === st.base ? " selected" : ""}>${i} · ${esc(s.name)}</option>`;
    });
    sel.innerHTML = html;
    if (st.base === -2 && other) sel.value = "-2";
    else if (st.base < 0 || st.base === st.sel) sel.value = "-1";
  }

  function expandFold(el) {
    const idx = Number(el.dataset.fold);
    el.outerHTML = st.rows[idx].rows.map((x) => rowHtml(x, st.A, st.B, idx)).join("");
    applyPin();
  }

  // The IR diff or one of the diagrams; the pass list and the keys work the same in all.
  function renderView() {
    const ir = st.view === "ir", el = $(".diagram");
    root.querySelectorAll(".tab").forEach((t) => { const on = t.dataset.view === st.view; t.classList.toggle("on", on); t.setAttribute("aria-selected", String(on)); });
    ["ir-tools", "cols", "diff"].forEach((c) => { $("." + c).hidden = !ir; });
    el.hidden = ir;
    root.dataset.view = st.view;
    if (ir) { $(".tab-note").textContent = ""; return; }
    if (st.view === "run") {
      $(".tab-note").textContent = "";
      renderRun(el, data, other, st.sel);
      applyPin();
      return;
    }
    const [from, d] = diagramsFor(data, st.sel);
    $(".tab-note").textContent = from >= 0 && from !== st.sel ? `IR unchanged since stage ${from}: showing its diagrams` : "";
    if (st.view === "tiles") renderTiles(el, d, st.tilePick);
    else if (st.view === "memory") renderMemory(el, d, data);
    else renderGraph(el, d);
    if (d && d.error) el.insertAdjacentHTML("afterbegin", note(esc(d.error)));
  }
  function setView(v) { st.view = v; st.tilePick = -1; renderView(); }

  function select(i, fromUser = true) {
    if (i < 0 || i >= data.stages.length || !selectable(data.stages[i])) return;
    st.sel = i; st.hit = -1; st.tilePick = -1;
    renderList(); renderHead(data.stages[i]); renderBase(); renderDiff(); renderView();
    root.dataset.stage = String(i);
    if (fromUser && opts.onSelect) opts.onSelect(i);
  }

  function step(dir) {
    for (let i = st.sel + dir; i >= 0 && i < data.stages.length; i += dir) {
      const s = data.stages[i];
      if (selectable(s) && visible(s)) { select(i); return; }
    }
  }

  // Search: mark rows containing the text, mark the text itself, Enter jumps.
  function applySearch(jump) {
    const q = st.search;
    diff.querySelectorAll(".row.hit").forEach((r) => r.classList.remove("hit", "cur"));
    diff.querySelectorAll("mark.q").forEach((m) => m.replaceWith(m.textContent));
    if (!q) { $(".hits").textContent = ""; return; }
    const hits = [];
    diff.querySelectorAll(".row:not(.fold)").forEach((r) => {
      let found = false;
      r.querySelectorAll(".code").forEach((c) => {
        if (!c.textContent.includes(q)) return;
        found = true;
        markText(c, q);
      });
      if (found) { r.classList.add("hit"); hits.push(r); }
    });
    $(".hits").textContent = hits.length ? `${Math.min(st.hit + 1, hits.length) || 0}/${hits.length} lines` : "no match";
    if (!jump || !hits.length) return;
    st.hit = (st.hit + 1) % hits.length;
    hits[st.hit].classList.add("cur");
    scrollWithin(diff, hits[st.hit], true);
    $(".hits").textContent = `${st.hit + 1}/${hits.length} lines`;
  }

  function markText(el, q) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    const nodes = [];
    for (let n; (n = walker.nextNode()); ) if (n.nodeValue.includes(q)) nodes.push(n);
    for (const n of nodes) {
      const parts = n.nodeValue.split(q);
      const frag = document.createDocumentFragment();
      parts.forEach((p, k) => {
        if (p) frag.appendChild(document.createTextNode(p));
        if (k < parts.length - 1) { const m = document.createElement("mark"); m.className = "q"; m.textContent = q; frag.appendChild(m); }
      });
      n.replaceWith(frag);
    }
  }

  // Source <-> IR linking.
  function litSource(line, cls) {
    srcBody.querySelectorAll(`.sl.${cls}`).forEach((e) => e.classList.remove(cls));
    if (!line) return null;
    const el = srcBody.querySelector(`.sl[data-line="${line}"]`);
    if (el) el.classList.add(cls);
    return el;
  }
  function litIR(line, cls) {
    diff.querySelectorAll(`.code.${cls}`).forEach((e) => e.classList.remove(cls));
    if (!line) return [];
    const els = [...diff.querySelectorAll(`.code[data-src="${line}"]`)];
    els.forEach((e) => e.classList.add(cls));
    return els;
  }
  function applyPin() {
    const s = data.stages[st.sel], err = data.error;
    srcBody.querySelectorAll(".sl.err").forEach((e) => e.classList.remove("err"));
    if (s.status === "failed" && err && err.line && src && err.file === src.file) {
      const el = srcBody.querySelector(`.sl[data-line="${err.line}"]`);
      if (el) { el.classList.add("err"); el.title = err.message; scrollWithin(srcBody, el, true); }
    }
    const mapped = new Set([...diff.querySelectorAll(".code[data-src]")].map((e) => e.dataset.src));
    srcBody.querySelectorAll(".sl").forEach((e) => e.classList.toggle("mapped", mapped.has(e.dataset.line)));
    litSource(st.pinned, "pin");
    litIR(st.pinned, "pin");
  }
  function pin(line, scrollIR, scrollSrc) {
    st.pinned = st.pinned === line ? 0 : line;
    const s = litSource(st.pinned, "pin");
    const irs = litIR(st.pinned, "pin");
    if (scrollSrc && s) scrollWithin(srcBody, s, false);
    if (scrollIR && irs.length) scrollWithin(diff, irs[0], true);
  }

  // ---- events ----
  $(".tabs").addEventListener("click", (e) => { const t = e.target.closest(".tab"); if (t) setView(t.dataset.view); });
  $(".diagram").addEventListener("click", (e) => {
    const dl = e.target.closest("[data-download]");
    if (dl) { runDownload(root, data, dl.dataset.download, Number($(".dl-stage") ? $(".dl-stage").value : st.sel)); return; }
    const box = e.target.closest(".gb[data-line]");
    if (box) pin(Number(box.dataset.line), false, true);
  });
  $(".diagram").addEventListener("change", (e) => {
    if (e.target.closest(".tile-pick")) { st.tilePick = Number(e.target.value); renderView(); }
  });
  plist.addEventListener("click", (e) => {
    const p = e.target.closest(".p");
    if (p) select(Number(p.dataset.i));
  });
  $(".base").addEventListener("change", (e) => { st.base = Number(e.target.value); renderDiff(); });
  $(".filter").addEventListener("input", (e) => { st.filter = e.target.value.trim().toLowerCase(); renderList(); });
  $(".hide-unchanged").addEventListener("change", (e) => { st.hideUnchanged = e.target.checked; renderList(); });
  let searchTimer = 0;
  $(".search").addEventListener("input", (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { st.search = e.target.value; st.hit = -1; renderDiff(); }, 120);
  });
  $(".search").addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); applySearch(true); }
    if (e.key === "Escape") { e.target.value = ""; st.search = ""; renderDiff(); root.focus(); }
  });
  diff.addEventListener("click", (e) => {
    const fold = e.target.closest(".row.fold");
    if (fold) { expandFold(fold); return; }
    const code = e.target.closest(".code[data-src]");
    if (code) pin(Number(code.dataset.src), false, true);
  });
  diff.addEventListener("mouseover", (e) => {
    const code = e.target.closest(".code[data-src]");
    litSource(code ? Number(code.dataset.src) : 0, "lit");
  });
  diff.addEventListener("mouseleave", () => litSource(0, "lit"));
  srcBody.addEventListener("click", (e) => {
    const l = e.target.closest(".sl");
    if (l) pin(Number(l.dataset.line), true, false);
  });
  srcBody.addEventListener("mouseover", (e) => {
    const l = e.target.closest(".sl");
    litIR(l ? Number(l.dataset.line) : 0, "lit");
  });
  srcBody.addEventListener("mouseleave", () => litIR(0, "lit"));
  head.addEventListener("click", (e) => {
    if (e.target.closest(".more")) { head.querySelector(".opds").classList.add("open"); e.target.remove(); return; }
    if (!e.target.closest(".copy")) return;
    const code = head.querySelector(".repro code").textContent;
    if (navigator.clipboard) navigator.clipboard.writeText(code).catch(() => {});
    e.target.textContent = "copied";
    setTimeout(() => { e.target.textContent = "copy"; }, 1200);
  });
  const onKey = (e) => {
    const typing = e.target.closest && e.target.closest("input, textarea");
    if (typing) return;
    const keys = { ArrowDown: 1, j: 1, ArrowUp: -1, k: -1 };
    const views = { 1: "ir", 2: "tiles", 3: "memory", 4: "graph", 5: "run" };
    if (e.target.closest && e.target.closest("select")) return;
    if (keys[e.key]) step(keys[e.key]);
    else if (views[e.key]) setView(views[e.key]);
    else if (e.key === "/") { if (st.view !== "ir") setView("ir"); $(".search").focus(); }
    else return;
    e.preventDefault();
    e.stopPropagation();
  };
  root.addEventListener("keydown", onKey);

  let first = Number.isInteger(opts.initial) ? opts.initial : -1;
  if (first < 0 || !data.stages[first] || !selectable(data.stages[first])) {
    // Open on the failure if there is one, else on the last stage that changed the IR.
    const failed = data.stages.findIndex((s) => s.status === "failed");
    const changed = data.stages.map((s, i) => (s.status === "changed" ? i : -1)).filter((i) => i >= 0);
    first = failed >= 0 ? failed : changed.length ? changed[changed.length - 1] : 0;
  }
  select(first, false);
  return { select, get stage() { return st.sel; }, destroy() { if (resize) resize.disconnect(); root.removeEventListener("keydown", onKey); root.innerHTML = ""; } };
}

// ---- anywidget entry point ----------------------------------------------------------
export default {
  render({ model, el }) {
    // The static copy `%%nkigen` saves for kernel-less viewing is redundant while live.
    const area = el.closest(".jp-OutputArea, .output_area, .output");
    if (area) area.querySelectorAll("[data-nkigen-static]").forEach((n) => {
      (n.closest(".jp-OutputArea-child, .output_area") || n).style.display = "none";
    });
    let app = null;
    const draw = () => {
      if (app) app.destroy();
      const box = document.createElement("div");
      el.replaceChildren(box);
      app = mount(box, JSON.parse(model.get("data")), {
        initial: model.get("stage"),
        onSelect: (i) => { model.set("stage", i); model.save_changes(); },
      });
    };
    // Python may set `stage` too (widget.stage = 5): follow it without echoing back.
    const follow = () => { if (app && model.get("stage") !== app.stage) app.select(model.get("stage"), false); };
    draw();
    model.on("change:data", draw);
    model.on("change:stage", follow);
    return () => { model.off("change:data", draw); model.off("change:stage", follow); if (app) app.destroy(); };
  },
};
