"""Memory planner: what each stage of a run holds on the compute device, before the run starts.

Weights are counted exactly (the model is built on the meta device, no memory used). Activations are counted
from the tensors alive at the peak of one DiT forward at inference (CFG runs the two branches one after the
other, so a call has batch 1). Inference updates the residual stream (L, D) in place and works on at most
`CHUNK_TOKENS` tokens at a time wherever tokens are independent, so the peak is the stream plus:

* full attention: the keys and values of every token (2 (L, D)) and one chunk's queries;
* Swin: one group of windows (≈ `CHUNK_TOKENS` tokens) — bounded by the window, not the video length;
* FFN: one chunk's hidden states (`CHUNK_TOKENS` × 2 ffn_dim).

Checked against the measured peak RSS increase of CPU forwards (tests/test_memory.py).

`plan` adds weights to give a stage's peak, and `recommend` searches the settings a user can change (block swap,
Swin window, fp8 weights) for the smallest change that fits a memory budget.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import torch
from torch import nn

from . import dit
from .dit import DiTConfig, SemanticGenDiT
from .dit_io import storage_dtype
from .encoder import EncoderConfig
from .features import SemanticSpace

GiB = 2**30
FP8 = (torch.float8_e4m3fn, torch.float8_e5m2)


def element_size(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def weight_bytes(module: nn.Module, dtype: torch.dtype | None = None, small: torch.dtype | None = None) -> int:
    """Bytes of all parameters and persistent buffers stored as `dit_io.cast_weights` stores them in `dtype` (and
    `small`), or as they are when `dtype` is None."""

    def size(name: str, t: torch.Tensor) -> int:
        return t.element_size() if dtype is None else element_size(storage_dtype(name, t, dtype, small))

    tensors = [*module.named_parameters(), *((n, b) for n, b in module.named_buffers() if b is not None)]
    return sum(t.numel() * size(n, t) for n, t in tensors)


def dit_weight_bytes(config: DiTConfig, dtype: torch.dtype = torch.bfloat16, small: torch.dtype | None = None) -> int:
    return _dit_weight_bytes(json.dumps(asdict(config), sort_keys=True), dtype, small)


@functools.lru_cache(maxsize=256)
def _dit_weight_bytes(config: str, dtype: torch.dtype, small: torch.dtype | None) -> int:
    with torch.device("meta"):
        return weight_bytes(SemanticGenDiT(DiTConfig(**json.loads(config))), dtype, small)


def dit_block_bytes(config: DiTConfig, dtype: torch.dtype = torch.bfloat16, small: torch.dtype | None = None) -> int:
    """Bytes of one transformer block (all blocks of a config are alike)."""
    one, none = (replace(config, num_layers=n) for n in (1, 0))
    return dit_weight_bytes(one, dtype, small) - dit_weight_bytes(none, dtype, small)


def encoder_weight_bytes(config: EncoderConfig, dtype: torch.dtype = torch.bfloat16) -> int:
    from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VisionTransformerPretrainedModel

    with torch.device("meta"):
        tower = Qwen2_5_VisionTransformerPretrainedModel(config.vision_config())
    return sum(p.numel() for p in tower.parameters()) * element_size(dtype)


# --- activations --------------------------------------------------------------------------------------------


def dit_activation_bytes(
    config: DiTConfig,
    tokens: int,
    window_tokens: int | None = None,
    compute_dtype: torch.dtype = torch.bfloat16,
    weight_dtype: torch.dtype | None = None,
    text_tokens: int = 512,
) -> int:
    """Peak activation bytes of one inference forward over `tokens` tokens (latent + in-context semantic);
    `window_tokens` = tokens per Swin window, None for full attention. See the module docstring for the count."""
    e, d, f, n = element_size(compute_dtype), config.dim, config.ffn_dim, tokens
    chunk = min(n, dit.CHUNK_TOKENS)
    rope_work = 3 * d * 4  # per token: apply_rope's fp32 copy of q (or k), its rotated halves, the stacked result
    stream = n * d * e  # the residual stream, updated in place
    if window_tokens is None or window_tokens >= n:  # + keys and values of every token, one chunk's queries
        attention = 3 * stream + chunk * (4 * d * e + rope_work)
    else:  # + one group of windows: gathered tokens, modulated input, q, k, v, output; the window index tables
        group = min(n, max(window_tokens, dit.CHUNK_TOKENS // window_tokens * window_tokens))
        attention = stream + group * (9 * d * e + rope_work) + 34 * n
    ffn = stream + chunk * (4 * d + 2 * f) * e  # + one chunk's modulated input, hidden states and output
    cast = 0  # weights stored in another dtype (fp8) are cast per layer: the largest cast copy
    if weight_dtype is not None and weight_dtype != compute_dtype:
        cast = 2 * d * max(f, 3 * d) * e
    rope = n * config.head_dim * 4  # the fp32 (cos, sin) table
    latents = 4 * n * config.in_dim * math.prod(config.patch_size) * 4  # the sampler's fp32 x, noise, velocity, x0
    context = 2 * text_tokens * max(d, config.text_dim) * e
    return max(attention, ffn) + rope + latents + cast + context


# --- a run ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What a run asks for: the video, the latent stage's attention, and how the weights are held."""

    width: int = 832
    height: int = 480
    frames: int = 81
    window: int | None = None  # latent stage: Swin window in latent frames; None = full attention
    blocks_to_swap: int = 0  # per DiT, the blocks kept in host memory and streamed in
    weight_dtype: torch.dtype = torch.bfloat16
    compute_dtype: torch.dtype = torch.bfloat16
    batch: int = 1  # videos per call (CFG's two branches run one after the other)


