"""Native sampling: the generators as MODELs for core's KSampler / SamplerCustomAdvanced, and the small nodes that
connect them (an empty semantic latent, semantic features back from a LATENT, semantic conditioning, Swin)."""

from __future__ import annotations

import comfy.latent_formats
import comfy.model_management as mm
import torch
from comfy_api.latest import io

from ..semanticgen.adapter import load_wan_with_embedding
from ..semanticgen.features import SemanticSpace, SemanticVideo
from ..semanticgen.pipeline import latent_shape
from .generate import (
    LatentGeneratorLoader,
    SemanticGeneratorLoader,
    _GeneratorLoader,
    blocks_to_swap_input,
    build_generator,
)
from .inputs import seed_input, semantic_noise_input
from .models import check_choices, dtype_input, dtype_options, list_models, resolve_model
from .native import (
    DEFAULT_SHIFT,
    attach_semantic,
    dit_of,
    empty_semantic_latent,
    load_native,
    noised_semantic,
    semantic_from_latent,
    with_window,
)
from .types import Semantic

CATEGORY = "SemanticGen/native"
WAN21 = SemanticSpace()  # Wan2.1's VAE: 8× space, 4× time; its DiT's patches: 2×2


# V3 nodes cache their schema's types on the class, so the MODEL loaders derive from the shared base, never from
# the registered loaders (a subclass would inherit their custom output type).
class SemanticModelLoader(_GeneratorLoader):
    """The Semantic Generator loader with a MODEL socket: the same native model, for core's samplers."""

    NODE_ID, TITLE, KEY = (
        "SemanticGenSemanticModelLoader",
        "Load Semantic Generator (MODEL)",
        SemanticGeneratorLoader.KEY,
    )
    OUTPUT, ROLE = io.Model, "semantic"
    WHAT = "semantic generator as a native MODEL (stage 1, for KSampler with an Empty Semantic Latent)"


class LatentModelLoader(_GeneratorLoader):
    """The Latent Generator loader with a MODEL socket: the same native model, for core's samplers."""

    NODE_ID, TITLE, KEY = "SemanticGenLatentModelLoader", "Load Latent Generator (MODEL)", LatentGeneratorLoader.KEY
    OUTPUT, ROLE = io.Model, "latent"
    WHAT = "latent generator as a native MODEL (stage 2, for KSampler with Semantic Conditioning)"


WAN_FOLDER, EMBEDDING_FOLDER = "diffusion_models", "semanticgen_semantic_embeddings"


