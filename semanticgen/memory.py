"""Memory planning, part 1: exact weight bytes of every stage, counted on the meta device (no memory used).

The activation estimate and the per-stage peak (issue 5) build on this; they are not here yet.
"""

from __future__ import annotations

import torch
from torch import nn

from .compressor import CompressorConfig, SemanticCompressor
from .dit import DiTConfig, SemanticGenDiT
from .encoder import EncoderConfig


def weight_bytes(module: nn.Module, dtype: torch.dtype | None = None) -> int:
    """Bytes of all parameters and persistent buffers, stored as `dtype` (default: as they are)."""
    tensors = [*module.parameters(), *(b for _, b in module.named_buffers() if b is not None)]
    size = (lambda t: torch.empty((), dtype=dtype).element_size()) if dtype else (lambda t: t.element_size())
    return sum(t.numel() * size(t) for t in tensors)


def dit_weight_bytes(config: DiTConfig, dtype: torch.dtype = torch.bfloat16) -> int:
    with torch.device("meta"):
        return weight_bytes(SemanticGenDiT(config), dtype)


def encoder_weight_bytes(config: EncoderConfig, dtype: torch.dtype = torch.bfloat16) -> int:
    from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VisionTransformerPretrainedModel

    with torch.device("meta"):
        tower = Qwen2_5_VisionTransformerPretrainedModel(config.vision_config())
    return sum(p.numel() for p in tower.parameters()) * torch.empty((), dtype=dtype).element_size()


def compressor_weight_bytes(config: CompressorConfig, dtype: torch.dtype = torch.bfloat16) -> int:
    with torch.device("meta"):
        return weight_bytes(SemanticCompressor(config), dtype)
