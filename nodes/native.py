"""The generators as native ComfyUI MODELs, so core's samplers, schedulers, model patches, LoRA loaders and memory
management drive them like any diffusion model. All of it lives here; `semanticgen/` stays ComfyUI-free.

- `SemanticGenModel` (a `comfy.model_base.BaseModel`): flow model sampling with the checkpoint's training shift,
  Wan2.1's latent format for a latent generator and `SemanticLatentFormat` (the checkpoint's FeatureNorm) for a
  semantic generator, so previews and `process_latent_in/out` are ComfyUI's own.
- Semantic tokens reach a latent generator through CONDITIONING (`SEMANTIC_KEY`, as core attaches image latents
  for image-to-video): `extra_conds` turns them into the DiT's `semantic` / `semantic_pos` arguments.
- Swin attention is a MODEL patch: the window size rides in `transformer_options` (`WINDOW_KEY`).
- A semantic LATENT carries what a SemanticVideo needs besides the tensor under `LATENT_KEY`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import comfy.conds
import comfy.latent_formats
import comfy.model_base
import comfy.model_patcher
import comfy.supported_models_base
import torch

from ..semanticgen.dit import FeatureNorm, SemanticGenDiT, semantic_positions
from ..semanticgen.features import SemanticSpace, SemanticVideo
from ..semanticgen.flow import cpu_noise, noise_semantic
from ..semanticgen.pipeline import check_video_size
from ..semanticgen.swin import window_in_tokens

SEMANTIC_KEY = "semanticgen_semantic"  # in a conditioning's dict: the SemanticVideo (noised) a latent MODEL reads
WINDOW_KEY = "semanticgen_window"  # in transformer_options: Swin window in latent frames (absent: full attention)
LATENT_KEY = "semanticgen"  # in a semantic LATENT dict: SemanticLatentInfo as a dict
DEFAULT_SHIFT = 3.0  # the demo recipe's (configs/toy): checkpoints without a recorded shift sample with this


class SemanticLatentFormat(comfy.latent_formats.LatentFormat):
    """A semantic generator's sampling space: compressed semantic features, at unit scale when the checkpoint
    carries a FeatureNorm. LATENTs hold the features at the compressor's scale, as the Semantic Sampler gives them."""

    latent_dimensions = 3

    def __init__(self, channels: int, norm: FeatureNorm | None):
        self.latent_channels = channels
        self.norm = norm
        g = torch.Generator().manual_seed(0)  # a fixed projection of the channels to RGB for previews
        self.latent_rgb_factors = (torch.randn(channels, 3, generator=g) * 0.6 / channels**0.5).tolist()
        self.latent_rgb_factors_bias = [0.5, 0.5, 0.5]
        self.taesd_decoder_name = None

    def process_in(self, latent: torch.Tensor) -> torch.Tensor:
        return self.norm.normalize(latent) if self.norm is not None else latent

    def process_out(self, latent: torch.Tensor) -> torch.Tensor:
        return self.norm.denormalize(latent) if self.norm is not None else latent


IMAGE_CONDS = ("c_concat", "clip_fea", "y", "reference_latent", "time_dim_concat")  # Wan I2V / VACE-style inputs


class NativeDiT(SemanticGenDiT):
    """SemanticGenDiT with the call signature ComfyUI's BaseModel uses. Same parameters and state-dict keys, so
    LoRAs in Wan2.1's key layout patch it."""

    @property
    def dtype(self) -> torch.dtype:
        return self.patch_embedding.weight.dtype

    def forward(
        self,
        x: torch.Tensor,
        timestep: torch.Tensor,
        context: torch.Tensor,
        semantic: torch.Tensor | None = None,
        semantic_layout: tuple[tuple[int, ...], tuple[int, int]] | None = None,
        control=None,
        transformer_options: dict | None = None,
        **extra,
    ) -> torch.Tensor:
        """ComfyUI's call: x (B, C, T, H, W), timestep (B,) in [0, 1000], context (B, L, D); `semantic` (B, c, Ts,
        Hs, Ws) with its `semantic_layout` (step bounds in video frames, semantic grid) from the conditioning.
        Image conditioning (what Wan's image-to-video nodes attach) would be dropped silently, so it is refused."""
        if unused := sorted(k for k in IMAGE_CONDS if extra.get(k) is not None):
            raise ValueError(
                f"conditioning: carries {', '.join(unused)} (image-to-video inputs), which a SemanticGen generator "
                "does not take: condition it with text and Semantic Conditioning only"
            )
        pos = None
        if semantic is not None:
            if semantic_layout is None:
                raise ValueError("semantic: given without its layout (attach it with Semantic Conditioning)")
            space = self.space or SemanticSpace(channels=self.config.semantic_dim)
            bounds, grid = semantic_layout
            pos = semantic_positions(list(bounds), grid, self.latent_grid(x.shape), space.vae_temporal)
        window = (transformer_options or {}).get(WINDOW_KEY)
        return super().forward(x, timestep, context, semantic, pos, window=window)


