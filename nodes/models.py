"""Model folders, safe name resolution, devices and dtypes: everything the loaders share."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import comfy.model_management as mm
import comfy.model_patcher
import comfy.ops
import folder_paths
import torch
from comfy_api.latest import io

from ..semanticgen.checkpoints import atomic_write

PACK_DIR = Path(__file__).resolve().parents[1]
FOLDERS = {  # folder_paths key -> sub-folder of ComfyUI's models dir
    "semanticgen_encoders": "semanticgen/encoders",
    "semanticgen_compressors": "semanticgen/compressors",
    "semanticgen_semantic_generators": "semanticgen/semantic_generators",
    "semanticgen_latent_generators": "semanticgen/latent_generators",
    "semanticgen_semantic_embeddings": "semanticgen/semantic_embeddings",  # the adapter recipe's, beside its LoRA
}
EXTENSIONS = {".safetensors"}
DTYPES = {"auto": None, "fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
FP8_DTYPES = {"fp8_e4m3fn": torch.float8_e4m3fn, "fp8_e5m2": torch.float8_e5m2}  # storage only: compute upcasts


def register_model_folders() -> None:
    """Register `models/semanticgen/*` with ComfyUI (plus the demo weights bundled with the pack)."""
    for key, sub in FOLDERS.items():
        folder_paths.add_model_folder_path(key, os.path.join(folder_paths.models_dir, sub), is_default=True)
        bundled = PACK_DIR / "models" / sub  # the pack mirrors ComfyUI's models/ layout
        if bundled.is_dir():
            folder_paths.add_model_folder_path(key, str(bundled))
        paths, exts = folder_paths.folder_names_and_paths[key]
        folder_paths.folder_names_and_paths[key] = (paths, set(exts) | EXTENSIONS)
    if (PACK_DIR / "models" / "vae").is_dir():  # the demo VAE loads through ComfyUI's native VAELoader
        folder_paths.add_model_folder_path("vae", str(PACK_DIR / "models" / "vae"))


def copy_sample_inputs() -> None:
    """Put the pack's sample reference video into ComfyUI's input folder so the bundled workflows run as-is."""
    src = PACK_DIR / "assets" / "semanticgen_sample.mp4"
    dest = Path(folder_paths.get_input_directory()) / src.name
    if src.is_file() and not (dest.is_file() and dest.read_bytes() == src.read_bytes()):
        atomic_write(dest, lambda tmp: shutil.copyfile(src, tmp))


def list_models(key: str, folders: bool = False) -> list[str]:
    """Files (and, with `folders`, checkpoint folders holding a config.json) under a registered key."""
    names = set(folder_paths.get_filename_list(key))
    if folders:
        for base in folder_paths.get_folder_paths(key):
            if os.path.isdir(base):
                names.update(d.name for d in os.scandir(base) if d.is_dir() and os.path.isfile(Path(d) / "config.json"))
    return sorted(names)


def check_choice(input_name: str, value: str, options: list[str]) -> bool | str:
    """`validate_inputs` helper: ComfyUI 0.3.75 does not check V3 combo values, so we do."""
    if value in options:
        return True
    shown = options if len(options) <= 12 else options[:12] + ["..."]
    return f"{input_name}: {value!r} is not one of {shown}"


def check_choices(**choices: tuple[str, list[str]]) -> bool | str:
    """`check_choice` for several combos (name=(value, options)); the first refusal wins."""
    for name, (value, options) in choices.items():
        if (msg := check_choice(name, value, options)) is not True:
            return msg
    return True


def dtype_options(fp8: bool = False) -> list[str]:
    return list(DTYPES) + (list(FP8_DTYPES) if fp8 else [])


def dtype_input(fp8: bool = False) -> io.Combo.Input:
    """The weight-dtype combo every loader shows (fp8 storage for loaders whose layers upcast per use)."""
    tip = "Weight dtype. auto: fp32 on CPU, bf16/fp16 on GPUs that support it."
    if fp8:
        tip += " fp8_*: weights stored in 8 bits (half of bf16), each layer upcast to the compute dtype as it runs."
    return io.Combo.Input("dtype", options=dtype_options(fp8), default="auto", tooltip=tip)


def within(path: str | os.PathLike, base: str | os.PathLike) -> bool:
    """Whether `path` is `base` or lies inside it (after resolving `..`; the one path guard of the pack)."""
    base_abs = os.path.abspath(base)
    return os.path.commonpath([os.path.abspath(path), base_abs]) == base_abs


def inside(base: str, sub: str, input_name: str) -> Path:
    """`base/sub` for a folder-name input, refusing anything that escapes `base`."""
    path = Path(os.path.abspath(os.path.join(os.path.abspath(base), sub)))
    if not within(path, base) or not sub.strip():
        raise ValueError(f"{input_name}: {sub!r} must be a sub-folder name inside {os.path.abspath(base)}")
    return path


def decode_video(video, error: str):
    """A ComfyUI video's components (frames, frame rate), or a ValueError starting with `error` (PyAV raises many
    types for a file that is not a video)."""
    try:
        return video.get_components()
    except Exception as e:
        raise ValueError(f"{error} ({e})") from e


def resolve_model(key: str, name: str, input_name: str, folders: bool = False) -> Path:
    """Full path of a listed model. Only names the folder lists are accepted: no traversal, no absolute paths."""
    if name not in list_models(key, folders):
        sub = FOLDERS.get(key, key)  # ours, or one of ComfyUI's own folders (e.g. diffusion_models)
        raise ValueError(f"{input_name}: {name!r} is not a model in models/{sub} (put it there and refresh)")
    for base in folder_paths.get_folder_paths(key):
        path = Path(base) / name
        if path.exists() and within(path, base):
            return path
    raise ValueError(f"{input_name}: {name!r} vanished from the model folder")


def pick_dtype(choice: str, device: torch.device) -> torch.dtype:
    """`auto`: fp32 on the CPU (no fast bf16 on most CPUs), else what ComfyUI deems best for the device."""
    if choice not in DTYPES:
        raise ValueError(f"dtype: expected one of {list(DTYPES)}, got {choice!r}")
    if DTYPES[choice] is not None:
        return DTYPES[choice]
    if device.type == "cpu":
        return torch.float32
    if mm.should_use_bf16(device):
        return torch.bfloat16
    return torch.float16 if mm.should_use_fp16(device) else torch.float32


def pick_dtypes(choice: str, device: torch.device) -> tuple[torch.dtype, torch.dtype]:
    """(storage, compute) dtypes. fp8 is storage only: compute is what `auto` picks for the device, and a torch
    that cannot convert fp8 there is refused up front."""
    if choice not in FP8_DTYPES:
        dtype = pick_dtype(choice, device)
        return dtype, dtype
    storage, compute = FP8_DTYPES[choice], pick_dtype("auto", device)
    try:
        torch.zeros(2, dtype=storage, device=device).to(compute)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"dtype: {choice} is not supported by this torch on {device.type} ({e})") from e
    return storage, compute


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def comfy_layers(module: torch.nn.Module) -> torch.nn.Module:
    """Re-class the plain torch layers of a third-party model (transformers' vision tower) as ComfyUI's layers
    (`disable_weight_init`: same computation), weights untouched: ComfyUI's partial (lowvram) loading can then leave
    any of them offloaded and cast each as it runs, as it does for our DiTs (built from ComfyUI's layers)."""
    ops = comfy.ops.disable_weight_init
    classes = {
        torch.nn.Linear: ops.Linear,
        torch.nn.Conv3d: ops.Conv3d,
        torch.nn.Conv2d: ops.Conv2d,
        torch.nn.LayerNorm: ops.LayerNorm,
        torch.nn.Embedding: ops.Embedding,
    }
    for m in module.modules():
        if type(m) in classes:  # exact types only: a subclass may have its own forward
            m.__class__ = classes[type(m)]
    return module


def patcher(model: torch.nn.Module, load_device: torch.device, offload_device: torch.device):
    """Hand the module to ComfyUI's memory manager: it moves weights, we never do."""
    return comfy.model_patcher.ModelPatcher(model, load_device=load_device, offload_device=offload_device)
