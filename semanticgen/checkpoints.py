"""Safetensors checkpoints with their config in the metadata: one file is a whole model, never pickle."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

KIND_KEY = "semanticgen_kind"
CONFIG_KEY = "config"

C = TypeVar("C")


class CheckpointError(ValueError):
    """A weights file that cannot be used: missing, corrupt, or not what the caller expected."""


def fsync(path: str | os.PathLike) -> None:
    """Flush a file (or a folder's entries) to disk, so a rename after it never exposes missing data."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, write: Any) -> Path:
    """Call `write(tmp_path)` then rename onto `path`, so a reader never sees a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a finished file gets the usual mode
        fsync(tmp)
        os.replace(tmp, path)
        fsync(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_checkpoint(
    path: str | os.PathLike,
    state_dict: Mapping[str, torch.Tensor],
    kind: str,
    config: Any = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write `state_dict` as safetensors; `kind`, the (dataclass or dict) config and any `extra` dataclasses or
    dicts (JSON) go in the metadata."""
    as_dict = lambda c: asdict(c) if is_dataclass(c) else (c or {})  # noqa: E731
    metadata = {KIND_KEY: kind, CONFIG_KEY: json.dumps(as_dict(config), sort_keys=True)}
    metadata.update({k: json.dumps(as_dict(v), sort_keys=True) for k, v in (extra or {}).items()})
    tensors = {k: v.detach().contiguous().cpu() for k, v in state_dict.items()}
    return atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The metadata of a safetensors file, with a clear error for anything that is not one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path.name}: file not found")
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except (SafetensorError, OSError, ValueError) as e:
        if looks_like_pickle(path):
            raise CheckpointError(
                f"{path.name}: a pickle (PyTorch .pt/.ckpt) file named .safetensors; only safetensors are loaded "
                "(pickle can run code), convert it to safetensors first"
            ) from e
        raise CheckpointError(f"{path.name}: not a valid safetensors file ({e})") from e


def looks_like_pickle(path: str | os.PathLike) -> bool:
    """A pickle (protocol 2–5) or `torch.save`'s zip archive. A safetensors file starts with an 8-byte header size
    and then `{`, which tells it apart even when that size happens to begin with the same bytes."""
    with open(path, "rb") as f:
        head = f.read(9)
    if head[8:9] == b"{":
        return False
    return head[:4] == b"PK\x03\x04" or (len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5)


def load_checkpoint(path: str | os.PathLike, kind: str | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """Load tensors + config dict. With `kind`, refuse files written for another model kind.
    Other JSON metadata is in `read_metadata`."""
    meta = read_metadata(path)
    name = Path(path).name
    if kind is not None and meta.get(KIND_KEY) != kind:
        found = meta.get(KIND_KEY, "no semanticgen kind")
        raise CheckpointError(f"{name}: expected a SemanticGen {kind} checkpoint, found {found}")
    try:
        config = json.loads(meta.get(CONFIG_KEY, "{}"))
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{name}: corrupt checkpoint ({e})") from e
    return tensors, config


def config_from_dict(cls: type[C], data: Mapping[str, Any], source: str = "checkpoint") -> C:
    """Build a config dataclass, refusing unknown fields so a mismatched file fails loudly."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise CheckpointError(f"{source}: unknown {cls.__name__} fields {unknown}")
    try:
        return cls(**data)
    except TypeError as e:
        raise CheckpointError(f"{source}: bad {cls.__name__} ({e})") from e


def check_state_dict(module: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Refuse a state dict whose keys or shapes disagree with the module built from its config."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{source}: tensors do not match the config (missing {missing[:5]}, unexpected {unexpected[:5]})"
        )
    for k, v in expected.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise CheckpointError(
                f"{source}: tensor {k} has shape {tuple(state[k].shape)}, the config needs {tuple(v.shape)}"
            )
