"""Measure the peak RSS increase of one CPU inference forward of a random DiT, in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, sys, torch
sys.path.insert(0, sys.argv[1])
from semanticgen.dit import DiTConfig, SemanticGenDiT
import semanticgen.dit as dit
cfg, grid, window = DiTConfig(**json.loads(sys.argv[2])), json.loads(sys.argv[3]), json.loads(sys.argv[4])
dit.CHUNK_TOKENS = int(sys.argv[5])
torch.manual_seed(0)
model = SemanticGenDiT(cfg).eval()
x = torch.randn(1, cfg.in_dim, *grid)
ctx = torch.randn(1, 16, cfg.text_dim)
t = torch.tensor([500.0])

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024

with torch.no_grad():
    open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to the current RSS
    before = rss("VmRSS:")
    model(x, t, ctx, window=window)
    print(json.dumps({"increase": rss("VmHWM:") - before}))
"""


def peak_rss_increase(config: dict, grid: tuple[int, int, int], window: int | None = None, chunk: int = 16384) -> int:
    """Bytes by which one forward over a (T, H, W) latent grid raised the process's peak RSS. Large allocations
    are mmap'd (MALLOC_MMAP_THRESHOLD_) so freed tensors leave the RSS at once: the peak is the tensors' peak,
    not the heap's fragmentation."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(ROOT), *map(json.dumps, (config, list(grid), window)), str(chunk)],
        capture_output=True,
        text=True,
        check=True,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "MALLOC_MMAP_THRESHOLD_": "131072"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["increase"]
