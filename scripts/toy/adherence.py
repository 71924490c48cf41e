"""Prompt adherence of a toy model set, in-process (no server), over a larger prompt set than the demo test's.

    python scripts/toy/adherence.py                        # the shipped models, 12 demo + 48 drawn prompts
    python scripts/toy/adherence.py --latent RUN/latent_generator.safetensors --oracle 24

Text-to-video runs the same library calls as the bundled workflow (semantic generator → latent generator → the
native Wan VAE decode) with its sampling settings; the model-free reader scores each video against its prompt.
`--oracle N` also reports shape from *real* semantic features: N cached clips (from the 800th on: the probes' split;
the generators trained on every cached clip) through the compressor, the latent generator and the VAE, read against
their captions — what the latent generator renders when stage 2 is perfect. Needs SEMANTICGEN_COMFYUI
(eval "$(bash scripts/setup.sh)").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

import torch
from safetensors import safe_open

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from semanticgen.compressor import load_compressor  # noqa: E402
from semanticgen.dit_io import load_dit  # noqa: E402
from semanticgen.features import SemanticVideo  # noqa: E402
from semanticgen.pipeline import SamplingOptions, generate_latent, generate_semantic  # noqa: E402
from semanticgen.text import MiniLMTextEncoder  # noqa: E402
from semanticgen.toy.evaluate import DEMO_PROMPTS, parse_prompt, prompt_set, read_video  # noqa: E402
from semanticgen.train.cache import CacheDataset  # noqa: E402

SG = ROOT / "models" / "semanticgen"
WORK = Path(os.environ.get("SEMANTICGEN_CACHE", Path.home() / ".cache" / "semanticgen-comfyui")) / "toy"
ATTRIBUTES = ("colour", "background", "shape", "motion")
FIRST_ORACLE_CLIP = 800  # probe_semantic.py's split: the probes are fitted on the clips before it


def comfy_vae_decoder():
    """ComfyUI's own VAE (the shipped toy Wan VAE, as VAELoader loads it): normalised latents -> frames."""
    sys.path.insert(0, os.environ["SEMANTICGEN_COMFYUI"])
    from comfy.cli_args import args

    args.cpu = True
    import comfy.latent_formats
    import comfy.sd
    import comfy.utils

    vae = comfy.sd.VAE(sd=comfy.utils.load_torch_file(str(ROOT / "models" / "vae" / "toy_wan_vae.safetensors")))
    fmt = comfy.latent_formats.Wan21()
    return lambda latent: vae.decode(fmt.process_out(latent))[0]  # (T, H, W, 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--semantic", type=Path, default=SG / "semantic_generators" / "toy_semantic_generator.safetensors")
    ap.add_argument("--compressor", type=Path, default=SG / "compressors" / "toy_compressor_c8.safetensors")
    ap.add_argument("--latent", type=Path, default=SG / "latent_generators" / "toy_latent_generator.safetensors")
    ap.add_argument("--extra", type=int, default=48, help="prompts drawn like the training captions, after the 12")
    ap.add_argument("--oracle", type=int, default=0, help="cached clips (from the 800th) for the oracle row")
    ap.add_argument("--cache", type=Path, default=WORK / "cache")
    ap.add_argument("--semantic-noise", type=float, default=0.1, help="the Latent Sampler's (workflow default 0.1)")
    a = ap.parse_args()
    if "SEMANTICGEN_COMFYUI" not in os.environ:
        raise SystemExit('SEMANTICGEN_COMFYUI is not set (eval "$(bash scripts/setup.sh)" first)')
    decode, text_encoder = comfy_vae_decoder(), MiniLMTextEncoder()
    semantic_g, latent_g = load_dit(a.semantic), load_dit(a.latent)
    null = text_encoder.encode([""])
    prompts = [*DEMO_PROMPTS, *prompt_set(a.extra, seed=1)]
    right: list[dict[str, bool]] = []
    with torch.no_grad():
        for seed, text in enumerate(prompts):
            cond = text_encoder.encode([text])
            opts = SamplingOptions(seed=seed, steps=20, cfg=3.0, shift=3.0)  # the bundled workflow's settings
            semantic = generate_semantic(semantic_g, cond, null, 17, 64, 64, opts)
            seen = read_video(decode(generate_latent(latent_g, cond, null, semantic, a.semantic_noise, opts)))
            want = parse_prompt(text)
            right.append({k: getattr(seen, k) == getattr(want, k) for k in ATTRIBUTES})
    print("| prompts | " + " | ".join(ATTRIBUTES) + " |")
    print("|---|" + "---|" * len(ATTRIBUTES))
    for name, rows in (("demo", right[: len(DEMO_PROMPTS)]), ("all", right)):
        hits, n = Counter(k for row in rows for k, ok in row.items() if ok), len(rows)
        print(f"| {name} ({n}) | " + " | ".join(f"{hits[k]}/{n} ({hits[k] / n:.0%})" for k in ATTRIBUTES) + " |")
    if a.oracle:
        print(f"oracle shape (real features): {oracle_shape(a, latent_g, decode)}/{a.oracle}")


def oracle_shape(a: argparse.Namespace, latent_g, decode) -> int:
    """Shape right from real semantic features: cached clips, read against their own captions."""
    data, captions = CacheDataset(a.cache), []
    for shard in sorted(a.cache.glob("*.safetensors")):
        with safe_open(str(shard), framework="pt") as f:
            captions += json.loads(f.metadata()["captions"])
    if len(captions) != len(data) or FIRST_ORACLE_CLIP + a.oracle > len(data):
        raise SystemExit(f"--oracle {a.oracle}: {a.cache} needs {FIRST_ORACLE_CLIP + a.oracle} clips with one caption "
                         f"each, it has {len(data)} clips and {len(captions)} captions")  # fmt: skip
    compressor, right, space = load_compressor(a.compressor), 0, latent_g.space
    frames, _ = space.layout(17, 64, 64)  # the cached clips: 17 frames, 64×64, at the space's video fps
    with torch.no_grad():
        for i in range(FIRST_ORACLE_CLIP, FIRST_ORACLE_CLIP + a.oracle):
            text = data.tensors["text"][i : i + 1]
            features = compressor(data.tensors["semantic"][i : i + 1])[0]  # (1, c, Ts, Hs, Ws) posterior means
            real = SemanticVideo(features, space.video_fps, 17, (64, 64), frames, space.temporal_patch, compressed=True)
            opts = SamplingOptions(seed=i, steps=20, cfg=3.0, shift=3.0)
            latent = generate_latent(latent_g, text, data.null_text, real, a.semantic_noise, opts)
            right += read_video(decode(latent)).shape == parse_prompt(captions[i]).shape
    return right


if __name__ == "__main__":
    main()
