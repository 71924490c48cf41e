"""Shifted-window (Swin) self-attention over time, for the latent generator on long videos.

Tokens are grouped by the time column of their shared space-time position (latent-token units), so latent tokens
and the in-context semantic tokens of the same time span land in the same window: window id
`floor((t + offset) / T_w)` with `offset = 0` on even layers and `T_w / 2` on odd layers. Unlike image Swin there
is no cyclic shift: the shifted layers start with a half window and the ends are partial windows, so the first
and last frames never attend to each other.

Attention gathers the tokens of a group of windows into `(B·G, Lw_max, D)` (key-padding mask for windows shorter
than the longest one), projects and attends there, and scatters the result back to token order (`attend_windows`:
the one gather/mask/scatter, for both the training path and the DiT's in-place inference path). Only one group's
q, k, v exist at a time and no `L × L` mask is ever built: the transient memory is bounded by the window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from einops import rearrange

from .attention import attention


@dataclass(frozen=True)
class Windows:
    """A partition of L tokens into nW windows of at most Lw tokens (token order kept inside a window)."""

    index: torch.Tensor  # (nW, Lw) token of each window slot; padding slots repeat token 0
    keep: torch.Tensor | None  # (nW, Lw) True for real tokens; None when every window is full

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
    return Windows(index, None if bool(keep.all()) else keep)


def layer_partitions(times: torch.Tensor, window: float) -> tuple[Windows, Windows] | None:
    """The (even, odd) layer partitions, or None when the whole sequence fits in one window: then, as in Swin,
    neither windows nor a shift apply and attention is full."""
    if window_ids(times, window, shifted=False).unique().numel() == 1:
        return None
    return partition(times, window, shifted=False), partition(times, window, shifted=True)


def window_groups(windows: Windows, group_tokens: int) -> list[torch.Tensor]:
    """Window indices in groups of about `group_tokens` tokens (at least one window each)."""
    return list(torch.arange(windows.count, device=windows.index.device).split(max(1, group_tokens // windows.size)))


Project = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def attend_windows(
    project: Project,
    x: torch.Tensor,
    rope: torch.Tensor,
    heads: int,
    windows: Windows,
    backend: str = "sdpa",
    group_tokens: int = 16384,
    prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
    output: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Gather → attend → scatter, a group of windows at a time: yields each group's tokens (n,) and their results
    (B, n, ·), padding slots dropped. A group is gathered only when asked for, so a caller may update the tokens of
    the groups it has received in place (windows partition the tokens: no later group reads them).

    `project(x, rope)` maps gathered tokens (N, Lw, D) with their rotary table (N, Lw, D_head/2, 2) to q, k, v
    (N, Lw, H·D_head), RoPE applied; `prepare` maps the gathered tokens (B, G·Lw, D) first (e.g. the block's
    modulation) and `output` the attention result (B·G, Lw, H·D_head) after (e.g. the output projection).
    """
    b = x.shape[0]
    for rows in window_groups(windows, group_tokens):
        idx = windows.index[rows]  # (G, Lw)
        flat = idx.flatten()  # (G·Lw,)
        xs = x[:, flat] if prepare is None else prepare(x[:, flat])  # (B, G·Lw, D)
        xs = rearrange(xs, "b (g l) d -> (b g) l d", g=idx.shape[0])  # (B·G, Lw, D)
        q, k, v = project(xs, rope[idx].repeat(b, 1, 1, 1))  # (B·G, Lw, H·D_head) each
        mask = None
        if windows.keep is not None:  # padded slots are never keys; their (discarded) queries see real tokens only
            mask = rearrange(windows.keep[rows], "g l -> g 1 1 l").repeat(b, 1, 1, 1)  # (B·G, 1, 1, Lw)
        out = attention(q, k, v, heads, mask, backend)
        out = rearrange(out if output is None else output(out), "(b g) l d -> b (g l) d", b=b)  # (B, G·Lw, ·)
        if windows.keep is None:
            yield flat, out
        else:
            real = windows.keep[rows].flatten()
            yield flat[real], out[:, real]


def window_attention(
    project: Project,
    x: torch.Tensor,
    rope: torch.Tensor,
    heads: int,
    windows: Windows,
    backend: str = "sdpa",
    group_tokens: int = 16384,
) -> torch.Tensor:
    """Attention inside each window (see `attend_windows`), out of place: x (B, L, D) -> (B, L, H·D_head). Only one
    group's q, k, v exist at once (≈ `group_tokens` tokens per batch item), so that transient memory is bounded by
    the window, not the video length."""
    result = None
    for tokens, out in attend_windows(project, x, rope, heads, windows, backend, group_tokens):
        if result is None:
            result = out.new_empty(x.shape[0], x.shape[1], out.shape[-1])
        result[:, tokens] = out
    return result


def window_in_tokens(window: int, temporal_patch: int) -> float:
    """`window` latent frames in token time units (a token spans `temporal_patch` latent frames)."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window: expected a whole number of latent frames ≥ 1, got {window!r}")
    return window / temporal_patch
