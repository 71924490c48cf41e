"""How much latent error a toy VAE's decoder tolerates before the shape is lost, side by side for several VAEs.

    python scripts/toy/vae_robustness.py models/vae/toy_wan_vae.safetensors OTHER.safetensors --clips 48

Renders `--clips` short toy clips (seeded), encodes each with the VAE, adds Gaussian noise of std σ in the
normalised latent space the generators sample in, decodes and reads shape, colour and one-piece frames with the
model-free readers: how fast these rows fall says how much a generator's small latent errors can cost in shapes
(docs/toy_world.md, "Sampling settings are not the fix").
Needs SEMANTICGEN_COMFYUI.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from comfy_host import load_vae  # noqa: E402

from semanticgen.flow import cpu_noise  # noqa: E402
from semanticgen.toy import Clip  # noqa: E402
from semanticgen.toy.evaluate import read_video  # noqa: E402
from semanticgen.toy.longclip import one_piece  # noqa: E402
from semanticgen.toy.world import render  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vaes", type=Path, nargs="+")
    ap.add_argument("--clips", type=int, default=48)
    ap.add_argument("--sigmas", default="0,0.1,0.2,0.3")
    ap.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()
    sigmas = [float(s) for s in a.sigmas.split(",")]
    rng = random.Random(a.seed)
    clips = [Clip.random(rng) for _ in range(a.clips)]
    print("| VAE | σ | shape | colour | one piece | latent std |")
    print("|---|---|---|---|---|---|")
    with torch.no_grad():
        for path in a.vaes:
            vae = load_vae(path)
            latents = [vae.encode(render(clip)) for clip in clips]  # (1, 16, T', 8, 8) each, normalised
            spread = torch.cat(latents).std().item()
            for sigma in sigmas:
                shape = colour = 0
                piece = 0.0
                for i, (clip, z) in enumerate(zip(clips, latents, strict=True)):
                    frames = vae.decode(z + sigma * cpu_noise(tuple(z.shape), i))
                    seen = read_video(frames)
                    shape += seen.shape == clip.shape
                    colour += seen.colour == clip.colour
                    piece += one_piece(frames) / len(clips)
                n = len(clips)
                print(f"| {path.name} | {sigma:g} | {shape}/{n} | {colour}/{n} | {piece:.0%} | {spread:.2f} |")


if __name__ == "__main__":
    main()
