"""ComfyUI's own VAE, text encoders, video decoder and writer for the project's commands (the cache builder, training
with sample videos, the toy scripts), loaded through ComfyUI's modules from a ComfyUI folder.

The library (`semanticgen/`) never imports ComfyUI: it takes these as callables (`semanticgen.train.build`) or as a
`host` (`semanticgen.train.train(cfg, host=...)`), and the commands in `scripts/` pass this module. Training data and
samples then go through exactly the models a ComfyUI user runs, with no second implementation of them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

MINILM = "minilm"  # the demo models' text encoder (semanticgen.text), which needs no ComfyUI
TextEncode = Callable[[list[str]], torch.Tensor]  # prompts -> token states (B, L, D)


def use_comfyui(path: str | os.PathLike | None = None) -> Path:
    """Make `import comfy` work from the ComfyUI folder `path` (default: $SEMANTICGEN_COMFYUI, then $COMFYUI_PATH).
    Without a GPU, ComfyUI is told to run on the CPU before its model management starts."""
    path = path or os.environ.get("SEMANTICGEN_COMFYUI") or os.environ.get("COMFYUI_PATH")
    if not path or not (Path(path) / "comfy" / "sd.py").is_file():
        raise ValueError(
            f"comfyui: expected a ComfyUI folder (one holding comfy/sd.py), got {path!r}; "
            "pass --comfyui or set SEMANTICGEN_COMFYUI"
        )
    root = str(Path(path).resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    if "comfy.model_management" not in sys.modules and not torch.cuda.is_available():
        from comfy.cli_args import args

        args.cpu = True
    return Path(root)


@dataclass
class WanVae:
    """ComfyUI's VAE (as its VAELoader loads it) in the latent generator's normalised Wan2.1 latent space."""

    vae: Any  # comfy.sd.VAE
    fmt: Any  # comfy.latent_formats.Wan21

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """(T, H, W, 3) in [0, 1] -> normalised latents (1, 16, T', H/8, W/8), on the CPU."""
        return self.fmt.process_in(self.vae.encode(frames[..., :3])).float().cpu()

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Normalised latents (1, 16, T', h, w) -> frames (T, H, W, 3) in [0, 1]."""
        return self.vae.decode(self.fmt.process_out(latents))[0].float().cpu()


def load_vae(path: str | os.PathLike, comfyui: str | os.PathLike | None = None) -> WanVae:
    """A VAE file (e.g. wan_2.1_vae.safetensors) through ComfyUI's loader."""
    if not Path(path).is_file():
        raise ValueError(f"vae: no such file {path}")
    use_comfyui(comfyui)
    import comfy.latent_formats
    import comfy.sd
    import comfy.utils

    return WanVae(comfy.sd.VAE(sd=comfy.utils.load_torch_file(str(path), safe_load=True)), comfy.latent_formats.Wan21())


def clip_encode(clip: Any) -> TextEncode:
    """Prompts -> token states with a ComfyUI CLIP object (umT5 for Wan), as its CLIPTextEncode runs it."""
    return lambda texts: torch.cat([clip.encode_from_tokens_scheduled(clip.tokenize(t))[0][0] for t in texts])


def load_text_encoder(
    path: str | os.PathLike, comfyui: str | os.PathLike | None = None, clip_type: str = "wan"
) -> TextEncode:
    """`minilm` (the demo models' encoder), or a text-encoder file (e.g. umt5_xxl_fp8_e4m3fn_scaled.safetensors)
    through ComfyUI's CLIPLoader path with `clip_type`."""
    if str(path) == MINILM:
        from semanticgen.text import MiniLMTextEncoder

        return MiniLMTextEncoder().encode
    if not Path(path).is_file():
        raise ValueError(f"text_encoder: expected {MINILM!r} or a text-encoder file, got {path}")
    use_comfyui(comfyui)
    import comfy.sd

    types = {t.name.lower(): t for t in comfy.sd.CLIPType}
    if clip_type.lower() not in types:
        raise ValueError(f"clip_type: expected one of {sorted(types)}, got {clip_type!r}")
    clip = comfy.sd.load_clip(ckpt_paths=[str(path)], clip_type=types[clip_type.lower()])
    return clip_encode(clip)


def decode_file(path: Path) -> tuple[torch.Tensor, float]:
    """Frames (T, H, W, C) in [0, 1] and the frame rate of a video file, by ComfyUI's decoder (PyAV); a file that
    is not a video is a ValueError naming it."""
    from comfy_api.latest import InputImpl

    try:
        parts = InputImpl.VideoFromFile(str(path)).get_components()
    except Exception as e:  # PyAV raises many types for a file that is not a video
        raise ValueError(f"videos: {path.name} could not be decoded as a video ({e})") from e
    return parts.images, float(parts.frame_rate)


def write_video(path: Path, frames: torch.Tensor, fps: float) -> Path:
    """Frames (T, H, W, 3) in [0, 1] as an mp4 by ComfyUI's video writer (what its SaveVideo node writes)."""
    from fractions import Fraction

    from comfy_api.latest import InputImpl, Types

    video = InputImpl.VideoFromComponents(
        Types.VideoComponents(images=frames, frame_rate=Fraction(fps).limit_denominator())
    )
    video.save_to(str(path))
    return path
