"""Batches of toy clips with captions, deterministic from a seed."""

from __future__ import annotations

import random

import torch

from .world import Clip, caption, render


def clip_batch(rng: random.Random, n: int, frames: int, size: int, bounce: bool = False):
    """(clips, captions, video (n, T, H, W, 3) in [0, 1])."""
    clips = [Clip.random(rng, bounce=bounce) for _ in range(n)]
    captions = [caption(c, rng) for c in clips]
    video = torch.stack([render(c, frames, size) for c in clips])
    return clips, captions, video


def to_vae_input(video: torch.Tensor) -> torch.Tensor:
    """(n, T, H, W, 3) in [0, 1] -> (n, 3, T, H, W) in [-1, 1], as ComfyUI's VAE.encode feeds the Wan VAE."""
    return video.permute(0, 4, 1, 2, 3) * 2 - 1
