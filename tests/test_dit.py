"""The DiT against ComfyUI's own WanModel, checkpoints, and in-context semantic conditioning."""

from __future__ import annotations

import pytest
import torch
from tiny import random_dit

from semanticgen.checkpoints import CheckpointError
from semanticgen.dit import DiTConfig, SemanticGenDiT, latent_time, pooled_text, semantic_positions
from semanticgen.dit_io import load_dit, load_wan_state_dict, save_dit

TINY = dict(dim=64, ffn_dim=128, num_heads=2, num_layers=2, text_dim=32, freq_dim=256)


def tiny_dit(seed: int = 0, **kw) -> SemanticGenDiT:
    return random_dit(DiTConfig(**{**TINY, **kw}), seed)


@pytest.mark.comfy
def test_matches_comfyui_wanmodel(comfy_modules):
    import comfy.ops
    from comfy.ldm.wan.model import WanModel

    ours = tiny_dit()
    theirs = WanModel(
        model_type="t2v",
        patch_size=(1, 2, 2),
        in_dim=16,
        dim=64,
        ffn_dim=128,
        freq_dim=256,
        text_dim=32,
        out_dim=16,
        num_heads=2,
        num_layers=2,
        operations=comfy.ops.disable_weight_init,
    )
    theirs.load_state_dict(ours.state_dict(), strict=True)  # identical key layout
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 16, 3, 8, 12, generator=g)
    t = torch.tensor([900.0, 250.0])
    ctx = torch.randn(2, 7, 32, generator=g)
    with torch.no_grad():
        a = ours(x, t, ctx)
        b = theirs(x, t, ctx)
    assert a.shape == b.shape == x.shape
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)  # fp32, different op order


def test_wan_checkpoint_initialises_latent_generator_and_reports_new_keys():
    wan = tiny_dit(seed=3)
    comfy_layout = {f"model.diffusion_model.{k}": v for k, v in wan.state_dict().items()}
    gen = tiny_dit(seed=4, semantic_dim=8)
    missing = load_wan_state_dict(gen, comfy_layout, "wan.safetensors")
    assert missing == sorted(k for k in gen.state_dict() if k.startswith("semantic_embedding."))
    for k, v in wan.state_dict().items():
        assert torch.equal(gen.state_dict()[k], v)
    with pytest.raises(CheckpointError, match="has shape"):
        load_wan_state_dict(tiny_dit(dim=32, num_heads=2, semantic_dim=8), wan.state_dict())


def test_checkpoint_roundtrip_and_mismatch(tmp_path):
    m = tiny_dit(semantic_dim=8)
    path = save_dit(m, tmp_path / "gen.safetensors")
    loaded = load_dit(path)
    assert loaded.config == m.config
    for k, v in m.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)
    from semanticgen.checkpoints import save_checkpoint

    save_checkpoint(tmp_path / "bad.safetensors", m.state_dict(), "dit", DiTConfig(**{**TINY, "semantic_dim": 4}))
    with pytest.raises(CheckpointError, match="semantic_embedding"):
        load_dit(tmp_path / "bad.safetensors")


@pytest.mark.parametrize(
    "norm, error",
    [
        ({"mean": [0.5] * 16, "std": [2.0] * 16}, None),
        ({"mean": [0.0] * 3, "std": [1.0] * 3}, "needs 16 means"),
        ({"mean": [0.0] * 16, "std": [0.0] * 16}, "positive stds"),
        ({"mean": [0.0] * 16, "std": ["x"] * 16}, "positive stds"),
        ({"mean": [0.0] * 16}, "bad FeatureNorm"),
    ],
)
def test_feature_norm_roundtrip_and_bad_metadata(tmp_path, norm, error):
    from semanticgen.checkpoints import save_checkpoint
    from semanticgen.dit import FeatureNorm

    m = tiny_dit()
    path = save_checkpoint(tmp_path / "gen.safetensors", m.state_dict(), "dit", m.config, {"feature_norm": norm})
    if error is None:
        assert load_dit(path).feature_norm == FeatureNorm(**norm)
        return
    with pytest.raises(CheckpointError, match=error):
        load_dit(path)


def semantic_case(model, g):
    x = torch.randn(1, 16, 5, 8, 8, generator=g)  # 17 frames -> 5 latent frames
    sem = torch.randn(1, 8, 2, 2, 2, generator=g)  # 2 semantic steps on a 2x2 grid
    pos = semantic_positions([0, 8, 17], (2, 2), model.latent_grid(x.shape))
    return x, sem, pos


