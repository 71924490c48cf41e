"""Build training caches inside ComfyUI: the native VAE and text encoder plus our semantic encoder, so training
needs no second implementation of any of them."""

from __future__ import annotations

from pathlib import Path

import comfy.latent_formats
import comfy.model_management as mm
import comfy.utils
import folder_paths
import torch
from comfy_api.input_impl import VideoFromFile
from comfy_api.latest import io

from ..semanticgen.text import MiniLMTextEncoder
from ..semanticgen.train.build import ClipFolder, build_cache, check_clip_frames, list_videos
from .inputs import frames_input, size_inputs
from .models import decode_video, inside
from .types import Encoder, TextEncoder


def _decode(path: Path) -> tuple[torch.Tensor, float]:
    """Frames + frame rate of one video file (ComfyUI's decoder); the build stops here on /interrupt."""
    mm.throw_exception_if_processing_interrupted()
    parts = decode_video(VideoFromFile(str(path)), f"videos: {path.name} could not be decoded as a video")
    return parts.images, float(parts.frame_rate)


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
                frames_input("Frames per clip (4k+1); longer videos are cut, shorter ones skipped.", max_frames=4097),
                *size_inputs("Clip width (resized).", "Clip height (resized)."),
                io.Float.Input(
                    "sample_fps",
                    default=1.6,
                    min=0.1,
                    max=60.0,
                    step=0.1,
                    tooltip="Frames per second shown to the semantic encoder.",
                ),
                io.Int.Input("shard_size", default=256, min=1, max=100000, tooltip="Clips per shard file."),
            ],
            outputs=[io.String.Output(display_name="cache_path"), io.Int.Output(display_name="clips")],
            is_output_node=True,
        )

    @classmethod
    def execute(
        cls,
        vae,
        text_encoder,
        encoder,
        videos: str,
        cache_name: str,
        frames: int,
        width: int,
        height: int,
        sample_fps: float,
        shard_size: int,
    ) -> io.NodeOutput:
        check_clip_frames(frames)
        src = inside(folder_paths.get_input_directory(), videos, "videos")
        out = inside(folder_paths.get_output_directory(), cache_name, "cache_name")
        files = list_videos(src)
        fmt = comfy.latent_formats.Wan21()
        pbar = comfy.utils.ProgressBar(len(files))
        clips = ClipFolder(files, _decode, frames, height, width, progress=lambda: pbar.update(1))
        mm.load_models_gpu([encoder])
        with torch.no_grad():
            shards = build_cache(
                clips,
                out,
                lambda f: fmt.process_in(vae.encode(f)).cpu(),
                _text_encoder(text_encoder),
                encoder.model,
                clips.fps,
                sample_fps,
                shard_size,
            )
        clips.check_used(src)
        return io.NodeOutput(str(out), clips.used, ui={"text": [f"{clips.used} clips in {len(shards)} shards"]})
