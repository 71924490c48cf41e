"""Training memory planner: the peak memory per device of a training step, before anything is allocated.

Why it counts what it counts (the trainer, `trainer.py`, on accelerate):

* **State.** accelerate's mixed precision keeps fp32 master weights and fp32 gradients (autocast computes in
  bf16/fp16); AdamW adds exp_avg and exp_avg_sq (fp32); the trainer keeps an fp32 EMA of every trainable
  parameter. Frozen parts (the compressor given by `compressor_path`) keep their fp32 weights, no gradient.
  Weights are counted exactly on the meta device (`memory.dit_weight_bytes`).
* **Phases.** Gradients are dropped after every step (`zero_grad(set_to_none=True)`), so a step peaks either in
  forward/backward (state + saved activations + one block's gradients) or at the optimizer step (state + all
  gradients + AdamW's temporaries: the foreach kernels GPUs use make one fp32 copy of exp_avg_sq's root; the
  per-tensor loop CPUs use, two copies of the largest parameter).
* **Activations** are the tensors autograd saves, listed op by op in `BLOCK_SAVED` for the training path of
  `dit.Block` (flash-style attention: no L×L matrix is saved; RMSNorm as its composite x·rsqrt·w). Under
  autocast linear outputs are half precision, the residual stream and norms stay fp32, every linear saves its own
  half copy of an fp32 input, and the half copies of the weights stay cached for backward.
  With activation checkpointing a block keeps only its input; backward recomputes one block at a time.
  Backward's transient gradients are not added: each node frees its saved tensors as it makes their gradients
  (measured: adding two stream-wide and two FFN-wide gradients per token overestimated every activation-bound
  case by 7–10%).
* **FSDP2** (one unit per block, as `sharded.fsdp2_plugin`): master weights, gradients, AdamW state, the EMA and
  frozen weights are split over the shards; on top, each device all-gathers the root unit (embeddings, head,
  compressor; kept unsharded through forward and backward) and two blocks at a time (the current one and the
  prefetched next), in the compute dtype (accelerate's FSDP mixed-precision policy), plus one block's unsharded
  gradients before their reduce-scatter. Activations are per device (data parallel).
* **LoRA** (the trainer's `lora` with `base_dtype` bfloat16): the base weights frozen in bf16, rank-r adapters on
  every block linear trained with fp32 master weights, gradients, AdamW and EMA; activations as in full fine-tuning
  (the adapters save the inputs the base linears would have).

Checked against the measured peak RSS increase of real training steps on CPU (fp32, and bf16 under CPU autocast),
and FSDP's sharding against one rank of fully_shard runs on a fake process group (tests/test_train_planner.py).
The mixed-precision dtypes are CUDA's autocast rules; CPU autocast's op lists differ in a few ops.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field, replace

import torch

from ..compressor import CompressorConfig, SemanticCompressor
from ..dit import DiTConfig, SemanticGenDiT
from ..features import SemanticSpace
from ..memory import Settings, dit_block_bytes, dit_weight_bytes, latent_tokens, semantic_tokens, weight_bytes

FP32 = 4
MIXED = ("bf16", "fp16")

# Tensors one block saves for backward, per token: (what, width "D" or "F", bytes per element in an fp32 run,
# bytes under autocast). Written in the order of `Block._forward_training`.
BLOCK_SAVED: tuple[tuple[str, str, int, int], ...] = (
    ("x (block input, by norm1)", "D", 4, 4),
    ("norm1 out (by modulate's scale)", "D", 4, 4),
    ("modulated input of q, k, v (autocast: one half copy each)", "D", 4, 6),
    ("q, k projections (by RMSNorm)", "D", 8, 4),
    ("q, k · rsqrt (by RMSNorm's weight)", "D", 8, 8),
    ("q, k rotated (by attention)", "D", 8, 4),
    ("v", "D", 4, 2),
    ("attention out (by attention and o)", "D", 4, 2),
    ("o (by the gate)", "D", 4, 2),
    ("x1 (by norm3)", "D", 4, 4),
    ("norm3 out (by cross q)", "D", 4, 2),
    ("cross q projection (by RMSNorm)", "D", 4, 2),
    ("cross q · rsqrt", "D", 4, 4),
    ("cross q normed (by attention)", "D", 4, 2),
    ("cross attention out (by o)", "D", 4, 2),
    ("x2 (by norm2)", "D", 4, 4),
    ("norm2 out", "D", 4, 4),
    ("modulated FFN input (by ffn.0)", "D", 4, 2),
    ("FFN out (by the gate)", "D", 4, 2),
    ("FFN hidden (by GELU)", "F", 4, 2),
    ("GELU out (by ffn.2)", "F", 4, 2),
)
# per text token and block: the cross-attention keys and values of the text (k, k·rsqrt, k normed, v; autocast:
# the context's half copies for k and v instead of the shared fp32 context)
TEXT_SAVED = (16, 14)


@dataclass(frozen=True)
class TrainMemoryConfig:
    """What a training run holds per device: the model, the stage, the clip size per sample, and how it trains."""

    model: DiTConfig
    stage: str = "latent"  # "latent" (DiT + in-context semantic tokens) | "semantic" (the semantic generator)
    batch: int = 1  # per device
    frames: int = 81
    height: int = 480
    width: int = 832
    space: SemanticSpace = field(default_factory=SemanticSpace)
    compressor: CompressorConfig | None = None  # stage latent: trained jointly, or frozen with `compressor_frozen`
    compressor_frozen: bool = False  # stage semantic always has a frozen compressor
    text_tokens: int = 512
    mixed_precision: str = "bf16"  # accelerate: no | bf16 | fp16
    gradient_checkpointing: bool = False
    shards: int = 1  # FSDP2 shard count; 1 = no FSDP (one process or DDP)
    lora_rank: int = 0  # 0 = full fine-tuning
    foreach: bool = True  # AdamW's foreach kernels (the default on GPUs; CPU tensors take the per-tensor loop)

    def __post_init__(self) -> None:
        if self.stage not in ("latent", "semantic"):
            raise ValueError(f"stage: expected 'latent' or 'semantic', got {self.stage!r}")
        if self.mixed_precision not in ("no", *MIXED):
            raise ValueError(f"mixed_precision: expected 'no', 'bf16' or 'fp16', got {self.mixed_precision!r}")
        if self.shards < 1 or self.batch < 1:
            raise ValueError(f"shards and batch: expected ≥ 1, got {self.shards} and {self.batch}")

    @property
    def mixed(self) -> bool:
        return self.mixed_precision in MIXED

    @property
    def compute_bytes(self) -> int:
        return 2 if self.mixed else FP32


@dataclass(frozen=True)
class TrainMemory:
    """Bytes per device at a step's peak, by what holds them."""

    weights: int  # trainable master weights (fp32), this device's shard
    gradients: int  # fp32 gradients, this device's shard (all of them at the optimizer step)
    optimizer: int  # AdamW exp_avg + exp_avg_sq
    ema: int  # the trainer's fp32 EMA of the trainable parameters
    frozen: int  # frozen weights: a frozen compressor, LoRA's base weights
    activations: int  # saved for backward at the peak, and the inputs
    casts: int  # autocast's half copies of the fp32 weights, kept for backward (not under FSDP's policy)
    unsharded: int  # FSDP: the all-gathered root unit and blocks, one block's unsharded gradients
    optimizer_temp: int  # AdamW's temporaries at the step
    tokens: int  # sequence length per sample (latent + in-context semantic tokens)

    @property
    def state(self) -> int:
        """What lives through the whole step."""
        return self.weights + self.optimizer + self.ema + self.frozen

    @property
    def forward_backward(self) -> int:
        return self.state + self.activations + self.casts + self.unsharded

    @property
    def optimizer_step(self) -> int:
        return self.state + self.gradients + self.optimizer_temp

    @property
    def peak(self) -> int:
        return max(self.forward_backward, self.optimizer_step)


