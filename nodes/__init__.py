"""ComfyUI V3 nodes of SemanticGen: thin adapters, one call into `semanticgen` each."""

from comfy_api.latest import ComfyExtension, io

from .models import copy_sample_inputs, register_model_folders
from .semantic import Compress, CompressorLoader, Encode, EncoderLoader, Preview

register_model_folders()
copy_sample_inputs()

NODES: list[type[io.ComfyNode]] = [EncoderLoader, Encode, CompressorLoader, Compress, Preview]


class SemanticGenExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return NODES
