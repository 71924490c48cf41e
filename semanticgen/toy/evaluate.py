"""Read a generated toy video without any learned model: background, shape colour, shape and motion direction.

python -m semanticgen.toy.evaluate VIDEO.mp4 [--prompt "a red circle moving left on a black background"]
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import asdict, dataclass

import torch

from .world import BACKGROUNDS, COLOURS, MOTIONS, SHAPES


@dataclass(frozen=True)
class Reading:
    background: str
    colour: str
    shape: str
    motion: str


def _nearest(rgb: torch.Tensor, palette: dict[str, tuple[float, float, float]]) -> str:
    names = list(palette)
    dist = [(rgb - torch.tensor(palette[n])).square().sum().item() for n in names]
    return names[min(range(len(names)), key=dist.__getitem__)]


def read_video(frames: torch.Tensor) -> Reading:
    """frames (T, H, W, 3) in [0, 1]."""
    frames = frames[..., :3].float()
    t, h, w, _ = frames.shape
    border = torch.cat([frames[:, 0], frames[:, -1], frames[:, :, 0], frames[:, :, -1]], dim=1).reshape(-1, 3)
    bg = border.median(dim=0).values
    diff = (frames - bg).abs().sum(-1)  # (T, H, W)
    mask = diff > 0.35  # the shape: far from the background colour
    if mask.sum() < 4:
        return Reading(_nearest(bg, BACKGROUNDS), "none", "none", "none")
    colour = frames[mask].median(dim=0).values
    # shape: how much of its bounding box the object fills (square ~1, circle ~0.79, triangle ~0.5), per frame
    fills = []
    centres = []
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    for m in mask:
        n = m.sum()
        if n < 4:
            centres.append(None)
            continue
        yy, xx = ys[m], xs[m]
        centres.append((xx.mean().item(), yy.mean().item()))
        touches = yy.min() == 0 or xx.min() == 0 or yy.max() == h - 1 or xx.max() == w - 1
        if not touches:  # a shape cut by the frame edge says nothing about its outline
            box = (yy.max() - yy.min() + 1) * (xx.max() - xx.min() + 1)
            fills.append((n / box).item())
    fill = sorted(fills)[len(fills) // 2] if fills else 0.8
    shape = "square" if fill > 0.89 else "circle" if fill > 0.64 else "triangle"
    seen = [c for c in centres if c is not None]
    dx, dy = seen[-1][0] - seen[0][0], seen[-1][1] - seen[0][1]
    if max(abs(dx), abs(dy)) < 0.05 * w:
        motion = "none"
    elif abs(dx) >= abs(dy):
        motion = "right" if dx > 0 else "left"
    else:
        motion = "down" if dy > 0 else "up"
    return Reading(_nearest(bg, BACKGROUNDS), _nearest(colour, COLOURS), shape, motion)


def parse_prompt(prompt: str) -> Reading:
    """The attributes a toy prompt asks for (words of the world's vocabulary)."""
    words = re.findall(r"[a-z]+", prompt.lower())
    # the background is the colour named right before "background"/"backdrop"; the shape colour the other one
    bg = next((words[i - 1] for i, w in enumerate(words) if w in ("background", "backdrop") and i > 0), "")
    colour = next((w for w in words if w in COLOURS and w != bg), "")
    shape = next((w for w in words if w in SHAPES), "")
    motion = next((w for w in words if w in MOTIONS), "")
    return Reading(bg, colour, shape, motion)


def load_video(path: str) -> tuple[torch.Tensor, float]:
    import av
    import numpy as np

    with av.open(path) as c:
        stream = c.streams.video[0]
        fps = float(stream.average_rate or 0)
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    return torch.from_numpy(np.stack(frames)).float() / 255, fps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video")
    ap.add_argument("--prompt")
    a = ap.parse_args()
    reading = read_video(load_video(a.video)[0])
    out = {"seen": asdict(reading)}
    if a.prompt:
        want = parse_prompt(a.prompt)
        out["asked"] = asdict(want)
        out["match"] = {k: getattr(reading, k) == v for k, v in asdict(want).items() if v}
    print(json.dumps(out, indent=2))  # noqa: T201 (CLI output)


if __name__ == "__main__":
    main()
