"""ComfyUI V3 nodes of SemanticGen: thin adapters, one call into `semanticgen` each."""

from comfy_api.latest import ComfyExtension, io

from .cache import BuildCache
from .decode import ChunkedVAEDecode
from .generate import LatentGeneratorLoader, LatentSampler, SemanticGeneratorLoader, SemanticSampler
from .models import copy_sample_inputs, register_model_folders
from .plan import MemoryPlan
from .routes import register_routes
from .sampling import NODES as NATIVE_NODES
from .semantic import Compress, CompressorLoader, Encode, EncoderLoader, Preview
from .text import TextEncode, TextEncoderLoader

register_model_folders()
copy_sample_inputs()
register_routes()

NODES: list[type[io.ComfyNode]] = [
    TextEncoderLoader,
    TextEncode,
    EncoderLoader,
    Encode,
    CompressorLoader,
    Compress,
    Preview,
    SemanticGeneratorLoader,
    SemanticSampler,
    LatentGeneratorLoader,
    LatentSampler,
    MemoryPlan,
    ChunkedVAEDecode,
    BuildCache,
    *NATIVE_NODES,
]


class SemanticGenExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return NODES
