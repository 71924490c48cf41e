"""Weight memory of real-size configs, counted on the meta device, against the parameter counts they must have."""

from __future__ import annotations

import pytest
import torch

from semanticgen.compressor import CompressorConfig, SemanticCompressor
from semanticgen.dit import DiTConfig, SemanticGenDiT
from semanticgen.encoder import EncoderConfig
from semanticgen.memory import dit_weight_bytes, encoder_weight_bytes, weight_bytes


@pytest.mark.parametrize(
    "config,params",
    [
        (DiTConfig.wan21_1_3b(), 1_418_996_800),  # Wan2.1-T2V-1.3B
        (DiTConfig.wan21_14b(), 14_288_491_584),  # Wan2.1-T2V-14B
    ],
)
def test_dit_weight_bytes_of_wan_sizes(config, params):
    assert dit_weight_bytes(config, torch.float32) == 4 * params
    patch = config.in_dim * 4 * config.dim + config.dim  # the patch embedding stays fp32, as in ComfyUI's WanModel
    assert dit_weight_bytes(config, torch.bfloat16) == 2 * params + 2 * patch


def test_semantic_embedding_adds_its_exact_size():
    base, sem = DiTConfig.wan21_1_3b(), DiTConfig.wan21_1_3b(semantic_dim=64)
    extra = (64 * 1536 + 1536) + (1536 * 1536 + 1536)
    assert dit_weight_bytes(sem, torch.float32) - dit_weight_bytes(base, torch.float32) == 4 * extra


def test_encoder_weight_bytes_match_real_towers():
    # Qwen2.5-VL towers (measured, ENVIRONMENT.md): 3B 668.7M params (out 2048), 7B 676.6M (out 3584)
    three_b = encoder_weight_bytes(EncoderConfig(), torch.float32) / 4
    seven_b = encoder_weight_bytes(EncoderConfig(out_hidden_size=3584), torch.float32) / 4
    assert round(three_b / 1e5) / 10 == 668.7 and round(seven_b / 1e5) / 10 == 676.6


def test_tiny_module_bytes_equal_its_tensors():
    model = SemanticGenDiT(DiTConfig(dim=32, ffn_dim=64, num_heads=2, num_layers=2, text_dim=16))
    assert weight_bytes(model) == sum(t.numel() * t.element_size() for t in model.state_dict().values())
    with torch.device("meta"):
        compressor = SemanticCompressor(CompressorConfig(in_dim=48, out_dim=8, hidden_dim=32))
    assert weight_bytes(compressor, torch.float16) == 2 * sum([48 * 2, 48 * 32 + 32, 32 * 32 + 32, 2 * (32 * 8 + 8)])


# --- the planner ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config,grid,window,chunk",
    [
        (dict(dim=384, ffn_dim=2048, num_heads=4, num_layers=1, text_dim=64), (16, 32, 64), None, 16384),
        (dict(dim=512, ffn_dim=2048, num_heads=4, num_layers=1, text_dim=64), (64, 32, 64), 2, 2048),
    ],
    ids=["full-8k-tokens", "swin-32k-tokens-chunked"],
)
def test_activation_estimate_within_25_percent_of_measured_peak_rss(config, grid, window, chunk, monkeypatch):
    """A fresh process runs one CPU forward; its peak RSS increase against the planner's activation figure."""
    from memory_probe import peak_rss_increase

    import semanticgen.dit as dit
    from semanticgen.memory import dit_activation_bytes

    measured = peak_rss_increase(config, grid, window, chunk)
    monkeypatch.setattr(dit, "CHUNK_TOKENS", chunk)
    tokens, per_frame = grid[0] * grid[1] * grid[2] // 4, grid[1] * grid[2] // 4
    estimate = dit_activation_bytes(
        DiTConfig(**config), tokens, window and window * per_frame, torch.float32, text_tokens=16
    )
    assert measured > 50 * 2**20  # activations dominate the process's fixed costs
    assert abs(estimate / measured - 1) <= 0.25, f"estimate {estimate / 2**20:.0f} MiB, measured {measured / 2**20:.0f}"


