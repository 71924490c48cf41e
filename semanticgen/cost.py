"""Compute cost of a run: FLOPs of a DiT forward from its config, and a time estimate from the device's measured
matmul throughput, before anything is loaded.

FLOPs of one forward pass (B = 1, 2 FLOPs per multiply-add; L = latent + semantic tokens, Lx = latent tokens,
Ls = semantic tokens, Lt = text tokens, Lk = the keys a query attends to (L, or a Swin window's tokens), D = dim,
F = ffn_dim, P = prod(patch_size)):
    embeddings   2·Lx·(P·in_dim)·D + 2·Lt·(text_dim·D + D²) + 2·Ls·(c·D + D²) + 2·(freq_dim·D + D² + 6·D²)
    per block    self-attn q,k,v,o 8·L·D² + scores and weighted sum 4·L·Lk·D
                 cross-attn q,o 4·L·D² + k,v 4·Lt·D² + 4·L·Lt·D
                 feed-forward 4·L·D·F
    head         2·Lx·D·(P·out_dim)
Norms, RoPE, modulation and activations are elementwise (O(L·D)) and not counted.

The time estimate is compute-bound: FLOPs over the measured throughput of a large matmul on the device. A DiT step
at Wan width runs at 94% of that on this CPU (`make bench`), so for real models it is close; tiny models spend
their time in per-layer overhead instead and run slower than it says.
"""

from __future__ import annotations

import functools
import math
import time

import torch

from .dit import DiTConfig
from .features import SemanticSpace
from .memory import Settings, latent_tokens, semantic_tokens, window_tokens

TEXT_TOKENS = 512  # umT5's padded prompt length (Wan); a different text encoder changes only the small cross-attn term


def step_flops(cfg: DiTConfig, latent: int, text: int, semantic: int = 0, keys: int | None = None) -> float:
    """FLOPs of one forward pass (see the module docstring); `keys`: tokens each query attends to (default all)."""
    d, f, p = cfg.dim, cfg.ffn_dim, math.prod(cfg.patch_size)
    seq = latent + semantic
    keys = seq if keys is None else min(keys, seq)
    embed = 2 * latent * p * cfg.in_dim * d + 2 * text * (cfg.text_dim * d + d * d)
    embed += 2 * semantic * (cfg.semantic_dim * d + d * d) + 2 * (cfg.freq_dim * d + 7 * d * d)
    block = 8 * seq * d * d + 4 * seq * keys * d + 4 * seq * d * d + 4 * text * d * d + 4 * seq * text * d
    block += 4 * seq * d * f
    return embed + cfg.num_layers * block + 2 * latent * d * p * cfg.out_dim


def forward_passes(steps: int, sampler: str, cfg: float) -> int:
    """DiT forwards of a sampling run: Heun evaluates twice per step but the last (to σ = 0); guidance other than 1
    runs the negative prompt too (`flow.sample`, `flow.cfg_velocity`)."""
    per_step = [2 if sampler == "heun" and i < steps - 1 else 1 for i in range(steps)]
    return sum(per_step) * (1 if cfg == 1.0 else 2)


@functools.lru_cache(maxsize=8)
def matmul_throughput(device: str, dtype: torch.dtype) -> float:
    """FLOP/s of a square matmul on `device` in `dtype`, best of a few (measured once per process: ~0.1 s)."""
    n = 2048 if device.startswith("cuda") else 1024
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g).to(device, dtype)
    b = torch.randn(n, n, generator=g).to(device, dtype)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    torch.mm(a, b)  # warm-up (kernel selection, thread pool)
    best = math.inf
    for _ in range(3):
        sync()
        t0 = time.perf_counter()
        torch.mm(a, b)
        sync()
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def seconds(flops: float, passes: int, throughput: float) -> float:
    return flops * passes / throughput


def duration(s: float) -> str:
    """'0.012 s', '45 s', '3 min 20 s', '2 h 05 min'."""
    if s < 60:
        return f"{s:.0f} s" if s >= 1 else f"{s:.2g} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


def stage_seconds(
    latent: DiTConfig | None,
    semantic: DiTConfig | None,
    space: SemanticSpace,
    s: Settings,
    passes: int,
    throughput: float,
    text_tokens: int = TEXT_TOKENS,
) -> dict[str, float]:
    """Seconds of each generator stage (`passes` forwards each, see `forward_passes`), tokens as `memory.plan`
    counts them (Swin: a query sees its window's tokens)."""
    n_sem = semantic_tokens(space, s)
    out = {}
    if semantic is not None:
        out["semantic generator"] = seconds(s.batch * step_flops(semantic, n_sem, text_tokens), passes, throughput)
    if latent is not None:
        n_lat, _ = latent_tokens(latent, space, s)
        keys = window_tokens(latent, space, s) if s.window is not None else None
        flops = s.batch * step_flops(latent, n_lat, text_tokens, n_sem, keys)
        out["latent generator"] = seconds(flops, passes, throughput)
    return out


def with_time(report: dict, stage_time: dict[str, float], device: str) -> dict:
    """`memory.report`'s dict with each stage's estimated seconds added (and a line of text)."""
    for st in report["stages"]:
        st["seconds"] = stage_time.get(st["stage"])
    line = ", ".join(f"{name} ≈ {duration(t)}" for name, t in stage_time.items())
    return {**report, "text": f"{report['text']}\ntime on {device} (compute-bound estimate): {line}"}
