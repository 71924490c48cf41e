"""Two training stages on cached tensors, on accelerate (CPU, one GPU, many GPUs or machines; DDP or FSDP2).

Stage `latent`:   latent generator + compressor jointly — flow loss on VAE latents given text and the compressed
                  semantic features (noise-augmented), plus a KL term on the compressor's posterior. With
                  `compressor_path` the compressor is frozen (the KL term is then a constant, logged only): the
                  latent generator refines in a fixed semantic space. `semantic_dropout` steps see text only, so
                  the same model also generates without semantic planning (1.0: a text-only baseline).
                  With `lora` the latent generator trains as LoRA on a frozen Wan2.1-layout `init_from` plus its
                  fully trained semantic embedding (the one-GPU adapter recipe, `semanticgen/adapter.py`).
Stage `semantic`: semantic generator on the frozen compressor's outputs — flow loss given text.

All randomness of step `s` on process `r` comes from a generator seeded with (seed, s, r): a resumed run draws
exactly the batches, timesteps and noise the uninterrupted run would have drawn. `samples` writes sample videos
from the EMA weights every N steps beside the checkpoints (and, on the toy world, their adherence: `samples.py`).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..adapter import LoraSpec, add_lora, merged_state, save_adapter
from ..checkpoints import KIND_KEY, read_metadata
from ..compressor import (
    CompressorConfig,
    SemanticCompressor,
    kl_divergence,
    load_compressor,
    sample_posterior,
    save_compressor,
)
from ..dit import DiTConfig, FeatureNorm, SemanticGenDiT, init_weights, semantic_positions
from ..dit_io import KIND as DIT_KIND
from ..dit_io import load_wan_state_dict, read_dit_config, read_feature_norm, save_dit
from ..features import SemanticSpace
from ..flow import add_noise, flow_loss, shift_sigma
from .cache import CacheDataset, ShardStream, open_cache
from .samples import SampleConfig, Sampler
from .sharded import consolidated, describe, full, like, load_optimizer_state, optimizer_state, trainable, use_fsdp2
from .state import load_state, prune, save_state


@dataclass
class TrainConfig:
    stage: str  # "latent" | "semantic"
    cache: str  # folder of cache shards
    out: str  # run folder: checkpoints/ and the exported models
    model: dict = field(default_factory=dict)  # DiTConfig fields
    compressor: dict = field(default_factory=dict)  # CompressorConfig fields (stage latent)
    space: dict = field(default_factory=dict)  # SemanticSpace fields, stored with the exported generators
    compressor_path: str | None = None  # stage semantic: the compressor trained in stage latent; stage latent: keep
    #                                     this compressor frozen (refine a latent generator in a fixed semantic space)
    init_from: str | None = None  # a DiT in Wan2.1's layout to start from (Wan2.1, or our own export of this stage)
    lora: dict = field(default_factory=dict)  # LoraSpec fields (rank, alpha, targets): stage latent trains LoRA on
    #                                           the frozen init_from plus the semantic embedding; {}: every weight
    steps: int = 1000
    batch_size: int = 16  # per process
    lr: float = 2e-4
    warmup: int = 50
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    seed: int = 0
    checkpoint_every: int = 200
    keep_checkpoints: int = 2
    log_every: int = 25
    ema_decay: float = 0.999
    mixed_precision: str = "no"  # accelerate: no | bf16 | fp16
    gradient_checkpointing: bool = False
    cfg_dropout: float = 0.1  # share of steps trained on the empty prompt
    kl_weight: float = 1e-4
    semantic_noise_max: float = 0.3  # train-time semantic noise augmentation: strength ~ U(0, max)
    semantic_dropout: float = 0.0  # stage latent: share of steps without semantic tokens (1: a text-only generator)
    timestep_shift: float = 1.0
    semantic_target: str = "sample"  # stage semantic: "sample" the compressor's posterior, or its "mean"
    normalize_semantic: bool = False  # stage semantic: train on per-channel unit-scale targets (see FeatureNorm)
    streaming: bool = False  # read the cache a shard at a time (bounded host memory) instead of all in memory
    log_with: list[str] = field(default_factory=lambda: ["tensorboard"])  # accelerate trackers, into out/logs
    fsdp: bool = False  # shard with FSDP2 (a unit per block) also where accelerate would not: CPU processes
    samples: dict = field(default_factory=dict)  # SampleConfig fields: sample videos (and evaluation) every N steps

    @classmethod
    def load(cls, path: str | Path, **overrides) -> TrainConfig:
        return cls(**{**json.loads(Path(path).read_text()), **overrides})


def init_dit(dit: SemanticGenDiT, path: str) -> FeatureNorm | None:
    """Load `path` into `dit`: our own export (the same config, or refuse) or a plain Wan2.1 DiT (its new semantic
    keys keep their init). Returns the export's output scale (`feature_norm`), if it has one."""
    from safetensors.torch import load_file

    name, norm = Path(path).name, None
    if read_metadata(path).get(KIND_KEY) == DIT_KIND:  # our own export: same architecture, or refuse
        theirs, _ = read_dit_config(path)  # (tensor shapes alone would miss e.g. num_heads)
        if theirs != dit.config:
            raise ValueError(f"init_from: {name} is a DiT of another config ({theirs}); model here: {dit.config}")
        norm = read_feature_norm(path, theirs)
    missing = load_wan_state_dict(dit, load_file(path), name)
    sys.stdout.write(f"initialised from {path}; new keys: {missing}\n")
    return norm


