"""Rectified flow: z_t = (1 - t)·z0 + t·ε, velocity v = ε - z0, sampled from t = 1 to 0.

Noise is always drawn on the CPU from the seed, so a seed gives the same video on every device.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x (B, ...), sigma (B,)) -> v
Callback = Callable[[int, torch.Tensor, torch.Tensor, int], None]  # (step, x0_pred, x, total) as ComfyUI's
SAMPLERS = ("euler", "heun")


def cpu_noise(shape: tuple[int, ...], seed: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    g = torch.Generator(device="cpu").manual_seed(int(seed) & 0xFFFFFFFFFFFFFFFF)
    return torch.randn(shape, generator=g, dtype=torch.float32).to(dtype)


def shift_sigma(t: torch.Tensor, shift: float) -> torch.Tensor:
    """SD3/Wan timestep shift: spends more steps at high noise for large (video) inputs."""
    return shift * t / (1 + (shift - 1) * t)


def sigmas(steps: int, shift: float = 1.0) -> torch.Tensor:
    """(steps + 1,) noise levels from 1 to 0."""
    if steps < 1:
        raise ValueError(f"steps: expected at least 1, got {steps}")
    return shift_sigma(torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64), shift).float()


def add_noise(z0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """z_t for per-sample t (B,)."""
    t = t.view(-1, *([1] * (z0.ndim - 1))).to(z0)
    return (1 - t) * z0 + t * noise


def flow_loss(velocity: Velocity, z0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The training objective: MSE between the predicted and the true velocity ε - z0 over the whole batch, in fp32.
    `velocity(z_t, t)` gets the per-sample t (B,) in [0, 1]."""
    pred = velocity(add_noise(z0, noise, t), t)
    return (pred.float() - (noise - z0).float()).square().mean()


def cfg_velocity(cond: Velocity, uncond: Velocity | None, scale: float) -> Velocity:
    """Classifier-free guidance; scale 1 (or no negative) is the conditional prediction alone, one call."""
    if uncond is None or scale == 1.0:
        return cond

    def v(x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        vc, vu = cond(x, s), uncond(x, s)
        return vu + scale * (vc - vu)

    return v


def sample(
    velocity: Velocity,
    noise: torch.Tensor,
    sigma: torch.Tensor,
    sampler: str = "euler",
    callback: Callback | None = None,
) -> torch.Tensor:
    """Integrate dx/dσ = v from σ = sigma[0] to sigma[-1]. `callback` runs after every step (progress,
    previews, interrupts: it may raise to stop within one step)."""
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler: expected one of {list(SAMPLERS)}, got {sampler!r}")
    x = noise
    total = len(sigma) - 1
    batch = x.shape[0]
    for i in range(total):
        s, s_next = sigma[i].item(), sigma[i + 1].item()
        v = velocity(x, torch.full((batch,), s))
        x_euler = x + (s_next - s) * v
        if sampler == "heun" and s_next > 0:
            v2 = velocity(x_euler, torch.full((batch,), s_next))
            x_next = x + (s_next - s) * (v + v2) / 2
        else:
            x_next = x_euler
        if callback is not None:
            callback(i, x - s * v, x_next, total)  # x0 prediction for previews
        x = x_next
    return x


def noise_semantic(z: torch.Tensor, strength: float | torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Semantic noise augmentation: move compressed features toward noise by `strength` (train: random per
    sample; inference: the `semantic_noise` input), closing the gap between encoded and generated features."""
    return add_noise(z, noise, torch.as_tensor(strength, dtype=torch.float32).expand(z.shape[0]))
