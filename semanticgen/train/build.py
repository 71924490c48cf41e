"""Build training caches from (video, caption) pairs with callables for the VAE and the text encoder.

The callables come from the host: inside ComfyUI they wrap the native VAE and text encoder (and its video decoder),
so no second implementation of those models exists. Shards are written atomically and a re-run skips finished
shards, so a killed build resumes where it stopped. `ClipFolder` turns a folder of videos with same-name `.txt`
captions into the (clip, caption) pairs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import safe_open

from ..encoder import SemanticEncoder
from .cache import write_shard

VaeEncode = Callable[[torch.Tensor], torch.Tensor]  # frames (T, H, W, 3) in [0, 1] -> latents (1, 16, T', h, w)
TextEncode = Callable[[list[str]], torch.Tensor]  # prompts -> token states (B, L, D)
Decode = Callable[[Path], tuple[torch.Tensor, float]]  # video file -> frames (T, H, W, C) in [0, 1], frame rate
VIDEO_EXTENSIONS = {".mp4", ".webm", ".mov", ".mkv", ".avi"}


def check_clip_frames(frames: int) -> None:
    if (frames - 1) % 4:
        raise ValueError(f"frames: expected 4k+1 frames (1, 5, 9, …), got {frames}")


def list_videos(folder: Path) -> list[Path]:
    """The video files of a folder, sorted; refuses a folder without any."""
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in VIDEO_EXTENSIONS) if folder.is_dir() else []
    if not files:
        raise ValueError(f"videos: no video files in {folder}")
    return files


def fit_clip(images: torch.Tensor, frames: int, height: int, width: int) -> torch.Tensor:
    """The first `frames` frames (T, H, W, C) as RGB, resized to height × width: (frames, height, width, 3)."""
    clip = images[:frames, ..., :3].movedim(-1, 1)  # (T, 3, H, W)
    clip = F.interpolate(clip, size=(height, width), mode="bilinear", antialias=True).movedim(1, -1)
    return clip.clamp(0, 1)


@dataclass
class ClipFolder:
    """(clip, caption) pairs of the videos that have a same-name .txt caption and at least `frames` frames (longer
    ones are cut); every video must run at the first one's frame rate. `progress()` runs once per file."""

    files: list[Path]
    decode: Decode
    frames: int
    height: int
    width: int
    progress: Callable[[], None] = lambda: None
    used: int = field(default=0, init=False)  # clips yielded so far

    def __post_init__(self) -> None:
        self.fps = self.decode(self.files[0])[1]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, str]]:
        for path in self.files:
            if (row := self.load(path)) is not None:
                yield row

    def load(self, path: Path) -> tuple[torch.Tensor, str] | None:
        """One file's (clip, caption), or None for a video too short or without a caption."""
        caption_file = path.with_suffix(".txt")
        images, fps = self.decode(path)
        self.progress()
        if images.shape[0] < self.frames or not caption_file.is_file():
            return None
        if abs(fps - self.fps) > 1e-3:
            raise ValueError(f"videos: {path.name} runs at {fps} fps, the others at {self.fps}")
        self.used += 1
        return fit_clip(images, self.frames, self.height, self.width), caption_file.read_text().strip()

    def check_used(self, folder: Path) -> None:
        """Refuse a build that found no usable clip (after it ran: only then is it known)."""
        if not self.used:
            raise ValueError(
                f"videos: none of the {len(self.files)} videos in {folder} has at least {self.frames} frames "
                "(frames) and a same-name .txt caption"
            )


def _chunks(items: Iterable, n: int) -> Iterator[list]:
    it = iter(items)
    while chunk := list(islice(it, n)):
        yield chunk


def check_finished(path: Path, expected: dict[str, object]) -> None:
    """A shard left by an earlier run is reused only if it holds the same clips built the same way: resuming into a
    folder of another build (other videos, frame count, size or rates) would silently mix two datasets. `expected`:
    metadata entries (`captions` or `sources`, and `build`) the shard must carry."""
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    old = {k: json.loads(meta.get(k, "null")) for k in expected}
    if old.get("build") is None:  # shards from before the build settings were recorded
        old["build"] = expected.get("build")
    if old != expected:
        clips_differ = any(old[k] != expected[k] for k in ("captions", "sources") if k in expected)
        what = "other clips" if clips_differ else f"other settings ({old['build']}, now {expected['build']})"
        raise ValueError(f"out: {path.name} was built from {what}; use an empty folder or the original inputs")


def shard_path(out: Path, k: int) -> Path:
    return out / f"shard-{k:05d}.safetensors"