class LatentStage(nn.Module):
    """Latent generator + compressor, trained together (stage 1), or the generator alone in a frozen space."""

    def __init__(self, cfg: TrainConfig, space: SemanticSpace):
        super().__init__()
        if cfg.compressor_path and cfg.compressor:
            raise ValueError(
                "compressor: give either its config (train a new one) or compressor_path (keep one frozen), not both"
            )
        self.dit = init_weights(SemanticGenDiT(DiTConfig(**cfg.model), space=space), cfg.seed)
        if cfg.compressor_path:  # the semantic space is fixed: semantic generators trained on it stay valid
            self.compressor = load_compressor(cfg.compressor_path).requires_grad_(False)
        else:
            self.compressor = SemanticCompressor(CompressorConfig(**cfg.compressor))
        spec = LoraSpec(**cfg.lora) if cfg.lora else None
        if spec and not cfg.init_from:
            raise ValueError("lora: needs init_from, the Wan2.1-layout DiT whose weights stay frozen")
        if spec and spec.base_dtype == "bfloat16" and cfg.mixed_precision != "bf16":
            raise ValueError("lora.base_dtype: a bfloat16 base needs mixed_precision 'bf16' (its matmuls autocast)")
        if cfg.init_from:
            init_dit(self.dit, cfg.init_from)
        if spec:
            add_lora(self.dit, spec)

    def forward(self, b: dict[str, torch.Tensor], step_bounds: list[int], cfg: TrainConfig) -> dict[str, torch.Tensor]:
        z0 = b["latents"]  # (B, 16, T, H, W)
        mean, logvar = self.compressor(b["semantic"])  # (B, c, Ts, Hs, Ws) each
        z_sem = sample_posterior(mean, logvar, b["eps_posterior"])
        z_sem = add_noise(z_sem, b["eps_semantic"], b["semantic_noise"])  # noise augmentation
        space = self.dit.space
        pos = semantic_positions(step_bounds, z_sem.shape[-2:], self.dit.latent_grid(z0.shape), space.vae_temporal)
        pos = pos.to(z0.device)
        if cfg.semantic_dropout and b["text_only"].item():  # a text-only step (no device sync when never)
            z_sem = pos = None

        def velocity(z_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return self.dit(z_t, t * 1000, b["text"], semantic=z_sem, semantic_pos=pos)

        flow = flow_loss(velocity, z0, b["t"], b["noise"])
        kl = kl_divergence(mean.float(), logvar.float()).mean() / mean[0].numel()
        return {"loss": flow + cfg.kl_weight * kl, "flow": flow.detach(), "kl": kl.detach()}


class SemanticStage(nn.Module):
    """Semantic generator on the frozen compressor's outputs (stage 2)."""

    def __init__(self, cfg: TrainConfig, space: SemanticSpace, data: CacheDataset | ShardStream):
        super().__init__()
        if cfg.lora:
            raise ValueError("lora: the adapter recipe is for stage latent (the semantic generator has no Wan2.1 base)")
        self.dit = init_weights(SemanticGenDiT(DiTConfig(**cfg.model), space=space), cfg.seed)
        if not cfg.compressor_path:
            raise ValueError("compressor_path: stage semantic needs the compressor trained in stage latent")
        if cfg.semantic_target not in ("sample", "mean"):
            raise ValueError(f"semantic_target: expected 'sample' or 'mean', got {cfg.semantic_target!r}")
        self.compressor = load_compressor(cfg.compressor_path).requires_grad_(False)
        if cfg.init_from:  # e.g. a short-clip semantic generator continued on minute-long clips
            self.dit.feature_norm = init_dit(self.dit, cfg.init_from)
        if cfg.normalize_semantic and self.dit.feature_norm is None:  # an init's scale is kept: its outputs use it
            self.dit.feature_norm = self.target_stats(data.chunks("semantic"), cfg.semantic_target)

    @torch.no_grad()
    def target_stats(self, chunks: Iterator[torch.Tensor], target: str) -> FeatureNorm:
        """Per-channel mean and std of the training targets over the whole cache (exact, no sampling: a posterior
        sample's variance is the means' variance plus the mean posterior variance), a shard at a time when
        streaming (per-chunk statistics merged as Chan et al.; one chunk is the plain formula)."""
        dims, parts = (0, 2, 3, 4), []
        for semantic in chunks:
            mean, logvar = self.compressor(semantic)  # (N, c, Ts, Hs, Ws)
            n = mean[:, 0].numel()
            post = logvar.exp().mean(dims) if target == "sample" else torch.zeros(mean.shape[1])
            parts.append((n, mean.mean(dims), mean.var(dims), post))
        if len(parts) == 1:
            _, mu, var, post = parts[0]
        else:
            count = sum(n for n, *_ in parts)
            mu = sum(n * m for n, m, *_ in parts) / count
            m2 = sum((n - 1) * v + n * (m - mu) ** 2 for n, m, v, _ in parts)
            var, post = m2 / (count - 1), sum(n * p for n, _, _, p in parts) / count
        return FeatureNorm(mu.tolist(), (var + post).sqrt().tolist())

    def forward(self, b: dict[str, torch.Tensor], step_bounds: list[int], cfg: TrainConfig) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            mean, logvar = self.compressor(b["semantic"])
            z0 = mean if cfg.semantic_target == "mean" else sample_posterior(mean, logvar, b["eps_posterior"])
            if self.dit.feature_norm is not None:
                z0 = self.dit.feature_norm.normalize(z0)  # (B, c, Ts, Hs, Ws)
        flow = flow_loss(lambda z_t, t: self.dit(z_t, t * 1000, b["text"]), z0, b["t"], b["eps_semantic"])
        return {"loss": flow, "flow": flow.detach()}


def draw_batch(
    data: CacheDataset | ShardStream, cfg: TrainConfig, step: int, rank: int, c: int, world: int = 1
) -> dict[str, torch.Tensor]:
    """Everything random about one step, from (seed, step, rank) alone."""
    g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step * 1_009 + rank)
    n = cfg.batch_size
    b = data.draw(g, n, step, rank, world)
    drop = torch.rand(n, generator=g) < cfg.cfg_dropout
    b["text"] = torch.where(drop[:, None, None], data.null_text.expand_as(b["text"]), b["text"])
    b["t"] = shift_sigma(torch.rand(n, generator=g), cfg.timestep_shift)
    sem_shape = (n, c, *b["semantic"].shape[2:])
    b["eps_posterior"] = torch.randn(sem_shape, generator=g)
    b["eps_semantic"] = torch.randn(sem_shape, generator=g)
    b["semantic_noise"] = torch.rand(n, generator=g) * cfg.semantic_noise_max
    b["noise"] = torch.randn(b["latents"].shape, generator=g)
    b["text_only"] = torch.rand((), generator=g) < cfg.semantic_dropout  # drawn last: earlier draws stay as they were
    return b


