"""Read a minute-long toy video without any learned model: bounces, identity per window, one-piece frames, drift.

python -m semanticgen.toy.longclip VIDEO.mp4 [--prompt "a white square bouncing off the walls on a navy background"]

The issue's long-video targets are about the whole minute: in most windows of frames the shape, colour and
background must be the prompt's; the shape must move and change direction at the walls; the start and the end
must not drift apart (the paper's Δdrift, `semanticgen.metrics.drift`, over model-free statistics M).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import cv2
import numpy as np
import torch

from ..metrics import METRICS, drift
from .evaluate import Reading, foreground, load_video, outline, parse_prompt, read_video

WINDOW = 32  # frames per identity window: a Swin window of 8 latent frames is 29–32 video frames (4 s at 8 fps)
TURN_TOLERANCE = 0.1  # share of the frame side the centre must come back before a turn counts: a generated shape's
# centre jitters by ±2–3 px at 64 px (measured on the shipped models' long video), a true bounce travels 20 px or more
MOVING_MIN = 0.05  # share of the frame side a window's centre must travel to count as moving
# the most wall bounces per axis a rendered minute can hold: 481 frames at the world's top speed (0.02 of the side
# per frame, Clip.random_long) over the shortest free path (1 − 2 × the largest radius, 0.19): more reversals are
# jitter, not bouncing
MAX_BOUNCES = math.ceil(480 * 0.02 / (1 - 2 * 0.19))  # 16


@dataclass(frozen=True)
class LongReading:
    bounces_x: int  # direction changes of the horizontal motion (off the left and right walls)
    bounces_y: int  # and of the vertical motion
    windows: tuple[Reading, ...]  # read_video of each window of about WINDOW frames
    first: Reading  # read_video of the first frame alone, and of the last: a garbage end frame shows here
    last: Reading
    moving: float  # share of windows whose shape travels at least MOVING_MIN of the frame
    one_piece: float  # share of frames whose shape is one connected piece (no fragments, not missing)
    drift: dict[str, float]  # Δdrift per statistic: |M(first 15%) − M(last 15%)|


def _components(d: torch.Tensor) -> tuple[int, np.ndarray, np.ndarray]:
    """(pieces, their pixel counts (n,), their centres (n, 2) as x, y) of one frame's shape mask, 8-connected;
    (0, ...) when the frame shows no shape."""
    m = outline(d)
    if m is None:
        return 0, np.zeros(0), np.zeros((0, 2))
    n, _, stats, centroids = cv2.connectedComponentsWithStats(m.numpy().astype(np.uint8), connectivity=8)
    return n - 1, stats[1:, cv2.CC_STAT_AREA], centroids[1:]  # label 0 is the background


def centres(frames: torch.Tensor) -> list[tuple[float, float] | None]:
    """The centre of the shape's largest piece per frame (pixels), None where no shape is seen: a stray fragment
    does not move the track."""
    _, diff = foreground(frames[..., :3].float())
    out: list[tuple[float, float] | None] = []
    for d in diff:
        n, areas, xy = _components(d)
        out.append(None if n == 0 else tuple(float(v) for v in xy[int(areas.argmax())]))
    return out


def turns(positions: list[float], tolerance: float) -> int:
    """Direction changes of a 1-D path: a turn counts once the path has come back `tolerance` from its furthest
    point in the current direction (hysteresis: jitter of a generated shape's centre is not a bounce)."""
    if not positions:
        return 0
    count, direction, extreme = 0, 0, positions[0]
    for p in positions[1:]:
        if (p - extreme) * direction > 0:
            extreme = p  # still going the same way
        elif abs(p - extreme) >= tolerance:
            count += direction != 0  # the first move sets the direction, later ones reverse it
            direction, extreme = (1 if p > extreme else -1), p
    return count


def one_piece(frames: torch.Tensor) -> float:
    """Share of frames (T, H, W, 3) whose shape is one connected piece: no stray fragments, not missing."""
    _, diff = foreground(frames[..., :3].float())
    return sum(_components(d)[0] == 1 for d in diff) / len(diff)


def foreground_area(frames: torch.Tensor) -> torch.Tensor:
    """Share of the pixels far from the background: a statistic for drift that falls when the shape fades or breaks
    up and rises when stray fragments appear."""
    _, diff = foreground(frames)
    return (diff > 0.35).float().mean()


DRIFT_METRICS: dict[str, str | Callable[[torch.Tensor], torch.Tensor]] = {
    **{name: name for name in METRICS},
    "foreground_area": foreground_area,
}


def windows(frames: torch.Tensor, window: int = WINDOW) -> list[torch.Tensor]:
    """Near-equal consecutive windows of about `window` frames (at least one)."""
    return list(torch.tensor_split(frames, max(1, frames.shape[0] // window)))


def _travel(frames: torch.Tensor) -> float:
    """How far the shape's centre gets from where it starts within the frames, as a share of the frame side."""
    seen = [c for c in centres(frames) if c is not None]
    if len(seen) < 2:
        return 0.0
    return max(max(abs(x - seen[0][0]), abs(y - seen[0][1])) for x, y in seen) / frames.shape[2]


def read_long(frames: torch.Tensor, window: int = WINDOW) -> LongReading:
    """frames (T, H, W, 3) in [0, 1]."""
    frames = frames[..., :3].float()
    side = frames.shape[2]
    seen = [c for c in centres(frames) if c is not None]
    parts = windows(frames, window)
    return LongReading(
        bounces_x=turns([c[0] for c in seen], TURN_TOLERANCE * side),
        bounces_y=turns([c[1] for c in seen], TURN_TOLERANCE * side),
        windows=tuple(read_video(p) for p in parts),
        first=read_video(frames[:1]),
        last=read_video(frames[-1:]),
        moving=sum(_travel(p) >= MOVING_MIN for p in parts) / len(parts),
        one_piece=one_piece(frames),
        drift={name: drift(frames, m) for name, m in DRIFT_METRICS.items()},
    )


def identity(reading: LongReading, want: Reading) -> float:
    """Share of windows whose shape, colour and background are the prompt's."""
    keys = ("shape", "colour", "background")
    return sum(all(getattr(w, k) == getattr(want, k) for k in keys) for w in reading.windows) / len(reading.windows)


def bounces_seen(reading: LongReading) -> bool:
    """The caption's motion: the shape turns at the walls on both axes, no more often than a bouncing shape can."""
    return all(1 <= n <= MAX_BOUNCES for n in (reading.bounces_x, reading.bounces_y))


def summary(reading: LongReading, want: Reading | None = None) -> dict:
    """The figures of a reading, JSON-ready (windows as counts of what they show)."""
    out = {k: v for k, v in asdict(reading).items() if k not in ("windows", "first", "last")}
    for end in ("first", "last"):
        r = getattr(reading, end)
        out[end] = f"{r.colour} {r.shape} on {r.background}"
    for k in ("shape", "colour", "background"):
        values = [getattr(w, k) for w in reading.windows]
        out[f"windows_{k}"] = {v: values.count(v) for v in sorted(set(values))}
    if want is not None:
        out["identity"] = identity(reading, want)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video")
    ap.add_argument("--prompt")
    ap.add_argument("--window", type=int, default=WINDOW)
    a = ap.parse_args()
    reading = read_long(load_video(a.video)[0], a.window)
    print(json.dumps(summary(reading, parse_prompt(a.prompt) if a.prompt else None), indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
