// nkipy-kg explorer, Run tab: device, time (modeled | measured), per-engine utilisation,
// the engine timeline (Gantt) and the NumPy comparison of `Exploration.run`
// (nkipy_kg/explore_run.py), plus downloads of any stage's IR and the Perfetto trace.
// Bundled with explorer_ir.js and explorer.js into one module scope (`esc`, `stageLines`, `note`).
// Downloads are Blobs built from the embedded data: nothing is fetched or served.

const LANE_H = 20, GANTT_L = 96;

function fmtUs(us) {
  return us >= 1000 ? `${(us / 1000).toFixed(3)} ms` : us >= 1 ? `${us.toFixed(3)} µs` : `${(us * 1000).toFixed(1)} ns`;
}
const engineClass = (lane) => "e-" + String(lane).split(" ")[0].replace(/[^A-Za-z]/g, "");

// One row per engine / DMA queue; a box per instruction (or per run of sub-pixel ones),
// `GANTT_W` px wide (the view's width: the time axis fits without scrolling).
function ganttSvg(run, GANTT_W) {
  const lanes = run.lanes, boxes = run.boxes;
  const totalNs = Math.max(1e-9, boxes.reduce((m, b) => Math.max(m, b[2]), 0), run.time_us * 1000);
  const PW = GANTT_W - GANTT_L - 12, T = 22, H = T + lanes.length * LANE_H + 6;
  const x = (ns) => GANTT_L + (ns / totalNs) * PW;
  let ticks = "";
  for (let k = 0; k <= 5; k++) {
    const ns = (totalNs * k) / 5;
    ticks += `<line class="grid" x1="${x(ns).toFixed(1)}" x2="${x(ns).toFixed(1)}" y1="${T - 4}" y2="${H - 6}"/>
      <text class="ax" x="${x(ns).toFixed(1)}" y="${T - 8}" text-anchor="${k === 0 ? "start" : k === 5 ? "end" : "middle"}">${esc(fmtUs(ns / 1000))}</text>`;
  }
  const rows = lanes.map((lane, k) => `<text class="ax lane" x="${GANTT_L - 6}" y="${T + k * LANE_H + 14}" text-anchor="end">${esc(lane)}</text>
    <line class="lane-sep" x1="${GANTT_L}" x2="${GANTT_L + PW}" y1="${T + (k + 1) * LANE_H}" y2="${T + (k + 1) * LANE_H}"/>`).join("");
  let rects = "";
  for (const [lane, s, e, name, loc, line, count] of boxes) {
    const w = Math.max(1, x(e) - x(s));
    const what = count > 1 ? `${count} instructions merged (each shorter than a pixel): ${name}` : name;
    const tip = `${what}\n${lanes[lane]} · ${(s / 1000).toFixed(3)}–${(e / 1000).toFixed(3)} µs (${(e - s).toFixed(1)} ns)` +
      (loc ? `\n${loc}` : "") + (line ? ` · source line ${line}` : "");
    rects += `<rect class="gb ${engineClass(lanes[lane])}${count > 1 ? " agg" : ""}" x="${x(s).toFixed(2)}" y="${T + lane * LANE_H + 3}" width="${w.toFixed(2)}" height="${LANE_H - 6}"${line ? ` data-line="${Number(line)}"` : ""}><title>${esc(tip)}</title></rect>`;
  }
  return `<svg class="gantt" data-testid="nkx-gantt" width="${GANTT_W}" height="${H}" viewBox="0 0 ${GANTT_W} ${H}" role="img" aria-label="engine timeline">${ticks}${rows}${rects}</svg>`;
}

function utilBars(run) {
  return Object.entries(run.utilisation).map(([engine, u]) => {
    const pct = Math.max(0, Math.min(1, Number(u))) * 100;
    const busy = run.busy_us && run.busy_us[engine] !== undefined ? ` · ${esc(fmtUs(run.busy_us[engine]))} busy` : "";
    return `<div class="ub" data-engine="${esc(engine)}"><span class="ub-name">${esc(engine)}</span>
      <span class="ub-bar"><span class="ub-fill ${engineClass(engine)}" style="width:${pct.toFixed(1)}%"></span></span>
      <span class="ub-pct">${pct.toFixed(1)}%</span><span class="ub-busy">${busy}</span></div>`;
  }).join("");
}

