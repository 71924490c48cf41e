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
import sys
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "example_workflows"  # the name both ComfyUI hosts serve as this pack's templates (and recommend)
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
UPLOAD_FLAGS = ("image_upload", "video_upload", "audio_upload", "animated_image_upload")


@dataclass
class Node:
    id: int
    type: str
    widgets: dict = field(default_factory=dict)  # widget name -> value
    links: dict = field(default_factory=dict)  # input name -> (source node id, output slot)
    pos: tuple[float, float] = (0.0, 0.0)
    title: str | None = None


@dataclass
class Workflow:
    name: str
    title: str
    description: str
    nodes: list[Node]


ENCODER = "toy_encoder.safetensors"
COMPRESSOR = "toy_compressor_c8.safetensors"
SAMPLE_VIDEO = "semanticgen_sample.mp4"
TOY_SAMPLE_FPS = 4.0  # the demo models' semantic space samples the 8 fps toy clips at 4 fps (real models: 1.6)
SEMANTIC_GENERATOR = "toy_semantic_generator.safetensors"
LATENT_GENERATOR = "toy_latent_generator.safetensors"
VAE = "toy_wan_vae.safetensors"
PROMPT = "a red circle moving left on a black background"
NEGATIVE = ""
LONG_PROMPT = "a white square bouncing off the walls on a navy background"
LONG_FRAMES = 481  # 60 s at the toy world's 8 fps (4k+1 frames: 121 latent frames)
SAMPLING = {"seed": 0, "steps": 20, "cfg": 3.0, "shift": 3.0, "sampler": "euler"}


def text_to_video(prompt: str, frames: int, attention: str, prefix: str, chunked_decode: bool = False) -> list[Node]:
    """The text-to-video graph (short and long workflows differ only in length, attention and decode)."""
    decode = (
        Node(9, "SemanticGenVAEDecode", {"chunk": 4}, {"vae": (8, 0), "samples": (7, 0)}, pos=(1140, 120))
        if chunked_decode
        else Node(9, "VAEDecode", {}, {"samples": (7, 0), "vae": (8, 0)}, pos=(1140, 120))
    )
    sampler = {**SAMPLING, "semantic_noise": 0.1, "attention": attention, "window": 8}
    return [
        Node(1, "SemanticGenTextEncoderLoader", {}, pos=(0, 0)),
        Node(2, "SemanticGenTextEncode", {"text": prompt}, {"text_encoder": (1, 0)}, pos=(0, 120), title="Prompt"),
        Node(
            3,
            "SemanticGenTextEncode",
            {"text": NEGATIVE},
            {"text_encoder": (1, 0)},
            pos=(0, 360),
            title="Negative prompt",
        ),
        Node(
            4,
            "SemanticGenSemanticGeneratorLoader",
            {"model_name": SEMANTIC_GENERATOR, "dtype": "auto", "blocks_to_swap": 0},
            pos=(380, 0),
        ),
        Node(
            5,
            "SemanticGenSemanticSampler",
            {**SAMPLING, "frames": frames, "width": 64, "height": 64},
            {"model": (4, 0), "positive": (2, 0), "negative": (3, 0)},
            pos=(380, 180),
        ),
        Node(
            6,
            "SemanticGenLatentGeneratorLoader",
            {"model_name": LATENT_GENERATOR, "dtype": "auto", "blocks_to_swap": 0},
            pos=(760, 0),
        ),
        Node(
            7,
            "SemanticGenLatentSampler",
            sampler,
            {"model": (6, 0), "positive": (2, 0), "negative": (3, 0), "semantic": (5, 0)},
            pos=(760, 180),
        ),
        Node(8, "VAELoader", {"vae_name": VAE}, pos=(1140, 0)),
        decode,
        Node(10, "CreateVideo", {"fps": 8.0}, {"images": (9, 0)}, pos=(1140, 300)),
        Node(
            11,
            "SaveVideo",
            {"filename_prefix": prefix, "format": "auto", "codec": "auto"},
            {"video": (10, 0)},
            pos=(1460, 0),
        ),
    ]


KSAMPLER = {"seed": 0, "steps": 20, "cfg": 3.0, "sampler_name": "euler", "scheduler": "simple", "denoise": 1.0}


