"""Build the toy training cache with ComfyUI's native VAE (our toy Wan2.1 VAE, loaded the way VAELoader does),
the MiniLM text encoder and the toy semantic encoder.

    python scripts/toy/build_cache.py --data DATASET --vae models/vae/toy_wan_vae.safetensors \
        --encoder models/semanticgen/encoders/toy_encoder.safetensors --out CACHE_DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors import safe_open

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from comfy_host import load_vae  # noqa: E402

from semanticgen.encoder import load_encoder  # noqa: E402
from semanticgen.text import MiniLMTextEncoder  # noqa: E402
from semanticgen.train.build import build_cache  # noqa: E402

SAMPLE_FPS = 4.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--vae", type=Path, required=True)
    ap.add_argument("--encoder", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--shard-size", type=int, default=250)
    ap.add_argument("--limit", type=int, default=None, help="use only the first N clips")
    ap.add_argument("--worker", default="0/1", help="i/n: this process builds every n-th shard from i (parallel)")
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    with safe_open(str(a.data), framework="pt") as f:
        meta = f.metadata()
        frames = f.get_tensor("frames")
    captions, fps = json.loads(meta["captions"])[: a.limit], float(meta["fps"])
    worker, workers = (int(v) for v in a.worker.split("/"))
    mine = [i for i in range(len(captions)) if (i // a.shard_size) % workers == worker]
    samples = ((frames[i].float() / 255, captions[i]) for i in mine)
    text = MiniLMTextEncoder()
    done = [0]

    def progress(n: int) -> None:
        done[0] += n
        if done[0] % 100 == 0:
            sys.stdout.write(f"{done[0]}/{len(captions)} clips\n")
            sys.stdout.flush()

    build_cache(samples, a.out, load_vae(a.vae).encode, text.encode, load_encoder(a.encoder), fps, SAMPLE_FPS,
                a.shard_size, progress, first_shard=worker, shard_stride=workers)  # fmt: skip


if __name__ == "__main__":
    main()