def train(cfg: TrainConfig, host=None) -> Path:
    """Run (or resume) a stage; returns the run folder holding the exported models. `host` loads ComfyUI's VAE and
    text encoders for sample videos (`scripts/comfy_host.py`; the library never imports ComfyUI)."""
    acc = make_accelerator(cfg)
    out = Path(cfg.out)
    data = open_cache(cfg.cache, cfg.streaming, cfg.seed)
    space = SemanticSpace(**cfg.space)
    torch.manual_seed(cfg.seed)  # every initialisation (DiT, compressor) derives from the seed
    stage = LatentStage(cfg, space) if cfg.stage == "latent" else SemanticStage(cfg, space, data)
    stage.dit.gradient_checkpointing = cfg.gradient_checkpointing
    opt = torch.optim.AdamW([p for _, p in trainable(stage)], lr=cfg.lr, weight_decay=cfg.weight_decay)
    state = saved_state(out, cfg)
    if state is not None:
        load_weights(stage, state["model"], cfg)  # whole weights into the whole model: `prepare` shards them
    stage, opt = acc.prepare(stage, opt)
    raw = acc.unwrap_model(stage)
    params = [p for _, p in trainable(raw)]  # as `prepare` left them (DTensor shards under FSDP)
    ema = {k: p.detach().clone() for k, p in trainable(raw)}  # sharded like the parameters
    start = restore(acc, state, opt, ema)
    acc.print(describe(acc, params))
    bounds = data.meta["step_bounds"]
    meter = Throughput(cfg.batch_size * acc.num_processes, start)
    sc = SampleConfig(**cfg.samples)
    sc.check(cfg.stage, host)
    sampler = None
    if sc.every and acc.is_main_process:
        sampler = Sampler(sc, cfg.stage, cfg.cache, cfg.semantic_dropout >= 1, acc.device, host)
    for step in range(start, cfg.steps):
        b = draw_batch(data, cfg, step, acc.process_index, space.channels, acc.num_processes)
        logs = train_step(acc, stage, opt, params, ema, b, bounds, cfg, step)
        done = step + 1
        if done % cfg.log_every == 0 or done == cfg.steps:
            report(acc, cfg, done, logs, opt.param_groups[0]["lr"], meter.rates(done, tokens_per_sample(raw, b, cfg)))
        if done % cfg.checkpoint_every == 0 or done == cfg.steps:
            checkpoint(acc, out, cfg, done, raw, opt, ema)
        if sc.every and (done % sc.every == 0 or done == cfg.steps):
            sample(acc, raw, ema, cfg, sampler, out, done)
    export(acc, raw, ema, cfg, out)
    acc.wait_for_everyone()
    acc.end_training()
    return out


