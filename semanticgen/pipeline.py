"""The two sampling stages as plain functions: what the Semantic Sampler and Latent Sampler nodes call."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

import torch

from .dit import SemanticGenDiT, semantic_positions
from .features import SemanticSpace, SemanticVideo
from .flow import Callback, cfg_velocity, cpu_noise, noise_semantic, sample, sigmas
from .memory import Settings, StageEstimate, advice, gib, plan, recommend
from .swin import window_in_tokens

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SamplingOptions:
    seed: int = 0
    steps: int = 20
    cfg: float = 5.0
    shift: float = 3.0
    sampler: str = "euler"
    device: torch.device | None = None  # compute device; None: where the model's first weight is (CPU tests)
    dtype: torch.dtype | None = None  # compute dtype; None: the model's weight dtype
    memory_budget: int | None = None  # bytes free for activations on the device; None: do not check


def check_context(context: torch.Tensor | None, model: SemanticGenDiT, name: str, batch: int | None = None) -> None:
    if context is None:
        return
    if batch is not None and context.shape[0] != batch:
        raise ValueError(f"{name}: conditioning has batch {context.shape[0]}, expected {batch} (one per video)")
    if context.ndim != 3 or context.shape[-1] != model.config.text_dim:
        raise ValueError(
            f"{name}: conditioning has width {context.shape[-1]}, the model was trained with a "
            f"{model.config.text_dim}-wide text encoder (connect the text encoder it was trained with)"
        )
    if not torch.isfinite(context).all():
        raise ValueError(f"{name}: conditioning contains NaN or infinite values")


def check_options(opts: SamplingOptions) -> None:
    """Refuse guidance settings that would silently give NaN or garbage (ComfyUI's range check lets NaN through;
    steps and sampler are checked by `flow`)."""
    if not (math.isfinite(opts.cfg) and opts.cfg >= 0):
        raise ValueError(f"cfg: expected a finite guidance scale ≥ 0 (1 = no guidance), got {opts.cfg}")
    if not (math.isfinite(opts.shift) and opts.shift > 0):
        raise ValueError(f"shift: expected a finite timestep shift > 0, got {opts.shift}")


def _placement(model: torch.nn.Module, opts: SamplingOptions) -> tuple[torch.device, torch.dtype]:
    """Where to compute. Under ComfyUI's partial loading the first weight may live on the offload device, so the
    nodes pass the patcher's load device explicitly."""
    p = next(model.parameters())
    return opts.device or p.device, opts.dtype or getattr(model, "compute_dtype", None) or p.dtype


