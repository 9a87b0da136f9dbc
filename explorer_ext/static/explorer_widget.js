// nkipy-kg explorer, the anywidget entry point (`ExplorerWidget._esm`, explorer_ext/widget.py):
// mounts the explorer on the widget's `data`, and syncs the selected stage both ways.
// Last in the bundle (nkipy_kg/explore_html.py JS_FILES); the static page drops the export.

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
