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

// Vue nodes of frontend 1.32 copy a node's widget state when its graph finishes configuring, and only then; newer
// ones follow the flags. Re-running that hook (only with Vue nodes on) makes a mode change show on either.
function rerender(node) {
  if (app.extensionManager?.setting?.get("Comfy.VueNodes.Enabled")) node.onAfterGraphConfigured?.();
}

function chainBefore(owner, key, first) {
  const original = owner[key];
  owner[key] = function (...args) {
    first();
    return original?.apply(this, args);
  };
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
      rerender(node);
      return result;
    };
    // a loaded workflow's values arrive during configure: set the flags before anything copies them
    chainBefore(node, "onAfterGraphConfigured", () => refresh(node));
    refresh(node);
  },
  loadedGraphNode(node) {
    if (MODES[node.comfyClass]) refresh(node);
  },
});
