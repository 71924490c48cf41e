"""The bundled workflows, written once as a small graph spec and rendered to both ComfyUI formats.

    make workflows      # rewrite example_workflows/*.json and example_workflows/api/*.json (starts a temporary ComfyUI)

The UI format (what the canvas loads, listed as templates) needs the node schemas (input order, output
names), so it is built from a running server's /object_info. The API format (what headless users POST to
/prompt) comes from the same spec; tests check it equals what the real frontend's `graphToPrompt` gives.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FOLDER = ROOT / "example_workflows"  # the name both ComfyUI hosts serve as this pack's templates (and recommend)
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
UPLOAD_FLAGS = ("image_upload", "video_upload", "audio_upload", "animated_image_upload")


@dataclass
class Node:
    id: int
    type: str
    widgets: dict = field(default_factory=dict)  # widget name -> value
    links: dict = field(default_factory=dict)  # input name -> (source node id, output slot)
    title: str | None = None


@dataclass
class Stage:
    """One group on the canvas: a stage of the pipeline, its nodes in columns (left to right, top to bottom)."""

    title: str
    kind: str  # "semantic" or "latent" (the js extension's stage colours), or "neutral"
    columns: list[list[int]]


@dataclass
class Workflow:
    name: str
    title: str
    description: str
    nodes: list[Node]
    stages: list[Stage]
    note: str  # the canvas's Note: what it does, what to change, what the demo models know, where weights go


ENCODER = "toy_encoder.safetensors"
COMPRESSOR = "toy_compressor_c8.safetensors"
SAMPLE_VIDEO = "semanticgen_sample.mp4"
TOY_SAMPLE_FPS = 4.0  # the demo models' semantic space samples the 8 fps toy clips at 4 fps (real models: 1.6)
SEMANTIC_GENERATOR = "toy_semantic_generator.safetensors"
LATENT_GENERATOR = "toy_latent_generator.safetensors"
VAE = "toy_wan_vae.safetensors"
PROMPT = "a red circle moving left on a black background"
NEW_PROMPT = "a yellow circle on a navy background"
NEGATIVE = ""
LONG_PROMPT = "a white square bouncing off the walls on a navy background"
FRAMES, SIZE, FPS = 17, 64, 8.0  # the demo models' clips: 17 frames of 64×64 at 8 fps (scripts/toy/make_dataset.py)
LONG_FRAMES = 481  # 60 s at the toy world's 8 fps (4k+1 frames: 121 latent frames)
SAMPLING = {"seed": 0, "steps": 20, "cfg": 3.0, "shift": 3.0, "sampler": "euler"}
KSAMPLER = {"seed": 0, "steps": 20, "cfg": 3.0, "sampler_name": "euler", "scheduler": "simple", "denoise": 1.0}
LOADER = {"dtype": "auto", "blocks_to_swap": 0}


def text_nodes(loader: int, prompt: int, negative: int, text: str, title: str = "Prompt") -> list[Node]:
    """MiniLM loader, prompt and (empty) negative: without a negative, cfg has nothing to guide against."""
    encode = {"text_encoder": (loader, 0)}
    return [
        Node(loader, "SemanticGenTextEncoderLoader"),
        Node(prompt, "SemanticGenTextEncode", {"text": text}, encode, title=title),
        Node(negative, "SemanticGenTextEncode", {"text": NEGATIVE}, encode, title="Negative prompt"),
    ]


def loader(id: int, type: str, model: str) -> Node:
    return Node(id, type, {"model_name": model, **LOADER})


def reference_nodes() -> list[Node]:
    """LoadVideo → Semantic Encoder → Compressor (ids 1-5 in every reference workflow)."""
    return [
        Node(1, "LoadVideo", {"file": SAMPLE_VIDEO}),
        Node(2, "SemanticGenEncoderLoader", {"encoder_name": ENCODER, "dtype": "auto", "device": "default"}),
        Node(3, "SemanticGenEncode", {"fps": FPS, "sample_fps": TOY_SAMPLE_FPS}, {"encoder": (2, 0), "video": (1, 0)}),
        Node(4, "SemanticGenCompressorLoader", {"compressor_name": COMPRESSOR, "dtype": "auto"}),
        Node(5, "SemanticGenCompress", {"mode": "mean", "seed": 0}, {"compressor": (4, 0), "features": (3, 0)}),
    ]


def save_nodes(create: int, images: tuple[int, int], prefix: str, fps: tuple[int, int] | None = None) -> list[Node]:
    """CreateVideo (ids `create`) → SaveVideo (`create` + 1)."""
    links = {"images": images, **({"fps": fps} if fps else {})}
    return [
        Node(create, "CreateVideo", {"fps": FPS}, links),
        Node(
            create + 1,
            "SaveVideo",
            {"filename_prefix": prefix, "format": "auto", "codec": "auto"},
            {"video": (create, 0)},
        ),
    ]


def decode_nodes(vae: int, samples: tuple[int, int], prefix: str, chunked: bool = False) -> list[Node]:
    """VAELoader (id `vae`) → decode (`vae` + 1) → CreateVideo → SaveVideo."""
    decode = (
        Node(vae + 1, "SemanticGenVAEDecode", {"chunk": 4}, {"vae": (vae, 0), "samples": samples})
        if chunked
        else Node(vae + 1, "VAEDecode", {}, {"samples": samples, "vae": (vae, 0)})
    )
    return [Node(vae, "VAELoader", {"vae_name": VAE}), decode, *save_nodes(vae + 2, (vae + 1, 0), prefix)]


def latent_sampler(id: int, model: int, positive: int, negative: int, semantic: int, attention: str = "full") -> Node:
    links = {"model": (model, 0), "positive": (positive, 0), "negative": (negative, 0), "semantic": (semantic, 0)}
    return Node(
        id, "SemanticGenLatentSampler", {**SAMPLING, "semantic_noise": 0.1, "attention": attention, "window": 8}, links
    )


def conditioned_ksampler(id: int, model: int, conditioning: int, title: str | None = None) -> Node:
    """Core's KSampler on the latent generator MODEL, fed by Semantic Conditioning's three outputs."""
    links = {"model": (model, 0), "positive": (conditioning, 0), "negative": (conditioning, 1)}
    return Node(id, "KSampler", KSAMPLER, {**links, "latent_image": (conditioning, 2)}, title=title)


def semantic_conditioning(id: int, positive: int, negative: int, semantic: int) -> Node:
    links = {"positive": (positive, 0), "negative": (negative, 0), "semantic": (semantic, 0)}
    return Node(id, "SemanticGenSemanticConditioning", {"semantic_noise": 0.1, "seed": 0}, links)


def text_to_video(prompt: str, frames: int, attention: str, prefix: str, chunked_decode: bool = False) -> list[Node]:
    """The text-to-video graph (short and long workflows differ only in length, attention and decode)."""
    return [
        *text_nodes(1, 2, 3, prompt),
        loader(4, "SemanticGenSemanticGeneratorLoader", SEMANTIC_GENERATOR),
        Node(
            5,
            "SemanticGenSemanticSampler",
            {**SAMPLING, "frames": frames, "width": SIZE, "height": SIZE},
            {"model": (4, 0), "positive": (2, 0), "negative": (3, 0)},
        ),
        loader(6, "SemanticGenLatentGeneratorLoader", LATENT_GENERATOR),
        latent_sampler(7, 6, 2, 3, 5, attention),
        *decode_nodes(8, (7, 0), prefix, chunked=chunked_decode),
    ]


def native_text_to_video(prompt: str, frames: int, prefix: str) -> list[Node]:
    """Text-to-video from core's KSampler: stage 1 samples an Empty Semantic Latent, stage 2 a latent with the
    semantic tokens attached to the conditioning. Same settings as the text-to-video workflow: the same video."""
    return [
        *text_nodes(1, 2, 3, prompt),
        loader(4, "SemanticGenSemanticModelLoader", SEMANTIC_GENERATOR),
        Node(
            5,
            "SemanticGenEmptySemanticLatent",
            {"frames": frames, "width": SIZE, "height": SIZE, "batch_size": 1},
            {"model": (4, 0)},
        ),
        Node(
            6,
            "KSampler",
            KSAMPLER,
            {"model": (4, 0), "positive": (2, 0), "negative": (3, 0), "latent_image": (5, 0)},
            title="KSampler (stage 1: semantic)",
        ),
        Node(7, "SemanticGenSemanticFromLatent", {}, {"latent": (6, 0)}),
        loader(8, "SemanticGenLatentModelLoader", LATENT_GENERATOR),
        semantic_conditioning(9, 2, 3, 7),
        conditioned_ksampler(10, 8, 9, title="KSampler (stage 2: latent)"),
        *decode_nodes(11, (10, 0), prefix),
    ]


def reference_resynthesis(prompt: str, prefix: str) -> list[Node]:
    """Reference re-synthesis with the pack's Latent Sampler: encoder + compressor give the semantic tokens."""
    return [
        *reference_nodes(),
        *text_nodes(6, 7, 14, prompt, title="New prompt"),
        loader(8, "SemanticGenLatentGeneratorLoader", LATENT_GENERATOR),
        latent_sampler(9, 8, 7, 14, 5),
        *decode_nodes(10, (9, 0), prefix),
    ]


