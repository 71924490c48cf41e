"""The two generators: loaders, Semantic Sampler (text -> semantic) and Latent Sampler (semantic -> LATENT)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import comfy.latent_formats
import comfy.model_management as mm
import comfy.ops
import torch
from comfy_api.latest import io

from ..semanticgen.checkpoints import CheckpointError
from ..semanticgen.dit import SemanticGenDiT
from ..semanticgen.dit_io import load_dit
from ..semanticgen.features import SemanticVideo
from ..semanticgen.flow import SAMPLERS
from ..semanticgen.offload import enable_block_swap
from ..semanticgen.pipeline import SamplingOptions, check_latent_request, check_semantic_request
from .inputs import (
    ATTENTION_OPTIONS,
    attention_inputs,
    cfg_input,
    frames_input,
    sampler_input,
    seed_input,
    semantic_noise_input,
    size_inputs,
    steps_input,
    swin_window,
)
from .models import (
    FOLDERS,
    check_choice,
    check_choices,
    dtype_input,
    dtype_name,
    dtype_options,
    list_models,
    pick_dtypes,
    resolve_model,
)
from .native import (
    DEFAULT_SHIFT,
    attach_semantic,
    dit_of,
    empty_semantic_latent,
    ksample,
    load_native,
    noised_semantic,
    semantic_from_latent,
    with_shift,
    with_window,
)
from .types import LatentGenerator, Semantic, SemanticGenerator

log = logging.getLogger(__name__)
CATEGORY = "SemanticGen/generate"


def load_generator(key: str, name: str, dtype: str, blocks_to_swap: int, role: str) -> SemanticGenDiT:
    """The checkpoint as a SemanticGenDiT in ComfyUI's choice of layers (the loaders' one place of loading)."""
    path = resolve_model(key, name, "model_name")
    model = build_generator(lambda **kw: load_dit(path, **kw), dtype, blocks_to_swap, "model_name", name)
    is_latent = bool(model.config.semantic_dim)
    if is_latent != (role == "latent"):
        other = "latent" if is_latent else "semantic"
        raise ValueError(f"model_name: {name} is a {other} generator; load it with the {other} generator loader")
    return model


def build_generator(
    load: Callable[..., SemanticGenDiT], dtype: str, blocks_to_swap: int, input_name: str | None, name: str
) -> SemanticGenDiT:
    """`load(dtype=, operations=, compute_dtype=)` (a library loader) in the dtypes and layers ComfyUI picks for its
    device, with block swap; a CheckpointError becomes a ValueError naming `input_name` (None: the loader's
    messages name the inputs themselves)."""
    device = mm.get_torch_device()
    storage, compute = pick_dtypes(dtype, device)
    try:
        # ComfyUI's choice of layers: plain ones when weights are stored in the compute dtype (its partial loading
        # switches any it leaves offloaded to casting), casting ones (manual_cast) otherwise, e.g. fp8 storage
        ops = comfy.ops.pick_operations(storage, compute, load_device=device)
        model = load(dtype=storage, operations=ops, compute_dtype=compute)
    except CheckpointError as e:
        raise ValueError(f"{input_name}: {e}" if input_name else str(e)) from e
    enable_block_swap(model, blocks_to_swap, pin=device.type == "cuda")
    log.info(
        "SemanticGen: %s: weights %s, compute %s on %s, %d of %d blocks swapped to host",
        name,
        dtype_name(storage) if storage == compute else f"{dtype_name(storage)} (norms/biases {dtype_name(compute)})",
        dtype_name(compute),
        device,
        blocks_to_swap,
        model.config.num_layers,
    )
    return model


def _loader_schema(node_id: str, title: str, key: str, output, what: str) -> io.Schema:
    return io.Schema(
        node_id=node_id,
        display_name=title,
        category=CATEGORY,
        description=f"Loads a {what} (SemanticGen DiT .safetensors, Wan2.1 layout) from models/{FOLDERS[key]}.",
        inputs=[
            io.Combo.Input("model_name", options=list_models(key), tooltip=f"The {what} checkpoint."),
            dtype_input(fp8=True),
            blocks_to_swap_input(),
        ],
        outputs=[output.Output(display_name="model")],
    )


def blocks_to_swap_input() -> io.Int.Input:
    return io.Int.Input(
        "blocks_to_swap",
        default=0,
        min=0,
        max=100,
        tooltip="Blocks kept in host memory and streamed to the GPU one at a time (the next one is copied "
        "while the current one runs). More = less VRAM, slower. See the Memory Plan node.",
    )


class _GeneratorLoader(io.ComfyNode):
    """Shared by both loaders: they differ only in folder, socket type and role."""

    NODE_ID, TITLE, KEY, OUTPUT, ROLE, WHAT = "", "", "", None, "", ""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return _loader_schema(cls.NODE_ID, cls.TITLE, cls.KEY, cls.OUTPUT, cls.WHAT)

    @classmethod
    def validate_inputs(cls, model_name: str, dtype: str) -> bool | str:
        return check_choices(model_name=(model_name, list_models(cls.KEY)), dtype=(dtype, dtype_options(fp8=True)))

    @classmethod
    def execute(cls, model_name: str, dtype: str, blocks_to_swap: int = 0) -> io.NodeOutput:
        dit = load_generator(cls.KEY, model_name, dtype, blocks_to_swap, cls.ROLE)
        return io.NodeOutput(load_native(dit, DEFAULT_SHIFT, mm.get_torch_device(), mm.unet_offload_device()))


class SemanticGeneratorLoader(_GeneratorLoader):
    NODE_ID, TITLE, KEY = (
        "SemanticGenSemanticGeneratorLoader",
        "Load Semantic Generator",
        "semanticgen_semantic_generators",
    )
    OUTPUT, ROLE, WHAT = SemanticGenerator, "semantic", "semantic generator (stage 1: text → semantic features)"


class LatentGeneratorLoader(_GeneratorLoader):
    NODE_ID, TITLE, KEY = "SemanticGenLatentGeneratorLoader", "Load Latent Generator", "semanticgen_latent_generators"
    OUTPUT, ROLE, WHAT = LatentGenerator, "latent", "latent generator (stage 2: semantic features → VAE latents)"


def _sampling_inputs(cfg_default: float) -> list:
    return [
        seed_input("Noise seed; noise is drawn on the CPU, so a seed gives the same result on any device."),
        steps_input(),
        cfg_input(cfg_default),
        io.Float.Input(
            "shift",
            default=3.0,
            min=0.1,
            max=20.0,
            step=0.1,
            tooltip="Timestep shift: more steps at high noise. Larger for larger videos (Wan uses 3–8).",
        ),
        sampler_input(),
    ]


def _options(model, seed: int, steps: int, cfg: float, shift: float, sampler: str) -> SamplingOptions:
    """Sampling options on the patcher's device, with its free memory as the planner's budget (after loading)."""
    return SamplingOptions(
        seed=seed,
        steps=steps,
        cfg=cfg,
        shift=shift,
        sampler=sampler,
        device=model.load_device,
        memory_budget=mm.get_free_memory(model.load_device),
    )


def _context(cond, name: str):
    if cond is None:
        return None
    try:
        context = cond[0][0]
    except (TypeError, IndexError, KeyError) as e:
        raise ValueError(f"{name}: expected CONDITIONING from a text encoder") from e
    if len(cond) != 1:
        raise ValueError(
            f"{name}: expected one conditioning entry, got {len(cond)} (combined prompts are not supported)"
        )
    return context


class SemanticSampler(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SemanticGenSemanticSampler",
            display_name="Semantic Sampler",
            category=CATEGORY,
            description="Stage 1: generates the compressed semantic features of a video from text, with full "
            "attention over the whole (small) semantic sequence.",
            inputs=[
                SemanticGenerator.Input("model", tooltip="From Load Semantic Generator."),
                io.Conditioning.Input("positive", tooltip="The prompt."),
                io.Conditioning.Input("negative", optional=True, tooltip="Negative prompt for guidance (optional)."),
                *_sampling_inputs(5.0),
                frames_input("Video length in frames, 4k+1 (the Wan VAE's temporal grid)."),
                *size_inputs("Video width in pixels, multiple of 16.", "Video height in pixels, multiple of 16."),
            ],
            outputs=[Semantic.Output(display_name="semantic")],
        )

    @classmethod
    def validate_inputs(cls, sampler: str) -> bool | str:
        return check_choice("sampler", sampler, list(SAMPLERS))

    @classmethod
    def execute(
        cls,
        model,
        positive,
        seed: int,
        steps: int,
        cfg: float,
        shift: float,
        sampler: str,
        frames: int,
        width: int,
        height: int,
        negative=None,
    ) -> io.NodeOutput:
        dit = dit_of(model)
        mm.load_models_gpu([model])
        opts = _options(model, seed, steps, cfg, shift, sampler)
        context = _context(positive, "positive")
        check_semantic_request(dit, context, _context(negative, "negative"), frames, height, width, opts)
        latent = empty_semantic_latent(dit, frames, width, height, batch=context.shape[0])
        out = ksample(with_shift(model, shift), latent, positive, negative, seed, steps, cfg, sampler)
        return io.NodeOutput(semantic_from_latent(out))


class LatentSampler(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SemanticGenLatentSampler",
            display_name="Latent Sampler",
            category=CATEGORY,
            description="Stage 2: generates Wan2.1 VAE latents from text plus semantic features (in-context "
            "conditioning). Length and size follow the video the semantic features describe.",
            inputs=[
                LatentGenerator.Input("model", tooltip="From Load Latent Generator."),
                io.Conditioning.Input("positive", tooltip="The prompt (texture and colour follow it)."),
                io.Conditioning.Input("negative", optional=True, tooltip="Negative prompt for guidance (optional)."),
                Semantic.Input("semantic", tooltip="From Semantic Sampler or Semantic Compressor (layout and motion)."),
                *_sampling_inputs(5.0),
                semantic_noise_input(
                    "Noise added to the semantic features first (closes the train/test gap; "
                    "more = looser adherence to the reference)."
                ),
                *attention_inputs(
                    "full: every token sees the whole video (cost grows with length²). swin: shifted time windows "
                    "for long videos (cost grows linearly; odd layers shift by half a window).",
                    "Swin window in latent frames (1 latent frame = 4 video frames). Ignored for full attention.",
                ),
            ],
            outputs=[io.Latent.Output(display_name="latent")],
        )

    @classmethod
    def validate_inputs(cls, sampler: str, attention: str) -> bool | str:
        return check_choices(sampler=(sampler, list(SAMPLERS)), attention=(attention, ATTENTION_OPTIONS))

    @classmethod
    def execute(
        cls,
        model,
        positive,
        semantic: SemanticVideo,
        seed: int,
        steps: int,
        cfg: float,
        shift: float,
        sampler: str,
        semantic_noise: float,
        attention: str = "full",
        window: int = 8,
        negative=None,
    ) -> io.NodeOutput:
        dit, window = dit_of(model), swin_window(attention, window)
        mm.load_models_gpu([model])
        opts = _options(model, seed, steps, cfg, shift, sampler)
        contexts = _context(positive, "positive"), _context(negative, "negative")
        _, shape = check_latent_request(dit, *contexts, semantic, semantic_noise, opts, window)
        sem = noised_semantic(semantic, semantic_noise, seed)
        positive = attach_semantic(positive, sem)
        negative = attach_semantic(negative, sem) if negative is not None else None
        model = with_window(with_shift(model, shift), window)
        return io.NodeOutput(
            ksample(model, {"samples": torch.zeros(shape)}, positive, negative, seed, steps, cfg, sampler)
        )
