"""Native KSampler vs the pack's samplers: the bundled demo text-to-video through a real headless ComfyUI, both
workflows with the same settings, interleaved in one run on one server (warm: each ran once before timing).

    python bench/native.py [--runs 5]     # with SEMANTICGEN_COMFYUI set (make bench does it)

Prints the median wall time of each (queue to history), their ratio, and whether the frames (PNG pixels) match.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from host import Server, error_message, with_frames  # noqa: E402

PAIR = {"native KSampler": "semanticgen_native_text_to_video", "pack samplers": "semanticgen_text_to_video"}


def api(name: str) -> dict:
    return json.loads((ROOT / "example_workflows" / "api" / f"{name}.json").read_text())


def seeded(prompt: dict, seed: int) -> dict:
    """Every seed of the prompt set to `seed`: each run samples afresh (ComfyUI caches by inputs), the models stay
    loaded, and the two workflows of one run draw the same noise."""
    for node in prompt.values():
        if "seed" in node["inputs"]:
            node["inputs"]["seed"] = seed
    return prompt


def run(server: Server, name: str, k: int) -> tuple[float, list[bytes]]:
    t0 = time.perf_counter()
    entry = server.run(with_frames(seeded(api(name), k), f"bench/{name}_{k}"))
    seconds = time.perf_counter() - t0
    if entry["status"]["status_str"] != "success":
        raise RuntimeError(f"{name}: {error_message(entry)}")
    return seconds, server.frames(entry)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        try:
            times: dict[str, list[float]] = {k: [] for k in PAIR}
            frames = {k: run(server, n, 0)[1] for k, n in PAIR.items()}  # warm-up: models loaded, kernels chosen
            for i in range(1, a.runs + 1):
                for key, name in PAIR.items():
                    seconds, frames[key] = run(server, name, i)
                    times[key].append(seconds)
        finally:
            server.stop()
    med = {k: statistics.median(v) for k, v in times.items()}
    same = frames["native KSampler"] == frames["pack samplers"]
    for key in PAIR:
        runs = ", ".join(f"{t:.2f}" for t in times[key])
        sys.stdout.write(f"{key:<16} median {med[key]:.2f} s   ({runs})\n")
    ratio = med["native KSampler"] / med["pack samplers"]
    sys.stdout.write(f"time ratio native / pack: {ratio:.3f}; identical frame pixels: {same}\n")


if __name__ == "__main__":
    main()
