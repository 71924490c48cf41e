"""Training caches: safetensors shards of precomputed tensors, so training never runs the VAE, the text encoder or
the semantic encoder. Every shard holds `n` rows of:

    latents   (n, 16, T, H, W)   VAE latents, normalised as the DiT sees them (Wan21 process_in)
    text      (n, L, D_text)     text-encoder token states (zeros past the prompt)
    semantic  (n, d, Ts, Hs, Ws) semantic-encoder features (before the compressor)
    null_text (1, L, D_text)     the empty prompt, for classifier-free-guidance dropout

and metadata: `step_bounds` (JSON, the source-frame span of every semantic step), `captions` (JSON).
"""

from __future__ import annotations

import bisect
import json
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from ..checkpoints import atomic_write

FIELDS = ("latents", "text", "semantic")


def write_shard(path: str | Path, tensors: Mapping[str, torch.Tensor], meta: Mapping[str, object]) -> Path:
    """Write one shard atomically (a killed build never leaves a half shard under its final name)."""
    n = {k: v.shape[0] for k, v in tensors.items() if k in FIELDS}
    if len(set(n.values())) != 1 or set(n) != set(FIELDS):
        raise ValueError(f"shard: expected {FIELDS} with equal row counts, got {n}")
    metadata = {k: json.dumps(v) for k, v in meta.items()}
    data = {k: v.contiguous().cpu() for k, v in tensors.items()}
    return atomic_write(path, lambda tmp: save_file(data, tmp, metadata=metadata))