@dataclass
class ShardWriter:
    """Encodes (clip, caption) rows into shards; every clip of one build must have the same shape."""

    vae_encode: VaeEncode
    text_encode: TextEncode
    encoder: SemanticEncoder
    video_fps: float
    sample_fps: float
    progress: Callable[[int], None] | None = None
    layout: tuple | None = field(default=None, init=False)  # (clip shape, step bounds) of the first clip

    def build(self, clip: torch.Size) -> dict:
        return {"video_fps": self.video_fps, "sample_fps": self.sample_fps, "clip": list(clip)}

    def write(self, path: Path, chunk: list[tuple[torch.Tensor, str]], extra: dict | None = None) -> None:
        rows: dict[str, list[torch.Tensor]] = {"latents": [], "text": [], "semantic": []}
        for frames, caption in chunk:
            sem = self.encoder.encode(frames, video_fps=self.video_fps, sample_fps=self.sample_fps)
            if self.layout is None:
                self.layout = (tuple(frames.shape), sem.step_bounds())
            elif self.layout[0] != tuple(frames.shape):
                raise ValueError(f"videos: expected every clip shaped {self.layout[0]}, got {tuple(frames.shape)}")
            rows["semantic"].append(sem.features)
            rows["latents"].append(self.vae_encode(frames).float().cpu())
            rows["text"].append(self.text_encode([caption]).float().cpu())
            if self.progress:
                self.progress(1)
        tensors = {k: torch.cat(v) for k, v in rows.items()} | {"null_text": self.text_encode([""]).float().cpu()}
        meta = {
            "step_bounds": self.layout[1],
            "captions": [c for _, c in chunk],
            "build": self.build(chunk[0][0].shape),
        }
        write_shard(path, tensors, meta | (extra or {}))


def build_cache(
    samples: Iterable[tuple[torch.Tensor, str]],
    out: str | Path,
    vae_encode: VaeEncode,
    text_encode: TextEncode,
    encoder: SemanticEncoder,
    video_fps: float,
    sample_fps: float,
    shard_size: int = 256,
    progress: Callable[[int], None] | None = None,
    first_shard: int = 0,
    shard_stride: int = 1,
) -> list[Path]:
    """Write `out/shard-NNNNN.safetensors`; every video must have the same frame count and size.
    `first_shard` / `shard_stride` number the shards of one of several parallel builders."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    writer = ShardWriter(vae_encode, text_encode, encoder, video_fps, sample_fps, progress)
    shards = []
    for k, chunk in enumerate(_chunks(samples, shard_size)):
        path = shard_path(out, first_shard + k * shard_stride)
        shards.append(path)
        if path.exists():  # finished in an earlier run: only if from the same clips and settings
            check_finished(path, {"captions": [c for _, c in chunk], "build": writer.build(chunk[0][0].shape)})
            continue
        writer.write(path, chunk)
    return shards


@dataclass(frozen=True)
class ShardPlan:
    """Which shards of a build one process writes. Shard k holds sources [k·size, (k+1)·size) of the whole ordered
    list and process `rank` of `world` writes the shards k ≡ rank (mod world): disjoint slices, and the same
    shards for any number of processes or machines."""

    count: int  # sources in the whole list
    size: int  # sources per shard
    rank: int = 0
    world: int = 1

    @classmethod
    def from_env(cls, count: int, size: int) -> ShardPlan:
        """This process's part, from the variables `accelerate launch` and torchrun set (one process without)."""
        return cls(count, size, int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)))

    def shards(self) -> list[tuple[int, range]]:
        total = -(-self.count // self.size)
        return [
            (k, range(k * self.size, min(self.count, (k + 1) * self.size))) for k in range(self.rank, total, self.world)
        ]


def build_sharded(
    plan: ShardPlan,
    sources: Sequence[str],
    load: Callable[[int], tuple[torch.Tensor, str] | None],
    out: str | Path,
    writer: ShardWriter,
    clip: tuple[int, ...],
) -> list[Path]:
    """This process's shards of a build over `sources` (names, e.g. video files, in a fixed order): `load(i)` gives
    source i's (clip, caption), or None to skip it (too short, no caption). Only the sources of unfinished shards
    are loaded; a finished shard is checked against its sources' names and the build settings, so a killed rank
    resumes where it stopped. `clip`: the (frames, height, width, 3) every clip has."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for k, idx in plan.shards():
        path, names = shard_path(out, k), [sources[i] for i in idx]
        written.append(path)
        if path.exists():
            check_finished(path, {"sources": names, "build": writer.build(clip)})
            continue
        if chunk := [row for i in idx if (row := load(i)) is not None]:
            writer.write(path, chunk, {"sources": names})
    return [p for p in written if p.exists()]
