"""The paper's convergence claim at toy scale: the same two-stage pipeline, same recipe and steps, with the semantic
encoder's features (Qwen2.5-VL tower) swapped for VAE latents as the "semantic" space.

    python scripts/toy/convergence.py            # builds the VAE-feature cache, trains both stages, evaluates

The VAE variant's features are the cached Wan VAE latents (16, 5, 8, 8) patchified 2×2 to (64, 5, 4, 4): the same
width d = 64 and the same 4×4 grid of 16-px cells as the encoder's (64, 4, 4, 4), one step per latent frame. Both
variants then train the shipped recipe (configs/toy/stage_latent.json, stage_semantic.json and
stage_latent_refine.json: compressor 64 → 8, same models, steps, seeds). The semantic variant is the shipped demo
set. Adherence is read by the model-free reader over the demo test's 12 prompts, sampling both variants with the
same settings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

import torch
from einops import rearrange

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from comfy_host import use_comfyui  # noqa: E402

from semanticgen.compressor import load_compressor  # noqa: E402
from semanticgen.dit_io import load_dit  # noqa: E402
from semanticgen.features import SemanticVideo  # noqa: E402
from semanticgen.flow import cfg_velocity, cpu_noise, sample, sigmas  # noqa: E402
from semanticgen.pipeline import SamplingOptions, generate_latent  # noqa: E402
from semanticgen.train.cache import CacheDataset, write_shard  # noqa: E402
from semanticgen.train.trainer import TrainConfig, train  # noqa: E402

WORK = Path(os.environ.get("SEMANTICGEN_CACHE", Path.home() / ".cache" / "semanticgen-comfyui")) / "toy"
MODELS = ROOT / "models"
VAE_BOUNDS = [0, 1, 5, 9, 13, 17]  # Wan VAE: latent 0 = frame 0, latent k = frames 4k-3 … 4k


def build_vae_cache(src: Path, dst: Path) -> None:
    """The cache with `semantic` replaced by 2×2-patchified VAE latents."""
    if dst.is_dir() and any(dst.glob("*.safetensors")):
        return
    data = CacheDataset(src)
    dst.mkdir(parents=True, exist_ok=True)
    feats = rearrange(data.tensors["latents"], "n c t (h ph) (w pw) -> n (c ph pw) t h w", ph=2, pw=2)
    meta = {**data.meta, "step_bounds": VAE_BOUNDS}
    tensors = {"latents": data.tensors["latents"], "text": data.tensors["text"], "semantic": feats}
    write_shard(dst / "shard-00000.safetensors", {**tensors, "null_text": data.null_text}, meta)


def config(name: str, **overrides) -> TrainConfig:
    raw = json.loads((ROOT / "configs" / "toy" / name).read_text())
    return TrainConfig(**{**raw, **overrides})


def train_vae_variant(cache: Path, out: Path) -> tuple[Path, Path, Path]:
    space = {**json.loads((ROOT / "configs" / "toy" / "stage_latent.json").read_text())["space"], "temporal_patch": 1}
    stage1 = train(config("stage_latent.json", cache=str(cache), out=str(out / "stage_latent"), space=space))
    compressor = stage1 / "compressor.safetensors"
    stage2 = train(config("stage_semantic.json", cache=str(cache), out=str(out / "stage_semantic"), space=space,
                          compressor_path=str(compressor)))  # fmt: skip
    refined = train(config("stage_latent_refine.json", cache=str(cache), out=str(out / "stage_latent_refine"),
                           space=space, init_from=str(stage1 / "latent_generator.safetensors"),
                           compressor_path=str(compressor)))  # fmt: skip
    return refined / "latent_generator.safetensors", compressor, stage2 / "semantic_generator.safetensors"


def heldout_losses(cache: Path, compressor: Path, latent: Path, semantic: Path, rows: int = 256) -> dict[str, float]:
    """Flow losses of both stages on the same cached clips, timesteps and noise (compressor posterior means, no
    semantic noise). Stage 1 predicts VAE latents in both variants, so its loss compares directly; stage 2 works
    in each variant's own space (at unit scale where the generator was trained so), so its loss is also given
    relative to the variance of its targets."""
    from semanticgen.dit import semantic_positions
    from semanticgen.flow import add_noise

    data, comp = CacheDataset(cache), load_compressor(compressor)
    lat_g, sem_g = load_dit(latent), load_dit(semantic)
    b = data.batch(torch.arange(rows))
    g = torch.Generator().manual_seed(0)
    t = (torch.arange(rows) + 0.5) / rows  # (N,) evenly over (0, 1)
    with torch.no_grad():
        z_sem = comp(b["semantic"])[0]  # (N, c, Ts, Hs, Ws) posterior means
        pos = semantic_positions(data.meta["step_bounds"], z_sem.shape[-2:], lat_g.latent_grid(b["latents"].shape))
        out = {}
        for name, model, z0, kw in (
            ("stage 1 (latents)", lat_g, b["latents"], dict(semantic=z_sem, semantic_pos=pos)),
            ("stage 2 (semantic)", sem_g, sem_g.feature_norm.normalize(z_sem) if sem_g.feature_norm else z_sem, {}),
        ):
            noise = torch.randn(z0.shape, generator=g)
            losses = []
            for i in range(0, rows, 32):
                sl = slice(i, i + 32)
                args = {k: v[sl] if k == "semantic" else v for k, v in kw.items()}
                pred = model(add_noise(z0[sl], noise[sl], t[sl]), t[sl] * 1000, b["text"][sl], **args)
                losses.append((pred - (noise[sl] - z0[sl])).square().mean().item())
            out[name] = sum(losses) / len(losses)
            if name.startswith("stage 2"):
                out["stage 2 relative"] = out[name] / (z0.var().item() + 1.0)  # Var(noise − x0) = Var(x0) + 1
    return out


def adherence(semantic_path: Path, latent_path: Path, vae, frame_indices: list[int], temporal_patch: int,
              grid: tuple[int, int, int], cfg: float = 3.0, steps: int = 20) -> dict[str, float]:  # fmt: skip
    import comfy.latent_formats

    from semanticgen.text import MiniLMTextEncoder
    from semanticgen.toy.evaluate import DEMO_PROMPTS, parse_prompt, read_video

    te, fmt = MiniLMTextEncoder(), comfy.latent_formats.Wan21()
    sem_g, lat_g = load_dit(semantic_path), load_dit(latent_path)
    null, hits = te.encode([""]), Counter()
    with torch.no_grad():
        for seed, text in enumerate(DEMO_PROMPTS):
            pos = te.encode([text])
            v = cfg_velocity(*(lambda x, s, c=c: sem_g(x, s * 1000, c) for c in (pos, null)), cfg)
            z = sample(v, cpu_noise((1, sem_g.config.in_dim, *grid), seed), sigmas(steps, 3.0), "euler")
            z = sem_g.feature_norm.denormalize(z) if sem_g.feature_norm else z  # sampled at unit scale
            sem = SemanticVideo(z, 8.0, 17, (64, 64), tuple(frame_indices), temporal_patch, compressed=True)
            opts = SamplingOptions(seed=seed, steps=steps, cfg=cfg)
            latent = generate_latent(lat_g, pos, null, sem, 0.1, opts)
            seen, want = read_video(vae.decode(fmt.process_out(latent))[0]), parse_prompt(text)
            for f in ("colour", "background", "shape", "motion"):
                hits[f] += getattr(seen, f) == getattr(want, f)
    return {k: hits[k] / len(DEMO_PROMPTS) for k in ("colour", "background", "shape", "motion")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=WORK / "convergence")
    a = ap.parse_args()
    use_comfyui()  # $SEMANTICGEN_COMFYUI: eval "$(bash scripts/setup.sh)" first
    import comfy.sd
    import comfy.utils

    build_vae_cache(WORK / "cache", a.out / "cache_vae")
    vae_latent, vae_compressor, vae_semantic = train_vae_variant(a.out / "cache_vae", a.out)
    vae = comfy.sd.VAE(sd=comfy.utils.load_torch_file(str(MODELS / "vae" / "toy_wan_vae.safetensors")))
    sg = MODELS / "semanticgen"
    space = load_dit(sg / "semantic_generators" / "toy_semantic_generator.safetensors").space
    idx, grid = space.layout(17, 64, 64)
    shipped = (
        sg / "compressors" / "toy_compressor_c8.safetensors",
        sg / "latent_generators" / "toy_latent_generator.safetensors",
        sg / "semantic_generators" / "toy_semantic_generator.safetensors",
    )
    variants = {
        "semantic encoder (shipped)": (
            WORK / "cache",
            *shipped,
            list(idx),
            space.temporal_patch,
            (-(-len(idx) // space.temporal_patch), *grid),
        ),  # fmt: skip
        "VAE latents": (a.out / "cache_vae", vae_compressor, vae_latent, vae_semantic, VAE_BOUNDS[:-1], 1, (5, 4, 4)),
    }
    rows = {}
    for name, (cache, comp, lat, sem, frames, tp, shape) in variants.items():
        rows[name] = {**adherence(sem, lat, vae, frames, tp, shape), **heldout_losses(cache, comp, lat, sem)}
    keys = ("colour", "background", "shape", "motion")
    losses = ("stage 1 (latents)", "stage 2 (semantic)", "stage 2 relative")
    print("| semantic space | " + " | ".join(keys + losses) + " |")
    print("|" + "---|" * (1 + len(keys) + len(losses)))
    for name, r in rows.items():
        cells = [f"{r[k]:.0%}" for k in keys] + [f"{r[k]:.4f}" for k in losses]
        print(f"| {name} | " + " | ".join(cells) + " |")
    (a.out / "results.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
