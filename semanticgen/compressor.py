"""Compressor: a small MLP that maps encoder features (d) to a compact Gaussian space (c = 8 or 64).

It outputs a mean and a log-variance per token; the KL term against N(0, I) keeps the compressed space
Gaussian-like, so the semantic generator has an easy target and noise augmentation has a natural scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Literal

import torch
from einops import rearrange
from torch import nn

from .checkpoints import check_state_dict, config_from_dict, load_checkpoint, save_checkpoint
from .features import SemanticVideo
from .flow import cpu_noise

KIND = "compressor"
Mode = Literal["mean", "sample"]


@dataclass
class CompressorConfig:
    in_dim: int = 2048  # encoder width d (2048 for the 3B tower)
    out_dim: int = 64  # compressed width c
    hidden_dim: int = 1024
    depth: int = 2  # hidden layers

    @classmethod
    def preset(cls, name: str, in_dim: int = 2048) -> CompressorConfig:
        """`c8` or `c64`: the two widths the paper studies."""
        presets = {"c8": 8, "c64": 64}
        if name not in presets:
            raise ValueError(f"preset: expected one of {sorted(presets)}, got {name!r}")
        return cls(in_dim=in_dim, out_dim=presets[name])


class SemanticCompressor(nn.Module):
    def __init__(self, config: CompressorConfig, operations: ModuleType = nn):
        super().__init__()
        self.config = config
        c = config
        layers: list[nn.Module] = [operations.LayerNorm(c.in_dim)]
        width = c.in_dim
        for _ in range(c.depth):
            layers += [operations.Linear(width, c.hidden_dim), nn.SiLU()]
            width = c.hidden_dim
        self.mlp = nn.Sequential(*layers)
        self.mean = operations.Linear(width, c.out_dim)
        self.logvar = operations.Linear(width, c.out_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, d, T, H, W) -> mean, logvar, each (B, c, T, H, W)."""
        if x.shape[1] != self.config.in_dim:
            raise ValueError(
                f"semantic features: compressor expects width {self.config.in_dim}, got {x.shape[1]} "
                "(the compressor was trained for a different encoder)"
            )
        b, _, t, h, w = x.shape
        tokens = rearrange(x, "b d t h w -> b (t h w) d")
        hidden = self.mlp(tokens)  # (B, L, hidden)
        mean, logvar = self.mean(hidden), self.logvar(hidden).clamp(-30.0, 20.0)
        to_video = "b (t h w) c -> b c t h w"
        return rearrange(mean, to_video, t=t, h=h, w=w), rearrange(logvar, to_video, t=t, h=h, w=w)

    def compress(self, sem: SemanticVideo, mode: Mode = "mean", seed: int = 0) -> SemanticVideo:
        """Features of width d -> width c. `sample` draws from the posterior with CPU noise from `seed`."""
        if mode not in ("mean", "sample"):
            raise ValueError(f"mode: expected 'mean' or 'sample', got {mode!r}")
        if sem.compressed:
            raise ValueError("semantic features: already compressed (connect the Semantic Encoder output)")
        p = next(self.parameters())
        with torch.no_grad():
            mean, logvar = self(sem.features.to(p.device, p.dtype))
        if mode == "mean":
            z = mean
        else:  # drawn on the CPU from the seed: the same result on every device
            z = sample_posterior(mean, logvar, cpu_noise(tuple(mean.shape), seed).to(mean.device, mean.dtype))
        return sem.with_features(z.float().cpu(), compressed=True)


def sample_posterior(mean: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """A sample mean + σ·ε of the posterior N(mean, exp(logvar)), for standard normal noise ε of the same shape
    (reparameterised: gradients reach mean and logvar)."""
    return mean + torch.exp(0.5 * logvar) * eps


def kl_divergence(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) summed over all but the batch axis -> (B,)."""
    kl = 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar)
    return kl.flatten(1).sum(1)


def load_compressor(path: str | Path, dtype: torch.dtype = torch.float32) -> SemanticCompressor:
    state, raw = load_checkpoint(path, kind=KIND)
    name = Path(path).name
    model = SemanticCompressor(config_from_dict(CompressorConfig, raw, name))
    check_state_dict(model, state, name)
    model.load_state_dict(state)
    return model.to(dtype).eval()


def save_compressor(model: SemanticCompressor, path: str | Path, state: dict[str, torch.Tensor] | None = None) -> Path:
    """`state`: the weights to write instead of the model's own (a trainer's EMA, gathered from shards)."""
    return save_checkpoint(path, model.state_dict() if state is None else state, KIND, model.config)
