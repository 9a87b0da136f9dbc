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

// ---- the app ----------------------------------------------------------------------
export function mount(root, data, opts = {}) {
  const st = { sel: 0, base: -1, diffCache: new Map(), gen: 0, hideUnchanged: false, filter: "", search: "", hit: -1, pinned: 0 };
  const total = data.stages.reduce((a, s) => a + (s.seconds || 0), 0);
  const ran = data.stages.filter((s) => RAN.has(s.status));
  const nChanged = data.stages.filter((s) => s.status === "changed").length;
  root.classList.add("nkx");
  root.tabIndex = 0;
  // JupyterLab binds j/k/arrows in command mode; keys typed in the explorer are ours.
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  root.innerHTML = `
    <header class="bar">
      <div class="title"><span class="logo">nkigen</span><span class="kname">${esc(data.kernel)}</span>
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
          <kbd>↑</kbd><kbd>↓</kbd> / <kbd>j</kbd><kbd>k</kbd> step · <kbd>/</kbd> search IR · click a line to link IR ↔ Python</div>
      </nav>
      <main class="view">
        <div class="stage-head"></div>
        <div class="ir-tools">
          <input class="search" type="search" placeholder="Search IR (Enter: next)" aria-label="Search IR">
          <span class="hits"></span>
          <label class="base-l">compare with <select class="base" aria-label="Compare with"></select></label>
        </div>
        <div class="cols"><span class="col-l"></span><span class="col-r"></span></div>
        <div class="diff" data-testid="nkx-diff"></div>
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
      const delta = (plus ? `<span class="plus">+${compact(plus)}</span>` : "") + (minus ? `<span class="minus">−${compact(minus)}</span>` : "");
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
      ${chips ? `<div class="opds">${chips}</div>` : ""}${err}${repro}`;
    void plus; void minus;
  }

  // Rows are rendered in blocks: the first FIRST rows at once, the rest in CHUNK-row
  // blocks on later ticks. Blocks use `content-visibility: auto`, so off-screen IR costs
  // no layout; a pass switch costs the first block only, whatever the IR size.
  const FIRST = 250, CHUNK = 1500;
  function renderDiff() {
    const t0 = performance.now();
    const gen = ++st.gen;
    const s = data.stages[st.sel];
    const B = { lines: stageLines(data, st.sel), src: stageSrc(data, st.sel) };
    const chosen = st.base >= 0 && st.base !== st.sel && RAN.has(s.status) && RAN.has(data.stages[st.base].status);
    const prev = chosen ? st.base : st.sel > 0 ? st.sel - 1 : -1;
    const A = prev >= 0 ? { lines: stageLines(data, prev), src: stageSrc(data, prev) } : null;
    const unchanged = !chosen && s.status === "unchanged";
    const single = !A || (!chosen && s.status === "input") || s.status === "failed" || unchanged;
    let n, rowAt, prefix = "";
    if (single) {
      const V = s.status === "failed" ? A : B;
      $(".col-l").textContent = "";
      $(".col-r").textContent = s.status === "failed" ? `IR before ${s.name} (input of the failed pass)`
        : unchanged ? `IR after ${s.index} ${s.name} (same as before it)` : "traced IR";
      if (unchanged) prefix = `<div class="nochange">This pass did not change the IR.</div>`;
      n = V.lines.length;
      rowAt = (k) => `<div class="row k-eq one" data-sr="${V.src[k] || ""}"><div class="side r">${cell(V.lines, V.src, k)}</div></div>`;
    } else {
      const opcodes = chosen ? cachedDiff(prev, st.sel, A.lines, B.lines) : data.diffs[String(s.index)].opcodes;
      $(".col-l").textContent = `${chosen ? "stage" : "before"} · ${prev} ${data.stages[prev].name}`;
      $(".col-r").textContent = `${chosen ? "stage" : "after"} · ${s.index} ${s.name}`;
      const rows = diffRows(opcodes, st.search !== "", A.lines, B.lines);
      st.rows = rows; st.A = A; st.B = B;
      n = rows.length;
      rowAt = (k) => rowHtml(rows[k], A, B, k);
      if (chosen) {
        const [add, del] = opcodes.reduce(([x, y], [t, i1, i2, j1, j2]) => t === "equal" ? [x, y] : [x + j2 - j1, y + i2 - i1], [0, 0]);
        prefix = `<div class="nochange">Comparing stage ${prev} with stage ${s.index}: <span class="plus">+${add}</span> <span class="minus">−${del}</span> lines</div>`;
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
    let html = `<option value="-1">previous stage</option>`;
    data.stages.forEach((s, i) => {
      if (RAN.has(s.status) && i !== st.sel) html += `<option value="${i}"${i === st.base ? " selected" : ""}>${i} · ${esc(s.name)}</option>`;
    });
    sel.innerHTML = html;
    if (st.base < 0 || st.base === st.sel) sel.value = "-1";
  }

  function expandFold(el) {
    const idx = Number(el.dataset.fold);
    el.outerHTML = st.rows[idx].rows.map((x) => rowHtml(x, st.A, st.B, idx)).join("");
    applyPin();
  }

  function select(i, fromUser = true) {
    if (i < 0 || i >= data.stages.length || !selectable(data.stages[i])) return;
    st.sel = i; st.hit = -1;
    renderList(); renderHead(data.stages[i]); renderBase(); renderDiff();
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
    if (keys[e.key]) step(keys[e.key]);
    else if (e.key === "/") $(".search").focus();
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
