"""Peak host memory of the streaming cache reader against the cache's size, on synthetic shards of the toy
cache's shapes (1000 clips of 17 frames at 64×64: latents (16, 5, 8, 8), MiniLM text (32, 384), semantic
(64, 4, 4, 4), 250 rows a shard).

    python scripts/stream_memory.py --scale 10 --scale 100     # prints one line per scale
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
TOY_CLIPS, TOY_SHARD = 1000, 250
TOY_ROW = {"latents": (16, 5, 8, 8), "text": (32, 384), "semantic": (64, 4, 4, 4)}


def write_synthetic(folder: Path, clips: int, rows: int = TOY_SHARD, shapes: dict = TOY_ROW) -> int:
    """Shards of random rows with the given shapes; returns the bytes of one full shard."""
    from semanticgen.train.cache import write_shard

    g = torch.Generator().manual_seed(0)
    for k, start in enumerate(range(0, clips, rows)):
        n = min(rows, clips - start)
        tensors = {key: torch.randn((n, *shape), generator=g) for key, shape in shapes.items()}
        tensors["null_text"] = torch.zeros(1, *shapes["text"])
        write_shard(folder / f"shard-{k:05d}.safetensors", tensors, {"step_bounds": [0, 4, 9], "captions": []})
    return sum(4 * rows * torch.Size(s).numel() for s in shapes.values())


def rss(field: str = "VmRSS") -> int:
    """This process's resident memory (VmRSS) or its peak since the last `reset_peak` (VmHWM), bytes (Linux)."""
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field + ":"))
    return int(line.split()[1]) * 1024


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def measure(folder: str, steps: int, batch: int) -> dict:
    """In this process: host memory above the reader's start while it streams `steps` batches (bytes)."""
    from semanticgen.train.cache import ShardStream

    stream = ShardStream(folder)
    reset_peak()
    base = rss()
    for step in range(steps):
        stream.draw(None, batch, step, 0, 1)
    return {"rows": len(stream), "above_start": rss("VmHWM") - base, "rss_start": base}


def measure_in_subprocess(folder: Path, steps: int, batch: int) -> dict:
    """`measure` in a fresh process, so that nothing the caller allocated counts."""
    code = f"import json, stream_memory as m; print(json.dumps(m.measure({str(folder)!r}, {steps}, {batch})))"
    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'scripts'}", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, action="append", help="times the toy cache's 1000 clips")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=16)
    a = ap.parse_args()
    for scale in a.scale or [10]:
        with tempfile.TemporaryDirectory() as tmp:
            shard = write_synthetic(Path(tmp), TOY_CLIPS * scale)
            size = sum(p.stat().st_size for p in Path(tmp).iterdir())
            r = measure_in_subprocess(Path(tmp), a.steps, a.batch)
            sys.stdout.write(
                f"scale {scale}x: {r['rows']} rows, cache {size / 2**20:.0f} MiB, shard {shard / 2**20:.1f} MiB, "
                f"peak above the reader's start {r['above_start'] / 2**20:.1f} MiB "
                f"(process at start {r['rss_start'] / 2**20:.0f} MiB), {a.steps} batches of {a.batch}\n"
            )


if __name__ == "__main__":
    main()
