"""Shifted-window attention over the shared time coordinate: windows, shifts, semantic tokens, equivalences."""

from __future__ import annotations

import pytest
import torch
from test_dit import tiny_dit
from tiny import TINY_SPACE, tiny_generator

from semanticgen.attention import attention
from semanticgen.dit import semantic_positions
from semanticgen.features import SemanticVideo
from semanticgen.pipeline import SamplingOptions, generate_latent, generate_text_latent
from semanticgen.swin import partition, window_attention, window_ids


def windowed(q, k, v, heads, windows, group_tokens: int = 16384):
    """`window_attention` on precomputed q, k, v: they travel as one (B, L, 3·D) input that `project` splits."""
    rope = torch.zeros(q.shape[1], 1, 2)  # unused by this projection
    return window_attention(
        lambda x, r: x.chunk(3, dim=-1), torch.cat([q, k, v], -1), rope, heads, windows, "sdpa", group_tokens
    )


def frames_of(windows, times: torch.Tensor) -> list[list[float]]:
    """The sorted distinct times in every window (padding slots left out)."""
    keep = windows.keep if windows.keep is not None else torch.ones_like(windows.index, dtype=torch.bool)
    return [sorted(set(times[idx[k]].tolist())) for idx, k in zip(windows.index, keep, strict=True)]


def test_window_ids_shift_by_half_a_window_with_partial_windows_at_both_ends():
    t = torch.arange(10.0)  # 10 latent frames, windows of 4
    assert window_ids(t, 4, shifted=False).tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    assert window_ids(t, 4, shifted=True).tolist() == [0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    assert frames_of(partition(t, 4, shifted=False), t) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]  # partial end
    assert frames_of(partition(t, 4, shifted=True), t) == [[0, 1], [2, 3, 4, 5], [6, 7, 8, 9]]  # partial start
    for shifted in (False, True):  # no cyclic shift: the first and last frames never share a window
        for window in frames_of(partition(t, 4, shifted), t):
            assert not (0 in window and 9 in window)


def masked_reference(q, k, v, heads, times, window, shifted):
    """Full attention restricted by an explicit L×L same-window mask (small L only: the test's reference)."""
    ids = window_ids(times, window, shifted)
    mask = (ids[:, None] == ids[None, :])[None, None]  # (1, 1, L, L)
    return attention(q, k, v, heads, mask)


@pytest.mark.parametrize("shifted", [False, True])
def test_gathered_windows_equal_masked_full_attention(shifted):
    g = torch.Generator().manual_seed(0)
    t = torch.cat([torch.arange(7.0).repeat_interleave(3), torch.tensor([0.4, 2.6, 5.9, 6.2])])  # latent + semantic
    q, k, v = (torch.randn(2, t.numel(), 16, generator=g) for _ in range(3))
    windows = partition(t, 3, shifted)
    assert windows.keep is not None  # unequal windows: the padding path is exercised
    out = windowed(q, k, v, 2, windows)
    torch.testing.assert_close(out, masked_reference(q, k, v, 2, t, 3, shifted), rtol=1e-5, atol=1e-6)


