"""DiT step benchmarks: ours vs ComfyUI's WanModel (same config, weights, inputs), efficiency against the measured
matmul peak, and the cost of the in-context semantic tokens.

FLOPs of a step are counted from the config by `semanticgen.cost.step_flops` (formula in its module docstring).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, replace

import torch

from bench.common import alternate
from semanticgen.cost import matmul_throughput, step_flops
from semanticgen.dit import DiTConfig, SemanticGenDiT, compile_blocks, init_weights, semantic_positions
from semanticgen.features import SemanticSpace


@dataclass(frozen=True)
class Case:
    """A DiT config and the input of one step (video frames × size → latent (1, 16, T, H/8, W/8))."""

    name: str
    config: DiTConfig
    frames: int
    size: int  # square video, pixels
    text_tokens: int
    space: SemanticSpace  # where the in-context semantic tokens of item 3 come from

    @property
    def latent_shape(self) -> tuple[int, int, int, int, int]:
        return (1, self.config.in_dim, (self.frames - 1) // 4 + 1, self.size // 8, self.size // 8)

    def describe(self) -> str:
        c = self.config
        return (
            f"dim {c.dim}, ffn {c.ffn_dim}, {c.num_heads} heads, {c.num_layers} layers, text {self.text_tokens}×"
            f"{c.text_dim}; {self.frames} frames {self.size}×{self.size} px"
        )


CASES = {
    # the demo latent generator's shape at the demo's video size (what `make demo` runs)
    "small": Case(
        "small",
        DiTConfig(dim=128, ffn_dim=256, num_heads=4, num_layers=4, text_dim=384),
        17,
        64,
        32,
        SemanticSpace(channels=8, pixels_per_token=16, sample_fps=4.0, video_fps=8.0),
    ),
    # Wan2.1-1.3B width (dim 1536, ffn 8960, 12 heads, umT5 text width and length) with 2 of its 30 layers
    "wide": Case("wide", DiTConfig.wan21_1_3b(num_layers=2), 17, 256, 512, SemanticSpace(channels=64)),
}


def random_model(cfg: DiTConfig, seed: int = 0) -> SemanticGenDiT:
    """Deterministic random weights with a non-zero output head (the training init zeroes it)."""
    model = init_weights(SemanticGenDiT(cfg), seed)
    with torch.no_grad():
        model.head.head.weight.normal_(0.0, 0.05, generator=torch.Generator().manual_seed(seed + 1))
    return model.eval()


def wan_model(ours: SemanticGenDiT):
    """ComfyUI's own WanModel at the same config, loaded with our weights (identical key layout)."""
    import comfy.ops
    from comfy.ldm.wan.model import WanModel

    c = ours.config
    same = ("patch_size", "in_dim", "dim", "ffn_dim", "freq_dim", "text_dim", "out_dim", "num_heads", "num_layers")
    same += ("qk_norm", "cross_attn_norm", "eps")
    theirs = WanModel(model_type="t2v", operations=comfy.ops.disable_weight_init, **{k: getattr(c, k) for k in same})
    theirs.load_state_dict(ours.state_dict(), strict=True)
    return theirs.eval()


def inputs(case: Case, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(case.latent_shape, generator=g)
    ctx = torch.randn(1, case.text_tokens, case.config.text_dim, generator=g)
    return x, torch.tensor([500.0]), ctx


def versus_wan(case: Case, repeats: int, compiled: bool = False) -> dict:
    """Item 1 and 2: one step of ours vs WanModel, alternately; achieved GFLOP/s of ours. `compiled` adds a third
    contender: ours with `compile_blocks` (same weights), timed after its compiling first call."""
    ours = random_model(case.config)
    theirs = wan_model(ours)
    x, t, ctx = inputs(case)
    fns = {"ours": lambda: ours(x, t, ctx), "wan": lambda: theirs(x, t, ctx)}
    with torch.no_grad():
        ref = ours(x, t, ctx)
        err = (ref - theirs(x, t, ctx)).abs().max().item()  # same computation, checked every run
        if compiled:
            fast = compile_blocks(copy.deepcopy(ours))
            t0 = time.perf_counter()
            err_compiled = (fast(x, t, ctx) - ref).abs().max().item()
            compile_s = time.perf_counter() - t0
            fns["compiled"] = lambda: fast(x, t, ctx)
        timing = alternate(fns, repeats)
    latent = math.prod(ours.latent_grid(x.shape))
    flops = step_flops(case.config, latent, case.text_tokens)
    out = {
        "case": case.name,
        "config": case.describe(),
        "tokens": latent,
        "gflop": flops / 1e9,
        "ours_s": timing.median("ours"),
        "wan_s": timing.median("wan"),
        "ratio": timing.ratio("ours", "wan"),
        "ours_gflops": flops / timing.median("ours") / 1e9,
        "wan_gflops": flops / timing.median("wan") / 1e9,
        "max_abs_diff": err,
        "estimate_s": step_flops(case.config, latent, case.text_tokens) / matmul_throughput("cpu", torch.float32),
        "samples": timing.samples,
    }
    if compiled:
        out |= {
            "compiled_s": timing.median("compiled"),
            "compiled_ratio": timing.ratio("compiled", "wan"),
            "compiled_gflops": flops / timing.median("compiled") / 1e9,
            "compile_s": compile_s,
            "compiled_max_abs_diff": err_compiled,
        }
    return out


def semantic_overhead(case: Case, repeats: int) -> dict:
    """Item 3: the latent generator with vs without its in-context semantic tokens (same weights, same x)."""
    space = case.space
    model = random_model(replace(case.config, semantic_dim=space.channels))
    x, t, ctx = inputs(case)
    idx, grid = space.layout(case.frames, case.size, case.size)
    steps = -(-len(idx) // space.temporal_patch)
    sem = torch.randn(1, space.channels, steps, *grid, generator=torch.Generator().manual_seed(1))
    bounds = list(idx[:: space.temporal_patch])[:steps] + [case.frames]
    pos = semantic_positions(bounds, grid, model.latent_grid(x.shape), space.vae_temporal)
    with torch.no_grad():
        timing = alternate({"with": lambda: model(x, t, ctx, sem, pos), "without": lambda: model(x, t, ctx)}, repeats)
    latent, semantic = math.prod(model.latent_grid(x.shape)), pos.shape[0]
    token_ratio = (latent + semantic) / latent
    return {
        "case": case.name,
        "latent_tokens": latent,
        "semantic_tokens": semantic,
        "token_ratio": token_ratio,
        "flop_ratio": step_flops(model.config, latent, case.text_tokens, semantic)
        / step_flops(model.config, latent, case.text_tokens),
        "with_s": timing.median("with"),
        "without_s": timing.median("without"),
        "time_ratio": timing.ratio("with", "without"),
        "goal": token_ratio * 1.10,
        "samples": timing.samples,
    }