def native_resynthesis(prompt: str, prefix: str) -> list[Node]:
    """Reference re-synthesis from core's KSampler: encoder + compressor give the semantic tokens."""
    return [
        *reference_nodes(),
        *text_nodes(6, 7, 8, prompt, title="New prompt"),
        loader(9, "SemanticGenLatentModelLoader", LATENT_GENERATOR),
        semantic_conditioning(10, 7, 8, 5),
        conditioned_ksampler(11, 9, 10),
        *decode_nodes(12, (11, 0), prefix),
    ]


# --- the Note on each canvas -----------------------------------------------------------------------------------


def _demo_models() -> str:
    """What the demo models know, from the toy world itself (semanticgen/toy/world.py)."""
    from semanticgen.toy.world import BACKGROUNDS, COLOURS, MOTIONS, SHAPES

    return (
        "What the demo models know: they were trained on a synthetic world, one shape on a plain background "
        f"moving in one direction: shapes {', '.join(SHAPES)}; colours {', '.join(COLOURS)}; backgrounds "
        f"{', '.join(BACKGROUNDS)}; motions {', '.join(MOTIONS)}. Clips of {FRAMES} frames, {SIZE}×{SIZE} px, "
        f'{FPS:g} fps. Write prompts like "{PROMPT}"; anything else (people, scenes, other words) they cannot draw.'
    )


