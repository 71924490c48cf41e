"""Is the pack's chunked decode still worth having? ComfyUI's own VAE.decode, VAEDecodeTiled's temporal tiling and
the pack's VAE Decode (chunked), side by side on the host the set-up points at, each in a fresh process.

    python bench/decode.py [--frames 161] [--size 128]     # with SEMANTICGEN_COMFYUI set (make bench does it)

Prints wall time, the peak RSS the decode added (on a CPU the device is the host, so this is all of it: the
decoded video plus what the method keeps besides it) and the largest difference from ComfyUI's own frames.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time, types, importlib
sys.path[:0] = [sys.argv[1], sys.argv[2], sys.argv[2] + "/tests"]
from comfy.cli_args import args
args.cpu = True
import torch
import comfy.sd
from tiny import tiny_wan_vae_state
method, frames, size = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
package = types.ModuleType("semanticgen_bench_nodes"); package.__path__ = [sys.argv[2] + "/nodes"]
sys.modules[package.__name__] = package
decode = importlib.import_module("semanticgen_bench_nodes.decode")
vae = comfy.sd.VAE(sd=tiny_wan_vae_state(dim=8, seed=3))
latent = torch.randn(1, 16, (frames - 1) // 4 + 1, size // 8, size // 8, generator=torch.Generator().manual_seed(0))

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024

with torch.inference_mode():  # as ComfyUI runs nodes
    vae.decode(latent[:, :, :2])  # warm up: weights loaded, kernels chosen
    open("/proc/self/clear_refs", "w").write("5")
    before, t0 = rss("VmRSS:"), time.perf_counter()
    if method == "comfyui":
        out = vae.decode(latent)
    elif method == "tiled":  # VAEDecodeTiled's temporal tiling: 8 latent frames per tile, 1 of overlap
        out = vae.decode_tiled(latent, tile_x=size // 8, tile_y=size // 8, overlap=0, tile_t=8, overlap_t=1)
    else:
        out = decode.decode_chunked(vae, latent, 4)
    seconds = time.perf_counter() - t0
    peak = rss("VmHWM:") - before
torch.save(out.reshape(-1, *out.shape[-3:])[:: max(1, frames // 16)].clone(), sys.argv[6])
print(json.dumps({"seconds": seconds, "peak": peak, "video": out.numel() * out.element_size()}))
"""


def run(method: str, frames: int, size: int, comfyui: str, tmp: Path) -> dict:
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    out = tmp / f"{method}.pt"
    cmd = [sys.executable, "-c", CHILD, comfyui, str(ROOT), method, str(frames), str(size), str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1]}
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "frames": out}


def main() -> None:
    import tempfile

    import torch

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=161)
    ap.add_argument("--size", type=int, default=128)
    a = ap.parse_args()
    comfyui = os.environ["SEMANTICGEN_COMFYUI"]
    version = (Path(comfyui) / "comfyui_version.py").read_text().split('"')[-2]
    with tempfile.TemporaryDirectory() as tmp:
        rows = {m: run(m, a.frames, a.size, comfyui, Path(tmp)) for m in ("comfyui", "tiled", "chunked")}
        ref = torch.load(rows["comfyui"]["frames"], weights_only=True)
        sys.stdout.write(f"ComfyUI {version}: Wan2.1 VAE (dim 8) decode of {a.frames} frames at {a.size}²\n")
        sys.stdout.write(f"{'method':<10} {'time s':>8} {'peak MiB':>9} {'peak/video':>10} {'max |Δ|':>9}\n")
        for name, r in rows.items():
            if "error" in r:
                sys.stdout.write(f"{name:<10} failed: {r['error']}\n")
                continue
            diff = (torch.load(r["frames"], weights_only=True) - ref).abs().max().item()
            ratio = r["peak"] / r["video"]
            line = f"{name:<10} {r['seconds']:>8.2f} {r['peak'] / 2**20:>9.1f} {ratio:>10.2f} {diff:>9.2e}\n"
            sys.stdout.write(line)


if __name__ == "__main__":
    main()