def test_swin_step_memory_grows_only_by_the_per_token_state(monkeypatch):
    """Doubling the video under Swin (small chunks) adds what every token carries (the residual stream, its rotary
    table row, the sampler's latents), as the planner predicts, and none of the attention or FFN work, which
    stays bounded by the window. Full attention would add 3 streams (x, k, v) and more."""
    from memory_probe import peak_rss_increase

    import semanticgen.dit as dit
    from semanticgen.memory import dit_activation_bytes

    config = dict(dim=512, ffn_dim=2048, num_heads=4, num_layers=1, text_dim=64)
    short, long = (peak_rss_increase(config, (t, 32, 64), window=2, chunk=2048) for t in (32, 64))
    monkeypatch.setattr(dit, "CHUNK_TOKENS", 2048)
    cfg, window = DiTConfig(**config), 2 * 32 * 64 // 4
    predicted = dit_activation_bytes(cfg, 32768, window, torch.float32) - dit_activation_bytes(
        cfg, 16384, window, torch.float32
    )
    stream = 16384 * 512 * 4  # the (L, D) fp32 residual stream added by the doubling
    assert predicted < 2 * stream  # only per-token state grows in the model …
    assert abs((long - short) / predicted - 1) <= 0.25, f"grew {(long - short) / stream:.2f} streams"  # … and here


def tiny_checkpoint(tmp_path, **kw):
    from test_dit import tiny_dit

    from semanticgen.dit_io import save_dit

    model = tiny_dit(**kw)
    return model, save_dit(model, tmp_path / "g.safetensors")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float8_e4m3fn])
def test_weight_figure_equals_the_loaded_models_bytes(tmp_path, dtype):
    from semanticgen.dit_io import load_dit
    from semanticgen.memory import Settings, dit_stage
    from semanticgen.offload import enable_block_swap

    model, path = tiny_checkpoint(tmp_path, num_layers=5)
    compute = torch.float32
    for swapped in (0, 1, 3):
        loaded = enable_block_swap(load_dit(path, dtype, compute_dtype=compute), swapped)
        s = Settings(blocks_to_swap=swapped, weight_dtype=dtype, compute_dtype=compute)
        stage = dit_stage("g", model.config, 100, None, s)
        assert stage.weights == weight_bytes(loaded)  # resident: what stays in the module tree (+ two slots)
        assert stage.host == sum(weight_bytes(b) for b in loaded.swap.host) if swapped else stage.host == 0
    small = compute if dtype != compute else None
    assert dit_weight_bytes(model.config, dtype, small) == weight_bytes(load_dit(path, dtype, compute_dtype=compute))


def test_plan_grows_with_the_video_and_swin_bounds_the_latent_stage():
    from semanticgen.features import SemanticSpace
    from semanticgen.memory import Settings, plan

    latent, semantic, space = DiTConfig.wan21_1_3b(semantic_dim=64), DiTConfig.wan21_1_3b(in_dim=64), SemanticSpace()
    short = plan(latent, semantic, space, Settings(frames=81))
    long_full = plan(latent, semantic, space, Settings(frames=961))
    long_swin = plan(latent, semantic, space, Settings(frames=961, window=8))
    assert [s.stage for s in short] == ["semantic generator", "latent generator"]
    assert short[1].activations < long_swin[1].activations < long_full[1].activations
    assert long_swin[0].activations == long_full[0].activations  # the semantic stage keeps full attention


def test_recommendations_fit_the_budget_and_name_the_setting():
    from semanticgen.features import SemanticSpace
    from semanticgen.memory import GiB, Settings, advice, plan, recommend

    latent, semantic, space = DiTConfig.wan21_14b(semantic_dim=64), DiTConfig.wan21_1_3b(in_dim=64), SemanticSpace()
    s = Settings(frames=81)
    assert max(st.peak for st in plan(latent, semantic, space, s)) > 24 * GiB  # 14B bf16 weights alone: 28.6 GB
    tips = recommend(latent, semantic, space, s, 24 * GiB)
    assert tips and any(t.text.startswith("set blocks_to_swap ≥") for t in tips)
    for tip in tips:
        assert max(st.peak for st in plan(latent, semantic, space, tip.settings)) <= 24 * GiB, tip.text
    assert "blocks_to_swap" in advice(tips)
    assert recommend(latent, semantic, space, Settings(width=64, height=64, frames=5), 10_000 * GiB) == []


def test_report_says_what_to_change():
    from semanticgen.features import SemanticSpace
    from semanticgen.memory import GiB, Settings, report

    r = report(DiTConfig.wan21_14b(semantic_dim=64), None, SemanticSpace(), Settings(), 8 * GiB)
    assert not r["fits"] and r["advice"] and r["advice"][0].startswith("set blocks_to_swap ≥")
    assert f"does not fit in 8.00 GiB: {r['advice'][0]}" in r["text"] and "latent generator: peak" in r["text"]
    ok = report(DiTConfig.wan21_1_3b(semantic_dim=64), None, SemanticSpace(), Settings(), 24 * GiB)
    assert ok["fits"] and ok["advice"] == [] and "fits in 24.00 GiB" in ok["text"]