def _weights(*folders: str) -> str:
    where = ", ".join(f"ComfyUI/models/{f}/" for f in folders)
    return (
        f"Real weights go in {where} and appear in the loaders (the demo models ship in this pack's models/ "
        "folder; no SemanticGen weights are public yet)."
    )


GENERATORS = ("semanticgen/semantic_generators", "semanticgen/latent_generators", "vae")
REFERENCE = ("semanticgen/encoders", "semanticgen/compressors")


def note(what: str, change: str, weights: tuple[str, ...], demo: str | None = None) -> str:
    return "\n\n".join([what, f"Change: {change}", demo or _demo_models(), _weights(*weights)])


REFERENCE_STAGE = Stage("Stage 1: semantic features from the video", "semantic", [[1, 2], [3, 4, 5]])


def stages(semantic: Stage, text: list[int], latent: list[list[int]], decode: list[list[int]]) -> list[Stage]:
    """A workflow's groups left to right: the text before stage 1 when stage 1 reads it, after the reference."""
    prompts = Stage("Text", "neutral", [text])
    first = [semantic, prompts] if semantic is REFERENCE_STAGE else [prompts, semantic]
    return [*first, Stage("Stage 2: latent", "latent", latent), Stage("Decode and save", "neutral", decode)]


T2V_STAGES = stages(Stage("Stage 1: semantic", "semantic", [[4, 5]]), [1, 2, 3], [[6, 7]], [[8, 9], [10, 11]])

