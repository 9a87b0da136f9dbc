// nkipy-kg explorer: renders `Exploration.to_json()` (nkipy_kg/explore.py). No network, no
// dependencies. Used two ways: as the anywidget ESM (the default export) and inlined in
// the self-contained HTML written by `Exploration.save_html` (which calls `mount`).
// The helpers live in explorer_ir.js, explorer_diagrams.js and explorer_run.js (one scope).

// ---- the app ----------------------------------------------------------------------
export function mount(root, data, opts = {}) {
  // Compare mode (`%%nkigen --compare B`): data = {mode: "compare", a, b}; the explorer
  // shows kernel a, and "compare with" defaults to the same stage of kernel b.
  if (data.mode === "compare") { opts = { ...opts, other: data.b }; data = data.a; }
  const other = opts.other || null;
  const st = { view: "ir", tilePick: -1, sel: 0, base: other ? -2 : -1, diffCache: new Map(), gen: 0, hideUnchanged: false, filter: "", search: "", hit: -1, pinned: 0 };
  root.classList.add("nkx");
  root.tabIndex = 0;
  // JupyterLab binds j/k/arrows in command mode; keys typed in the explorer are ours.
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  root.innerHTML = shellHtml(data, other);
  const $ = (s) => root.querySelector(s);
  // Narrow hosts (notebook outputs) get a tighter grid; a ResizeObserver keeps it right.
  const fit = () => root.classList.toggle("nkx-narrow", root.clientWidth > 0 && root.clientWidth < 1300);
  const resize = typeof ResizeObserver === "function" ? new ResizeObserver(fit) : null;
  if (resize) resize.observe(root);
  fit();
  const plist = $(".plist"), diff = $(".diff"), head = $(".stage-head"), srcBody = $(".src-body");

  // Python source panel (static; highlighting follows the selected stage).
  const src = data.source;
  [$(".src-head").innerHTML, srcBody.innerHTML] = sourceHtml(src);

  function visible(s) {
    if (st.hideUnchanged && s.status !== "changed" && s.status !== "failed" && s.status !== "input") return false;
    return !st.filter || s.name.toLowerCase().includes(st.filter);
  }

  function renderList() {
    let html = "", phase = null;
    data.stages.forEach((s, i) => {
      if (!visible(s)) return;
      if (s.phase !== phase) { phase = s.phase; html += `<div class="phase">${esc(phase)}</div>`; }
      html += passRowHtml(s, i, i === st.sel, other);
    });
    plist.innerHTML = html || `<div class="none">No pass matches.</div>`;
    const cur = plist.querySelector(".p.sel");
    if (cur) scrollWithin(plist, cur, false);
  }

  function renderHead(s) { head.innerHTML = stageHeadHtml(data, other, s); }

  // Rows are rendered in blocks: the first FIRST rows at once, the rest in CHUNK-row
  // blocks on later tasks, at most SLICE_MS of them per task so a key pressed meanwhile
  // waits no longer than that. Blocks use `content-visibility: auto`, so off-screen IR
  // costs no layout; a pass switch costs the first block only, whatever the IR size.
  const FIRST = 100, CHUNK = 250, SLICE_MS = 12;
  function renderDiff() {
    const t0 = performance.now();
    const gen = ++st.gen;
    const { single, n, rowAt, prefix, colL, colR, rows, A, B } = diffPlan(data, other, st);
    $(".col-l").textContent = colL;
    $(".col-r").textContent = colR;
    if (rows) { st.rows = rows; st.A = A; st.B = B; }
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
      const until = performance.now() + SLICE_MS;
      while (k < n && performance.now() < until) block(CHUNK);
      if (k >= n) finish(); else setTimeout(more, 0);
    };
    block(FIRST);
    root.dataset.renderMs = (performance.now() - t0).toFixed(1);
    if (k >= n) finish(); else setTimeout(more, 0);
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
    else if (st.view === "memory") renderMemory(el, d);
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
    if (e.target.closest(".fit-graph")) { e.currentTarget.dataset.graphFit = e.target.checked ? "1" : ""; renderView(); }
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
    const more = e.target.closest(".more");
    if (more) { more.closest(".opds").classList.add("open"); more.remove(); return; }
    const dl = e.target.closest(".dl-in");
    if (dl) { runDownload(root, data, "ir", Number(dl.dataset.stage)); return; }
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