def native_text_to_video(prompt: str, frames: int, prefix: str) -> list[Node]:
    """Text-to-video from core's KSampler: stage 1 samples an Empty Semantic Latent, stage 2 a latent with the
    semantic tokens attached to the conditioning. Same settings as the text-to-video workflow: the same video."""
    return [
        Node(1, "SemanticGenTextEncoderLoader", {}, pos=(0, 0)),
        Node(2, "SemanticGenTextEncode", {"text": prompt}, {"text_encoder": (1, 0)}, pos=(0, 120), title="Prompt"),
        Node(
            3,
            "SemanticGenTextEncode",
            {"text": NEGATIVE},
            {"text_encoder": (1, 0)},
            pos=(0, 360),
            title="Negative prompt",
        ),
        Node(
            4,
            "SemanticGenSemanticModelLoader",
            {"model_name": SEMANTIC_GENERATOR, "dtype": "auto", "blocks_to_swap": 0},
            pos=(380, 0),
        ),
        Node(
            5,
            "SemanticGenEmptySemanticLatent",
            {"frames": frames, "width": 64, "height": 64, "batch_size": 1},
            {"model": (4, 0)},
            pos=(380, 180),
        ),
        Node(
            6,
            "KSampler",
            KSAMPLER,
            {"model": (4, 0), "positive": (2, 0), "negative": (3, 0), "latent_image": (5, 0)},
            pos=(760, 0),
            title="KSampler (stage 1: semantic)",
        ),
        Node(7, "SemanticGenSemanticFromLatent", {}, {"latent": (6, 0)}, pos=(760, 420)),
        Node(
            8,
            "SemanticGenLatentModelLoader",
            {"model_name": LATENT_GENERATOR, "dtype": "auto", "blocks_to_swap": 0},
            pos=(1140, 0),
        ),
        Node(
            9,
            "SemanticGenSemanticConditioning",
            {"semantic_noise": 0.1, "seed": 0},
            {"positive": (2, 0), "negative": (3, 0), "semantic": (7, 0)},
            pos=(1140, 180),
        ),
        Node(
            10,
            "KSampler",
            KSAMPLER,
            {"model": (8, 0), "positive": (9, 0), "negative": (9, 1), "latent_image": (9, 2)},
            pos=(1520, 0),
            title="KSampler (stage 2: latent)",
        ),
        Node(11, "VAELoader", {"vae_name": VAE}, pos=(1520, 420)),
        Node(12, "VAEDecode", {}, {"samples": (10, 0), "vae": (11, 0)}, pos=(1900, 0)),
        Node(13, "CreateVideo", {"fps": 8.0}, {"images": (12, 0)}, pos=(1900, 120)),
        Node(
            14,
            "SaveVideo",
            {"filename_prefix": prefix, "format": "auto", "codec": "auto"},
            {"video": (13, 0)},
            pos=(2220, 0),
        ),
    ]


