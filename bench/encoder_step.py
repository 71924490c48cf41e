"""Semantic-encoder throughput: the shipped tiny tower, and once the real Qwen2.5-VL-3B tower shapes with random
weights (transformers' own class; built on the meta device, then `to_empty` + a cheap fill instead of a 668M-param
random init)."""

from __future__ import annotations

import time

import torch

from bench.common import alternate
from semanticgen.encoder import EncoderConfig, SemanticEncoder, load_encoder

ROOT_ENCODER = "models/semanticgen/encoders/toy_encoder.safetensors"


def tiny(root, repeats: int) -> dict:
    """The demo encoder on the demo's reference clip shape (17 frames, 64×64 at 8 fps): frames per second through
    `encode` (processor + tower) and through the tower alone (sampled frames)."""
    enc = load_encoder(root / ROOT_ENCODER)
    frames = torch.rand(17, 64, 64, 3, generator=torch.Generator().manual_seed(0))
    sem = enc.encode(frames, 8.0, 4.0)
    patches, grid = enc.preprocess(frames[list(sem.frame_indices)])
    timing = alternate(
        {"encode": lambda: enc.encode(frames, 8.0, 4.0), "tower": lambda: enc.forward_patches(patches, grid)}, repeats
    )
    sampled = len(sem.frame_indices)
    return {
        "shape": "toy tower, 17 frames 64×64 (8 fps, sampled at 4 fps)",
        "params_m": sum(p.numel() for p in enc.tower.parameters()) / 1e6,
        "sampled_frames": sampled,
        "encode_s": timing.median("encode"),
        "video_fps": frames.shape[0] / timing.median("encode"),
        "tower_s": timing.median("tower"),
        "tower_fps": sampled / timing.median("tower"),
    }


def real_3b(frames: int = 2, size: int = 224) -> dict:
    """The real 3B tower shapes (EncoderConfig defaults), random weights, one `frames`×`size`² input run once."""
    from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VisionTransformerPretrainedModel

    cfg = EncoderConfig()
    t0 = time.perf_counter()
    with torch.device("meta"):
        tower = Qwen2_5_VisionTransformerPretrainedModel(cfg.vision_config())
    tower = tower.to_empty(device="cpu").eval()
    with torch.no_grad():
        for name, p in tower.named_parameters():  # cheap, deterministic, numerically tame fill
            p.fill_(1.0) if "norm" in name else p.uniform_(-0.02, 0.02)
        for name, b in tower.named_buffers():  # non-persistent rotary frequencies: rebuild them like the init does
            if name.endswith("inv_freq"):
                dim = 2 * b.numel()
                b.copy_(1.0 / 10000 ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))
    build_s = time.perf_counter() - t0
    enc = SemanticEncoder(cfg, tower)
    video = torch.rand(frames, size, size, 3, generator=torch.Generator().manual_seed(0))
    patches, grid = enc.preprocess(video)
    t0 = time.perf_counter()
    out = enc.forward_patches(patches, grid)
    tower_s = time.perf_counter() - t0
    if not torch.isfinite(out).all():
        raise RuntimeError("3B tower with the cheap fill produced non-finite features")
    return {
        "shape": f"Qwen2.5-VL-3B tower (random), {frames} frames {size}×{size}",
        "params_m": sum(p.numel() for p in tower.parameters()) / 1e6,
        "build_s": build_s,
        "tower_s": tower_s,
        "tower_fps": frames / tower_s,
        "out_shape": list(out.shape),
    }
