"""The pack's square icon (assets/icon.png, the Comfy Registry's `Icon`): the two stages in the js extension's stage
colours — a coarse semantic grid (violet) planning a shape that the latent stage (teal) renders sharp.

    python scripts/icon.py      # rewrites assets/icon.png
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
SIZE = 512
SEMANTIC, LATENT, BACKGROUND, SHAPE = "#4d3870", "#2a6060", "#16161c", "#f2c14e"  # js/stage_colours.js


def draw() -> Image.Image:
    img = Image.new("RGB", (SIZE, SIZE), BACKGROUND)
    d = ImageDraw.Draw(img)
    pad, gap = 40, 24
    half = (SIZE - 2 * pad - gap) // 2
    left, right = (pad, pad), (pad + half + gap, pad)
    d.rounded_rectangle([*left, left[0] + half, pad + SIZE - 2 * pad], radius=36, fill=SEMANTIC)
    d.rounded_rectangle([*right, right[0] + half, pad + SIZE - 2 * pad], radius=36, fill=LATENT)
    cells, cell = 4, half // 5  # the semantic side: a 4×4 grid of tokens, the shape as lit cells
    x0, y0 = left[0] + (half - cells * cell) // 2, SIZE // 2 - cells * cell // 2
    for i in range(cells):
        for j in range(cells):
            lit = (i - 1.5) ** 2 + (j - 1.5) ** 2 < 2.6
            box = [x0 + i * cell + 4, y0 + j * cell + 4, x0 + (i + 1) * cell - 4, y0 + (j + 1) * cell - 4]
            d.rounded_rectangle(box, radius=6, fill=SHAPE if lit else "#3a2b55")
    cx, cy, r = right[0] + half // 2, SIZE // 2, half // 3  # the latent side: the same shape, sharp
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=SHAPE)
    return img


def main() -> None:
    out = ROOT / "assets" / "icon.png"
    tmp = out.with_suffix(".tmp.png")
    draw().save(tmp, optimize=True)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