def as_native(dit: SemanticGenDiT) -> NativeDiT:
    """The loaded DiT, called the way ComfyUI calls diffusion models (no copy: NativeDiT adds no state)."""
    dit.__class__ = NativeDiT
    return dit


def model_config(dit: SemanticGenDiT, shift: float) -> comfy.supported_models_base.BASE:
    cfg = comfy.supported_models_base.BASE({"disable_unet_model_creation": True})
    cfg.sampling_settings = {"shift": shift, "multiplier": 1000.0}
    cfg.latent_format = (
        comfy.latent_formats.Wan21()
        if dit.config.semantic_dim
        else SemanticLatentFormat(dit.config.in_dim, dit.feature_norm)
    )
    cfg.manual_cast_dtype = getattr(dit, "compute_dtype", None)
    return cfg


class SemanticGenModel(comfy.model_base.BaseModel):
    """A SemanticGen generator inside ComfyUI's model stack (rectified flow: ComfyUI's FLOW model type)."""

    def __init__(self, dit: SemanticGenDiT, shift: float = DEFAULT_SHIFT, device: torch.device | None = None):
        cfg = model_config(dit, shift)
        super().__init__(cfg, comfy.model_base.ModelType.FLOW, device=device)
        self.diffusion_model = as_native(dit)
        if cfg.manual_cast_dtype == dit.dtype:
            self.manual_cast_dtype = None

    @property
    def dit(self) -> NativeDiT:
        return self.diffusion_model

    def extra_conds(self, **kwargs) -> dict:
        out = super().extra_conds(**kwargs)
        sem: SemanticVideo | None = kwargs.get(SEMANTIC_KEY)
        if sem is not None:  # tokens batch with the latents; the layout (plain ints, never cast) is shared
            out["semantic"] = comfy.conds.CONDRegular(sem.features)
            out["semantic_layout"] = comfy.conds.CONDConstant((tuple(sem.step_bounds()), tuple(sem.grid)))
        return out


def load_native(dit: SemanticGenDiT, shift: float, load_device: torch.device, offload_device: torch.device):
    """A ModelPatcher around a SemanticGenModel: what MODEL sockets carry."""
    model = SemanticGenModel(dit, shift, device=offload_device)
    return comfy.model_patcher.ModelPatcher(model, load_device=load_device, offload_device=offload_device)


def dit_of(model) -> SemanticGenDiT:
    """The SemanticGenDiT inside a MODEL (a ModelPatcher around SemanticGenModel), or a clear error."""
    inner = getattr(getattr(model, "model", None), "diffusion_model", None)
    if not isinstance(inner, SemanticGenDiT):
        raise ValueError("model: expected a SemanticGen generator loaded as a MODEL (Load ... Generator (MODEL))")
    return inner


# --- semantic LATENTs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SemanticLatentInfo:
    """What a semantic LATENT's tensor does not say: the video it describes and which frames the steps sampled."""

    video_fps: float
    video_frames: int
    video_size: tuple[int, int]
    frame_indices: tuple[int, ...]
    temporal_patch: int

    @classmethod
    def of(cls, latent: dict) -> SemanticLatentInfo:
        info = latent.get(LATENT_KEY)
        if info is None:
            raise ValueError(
                "latent: not a semantic latent (make it with Empty Semantic Latent and sample it with a semantic "
                "generator MODEL)"
            )
        return cls(**{**info, "video_size": tuple(info["video_size"]), "frame_indices": tuple(info["frame_indices"])})


