"""The one-GPU adapter recipe at toy scale: adapt a latent-only text-to-video model to semantic conditioning with
LoRA and with full fine-tuning, the same steps, and compare them side by side.

    python scripts/toy/adapter_compare.py --cache CACHE --out WORK [--base-steps 300 --steps 600 --rank 8]

1. The latent-only base: the shipped latent generator without its semantic embedding, continued `--base-steps`
   text-only (`semantic_dropout` 1), written as a plain Wan2.1-layout file (no SemanticGen metadata), as a user's
   Wan2.1 checkpoint would be.
2. Two adaptations from it, the same steps, seed, batches and learning rate, each training a new compressor
   jointly (stage 1 of the toy recipe): LoRA (peft, rank `--rank`) + the semantic embedding, everything else
   frozen; and every weight.
3. On the cache's last shard (held out: never trained on): the flow loss (the same rows, timesteps and noise; the
   compressor's posterior means), and adherence from real semantic features (held-out clips through the compressor
   and the latent generator, read by `semanticgen.toy.evaluate` against their captions; the base from text alone).
   Also the deliverable's size, the training checkpoint's size, peak RSS and wall time of each training process.

Each training runs in its own process (`python -m semanticgen.train`, one thread), one at a time. Needs
SEMANTICGEN_COMFYUI for the VAE decode (eval "$(bash scripts/setup.sh)").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from adherence import TOY_VAE  # noqa: E402
from comfy_host import load_vae  # noqa: E402

from semanticgen.compressor import load_compressor  # noqa: E402
from semanticgen.dit import semantic_positions  # noqa: E402
from semanticgen.dit_io import load_dit  # noqa: E402
from semanticgen.flow import add_noise, cfg_velocity, cpu_noise, noise_semantic, sample, sigmas  # noqa: E402
from semanticgen.toy.evaluate import Reading, read_video  # noqa: E402
from semanticgen.train.cache import CacheDataset  # noqa: E402

WORK = Path(os.environ.get("SEMANTICGEN_CACHE", Path.home() / ".cache" / "semanticgen-comfyui")) / "toy"
SHIPPED = ROOT / "models" / "semanticgen" / "latent_generators" / "toy_latent_generator.safetensors"
RECIPE = json.loads((ROOT / "configs" / "toy" / "stage_latent.json").read_text())
ATTRIBUTES = ("colour", "background", "shape", "motion")
# `python -m semanticgen.train CONFIG`, after importing peft (and the transformers it pulls in) in every run, so that
# the peak RSS of the runs differs by what they train, not by what they import
TRAIN = "import sys, runpy, peft; sys.argv[0] = 'train'; runpy.run_module('semanticgen.train', run_name='__main__')"


def split_cache(cache: Path, work: Path) -> tuple[Path, Path]:
    """Links to the cache's shards: all but the last for training, the last one held out."""
    shards = sorted(cache.glob("shard-*.safetensors"))
    if len(shards) < 2:
        raise SystemExit(f"--cache: {cache} needs at least 2 shards (one is held out), it has {len(shards)}")
    train, held = work / "cache_train", work / "cache_heldout"
    for folder, part in ((train, shards[:-1]), (held, shards[-1:])):
        folder.mkdir(parents=True, exist_ok=True)
        for i, shard in enumerate(part):
            link = folder / f"shard-{i:05d}.safetensors"
            if not link.exists():
                link.symlink_to(shard.resolve())
    return train, held


def wan_file(generator: Path, out: Path) -> Path:
    """A latent generator's weights without the semantic embedding, in Wan2.1's single-file layout."""
    state = {k: v for k, v in load_file(str(generator)).items() if not k.startswith("semantic_embedding.")}
    save_file({f"model.diffusion_model.{k}": v for k, v in state.items()}, str(out))
    return out


def run_training(name: str, work: Path, **overrides) -> dict:
    """One `python -m semanticgen.train` process on one thread: its run folder, peak RSS and wall time."""
    cfg = {**RECIPE, "out": str(work / name), "log_with": [], "checkpoint_every": 100_000, **overrides}
    path = work / f"{name}.json"
    path.write_text(json.dumps(cfg, indent=1))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    with open(work / f"{name}.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-c", TRAIN, str(path)], env=env, stdout=log, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise SystemExit(f"{name}: training failed (status {status}), see {work / name}.log")
    ckpt = max((work / name / "checkpoints").glob("step-*"))
    return {
        "out": work / name,
        "seconds": time.perf_counter() - start,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,  # unlike wall time, not stretched by other processes
        "peak_rss_mib": usage.ru_maxrss / 1024,  # Linux: KiB
        "checkpoint_mib": sum(f.stat().st_size for f in ckpt.iterdir()) / 2**20,
        "trainable": sum(
            v.numel() for k, v in load_file(str(ckpt / "ema.safetensors")).items() if k.startswith("dit.")
        ),
    }


def heldout_truth(cache: Path, dataset: Path) -> list[Reading]:
    """What each held-out row shows: the dataset's clip attributes (the varied captions do not parse), rows in
    build order, checked against the captions the cache recorded."""
    shards = sorted(cache.glob("shard-*.safetensors"))
    first = sum(safe_open(str(s), framework="pt").get_slice("latents").get_shape()[0] for s in shards[:-1])
    with safe_open(str(shards[-1]), framework="pt") as f:
        cached = json.loads(f.metadata()["captions"])
    with safe_open(str(dataset), framework="pt") as f:
        meta = f.metadata()
    texts, clips = json.loads(meta["captions"])[first:], json.loads(meta["clips"])[first:]
    if texts[: len(cached)] != cached:
        raise SystemExit(f"--dataset: {dataset} is not the dataset {cache} was built from (captions differ)")
    return [Reading(c["background"], c["colour"], c["shape"], c["motion"]) for c in clips[: len(cached)]]


