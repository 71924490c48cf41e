// Widgets that only matter in one mode are hidden otherwise (e.g. the Swin `window` when attention is full).
import { app } from "../../scripts/app.js";

const MODES = {
  SemanticGenLatentSampler: { control: "attention", show: { window: (v) => v === "swin" } },
  SemanticGenCompress: { control: "mode", show: { seed: (v) => v === "sample" } },
};

function refresh(node) {
  const spec = MODES[node.comfyClass];
  const control = node.widgets?.find((w) => w.name === spec.control);
  if (!control) return;
  for (const [name, visible] of Object.entries(spec.show)) {
    const widget = node.widgets.find((w) => w.name === name);
    if (!widget) continue;
    // `hidden` for the canvas renderer and newer Vue nodes; `options.hidden` for the Vue nodes of frontends up to
    // ~1.50 (what their own setWidgetHidden sets)
    widget.hidden = !visible(control.value);
    if (widget.options) widget.options.hidden = widget.hidden;
  }
  node.setSize([node.size[0], node.computeSize()[1]]);
  node.setDirtyCanvas?.(true, true);
}

app.registerExtension({
  name: "SemanticGen.ModeWidgets",
  nodeCreated(node) {
    const spec = MODES[node.comfyClass];
    const control = spec && node.widgets?.find((w) => w.name === spec.control);
    if (!control) return;
    const original = control.callback;
    control.callback = function (...args) {
      const result = original?.apply(this, args);
      refresh(node);
      return result;
    };
    refresh(node);
  },
  loadedGraphNode(node) {
    if (MODES[node.comfyClass]) refresh(node); // values from a loaded workflow arrive after nodeCreated
  },
});
