"""Write the bundled sample reference video (a toy-world clip) that the reference workflows load."""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from semanticgen.checkpoints import atomic_write  # noqa: E402
from semanticgen.toy import Clip, render  # noqa: E402


def write_mp4(frames: np.ndarray, fps: int, path: Path) -> None:
    atomic_write(path, lambda tmp: _encode(frames, fps, tmp))


def _encode(frames: np.ndarray, fps: int, tmp: str) -> None:
    with av.open(tmp, mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": "18"}
        for f in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        out.mux(stream.encode())


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="assets/semanticgen_sample.mp4")
    a = ap.parse_args()
    clip = Clip("circle", "red", "navy", "right", 0.16, (0.3, 0.5), 0.025)
    frames = (render(clip, frames=17, size=64).numpy() * 255).round().astype(np.uint8)
    write_mp4(frames, 8, Path(a.out))
