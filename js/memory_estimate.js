// A live memory and time estimate on the sampler nodes (the pack's, and core's KSampler driving a SemanticGen MODEL): the planner's peak and sampling time for the node's stage
// (POST /semanticgen/plan), green when it fits the device memory chosen in the settings (SemanticGen.MemoryPreset),
// red when it does not.
// Shown in a DOM widget that is never serialised; nothing the server says becomes HTML.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

const ROUTE = "/semanticgen/plan";
const SETTING = "SemanticGen.MemoryPreset";
const PRESETS = ["this device", "8 GB", "12 GB", "16 GB", "24 GB", "48 GB", "80 GB"]; // nodes/plan.py PRESETS
const SAMPLERS = {
  SemanticGenSemanticSampler: { loader: "SemanticGenSemanticGeneratorLoader", field: "semantic_generator",
    stage: "semantic generator" },
  SemanticGenLatentSampler: { loader: "SemanticGenLatentGeneratorLoader", field: "latent_generator",
    stage: "latent generator" },
};
const LOADERS = Object.values(SAMPLERS).map((s) => s.loader);
const NATIVE_NODES = ["SemanticGenSemanticModelLoader", "SemanticGenLatentModelLoader", "SemanticGenEmptySemanticLatent",
  "SemanticGenSwinAttention", "SemanticGenSemanticConditioning", "SemanticGenSemanticFromLatent"];
const WATCHED_NODES = [...LOADERS, ...NATIVE_NODES];
const WATCHED = ["width", "height", "frames", "attention", "window", "model_name", "dtype", "blocks_to_swap", "steps",
  "cfg", "sampler", "sampler_name"];
const COLOURS = { fits: "#6fcf7f", over: "#ff6b6b", info: "#9a9a9a" };
const LINE = "memory estimate";
const DEBOUNCE_MS = 250;

const samplers = new Set(); // sampler nodes created so far (dropped once their graph no longer holds them)
let timer = null;

function value(node, name) {
  return node?.widgets?.find((w) => w.name === name)?.value;
}

function upstream(node, input) {
  const slot = node.findInputSlot(input);
  return slot >= 0 ? node.getInputNode(slot) : null;
}

