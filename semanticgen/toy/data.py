"""Batches of toy clips with captions, deterministic from a seed."""

from __future__ import annotations

import random

import torch

from .captions import varied_caption
from .world import Clip, caption, render

CAPTIONS = ("templated", "varied")  # world.caption's 5 templates (the shipped models'), or captions.varied_caption


def clip_batch(
    rng: random.Random, n: int, frames: int, size: int, bounce: bool = False, captions: str = "templated"
) -> tuple[list[Clip], list[str], torch.Tensor]:
    """(clips, captions, video (n, T, H, W, 3) in [0, 1]). The clips do not depend on `captions`: "varied" draws
    its words from a generator seeded by `rng` after the clips, so the same seed renders the same videos."""
    if captions not in CAPTIONS:
        raise ValueError(f"captions: expected one of {CAPTIONS}, got {captions!r}")
    clips = [Clip.random(rng, bounce=bounce) for _ in range(n)]
    if captions == "templated":
        texts = [caption(c, rng) for c in clips]
    else:
        words = random.Random(rng.getrandbits(64))
        texts = [varied_caption(c, words) for c in clips]
    video = torch.stack([render(c, frames, size) for c in clips])
    return clips, texts, video


def to_vae_input(video: torch.Tensor) -> torch.Tensor:
    """(n, T, H, W, 3) in [0, 1] -> (n, 3, T, H, W) in [-1, 1], as ComfyUI's VAE.encode feeds the Wan VAE."""
    return video.permute(0, 4, 1, 2, 3) * 2 - 1
