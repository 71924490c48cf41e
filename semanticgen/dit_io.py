"""Checkpoint I/O of the SemanticGen DiT: safetensors with the config, semantic space and feature norm in the
metadata, the storage dtypes of a loaded model, and initialisation from a plain Wan2.1 DiT."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

from .checkpoints import (
    CONFIG_KEY,
    KIND_KEY,
    CheckpointError,
    check_state_dict,
    config_from_dict,
    load_checkpoint,
    read_metadata,
    save_checkpoint,
)
from .dit import DiTConfig, FeatureNorm, SemanticGenDiT
from .features import SemanticSpace

KIND = "dit"


def save_dit(model: SemanticGenDiT, path, state: dict[str, torch.Tensor] | None = None) -> Path:
    """`state`: the weights to write instead of the model's own (a trainer's EMA, gathered from shards)."""
    extra = {"space": model.space, "feature_norm": model.feature_norm}
    weights = model.state_dict() if state is None else state
    return save_checkpoint(path, weights, KIND, model.config, {k: v for k, v in extra.items() if v})


def read_feature_norm(path, config: DiTConfig) -> FeatureNorm | None:
    name, meta = Path(path).name, read_metadata(path)
    if "feature_norm" not in meta:
        return None
    try:
        norm = config_from_dict(FeatureNorm, json.loads(meta["feature_norm"]), name)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{name}: corrupt feature_norm metadata ({e})") from e
    try:
        ok = len(norm.mean) == len(norm.std) == config.out_dim and min(map(float, norm.std)) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise CheckpointError(f"{name}: feature_norm needs {config.out_dim} means and positive stds")
    return norm


def read_dit_config(path, kind: str = KIND) -> tuple[DiTConfig, SemanticSpace | None]:
    """Config and semantic space from a checkpoint's metadata alone (no tensors read): what the planner needs.
    `kind`: a DiT checkpoint, or another file that records a DiT's config (the adapter's semantic embedding)."""
    name = Path(path).name
    meta = read_metadata(path)
    if meta.get(KIND_KEY) != kind:
        raise CheckpointError(f"{name}: expected a SemanticGen {kind} checkpoint, found {meta.get(KIND_KEY, 'none')}")
    try:
        config = config_from_dict(DiTConfig, json.loads(meta.get(CONFIG_KEY, "{}")), name)
        space = config_from_dict(SemanticSpace, json.loads(meta["space"]), name) if "space" in meta else None
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{name}: corrupt config metadata ({e})") from e
    return config, space


FP32_KEYS = ("patch_embedding.",)  # kept in fp32 whatever the storage dtype: the input is embedded in fp32, as in Wan


def storage_dtype(name: str, t: torch.Tensor, dtype: torch.dtype, small: torch.dtype | None = None) -> torch.dtype:
    """How `cast_weights` stores a parameter: linear and conv matrices as `dtype`; everything else (norms, biases,
    modulation: small and sensitive) as `small` when given; the patch embedding always in fp32."""
    if name.startswith(FP32_KEYS):
        return torch.float32
    if small is None or (name.endswith("weight") and t.ndim >= 2):
        return dtype
    return small


def cast_weights(model: nn.Module, dtype: torch.dtype, small: torch.dtype | None = None) -> nn.Module:
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.data = p.data.to(storage_dtype(name, p, dtype, small))
    return model


def load_dit(
    path,
    dtype: torch.dtype = torch.float32,
    operations: ModuleType = nn,
    compute_dtype: torch.dtype | None = None,
) -> SemanticGenDiT:
    """A SemanticGen DiT checkpoint (config in the metadata); refuses files whose tensors disagree.

    `dtype` is the storage dtype; a `compute_dtype` different from it (e.g. fp8 storage, fp32/bf16 compute) keeps
    norms, biases and modulation in the compute dtype, and `operations` (ComfyUI's `manual_cast`) casts each
    matrix as it is used."""
    config, space = read_dit_config(path)
    state, _ = load_checkpoint(path, kind=KIND)
    model = assemble_dit(config, space, state, Path(path).name, dtype, operations, compute_dtype)
    model.feature_norm = read_feature_norm(path, config)
    return model


def assemble_dit(
    config: DiTConfig,
    space: SemanticSpace | None,
    state: dict[str, torch.Tensor],
    source: str,
    dtype: torch.dtype = torch.float32,
    operations: ModuleType = nn,
    compute_dtype: torch.dtype | None = None,
) -> SemanticGenDiT:
    """A DiT of `config` holding `state` (every key, checked), in eval mode, stored and computed as `load_dit`
    describes."""
    with torch.device("meta"):
        model = SemanticGenDiT(config, operations, space)
    check_state_dict(model, state, source)
    model.load_state_dict(state, assign=True)
    model.compute_dtype = compute_dtype or dtype
    return cast_weights(model, dtype, compute_dtype if compute_dtype not in (None, dtype) else None).eval()


def strip_wan_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A Wan2.1 DiT state dict under our keys: ComfyUI's single-file layout may prefix them with
    `model.diffusion_model.` or `diffusion_model.` (anything outside that prefix is not the DiT)."""
    for prefix in ("model.diffusion_model.", "diffusion_model."):
        if any(k.startswith(prefix) for k in state):
            return {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
    return state


def load_wan_state_dict(model: SemanticGenDiT, state: dict[str, torch.Tensor], source: str = "checkpoint") -> list[str]:
    """Initialise from a plain Wan2.1 DiT (ComfyUI single-file layout, optional `model.diffusion_model.`
    prefix). Returns the keys that Wan2.1 does not have (the new semantic keys), which keep their init."""
    state = strip_wan_prefix(state)
    own = model.state_dict()
    unexpected = sorted(set(state) - set(own))
    if unexpected:
        raise CheckpointError(f"{source}: not a Wan2.1 T2V DiT for this config (unexpected keys {unexpected[:5]})")
    for k, v in state.items():
        if v.shape != own[k].shape:
            raise CheckpointError(f"{source}: {k} has shape {tuple(v.shape)}, the config needs {tuple(own[k].shape)}")
    missing = sorted(set(own) - set(state))
    model.load_state_dict(state, strict=False)
    return missing