WORKFLOWS = [
    Workflow(
        name="semanticgen_reference_features",
        title="SemanticGen: look at a video's semantic features",
        description="LoadVideo → Semantic Encoder → Semantic Compressor → Semantic Preview → SaveVideo.",
        nodes=[
            *reference_nodes(),
            Node(6, "SemanticGenPreview", {}, {"semantic": (5, 0)}),
            *save_nodes(7, (6, 0), "semanticgen/features", fps=(6, 1)),
        ],
        stages=[REFERENCE_STAGE, Stage("Preview and save", "neutral", [[6], [7, 8]])],
        note=note(
            "Shows what the semantic encoder sees in a video: its features, compressed, as a video whose colours are "
            "the top three PCA components. This is what the latent stage is conditioned on.",
            "the video in Load Video (upload your own); the Semantic Compressor's mode (mean, or a seeded sample "
            f"of the posterior). The Semantic Encoder samples frames at sample_fps ({TOY_SAMPLE_FPS:g} for the demo "
            "models, 1.6 for real Qwen2.5-VL models).",
            REFERENCE,
        ),
    ),
    Workflow(
        name="semanticgen_text_to_video",
        title="SemanticGen: text to video",
        description="Text → Semantic Sampler (stage 1) → Latent Sampler (stage 2) → VAE Decode → SaveVideo.",
        nodes=text_to_video(PROMPT, FRAMES, "full", "semanticgen/t2v"),
        stages=T2V_STAGES,
        note=note(
            "Text to video in two diffusion stages: the Semantic Sampler draws compact semantic features (what a "
            "video-understanding encoder would see), then the Latent Sampler draws Wan2.1 VAE latents conditioned "
            "on them, and the VAE decodes them.",
            "the Prompt; the seed on both samplers; frames (4k+1), width and height on the Semantic Sampler "
            "(the Latent Sampler takes its size from it).",
            GENERATORS,
        ),
    ),
    Workflow(
        name="semanticgen_long_video",
        title="SemanticGen: long video (60 s)",
        description="Text → Semantic Sampler (full attention over the whole minute) → Latent Sampler (Swin attention, "
        "8-latent-frame windows: cost linear in length) → VAE Decode (chunked, memory flat in length) → SaveVideo.",
        nodes=text_to_video(LONG_PROMPT, LONG_FRAMES, "swin", "semanticgen/long", chunked_decode=True),
        stages=T2V_STAGES,
        note=note(
            f"A minute of video ({LONG_FRAMES} frames at {FPS:g} fps): the Semantic Sampler plans the whole minute "
            "with full attention in the small semantic space; the Latent Sampler uses shifted-window (Swin) "
            "attention, so its cost grows linearly with length; the VAE decodes a few latent frames at a time.",
            "the Prompt; frames (4k+1) on the Semantic Sampler; window (latent frames) on the Latent Sampler; "
            "chunk on VAE Decode (chunked): smaller uses less memory.",
            GENERATORS,
            demo=_demo_models()
            + f" The generators never saw a clip longer than {FRAMES} frames or a bouncing one (the toy world's "
            "bouncing clips trained the VAE only): this workflow shows how the stages stretch what they know.",
        ),
    ),
    Workflow(
        name="semanticgen_reference_resynthesis",
        title="SemanticGen: re-synthesise a reference video with a new prompt",
        description="LoadVideo → Semantic Encoder → Compressor → Latent Sampler (new prompt) → VAE Decode → SaveVideo."
        " Layout and motion follow the reference; colour and texture follow the prompt.",
        nodes=reference_resynthesis(NEW_PROMPT, "semanticgen/resynthesis"),
        stages=stages(REFERENCE_STAGE, [6, 7, 14], [[8, 9]], [[10, 11], [12, 13]]),
        note=note(
            "Re-synthesis: the semantic features of a reference video replace stage 1, so position and motion "
            "follow the reference while the New prompt sets colour and background.",
            "the video in Load Video (upload your own; its fps on the Semantic Encoder); the New prompt; the "
            "Latent Sampler's seed and semantic_noise (more noise: looser to the reference).",
            REFERENCE + GENERATORS[1:],
        ),
    ),
    Workflow(
        name="semanticgen_native_text_to_video",
        title="SemanticGen: text to video with KSampler",
        description="Core's KSampler for both stages: Empty Semantic Latent → KSampler (semantic generator MODEL) → "
        "Semantic from Latent → Semantic Conditioning → KSampler (latent generator MODEL) → VAE Decode → SaveVideo. "
        "Any sampler, scheduler, LoRA or model patch of ComfyUI applies.",
        nodes=native_text_to_video(PROMPT, FRAMES, "semanticgen/native_t2v"),
        stages=stages(
            Stage("Stage 1: semantic", "semantic", [[4, 5], [6, 7]]), [1, 2, 3], [[8, 9], [10]], [[11, 12], [13, 14]]
        ),
        note=note(
            "The text-to-video workflow with core's KSampler for both stages (the same video at the same "
            "settings): stage 1 samples an Empty Semantic Latent with the semantic generator MODEL; Semantic "
            "Conditioning attaches the result to the prompt for stage 2. LoRA loaders and model patches apply.",
            "the Prompt; seed, steps, sampler and scheduler on either KSampler; frames (4k+1), width and height on "
            "Empty Semantic Latent.",
            GENERATORS,
        ),
    ),
    Workflow(
        name="semanticgen_native_resynthesis",
        title="SemanticGen: re-synthesise a reference video with KSampler",
        description="LoadVideo → Semantic Encoder → Compressor → Semantic Conditioning (new prompt) → KSampler "
        "(latent generator MODEL) → VAE Decode → SaveVideo.",
        nodes=native_resynthesis(NEW_PROMPT, "semanticgen/native_resynthesis"),
        stages=stages(REFERENCE_STAGE, [6, 7, 8], [[9, 10], [11]], [[12, 13], [14, 15]]),
        note=note(
            "Re-synthesis with core's KSampler: the reference video's semantic features, attached to the New prompt "
            "by Semantic Conditioning, guide the latent generator MODEL.",
            "the video in Load Video (upload your own; its fps on the Semantic Encoder); the New prompt; "
            "semantic_noise on Semantic Conditioning; the KSampler's seed, sampler and scheduler.",
            REFERENCE + GENERATORS[1:],
        ),
    ),
]


