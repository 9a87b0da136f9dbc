// nkipy-kg explorer, IR view: MLIR highlighting, stage lines, the side-by-side diff rows
// and the line diff of any two stages. Concatenated with the other static/*.js files into
// one module, first (nkipy_kg/explore_html.py JS_FILES).
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

// A line's indentation becomes padding (`--i`, in ch): a wrapped line then continues
// indented under its own text, and a long first token never leaves an empty first row.
function indented(line, marks = []) {
  const ind = line.length - line.trimStart().length;
  if (!ind) return ["", highlight(line, marks)];
  const shifted = marks.map(([lo, hi]) => [Math.max(0, lo - ind), Math.max(0, hi - ind)]).filter(([lo, hi]) => hi > lo);
  return [` style="--i:${ind}"`, highlight(line.slice(ind), shifted)];
}

function cell(lines, src, i, marks = []) {
  if (i < 0) return `<span class="ln"></span><span class="sg"></span><span class="code empty"></span>`;
  const sl = src[i];
  const sg = sl ? `<span class="sg" title="source line ${sl}">${sl}</span>` : `<span class="sg"></span>`;
  const [style, code] = indented(lines[i], marks);
  return `<span class="ln">${i + 1}</span>${sg}<span class="code"${style}${sl ? ` data-src="${sl}"` : ""}>${code}</span>`;
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


