"""RoPE: the complex-multiply rotation equals the real (cos, sin) form to fp32 rounding; tables reused per layout."""

from __future__ import annotations

import torch
from tiny import random_dit

from semanticgen.dit import DiTConfig
from semanticgen.rope import _apply_rope_real, apply_rope, grid_positions, rope_table


def test_complex_rotation_equals_real_form():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 30, 3, 24, generator=g)  # (B, L, H, D)
    pos = torch.cat([grid_positions(2, 3, 4), torch.rand(6, 3, generator=g) * 4])  # integer + fractional
    table = rope_table(pos, 24)
    exact = dict(rtol=0, atol=1e-6)  # |x| < 5: a last-bit difference (fused multiply-add) at most
    torch.testing.assert_close(apply_rope(x, table), _apply_rope_real(x, table), **exact)
    batched = torch.stack([table, rope_table(pos + 0.5, 24)])  # (B, L, D/2, 2)
    torch.testing.assert_close(apply_rope(x, batched), _apply_rope_real(x, batched), **exact)
    half = x.to(torch.bfloat16)
    assert apply_rope(half, table).dtype == torch.bfloat16
    torch.testing.assert_close(apply_rope(half, table), _apply_rope_real(half, table))


def test_positions_are_reused_only_for_the_same_layout():
    model = random_dit(DiTConfig(dim=32, ffn_dim=64, num_heads=2, num_layers=2, text_dim=16, semantic_dim=4))
    g = torch.Generator().manual_seed(1)
    x, ctx, t = torch.randn(1, 16, 3, 4, 4, generator=g), torch.randn(1, 5, 16, generator=g), torch.tensor([500.0])
    sem = torch.randn(1, 4, 1, 2, 2, generator=g)
    pos = torch.rand(4, 3, generator=g) * 2
    with torch.no_grad():
        first = model(x, t, ctx, sem, pos)
        rope = model._positions_cache[1][0]
        assert torch.equal(model(x, t, ctx, sem, pos.clone()), first)  # same values: same table object reused
        assert model._positions_cache[1][0] is rope
        moved = model(x, t, ctx, sem, pos + 1.0)  # new positions: a new table, a different result
        assert model._positions_cache[1][0] is not rope
        assert not torch.equal(moved, first)
    assert "_positions_cache" not in str(list(model.state_dict()))