# --- layout: stages left to right, one group each, sizes from each node's slots and widgets ---------------------

TITLE = 30  # LiteGraph draws a node's title bar this far above node.pos[1] (LiteGraph.NODE_TITLE_HEIGHT)
SLOT, WIDGET, MULTILINE = 20, 24, 166  # a slot row, a widget row, a multiline text box (canvas px)
ROW_GAP, COLUMN_GAP = 50, 60  # free space between nodes in a column / between columns of one stage
PAD, GROUP_TITLE, GROUP_GAP = 24, 44, 40  # a group's margin around its nodes, its title bar, the gap between groups
WIDTH = {"SemanticGenTextEncode": 400, "Note": 420}
MIN_HEIGHT = {"LoadVideo": 440, "SaveVideo": 320}  # room for the video preview (LoadVideo: width + 74 px)
ESTIMATE = {"SemanticGenSemanticSampler", "SemanticGenLatentSampler", "KSampler"}  # js/memory_estimate.js's line
NEUTRAL = "#444444"
VIEW = {"scale": 0.8, "offset": [90, 160]}  # opens on the Note and the first stages, below the frontend's top bars
# (below ~0.6 the canvas draws nodes without their widgets: a template opens readable, the screenshot fits it all)


def stage_colours() -> dict[str, str]:
    """Group colours = the node body colours of js/stage_colours.js (read from it: one place)."""
    text = (ROOT / "js" / "stage_colours.js").read_text()
    colours = {k: v for k, v in re.findall(r'(\w+): \["#[0-9a-f]{6}", "(#[0-9a-f]{6})"\]', text)}
    return {"semantic": colours["semantic"], "latent": colours["latent"], "neutral": NEUTRAL}


def node_size(n: Node, object_info: dict) -> list[int]:
    """The canvas size of a node's body (below its title bar): slot rows, then one row per widget, as LiteGraph's
    computeSize counts them; multiline text boxes and video previews taller."""
    info = object_info[n.type]
    slots = [name for name, typ, _ in _linkable(n, object_info) if typ not in WIDGET_TYPES or name in n.links]
    rows = max(len(slots), len(info["output"]), 1)
    widgets = 0
    for name, typ, opts in _inputs(info):
        if typ in WIDGET_TYPES and name not in n.links:
            widgets += MULTILINE if typ == "STRING" and opts.get("multiline") else WIDGET
            widgets += WIDGET * (bool(opts.get("control_after_generate")) + any(opts.get(f) for f in UPLOAD_FLAGS))
    widgets += WIDGET if n.type in ESTIMATE else 0
    height = SLOT * rows + (widgets + 14 if widgets else 6)
    return [WIDTH.get(n.type, 320), max(height, MIN_HEIGHT.get(n.type, 0))]