def _velocity(
    model: SemanticGenDiT,
    context: torch.Tensor,
    opts: SamplingOptions,
    semantic: torch.Tensor | None = None,
    semantic_pos: torch.Tensor | None = None,
    window: int | None = None,
):
    """The sampler's velocity closure for one prompt; `semantic`, `semantic_pos` and `window` as in the model."""
    device, dtype = _placement(model, opts)
    context = context.to(device, dtype)

    def v(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        t = (sigma * 1000).to(device)
        return model(
            x.to(device, dtype), t, context, semantic=semantic, semantic_pos=semantic_pos, window=window
        ).float()

    return v


def check_memory(model: SemanticGenDiT, s: Settings, opts: SamplingOptions) -> StageEstimate:
    """The planner's estimate for this stage, logged before sampling; refused up front (naming the settings that
    would fit) when its activations exceed the free memory, instead of failing mid-run or meeting the OOM killer."""
    cfg, space = model.config, model.space or SemanticSpace(channels=model.config.semantic_dim)
    configs = (cfg, None) if cfg.semantic_dim else (None, cfg)
    weight = model.patch_embedding.weight.dtype
    s = replace(
        s,
        blocks_to_swap=len(model.swap) if model.swap else 0,
        weight_dtype=weight,
        compute_dtype=_placement(model, opts)[1],
    )
    (stage,) = plan(*configs, space, s)
    log.info(
        "%s: estimated peak %s (weights %s + activations %s)",
        stage.stage,
        gib(stage.peak),
        gib(stage.weights),
        gib(stage.activations),
    )
    if opts.memory_budget is not None and stage.activations > opts.memory_budget:
        tips = recommend(*configs, space, s, opts.memory_budget + stage.weights)
        raise ValueError(
            f"width × height × frames: the {stage.stage} would need about {gib(stage.activations)} for activations "
            f"and {gib(opts.memory_budget)} is free; {advice(tips)}"
        )
    return stage


def check_video_size(frames: int, height: int, width: int, space: SemanticSpace, multiple: int) -> None:
    if frames < 1 or (frames - 1) % space.vae_temporal:
        raise ValueError(f"frames: expected {space.vae_temporal}k+1 frames (1, 5, 9, 13, 17, …), got {frames}")
    for name, v in (("height", height), ("width", width)):
        if v < multiple or v % multiple:
            raise ValueError(f"{name}: expected a positive multiple of {multiple} pixels, got {v}")


def check_semantic_request(
    model: SemanticGenDiT,
    positive: torch.Tensor,
    negative: torch.Tensor | None,
    frames: int,
    height: int,
    width: int,
    opts: SamplingOptions,
) -> SemanticSpace:
    """Everything stage 1 refuses up front (model role, video size, options, prompts, memory); its space."""
    space = model.space
    if space is None:
        raise ValueError("semantic generator: the checkpoint has no semantic-space metadata")
    if model.config.semantic_dim:
        raise ValueError("semantic generator: this is a latent generator (it takes semantic tokens)")
    check_text_request(model, positive, negative, frames, height, width, opts, space, space.vae_spatial * 2)
    return space


def check_text_request(
    model: SemanticGenDiT,
    positive: torch.Tensor,
    negative: torch.Tensor | None,
    frames: int,
    height: int,
    width: int,
    opts: SamplingOptions,
    space: SemanticSpace,
    multiple: int,
    window: int | None = None,
) -> None:
    """What a request from text alone must satisfy: video size (sides multiples of `multiple` px), options,
    prompts, window and memory."""
    check_video_size(frames, height, width, space, multiple)
    check_options(opts)
    check_context(positive, model, "positive")
    check_context(negative, model, "negative", positive.shape[0])
    if window is not None:
        window_in_tokens(window, model.config.patch_size[0])
    check_memory(model, Settings(width, height, frames, window, batch=positive.shape[0]), opts)


def generate_semantic(
    model: SemanticGenDiT,
    positive: torch.Tensor,
    negative: torch.Tensor | None,
    frames: int,
    height: int,
    width: int,
    opts: SamplingOptions,
    callback: Callback | None = None,
) -> SemanticVideo:
    """Stage 1: text -> compressed semantic features of a `frames`-frame video, full attention over all of it."""
    space = check_semantic_request(model, positive, negative, frames, height, width, opts)
    idx, _ = space.layout(frames, height, width)
    shape = (positive.shape[0], model.config.in_dim, *space.semantic_grid(frames, height, width))
    z = _sample(model, positive, negative, shape, opts, callback, window=None)
    if model.feature_norm is not None:  # sampled at unit scale: back to the compressor's scale
        z = model.feature_norm.denormalize(z)
    return SemanticVideo(z, space.video_fps, frames, (height, width), idx, space.temporal_patch, compressed=True)


def latent_shape(sem: SemanticVideo, space: SemanticSpace, channels: int, patch: tuple[int, int, int]):
    """(B, C, T, H, W) of the VAE latent for the video `sem` describes (largest 4k+1 frames, whole patches)."""
    _, gh, gw = space.latent_grid(sem.video_frames, *sem.video_size, patch)
    if gh == 0 or gw == 0:
        raise ValueError(f"semantic: describes a {sem.video_size} video, smaller than one latent patch")
    return (sem.features.shape[0], channels, space.latent_frames(sem.video_frames), gh * patch[1], gw * patch[2])


def generate_latent(
    model: SemanticGenDiT,
    positive: torch.Tensor,
    negative: torch.Tensor | None,
    sem: SemanticVideo,
    semantic_noise: float,
    opts: SamplingOptions,
    callback: Callback | None = None,
    window: int | None = None,
) -> torch.Tensor:
    """Stage 2: text + semantic features -> normalised VAE latents (B, 16, T, H/8, W/8), in-context conditioning.

    `window`: None for full attention, else Swin attention in windows of that many latent frames (long videos:
    cost grows linearly with length)."""
    space, shape = check_latent_request(model, positive, negative, sem, semantic_noise, opts, window)
    z_sem = noise_semantic(sem.features, semantic_noise, cpu_noise(tuple(sem.features.shape), opts.seed + 1))
    pos = semantic_positions(sem.step_bounds(), sem.grid, model.latent_grid(shape), space.vae_temporal)
    return _sample(model, positive, negative, shape, opts, callback, window, z_sem, pos)


def generate_text_latent(
    model: SemanticGenDiT,
    positive: torch.Tensor,
    negative: torch.Tensor | None,
    frames: int,
    height: int,
    width: int,
    opts: SamplingOptions,
    callback: Callback | None = None,
    window: int | None = None,
) -> torch.Tensor:
    """Stage 2 without semantic planning: text -> normalised VAE latents, no semantic tokens. What a latent
    generator trained with `semantic_dropout` does alone: the long-video comparison's Swin-only baseline."""
    space = model.space or SemanticSpace(channels=model.config.semantic_dim)
    patch = model.config.patch_size
    check_text_request(
        model, positive, negative, frames, height, width, opts, space, space.vae_spatial * patch[1], window
    )
    _, gh, gw = space.latent_grid(frames, height, width, patch)
    shape = (positive.shape[0], model.config.in_dim, space.latent_frames(frames), gh * patch[1], gw * patch[2])
    return _sample(model, positive, negative, shape, opts, callback, window)


def _sample(
    model: SemanticGenDiT,
    positive: torch.Tensor,
    negative: torch.Tensor | None,
    shape: tuple[int, ...],
    opts: SamplingOptions,
    callback: Callback | None,
    window: int | None,
    semantic: torch.Tensor | None = None,
    semantic_pos: torch.Tensor | None = None,
) -> torch.Tensor:
    """Sample a (B, C, T, H, W) tensor with CFG (either stage) from noise seeded by `opts.seed`, drawn on the CPU:
    the same result on any device."""
    velocity = cfg_velocity(
        _velocity(model, positive, opts, semantic, semantic_pos, window=window),
        _velocity(model, negative, opts, semantic, semantic_pos, window=window) if negative is not None else None,
        opts.cfg,
    )
    noise = cpu_noise(shape, opts.seed).to(_placement(model, opts)[0])
    return sample(velocity, noise, sigmas(opts.steps, opts.shift), opts.sampler, callback).cpu()


def check_latent_request(
    model: SemanticGenDiT,
    positive: torch.Tensor,
    negative: torch.Tensor | None,
    sem: SemanticVideo,
    semantic_noise: float,
    opts: SamplingOptions,
    window: int | None = None,
) -> tuple[SemanticSpace, tuple[int, ...]]:
    """Everything stage 2 refuses up front (model role, semantic input, options, prompts, window, memory); the
    model's space and the latent's (B, C, T, H, W)."""
    space = model.space or SemanticSpace(channels=model.config.semantic_dim)
    if not model.config.semantic_dim:
        raise ValueError("latent generator: this model takes no semantic tokens (it is a semantic generator)")
    if not sem.compressed:
        raise ValueError("semantic: these are raw encoder features; connect them through the Semantic Compressor")
    if sem.channels != model.config.semantic_dim:
        raise ValueError(
            f"semantic: has {sem.channels} channels, the latent generator expects {model.config.semantic_dim}"
            " (use the compressor trained with it)"
        )
    if not torch.isfinite(sem.features).all():
        raise ValueError("semantic: contains NaN or infinite values")
    if not 0.0 <= semantic_noise <= 1.0:
        raise ValueError(f"semantic_noise: expected 0 … 1, got {semantic_noise}")
    check_options(opts)
    check_context(positive, model, "positive", sem.features.shape[0])
    check_context(negative, model, "negative", sem.features.shape[0])
    if abs(sem.video_fps - space.video_fps) > 1e-3:
        log.warning(
            "semantic: describes a %g fps video; the latent generator was trained at %g fps, so motion will play "
            "at a different speed",
            sem.video_fps,
            space.video_fps,
        )
    if window is not None:
        window_in_tokens(window, model.config.patch_size[0])  # refuse a bad window before sampling starts
    shape = latent_shape(sem, space, model.config.in_dim, model.config.patch_size)
    (height, width) = sem.video_size
    check_memory(model, Settings(width, height, sem.video_frames, window, batch=shape[0]), opts)
    return space, shape
