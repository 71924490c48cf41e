"""Native KSampler vs the pack's samplers: the bundled demo text-to-video through a real headless ComfyUI, both
workflows with the same settings, interleaved in one run on one server (warm: each ran once before timing).

    python bench/native.py [--runs 5]     # with SEMANTICGEN_COMFYUI set (make bench does it)

Prints the median wall time of each (queue to history) and their ratio, and whether the decoded frames are equal.
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

from host import Server, error_message  # noqa: E402

from semanticgen.toy.evaluate import load_video  # noqa: E402

PAIR = {"native KSampler": "semanticgen_native_text_to_video", "pack samplers": "semanticgen_text_to_video"}


def api(name: str) -> dict:
    return json.loads((ROOT / "example_workflows" / "api" / f"{name}.json").read_text())


def run(server: Server, name: str) -> tuple[float, Path]:
    t0 = time.perf_counter()
    entry = server.run(api(name))
    seconds = time.perf_counter() - t0
    if entry["status"]["status_str"] != "success":
        raise RuntimeError(f"{name}: {error_message(entry)}")
    (video,) = server.outputs(entry)
    return seconds, video


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        try:
            times: dict[str, list[float]] = {k: [] for k in PAIR}
            videos = {k: run(server, n)[1] for k, n in PAIR.items()}  # warm-up: models loaded, kernels chosen
            for _ in range(a.runs):
                for key, name in PAIR.items():
                    seconds, videos[key] = run(server, name)
                    times[key].append(seconds)
        finally:
            server.stop()
        frames = {k: load_video(str(v))[0] for k, v in videos.items()}
    med = {k: statistics.median(v) for k, v in times.items()}
    same = all(f.shape == frames["pack samplers"].shape for f in frames.values()) and bool(
        (frames["native KSampler"] == frames["pack samplers"]).all()
    )
    for key in PAIR:
        runs = ", ".join(f"{t:.2f}" for t in times[key])
        sys.stdout.write(f"{key:<16} median {med[key]:.2f} s   ({runs})\n")
    ratio = med["native KSampler"] / med["pack samplers"]
    sys.stdout.write(f"time ratio native / pack: {ratio:.3f}; same decoded frames: {same}\n")


if __name__ == "__main__":
    main()
