"""Build training caches inside ComfyUI: the native VAE and text encoder plus our semantic encoder, so training
needs no second implementation of any of them."""

from __future__ import annotations

import os
from pathlib import Path

import comfy.latent_formats
import comfy.model_management as mm
import comfy.utils
import folder_paths
import torch
import torch.nn.functional as F
from comfy_api.input_impl import VideoFromFile
from comfy_api.latest import io

from ..semanticgen.text import MiniLMTextEncoder
from ..semanticgen.train.build import build_cache
from .types import Encoder, TextEncoder

VIDEO_EXTENSIONS = {".mp4", ".webm", ".mov", ".mkv", ".avi"}


def _inside(base: str, sub: str, input_name: str) -> Path:
    """`base/sub`, refusing anything that escapes `base`."""
    base_abs = os.path.abspath(base)
    path = os.path.abspath(os.path.join(base_abs, sub))
    if os.path.commonpath([path, base_abs]) != base_abs or not sub.strip():
        raise ValueError(f"{input_name}: {sub!r} must be a sub-folder name inside {base_abs}")
    return Path(path)


def _components(path: Path):
    """Decoded frames + frame rate of one video file, or an error naming the `videos` input and the file."""
    try:
        return VideoFromFile(str(path)).get_components()
    except Exception as e:  # PyAV raises many types for a file that is not a video
        raise ValueError(f"videos: {path.name} could not be decoded as a video ({e})") from e


def _text_encoder(te):
    """Prompts -> token states, for our MiniLM encoder or any native ComfyUI CLIP (umT5 for Wan)."""
    if isinstance(te.model if hasattr(te, "model") else None, MiniLMTextEncoder):
        mm.load_models_gpu([te])
        return te.model.encode
    return lambda texts: torch.cat([te.encode_from_tokens_scheduled(te.tokenize(t))[0][0] for t in texts])


class BuildCache(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SemanticGenBuildCache",
            display_name="Build Training Cache",
            category="SemanticGen/train",
            description="Encodes a folder of videos with same-name .txt captions into training shards (VAE latents, "
            "text states, semantic features) for `python -m semanticgen.train`. Re-running resumes.",
            inputs=[
                io.Vae.Input("vae", tooltip="The VAE the latent generator works in (Wan2.1)."),
                io.MultiType.Input(
                    "text_encoder",
                    types=[io.Clip, TextEncoder],
                    tooltip="Native CLIP (umT5 for Wan) or the MiniLM text encoder.",
                ),
                Encoder.Input("encoder", tooltip="From Load Semantic Encoder."),
                io.String.Input(
                    "videos",
                    default="training_videos",
                    tooltip="Sub-folder of ComfyUI's input folder with videos and <name>.txt captions.",
                ),
                io.String.Input(
                    "cache_name",
                    default="semanticgen_cache",
                    tooltip="Sub-folder of ComfyUI's output folder that receives the shards.",
                ),
                io.Int.Input(
                    "frames",
                    default=81,
                    min=1,
                    max=4097,
                    step=4,
                    tooltip="Frames per clip (4k+1); longer videos are cut, shorter ones skipped.",
                ),
                io.Int.Input("width", default=832, min=16, max=4096, step=16, tooltip="Clip width (resized)."),
                io.Int.Input("height", default=480, min=16, max=4096, step=16, tooltip="Clip height (resized)."),
                io.Float.Input(
                    "sample_fps",
                    default=1.6,
                    min=0.1,
                    max=60.0,
                    step=0.1,
                    tooltip="Frames per second shown to the semantic encoder.",
                ),
                io.Int.Input("shard_size", default=256, min=1, max=100000, tooltip="Clips per shard file."),
            ],  # fmt: skip
            outputs=[io.String.Output(display_name="cache_path"), io.Int.Output(display_name="clips")],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, vae, text_encoder, encoder, videos: str, cache_name: str, frames: int, width: int,
                height: int, sample_fps: float, shard_size: int) -> io.NodeOutput:  # fmt: skip
        if (frames - 1) % 4:
            raise ValueError(f"frames: expected 4k+1 frames (1, 5, 9, …), got {frames}")
        src = _inside(folder_paths.get_input_directory(), videos, "videos")
        out = _inside(folder_paths.get_output_directory(), cache_name, "cache_name")
        files = sorted(p for p in src.glob("*") if p.suffix.lower() in VIDEO_EXTENSIONS) if src.is_dir() else []
        if not files:
            raise ValueError(f"videos: no video files in {src}")
        fmt = comfy.latent_formats.Wan21()
        pbar = comfy.utils.ProgressBar(len(files))
        fps = float(_components(files[0]).frame_rate)
        used = [0]

        def samples():
            for path in files:
                mm.throw_exception_if_processing_interrupted()
                caption_file = path.with_suffix(".txt")
                parts = _components(path)
                if parts.images.shape[0] < frames or not caption_file.is_file():
                    pbar.update(1)
                    continue  # too short, or no caption
                if abs(float(parts.frame_rate) - fps) > 1e-3:
                    raise ValueError(f"videos: {path.name} runs at {float(parts.frame_rate)} fps, the others at {fps}")
                clip = parts.images[:frames, ..., :3].movedim(-1, 1)  # (T, 3, H, W)
                clip = F.interpolate(clip, size=(height, width), mode="bilinear", antialias=True).movedim(1, -1)
                used[0] += 1
                pbar.update(1)
                yield clip.clamp(0, 1), caption_file.read_text().strip()

        mm.load_models_gpu([encoder])
        with torch.no_grad():
            shards = build_cache(samples(), out, lambda f: fmt.process_in(vae.encode(f)).cpu(),
                                 _text_encoder(text_encoder), encoder.model, fps, sample_fps, shard_size)  # fmt: skip
        if not used[0]:
            raise ValueError(
                f"videos: none of the {len(files)} videos in {src} has at least {frames} frames (frames) and a "
                "same-name .txt caption"
            )
        return io.NodeOutput(str(out), used[0], ui={"text": [f"{used[0]} clips in {len(shards)} shards"]})