def layout(wf: Workflow, object_info: dict) -> tuple[dict[int, tuple[list[int], list[int]]], list[dict]]:
    """Node id -> (pos, size), and the groups: the Note first, then each stage's columns left to right."""
    sizes = {n.id: node_size(n, object_info) for n in wf.nodes}
    sizes[note_id(wf)] = [WIDTH["Note"], 560]
    top = GROUP_TITLE + TITLE  # the first node's pos, below its group's title bar and its own
    placed = {note_id(wf): ([0, top], sizes[note_id(wf)])}
    x, groups, colours = WIDTH["Note"] + GROUP_GAP + PAD, [], stage_colours()
    for k, stage in enumerate(wf.stages):
        left, bottom = x, top
        for column in stage.columns:
            y = top
            for node_id in column:
                placed[node_id] = ([x, y], sizes[node_id])
                y += sizes[node_id][1] + ROW_GAP + TITLE
            bottom = max(bottom, y - ROW_GAP - TITLE)
            x += max(sizes[i][0] for i in column) + COLUMN_GAP
        right = x - COLUMN_GAP
        box = [left - PAD, top - TITLE - GROUP_TITLE, right - left + 2 * PAD, bottom - top + TITLE + GROUP_TITLE + PAD]
        groups.append(
            {
                "id": k + 1,
                "title": stage.title,
                "bounding": box,
                "color": colours[stage.kind],
                "font_size": 24,
                "flags": {},
            }
        )
        x = right + 2 * PAD + GROUP_GAP
    return placed, groups


def note_id(wf: Workflow) -> int:
    return max(n.id for n in wf.nodes) + 1


def rectangles(ui: dict) -> dict[int, tuple[float, float, float, float]]:
    """Node id -> (x, y, w, h) on the canvas, title bar included, from a UI workflow's (or a page's) nodes."""
    return {n["id"]: (n["pos"][0], n["pos"][1] - TITLE, n["size"][0], n["size"][1] + TITLE) for n in ui["nodes"]}


def overlapping(rects: dict) -> list[tuple]:
    """Pairs of keys whose rectangles (x, y, w, h) overlap (touching edges do not)."""
    items = sorted(rects.items())
    return [
        (a, b)
        for i, (a, (ax, ay, aw, ah)) in enumerate(items)
        for b, (bx, by, bw, bh) in items[i + 1 :]
        if ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah
    ]


def _inputs(info: dict) -> list[tuple[str, str, dict]]:
    """(name, type, options) of a node's inputs in the order the frontend lays out widgets."""
    spec = {**info["input"].get("required", {}), **info["input"].get("optional", {})}
    order = info.get("input_order", {})
    names = order.get("required", []) + order.get("optional", [])
    out = []
    for name in names:
        t, opts = spec[name][0], (spec[name][1] if len(spec[name]) > 1 else {})
        out.append((name, "COMBO" if isinstance(t, list) else t, opts))
    return out


def to_api(wf: Workflow, object_info: dict) -> dict:
    """API format: widget values and links by input name, titled like the frontend titles them."""
    prompt = {}
    for n in wf.nodes:
        inputs = dict(n.widgets)
        inputs.update({k: [str(src), slot] for k, (src, slot) in n.links.items()})
        prompt[str(n.id)] = {
            "class_type": n.type,
            "inputs": inputs,
            "_meta": {"title": n.title or object_info[n.type]["display_name"]},
        }
    return prompt


