"""Render the toy-world training set once: clips (uint8), captions and attributes, from a seed.

python scripts/toy/make_dataset.py --out ~/.cache/semanticgen-comfyui/toy/dataset.safetensors --clips 1000
    [--captions varied]   # many templates and synonyms (semanticgen.toy.captions); default: the shipped 5 templates
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from semanticgen.checkpoints import atomic_write  # noqa: E402
from semanticgen.toy.data import CAPTIONS, clip_batch  # noqa: E402

FRAMES, SIZE, FPS = 17, 64, 8.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--clips", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--captions", choices=CAPTIONS, default="templated", help="same clips either way")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    clips, captions, video = clip_batch(rng, a.clips, FRAMES, SIZE, captions=a.captions)
    meta = {
        "captions": json.dumps(captions),
        "clips": json.dumps([c.__dict__ for c in clips]),
        "fps": str(FPS),
    }
    frames = (video * 255).round().to(torch.uint8)  # (N, T, H, W, 3)
    atomic_write(a.out, lambda tmp: save_file({"frames": frames}, tmp, metadata=meta))


if __name__ == "__main__":
    main()
