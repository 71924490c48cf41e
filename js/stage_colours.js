// Colour the two stages so the pipeline reads at a glance: semantic space (violet) vs VAE latents (teal).
import { app } from "../../scripts/app.js";

const SEMANTIC = ["EncoderLoader", "Encode", "CompressorLoader", "Compress", "Preview", "SemanticGeneratorLoader",
  "SemanticSampler"];
const LATENT = ["LatentGeneratorLoader", "LatentSampler", "VAEDecode"];
const COLOURS = { semantic: ["#3b2a55", "#4d3870"], latent: ["#1f4a4a", "#2a6060"] };

app.registerExtension({
  name: "SemanticGen.StageColours",
  nodeCreated(node) {
    const id = node.comfyClass?.startsWith("SemanticGen") ? node.comfyClass.slice("SemanticGen".length) : null;
    const stage = SEMANTIC.includes(id) ? "semantic" : LATENT.includes(id) ? "latent" : null;
    if (!stage) return;
    [node.color, node.bgcolor] = COLOURS[stage];
  },
});