def native_resynthesis(prompt: str, prefix: str) -> list[Node]:
    """Reference re-synthesis from core's KSampler: encoder + compressor give the semantic tokens."""
    return [
        Node(1, "LoadVideo", {"file": SAMPLE_VIDEO}, pos=(0, 0)),
        Node(
            2, "SemanticGenEncoderLoader", {"encoder_name": ENCODER, "dtype": "auto", "device": "default"}, pos=(0, 480)
        ),
        Node(
            3,
            "SemanticGenEncode",
            {"fps": 8.0, "sample_fps": TOY_SAMPLE_FPS},
            {"encoder": (2, 0), "video": (1, 0)},
            pos=(360, 0),
        ),
        Node(4, "SemanticGenCompressorLoader", {"compressor_name": COMPRESSOR, "dtype": "auto"}, pos=(360, 260)),
        Node(
            5,
            "SemanticGenCompress",
            {"mode": "mean", "seed": 0},
            {"compressor": (4, 0), "features": (3, 0)},
            pos=(360, 400),
        ),
        Node(6, "SemanticGenTextEncoderLoader", {}, pos=(720, 0)),
        Node(
            7, "SemanticGenTextEncode", {"text": prompt}, {"text_encoder": (6, 0)}, pos=(720, 120), title="New prompt"
        ),
        Node(
            8,
            "SemanticGenTextEncode",
            {"text": NEGATIVE},
            {"text_encoder": (6, 0)},
            pos=(720, 360),
            title="Negative prompt",
        ),
        Node(
            9,
            "SemanticGenLatentModelLoader",
            {"model_name": LATENT_GENERATOR, "dtype": "auto", "blocks_to_swap": 0},
            pos=(720, 600),
        ),
        Node(
            10,
            "SemanticGenSemanticConditioning",
            {"semantic_noise": 0.1, "seed": 0},
            {"positive": (7, 0), "negative": (8, 0), "semantic": (5, 0)},
            pos=(1080, 0),
        ),
        Node(
            11,
            "KSampler",
            KSAMPLER,
            {"model": (9, 0), "positive": (10, 0), "negative": (10, 1), "latent_image": (10, 2)},
            pos=(1440, 0),
        ),
        Node(12, "VAELoader", {"vae_name": VAE}, pos=(1440, 420)),
        Node(13, "VAEDecode", {}, {"samples": (11, 0), "vae": (12, 0)}, pos=(1800, 0)),
        Node(14, "CreateVideo", {"fps": 8.0}, {"images": (13, 0)}, pos=(1800, 120)),
        Node(
            15,
            "SaveVideo",
            {"filename_prefix": prefix, "format": "auto", "codec": "auto"},
            {"video": (14, 0)},
            pos=(2120, 0),
        ),
    ]


