"""Make semantic features visible: the top three principal components of the channels as RGB."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange

from .features import SemanticVideo


def pca_rgb(features: torch.Tensor) -> torch.Tensor:
    """(B, C, T, H, W) -> (B, T, H, W, 3) in [0, 1], one PCA basis shared by the whole batch.

    Components are sign-fixed (largest loading positive) so the colours are deterministic, and scaled by
    ±2 standard deviations so one outlier token does not wash out the picture.
    """
    b, c, t, h, w = features.shape
    x = rearrange(features.float(), "b c t h w -> (b t h w) c")
    x = x - x.mean(0, keepdim=True)
    cov = x.T @ x / max(x.shape[0] - 1, 1)  # (C, C): cheap even for long videos
    _, vecs = torch.linalg.eigh(cov)
    basis = vecs[:, -3:].flip(-1)  # (C, k) top components first, k = min(3, C)
    signs = torch.sign(basis.gather(0, basis.abs().argmax(0, keepdim=True)))
    proj = x @ (basis * signs)  # (N, k)
    proj = proj / (4 * proj.std(0, keepdim=True, unbiased=False).clamp_min(1e-8)) + 0.5
    proj = F.pad(proj, (0, 3 - proj.shape[1]), value=0.5)  # fewer than 3 channels: grey the rest
    return rearrange(proj.clamp(0, 1), "(b t h w) k -> b t h w k", b=b, t=t, h=h, w=w)


def preview_frames(sem: SemanticVideo, size: tuple[int, int] | None = None) -> torch.Tensor:
    """IMAGE frames (N, H, W, 3) of the features, one per frame of the source video, at its size.

    Every source frame shows the semantic step that covers it, so the preview plays in sync with the video.
    """
    height, width = size or sem.video_size
    rgb = pca_rgb(sem.features)  # (B, T, h, w, 3)
    starts = torch.tensor(sem.step_bounds()[:-1])
    frame_ids = torch.arange(sem.video_frames, dtype=starts.dtype)
    step_of_frame = (torch.searchsorted(starts, frame_ids, right=True) - 1).clamp(0, sem.steps - 1)
    rgb = rearrange(rgb[:, step_of_frame], "b n h w k -> (b n) k h w")
    rgb = F.interpolate(rgb, size=(height, width), mode="nearest-exact")
    return rearrange(rgb, "n k h w -> n h w k").contiguous()