def to_ui(wf: Workflow, object_info: dict) -> dict:
    """UI (LiteGraph) format: positioned nodes, typed slots, a link table and positional widget values."""
    by_id = {n.id: n for n in wf.nodes}
    links, nodes = [], []
    out_links: dict[tuple[int, int], list[int]] = {}
    for n in wf.nodes:
        for name, (src, slot) in n.links.items():
            link_id = len(links) + 1
            src_type = object_info[by_id[src].type]["output"][slot]
            in_slot = [i for i, (iname, _, _) in enumerate(_linkable(n, object_info)) if iname == name][0]
            links.append([link_id, src, slot, n.id, in_slot, src_type])
            out_links.setdefault((src, slot), []).append(link_id)
    placed, groups = layout(wf, object_info)
    for order, n in enumerate(wf.nodes):
        info = object_info[n.type]
        inputs, widgets = [], []
        for name, typ, opts in _linkable(n, object_info):
            entry = {"name": name, "type": typ, "link": None}
            if opts.get("optional"):
                entry["shape"] = 7
            if typ in WIDGET_TYPES:
                entry["widget"] = {"name": name}
            link = [lk for lk in links if lk[3] == n.id and lk[4] == len(inputs)]
            entry["link"] = link[0][0] if link else None
            inputs.append(entry)
        for name, typ, opts in _inputs(info):
            if typ in WIDGET_TYPES:
                widgets.append(n.widgets.get(name, opts.get("default")))
                if opts.get("control_after_generate"):
                    widgets.append("fixed")  # the frontend's seed control: bundled workflows are reproducible
                if any(opts.get(flag) for flag in UPLOAD_FLAGS):
                    widgets.append("image")  # the frontend's upload button serialises this value
        outputs = [
            {"name": oname, "type": otype, "links": out_links.get((n.id, slot), [])}
            for slot, (oname, otype) in enumerate(zip(info["output_name"], info["output"], strict=True))
        ]
        node = {
            "id": n.id,
            "type": n.type,
            "pos": placed[n.id][0],
            "size": placed[n.id][1],
            "flags": {},
            "order": order,
            "mode": 0,
            "inputs": inputs,
            "outputs": outputs,
            "properties": {"Node name for S&R": n.type},
            "widgets_values": widgets,
        }
        if n.title:
            node["title"] = n.title
        nodes.append(node)
    nodes.append(note_node(note_id(wf), len(nodes), placed[note_id(wf)], wf.note))
    ui = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"semanticgen/{wf.name}")),
        "revision": 0,
        "last_node_id": note_id(wf),
        "last_link_id": len(links),
        "nodes": nodes,
        "links": links,
        "groups": groups,
        "config": {},
        "extra": {"ds": VIEW, "info": {"title": wf.title, "description": wf.description}},
        "version": 0.4,
    }
    if clash := overlapping(rectangles(ui)) + overlapping({g["id"]: g["bounding"] for g in groups}):
        raise ValueError(f"{wf.name}: overlapping nodes or groups {clash}")
    return ui


def note_node(id: int, order: int, place: tuple[list[int], list[int]], text: str) -> dict:
    """Core's frontend-only Note (a virtual node: graphToPrompt leaves it out of the API prompt)."""
    return {
        "id": id,
        "type": "Note",
        "pos": place[0],
        "size": place[1],
        "flags": {},
        "order": order,
        "mode": 0,
        "inputs": [],
        "outputs": [],
        "title": "Read me",
        "properties": {},
        "widgets_values": [text],
        "color": "#432",
        "bgcolor": "#653",
    }


def _linkable(n: Node, object_info: dict) -> list[tuple[str, str, dict]]:
    """Inputs that appear as slots: every socket input, plus widget inputs that this node links."""
    out = []
    for name, typ, opts in _inputs(object_info[n.type]):
        is_optional = name in object_info[n.type]["input"].get("optional", {})
        if typ not in WIDGET_TYPES or name in n.links:
            out.append((name, typ, {**opts, "optional": is_optional}))
    return out


def render_all(object_info: dict) -> dict[Path, str]:
    """Every file this script owns -> its text."""
    files = {}
    for wf in WORKFLOWS:
        files[FOLDER / f"{wf.name}.json"] = json.dumps(to_ui(wf, object_info), indent=2) + "\n"
        files[FOLDER / "api" / f"{wf.name}.json"] = json.dumps(to_api(wf, object_info), indent=2) + "\n"
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default=None, help="a running ComfyUI with this pack (default: start one)")
    a = ap.parse_args()
    if a.server:
        with urllib.request.urlopen(f"{a.server}/object_info", timeout=60) as r:
            object_info = json.load(r)
    else:
        import tempfile

        from host import Server

        with tempfile.TemporaryDirectory() as tmp:
            srv = Server(Path(tmp))
            try:
                object_info = srv.get("/object_info")[1]
            finally:
                srv.stop()
    for path, text in render_all(object_info).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
        sys.stdout.write(f"wrote {path.relative_to(ROOT)}\n")


if __name__ == "__main__":
    main()