# --- parameters ----------------------------------------------------------------------------------------------


def lora_params(config: DiTConfig, rank: int) -> int:
    """Parameters of rank-r adapters (A: r × in, B: out × r) on every linear of every block."""
    d, f = config.dim, config.ffn_dim
    linears = [(d, d)] * 8 + [(d, f), (f, d)]  # self q k v o, cross q k v o, ffn.0, ffn.2 (in, out)
    return config.num_layers * sum(rank * (i + o) for i, o in linears)


def largest_param_bytes(config: DiTConfig) -> int:
    """fp32 bytes of the DiT's largest parameter: the per-tensor AdamW loop's temporaries are two of its size."""
    with torch.device("meta"):
        return FP32 * max(p.numel() for p in SemanticGenDiT(config).parameters())


def compressor_bytes(config: CompressorConfig | None) -> int:
    if config is None:
        return 0
    with torch.device("meta"):
        return weight_bytes(SemanticCompressor(config), torch.float32)


@dataclass(frozen=True)
class Params:
    """fp32 bytes of what trains and what stays frozen, and of one block and the root unit (FSDP's units)."""

    trainable: int
    frozen: int
    block: int  # one block, as the training holds it (trainable fp32, or LoRA's bf16 base)
    root: int  # everything outside the blocks (compressor included), as held


