"""The payload that travels between nodes: semantic features plus the timing that places them in a video."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch


def sample_frame_indices(num_frames: int, video_fps: float, sample_fps: float, temporal_patch: int = 2) -> list[int]:
    """Frames shown to the encoder: `sample_fps` per second, a multiple of `temporal_patch` of them.

    Uniform stride from frame 0, as transformers' `sample_frames`; a clip shorter than one temporal patch keeps all
    its frames (the processor repeats the last one).
    """
    if num_frames < 1:
        raise ValueError(f"frames: expected at least 1 frame, got {num_frames}")
    if not (video_fps > 0 and math.isfinite(video_fps)):
        raise ValueError(f"fps: expected a positive frame rate, got {video_fps}")
    if not (sample_fps > 0 and math.isfinite(sample_fps)):
        raise ValueError(f"sample_fps: expected a positive number, got {sample_fps}")
    wanted = math.floor(num_frames / video_fps * sample_fps / temporal_patch) * temporal_patch
    n = min(max(wanted, temporal_patch), num_frames)
    return [math.floor(k * num_frames / n) for k in range(n)]


@dataclass(frozen=True)
class SemanticVideo:
    """Semantic features of one video on the encoder's grid.

    Step `t` of `features` summarises the sampled frames `2t, 2t+1` (`temporal_patch` of them), i.e. the source
    frames from `frame_indices[t * temporal_patch]` up to the next step's first frame. Keeping the indices lets
    the latent stage place every semantic token at its true time on the video's frame axis.
    """

    features: torch.Tensor  # (B, C, T, H, W)
    video_fps: float  # frame rate of the video the features describe
    video_frames: int  # number of frames of that video
    video_size: tuple[int, int]  # (height, width) in pixels of that video
    frame_indices: tuple[int, ...]  # source frames that were sampled for the encoder
    temporal_patch: int = 2  # sampled frames merged into one semantic step
    compressed: bool = False  # True once a compressor has mapped the encoder width d to c

    def __post_init__(self) -> None:
        if self.features.ndim != 5:
            raise ValueError(f"features must be (B, C, T, H, W), got shape {tuple(self.features.shape)}")

    @property
    def channels(self) -> int:
        return self.features.shape[1]

    @property
    def steps(self) -> int:
        return self.features.shape[2]

    @property
    def grid(self) -> tuple[int, int]:
        return self.features.shape[3], self.features.shape[4]

    def step_bounds(self) -> list[int]:
        """Source-frame boundaries of the semantic steps: step t covers frames [bounds[t], bounds[t+1])."""
        return list(self.frame_indices[:: self.temporal_patch])[: self.steps] + [self.video_frames]

    def with_features(self, features: torch.Tensor, compressed: bool | None = None) -> SemanticVideo:
        """Same timing, new tensor (e.g. after compression)."""
        return replace(self, features=features, compressed=self.compressed if compressed is None else compressed)


@dataclass(frozen=True)
class SemanticSpace:
    """How a generator's semantic tokens map to pixels and frames; stored with every generator checkpoint."""

    channels: int = 64  # compressed width c
    pixels_per_token: int = 28  # encoder patch × merge
    sample_fps: float = 1.6  # encoder frame sampling rate
    temporal_patch: int = 2  # sampled frames per semantic step
    video_fps: float = 16.0  # frame rate of the videos the generators were trained on
    vae_temporal: int = 4  # VAE temporal compression (Wan2.1: 4)
    vae_spatial: int = 8  # VAE spatial compression (Wan2.1: 8)
    min_pixels: int = 56 * 56  # the encoder processor's resize limits (EncoderConfig), so generated grids
    max_pixels: int = 480 * 832  # match the grids the encoder produced in training

    def layout(self, frames: int, height: int, width: int) -> tuple[tuple[int, ...], tuple[int, int]]:
        """Sampled frame indices and the (H, W) semantic grid of a video of this size, as the encoder would see it
        (uniform stride at `sample_fps`; the processor's own resize rule: whole tokens within the pixel limits)."""
        from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

        idx = sample_frame_indices(frames, self.video_fps, self.sample_fps, self.temporal_patch)
        f = self.pixels_per_token
        h, w = smart_resize(height, width, factor=f, min_pixels=self.min_pixels, max_pixels=self.max_pixels)
        return tuple(idx), (h // f, w // f)

    def steps(self, frames: int) -> int:
        return self.semantic_grid(frames, 1, 1)[0]

    # --- token geometry: the one place that turns a video size into token counts -----------------------------

    def semantic_grid(self, frames: int, height: int, width: int) -> tuple[int, int, int]:
        """(Ts, Hs, Ws) semantic tokens of a video: one step per `temporal_patch` sampled frames (the last one
        padded, as the processor repeats the last frame), on the encoder's grid (see `layout`)."""
        idx, (gh, gw) = self.layout(frames, height, width)
        return math.ceil(len(idx) / self.temporal_patch), gh, gw

    def latent_frames(self, frames: int) -> int:
        """VAE latent frames of a video: Wan's causal VAE keeps frame 0 and groups the rest by `vae_temporal`
        (the largest 1 + 4k frames)."""
        return (frames - 1) // self.vae_temporal + 1

    def latent_grid(self, frames: int, height: int, width: int, patch: tuple[int, int, int]) -> tuple[int, int, int]:
        """(t, h, w) latent-generator tokens of a video: whole `patch`es of its VAE latent in space, time rounded
        up to a whole patch."""
        pt, ph, pw = patch
        return -(-self.latent_frames(frames) // pt), height // self.vae_spatial // ph, width // self.vae_spatial // pw