function numpyTable(run) {
  if (!run.compared) return note("Not compared with NumPy (<code>compare_numpy=False</code>, or no NumPy function for MLIR input).");
  const fmt = (v) => (v === null || v === undefined || Number.isNaN(v) ? "nan" : Number(v).toExponential(2));
  const rows = run.outputs.map((o) => `<tr class="${o.passed ? "ok" : "bad"}"><td>${esc(o.name)}</td><td>${esc(o.shape.join("×"))} ${esc(o.dtype)}</td>
    <td>${fmt(o.max_abs)}</td><td>${fmt(o.max_rel)}</td><td>rtol ${fmt(o.rtol)} · atol ${fmt(o.atol)}</td>
    <td class="verdict">${o.passed ? "pass" : "FAIL"}</td></tr>`).join("");
  return `<table class="np-table" data-testid="nkx-numpy"><thead><tr><th>output</th><th>shape</th><th>max abs error</th>
    <th>max rel error</th><th>tolerance (per dtype)</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
}

function runSummary(run, kernel) {
  const kind = run.timing_kind || "?";
  const verdict = run.passed === true ? `<span class="chip ok">NumPy: pass</span>` : run.passed === false ? `<span class="chip bad">NumPy: FAIL</span>` : "";
  return `<div class="run-sum"><span class="run-k">${esc(kernel)}</span><span class="run-dev" data-testid="nkx-device">${esc(run.device)}</span>
    <span class="run-time" data-testid="nkx-time">${esc(fmtUs(run.time_us))}</span><span class="tkind k-${esc(kind)}" data-testid="nkx-timing-kind">${esc(kind)}</span>${verdict}</div>`;
}

function downloads(data, sel) {
  const opts = data.stages.map((s, i) => (RAN.has(s.status)
    ? `<option value="${i}"${i === sel ? " selected" : ""}>${i} · ${esc(s.name)}</option>` : "")).join("");
  const trace = data.run && data.run.perfetto;
  return `<div class="run-dl"><label>IR of stage <select class="dl-stage" aria-label="Stage to download">${opts}</select></label>
    <button type="button" class="dl" data-download="ir" data-testid="nkx-dl-ir">Download IR (.mlir)</button>
    <button type="button" class="dl" data-download="perfetto" data-testid="nkx-dl-trace"${trace ? "" : " disabled"}>Download Perfetto trace (.json)</button>
    ${trace ? `<span class="dg-sub">open it in ui.perfetto.dev or chrome://tracing${data.run.perfetto_note ? ` · ${esc(data.run.perfetto_note)}` : ""}</span>` : ""}</div>`;
}

function renderRun(el, data, other, sel) {
  const run = data.run;
  if (!run) {
    el.innerHTML = note("Not run: use <code>explore(fn, ..., run=True)</code> or <code>%%nkigen --run</code> to run the compiled kernel on a device (the simulator by default).") + downloads(data, sel);
    return;
  }
  const ob = other && other.run && !other.run.error ? other.run : null;
  let cmp = "";
  if (ob && !run.error && run.time_us > 0) {
    const r = ob.time_us / run.time_us;
    cmp = `<div class="dg-sub run-vs">${esc(other.kernel)} takes ${(r).toFixed(2)}× the time of ${esc(data.kernel)}</div>`;
  }
  if (run.error) {
    el.innerHTML = runSummary(run, data.kernel) + `<pre class="error" data-testid="nkx-run-error">${esc(run.error)}</pre>` + downloads(data, sel);
    return;
  }
  const gantt = run.lanes.length ? `<div class="dg-h">Engine timeline (${esc(run.timing_kind)}): ${run.events_total} instructions on ${run.lanes.length} engines / DMA queues</div>
    ${run.merged_note ? `<div class="dg-note gantt-note" data-testid="nkx-gantt-note">${esc(run.merged_note)}</div>` : ""}
    <div class="gantt-box">${ganttSvg(run, Math.max(640, (el.clientWidth || 1000) - 34))}</div>` : note("This device returned no profile: no timeline or utilisation.");
  el.innerHTML = `${runSummary(run, data.kernel)}${ob ? runSummary(ob, other.kernel) : ""}${cmp}
    ${run.lanes.length ? `<div class="dg-h">Engine utilisation (busy fraction of the ${esc(run.timing_kind)} time)</div><div class="ubars">${utilBars(run)}</div>` : ""}
    ${gantt}<div class="dg-h">NumPy comparison</div>${numpyTable(run)}${downloads(data, sel)}`;
}

// A Blob download of embedded data (no network): the IR of a stage, or the Perfetto trace.
function runDownload(root, data, kind, stage) {
  let name, text, mime;
  if (kind === "ir") {
    const s = data.stages[stage];
    if (!s) return;
    name = stageFile(data, stage);          // what the next stage's repro command reads
    text = stageLines(data, stage).join("\n") + "\n";
    mime = "text/plain";
  } else {
    if (!data.run || !data.run.perfetto) return;
    name = `${data.kernel}_trace.json`.replace(/[^\w.-]+/g, "_");
    text = JSON.stringify(data.run.perfetto);
    mime = "application/json";
  }
  const url = URL.createObjectURL(new Blob([text], { type: mime }));
  const a = document.createElement("a");
  a.href = url; a.download = name; a.style.display = "none";
  root.appendChild(a);
  a.click();
  a.remove();
  root.dataset.download = `${name}:${text.length}`;
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