def params(c: TrainMemoryConfig) -> Params:
    dit = dit_weight_bytes(c.model, torch.float32)
    comp = compressor_bytes(c.compressor)
    frozen_comp = comp if (c.stage == "semantic" or c.compressor_frozen) else 0
    if c.lora_rank:
        base = dit_weight_bytes(c.model, torch.bfloat16)
        block = dit_block_bytes(c.model, torch.bfloat16)
        trainable = FP32 * lora_params(c.model, c.lora_rank)
        return Params(trainable, base + frozen_comp, block, base - c.model.num_layers * block + comp)
    block = dit_block_bytes(c.model, torch.float32)
    return Params(dit + comp - frozen_comp, frozen_comp, block, dit - c.model.num_layers * block + comp)


# --- activations ---------------------------------------------------------------------------------------------


def sequence(c: TrainMemoryConfig) -> tuple[int, int]:
    """(latent-stage tokens, semantic tokens) of one sample: the DiT's sequence is their sum for stage latent."""
    s = Settings(width=c.width, height=c.height, frames=c.frames)
    n_sem = semantic_tokens(c.space, s)
    if c.stage == "semantic":
        return 0, n_sem
    return latent_tokens(c.model, c.space, s)[0], n_sem


def block_saved_bytes(c: TrainMemoryConfig, tokens: int) -> int:
    """Bytes one block saves for backward over `tokens` tokens (one sample) and the text."""
    m = c.model
    column = 3 if c.mixed else 2
    per_token = sum(row[column] * (m.dim if row[1] == "D" else m.ffn_dim) for row in BLOCK_SAVED)
    per_token += 2 * m.num_heads * FP32  # the log-sum-exp rows of the two attentions
    return tokens * per_token + c.text_tokens * m.dim * TEXT_SAVED[c.mixed]


def outside_blocks_bytes(c: TrainMemoryConfig, n_lat: int, n_sem: int) -> int:
    """Per sample: inputs and what the embeddings, the head and the loss save; the rotary table."""
    m = c.model
    pixels = math.prod(m.patch_size) * m.in_dim  # latent values per token
    if c.stage == "semantic":
        n_lat, n_sem, pixels = n_sem, 0, m.in_dim  # its own tokens are the semantic ones
    tokens = n_lat + n_sem
    io = n_lat * pixels * FP32 * 6  # latents, noise, z_t, prediction, target, squared error
    head = n_lat * m.dim * (FP32 + FP32 + c.compute_bytes)  # final stream, its norm, the head's input
    embed = n_sem * m.dim * 3 * FP32  # semantic embedding: its hidden, GELU out, output into the stream
    text = c.text_tokens * (2 * m.text_dim + 3 * m.dim) * FP32  # text, its embedding's hidden/GELU/output
    rope = tokens * m.head_dim * FP32  # (cos, sin) per channel pair
    comp = 0
    if c.compressor is not None:
        cc = c.compressor
        comp = n_sem * cc.in_dim * FP32  # the features
        if not (c.stage == "semantic" or c.compressor_frozen):  # saved for its backward
            comp += n_sem * (cc.in_dim + 2 * cc.depth * cc.hidden_dim) * FP32
    return io + head + embed + text + rope + comp


def activation_bytes(c: TrainMemoryConfig) -> tuple[int, int]:
    """(bytes saved for backward and alive at the peak, tokens per sample)."""
    n_lat, n_sem = sequence(c)
    tokens = n_lat + n_sem
    m = c.model
    one_block = block_saved_bytes(c, tokens)
    inputs = m.num_layers * tokens * m.dim * FP32  # checkpointing: every block's input (fp32 stream) + one block
    blocks = inputs + one_block if c.gradient_checkpointing else m.num_layers * one_block
    return c.batch * (blocks + outside_blocks_bytes(c, n_lat, n_sem)), tokens


# --- the plan ------------------------------------------------------------------------------------------------


