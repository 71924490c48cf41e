"""Measure the peak RSS increase of real training steps (the trainer's stage module and `train_step`), in a fresh
process: `python train_memory_probe.py SPECS_JSON` prints {"increase": [bytes per spec]}, the specs run one after
the other (each from its own baseline; a process for each would spend most of the time importing torch).

SPECS: a list of {"train": TrainConfig fields (stage latent; cache and out unused), "latent" (16, T, H, W) and
"semantic" (d, Ts, Hs, Ws) shapes of a cache row, "text_tokens", "steps", "fsdp_shards" (optional: fully_shard as
`sharded.fsdp2_plugin` does, on a fake process group of that size — this process is one rank whose collectives do
nothing)}.
"""

from __future__ import annotations

import gc
import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def peak_training_rss_increases(specs: list[dict]) -> list[int]:
    """Bytes by which each spec's `steps` training steps raised the peak RSS above the RSS before it, after a
    warm-up step of a tiny model (autograd, kernels and accelerate initialise once). Large allocations are mmap'd
    so freed tensors leave the RSS at once (as in memory_probe.py): a spec starts from what the last one left."""
    # oneDNN capped at AVX2, which every x86-64 machine has: on a CPU with AMX its bf16 kernels keep ~40 MiB of
    # packed weights for themselves (measured: 146 vs 107 MiB), a CPU-backend artefact no accelerator plan includes
    env = {
        "OMP_NUM_THREADS": "1",
        "PATH": "/usr/bin:/bin",
        "MALLOC_MMAP_THRESHOLD_": "131072",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
    }
    out = subprocess.run(
        [sys.executable, __file__, json.dumps(specs)], capture_output=True, text=True, check=False, env=env
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])["increase"]


def _rss(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


class StubData:
    """Random cache rows of one clip size, drawn from the step's generator (what `draw_batch` needs)."""

    def __init__(self, cfg, spec: dict):
        import torch

        self.latent, self.semantic = tuple(spec["latent"]), tuple(spec["semantic"])  # (16, T, H, W), (d, Ts, Hs, Ws)
        self.text = (spec["text_tokens"], cfg.model["text_dim"])
        self.null_text = torch.zeros(1, *self.text)
        steps, frames = self.semantic[1], 4 * (self.latent[1] - 1) + 1
        self.meta = {"step_bounds": [round(i * frames / steps) for i in range(steps + 1)]}

    def draw(self, g, n: int, step: int, rank: int, world: int) -> dict:
        import torch

        return {
            "latents": torch.randn(n, *self.latent, generator=g),
            "text": torch.randn(n, *self.text, generator=g),
            "semantic": torch.randn(n, *self.semantic, generator=g),
        }


def fake_fsdp(stage, shards: int):
    """FSDP2 as accelerate's plugin applies it (a unit per DiT block, then the root), on a fake process group."""
    import torch.distributed as dist
    from torch.distributed.fsdp import fully_shard
    from torch.testing._internal.distributed.fake_pg import FakeStore

    from semanticgen.train.sharded import BLOCK_CLASS

    if not dist.is_initialized():
        dist.init_process_group("fake", store=FakeStore(), rank=0, world_size=shards)
    for module in stage.modules():
        if type(module).__name__ == BLOCK_CLASS:
            fully_shard(module, reshard_after_forward=True)
    return fully_shard(stage, reshard_after_forward=True)


def run(specs: list[dict]) -> None:
    import torch
    from accelerate import Accelerator

    from semanticgen.features import SemanticSpace
    from semanticgen.train.sharded import trainable
    from semanticgen.train.trainer import LatentStage, TrainConfig, draw_batch, train_step

    precisions = {spec["train"].get("mixed_precision", "no") for spec in specs}
    if len(precisions) != 1:  # a process's accelerate state keeps its first precision
        raise ValueError(f"specs: one mixed_precision per probe process, got {sorted(precisions)}")
    acc = Accelerator(cpu=True, mixed_precision=precisions.pop())

    def steps(cfg: TrainConfig, spec: dict) -> None:
        shards = spec.get("fsdp_shards", 1)
        data, space = StubData(cfg, spec), SemanticSpace(**cfg.space)
        torch.manual_seed(cfg.seed)
        stage = LatentStage(cfg, space)
        stage.dit.gradient_checkpointing = cfg.gradient_checkpointing
        if shards > 1:
            stage = fake_fsdp(stage, shards)
        opt = torch.optim.AdamW([p for _, p in trainable(stage)], lr=cfg.lr)
        stage, opt = acc.prepare(stage, opt)
        raw = acc.unwrap_model(stage)
        params = [p for _, p in trainable(raw)]
        ema = {k: p.detach().clone() for k, p in trainable(raw)}
        for step in range(spec["steps"]):
            b = draw_batch(data, cfg, step, 0, space.channels)
            logs = train_step(acc, stage, opt, params, ema, b, data.meta["step_bounds"], cfg, step)
            assert math.isfinite(logs["loss"].item()) or shards > 1  # a fake group gathers garbage

    increases = []
    for spec in specs:
        cfg = TrainConfig(**dict(spec["train"], cache="", out="", log_with=[]))
        tiny = replace(cfg, model={**cfg.model, "dim": 32, "ffn_dim": 64, "num_heads": 2, "num_layers": 1})
        steps(tiny, dict(spec, latent=(16, 2, 8, 8), semantic=(spec["semantic"][0], 1, 2, 2), steps=1))  # warm-up
        gc.collect()
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # reset the peak (VmHWM) to the current RSS
        before = _rss("VmRSS:")
        steps(cfg, spec)
        increases.append(_rss("VmHWM:") - before)
        gc.collect()
    sys.stdout.write(json.dumps({"increase": increases}) + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    run(json.loads(sys.argv[1]))