def train_step(
    acc,
    stage: nn.Module,
    opt,
    params: list[torch.Tensor],
    ema: dict[str, torch.Tensor],
    b: dict[str, torch.Tensor],
    bounds: list[int],
    cfg: TrainConfig,
    step: int,
) -> dict[str, torch.Tensor]:
    """One optimizer step of the prepared `stage` on batch `b`, then the EMA update; returns the step's logs.
    (The training memory planner, `planner.py`, is checked against this function's measured peak.)"""
    from accelerate.utils import broadcast

    set_lr(opt, cfg, step)
    b = {k: v.to(acc.device) for k, v in b.items()}
    if acc.num_processes > 1:  # a text-only step is one for every process: all take rank 0's draw
        b["text_only"] = broadcast(b["text_only"].clone())
    with acc.autocast():
        logs = stage(b, bounds, cfg)
    acc.backward(logs["loss"])
    if cfg.grad_clip:  # on the parameters as sharded: the norm is the whole model's
        logs["grad_norm"] = full(acc.clip_grad_norm_(params, cfg.grad_clip))
    opt.step()
    opt.zero_grad(set_to_none=True)
    update_ema(ema, acc.unwrap_model(stage), min(cfg.ema_decay, (1 + step) / (10 + step)))
    return logs


@dataclass
class Throughput:
    """Samples per second (all processes) since the previous report."""

    samples_per_step: int
    step: int
    t: float = field(default_factory=time.perf_counter)

    def rates(self, step: int, tokens_per_sample: int) -> dict[str, float]:
        now = time.perf_counter()
        samples = self.samples_per_step * (step - self.step) / max(now - self.t, 1e-9)
        self.step, self.t = step, now
        return {"samples_per_s": samples, "tokens_per_s": samples * tokens_per_sample}


def tokens_per_sample(dit_owner: nn.Module, b: dict[str, torch.Tensor], cfg: TrainConfig) -> int:
    """The DiT's sequence length for one sample: latent tokens plus the in-context semantic tokens (stage latent),
    or the semantic generator's own tokens."""
    dit = dit_owner.dit
    if cfg.stage == "latent":
        return math.prod(dit.latent_grid(b["latents"].shape)) + math.prod(b["semantic"].shape[2:])
    return math.prod(dit.latent_grid(b["eps_semantic"].shape))