def semantic_inputs(model, frames: int, g: torch.Generator):
    """Latents of a `frames`-frame 32×32 video and its semantic tokens at their shared space-time positions."""
    idx, grid = TINY_SPACE.layout(frames, 32, 32)
    steps = -(-len(idx) // TINY_SPACE.temporal_patch)
    sem = SemanticVideo(torch.randn(1, 8, steps, *grid, generator=g), 8.0, frames, (32, 32), idx, compressed=True)
    x = torch.randn(1, 16, (frames - 1) // 4 + 1, 4, 4, generator=g)
    pos = semantic_positions(sem.step_bounds(), grid, model.latent_grid(x.shape))
    return x, sem, pos


def test_window_covering_the_whole_video_equals_full_attention():
    model = tiny_dit(semantic_dim=8, num_layers=3)
    g = torch.Generator().manual_seed(0)
    x, sem, pos = semantic_inputs(model, 33, g)  # 9 latent frames
    t, ctx = torch.tensor([700.0]), torch.randn(1, 5, 32, generator=g)
    with torch.no_grad():
        full = model(x, t, ctx, sem.features, pos)
        for window in (9, 64):
            torch.testing.assert_close(model(x, t, ctx, sem.features, pos, window=window), full)
        assert (model(x, t, ctx, sem.features, pos, window=4) - full).abs().max() > 1e-4  # a real difference


def changed_frames(model, x, sem, pos, window, frame: int) -> list[int]:
    """Latent frames whose prediction changes when latent frame `frame` (and the semantic tokens at its time)
    change."""
    g = torch.Generator().manual_seed(1)
    t, ctx = torch.tensor([500.0]), torch.randn(1, 5, 32, generator=g)
    x2, s2 = x.clone(), sem.clone()
    x2[:, :, frame] += torch.randn(x2[:, :, frame].shape, generator=g)
    at_frame = (pos[:, 0] - frame).abs() < 0.5  # semantic tokens nearest this latent frame
    s2.view(1, 8, -1)[:, :, at_frame] += 1.0
    with torch.no_grad():
        diff = (model(x, t, ctx, sem, pos, window=window) - model(x2, t, ctx, s2, pos, window=window)).abs()
    return [f for f in range(x.shape[2]) if diff[:, :, f].max() > 1e-6]


def test_windows_are_independent_and_the_shift_alternates_by_layer():
    g = torch.Generator().manual_seed(2)
    x, sem, pos = semantic_inputs(tiny_dit(semantic_dim=8), 41, g)  # 11 latent frames
    assert (pos[:, 0] % 1 != 0).any()  # fractional semantic times
    sem = sem.features
    # one non-shifted layer, windows of 2 latent frames: frame 4 only reaches its own window {4, 5}
    assert changed_frames(tiny_dit(semantic_dim=8, num_layers=1), x, sem, pos, 2, 4) == [4, 5]
    # layer 2 is shifted ({3, 4}, {5, 6}): the change reaches one more window on each side
    assert changed_frames(tiny_dit(semantic_dim=8, num_layers=2), x, sem, pos, 2, 4) == [3, 4, 5, 6]
    # layer 3 is not shifted again ({2, 3} … {6, 7})
    assert changed_frames(tiny_dit(semantic_dim=8, num_layers=3), x, sem, pos, 2, 4) == [2, 3, 4, 5, 6, 7]
    # full attention: one layer reaches every frame (the test can tell the difference)
    assert changed_frames(tiny_dit(semantic_dim=8, num_layers=1), x, sem, pos, None, 4) == list(range(11))


def test_semantic_tokens_share_windows_with_the_latent_frames_they_describe():
    model = tiny_generator("latent")
    x, sem, pos = semantic_inputs(model, 161, torch.Generator().manual_seed(0))  # 41 latent frames, 20 s at 8 fps
    n_latent = x.shape[2] * 4  # 2×2 tokens per latent frame (patch 2 on a 4×4 latent)
    times = pos[:, 0]
    bounds = sem.step_bounds()
    cells = sem.grid[0] * sem.grid[1]
    all_times = torch.cat([torch.arange(x.shape[2]).repeat_interleave(4).float(), times])  # latent, then semantic
    for window in (2, 4, 8):
        for shifted in (False, True):
            ids = window_ids(all_times, window, shifted)
            for s in range(sem.steps):
                first, end = bounds[s], bounds[s + 1]  # source frames [first, end)
                # latent frame k holds source frames 4k-3 … 4k (k ≥ 1) and frame 0 (k = 0)
                described = {k for k in range(x.shape[2]) if max(4 * k - 3, 0) < end and 4 * k >= first}
                token = n_latent + s * cells  # every cell of a step has the same time
                same_window = {int(all_times[i]) for i in range(n_latent) if ids[i] == ids[token]}
                assert same_window & described, (window, shifted, s, described, same_window)


def test_generate_latent_passes_the_window_through():
    model = tiny_generator("latent")
    g = torch.Generator().manual_seed(0)
    _, sem, _ = semantic_inputs(model, 33, g)
    ctx = torch.randn(1, 3, 384, generator=g)
    opts = SamplingOptions(steps=2, cfg=1.0)
    full = generate_latent(model, ctx, None, sem, 0.0, opts)
    torch.testing.assert_close(generate_latent(model, ctx, None, sem, 0.0, opts, window=9), full)
    assert (generate_latent(model, ctx, None, sem, 0.0, opts, window=2) - full).abs().max() > 1e-5
    with pytest.raises(ValueError, match="window: expected a whole number of latent frames"):
        generate_latent(model, ctx, None, sem, 0.0, opts, window=0)


def test_text_only_latent_takes_the_window_and_refuses_bad_requests():
    """The Swin-only baseline's sampler: no semantic tokens, the same window and up-front checks."""
    model = tiny_generator("latent")
    ctx = torch.randn(1, 3, 384, generator=torch.Generator().manual_seed(0))
    opts = SamplingOptions(steps=2, cfg=1.0)
    full = generate_text_latent(model, ctx, None, 33, 32, 32, opts)
    assert full.shape == (1, model.config.in_dim, 9, 4, 4)
    torch.testing.assert_close(generate_text_latent(model, ctx, None, 33, 32, 32, opts, window=9), full)
    assert (generate_text_latent(model, ctx, None, 33, 32, 32, opts, window=2) - full).abs().max() > 1e-5
    with pytest.raises(ValueError, match="window: expected a whole number of latent frames"):
        generate_text_latent(model, ctx, None, 33, 32, 32, opts, window=0)
    with pytest.raises(ValueError, match=r"frames: expected 4k\+1"):
        generate_text_latent(model, ctx, None, 32, 32, 32, opts)
    with pytest.raises(ValueError, match="width: expected a positive multiple of 16"):
        generate_text_latent(model, ctx, None, 33, 32, 24, opts)


def test_gathered_path_with_one_window_equals_full_attention():
    """The gather/attend/scatter path itself (not the one-window shortcut) against plain attention, shifted layer
    included: a window larger than the video puts every token in one (padded-free) window."""
    from semanticgen.attention import attention

    g = torch.Generator().manual_seed(0)
    times = torch.tensor([0.0, 0.0, 1.0, 1.0, 2.0, 2.5, 3.0])
    q, k, v = (torch.randn(2, 7, 16, generator=g) for _ in range(3))
    for shifted in (False, True):
        windows = partition(times, 100.0, shifted)
        torch.testing.assert_close(windowed(q, k, v, 2, windows), attention(q, k, v, 2))
    two = partition(times, 2.0, shifted=False)  # windows [0, 2) and [2, 4): padded, unequal lengths
    out = windowed(q, k, v, 2, two)
    first = times < 2
    torch.testing.assert_close(out[:, first], attention(q[:, first], k[:, first], v[:, first], 2))
    torch.testing.assert_close(out[:, ~first], attention(q[:, ~first], k[:, ~first], v[:, ~first], 2))


@pytest.mark.parametrize("group_tokens", [1, 7, 30])
def test_windows_computed_group_by_group_equal_all_at_once(group_tokens):
    """Bounded transient memory changes nothing: one window per group, a few per group, all in one group."""
    g = torch.Generator().manual_seed(1)
    t = torch.cat([torch.arange(9.0).repeat_interleave(2), torch.tensor([0.5, 3.5, 7.5])])
    q, k, v = (torch.randn(2, t.numel(), 16, generator=g) for _ in range(3))
    for shifted in (False, True):
        windows = partition(t, 2, shifted)
        torch.testing.assert_close(windowed(q, k, v, 2, windows, group_tokens), windowed(q, k, v, 2, windows))


def test_in_place_chunked_inference_equals_the_plain_path(monkeypatch):
    """Inference updates the residual stream in place a chunk (or window group) at a time; with a chunk far
    smaller than the sequence it gives the velocity of the plain out-of-place path (used with gradients), for
    full attention and for Swin with padded windows."""
    import semanticgen.dit as dit

    model = tiny_dit(semantic_dim=8)
    g = torch.Generator().manual_seed(2)
    x, sem, pos = semantic_inputs(model, 33, g)
    ctx, t = torch.randn(1, 3, model.config.text_dim, generator=g), torch.tensor([500.0])
    with torch.enable_grad():
        plain = [model(x, t, ctx, sem.features, pos, window=w).detach() for w in (None, 2, 3)]
    monkeypatch.setattr(dit, "CHUNK_TOKENS", 5)
    with torch.no_grad():
        chunked = [model(x, t, ctx, sem.features, pos, window=w) for w in (None, 2, 3)]
    for a, b in zip(plain, chunked, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