def empty_semantic_latent(dit: SemanticGenDiT, frames: int, width: int, height: int, batch: int) -> dict:
    """Zeros shaped like the features a semantic generator samples for that video (Semantic Sampler's shape)."""
    space = dit.space
    if space is None or dit.config.semantic_dim:
        raise ValueError("model: expected a semantic generator (stage 1) with semantic-space metadata")
    check_video_size(frames, height, width, space, space.vae_spatial * 2)
    idx, _ = space.layout(frames, height, width)
    shape = (batch, dit.config.in_dim, *space.semantic_grid(frames, height, width))
    info = SemanticLatentInfo(space.video_fps, frames, (height, width), tuple(idx), space.temporal_patch)
    return {"samples": torch.zeros(shape), LATENT_KEY: asdict(info)}


def semantic_from_latent(latent: dict) -> SemanticVideo:
    info = SemanticLatentInfo.of(latent)
    return SemanticVideo(
        latent["samples"].float(),
        info.video_fps,
        info.video_frames,
        info.video_size,
        info.frame_indices,
        info.temporal_patch,
        compressed=True,
    )


def attach_semantic(conditioning: list, sem: SemanticVideo) -> list:
    """A copy of CONDITIONING with the semantic tokens attached to every entry (node_helpers' way)."""
    import node_helpers  # ComfyUI's top-level module (imported late: the pack's own `nodes` package shadows names)

    return node_helpers.conditioning_set_values(conditioning, {SEMANTIC_KEY: sem})


def noised_semantic(sem: SemanticVideo, strength: float, seed: int) -> SemanticVideo:
    """Semantic noise augmentation at inference, drawn like the Latent Sampler does (CPU noise from seed + 1)."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"semantic_noise: expected 0 … 1, got {strength}")
    if not torch.isfinite(sem.features).all():
        raise ValueError("semantic: contains NaN or infinite values")
    noise = cpu_noise(tuple(sem.features.shape), seed + 1)
    return sem.with_features(noise_semantic(sem.features, strength, noise))


def with_window(model, window: int | None):
    """MODEL -> MODEL whose latent generator attends in Swin windows of `window` latent frames (None: full)."""
    dit = dit_of(model)
    if not dit.config.semantic_dim:
        raise ValueError("model: Swin attention is for the latent generator (stage 2)")
    if window is not None:
        window_in_tokens(window, dit.config.patch_size[0])
    patched = model.clone()
    options = patched.model_options.setdefault("transformer_options", {})
    if window is None:
        options.pop(WINDOW_KEY, None)
    else:
        options[WINDOW_KEY] = window
    return patched


# --- the pack's samplers: KSampler's own path ----------------------------------------------------------------


def with_shift(model, shift: float):
    """MODEL -> MODEL sampling with this timestep shift (what core's ModelSamplingSD3 does)."""
    if not (math.isfinite(shift) and shift > 0):
        raise ValueError(f"shift: expected a finite timestep shift > 0, got {shift}")
    patched = model.clone()
    sampling = type(model.get_model_object("model_sampling"))(model.model.model_config)
    sampling.set_parameters(shift=shift, multiplier=1000)
    patched.add_object_patch("model_sampling", sampling)
    return patched


def ksample(model, latent: dict, positive, negative, seed: int, steps: int, cfg: float, sampler: str) -> dict:
    """Sample a LATENT as core's KSampler does (comfy.sample.sample, the "simple" schedule: for flow models it is
    our linear-in-t schedule, shifted by the model's sampling), with ComfyUI's noise, progress bar, previews and
    interrupts. Without a negative prompt, cfg is off (the conditional prediction alone)."""
    import comfy.sample
    import comfy.utils
    import latent_preview

    if negative is None:
        negative, cfg = positive, 1.0  # ComfyUI skips the unconditional pass at cfg 1
    z = comfy.sample.fix_empty_latent_channels(model, latent["samples"])
    noise = comfy.sample.prepare_noise(z, seed)
    callback = latent_preview.prepare_callback(model, steps)
    samples = comfy.sample.sample(
        model,
        noise,
        steps,
        cfg,
        sampler,
        "simple",
        positive,
        negative,
        z,
        callback=callback,
        disable_pbar=not comfy.utils.PROGRESS_BAR_ENABLED,
        seed=seed,
    )
    return {**latent, "samples": samples}
