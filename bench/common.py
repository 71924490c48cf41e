"""Timing helpers shared by the suite: alternating medians, a CPU-time clock, the measured matmul peak."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch


def clock() -> float:
    """With one torch thread, the CPU time of this thread (other processes on a shared CPU barely disturb it);
    with more threads, wall time."""
    return time.thread_time() if torch.get_num_threads() == 1 else time.perf_counter()


@dataclass
class Timing:
    """Seconds per call of each contender, from rounds that called them alternately."""

    samples: dict[str, list[float]]

    def median(self, name: str) -> float:
        return statistics.median(self.samples[name])

    def ratio(self, a: str, b: str) -> float:
        """Median of the per-round ratios a/b: both were measured back to back, so load changes cancel."""
        return statistics.median(x / y for x, y in zip(self.samples[a], self.samples[b], strict=True))


def alternate(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> Timing:
    """Call every function `warmup` times, then `repeats` rounds calling each once, the order rotating per round
    (so no contender always runs first, after the other's caches and allocations)."""
    names = list(fns)
    for _ in range(warmup):
        for n in names:
            fns[n]()
    samples: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        for n in names[r % len(names) :] + names[: r % len(names)]:
            t0 = clock()
            fns[n]()
            samples[n].append(clock() - t0)
    return Timing(samples)


def mm_gflops(n: int, repeats: int) -> float:
    """Achieved fp32 GFLOP/s of a square `torch.mm` (2n³ FLOPs) at the current thread count, median of `repeats`."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    out = torch.empty(n, n)
    timing = alternate({"mm": lambda: torch.mm(a, b, out=out)}, repeats)
    return 2 * n**3 / timing.median("mm") / 1e9


@dataclass(frozen=True)
class Peak:
    """The matmul reference: the best GFLOP/s per thread, the size and thread count that reached it, and all."""

    gflops: float  # per thread
    n: int
    threads: int
    measured: dict[str, float]  # "n×threads" -> GFLOP/s per thread

    def __str__(self) -> str:
        return f"{self.gflops:.1f} GFLOP/s per thread ({self.n}² mm, {self.threads} thread{'s' * (self.threads > 1)})"


def matmul_peak(sizes: tuple[int, ...] = (1024, 2048, 4096), threads: tuple[int, ...] = (1,), repeats: int = 5) -> Peak:
    """The machine's practical peak for the dense work a DiT step consists of: the best fp32 GFLOP/s per thread
    of square `torch.mm`s over `sizes` and thread counts, measured in the same run as the steps it is compared
    with. One size alone under-reads on some machines (with AVX-512 a Wan-width DiT step ran at 1.09× the 2048²
    figure), so the best is the reference and which one it was is reported."""
    before = torch.get_num_threads()
    measured = {}
    try:
        for t in threads:
            torch.set_num_threads(t)
            for n in sizes:
                measured[(n, t)] = mm_gflops(n, repeats) / t
    finally:
        torch.set_num_threads(before)
    (n, t), best = max(measured.items(), key=lambda kv: kv[1])
    return Peak(best, n, t, {f"{k[0]}×{k[1]}": v for k, v in measured.items()})
