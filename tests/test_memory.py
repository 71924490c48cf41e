"""Weight memory of real-size configs, counted on the meta device, against the parameter counts they must have."""

from __future__ import annotations

import pytest
import torch

from semanticgen.compressor import CompressorConfig
from semanticgen.dit import DiTConfig, SemanticGenDiT
from semanticgen.encoder import EncoderConfig
from semanticgen.memory import compressor_weight_bytes, dit_weight_bytes, encoder_weight_bytes, weight_bytes


@pytest.mark.parametrize(
    "config,params",
    [
        (DiTConfig.wan21_1_3b(), 1_418_996_800),  # Wan2.1-T2V-1.3B
        (DiTConfig.wan21_14b(), 14_288_491_584),  # Wan2.1-T2V-14B
    ],
)
def test_dit_weight_bytes_of_wan_sizes(config, params):
    assert dit_weight_bytes(config, torch.bfloat16) == 2 * params
    assert dit_weight_bytes(config, torch.float32) == 4 * params


def test_semantic_embedding_adds_its_exact_size():
    base, sem = DiTConfig.wan21_1_3b(), DiTConfig.wan21_1_3b(semantic_dim=64)
    extra = (64 * 1536 + 1536) + (1536 * 1536 + 1536)
    assert dit_weight_bytes(sem, torch.float32) - dit_weight_bytes(base, torch.float32) == 4 * extra


def test_encoder_weight_bytes_match_real_towers():
    # Qwen2.5-VL towers (measured, ENVIRONMENT.md): 3B 668.7M params (out 2048), 7B 676.6M (out 3584)
    three_b = encoder_weight_bytes(EncoderConfig(), torch.float32) / 4
    seven_b = encoder_weight_bytes(EncoderConfig(out_hidden_size=3584), torch.float32) / 4
    assert round(three_b / 1e5) / 10 == 668.7 and round(seven_b / 1e5) / 10 == 676.6


def test_tiny_module_bytes_equal_its_tensors():
    model = SemanticGenDiT(DiTConfig(dim=32, ffn_dim=64, num_heads=2, num_layers=2, text_dim=16))
    assert weight_bytes(model) == sum(t.numel() * t.element_size() for t in model.state_dict().values())
    assert compressor_weight_bytes(CompressorConfig(in_dim=48, out_dim=8, hidden_dim=32), torch.float16) == 2 * sum(
        [48 * 2, 48 * 32 + 32, 32 * 32 + 32, 2 * (32 * 8 + 8)]
    )