class CacheDataset:
    """All rows of all `*.safetensors` shards in a folder, held in memory (toy scale) — index with `batch(idx)`."""

    def __init__(self, folder: str | Path):
        shards = sorted(Path(folder).glob("*.safetensors"))
        if not shards:
            raise FileNotFoundError(f"cache: no shards in {folder}")
        parts: dict[str, list[torch.Tensor]] = {k: [] for k in FIELDS}
        self.meta: dict[str, object] = {}
        for shard in shards:
            with safe_open(str(shard), framework="pt") as f:
                for k in FIELDS:
                    parts[k].append(f.get_tensor(k))
                self.null_text = f.get_tensor("null_text")
                meta = {k: json.loads(v) for k, v in (f.metadata() or {}).items()}
            if self.meta and meta.get("step_bounds") != self.meta.get("step_bounds"):
                raise ValueError(f"cache: {shard.name} has a different clip layout than the shards before it")
            self.meta = meta
        self.tensors = {k: torch.cat(v) for k, v in parts.items()}

    def __len__(self) -> int:
        return self.tensors["latents"].shape[0]

    def batch(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        return {k: v[idx] for k, v in self.tensors.items()}

    def draw(self, g: torch.Generator, n: int, step: int, rank: int, world: int) -> dict[str, torch.Tensor]:
        """`n` rows drawn uniformly from the whole cache with `g` (the step's generator)."""
        return self.batch(torch.randint(len(self), (n,), generator=g))

    def chunks(self, key: str) -> Iterator[torch.Tensor]:
        yield self.tensors[key]


def _generator(*seeds: int) -> torch.Generator:
    """A generator from integers (the same in every process and Python run, unlike `hash`)."""
    return torch.Generator().manual_seed(sum(s * 1_000_003**i for i, s in enumerate(seeds)) % 2**63)


class ShardStream:
    """The rows of a folder of shards read a shard at a time: host memory is bounded by `cached` shards (plus one
    batch), not by the cache's size. Each epoch visits every row once: the shards in a seeded order, the rows of
    each shard in a seeded order. Rows are a pure function of the step (process `rank` of `world` takes every
    world-th row of the stream), so a resumed run reads exactly the batches the uninterrupted run would have read.
    Shuffling mixes rows within a shard only: build shards from a shuffled source list."""

    def __init__(self, folder: str | Path, seed: int = 0, cached: int = 2):
        self.shards = sorted(Path(folder).glob("*.safetensors"))
        if not self.shards:
            raise FileNotFoundError(f"cache: no shards in {folder}")
        self.seed, self.cached = seed, max(cached, 1)
        self.rows, self.meta = [], {}
        for shard in self.shards:  # headers only
            with safe_open(str(shard), framework="pt") as f:
                self.rows.append(f.get_slice("latents").get_shape()[0])
                meta = {k: json.loads(v) for k, v in (f.metadata() or {}).items()}
            if self.meta and meta.get("step_bounds") != self.meta.get("step_bounds"):
                raise ValueError(f"cache: {shard.name} has a different clip layout than the shards before it")
            self.meta = meta
        with safe_open(str(self.shards[0]), framework="pt") as f:
            self.null_text = f.get_tensor("null_text")
        self._loaded: OrderedDict[int, dict[str, torch.Tensor]] = OrderedDict()
        self._epoch: tuple[int, list[int], list[int]] | None = None

    def __len__(self) -> int:
        return sum(self.rows)

    def order(self, epoch: int) -> tuple[list[int], list[int]]:
        """The shards in the epoch's order and the row count before each."""
        if self._epoch is None or self._epoch[0] != epoch:
            shards = torch.randperm(len(self.shards), generator=_generator(self.seed, epoch)).tolist()
            starts = [0]
            for k in shards[:-1]:
                starts.append(starts[-1] + self.rows[k])
            self._epoch = (epoch, shards, starts)
        return self._epoch[1], self._epoch[2]

    def locate(self, position: int) -> tuple[int, int]:
        """(shard, row) of a position in the endless stream."""
        epoch, offset = divmod(position, len(self))
        shards, starts = self.order(epoch)
        i = bisect.bisect_right(starts, offset) - 1
        k = shards[i]
        rows = torch.randperm(self.rows[k], generator=_generator(self.seed, epoch, k))
        return k, int(rows[offset - starts[i]])

    def shard(self, k: int) -> dict[str, torch.Tensor]:
        if k not in self._loaded:
            while len(self._loaded) >= self.cached:
                self._loaded.popitem(last=False)
            self._loaded[k] = load_file(str(self.shards[k]))
        self._loaded.move_to_end(k)
        return self._loaded[k]

    def draw(self, g: torch.Generator, n: int, step: int, rank: int, world: int) -> dict[str, torch.Tensor]:
        """Rows (step·n + i)·world + rank of the stream, i < n (`g` is not used: the position decides)."""
        rows = [self.locate((step * n + i) * world + rank) for i in range(n)]
        return {key: torch.stack([self.shard(k)[key][r] for k, r in rows]) for key in FIELDS}

    def chunks(self, key: str) -> Iterator[torch.Tensor]:
        """`key` of every shard, one shard in memory at a time."""
        for shard in self.shards:
            with safe_open(str(shard), framework="pt") as f:
                yield f.get_tensor(key)


def open_cache(folder: str | Path, streaming: bool, seed: int = 0) -> CacheDataset | ShardStream:
    return ShardStream(folder, seed) if streaming else CacheDataset(folder)


def write_windows(
    src: str | Path, out: str | Path, window: int, stride: int, shard_size: int = 500, vae_temporal: int = 4
) -> list[Path]:
    """A cache of `window`-latent-frame windows cut from every row of a cache of long clips, at latent offsets 0,
    stride, 2·stride, …, each with the semantic steps over the same source frames (`window - 1` steps) and the
    row's text. Training data for a Swin latent stage: windows of one long latent, as inference sees them, not
    encodings of short clips (Wan's causal VAE treats a clip's first frame specially; offset 0 keeps that window).

    Needs one semantic step per latent frame (`vae_temporal` source frames per step), so latent frame j + k ≥ 1
    covers the frames just before semantic step j + k, as in a short clip; every window then has the same
    `step_bounds` (a clip's last, longer step is left out)."""
    data = CacheDataset(src)
    bounds = data.meta["step_bounds"]
    steps, frames = len(bounds) - 1, data.tensors["latents"].shape[2]
    if any(b - a != vae_temporal for a, b in zip(bounds[:-2], bounds[1:-1], strict=True)):
        raise ValueError(f"{src}: expected one semantic step per {vae_temporal} frames, got step_bounds {bounds[:6]}…")
    offsets = list(range(0, min(frames - window, steps - window) + 1, stride))
    if window < 2 or not offsets:
        raise ValueError(f"window: expected 2 … {min(frames, steps)} latent frames, got {window}")
    captions = [c for shard in sorted(Path(src).glob("*.safetensors")) for c in _captions(shard)]
    rows = [(i, j) for i in range(len(data)) for j in offsets]
    meta = {"step_bounds": [b - bounds[0] for b in bounds[:window]], "windows": {"window": window, "offsets": offsets}}
    written = []
    for n, start in enumerate(range(0, len(rows), shard_size)):
        part = rows[start : start + shard_size]
        tensors = {
            "latents": torch.stack([data.tensors["latents"][i, :, j : j + window] for i, j in part]),
            "semantic": torch.stack([data.tensors["semantic"][i, :, j : j + window - 1] for i, j in part]),
            "text": torch.stack([data.tensors["text"][i] for i, _ in part]),
            "null_text": data.null_text,
        }
        shard_meta = meta | {"captions": [captions[i] for i, _ in part]}
        written.append(write_shard(Path(out) / f"windows-{n:05d}.safetensors", tensors, shard_meta))
    return written


def _captions(shard: Path) -> list[str]:
    with safe_open(str(shard), framework="pt") as f:
        meta = f.metadata() or {}
        return json.loads(meta["captions"]) if "captions" in meta else [""] * f.get_slice("latents").get_shape()[0]
