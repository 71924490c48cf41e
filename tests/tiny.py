"""Tiny real models for tests: transformers' own classes and our library's, saved in the real key layouts."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import save_file

from semanticgen.compressor import CompressorConfig, SemanticCompressor, save_compressor
from semanticgen.encoder import EncoderConfig, SemanticEncoder, save_encoder

TINY_ENCODER = dict(
    depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=48,
    window_size=56, fullatt_block_indexes=[1], min_pixels=28 * 28, max_pixels=112 * 112,
)  # fmt: skip


def tiny_encoder(seed: int = 0, **overrides) -> SemanticEncoder:
    torch.manual_seed(seed)
    return SemanticEncoder(EncoderConfig(**{**TINY_ENCODER, **overrides})).eval()


def tiny_compressor(in_dim: int = 48, out_dim: int = 8, seed: int = 0) -> SemanticCompressor:
    torch.manual_seed(seed)
    return SemanticCompressor(CompressorConfig(in_dim=in_dim, out_dim=out_dim, hidden_dim=32, depth=2)).eval()


def save_qwen_folder(encoder: SemanticEncoder, folder: Path, layout: str = "visual", shards: int = 2) -> Path:
    """A Qwen2.5-VL checkpoint folder as published: config.json + (sharded) safetensors with the tower under
    `visual.*` (legacy) or `model.visual.*` (newer saves), next to language-model tensors we must not load."""
    folder.mkdir(parents=True, exist_ok=True)
    prefix = {"visual": "visual.", "model.visual": "model.visual."}[layout]
    lm_prefix = "model." if layout == "visual" else "model.language_model."
    tensors = {prefix + k: v.clone() for k, v in encoder.tower.state_dict().items()}
    tensors[lm_prefix + "embed_tokens.weight"] = torch.randn(100, 16)
    tensors["lm_head.weight"] = torch.randn(100, 16)
    cfg = asdict(encoder.config)
    vision = {k: v for k, v in cfg.items() if k not in ("min_pixels", "max_pixels", "image_mean", "image_std")}
    vision["in_chans"] = vision.pop("in_channels")  # as real config.json files spell it
    (folder / "config.json").write_text(
        json.dumps({"model_type": "qwen2_5_vl", "hidden_size": 16, "vision_config": vision})
    )
    keys = sorted(tensors)
    if shards == 1:
        save_file(tensors, str(folder / "model.safetensors"))
        return folder
    weight_map = {}
    for i in range(shards):
        name = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        part = {k: tensors[k] for k in keys[i::shards]}
        save_file(part, str(folder / name))
        weight_map.update({k: name for k in part})
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return folder


def write_tiny_models(models_dir: Path) -> dict[str, str]:
    """Populate a ComfyUI models folder with the tiny models the bundled workflows name in tests."""
    enc = tiny_encoder()
    save_encoder(enc, models_dir / "semanticgen" / "encoders" / "toy_encoder.safetensors")
    save_qwen_folder(enc, models_dir / "semanticgen" / "encoders" / "tiny-qwen2.5-vl", layout="model.visual")
    save_compressor(tiny_compressor(), models_dir / "semanticgen" / "compressors" / "toy_compressor_c8.safetensors")
    save_compressor(tiny_compressor(in_dim=40), models_dir / "semanticgen" / "compressors" / "tiny-c8-d40.safetensors")
    return {"encoder": "toy_encoder.safetensors", "compressor": "toy_compressor_c8.safetensors"}
