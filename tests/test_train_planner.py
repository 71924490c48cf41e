"""The training memory planner against real training steps on CPU: the peak RSS increase of the trainer's stage
module and `train_step` (fp32, AdamW, EMA) in a fresh process, for activation-dominated runs with and without
activation checkpointing, batch 1 and 2, a weight-dominated run, and one rank of an FSDP2 run over 4 shards (a fake
process group: the collectives do nothing, the memory is a real rank's), in fp32 and under bf16 autocast; plus the
saved-for-backward table against the tensors autograd really saves."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from train_memory_probe import peak_training_rss_increases

from semanticgen.compressor import CompressorConfig
from semanticgen.dit import Block, DiTConfig
from semanticgen.features import SemanticSpace
from semanticgen.train.planner import TrainMemoryConfig, block_saved_bytes, plan

TOLERANCE = 0.10  # |planned / measured - 1|: allocator and autograd bookkeeping the planner does not model
SPACE = dict(channels=8, pixels_per_token=28, sample_fps=4.0, temporal_patch=2, video_fps=8.0)
COMPRESSOR = dict(in_dim=48, out_dim=8, hidden_dim=32, depth=2)
WIDE = dict(dim=256, ffn_dim=512, num_heads=4, num_layers=2, text_dim=32, semantic_dim=8)  # activations dominate
DEEP = dict(dim=512, ffn_dim=2048, num_heads=4, num_layers=4, text_dim=32, semantic_dim=8)  # weights dominate
CASES = {  # name: (model, frames, size, checkpointing, batch, FSDP shards)
    "activations": (WIDE, 21, 224, False, 1, 1),
    "activations-checkpointed": (WIDE, 21, 224, True, 1, 1),
    "activations-checkpointed-batch2": (WIDE, 21, 224, True, 2, 1),
    "weights": (DEEP, 5, 64, False, 1, 1),
    "weights-fsdp4-checkpointed": (DEEP, 5, 64, True, 1, 4),
}


def planner_config(model, frames, size, ckpt, batch, shards) -> TrainMemoryConfig:
    return TrainMemoryConfig(
        DiTConfig(**model),
        batch=batch,
        frames=frames,
        height=size,
        width=size,
        space=SemanticSpace(**SPACE),
        compressor=CompressorConfig(**COMPRESSOR),
        text_tokens=16,
        mixed_precision="no",
        gradient_checkpointing=ckpt,
        shards=shards,
        foreach=False,  # CPU tensors: AdamW's per-tensor loop
    )


def probe_spec(model, frames, size, ckpt, batch, shards) -> dict:
    space = SemanticSpace(**SPACE)
    train = dict(
        stage="latent",
        model=model,
        space=SPACE,
        compressor=COMPRESSOR,
        batch_size=batch,
        gradient_checkpointing=ckpt,
        steps=2,
    )
    latent = (16, space.latent_frames(frames), size // 8, size // 8)
    semantic = (COMPRESSOR["in_dim"], *space.semantic_grid(frames, size, size))
    return dict(train=train, latent=latent, semantic=semantic, text_tokens=16, steps=2, fsdp_shards=shards)


@pytest.fixture(scope="module")
def measured() -> dict[str, int]:
    """Every case's peak RSS increase, from one fresh process (2 steps each: the second runs with AdamW's state)."""
    return dict(zip(CASES, peak_training_rss_increases([probe_spec(*c) for c in CASES.values()]), strict=True))


@pytest.mark.parametrize("name", list(CASES))
def test_planned_peak_within_tolerance_of_measured(measured, name):
    m, planned = measured[name], plan(planner_config(*CASES[name]))
    assert m > 80 * 2**20  # the run, not the process's fixed costs, sets the peak
    assert abs(planned.peak / m - 1) <= TOLERANCE, f"planned {planned.peak / 2**20:.1f} MiB, measured {m / 2**20:.1f}"


def test_each_regime_is_the_one_planned(measured):
    """Activations set the peak where the plan says so, and checkpointing saves what it plans to save."""
    act, ckpt, wide = (plan(planner_config(*CASES[n])) for n in ("activations", "activations-checkpointed", "weights"))
    assert act.activations > 2 * act.state and wide.state > 10 * wide.activations
    saved, planned_saving = measured["activations"] - measured["activations-checkpointed"], act.peak - ckpt.peak
    assert abs(saved / planned_saving - 1) <= 0.3, (
        f"saved {saved / 2**20:.1f} MiB, planned {planned_saving / 2**20:.1f}"
    )


BF16_CASES = ("activations", "activations-checkpointed", "weights")


@pytest.fixture(scope="module")
def measured_bf16() -> dict[str, int]:
    """The same cases under accelerate's bf16 autocast (CPU), in a process of their own (one precision each)."""
    specs = [probe_spec(*CASES[n]) for n in BF16_CASES]
    for spec in specs:
        spec["train"]["mixed_precision"] = "bf16"
    return dict(zip(BF16_CASES, peak_training_rss_increases(specs), strict=True))


@pytest.mark.parametrize("name", BF16_CASES)
def test_planned_bf16_peak_within_tolerance_of_measured(measured_bf16, name):
    """The bf16 accounting (half-precision saved activations, autocast's half copies of the weights) against real
    steps under CPU autocast; where activations dominate, the fp32 plan would be off by more than the tolerance."""
    m = measured_bf16[name]
    bf16, fp32 = (plan(replace(planner_config(*CASES[name]), mixed_precision=p)).peak for p in ("bf16", "no"))
    assert abs(bf16 / m - 1) <= TOLERANCE, f"planned {bf16 / 2**20:.1f} MiB, measured {m / 2**20:.1f}"
    if name.startswith("activations"):
        assert abs(fp32 / m - 1) > abs(bf16 / m - 1)


def test_fsdp_shard_arithmetic_matches_the_sharded_parameters():
    """Per-device master weights under FSDP2 (4 shards, a fake process group) = the local shards fully_shard made."""
    from train_memory_probe import fake_fsdp

    from semanticgen.train.trainer import LatentStage, TrainConfig

    cfg = TrainConfig(stage="latent", cache="", out="", model=DEEP, space=SPACE, compressor=COMPRESSOR)
    with torch.device("meta"):
        stage = fake_fsdp(LatentStage(cfg, SemanticSpace(**SPACE)), 4)
    local = sum(p.to_local().numel() * 4 for p in stage.parameters())
    planned = plan(planner_config(*CASES["weights-fsdp4-checkpointed"])).weights
    assert abs(planned / local - 1) < 0.01, (planned, local)


def test_block_saved_table_equals_what_autograd_saves():
    """The per-token table (fp32) against the distinct tensors one training block really saves for backward."""
    cfg = DiTConfig(dim=64, ffn_dim=160, num_heads=4, num_layers=1, text_dim=64)
    block, tokens, text = Block(cfg, torch.nn), 300, 16
    x = torch.randn(1, tokens, cfg.dim, requires_grad=True)
    e, ctx = torch.randn(1, 6, cfg.dim), torch.randn(1, text, cfg.dim)
    rope = torch.randn(tokens, cfg.head_dim // 2, 2)
    skip = {t.untyped_storage().data_ptr() for t in (*block.parameters(), e, ctx, rope)}
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in skip and t.numel() > cfg.dim:  # (B, 1, D) modulation terms are not per token
            saved[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        block(x, e, ctx, rope)
    c = TrainMemoryConfig(cfg, text_tokens=text, mixed_precision="no")
    assert sum(saved.values()) == pytest.approx(block_saved_bytes(c, tokens), rel=0.02)