class WanLatentModelLoader(io.ComfyNode):
    """The adapter recipe's latent generator: the user's Wan2.1 DiT plus a trained semantic embedding, as a MODEL
    for core's LoraLoaderModelOnly (the recipe's LoRA) and samplers."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SemanticGenWanLatentModelLoader",
            display_name="Load Wan2.1 + Semantic Embedding (MODEL)",
            category=CATEGORY,
            description="A latent generator from your own Wan2.1 T2V DiT (models/diffusion_models) and the "
            "semantic_embedding.safetensors a LoRA training run wrote (models/semanticgen/semantic_embeddings). "
            "Apply the run's lora.safetensors with core's LoraLoaderModelOnly at strength 1, then Semantic "
            "Conditioning and KSampler as for any latent generator MODEL.",
            inputs=[
                io.Combo.Input(
                    "wan_model",
                    options=list_models(WAN_FOLDER),
                    tooltip="The Wan2.1 T2V DiT the LoRA was trained on (ComfyUI's single-file layout, e.g. "
                    "wan2.1_t2v_1.3B_fp16.safetensors): every key but the semantic embedding, in the sizes "
                    "the embedding file records.",
                ),
                io.Combo.Input(
                    "semantic_embedding",
                    options=list_models(EMBEDDING_FOLDER),
                    tooltip="semantic_embedding.safetensors from the same training run as the LoRA: the "
                    "in-context semantic tokens' embedding, with the DiT config and semantic space it was trained in.",
                ),
                dtype_input(fp8=True),
                blocks_to_swap_input(),
            ],
            outputs=[io.Model.Output(display_name="model")],
        )

    @classmethod
    def validate_inputs(cls, wan_model: str, semantic_embedding: str, dtype: str) -> bool | str:
        return check_choices(
            wan_model=(wan_model, list_models(WAN_FOLDER)),
            semantic_embedding=(semantic_embedding, list_models(EMBEDDING_FOLDER)),
            dtype=(dtype, dtype_options(fp8=True)),
        )

    @classmethod
    def execute(cls, wan_model: str, semantic_embedding: str, dtype: str, blocks_to_swap: int = 0) -> io.NodeOutput:
        wan = resolve_model(WAN_FOLDER, wan_model, "wan_model")
        embedding = resolve_model(EMBEDDING_FOLDER, semantic_embedding, "semantic_embedding")
        dit = build_generator(
            lambda **kw: load_wan_with_embedding(wan, embedding, **kw), dtype, blocks_to_swap, None, wan_model
        )  # its errors name wan_model or semantic_embedding
        return io.NodeOutput(load_native(dit, DEFAULT_SHIFT, mm.get_torch_device(), mm.unet_offload_device()))


def video_inputs() -> list:
    return [
        io.Int.Input("frames", default=17, min=1, max=8193, step=4, tooltip="Video frames: 4k+1 (1, 5, 9, 17, …)."),
        io.Int.Input("width", default=64, min=16, max=8192, step=16, tooltip="Video width in pixels."),
        io.Int.Input("height", default=64, min=16, max=8192, step=16, tooltip="Video height in pixels."),
    ]


class EmptySemanticLatent(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SemanticGenEmptySemanticLatent",
            display_name="Empty Semantic Latent",
            category=CATEGORY,
            description="An empty LATENT shaped like the compressed semantic features the semantic generator plans "
            "for a video of this size, for KSampler (stage 1). Sample it, then Semantic from Latent.",
            inputs=[
                io.Model.Input(
                    "model",
                    tooltip="The semantic generator (Load Semantic Generator (MODEL)): its "
                    "semantic space sets the shape.",
                ),
                *video_inputs(),
                io.Int.Input("batch_size", default=1, min=1, max=64, tooltip="Videos per run."),
            ],
            outputs=[io.Latent.Output(display_name="latent")],
        )

    @classmethod
    def execute(cls, model, frames: int, width: int, height: int, batch_size: int = 1) -> io.NodeOutput:
        return io.NodeOutput(empty_semantic_latent(dit_of(model), frames, width, height, batch_size))


class SemanticFromLatent(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SemanticGenSemanticFromLatent",
            display_name="Semantic from Latent",
            category=CATEGORY,
            description="The semantic features a KSampler sampled from an Empty Semantic Latent, as the pack's "
            "SEMANTIC (for Semantic Conditioning, the Latent Sampler or Semantic Preview).",
            inputs=[io.Latent.Input("latent", tooltip="A sampled semantic latent (from an Empty Semantic Latent).")],
            outputs=[Semantic.Output(display_name="semantic")],
        )

    @classmethod
    def execute(cls, latent: dict) -> io.NodeOutput:
        return io.NodeOutput(semantic_from_latent(latent))


class SemanticConditioning(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SemanticGenSemanticConditioning",
            display_name="Semantic Conditioning",
            category=CATEGORY,
            description="Attaches semantic features to both conditionings (in-context tokens of the latent "
            "generator MODEL, as image latents are for image-to-video) and gives the empty video latent they "
            "describe, for KSampler (stage 2).",
            inputs=[
                io.Conditioning.Input("positive", tooltip="The prompt."),
                io.Conditioning.Input("negative", tooltip="The negative prompt (cfg guides away from it)."),
                Semantic.Input(
                    "semantic",
                    tooltip="Compressed semantic features (Semantic from Latent, or the "
                    "Semantic Compressor for a reference video).",
                ),
                semantic_noise_input(
                    "Noise mixed into the semantic features (the training noise augmentation): a "
                    "little closes the gap between encoded and generated features."
                ),
                seed_input("Seed of the semantic noise (use the KSampler's seed to match the Latent Sampler)."),
            ],
            outputs=[
                io.Conditioning.Output(display_name="positive"),
                io.Conditioning.Output(display_name="negative"),
                io.Latent.Output(display_name="latent"),
            ],
        )

    @classmethod
    def execute(cls, positive, negative, semantic: SemanticVideo, semantic_noise: float, seed: int) -> io.NodeOutput:
        if not semantic.compressed:
            raise ValueError("semantic: these are raw encoder features; connect them through the Semantic Compressor")
        sem = noised_semantic(semantic, semantic_noise, seed)
        channels = comfy.latent_formats.Wan21().latent_channels
        shape = latent_shape(sem, WAN21, channels, (1, 2, 2))
        return io.NodeOutput(
            attach_semantic(positive, sem), attach_semantic(negative, sem), {"samples": torch.zeros(shape)}
        )


class SwinAttention(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SemanticGenSwinAttention",
            display_name="Swin Attention (long video)",
            category=CATEGORY,
            description="Patches a latent generator MODEL to attend in shifted windows of latent frames: cost and "
            "memory grow linearly with video length. Works under any native sampler.",
            inputs=[
                io.Model.Input("model", tooltip="A latent generator (Load Latent Generator (MODEL))."),
                io.Int.Input(
                    "window",
                    default=8,
                    min=1,
                    max=1024,
                    tooltip="Window length in latent frames "
                    "(1 latent frame = 4 video frames); odd layers shift windows by half.",
                ),
            ],
            outputs=[io.Model.Output(display_name="model")],
        )

    @classmethod
    def execute(cls, model, window: int) -> io.NodeOutput:
        return io.NodeOutput(with_window(model, window))


NODES = [
    SemanticModelLoader,
    LatentModelLoader,
    WanLatentModelLoader,
    EmptySemanticLatent,
    SemanticFromLatent,
    SemanticConditioning,
    SwinAttention,
]
