"""The payload that travels between nodes: semantic features plus the timing that places them in a video."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch


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