@torch.no_grad()
def heldout_loss(generator: Path, compressor: Path | None, data: CacheDataset, chunk: int = 50) -> float:
    """Mean flow loss over every held-out row: t evenly over (0, 1), noise from seed 0, the compressor's posterior
    means as semantic tokens (None: text only)."""
    dit, n = load_dit(generator), len(data)
    b = data.batch(torch.arange(n))
    t = (torch.arange(n) + 0.5) / n
    noise = torch.randn(b["latents"].shape, generator=torch.Generator().manual_seed(0))
    z_sem = pos = None
    if compressor is not None:
        z_sem = load_compressor(compressor)(b["semantic"])[0]  # (N, c, Ts, Hs, Ws)
        pos = semantic_positions(data.meta["step_bounds"], z_sem.shape[-2:], dit.latent_grid(b["latents"].shape))
    losses = []
    for i in range(0, n, chunk):
        sl = slice(i, i + chunk)
        z0 = b["latents"][sl]
        sem = None if z_sem is None else z_sem[sl]
        pred = dit(add_noise(z0, noise[sl], t[sl]), t[sl] * 1000, b["text"][sl], sem, pos)
        losses.append((pred - (noise[sl] - z0)).square().mean().item() * z0.shape[0])
    return sum(losses) / n


@torch.no_grad()
def adherence(generator: Path, compressor: Path | None, data: CacheDataset, truth: list[Reading], clips: int, decode):
    """Share of held-out clips whose render is read with the clip's own attributes: from the clip's real semantic
    features (the posterior means, semantic noise 0.1 as the workflows) and its text, or from text alone (None);
    cfg 3, 20 Euler steps, shift 3, as the bundled workflows."""
    dit, hits = load_dit(generator), dict.fromkeys(ATTRIBUTES, 0)
    comp = load_compressor(compressor) if compressor is not None else None
    for i in range(clips):
        b = data.batch(torch.tensor([i]))
        z_sem = pos = None
        if comp is not None:
            z = comp(b["semantic"])[0]
            z_sem = noise_semantic(z, 0.1, cpu_noise(tuple(z.shape), i + 1))
            pos = semantic_positions(data.meta["step_bounds"], z.shape[-2:], dit.latent_grid(b["latents"].shape))
        cond, uncond = (
            lambda x, s, c=c, z=z_sem, p=pos: dit(x, s * 1000, c, z, p) for c in (b["text"], data.null_text)
        )
        v = cfg_velocity(cond, uncond, 3.0)
        latent = sample(v, cpu_noise(tuple(b["latents"].shape), i), sigmas(20, 3.0), "euler")
        seen, want = read_video(decode(latent)), truth[i]
        for k in ATTRIBUTES:
            hits[k] += getattr(seen, k) == getattr(want, k)
    return {k: v / clips for k, v in hits.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=WORK / "cache", help="the toy cache (its last shard is held out)")
    ap.add_argument("--dataset", type=Path, default=WORK / "dataset.safetensors", help="the clips it was built from")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--base-steps", type=int, default=300)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--clips", type=int, default=32, help="held-out clips rendered for adherence")
    a = ap.parse_args()
    work = a.out
    work.mkdir(parents=True, exist_ok=True)
    train_cache, held = split_cache(a.cache, work)
    text_only = {**RECIPE["model"], "semantic_dim": 0}
    shipped = wan_file(SHIPPED, work / "shipped_without_semantic.safetensors")
    common = dict(cache=str(train_cache), lr=a.lr, warmup=50)
    base_run = dict(common, model=text_only, init_from=str(shipped), steps=a.base_steps, semantic_dropout=1.0)
    runs = {"base": run_training("base", work, **base_run)}
    base = wan_file(runs["base"]["out"] / "latent_generator.safetensors", work / "base_wan.safetensors")
    adapt = dict(common, init_from=str(base), steps=a.steps, semantic_dropout=0.0)
    runs["lora"] = run_training("lora", work, **adapt, lora={"rank": a.rank, "alpha": float(a.rank)})
    runs["full"] = run_training("full", work, **adapt)
    data, truth, decode = CacheDataset(held), heldout_truth(a.cache, a.dataset), load_vae(TOY_VAE).decode
    deliverables = {"lora": ("lora.safetensors", "semantic_embedding.safetensors")}
    head = "| run | steps | DiT weights trained | held-out flow loss | colour / background / shape / motion"
    print(f"{head} ({a.clips} held-out clips) | deliverable MiB | checkpoint MiB | peak RSS MiB | wall / CPU time |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in runs.items():
        out = r["out"]
        compressor = out / "compressor.safetensors" if name != "base" else None  # the base: text only
        gen = out / "latent_generator.safetensors"  # the LoRA run's: merged (= the adapter through core's loader)
        files = deliverables.get(name, ("latent_generator.safetensors",))
        size = sum((out / f).stat().st_size for f in files) / 2**20
        loss = heldout_loss(gen, compressor, data)
        adh = " / ".join(f"{v:.0%}" for v in adherence(gen, compressor, data, truth, a.clips, decode).values())
        steps = a.base_steps if name == "base" else a.steps
        cells = [name, str(steps), f"{r['trainable']:,}", f"{loss:.4f}", adh, f"{size:.2f}"]
        cells += [
            f"{r['checkpoint_mib']:.2f}",
            f"{r['peak_rss_mib']:.0f}",
            f"{r['seconds']:.0f} s / {r['cpu_seconds']:.0f} s",
        ]
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
