"""Tiny real models for tests: transformers' own classes and our library's, saved in the real key layouts."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import save_file

from semanticgen.compressor import CompressorConfig, SemanticCompressor, save_compressor
from semanticgen.dit import DiTConfig, SemanticGenDiT, init_weights
from semanticgen.dit_io import save_dit
from semanticgen.encoder import EncoderConfig, SemanticEncoder, save_encoder
from semanticgen.features import SemanticSpace

TINY_ENCODER = dict(
    depth=2,
    hidden_size=32,
    intermediate_size=64,
    num_heads=2,
    out_hidden_size=48,
    window_size=56,
    fullatt_block_indexes=[1],
    min_pixels=28 * 28,
    max_pixels=112 * 112,
)


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


TINY_SPACE = SemanticSpace(channels=8, pixels_per_token=28, sample_fps=1.6, temporal_patch=2, video_fps=8.0)
TINY_DIT = dict(dim=32, ffn_dim=64, num_heads=2, num_layers=2, text_dim=384)


def tiny_generator(role: str, seed: int = 0, **overrides) -> SemanticGenDiT:
    """A random tiny semantic (stage 1) or latent (stage 2) generator, MiniLM-width text."""
    if role == "semantic":
        cfg = DiTConfig(**{**TINY_DIT, "in_dim": 8, "out_dim": 8, "patch_size": (1, 1, 1), **overrides})
    else:
        cfg = DiTConfig(**{**TINY_DIT, "semantic_dim": 8, **overrides})
    return random_dit(cfg, seed, TINY_SPACE)


def random_dit(cfg: DiTConfig, seed: int = 0, space: SemanticSpace | None = None) -> SemanticGenDiT:
    """A random DiT whose output head is non-zero (the training init zeroes it), so outputs are informative."""
    model = init_weights(SemanticGenDiT(cfg, space=space), seed)
    with torch.no_grad():
        g = torch.Generator().manual_seed(seed + 1)
        model.head.head.weight.copy_(torch.randn(model.head.head.weight.shape, generator=g) * 0.05)
    return model.eval()


def tiny_wan_vae_state(dim: int = 8, seed: int = 0) -> dict[str, torch.Tensor]:
    """State dict of ComfyUI's own Wan2.1 VAE class, built tiny with random weights (needs ComfyUI importable)."""
    from comfy.ldm.wan.vae import WanVAE

    torch.manual_seed(seed)
    vae = WanVAE(
        dim=dim,
        z_dim=16,
        dim_mult=[1, 2, 4, 4],
        num_res_blocks=2,
        attn_scales=[],
        temperal_downsample=[False, True, True],
    )
    state = {}
    for k, v in vae.state_dict().items():  # comfy.ops layers skip init: give every tensor real values
        state[k] = torch.ones_like(v) if k.endswith("gamma") else torch.randn_like(v) * (0.05 if v.ndim > 1 else 0.0)
    return state


def write_tiny_models(models_dir: Path, vae: bool = True) -> dict[str, str]:
    """Populate a ComfyUI models folder with the tiny models the bundled workflows name in tests."""
    enc = tiny_encoder()
    save_encoder(enc, models_dir / "semanticgen" / "encoders" / "toy_encoder.safetensors")
    save_qwen_folder(enc, models_dir / "semanticgen" / "encoders" / "tiny-qwen2.5-vl", layout="model.visual")
    save_compressor(tiny_compressor(), models_dir / "semanticgen" / "compressors" / "toy_compressor_c8.safetensors")
    save_compressor(tiny_compressor(in_dim=40), models_dir / "semanticgen" / "compressors" / "tiny-c8-d40.safetensors")
    gens = models_dir / "semanticgen"
    save_dit(tiny_generator("semantic"), gens / "semantic_generators" / "toy_semantic_generator.safetensors")
    save_dit(tiny_generator("latent"), gens / "latent_generators" / "toy_latent_generator.safetensors")
    save_dit(tiny_generator("latent", semantic_dim=4), gens / "latent_generators" / "tiny-latent-c4.safetensors")
    save_dit(tiny_generator("latent", text_dim=32), gens / "latent_generators" / "tiny-latent-text32.safetensors")
    if vae:
        (models_dir / "vae").mkdir(parents=True, exist_ok=True)
        save_file(tiny_wan_vae_state(), str(models_dir / "vae" / "toy_wan_vae.safetensors"))
    return {"encoder": "toy_encoder.safetensors", "compressor": "toy_compressor_c8.safetensors"}
