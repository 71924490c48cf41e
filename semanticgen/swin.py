"""Shifted-window (Swin) self-attention over time, for the latent generator on long videos.

Tokens are grouped by the time column of their shared space-time position (latent-token units), so latent tokens
and the in-context semantic tokens of the same time span land in the same window: window id
`floor((t + offset) / T_w)` with `offset = 0` on even layers and `T_w / 2` on odd layers. Unlike image Swin there
is no cyclic shift: the shifted layers start with a half window and the ends are partial windows, so the first
and last frames never attend to each other.

Attention gathers the tokens of a group of windows into `(B·G, Lw_max, D)` (key-padding mask for windows shorter
than the longest one), projects and attends there, and gathers the result back to token order. Only one group's
q, k, v exist at a time and no `L × L` mask is ever built: the transient memory is bounded by the window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from einops import rearrange

from .attention import attention


@dataclass(frozen=True)
class Windows:
    """A partition of L tokens into nW windows of at most Lw tokens (token order kept inside a window)."""

    index: torch.Tensor  # (nW, Lw) token of each window slot; padding slots repeat token 0
    keep: torch.Tensor | None  # (nW, Lw) True for real tokens; None when every window is full
    slot: torch.Tensor  # (L,) flat slot (window · Lw + place) of every token, to gather results back

    @property
    def count(self) -> int:
        return self.index.shape[0]

    @property
    def size(self) -> int:
        return self.index.shape[1]


def window_ids(times: torch.Tensor, window: float, shifted: bool) -> torch.Tensor:
    """(L,) token times -> (L,) window ids; shifted layers move the boundaries by half a window."""
    if not window > 0:
        raise ValueError(f"window: expected a positive number of latent frames, got {window}")
    offset = window / 2 if shifted else 0.0
    return torch.floor((times.double() + offset) / window).long()


def partition(times: torch.Tensor, window: float, shifted: bool) -> Windows:
    """Group tokens with times (L,) into time windows of `window` units (see `window_ids`)."""
    ids = window_ids(times, window, shifted)
    _, inverse, counts = torch.unique(ids, sorted=True, return_inverse=True, return_counts=True)  # (L,), (nW,)
    n, size = counts.numel(), int(counts.max())
    order = torch.argsort(inverse, stable=True)  # tokens grouped by window, raster order kept
    starts = torch.cumsum(counts, 0) - counts  # (nW,) first sorted position of every window
    place = torch.arange(ids.numel(), device=ids.device) - starts[inverse[order]]  # (L,) place in its window
    index = torch.zeros(n, size, dtype=torch.long, device=ids.device)
    keep = torch.zeros(n, size, dtype=torch.bool, device=ids.device)
    index[inverse[order], place] = order
    keep[inverse[order], place] = True
    slot = torch.empty_like(order)
    slot[order] = inverse[order] * size + place
    return Windows(index, None if bool(keep.all()) else keep, slot)


def layer_partitions(times: torch.Tensor, window: float) -> tuple[Windows, Windows] | None:
    """The (even, odd) layer partitions, or None when the whole sequence fits in one window: then, as in Swin,
    neither windows nor a shift apply and attention is full."""
    if window_ids(times, window, shifted=False).unique().numel() == 1:
        return None
    return partition(times, window, shifted=False), partition(times, window, shifted=True)


def window_groups(windows: Windows, group_tokens: int) -> list[torch.Tensor]:
    """Window indices in groups of about `group_tokens` tokens (at least one window each)."""
    return list(torch.arange(windows.count, device=windows.index.device).split(max(1, group_tokens // windows.size)))


def window_attention(
    project: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
    x: torch.Tensor,
    rope: torch.Tensor,
    heads: int,
    windows: Windows,
    backend: str = "sdpa",
    group_tokens: int = 16384,
) -> torch.Tensor:
    """Attention inside each window, computed a group of windows at a time.

    `project(x, rope)` maps gathered tokens (N, Lw, D) with their rotary table (N, Lw, D_head/2, 2) to q, k, v
    (N, Lw, H·D_head), RoPE applied. Only the groups' q, k, v exist at once (≈ `group_tokens` tokens per batch
    item), so that transient memory is bounded by the window, not the video length. x (B, L, D) -> (B, L, H·D).
    """
    b, parts = x.shape[0], []
    for rows in window_groups(windows, group_tokens):
        idx = windows.index[rows]  # (G, Lw)
        xs = rearrange(x[:, idx], "b g l d -> (b g) l d")  # (B·G, Lw, D)
        q, k, v = project(xs, rope[idx].repeat(b, 1, 1, 1))  # (B·G, Lw, H·D_head) each
        mask = None
        if windows.keep is not None:  # padded slots are never keys; their (discarded) queries see real tokens only
            mask = rearrange(windows.keep[rows], "g l -> g 1 1 l").repeat(b, 1, 1, 1)  # (B·G, 1, 1, Lw)
        parts.append(rearrange(attention(q, k, v, heads, mask, backend), "(b g) l d -> b (g l) d", b=b))
    return torch.cat(parts, dim=1)[:, windows.slot]  # (B, L, H·D_head)


def window_in_tokens(window: int, temporal_patch: int) -> float:
    """`window` latent frames in token time units (a token spans `temporal_patch` latent frames)."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window: expected a whole number of latent frames ≥ 1, got {window!r}")
    return window / temporal_patch
