"""Training state on disk without pickle: model, EMA and optimizer tensors in safetensors, the rest as JSON.

A checkpoint is a folder written under a temporary name and renamed into place, then `latest` is replaced
atomically: a run killed at any moment resumes from the last complete checkpoint, losing nothing before it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..checkpoints import atomic_write, fsync


def _flatten_optimizer(opt_state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, plain = {}, {"param_groups": opt_state["param_groups"], "state": {}}
    for pid, st in opt_state["state"].items():
        plain["state"][str(pid)] = {}
        for name, v in st.items():
            if torch.is_tensor(v):
                tensors[f"{pid}.{name}"] = v.contiguous().cpu()
            else:
                plain["state"][str(pid)][name] = v
    return tensors, plain


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], plain: dict) -> dict:
    state: dict[int, dict] = {int(pid): dict(st) for pid, st in plain["state"].items()}
    for key, v in tensors.items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = v
    return {"state": state, "param_groups": plain["param_groups"]}


def save_state(
    folder: Path,
    step: int,
    model: dict[str, torch.Tensor],
    ema: dict[str, torch.Tensor] | None,
    optimizer: dict,
    extra: dict,
) -> Path:
    """Write checkpoint `folder/step-N` atomically and point `folder/latest` at it."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"step-{step:08d}"
    tmp = folder / f".step-{step:08d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file({k: v.contiguous().cpu() for k, v in model.items()}, str(tmp / "model.safetensors"))
    if ema is not None:
        save_file({k: v.contiguous().cpu() for k, v in ema.items()}, str(tmp / "ema.safetensors"))
    opt_tensors, opt_plain = _flatten_optimizer(optimizer)
    save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
    (tmp / "state.json").write_text(json.dumps({"step": step, "optimizer": opt_plain, **extra}))
    for f in tmp.iterdir():
        fsync(f)
    fsync(tmp)
    remove(final)
    os.replace(tmp, final)
    atomic_write(folder / "latest", lambda tmp: Path(tmp).write_text(final.name))
    return final


def load_state(folder: Path) -> dict | None:
    """The latest complete checkpoint under `folder`, or None."""
    pointer = folder / "latest"
    if not pointer.is_file():
        return None
    ckpt = folder / pointer.read_text().strip()
    info = json.loads((ckpt / "state.json").read_text())
    return {
        "step": info["step"],
        "model": load_file(str(ckpt / "model.safetensors")),
        "ema": load_file(str(ckpt / "ema.safetensors")) if (ckpt / "ema.safetensors").exists() else None,
        "optimizer": _unflatten_optimizer(load_file(str(ckpt / "optimizer.safetensors")), info.pop("optimizer")),
        "extra": info,
    }


def prune(folder: Path, keep: int = 2) -> None:
    """Delete all but the newest `keep` checkpoints (never the one `latest` names)."""
    latest = (folder / "latest").read_text().strip() if (folder / "latest").exists() else None
    ckpts = sorted(p for p in folder.glob("step-*") if p.is_dir())
    for old in ckpts[: -max(keep, 1)]:
        if old.name != latest:
            remove(old)
    for leftover in folder.glob(".step-*.del"):  # deletions a kill interrupted
        shutil.rmtree(leftover, ignore_errors=True)


def remove(ckpt: Path) -> None:
    """Delete a checkpoint folder without ever leaving a partial one under its final name: rename, then delete
    (a kill during the delete leaves only a hidden `.del` folder, cleaned up by the next `prune`)."""
    if not ckpt.exists():
        return
    doomed = ckpt.with_name(f".{ckpt.name}.del")
    shutil.rmtree(doomed, ignore_errors=True)
    os.replace(ckpt, doomed)
    shutil.rmtree(doomed, ignore_errors=True)
