"""Memory Plan: the planner's per-stage memory and time estimate for a run, before loading anything (reads
checkpoint headers)."""

from __future__ import annotations

import comfy.model_management as mm
from comfy_api.latest import io, ui

from ..semanticgen.checkpoints import CheckpointError
from ..semanticgen.cost import forward_passes, matmul_throughput, stage_seconds, with_time
from ..semanticgen.dit_io import read_dit_config
from ..semanticgen.features import SemanticSpace
from ..semanticgen.flow import SAMPLERS
from ..semanticgen.memory import Settings, report
from .inputs import (
    ATTENTION_OPTIONS,
    attention_inputs,
    cfg_input,
    frames_input,
    sampler_input,
    size_inputs,
    steps_input,
    swin_window,
)
from .models import check_choices, dtype_input, dtype_options, list_models, pick_dtypes, resolve_model

CATEGORY = "SemanticGen/generate"
NONE = "none"
PRESETS = {"this device": None, "8 GB": 8, "12 GB": 12, "16 GB": 16, "24 GB": 24, "48 GB": 48, "80 GB": 80}


def budget_bytes(preset: str) -> int:
    """Bytes of device memory a preset stands for; "this device" is the free memory of ComfyUI's device."""
    gb = PRESETS[preset]
    return int(gb * 1e9) if gb is not None else mm.get_free_memory(mm.get_torch_device())


def plan_run(
    latent_generator: str,
    semantic_generator: str,
    width: int,
    height: int,
    frames: int,
    attention: str,
    window: int,
    blocks_to_swap: int,
    dtype: str,
    device_memory: str,
    steps: int,
    cfg: float,
    sampler: str,
) -> dict:
    """The planner's report for generator names and settings (shared by the node and the frontend's route)."""
    configs = []
    for key, name, input_name in (
        ("semanticgen_latent_generators", latent_generator, "latent_generator"),
        ("semanticgen_semantic_generators", semantic_generator, "semantic_generator"),
    ):
        if name == NONE:
            configs.append((None, None))
            continue
        try:
            configs.append(read_dit_config(resolve_model(key, name, input_name)))
        except CheckpointError as e:
            raise ValueError(f"{input_name}: {e}") from e
    (latent, latent_space), (semantic, semantic_space) = configs
    if latent is None and semantic is None:
        raise ValueError("latent_generator: choose at least one generator to plan for")
    space = semantic_space or latent_space or SemanticSpace(channels=latent.semantic_dim)
    device = mm.get_torch_device()
    storage, compute = pick_dtypes(dtype, device)
    s = Settings(width, height, frames, swin_window(attention, window), blocks_to_swap, storage, compute)
    passes = forward_passes(steps, sampler, cfg)
    seconds = stage_seconds(latent, semantic, space, s, passes, matmul_throughput(str(device), compute))
    return with_time(report(latent, semantic, space, s, budget_bytes(device_memory)), seconds, device.type)


class MemoryPlan(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SemanticGenMemoryPlan",
            display_name="Memory Plan",
            category=CATEGORY,
            description="Estimates each stage's peak device memory (weights + activations), the host memory and "
            "the sampling time (from the model's FLOPs and this device's measured matmul speed) for a run, and says "
            "which setting to change when it will not fit. Loads no weights.",
            inputs=[
                io.Combo.Input(
                    "latent_generator",
                    options=[NONE, *list_models("semanticgen_latent_generators")],
                    tooltip="The latent generator you will load (its config is read from the file header).",
                ),
                io.Combo.Input(
                    "semantic_generator",
                    options=[NONE, *list_models("semanticgen_semantic_generators")],
                    tooltip="The semantic generator you will load (none: re-synthesis from a reference video).",
                ),
                *size_inputs("Video width in pixels.", "Video height in pixels."),
                frames_input("Video length, 4k+1 frames."),
                *attention_inputs("The Latent Sampler's attention.", "Swin window in latent frames."),
                io.Int.Input("blocks_to_swap", default=0, min=0, max=100, tooltip="As set on the generator loaders."),
                dtype_input(fp8=True),
                steps_input(),
                cfg_input(5.0),
                sampler_input(),
                io.Combo.Input(
                    "device_memory",
                    options=list(PRESETS),
                    default="this device",
                    tooltip="The GPU to plan for: this machine's free memory, or a preset size.",
                ),
            ],
            outputs=[io.String.Output(display_name="report")],
            is_output_node=True,
        )

    @classmethod
    def validate_inputs(
        cls,
        latent_generator: str,
        semantic_generator: str,
        attention: str,
        dtype: str,
        device_memory: str,
        sampler: str,
    ) -> bool | str:
        return check_choices(
            latent_generator=(latent_generator, [NONE, *list_models("semanticgen_latent_generators")]),
            semantic_generator=(semantic_generator, [NONE, *list_models("semanticgen_semantic_generators")]),
            attention=(attention, ATTENTION_OPTIONS),
            dtype=(dtype, dtype_options(fp8=True)),
            device_memory=(device_memory, list(PRESETS)),
            sampler=(sampler, list(SAMPLERS)),
        )

    @classmethod
    def execute(cls, **kw) -> io.NodeOutput:
        text = plan_run(**kw)["text"]
        return io.NodeOutput(text, ui=ui.PreviewText(text))