function duration(s) {
  if (s < 60) return `${s < 1 ? Number(s.toPrecision(2)) : Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  for (; n >= 1024 && i < units.length - 1; i++) n /= 1024;
  return `${n.toPrecision(3)} ${units[i]}`;
}

// Native graphs: core's KSampler driving a generator loaded as a MODEL, maybe through model patches (LoRA, shift,
// Swin). The estimate line goes on the KSampler; the video size comes from the Empty Semantic Latent upstream.
const NATIVE_SAMPLERS = ["KSampler", "KSamplerAdvanced"];
const MODEL_LOADERS = {
  SemanticGenSemanticModelLoader: { field: "semantic_generator", stage: "semantic generator" },
  SemanticGenLatentModelLoader: { field: "latent_generator", stage: "latent generator" },
};
const HOPS = 32; // longest chain of patches or reroutes followed

function traceModel(node) {
  let window = null;
  let n = upstream(node, "model");
  for (let hops = 0; n && hops < HOPS; hops++) {
    if (n.comfyClass in MODEL_LOADERS) return { loader: n, window };
    if (n.comfyClass === "SemanticGenSwinAttention" && window === null) window = value(n, "window");
    n = upstream(n, "model") ?? (n.inputs?.length === 1 ? n.getInputNode(0) : null);
  }
  return null;
}

// The Empty Semantic Latent a sampler's video comes from: its own latent (stage 1), or, through Semantic
// Conditioning → Semantic from Latent → the stage-1 KSampler (stage 2).
function emptySemanticLatent(sampler) {
  let n = upstream(sampler, "latent_image");
  for (let hops = 0; n && hops < HOPS; hops++) {
    if (n.comfyClass === "SemanticGenEmptySemanticLatent") return n;
    const next = { SemanticGenSemanticConditioning: "semantic", SemanticGenSemanticFromLatent: "latent" }[n.comfyClass]
      ?? (NATIVE_SAMPLERS.includes(n.comfyClass) ? "latent_image" : null);
    n = next ? upstream(n, next) : null;
  }
  return null;
}

function body(spec, loader, video, sampler, attention, window) {
  return {
    latent_generator: "none",
    semantic_generator: "none",
    [spec.field]: value(loader, "model_name"),
    width: value(video, "width"),
    height: value(video, "height"),
    frames: value(video, "frames"),
    attention,
    window,
    blocks_to_swap: value(loader, "blocks_to_swap"),
    dtype: value(loader, "dtype"),
    device_memory: app.extensionManager.setting.get(SETTING),
    steps: value(sampler, "steps"),
    cfg: value(sampler, "cfg"),
    sampler: value(sampler, "sampler") ?? value(sampler, "sampler_name"),
  };
}

// The route's body for a sampler node, or a message saying why there is none.
function request(node) {
  if (NATIVE_SAMPLERS.includes(node.comfyClass)) {
    const traced = traceModel(node);
    if (!traced) return { message: null }; // not a SemanticGen model: no line
    const spec = MODEL_LOADERS[traced.loader.comfyClass];
    const video = emptySemanticLatent(node);
    if (!video) return { message: "estimate: size from the semantic input", spec };
    const swin = traced.window !== null;
    return { body: body(spec, traced.loader, video, node, swin ? "swin" : "full", traced.window ?? 8), spec };
  }
  const spec = SAMPLERS[node.comfyClass];
  const loader = upstream(node, "model");
  if (loader?.comfyClass !== spec.loader) return { message: "estimate: connect a generator loader", spec };
  const video = node.comfyClass === "SemanticGenLatentSampler" ? upstream(node, "semantic") : node;
  if (video?.comfyClass !== "SemanticGenSemanticSampler") {
    return { message: "estimate: size from the semantic input", spec };
  }
  return { body: body(spec, loader, video, node, value(node, "attention") ?? "full", value(node, "window") ?? 8), spec };
}

function show(line, text, colour, plan = null) {
  Object.assign(line, { value: text, colour, plan });
  line.element.style.color = colour;
  line.node?.setDirtyCanvas?.(true, false);
}

async function refresh(node) {
  const { body, message, spec } = request(node);
  let line = node.widgets?.find((w) => w.name === LINE);
  if (message === null) { // a core sampler not driving a SemanticGen model: no line
    if (line) removeLine(node, line);
    return;
  }
  if (!line) {
    line = addLine(node);
    fitHeight(node);
  }
  if (message) {
    line.key = null;
    return show(line, message, COLOURS.info);
  }
  const key = JSON.stringify(body);
  if (key === line.key) return; // nothing that matters changed
  line.key = key;
  const seq = (line.seq = (line.seq ?? 0) + 1);
  try {
    const res = await api.fetchApi(ROUTE, { method: "POST", headers: { "Content-Type": "application/json" }, body: key });
    const plan = await res.json();
    if (seq !== line.seq) return; // a newer request answers instead
    if (!res.ok) throw new Error(plan.error ?? res.statusText);
    const stage = plan.stages.find((s) => s.stage === spec.stage);
    const fits = stage.peak <= plan.budget;
    const verdict = fits ? `fits ${bytes(plan.budget)}` : `over ${bytes(plan.budget)}: ${plan.advice[0] ?? "smaller video"}`;
    const time = `≈ ${duration(stage.seconds)} (compute-bound)`;
    show(line, `peak ≈ ${bytes(stage.peak)} · ${verdict} · ${time}`, fits ? COLOURS.fits : COLOURS.over, plan);
  } catch (e) {
    if (seq !== line.seq) return;
    line.key = null; // try again on the next change
    show(line, `estimate unavailable: ${e.message}`, COLOURS.info);
  }
}

function scheduleRefresh() {
  clearTimeout(timer);
  timer = setTimeout(() => {
    for (const node of samplers) {
      if (node.graph?.getNodeById(node.id) === node) refresh(node);
      else samplers.delete(node); // removed, or its workflow was replaced
    }
  }, DEBOUNCE_MS);
}

function chain(owner, key, after) {
  const original = owner[key];
  owner[key] = function (...args) {
    const result = original?.apply(this, args);
    after();
    return result;
  };
}

// A DOM widget: the same element shows in the canvas renderer and in Vue nodes ("Nodes 2.0"), which do not run a
// canvas widget's draw(). Text goes in through textContent only.
function addLine(node) {
  const element = document.createElement("div");
  element.className = "semanticgen-estimate";
  Object.assign(element.style, { font: "12px sans-serif", padding: "2px 10px", whiteSpace: "nowrap", overflow: "hidden",
    textOverflow: "ellipsis", color: COLOURS.info, pointerEvents: "none" });
  let text = "estimate: …";
  element.textContent = text;
  const line = node.addDOMWidget(LINE, "semanticgen_memory_estimate", element, {
    serialize: false, // not in the prompt
    getValue: () => text,
    setValue: (v) => { text = String(v); element.textContent = text; },
    getMinHeight: () => 20,
    getMaxHeight: () => 20,
  });
  Object.assign(line, { element, colour: COLOURS.info, plan: null, serialize: false }); // not in widgets_values
  return line;
}

function removeLine(node, line) {
  line.onRemove?.(); // a DOM widget takes its element off the page
  node.widgets.splice(node.widgets.indexOf(line), 1);
  node.setSize([node.size[0], node.computeSize()[1]]);
}

function fitHeight(node) {
  const height = node.computeSize()[1];
  if (node.size[1] < height) node.setSize([node.size[0], height]);
}

app.registerExtension({
  name: "SemanticGen.MemoryEstimate",
  settings: [
    {
      id: SETTING,
      category: ["SemanticGen", "Memory estimate", "Device memory"],
      name: "Device memory the sampler estimate is checked against",
      tooltip: "The memory estimate on the Semantic and Latent Sampler turns red when its peak exceeds this. " +
        "\"this device\": the free memory of the machine ComfyUI runs on.",
      type: "combo",
      options: PRESETS,
      defaultValue: "this device",
      onChange: scheduleRefresh,
    },
  ],
  nodeCreated(node) {
    const sampler = node.comfyClass in SAMPLERS || NATIVE_SAMPLERS.includes(node.comfyClass);
    if (!sampler && !WATCHED_NODES.includes(node.comfyClass)) return;
    for (const widget of node.widgets ?? []) if (WATCHED.includes(widget.name)) chain(widget, "callback", scheduleRefresh);
    chain(node, "onConnectionsChange", scheduleRefresh);
    if (!sampler) return;
    if (node.comfyClass in SAMPLERS) addLine(node); // a core sampler gets one once it drives a SemanticGen model
    samplers.add(node);
    scheduleRefresh();
  },
  loadedGraphNode(node) {
    if (!(node.comfyClass in SAMPLERS)) return;
    fitHeight(node); // a saved workflow's node size predates the estimate line
    scheduleRefresh();
  },
});