def report(acc, cfg: TrainConfig, done: int, logs: dict, lr: float, rates: dict[str, float]) -> None:
    """Rank 0's losses, the learning rate, the gradient norm and the throughput: to stdout and the trackers."""
    values = {k: v.item() for k, v in logs.items()} | {"lr": lr} | rates
    parts = " ".join(f"{k} {v:.4f}" for k, v in logs.items())
    acc.print(f"step {done}/{cfg.steps} {parts} lr {lr:.2e} {rates['samples_per_s']:.1f} samples/s")
    acc.log({("train/" if k in logs else "") + k: v for k, v in values.items()}, step=done)


def make_accelerator(cfg: TrainConfig):
    """accelerate from the launcher's config; `fsdp` also shards CPU processes (see sharded.use_fsdp2)."""
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs, ProjectConfiguration

    project = ProjectConfiguration(project_dir=cfg.out, logging_dir=str(Path(cfg.out) / "logs"))
    # text-only steps leave the semantic embedding without gradients: DDP must be told parameters may go unused
    handlers = [DistributedDataParallelKwargs(find_unused_parameters=True)] if cfg.semantic_dropout else []
    acc = Accelerator(
        mixed_precision=cfg.mixed_precision,
        log_with=cfg.log_with or None,
        project_config=project,
        kwargs_handlers=handlers,
    )
    if cfg.fsdp:
        use_fsdp2(acc)
    if cfg.log_with:
        hparams = {k: v for k, v in asdict(cfg).items() if isinstance(v, int | float | str | bool)}
        acc.init_trackers(cfg.stage, config=hparams)
    return acc


def saved_state(out: Path, cfg: TrainConfig) -> dict | None:
    """The run folder's latest checkpoint, if any, after checking it was written by this recipe."""
    if (state := load_state(out / "checkpoints")) is not None:
        check_resumable(state["extra"].get("config", {}), cfg, state["step"], out)
    return state


def restore(acc, state: dict | None, opt, ema: dict[str, torch.Tensor]) -> int:
    """The step to start from; the optimizer, EMA and loss scale of `state` placed in the prepared (possibly
    sharded) run. The model weights were loaded before `prepare`."""
    if state is None:
        return 0
    load_optimizer_state(opt.optimizer, state["optimizer"])
    for k, v in ema.items():
        v.copy_(like(state["ema"][k], v))
    if acc.scaler is not None and "scaler" in state["extra"]:  # fp16: resume with the loss scale it had reached
        acc.scaler.load_state_dict(state["extra"]["scaler"])
    acc.print(f"resumed from step {state['step']}")
    return state["step"]


def set_lr(opt, cfg: TrainConfig, step: int) -> None:
    """Linear warm-up, then a cosine decay to 10% of `lr`."""
    for group in opt.param_groups:
        warm = min(1.0, (step + 1) / max(cfg.warmup, 1))
        group["lr"] = cfg.lr * warm * (0.55 + 0.45 * math.cos(math.pi * step / cfg.steps))


@torch.no_grad()
def update_ema(ema: dict[str, torch.Tensor], model: nn.Module, decay: float) -> None:
    """ema ← decay·ema + (1 - decay)·weights, for the trained parameters (those in `ema`)."""
    for k, v in model.named_parameters():
        if k in ema:
            ema[k].mul_(decay).add_(v.detach().to(ema[k].device, ema[k].dtype), alpha=1 - decay)


def checkpoint(acc, out: Path, cfg: TrainConfig, done: int, raw: nn.Module, opt, ema: dict) -> None:
    """Write the resumable state after `done` steps, whole (every rank gathers, the main process writes), and keep
    the newest ones."""
    keep = acc.is_main_process
    model, ema_full = consolidated(saved_weights(raw, cfg), keep), consolidated(ema, keep)
    opt_state = optimizer_state(opt.optimizer, keep)
    if keep:
        extra = {"config": asdict(cfg)} | ({"scaler": acc.scaler.state_dict()} if acc.scaler else {})
        save_state(out / "checkpoints", done, model, ema_full, opt_state, extra)
        prune(out / "checkpoints", cfg.keep_checkpoints)
    acc.wait_for_everyone()


def saved_weights(raw: nn.Module, cfg: TrainConfig) -> dict[str, torch.Tensor]:
    """What a checkpoint holds of the model: all of it, or with LoRA only what trains (the frozen rest is
    init_from's and compressor_path's, read again on resume), so a checkpoint costs the adapter's size."""
    return {k: p.detach() for k, p in trainable(raw)} if cfg.lora else raw.state_dict()