@dataclass(frozen=True)
class StageEstimate:
    stage: str
    weights: int  # bytes of weights resident on the compute device during the stage
    activations: int  # peak activation bytes
    host: int  # bytes of this stage's weights held in host memory (swapped blocks, or all when offloaded)

    @property
    def peak(self) -> int:
        return self.weights + self.activations


def latent_tokens(config: DiTConfig, space: SemanticSpace, s: Settings) -> tuple[int, int]:
    """(tokens, tokens per latent frame) of the latent generator's own grid."""
    t, h, w = space.latent_grid(s.frames, s.height, s.width, config.patch_size)
    return t * h * w, h * w


def semantic_tokens(space: SemanticSpace, s: Settings) -> int:
    return math.prod(space.semantic_grid(s.frames, s.height, s.width))


def window_tokens(config: DiTConfig, space: SemanticSpace, s: Settings) -> int:
    """Tokens of one Swin window of the latent generator: its latent frames' tokens plus their share of the
    semantic tokens."""
    n_lat, per_frame = latent_tokens(config, space, s)
    frames = n_lat // per_frame
    return min(s.window, frames) * (per_frame + math.ceil(semantic_tokens(space, s) / frames))


def dit_stage(name: str, config: DiTConfig, tokens: int, window_tokens: int | None, s: Settings) -> StageEstimate:
    small = s.compute_dtype if s.weight_dtype != s.compute_dtype else None  # as `dit_io.load_dit` stores them
    total = dit_weight_bytes(config, s.weight_dtype, small)
    block = dit_block_bytes(config, s.weight_dtype, small)
    swapped = min(s.blocks_to_swap, config.num_layers)
    resident = total - swapped * block + min(2, swapped) * block  # two slots take turns with the swapped blocks
    act = s.batch * dit_activation_bytes(config, tokens, window_tokens, s.compute_dtype, s.weight_dtype)
    return StageEstimate(name, resident, act, swapped * block)


def plan(
    latent: DiTConfig | None,
    semantic: DiTConfig | None,
    space: SemanticSpace,
    s: Settings,
) -> list[StageEstimate]:
    """Per-stage estimates of a run (stages whose config is None are left out). ComfyUI loads one stage at a
    time, so the run's device peak is the largest stage's `peak`; host memory holds every stage's weights."""
    n_sem = semantic_tokens(space, s)
    stages = []
    if semantic is not None:
        stages.append(dit_stage("semantic generator", semantic, n_sem, None, s))
    if latent is not None:
        n_lat, _ = latent_tokens(latent, space, s)
        window = window_tokens(latent, space, s) if s.window is not None else None
        stages.append(dit_stage("latent generator", latent, n_lat + n_sem, window, s))
    return stages


def host_bytes(stages: list[StageEstimate]) -> int:
    """Host memory for weights: every stage's weights live there while another stage runs."""
    return sum(st.weights + st.host for st in stages)


