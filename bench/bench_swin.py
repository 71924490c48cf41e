"""Latent-stage cost of full vs Swin attention as the video gets longer, measured side by side in one run.

    python bench/bench_swin.py            # ~1.5 min on an idle 2-core CPU
    python bench/bench_swin.py --threads 2
    python bench/bench_swin.py --lengths 1 2 --json out.json   # what `bench/run.py --quick` runs

One "step" is one latent-generator forward pass (one Euler step without CFG) of a small-but-not-tiny DiT
(dim 256, 4 heads, 4 layers) on a 128×128, 16 fps video with its in-context semantic tokens. Lengths 1×…8× are
65…513 frames. Time: with one thread (default) the CPU time of that thread, which other processes on a shared
machine barely disturb; with more threads, wall time. Peak memory is the peak RSS increase during a step (Linux
VmHWM, reset per measurement via /proc/self/clear_refs); the script re-executes itself with glibc's mmap threshold
fixed at 64 KiB so large tensors go back to the OS when freed and every step starts from the same baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MMAP_THRESHOLD = "65536"

if os.environ.get("MALLOC_MMAP_THRESHOLD_") != MMAP_THRESHOLD:  # glibc reads it at start-up only
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "MALLOC_MMAP_THRESHOLD_": MMAP_THRESHOLD})

sys.path.insert(0, str(ROOT))
import torch  # noqa: E402

import semanticgen.dit as dit  # noqa: E402
from semanticgen.dit import DiTConfig, SemanticGenDiT, init_weights, semantic_positions  # noqa: E402
from semanticgen.features import SemanticSpace, SemanticVideo  # noqa: E402

SPACE = SemanticSpace(channels=16, video_fps=16.0)
MODEL = dict(dim=256, ffn_dim=1024, num_heads=4, num_layers=4, text_dim=256)
SIZE = 128  # pixels: 16×16 latent, 8×8 tokens per latent frame
TEXT_TOKENS = 32


def _status(field: str) -> int:
    """A /proc/self/status memory field in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status (Linux only)")


def measure(fn, repeats: int) -> tuple[float, float]:
    """(fastest seconds per call, peak RSS increase in MiB over the timed calls), after one warm-up call."""
    clock = time.thread_time if torch.get_num_threads() == 1 else time.perf_counter  # 1 thread: all work is ours
    fn()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    base = _status("VmRSS")
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return min(times), (_status("VmHWM") - base) / 2**20


def per_token_state(model: SemanticGenDiT, tokens: int) -> int:
    """Bytes that a step allocates per token under any windowing: the fp32 residual stream (L, D) and the latents
    in and out (16 channels × 4 latent pixels per token, in and out). The rotary table is cached per token layout
    (allocated once, before the measured steps)."""
    cfg = model.config
    return tokens * (cfg.dim * 4 + 2 * cfg.in_dim * 4 * 4)


