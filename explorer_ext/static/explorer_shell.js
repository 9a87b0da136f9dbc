// nkipy-kg explorer, the page around the views: header, pass list rows, stage header and
// the Python source panel as HTML strings, and what the IR view shows for a selection
// (`diffPlan`). No DOM access and no events: explorer.js owns those. Same module scope as
// explorer_ir.js (`esc`, `fmtTime`, `deltaSummary`, ...).

const MAX_CHIPS = 6;    // op-count chips shown before "+k more"

function shellHtml(data, other) {
  const total = data.stages.reduce((a, s) => a + (s.seconds || 0), 0);
  const ran = data.stages.filter((s) => RAN.has(s.status)).length - 1;
  const changed = data.stages.filter((s) => s.status === "changed").length;
  const tab = (view, label, extra = "") => `<button type="button" role="tab" class="tab" data-view="${view}"${extra}>${label}</button>`;
  return `
    <header class="bar">
      <div class="title"><span class="logo" title="nkipy-kg explorer">nkipy-kg</span><span class="kname">${esc(data.kernel)}</span>${other ? `<span class="vs">vs</span><span class="kname kname-b">${esc(other.kernel)}</span>` : ""}
        <span class="chip">${esc(data.target)}</span></div>
      <div class="stats">${ran}/${data.stages.length - 1} passes ran · ${changed} changed IR · ${esc(fmtTime(total))}
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
          ${tab("ir", "IR diff")}${tab("tiles", "Tiles")}${tab("memory", "Memory")}${tab("graph", "Graph")}${data.run ? tab("run", "Run") : tab("run", "Run", ` title="not run: explore(..., run=True) or %%nkigen --run" data-empty="1"`)}
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
}

// [head, body] of the Python source panel; a line's indentation becomes padding (`--i`).
function sourceHtml(src) {
  if (!src) return [`<span class="lbl">Python</span>`, `<div class="none">No Python source: the input was MLIR.</div>`];
  const file = src.label || src.file.split("/").pop();
  const body = src.lines.map((t, k) => {
    const ind = t.length - t.trimStart().length;
    return `<div class="sl" data-line="${src.first_line + k}"><span class="ln">${src.first_line + k}</span><span class="code"${ind ? ` style="--i:${ind}"` : ""}>${esc(t.slice(ind)) || " "}</span></div>`;
  }).join("");
  return [`<span class="lbl">Python</span> <span class="file" title="${esc(src.file)}">${esc(file)}</span>`, body];
}

const deltaHtml = (plus, minus) =>
  (plus ? `<span class="plus">+${compact(plus)}</span>` : "") + (minus ? `<span class="minus">−${compact(minus)}</span>` : "");

function passRowHtml(s, i, selected, other) {
  let delta = deltaHtml(...deltaSummary(s.op_deltas));
  if (other && other.stages[i]) {
    // Compare mode: the other kernel's op-count delta of the same pass, after a bar;
    // "=" when both kernels' pass changed the op counts the same way.
    const [bp, bm] = deltaSummary(other.stages[i].op_deltas);
    const same = JSON.stringify(s.op_deltas || {}) === JSON.stringify(other.stages[i].op_deltas || {});
    delta += `<span class="db${same ? " same" : ""}" title="${esc(other.kernel)}">│${same ? "=" : deltaHtml(bp, bm) + (bp || bm ? "" : "0")}</span>`;
  }
  const what = s.status === "not-registered" ? "pass not implemented yet" : s.status === "not-run" ? "not run" : s.status;
  return `<div class="p st-${esc(s.status)}${selected ? " sel" : ""}" data-i="${i}" role="option" title="${esc(s.name)} · ${esc(what)}${s.summary ? " — " + esc(s.summary) : ""}"
    aria-selected="${selected}"><span class="dot"></span><span class="idx">${i}</span><span class="name">${esc(s.name)}</span>
    <span class="delta">${delta}</span><span class="time">${esc(fmtTime(s.seconds))}</span></div>`;
}

function chipsHtml(deltas, max) {
  const entries = Object.entries(deltas || {}).sort((x, y) => Math.abs(y[1]) - Math.abs(x[1]) || (x[0] < y[0] ? -1 : 1));
  const chips = entries.map(([op, n], k) =>
    `<span class="opd ${n > 0 ? "plus" : "minus"}${k >= max ? " extra" : ""}">${n > 0 ? "+" : "−"}${Math.abs(n)} ${esc(op)}</span>`).join("");
  return chips + (entries.length > max ? `<button type="button" class="opd more">+${entries.length - max} more</button>` : "");
}

// The file name a stage's IR is downloaded as: the name `compile(dump_dir=...)` writes and
// the repro command of the next stage reads.
const stageFile = (data, i) => `${String(i).padStart(2, "0")}_${data.stages[i].name}.mlir`.replace(/[^\w.-]+/g, "_");

function stageHeadHtml(data, other, s) {
  const d = data.diffs[String(s.index)];
  const chips = chipsHtml(s.op_deltas, MAX_CHIPS);
  const lines = d ? `<span class="plus">+${d.added}</span> <span class="minus">−${d.removed}</span> lines` : "";
  const input = s.index > 0 && RAN.has(data.stages[s.index - 1].status) ? s.index - 1 : -1;
  const repro = s.repro ? `<div class="repro"><span class="lbl">reproduce</span><code>${esc(s.repro)}</code><button class="copy" type="button">copy</button>${input >= 0
    ? `<button class="dl-in" type="button" data-stage="${input}" data-testid="nkx-dl-input" title="download ${esc(stageFile(data, input))}: the IR before this pass, the command's input">⤓ input</button>` : ""}</div>` : "";
  const err = s.status === "failed" && data.error ? `<pre class="error" data-testid="nkx-error">${esc(data.error.rendered)}</pre>` : "";
  const save = RAN.has(s.status) ? `<button class="dl-in" type="button" data-stage="${s.index}" data-testid="nkx-dl-stage" title="download this stage's IR">⤓ .mlir</button>` : "";
  return `<div class="sh-top"><span class="sh-idx">${s.index}</span><span class="sh-name">${esc(s.name)}</span>
      ${s.options ? `<span class="chip">${esc(s.options)}</span>` : ""}<span class="chip phase-chip">${esc(s.phase)}</span>
      <span class="status st-${esc(s.status)}">${esc(s.status)}</span><span class="sh-lines">${lines}</span>
      <span class="sh-time">${esc(fmtTime(s.seconds))}</span>${save}</div>
      ${s.summary && s.index ? `<div class="summary">${esc(s.summary)}</div>` : ""}
      ${chips ? `<div class="opds">${other ? `<span class="opd-k">${esc(data.kernel)}</span>` : ""}${chips}</div>` : ""}${other ? otherChipsHtml(other, s.index) : ""}${err}${repro}`;
}

// Compare mode: the other kernel's op-count deltas for the same pass.
function otherChipsHtml(other, i) {
  const o = other.stages[i];
  if (!o) return "";
  const chips = chipsHtml(o.op_deltas, MAX_CHIPS);
  return `<div class="opds opds-b" data-testid="nkx-other-deltas"><span class="opd-k">${esc(other.kernel)}</span><span class="status st-${esc(o.status)}">${esc(o.status)}</span>${chips || `<span class="dg-sub">no op-count change</span>`}</div>`;
}

// What the IR view shows for the selected stage: one column (the traced IR, an unchanged
// stage, the input of a failed pass) or before | after rows, with the column titles.
// "Before" is the previous stage, a chosen stage (`st.base` >= 0) or, in compare mode
// (`st.base` === -2), the same stage of the other kernel.
function diffPlan(data, other, st) {
  const s = data.stages[st.sel];
  // Compare mode: left is this kernel's stage, right the same stage of the other kernel.
  const os = other ? other.stages[st.sel] : null;
  const cmp = Boolean(other && st.base === -2 && RAN.has(s.status) && os && RAN.has(os.status));
  let B = { lines: stageLines(data, st.sel), src: stageSrc(data, st.sel) };
  const chosen = !cmp && st.base >= 0 && st.base !== st.sel && RAN.has(s.status) && RAN.has(data.stages[st.base].status);
  const prev = cmp ? st.sel : chosen ? st.base : st.sel > 0 ? st.sel - 1 : -1;
  let A = prev >= 0 ? { lines: stageLines(data, prev), src: stageSrc(data, prev) } : null;
  // The other kernel's lines link to the source panel only when it shows the same file.
  const sameFile = other && data.source && other.source && other.source.file === data.source.file;
  if (cmp) { A = B; B = { lines: stageLines(other, st.sel), src: sameFile ? stageSrc(other, st.sel) : [] }; }
  const unchanged = !chosen && !cmp && s.status === "unchanged";
  const single = !cmp && (!A || (!chosen && s.status === "input") || s.status === "failed" || unchanged);
  let n, rowAt, colL, colR, rows = null, prefix = other && st.base === -2 && !cmp
    ? `<div class="nochange cmp-missing">${esc(other.kernel)} has no IR for stage ${s.index} (${esc(os ? os.status : "missing")}): showing ${esc(data.kernel)} alone.</div>` : "";
  if (single) {
    const V = s.status === "failed" ? A : B;
    colL = "";
    colR = s.status === "failed" ? `IR before ${s.name} (input of the failed pass)`
      : unchanged ? `IR after ${s.index} ${s.name} (same as before it)` : "traced IR";
    if (unchanged) prefix += `<div class="nochange">This pass did not change the IR.</div>`;
    n = V.lines.length;
    rowAt = (k) => `<div class="row k-eq one" data-sr="${V.src[k] || ""}"><div class="side r">${cell(V.lines, V.src, k)}</div></div>`;
  } else {
    const opcodes = cmp ? cachedDiff(st, "b", st.sel, A.lines, B.lines)
      : chosen ? cachedDiff(st, prev, st.sel, A.lines, B.lines) : data.diffs[String(s.index)].opcodes;
    colL = cmp ? `${data.kernel} · stage ${s.index} ${s.name}` : `${chosen ? "stage" : "before"} · ${prev} ${data.stages[prev].name}`;
    colR = cmp ? `${other.kernel} · stage ${s.index} ${os.name}` : `${chosen ? "stage" : "after"} · ${s.index} ${s.name}`;
    rows = diffRows(opcodes, st.search !== "", A.lines, B.lines);
    n = rows.length;
    rowAt = (k) => rowHtml(rows[k], A, B, k);
    if (chosen || cmp) {
      const [add, del] = opcodes.reduce(([x, y], [t, i1, i2, j1, j2]) => t === "equal" ? [x, y] : [x + j2 - j1, y + i2 - i1], [0, 0]);
      const what = cmp ? `Comparing stage ${s.index} of ${esc(data.kernel)} with stage ${s.index} of ${esc(other.kernel)}`
        : `Comparing stage ${prev} with stage ${s.index}`;
      prefix = `<div class="nochange${cmp ? " cmp" : ""}" data-testid="nkx-compare">${what}: <span class="plus">+${add}</span> <span class="minus">−${del}</span> lines${add + del ? "" : " (identical IR)"}</div>`;
    }
  }
  return { single, n, rowAt, prefix, colL, colR, rows, A, B };
}

// Line diff of two stages not precomputed by Python (non-adjacent, or two kernels), memoised.
function cachedDiff(st, i, j, a, b) {
  const key = `${i}:${j}`;
  if (!st.diffCache.has(key)) st.diffCache.set(key, lineDiff(a, b));
  return st.diffCache.get(key);
}

// Wrap each occurrence of `q` in the text nodes under `el` in <mark class="q">.
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
