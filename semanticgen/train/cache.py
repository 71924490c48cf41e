"""Training caches: safetensors shards of precomputed tensors, so training never runs the VAE, the text encoder or
the semantic encoder. Every shard holds `n` rows of:

    latents   (n, 16, T, H, W)   VAE latents, normalised as the DiT sees them (Wan21 process_in)
    text      (n, L, D_text)     text-encoder token states (zeros past the prompt)
    semantic  (n, d, Ts, Hs, Ws) semantic-encoder features (before the compressor)
    null_text (1, L, D_text)     the empty prompt, for classifier-free-guidance dropout

and metadata: `step_bounds` (JSON, the source-frame span of every semantic step), `captions` (JSON).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

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