def load_weights(stage: nn.Module, weights: dict[str, torch.Tensor], cfg: TrainConfig) -> None:
    """A checkpoint's model weights into the stage built from the same config (see `saved_weights`)."""
    if not cfg.lora:
        stage.load_state_dict(weights)
        return
    expected = {k for k, _ in trainable(stage)}
    if set(weights) != expected:
        raise ValueError(f"checkpoint: holds {sorted(set(weights) ^ expected)[:4]} unlike this LoRA run's weights")
    stage.load_state_dict(weights, strict=False)


# may change between a run and its resumption: where things are, how often to log/checkpoint, and how long to train
RESUMABLE_CHANGES = ("cache", "out", "steps", "log_every", "checkpoint_every", "keep_checkpoints", "fsdp", "log_with")
RESUMABLE_CHANGES += ("samples",)


def check_resumable(saved: dict, cfg: TrainConfig, step: int, out: Path) -> None:
    """Refuse to resume a run folder written by another recipe: its weights would continue (or be exported) under
    settings they were not trained with, e.g. a stale run after its compressor was retrained."""
    try:
        before = asdict(TrainConfig(**saved))
    except TypeError as e:
        raise ValueError(f"{out}: its checkpoint's config is not a TrainConfig ({e}); use a new out folder") from e
    before, now = (json.loads(json.dumps(c)) for c in (before, asdict(cfg)))  # tuples and lists alike
    changed = sorted(k for k in now if k not in RESUMABLE_CHANGES and before[k] != now[k])
    if changed:
        raise ValueError(
            f"{out}: the checkpoint there was trained with other settings ({', '.join(changed)}); "
            "resume with the same config or use a new out folder"
        )
    if step > cfg.steps:
        raise ValueError(f"{out}: the checkpoint there is at step {step}, past steps = {cfg.steps}")


def ema_weights(acc, raw: nn.Module, ema: dict[str, torch.Tensor]) -> dict[str, torch.Tensor] | None:
    """The stage's weights with the EMA in place of the trained ones, whole on the main process (None elsewhere;
    every process takes part in the gathers)."""
    keep = acc.is_main_process
    weights = consolidated(raw.state_dict(), keep) | consolidated(ema, keep)
    return weights if keep else None


def part(weights: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k.removeprefix(prefix): v for k, v in weights.items() if k.startswith(prefix)}


def sample(acc, raw: nn.Module, ema: dict, cfg: TrainConfig, sampler: Sampler | None, out: Path, done: int) -> None:
    """A sample set from the EMA weights (a fresh copy of the generator, unsharded, on the main process), and its
    evaluation logged under eval/."""
    weights = ema_weights(acc, raw, ema)
    if sampler is not None:
        dit = SemanticGenDiT(raw.dit.config, space=raw.dit.space)
        dit.feature_norm = raw.dit.feature_norm
        state = part(weights, "dit.")
        dit.load_state_dict(merged_state(state, LoraSpec(**cfg.lora)) if cfg.lora else state)
        compressor = None
        if cfg.stage == "latent":
            compressor = SemanticCompressor(raw.compressor.config)
            compressor.load_state_dict(part(weights, "compressor."))
            compressor = compressor.to(acc.device).eval()
        logs = sampler(dit.to(acc.device).eval(), compressor, done, out)
        if logs:
            acc.log(logs, step=done)
        acc.print(f"samples of step {done} in {out / 'samples'}" + "".join(f" {k} {v:.2f}" for k, v in logs.items()))
    acc.wait_for_everyone()


def export(acc, raw: nn.Module, ema: dict[str, torch.Tensor], cfg: TrainConfig, out: Path) -> None:
    """Write the EMA weights as SemanticGen checkpoints (config and semantic space in the metadata), whole; with
    LoRA also the adapter (lora.safetensors, semantic_embedding.safetensors)."""
    weights = ema_weights(acc, raw, ema)
    if weights is None:
        return
    dit = part(weights, "dit.")
    if cfg.lora:  # the adapter for the user's own Wan2.1, and the same model merged, for the pack's own loaders
        spec = LoraSpec(**cfg.lora)
        save_adapter(raw.dit, dit, spec, out)
        dit = merged_state(dit, spec)
    save_dit(raw.dit, out / f"{cfg.stage}_generator.safetensors", dit)
    if cfg.stage == "latent":
        save_compressor(raw.compressor, out / "compressor.safetensors", part(weights, "compressor."))