# --- recommendations -------------------------------------------------------------------------------------------


def first_fitting(candidates: range, fits: Callable[[int], bool]) -> int | None:
    """The first candidate that fits, by bisection (memory is monotonic in every setting searched)."""
    lo, hi = 0, len(candidates)
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(candidates[mid]):
            hi = mid
        else:
            lo = mid + 1
    return candidates[lo] if lo < len(candidates) else None


@dataclass(frozen=True)
class Tip:
    text: str  # e.g. "set blocks_to_swap ≥ 18"
    settings: Settings  # the settings it describes (they fit the budget)


def recommend(
    latent: DiTConfig,
    semantic: DiTConfig | None,
    space: SemanticSpace,
    s: Settings,
    budget: int,
) -> list[Tip]:
    """The smallest single changes that make every stage fit `budget` bytes: more swapped blocks, a smaller Swin
    window (or Swin at all), fp8 weights; or all of them together. Empty when the settings already fit."""

    def fits(t: Settings) -> bool:
        return max(st.peak for st in plan(latent, semantic, space, t)) <= budget

    if fits(s):
        return []
    tips = []
    layers = max(c.num_layers for c in (latent, semantic) if c is not None)
    swap = first_fitting(range(s.blocks_to_swap + 1, layers + 1), lambda n: fits(replace(s, blocks_to_swap=n)))
    if swap is not None:
        tips.append(Tip(f"set blocks_to_swap ≥ {swap}", replace(s, blocks_to_swap=swap)))
    latent_frames = space.latent_frames(s.frames)
    top = latent_frames if s.window is None else s.window - 1
    window = None  # Swin is the latent stage's; the largest window that fits
    if latent is not None:
        window = first_fitting(range(top, 0, -1), lambda w: fits(replace(s, window=w)))
    if window is not None:
        text = f"attention swin with window ≤ {window}" if s.window is None else f"window ≤ {window}"
        tips.append(Tip(text, replace(s, window=window)))
    fp8 = replace(s, weight_dtype=torch.float8_e4m3fn)
    if s.weight_dtype not in FP8 and fits(fp8):
        tips.append(Tip("dtype fp8_e4m3fn", fp8))
    if not tips:
        both = replace(fp8, window=min(s.window or 4, 4), blocks_to_swap=layers)
        if fits(both):
            tips.append(Tip(f"blocks_to_swap {layers} with fp8_e4m3fn weights and a swin window of 4", both))
    return tips


def advice(tips: list[Tip]) -> str:
    """ "set blocks_to_swap ≥ 18 or window ≤ 8", or what to do when no setting is enough."""
    if not tips:
        return "no setting is enough: use a smaller width × height or fewer frames"
    return " or ".join(t.text for t in tips)


def gib(n: int) -> str:
    return f"{n / GiB:.2f} GiB"


def describe(stages: list[StageEstimate]) -> str:
    """One line per stage, for logs and the planner node."""
    return "\n".join(
        f"{st.stage}: peak {gib(st.peak)} (weights {gib(st.weights)} + activations {gib(st.activations)})"
        + (f", {gib(st.host)} swapped to host" if st.host else "")
        for st in stages
    )


def report(
    latent: DiTConfig | None,
    semantic: DiTConfig | None,
    space: SemanticSpace,
    s: Settings,
    budget: int,
) -> dict:
    """The planner's answer for a run and a device budget: per-stage figures, whether it fits, what to change.
    JSON-ready (the planner node shows its text; the frontend route returns it)."""
    stages = plan(latent, semantic, space, s)
    peak = max(st.peak for st in stages)
    tips = [] if peak <= budget else recommend(latent, semantic, space, s, budget)
    verdict = f"fits in {gib(budget)}" if peak <= budget else f"does not fit in {gib(budget)}: {advice(tips)}"
    return {
        "stages": [
            {"stage": st.stage, "weights": st.weights, "activations": st.activations, "host": st.host, "peak": st.peak}
            for st in stages
        ],
        "peak": peak,
        "host": host_bytes(stages),
        "budget": budget,
        "fits": peak <= budget,
        "advice": [t.text for t in tips],
        "text": "\n".join([describe(stages), f"host memory for weights: {gib(host_bytes(stages))}", verdict]),
    }
