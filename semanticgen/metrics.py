"""Model-free drift of long videos: how much a frame statistic changes from the start to the end.

FramePack and the SemanticGen paper define drift as `|M(first 15% of frames) − M(last 15%)|` for a quality or
appearance metric M. Without a learned metric at hand, M here is a plain image statistic: mean brightness, the
colour histogram (distance: total variation), or sharpness (variance of the Laplacian).

`semanticgen.toy.longclip` reports the drift of generated toy long videos with it (docs/toy_world.md).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Statistic = Callable[[torch.Tensor], torch.Tensor]  # frames (N, H, W, 3) -> a statistic of the set
Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LUMA = (0.299, 0.587, 0.114)  # Rec. 601
LAPLACIAN = ((0.0, 1.0, 0.0), (1.0, -4.0, 1.0), (0.0, 1.0, 0.0))


def _luma(frames: torch.Tensor) -> torch.Tensor:
    """(T, H, W, 3) -> (T, H, W)."""
    return frames @ torch.tensor(LUMA, dtype=frames.dtype, device=frames.device)


def brightness(frames: torch.Tensor) -> torch.Tensor:
    """Mean luma of a set of frames, a scalar in [0, 1]."""
    return _luma(frames).mean()


def sharpness(frames: torch.Tensor) -> torch.Tensor:
    """Mean over frames of the variance of the luma's Laplacian: falls as frames blur."""
    kernel = torch.tensor(LAPLACIAN, dtype=frames.dtype, device=frames.device)[None, None]  # (1, 1, 3, 3)
    edges = F.conv2d(_luma(frames)[:, None], kernel)  # (T, 1, H-2, W-2)
    return edges.flatten(1).var(dim=1).mean()


def color_histogram(frames: torch.Tensor, bins: int = 16) -> torch.Tensor:
    """Per-channel histogram of a set of frames, (3, bins), each channel summing to 1."""
    idx = (frames.clamp(0, 1) * bins).long().clamp_max(bins - 1)  # (T, H, W, 3)
    counts = torch.stack([torch.bincount(idx[..., c].flatten(), minlength=bins) for c in range(3)])
    return counts.to(frames.dtype) / counts.sum(dim=1, keepdim=True)


def _histogram_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Total variation between histograms, averaged over channels: 0 (same) … 1 (disjoint)."""
    return 0.5 * (a - b).abs().sum(dim=1).mean()


def _absolute(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).abs().sum()


METRICS: dict[str, tuple[Statistic, Distance]] = {
    "brightness": (brightness, _absolute),
    "histogram": (color_histogram, _histogram_distance),
    "sharpness": (sharpness, _absolute),
}


def drift(frames: torch.Tensor, metric: str | Statistic, fraction: float = 0.15) -> float:
    """|M(first `fraction` of the frames) − M(last `fraction`)| for frames (T, H, W, 3) in [0, 1]
    (ComfyUI's IMAGE layout); at least one frame at each end. `metric` is a name in METRICS or a function of a
    set of frames (compared by absolute difference, summed)."""
    if callable(metric):
        stat, distance = metric, _absolute
    elif metric in METRICS:
        stat, distance = METRICS[metric]
    else:
        raise ValueError(f"metric: expected one of {sorted(METRICS)} or a function, got {metric!r}")
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames: expected (T, H, W, 3) RGB frames, got shape {tuple(frames.shape)}")
    if frames.shape[0] < 2:
        raise ValueError(f"frames: expected at least 2 frames to compare start and end, got {frames.shape[0]}")
    if not 0.0 < fraction <= 0.5:
        raise ValueError(f"fraction: expected a share of the frames in (0, 0.5], got {fraction}")
    n = max(1, round(fraction * frames.shape[0]))
    x = frames.float()
    return float(distance(stat(x[:n]), stat(x[-n:])))
