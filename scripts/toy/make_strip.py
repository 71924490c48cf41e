"""A picture for the README: every 4th frame of each given video, one row per video, with its label.

python scripts/toy/make_strip.py OUT.png "label=video.mp4" ...
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from semanticgen.checkpoints import atomic_write  # noqa: E402
from semanticgen.toy.evaluate import load_video  # noqa: E402


def main() -> None:
    out, *items = sys.argv[1:]
    rows = []
    for item in items:
        label, path = item.split("=", 1)
        frames, _ = load_video(path)
        strip = np.concatenate([(f.numpy() * 255).astype(np.uint8) for f in frames[::4]], axis=1)
        strip = np.kron(strip, np.ones((2, 2, 1), dtype=np.uint8))  # 2x, so 64 px frames are visible
        canvas = Image.new("RGB", (strip.shape[1], strip.shape[0] + 18), "white")
        canvas.paste(Image.fromarray(strip), (0, 18))
        ImageDraw.Draw(canvas).text((4, 3), label, fill="black")
        rows.append(canvas)
    width = max(r.width for r in rows)
    sheet = Image.new("RGB", (width, sum(r.height for r in rows)), "white")
    y = 0
    for r in rows:
        sheet.paste(r, (0, y))
        y += r.height
    atomic_write(out, lambda tmp: sheet.save(tmp, format="PNG"))


if __name__ == "__main__":
    main()
