"""Attention backends behind one signature, so a faster kernel is a registry entry, not a code path."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from einops import rearrange

# fn(q, k, v) with (B, H, L, D) tensors -> (B, H, L, D); `mask` is a boolean (B|1, 1|H, Lq, Lk) keep-mask or None
Backend = Callable[..., torch.Tensor]
_BACKENDS: dict[str, Backend] = {}


def register_backend(name: str, fn: Backend) -> None:
    _BACKENDS[name] = fn


def backends() -> list[str]:
    return sorted(_BACKENDS)


def _sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


register_backend("sdpa", _sdpa)

try:  # optional kernels, used only where installed
    from sageattention import sageattn  # type: ignore[import-not-found]

    register_backend("sage", lambda q, k, v, mask=None: sageattn(q, k, v) if mask is None else _sdpa(q, k, v, mask))
except ImportError:
    pass


def attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    heads: int,
    mask: torch.Tensor | None = None,
    backend: str = "sdpa",
) -> torch.Tensor:
    """(B, Lq, H·D), (B, Lk, H·D), (B, Lk, H·D) -> (B, Lq, H·D)."""
    if backend not in _BACKENDS:
        raise ValueError(f"attention backend: expected one of {backends()}, got {backend!r}")
    q, k, v = (rearrange(t, "b l (h d) -> b h l d", h=heads) for t in (q, k, v))
    out = _BACKENDS[backend](q, k, v, mask)
    return rearrange(out, "b h l d -> b l (h d)")
