"""The time estimate's inputs: FLOPs counted from the config against torch's own FLOP counter on a real forward,
and the number of model calls a sampling run makes."""

from __future__ import annotations

import pytest
import torch
from tiny import random_dit
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from semanticgen.cost import duration, forward_passes, step_flops
from semanticgen.dit import DiTConfig, semantic_positions

CONFIG = DiTConfig(dim=128, ffn_dim=384, num_heads=4, num_layers=3, text_dim=64, semantic_dim=8)


def counted(model, window: int | None = None) -> tuple[float, int, int]:
    """torch's FLOP count of one forward: (FLOPs, latent tokens, semantic tokens)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 16, 9, 16, 16, generator=g)  # 9 latent frames of 8×8 tokens
    sem = torch.randn(1, 8, 4, 2, 2, generator=g)
    pos = semantic_positions([0, 8, 16, 24, 33], (2, 2), model.latent_grid(x.shape))
    # the math backend spells attention out as matmuls, which the counter sees (fused CPU kernels it does not)
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model(x, torch.tensor([500.0]), torch.randn(1, 24, 64, generator=g), sem, pos, window=window)
    return counter.get_total_flops(), 9 * 8 * 8, 4 * 2 * 2


def test_step_flops_match_torch_flop_counter_under_full_attention():
    flops, latent, semantic = counted(random_dit(CONFIG))
    assert step_flops(CONFIG, latent, 24, semantic) == pytest.approx(flops, rel=0.01)


def test_step_flops_under_swin_count_the_window_keys():
    """Swin: each query attends to its window's tokens. Windows are padded to one size, and the padding is computed
    too, so the counted FLOPs are a few % higher (measured 5.5% here: 9 frames in windows of 3, shifted)."""
    model = random_dit(CONFIG)
    flops, latent, semantic = counted(model, window=3)
    keys = 3 * (8 * 8 + -(-semantic // 9))  # 3 latent frames of 64 tokens and their share of the semantic tokens
    estimate = step_flops(CONFIG, latent, 24, semantic, keys)
    assert estimate == pytest.approx(flops, rel=0.1)
    assert estimate < step_flops(CONFIG, latent, 24, semantic)


@pytest.mark.parametrize(
    "steps, sampler, cfg, calls",
    [(20, "euler", 5.0, 40), (20, "euler", 1.0, 20), (20, "heun", 5.0, 78), (1, "heun", 1.0, 1)],
)
def test_forward_passes_follow_the_sampler(steps, sampler, cfg, calls):
    """Counted the way `flow.sample` calls the model: Heun twice per step except into σ = 0."""
    assert forward_passes(steps, sampler, cfg) == calls


def test_duration_reads_well():
    assert [duration(s) for s in (0.0123, 45, 200, 7500)] == ["0.012 s", "45 s", "3 min 20 s", "2 h 05 min"]
