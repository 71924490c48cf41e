"""Render the toy-world training set once: clips (uint8), captions and attributes, from a seed.

python scripts/toy/make_dataset.py --out ~/.cache/semanticgen-comfyui/toy/dataset.safetensors --clips 1000
    [--captions varied]   # many templates and synonyms (semanticgen.toy.captions); default: the shipped 5 templates
    [--long --frames 481 [--crop 33]]   # minute-long bouncing clips (Clip.random_long), or crops of them
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
from semanticgen.toy import Clip, render  # noqa: E402
from semanticgen.toy.captions import varied_caption  # noqa: E402
from semanticgen.toy.data import CAPTIONS, clip_batch  # noqa: E402
from semanticgen.toy.world import caption  # noqa: E402

FRAMES, SIZE, FPS = 17, 64, 8.0


def to_uint8(video: torch.Tensor) -> torch.Tensor:
    return (video * 255).round().to(torch.uint8)


def long_clips(rng: random.Random, n: int, frames: int, crop: int | None, captions: str):
    """(rows' clip dicts, captions, uint8 video (rows, T, H, W, 3)) of bouncing clips. With `crop`, each clip is cut
    into consecutive `crop`-frame pieces (one row each, the clip's caption): the latent stage's Swin windows are
    local, so it can learn long clips from pieces (each dict says where its piece starts). One clip at a time in
    floats: 200 minute-long clips are 1.2 GB as uint8, 4.7 GB as floats."""
    clips = [Clip.random_long(rng) for _ in range(n)]
    words = random.Random(rng.getrandbits(64))
    texts = [caption(c, words) if captions == "templated" else varied_caption(c, words) for c in clips]
    rows, row_texts, videos = [], [], []
    for clip, text in zip(clips, texts, strict=True):
        video = to_uint8(render(clip, frames, SIZE))
        starts = range(0, frames - crop + 1, crop) if crop else [0]
        for s in starts:
            rows.append({**clip.__dict__, "first_frame": s})
            row_texts.append(text)
            videos.append(video[s : s + crop] if crop else video)
    return rows, row_texts, torch.stack(videos)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--clips", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--captions", choices=CAPTIONS, default="templated", help="same clips either way")
    ap.add_argument("--long", action="store_true", help="bouncing clips with a random heading (Clip.random_long)")
    ap.add_argument("--frames", type=int, default=FRAMES, help="frames per clip (1 + 4k for the VAE)")
    ap.add_argument("--crop", type=int, default=None, help="--long: cut every clip into pieces of this many frames")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    if a.long:
        clips, captions, video = long_clips(rng, a.clips, a.frames, a.crop, a.captions)
    else:
        objects, captions, video = clip_batch(rng, a.clips, a.frames, SIZE, captions=a.captions)
        clips, video = [c.__dict__ for c in objects], to_uint8(video)
    meta = {"captions": json.dumps(captions), "clips": json.dumps(clips), "fps": str(FPS)}
    atomic_write(a.out, lambda tmp: save_file({"frames": video}, tmp, metadata=meta))  # (N, T, H, W, 3) uint8


if __name__ == "__main__":
    main()
