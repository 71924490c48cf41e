"""One coloured shape on a plain background, moving in one direction (short clips) or bouncing (long clips)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch

SHAPES = ("circle", "square", "triangle")
COLOURS = {
    "red": (0.9, 0.1, 0.1),
    "green": (0.1, 0.8, 0.2),
    "blue": (0.15, 0.3, 0.95),
    "yellow": (0.95, 0.9, 0.1),
    "white": (0.97, 0.97, 0.97),
}
BACKGROUNDS = {"black": (0.02, 0.02, 0.02), "gray": (0.45, 0.45, 0.45), "navy": (0.05, 0.08, 0.35)}
MOTIONS = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}

_TEMPLATES = (
    "a {colour} {shape} moving {motion} on a {bg} background",
    "a {colour} {shape} slides {motion} across a {bg} background",
    "{bg} background, a {colour} {shape} travels {motion}",
    "the {colour} {shape} goes {motion} over a plain {bg} backdrop",
    "video of a {colour} {shape} drifting {motion}, {bg} background",
)


@dataclass(frozen=True)
class Clip:
    shape: str
    colour: str
    background: str
    motion: str  # a key of MOTIONS, or "bounce"
    radius: float = 0.16  # fraction of the frame side
    start: tuple[float, float] = (0.5, 0.5)  # centre, as fractions of (width, height)
    speed: float = 0.03  # fraction of the frame side per frame
    velocity: tuple[float, float] | None = None  # bounce only: (x, y) per frame; None: (speed, 0.7 speed)

    @classmethod
    def random(cls, rng: random.Random, bounce: bool = False) -> Clip:
        motion = "bounce" if bounce else rng.choice(list(MOTIONS))
        dx, dy = MOTIONS.get(motion, (0.0, 0.0))
        # start on the side the shape moves away from, so a short clip shows the motion whole
        sx = 0.5 - 0.22 * dx + rng.uniform(-0.05, 0.05)
        sy = 0.5 - 0.22 * dy + rng.uniform(-0.05, 0.05)
        return cls(
            shape=rng.choice(SHAPES),
            colour=rng.choice(list(COLOURS)),
            background=rng.choice(list(BACKGROUNDS)),
            motion=motion,
            radius=rng.uniform(0.14, 0.19),
            start=(sx, sy),
            speed=rng.uniform(0.025, 0.035),
        )

    @classmethod
    def random_long(cls, rng: random.Random) -> Clip:
        """A bouncing clip for minute-long videos: any start inside the walls, a random heading away from the axes
        (so it bounces off both pairs of walls) and a speed that crosses the frame in 4–7 s at 8 fps, a bounce every
        few seconds, several per Swin window of the latent stage."""
        radius = rng.uniform(0.14, 0.19)
        start = (rng.uniform(radius, 1 - radius), rng.uniform(radius, 1 - radius))
        speed, heading = rng.uniform(0.012, 0.02), rng.uniform(0.2, 0.8) * math.pi / 2 + rng.randrange(4) * math.pi / 2
        return cls(
            shape=rng.choice(SHAPES),
            colour=rng.choice(list(COLOURS)),
            background=rng.choice(list(BACKGROUNDS)),
            motion="bounce",
            radius=radius,
            start=start,
            speed=speed,
            velocity=(speed * math.cos(heading), speed * math.sin(heading)),
        )


def caption(clip: Clip, rng: random.Random | None = None) -> str:
    template = (rng or random.Random(0)).choice(_TEMPLATES)
    motion = "around, bouncing off the walls" if clip.motion == "bounce" else clip.motion
    return template.format(colour=clip.colour, shape=clip.shape, motion=motion, bg=clip.background)


def _centres(clip: Clip, frames: int) -> list[tuple[float, float]]:
    if clip.motion != "bounce":
        dx, dy = MOTIONS[clip.motion]
        return [(clip.start[0] + dx * clip.speed * f, clip.start[1] + dy * clip.speed * f) for f in range(frames)]
    lo, hi = clip.radius, 1 - clip.radius  # reflect inside the walls
    out = []
    for f in range(frames):
        pos = []
        for p0, v in zip(clip.start, clip.velocity or (clip.speed, clip.speed * 0.7), strict=True):
            span = hi - lo
            u = (p0 - lo + v * f) % (2 * span)
            pos.append(lo + (u if u <= span else 2 * span - u))
        out.append((pos[0], pos[1]))
    return out


def render(clip: Clip, frames: int = 17, size: int = 64) -> torch.Tensor:
    """(T, H, W, 3) floats in [0, 1]; anti-aliased by 2× supersampling."""
    s = size * 2
    ys, xs = torch.meshgrid(torch.arange(s) + 0.5, torch.arange(s) + 0.5, indexing="ij")
    bg, fg = torch.tensor(BACKGROUNDS[clip.background]), torch.tensor(COLOURS[clip.colour])
    out = []
    for cx, cy in _centres(clip, frames):
        x, y, r = xs / s - cx, ys / s - cy, clip.radius
        if clip.shape == "circle":
            mask = x.square() + y.square() <= r * r
        elif clip.shape == "square":
            half = r * math.sqrt(math.pi) / 2  # same area as the circle
            mask = (x.abs() <= half) & (y.abs() <= half)
        else:  # upward triangle inscribed in the circle
            mask = (y <= r / 2) & (y >= -r + math.sqrt(3) * x.abs())
        m = mask.float()[..., None]
        img = bg * (1 - m) + fg * m  # (2H, 2W, 3)
        out.append(torch.nn.functional.avg_pool2d(img.permute(2, 0, 1)[None], 2)[0].permute(1, 2, 0))
    return torch.stack(out).clamp(0, 1)
