"""The README's moving preview, docs/preview.webp: real `make demo` outputs side by side, looping.

    make pictures     # runs the three demos into out/pictures/ (if missing), then this script, then thumbnails.py
    python scripts/preview.py OUT.webp "label=video.mp4[:step]" ...

Each panel is one video, 3× enlarged; `:step` keeps every step-th frame (the 60 s long video at 8× speed). The
animation plays at the videos' 8 fps for as long as its longest panel; shorter ones loop.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from semanticgen.checkpoints import atomic_write  # noqa: E402
from semanticgen.toy.evaluate import load_video  # noqa: E402

ZOOM, GAP, LABEL = 3, 8, 34  # panel enlargement, space between panels, label strip under each (px)


def panel_frames(path: str, step: int) -> tuple[list[np.ndarray], float]:
    frames, fps = load_video(path)
    frames = (frames[::step].numpy() * 255).round().astype(np.uint8)  # (T, H, W, 3)
    return [np.kron(f, np.ones((ZOOM, ZOOM, 1), dtype=np.uint8)) for f in frames], fps


def render(items: list[tuple[str, str, int]]) -> tuple[list[Image.Image], int]:
    """The animation's frames and its frame duration in ms."""
    panels = [(label, *panel_frames(path, step)) for label, path, step in items]
    fps = panels[0][2]
    size = max(f.shape[0] for _, frames, _ in panels for f in frames)
    length = max(len(frames) for _, frames, _ in panels)
    width = len(panels) * size + (len(panels) + 1) * GAP
    out = []
    for t in range(length):
        sheet = Image.new("RGB", (width, size + LABEL + 2 * GAP), (24, 24, 24))
        draw = ImageDraw.Draw(sheet)
        for k, (label, frames, _) in enumerate(panels):
            x = GAP + k * (size + GAP)
            sheet.paste(Image.fromarray(frames[t % len(frames)]), (x, GAP))
            for i, line in enumerate(label.split("|")):
                draw.text((x + 2, size + GAP + 4 + 13 * i), line, fill=(230, 230, 230))
        out.append(sheet)
    return out, round(1000 / fps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("items", nargs="+", help='"label=video.mp4" or "label=video.mp4:step"; "|" breaks a label line')
    a = ap.parse_args()
    items = []
    for item in a.items:
        label, spec = item.split("=", 1)
        path, _, step = spec.partition(":")
        items.append((label, path, int(step or 1)))
    frames, ms = render(items)

    def save(tmp: str) -> None:
        frames[0].save(tmp, "WEBP", save_all=True, append_images=frames[1:], duration=ms, loop=0, quality=80, method=6)

    atomic_write(a.out, save)
    sys.stdout.write(f"wrote {a.out} ({len(frames)} frames, {a.out.stat().st_size // 1024} KiB)\n")


if __name__ == "__main__":
    main()