def test_semantic_tokens_condition_the_prediction():
    model = tiny_dit(semantic_dim=8)
    g = torch.Generator().manual_seed(1)
    x, sem, pos = semantic_case(model, g)
    t, ctx = torch.tensor([500.0]), torch.randn(1, 4, 32, generator=g)
    with torch.no_grad():
        a = model(x, t, ctx, sem, pos)
        b = model(x, t, ctx, sem + 1.0, pos)
    assert a.shape == x.shape  # semantic positions never reach the output
    assert (a - b).abs().max() > 1e-3


def test_semantic_positions_line_up_with_latent_frames():
    # Wan VAE: latent 0 = frame 0, latent k = frames 4k-3..4k. A step covering frames 1..4 sits on latent 1.
    assert latent_time(torch.tensor(2.5)).item() == pytest.approx(1.0)
    assert latent_time(torch.tensor(6.5)).item() == pytest.approx(2.0)
    pos = semantic_positions([1, 5, 9], (1, 1), (3, 4, 4))
    assert pos[:, 0].tolist() == pytest.approx([1.0, 2.0])
    assert pos[0, 1:].tolist() == pytest.approx([1.5, 1.5])  # centre of the 4x4 latent-token grid
    pos = semantic_positions([0, 8, 16], (2, 2), (5, 8, 8))  # 2x2 cells over an 8x8 grid: centres 1.5, 5.5
    assert sorted(set(pos[:, 1].tolist())) == pytest.approx([1.5, 5.5])


def test_width_errors_name_the_input():
    model = tiny_dit(semantic_dim=8)
    g = torch.Generator().manual_seed(1)
    x, sem, pos = semantic_case(model, g)
    with pytest.raises(ValueError, match="semantic: the model expects 8 channels, got 4"):
        model(x, torch.tensor([1.0]), torch.randn(1, 4, 32), sem[:, :4], pos)
    with pytest.raises(ValueError, match="no semantic tokens"):
        tiny_dit()(x, torch.tensor([1.0]), torch.randn(1, 4, 32), sem, pos)


def test_gradient_checkpointing_gives_the_same_gradients():
    g = torch.Generator().manual_seed(2)
    x, t, ctx = torch.randn(1, 16, 2, 4, 4, generator=g), torch.tensor([300.0]), torch.randn(1, 3, 32, generator=g)
    grads = []
    for ckpt in (False, True):
        model = tiny_dit()
        model.gradient_checkpointing = ckpt
        model(x, t, ctx).square().mean().backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
    torch.testing.assert_close(grads[0], grads[1])


def test_pipeline_names_mismatched_batches():
    from tiny import tiny_generator

    from semanticgen.features import SemanticVideo
    from semanticgen.pipeline import SamplingOptions, generate_latent

    gen = tiny_generator("latent")
    sem = SemanticVideo(torch.zeros(1, 8, 1, 2, 2), 8.0, 9, (64, 64), (0, 4), compressed=True)
    with pytest.raises(ValueError, match="negative: conditioning has batch 2, expected 1"):
        generate_latent(gen, torch.zeros(1, 4, 384), torch.zeros(2, 4, 384), sem, 0.0, SamplingOptions(steps=1))


def test_compile_blocks_keeps_the_wan_key_layout():
    from semanticgen.dit import compile_blocks

    model = tiny_dit()
    keys = list(model.state_dict())
    assert list(compile_blocks(model).state_dict()) == keys  # compiled lazily, on the first forward pass


def test_text_pool_reads_the_prompt_not_its_padding(tmp_path):
    """The pool is the mean of the prompt's own tokens (zero padding after it changes nothing), it changes the
    output, and the option survives an export."""
    m = tiny_dit(text_pool=True, in_dim=4, out_dim=4)
    g = torch.Generator().manual_seed(0)
    x, t = torch.randn(1, 4, 2, 8, 8, generator=g), torch.tensor([500.0])
    prompt = torch.randn(1, 5, 32, generator=g)
    padded = torch.cat([prompt, torch.zeros(1, 3, 32)], dim=1)
    torch.testing.assert_close(pooled_text(padded), prompt.mean(1))
    with torch.no_grad():
        base = m(x, t, prompt)
        plain = tiny_dit(in_dim=4, out_dim=4)
        plain.load_state_dict({k: v for k, v in m.state_dict().items() if not k.startswith("text_pool.")})
        assert not torch.allclose(plain(x, t, prompt), base)  # the pooled path is part of the output
    loaded = load_dit(save_dit(m, tmp_path / "pool.safetensors"))
    assert loaded.config.text_pool
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, t, prompt), base)