def plan(c: TrainMemoryConfig) -> TrainMemory:
    """Per-device bytes of a training step of `c` at its peak (see the module docstring for the assumptions)."""
    p = params(c)
    n = c.shards
    acts, tokens = activation_bytes(c)
    casts = 0
    if c.mixed and n == 1:  # autocast caches a half copy of every trainable fp32 weight; LoRA's base is half already
        casts = p.trainable // 2
    block_grads = p.block if not c.lora_rank else FP32 * lora_params(replace(c.model, num_layers=1), c.lora_rank)
    unsharded = block_grads  # the first block's gradients appear while the activations are still alive
    if n > 1:  # all-gathered in the compute dtype: root unit (+ its gradients) and two blocks; one block's gradients
        half = c.compute_bytes / FP32
        held_root = p.root if c.lora_rank else p.root * half
        unsharded = int(2 * held_root + 2 * p.block * half + block_grads * half)
    return TrainMemory(
        weights=math.ceil(p.trainable / n),
        gradients=math.ceil(p.trainable / n),
        optimizer=2 * math.ceil(p.trainable / n),
        ema=math.ceil(p.trainable / n),
        frozen=math.ceil(p.frozen / n),
        activations=acts,
        casts=casts,
        unsharded=unsharded,
        optimizer_temp=math.ceil(p.trainable / n) if c.foreach else 2 * largest_param_bytes(c.model),
        tokens=tokens,
    )


# --- the README table ------------------------------------------------------------------------------------------

CARDS = (24, 48, 80)  # GB cards (10⁹ bytes, as sold)
GB = 10**9
WAN = {
    "Wan2.1-1.3B": DiTConfig.wan21_1_3b(semantic_dim=64),
    "Wan2.1-14B": DiTConfig.wan21_14b(semantic_dim=64),
}
SIZES = ((81, 480, 832), (33, 320, 576))
REAL_COMPRESSOR = CompressorConfig(in_dim=2048, out_dim=64)


def fits(peak: int) -> str:
    """The smallest card of CARDS that holds `peak` bytes (a GB card's usable memory taken as its nominal size)."""
    return next((f"{gb} GB" for gb in CARDS if peak <= gb * GB), "none")


def table_rows() -> list[tuple[str, ...]]:
    rows = []
    for name, model in WAN.items():
        for frames, h, w in SIZES:
            for shards in (1, 8):
                for ckpt in (False, True):
                    c = TrainMemoryConfig(
                        model,
                        frames=frames,
                        height=h,
                        width=w,
                        compressor=REAL_COMPRESSOR,
                        shards=shards,
                        gradient_checkpointing=ckpt,
                    )
                    m = plan(c)
                    rows.append(
                        (
                            name,
                            f"{frames} × {h}×{w}",
                            f"{m.tokens:,}",
                            str(shards),
                            "on" if ckpt else "off",
                            f"{m.state / GB:.1f}",
                            f"{(m.activations + m.casts + m.unsharded) / GB:.1f}",
                            f"{m.peak / GB:.1f}",
                            fits(m.peak),
                        )
                    )
    return rows


def lora_rows() -> list[tuple[str, ...]]:
    rows = []
    for rank in (0, 32, 64):
        for ckpt in (False, True):
            c = TrainMemoryConfig(
                WAN["Wan2.1-1.3B"],
                compressor=REAL_COMPRESSOR,
                compressor_frozen=True,
                lora_rank=rank,
                gradient_checkpointing=ckpt,
            )
            m = plan(c)
            what = f"LoRA rank {rank}" if rank else "full fine-tuning"
            rows.append((what, "on" if ckpt else "off", f"{m.state / GB:.1f}", f"{m.peak / GB:.1f}", fits(m.peak)))
    return rows


def markdown(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"


TABLE_HEADER = (
    "model",
    "frames × size",
    "tokens",
    "FSDP shards",
    "checkpointing",
    "weights + AdamW + EMA",
    "activations + casts + gathered",
    "peak GB",
    "smallest card",
)
LORA_HEADER = ("Wan2.1-1.3B, 81 × 480×832, 1 GPU", "checkpointing", "weights + AdamW + EMA", "peak GB", "smallest card")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Training memory per device (GB) for Wan2.1-size latent generators.")
    ap.add_argument("--table", action="store_true", help="print the docs tables (markdown; the default)")
    ap.parse_args(argv)
    print(markdown(TABLE_HEADER, table_rows()))
    print(markdown(LORA_HEADER, lora_rows()))


if __name__ == "__main__":
    main()
