"""Read a generated toy video without any learned model: background, shape colour, shape and motion direction.

python -m semanticgen.toy.evaluate VIDEO.mp4 [--prompt "a red circle moving left on a black background"]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
from dataclasses import asdict, dataclass

import torch

from .world import BACKGROUNDS, COLOURS, MOTIONS, SHAPES, Clip, caption

# The demo test's prompts: every colour, background, shape and direction. 5 circles, 4 squares, 3 triangles: a model
# that always drew circles would get 5/12 shapes right.
DEMO_PROMPTS = (
    "a red circle moving left on a black background",
    "a green square moving right on a gray background",
    "a blue triangle moving up on a navy background",
    "a yellow circle moving down on a black background",
    "a white square moving left on a navy background",
    "a red triangle moving right on a gray background",
    "a blue circle moving down on a gray background",
    "a green triangle moving up on a black background",
    "a yellow square moving right on a navy background",
    "a white circle moving up on a gray background",
    "a blue square moving left on a black background",
    "a green circle moving down on a navy background",
)


def prompt_set(n: int, seed: int = 0) -> list[str]:
    """`n` prompts drawn like the training captions (random attributes and template): a larger set than
    DEMO_PROMPTS, for adherence figures with less sampling noise."""
    rng = random.Random(seed)
    return [caption(Clip.random(rng), rng) for _ in range(n)]


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


ANGLE_BINS = 36  # 10° bins of the outline's radius around the centroid
CORNER_MIN = 0.025  # a 3- or 4-fold harmonic below this (share of the mean radius) is a circle: measured on renders,
# circles stay under 0.015, blurred (σ = 2 px) squares and triangles over 0.038 and 0.10


def _radial_shape(mask: torch.Tensor, cx: torch.Tensor, cy: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor) -> str:
    """Which n-fold symmetry the outline has: the mask's radius around its centroid as a function of the angle,
    r(θ), is flat for a circle and has 3 (triangle) or 4 (square) bumps, one per corner. Rounded corners (a blurry
    decoder) lower the bumps but do not move them, so this reads a soft triangle as a triangle, where matching
    sharp templates by overlap reads it as a circle."""
    dx, dy = xs[mask] - cx, ys[mask] - cy
    angle = torch.atan2(dy, dx)  # (N,) in (-π, π]
    radius = torch.sqrt(dx.square() + dy.square())
    k = ((angle + math.pi) / (2 * math.pi) * ANGLE_BINS).long().clamp(0, ANGLE_BINS - 1)
    r = torch.zeros(ANGLE_BINS).scatter_reduce(0, k, radius, "amax", include_self=True)  # (bins,) outline radius
    harmonics = torch.fft.rfft(r - r.mean()).abs() / r.sum()
    three, four = harmonics[3].item(), harmonics[4].item()
    if max(three, four) < CORNER_MIN:
        return "circle"
    return "triangle" if three > four else "square"


def foreground(frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(background colour (3,), distance from it (T, H, W)) of frames (T, H, W, 3): the background is the median of
    the frame borders, which the shape covers only in part."""
    border = torch.cat([frames[:, 0], frames[:, -1], frames[:, :, 0], frames[:, :, -1]], dim=1).reshape(-1, 3)
    bg = border.median(dim=0).values
    return bg, (frames - bg).abs().sum(-1)


def outline(d: torch.Tensor) -> torch.Tensor | None:
    """The shape's half-contrast mask in one frame's distance map (H, W), robust to a blurry decoder; None when the
    frame shows no shape."""
    m = d > 0.5 * d.max()
    return None if m.sum() < 4 or d.max() < 0.35 else m


def read_video(frames: torch.Tensor) -> Reading:
    """frames (T, H, W, 3) in [0, 1]."""
    frames = frames[..., :3].float()
    t, h, w, _ = frames.shape
    bg, diff = foreground(frames)  # diff: (T, H, W)
    mask = diff > 0.35  # the shape: far from the background colour
    if mask.sum() < 4:
        return Reading(_nearest(bg, BACKGROUNDS), "none", "none", "none")
    colour = frames[mask].median(dim=0).values
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    votes: dict[str, int] = dict.fromkeys(SHAPES, 0)
    centres = []
    for f in range(t):
        m = outline(diff[f])
        if m is None:
            centres.append(None)
            continue
        cx, cy = xs[m].mean(), ys[m].mean()
        centres.append((cx.item(), cy.item()))
        touches = ys[m].min() == 0 or xs[m].min() == 0 or ys[m].max() == h - 1 or xs[m].max() == w - 1
        if not touches:  # a shape cut by the frame edge says little about its outline
            votes[_radial_shape(m, cx, cy, xs, ys)] += 1
    shape = max(votes, key=votes.get) if any(votes.values()) else "circle"
    seen = [c for c in centres if c is not None]
    dx, dy = (seen[-1][0] - seen[0][0], seen[-1][1] - seen[0][1]) if len(seen) > 1 else (0.0, 0.0)
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