def latent_case(model: SemanticGenDiT, frames: int, g: torch.Generator):
    """Latents of a `frames`-frame video and its semantic tokens (B, c, Ts, Hs, Ws) at their shared positions."""
    idx, grid = SPACE.layout(frames, SIZE, SIZE)
    steps = -(-len(idx) // SPACE.temporal_patch)
    sem = SemanticVideo(torch.randn(1, SPACE.channels, steps, *grid, generator=g), 16.0, frames, (SIZE, SIZE), idx)
    x = torch.randn(1, 16, (frames - 1) // 4 + 1, SIZE // 8, SIZE // 8, generator=g)
    return x, sem.features, semantic_positions(sem.step_bounds(), grid, model.latent_grid(x.shape))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--window", type=int, default=8, help="Swin window in latent frames (default 8)")
    ap.add_argument("--repeats", type=int, default=3, help="timed steps per measurement; the fastest counts")
    ap.add_argument("--threads", type=int, default=1, help="1: CPU time of one thread (default); more: wall time")
    ap.add_argument(
        "--chunk",
        type=int,
        default=1024,
        help="tokens per inference chunk (the library's default, 16384, is for "
        "GPU-sized videos; 1024 is about one window here, so the bounded part shows at this scale)",
    )
    ap.add_argument("--lengths", type=int, nargs="+", default=[1, 2, 4, 8], help="multiples of 64 frames (+1)")
    ap.add_argument("--json", type=Path, help="also write the rows here (bench/run.py reads them)")
    a = ap.parse_args()
    dit.CHUNK_TOKENS = a.chunk
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    latent = init_weights(SemanticGenDiT(DiTConfig(**MODEL, semantic_dim=SPACE.channels))).eval()
    semantic = init_weights(
        SemanticGenDiT(DiTConfig(**MODEL, in_dim=SPACE.channels, out_dim=SPACE.channels, patch_size=(1, 1, 1)))
    ).eval()
    ctx = torch.randn(1, TEXT_TOKENS, MODEL["text_dim"], generator=g)
    t = torch.tensor([500.0])
    print(
        f"latent generator dim {MODEL['dim']}, {MODEL['num_layers']} layers, {MODEL['num_heads']} heads; "
        f"{SIZE}×{SIZE} px at {SPACE.video_fps:g} fps; Swin window {a.window} latent frames; "
        f"torch {torch.__version__}; s = {'CPU' if a.threads == 1 else 'wall'} seconds per step on {a.threads} "
        f"thread(s), fastest of {a.repeats} (semantic stage: {max(5, a.repeats)})"
    )
    header = (
        f"{'length':>6} {'frames':>6} {'tokens':>6} | {'full s':>7} {'swin s':>7} {'full/swin':>9} | "
        f"{'full ×':>6} {'swin ×':>6} | {'full MiB':>8} {'swin MiB':>8} {'per-token':>9} {'swin rest':>9}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    with torch.no_grad():
        for mult in a.lengths:
            frames = 64 * mult + 1
            x, sem, pos = latent_case(latent, frames, g)
            tokens = x.shape[2] * (SIZE // 16) ** 2 + pos.shape[0]
            full = measure(lambda x=x, sem=sem, pos=pos: latent(x, t, ctx, sem, pos), a.repeats)
            swin = measure(lambda x=x, sem=sem, pos=pos: latent(x, t, ctx, sem, pos, window=a.window), a.repeats)
            prev = rows[-1] if rows else None
            growth = f"{full[0] / prev[1][0]:6.2f} {swin[0] / prev[2][0]:6.2f}" if prev else f"{'':>6} {'':>6}"
            rows.append((mult, full, swin, frames, tokens))
            state = per_token_state(latent, tokens) / 2**20
            print(
                f"{mult:>5}× {frames:>6} {tokens:>6} | {full[0]:7.3f} {swin[0]:7.3f} {full[0] / swin[0]:9.2f} | "
                f"{growth} | {full[1]:8.1f} {swin[1]:8.1f} {state:9.1f} {swin[1] - state:9.1f}"
            )
        x, sem, pos = latent_case(latent, 64 * a.lengths[-1] + 1, g)
        z = torch.randn(1, SPACE.channels, *sem.shape[2:], generator=g)
        sem_s, sem_mib = measure(lambda: semantic(z, t, ctx), max(5, a.repeats))  # short: more repeats
    full8, swin8 = rows[-1][1][0], rows[-1][2][0]
    print(
        "× = step time ratio per doubling of length; MiB = peak RSS increase during a step; per-token = what every "
        "token carries whatever the window (residual stream, latents in and out); "
        "swin rest = swin MiB − per-token: the window-bounded part"
    )
    print(
        f"semantic stage at {a.lengths[-1]}× ({z[0, 0].numel()} tokens, full attention): {sem_s:.3f} s/step, "
        f"{sem_mib:.1f} MiB; "
        f"its share of the total time (same steps in both stages): {sem_s / (sem_s + swin8):.1%} with the Swin "
        f"latent stage, {sem_s / (sem_s + full8):.1%} with a full-attention one"
    )
    if a.json:
        table = [
            {
                "length": m,
                "frames": fr,
                "tokens": tok,
                "full_s": f[0],
                "swin_s": s[0],
                "full_mib": f[1],
                "swin_mib": s[1],
            }
            for m, f, s, fr, tok in rows
        ]
        a.json.write_text(
            json.dumps(
                {
                    "window": a.window,
                    "threads": a.threads,
                    "repeats": a.repeats,
                    "rows": table,
                    "semantic_s": sem_s,
                    "semantic_tokens": z[0, 0].numel(),
                    "semantic_share_swin": sem_s / (sem_s + swin8),
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
