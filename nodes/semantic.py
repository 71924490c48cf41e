"""Reference-video side of SemanticGen: encoder and compressor loaders, encode, compress, preview."""

from __future__ import annotations

import comfy.model_management as mm
import torch
from comfy_api.latest import io

from ..semanticgen.checkpoints import CheckpointError
from ..semanticgen.compressor import load_compressor
from ..semanticgen.encoder import load_encoder
from ..semanticgen.features import SemanticVideo
from ..semanticgen.preview import preview_frames
from .inputs import seed_input
from .models import (
    DTYPES,
    check_choice,
    check_choices,
    comfy_layers,
    decode_video,
    dtype_input,
    list_models,
    patcher,
    pick_dtype,
    resolve_model,
)
from .progress import chunk_progress
from .types import Compressor, Encoder, Features, Semantic

CATEGORY = "SemanticGen/semantic"
DTYPE_OPTIONS = list(DTYPES)
DEVICE_OPTIONS = ["default", "cpu"]


class EncoderLoader(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SemanticGenEncoderLoader",
            display_name="Load Semantic Encoder",
            category=CATEGORY,
            description="Loads the Qwen2.5-VL vision tower (extracted file or full checkpoint folder; only the "
            "vision weights are read) from models/semanticgen/encoders.",
            inputs=[
                io.Combo.Input(
                    "encoder_name",
                    options=list_models("semanticgen_encoders", folders=True),
                    tooltip="Vision-tower .safetensors file or Qwen2.5-VL checkpoint folder.",
                ),
                dtype_input(),
                io.Combo.Input(
                    "device",
                    options=DEVICE_OPTIONS,
                    default="default",
                    tooltip="default: ComfyUI's text-encoder device (GPU if any); cpu: keep it off the GPU.",
                ),
            ],
            outputs=[Encoder.Output(display_name="encoder")],
        )

    @classmethod
    def validate_inputs(cls, encoder_name: str, dtype: str, device: str) -> bool | str:
        return check_choices(
            encoder_name=(encoder_name, list_models("semanticgen_encoders", folders=True)),
            dtype=(dtype, DTYPE_OPTIONS),
            device=(device, DEVICE_OPTIONS),
        )

    @classmethod
    def execute(cls, encoder_name: str, dtype: str, device: str) -> io.NodeOutput:
        path = resolve_model("semanticgen_encoders", encoder_name, "encoder_name", folders=True)
        load_device = torch.device("cpu") if device == "cpu" else mm.text_encoder_device()
        try:
            encoder = comfy_layers(load_encoder(path, dtype=pick_dtype(dtype, load_device)))
        except CheckpointError as e:
            raise ValueError(f"encoder_name: {e}") from e
        return io.NodeOutput(patcher(encoder, load_device, mm.text_encoder_offload_device()))


class Encode(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SemanticGenEncode",
            display_name="Semantic Encoder",
            category=CATEGORY,
            description="Encodes a reference video into semantic features (d × T/2 × H/28 × W/28).",
            inputs=[
                Encoder.Input("encoder", tooltip="From Load Semantic Encoder."),
                io.Video.Input("video", optional=True, tooltip="Reference video; its own frame rate is used."),
                io.Image.Input("images", optional=True, tooltip="Reference frames, used when no video is connected."),
                io.Float.Input(
                    "fps",
                    default=24.0,
                    min=0.01,
                    max=240.0,
                    step=0.01,
                    tooltip="Frame rate of `images` (ignored for `video`, which carries its own).",
                ),
                io.Float.Input(
                    "sample_fps",
                    default=1.6,
                    min=0.1,
                    max=60.0,
                    step=0.1,
                    tooltip="Frames per second shown to the encoder (the paper uses 1.6).",
                ),
            ],
            outputs=[Features.Output(display_name="features")],
        )

    @classmethod
    def execute(cls, encoder, fps: float, sample_fps: float, video=None, images=None) -> io.NodeOutput:
        if video is not None:
            parts = decode_video(video, "video: could not decode the input as a video")
            frames, fps = parts.images, float(parts.frame_rate)
            if fps <= 0:
                raise ValueError(f"video: frame rate must be positive, the file says {fps}")
        elif images is not None:
            frames = images
        else:
            raise ValueError("video / images: connect a reference video or a batch of frames")
        mm.load_models_gpu([encoder])
        progress = chunk_progress()  # one tick per chunk of semantic steps; stops there on /interrupt
        return io.NodeOutput(encoder.model.encode(frames, video_fps=fps, sample_fps=sample_fps, progress=progress))


class CompressorLoader(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SemanticGenCompressorLoader",
            display_name="Load Semantic Compressor",
            category=CATEGORY,
            description="Loads a compressor MLP (d → c) from models/semanticgen/compressors.",
            inputs=[
                io.Combo.Input(
                    "compressor_name",
                    options=list_models("semanticgen_compressors"),
                    tooltip="Compressor .safetensors trained with the latent generator.",
                ),
                dtype_input(),
            ],
            outputs=[Compressor.Output(display_name="compressor")],
        )

    @classmethod
    def validate_inputs(cls, compressor_name: str, dtype: str) -> bool | str:
        return check_choices(
            compressor_name=(compressor_name, list_models("semanticgen_compressors")), dtype=(dtype, DTYPE_OPTIONS)
        )

    @classmethod
    def execute(cls, compressor_name: str, dtype: str) -> io.NodeOutput:
        path = resolve_model("semanticgen_compressors", compressor_name, "compressor_name")
        device = mm.get_torch_device()
        try:
            model = load_compressor(path, dtype=pick_dtype(dtype, device))
        except CheckpointError as e:
            raise ValueError(f"compressor_name: {e}") from e
        return io.NodeOutput(patcher(model, device, mm.unet_offload_device()))


class Compress(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SemanticGenCompress",
            display_name="Semantic Compressor",
            category=CATEGORY,
            description="Compresses semantic features to the compact space the generators work in.",
            inputs=[
                Compressor.Input("compressor", tooltip="From Load Semantic Compressor."),
                Features.Input("features", tooltip="From Semantic Encoder."),
                io.Combo.Input(
                    "mode",
                    options=["mean", "sample"],
                    default="mean",
                    tooltip="mean: deterministic posterior mean (re-synthesis); sample: draw from it.",
                ),
                seed_input("Seed of the posterior sample (sample mode only)."),
            ],
            outputs=[Semantic.Output(display_name="semantic")],
        )

    @classmethod
    def validate_inputs(cls, mode: str) -> bool | str:
        return check_choice("mode", mode, ["mean", "sample"])

    @classmethod
    def execute(cls, compressor, features: SemanticVideo, mode: str, seed: int) -> io.NodeOutput:
        mm.load_models_gpu([compressor])
        return io.NodeOutput(compressor.model.compress(features, mode=mode, seed=seed))


class Preview(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SemanticGenPreview",
            display_name="Semantic Preview",
            category=CATEGORY,
            description="Shows semantic features as video: their top 3 principal components as RGB, one frame per "
            "frame of the source video, at its size and frame rate (feed CreateVideo → SaveVideo).",
            inputs=[
                io.MultiType.Input(
                    "semantic",
                    types=[Features, Semantic],
                    tooltip="Features (from the encoder) or compressed semantics.",
                ),
            ],
            outputs=[
                io.Image.Output(display_name="images"),
                io.Float.Output(display_name="fps", tooltip="Frame rate of the video the features describe."),
            ],
        )

    @classmethod
    def execute(cls, semantic: SemanticVideo) -> io.NodeOutput:
        return io.NodeOutput(preview_frames(semantic), semantic.video_fps)