WORKFLOWS = [
    Workflow(
        name="semanticgen_reference_features",
        title="SemanticGen: look at a video's semantic features",
        description="LoadVideo → Semantic Encoder → Semantic Compressor → Semantic Preview → SaveVideo.",
        nodes=[
            Node(1, "LoadVideo", {"file": SAMPLE_VIDEO}, pos=(0, 0)),
            Node(
                2,
                "SemanticGenEncoderLoader",
                {"encoder_name": ENCODER, "dtype": "auto", "device": "default"},
                pos=(0, 380),
            ),
            Node(
                3,
                "SemanticGenEncode",
                {"fps": 8.0, "sample_fps": TOY_SAMPLE_FPS},
                {"encoder": (2, 0), "video": (1, 0)},
                pos=(360, 0),
            ),
            Node(4, "SemanticGenCompressorLoader", {"compressor_name": COMPRESSOR, "dtype": "auto"}, pos=(360, 380)),
            Node(
                5,
                "SemanticGenCompress",
                {"mode": "mean", "seed": 0},
                {"compressor": (4, 0), "features": (3, 0)},
                pos=(720, 0),
            ),
            Node(6, "SemanticGenPreview", {}, {"semantic": (5, 0)}, pos=(1080, 0)),
            Node(7, "CreateVideo", {"fps": 8.0}, {"images": (6, 0), "fps": (6, 1)}, pos=(1380, 0)),
            Node(
                8,
                "SaveVideo",
                {"filename_prefix": "semanticgen/features", "format": "auto", "codec": "auto"},
                {"video": (7, 0)},
                pos=(1680, 0),
            ),
        ],
    ),
    Workflow(
        name="semanticgen_text_to_video",
        title="SemanticGen: text to video",
        description="Text → Semantic Sampler (stage 1) → Latent Sampler (stage 2) → VAE Decode → SaveVideo.",
        nodes=text_to_video(PROMPT, 17, "full", "semanticgen/t2v"),
    ),
    Workflow(
        name="semanticgen_long_video",
        title="SemanticGen: long video (60 s)",
        description="Text → Semantic Sampler (full attention over the whole minute) → Latent Sampler (Swin attention, "
        "8-latent-frame windows: cost linear in length) → VAE Decode (chunked, memory flat in length) → SaveVideo.",
        nodes=text_to_video(LONG_PROMPT, LONG_FRAMES, "swin", "semanticgen/long", chunked_decode=True),
    ),
    Workflow(
        name="semanticgen_reference_resynthesis",
        title="SemanticGen: re-synthesise a reference video with a new prompt",
        description="LoadVideo → Semantic Encoder → Compressor → Latent Sampler (new prompt) → VAE Decode → SaveVideo."
        " Layout and motion follow the reference; colour and texture follow the prompt.",
        nodes=[
            Node(1, "LoadVideo", {"file": SAMPLE_VIDEO}, pos=(0, 0)),
            Node(
                2,
                "SemanticGenEncoderLoader",
                {"encoder_name": ENCODER, "dtype": "auto", "device": "default"},
                pos=(0, 480),
            ),
            Node(
                3,
                "SemanticGenEncode",
                {"fps": 8.0, "sample_fps": TOY_SAMPLE_FPS},
                {"encoder": (2, 0), "video": (1, 0)},
                pos=(360, 0),
            ),
            Node(4, "SemanticGenCompressorLoader", {"compressor_name": COMPRESSOR, "dtype": "auto"}, pos=(360, 260)),
            Node(
                5,
                "SemanticGenCompress",
                {"mode": "mean", "seed": 0},
                {"compressor": (4, 0), "features": (3, 0)},
                pos=(360, 400),
            ),
            Node(6, "SemanticGenTextEncoderLoader", {}, pos=(720, 0)),
            Node(
                7,
                "SemanticGenTextEncode",
                {"text": "a yellow circle on a navy background"},
                {"text_encoder": (6, 0)},
                pos=(720, 120),
                title="New prompt",
            ),
            Node(  # without a negative, the sampler's cfg has nothing to guide against
                14,
                "SemanticGenTextEncode",
                {"text": NEGATIVE},
                {"text_encoder": (6, 0)},
                pos=(720, 360),
                title="Negative prompt",
            ),
            Node(
                8,
                "SemanticGenLatentGeneratorLoader",
                {"model_name": LATENT_GENERATOR, "dtype": "auto", "blocks_to_swap": 0},
                pos=(720, 600),
            ),
            Node(
                9,
                "SemanticGenLatentSampler",
                {**SAMPLING, "semantic_noise": 0.1, "attention": "full", "window": 8},
                {"model": (8, 0), "positive": (7, 0), "negative": (14, 0), "semantic": (5, 0)},
                pos=(1080, 0),
            ),
            Node(10, "VAELoader", {"vae_name": VAE}, pos=(1080, 420)),
            Node(11, "VAEDecode", {}, {"samples": (9, 0), "vae": (10, 0)}, pos=(1420, 0)),
            Node(12, "CreateVideo", {"fps": 8.0}, {"images": (11, 0)}, pos=(1420, 120)),
            Node(
                13,
                "SaveVideo",
                {"filename_prefix": "semanticgen/resynthesis", "format": "auto", "codec": "auto"},
                {"video": (12, 0)},
                pos=(1740, 0),
            ),
        ],
    ),
    Workflow(
        name="semanticgen_native_text_to_video",
        title="SemanticGen: text to video with KSampler",
        description="Core's KSampler for both stages: Empty Semantic Latent → KSampler (semantic generator MODEL) → "
        "Semantic from Latent → Semantic Conditioning → KSampler (latent generator MODEL) → VAE Decode → SaveVideo. "
        "Any sampler, scheduler, LoRA or model patch of ComfyUI applies.",
        nodes=native_text_to_video(PROMPT, 17, "semanticgen/native_t2v"),
    ),
    Workflow(
        name="semanticgen_native_resynthesis",
        title="SemanticGen: re-synthesise a reference video with KSampler",
        description="LoadVideo → Semantic Encoder → Compressor → Semantic Conditioning (new prompt) → KSampler "
        "(latent generator MODEL) → VAE Decode → SaveVideo.",
        nodes=native_resynthesis("a yellow circle on a navy background", "semanticgen/native_resynthesis"),
    ),
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
            "pos": list(n.pos),
            "size": [300, 120],
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
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"semanticgen/{wf.name}")),
        "revision": 0,
        "last_node_id": max(by_id),
        "last_link_id": len(links),
        "nodes": nodes,
        "links": links,
        "groups": [],
        "config": {},
        "extra": {"ds": {"scale": 0.8, "offset": [40, 40]}, "info": {"title": wf.title, "description": wf.description}},
        "version": 0.4,
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
