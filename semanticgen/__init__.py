"""SemanticGen: video generation in semantic space, as a pure PyTorch library (no ComfyUI imports)."""

from .compressor import CompressorConfig, SemanticCompressor, kl_divergence, load_compressor, save_compressor
from .encoder import EncoderConfig, SemanticEncoder, extract_vision_tower, load_encoder, save_encoder
from .features import SemanticVideo
from .preview import pca_rgb, preview_frames

__all__ = [
    "CompressorConfig",
    "EncoderConfig",
    "SemanticCompressor",
    "SemanticEncoder",
    "SemanticVideo",
    "extract_vision_tower",
    "kl_divergence",
    "load_compressor",
    "load_encoder",
    "pca_rgb",
    "preview_frames",
    "save_compressor",
    "save_encoder",
]
