"""Semantic encoder: the Qwen2.5-VL vision tower, run through transformers' own model and video processor.

We never re-implement the tower. This module only decides which frames to show it (sampling at a low fps),
loads the vision weights alone from a full Qwen2.5-VL checkpoint folder (no language model is built), and
reshapes the merged tokens into a `(B, d, T, H, W)` feature video.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from einops import rearrange
from safetensors import safe_open
from torch import nn

from .checkpoints import CheckpointError, config_from_dict, load_checkpoint, save_checkpoint
from .features import SemanticVideo, sample_frame_indices

KIND = "encoder"
VISION_PREFIXES = ("visual.", "model.visual.")  # legacy and newer Qwen2.5-VL saves
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass
class EncoderConfig:
    """Shape of a Qwen2.5-VL vision tower plus the preprocessing that goes with it.

    Defaults are the real 3B tower's (transformers' own defaults are not: set every field).
    """

    depth: int = 32
    hidden_size: int = 1280
    intermediate_size: int = 3420
    num_heads: int = 16
    out_hidden_size: int = 2048
    in_channels: int = 3
    patch_size: int = 14
    spatial_merge_size: int = 2
    temporal_patch_size: int = 2
    window_size: int = 112
    fullatt_block_indexes: list[int] = field(default_factory=lambda: [7, 15, 23, 31])
    tokens_per_second: int = 2
    hidden_act: str = "silu"
    min_pixels: int = 56 * 56
    max_pixels: int = 480 * 832
    image_mean: tuple[float, float, float] = CLIP_MEAN
    image_std: tuple[float, float, float] = CLIP_STD

    @property
    def factor(self) -> int:
        """Pixels per semantic token along each side (28 for the real towers)."""
        return self.patch_size * self.spatial_merge_size

    def vision_config(self):
        from transformers.models.qwen2_5_vl.configuration_qwen2_5_vl import Qwen2_5_VLVisionConfig

        tower_fields = {f.name for f in fields(self)} - {"min_pixels", "max_pixels", "image_mean", "image_std"}
        return Qwen2_5_VLVisionConfig(**{k: v for k, v in asdict(self).items() if k in tower_fields})

    @classmethod
    def from_qwen_folder(cls, folder: Path) -> EncoderConfig:
        """Read `config.json` (+ the preprocessor config if present) of a Qwen2.5-VL checkpoint folder."""
        cfg_path = folder / "config.json"
        if not cfg_path.is_file():
            raise CheckpointError(f"{folder.name}: no config.json in the checkpoint folder")
        raw = json.loads(cfg_path.read_text())
        vision = dict(raw.get("vision_config", raw))
        if "in_chans" in vision:
            vision.setdefault("in_channels", vision.pop("in_chans"))
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in vision.items() if k in known}
        for name in ("preprocessor_config.json", "video_preprocessor_config.json"):
            pre = folder / name
            if pre.is_file():
                p = json.loads(pre.read_text())
                for src, dst in (("image_mean", "image_mean"), ("image_std", "image_std")):
                    if src in p:
                        kwargs[dst] = tuple(p[src])
        return cls(**kwargs)


class SemanticEncoder(nn.Module):
    """Frames in, `SemanticVideo` (d = `out_hidden_size` channels, on a `H/28 × W/28` grid) out."""

    def __init__(self, config: EncoderConfig, tower: nn.Module | None = None):
        super().__init__()
        self.config = config
        if tower is None:
            from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import (
                Qwen2_5_VisionTransformerPretrainedModel,
            )

            tower = Qwen2_5_VisionTransformerPretrainedModel(config.vision_config())
        self.tower = tower.eval()
        self._processor = None

    @property
    def processor(self):
        """transformers' video processor with this tower's patch sizes (built once, not a module)."""
        if self._processor is None:
            from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

            c = self.config
            self._processor = Qwen2VLVideoProcessor(
                patch_size=c.patch_size,
                temporal_patch_size=c.temporal_patch_size,
                merge_size=c.spatial_merge_size,
                min_pixels=c.min_pixels,
                max_pixels=c.max_pixels,
                image_mean=list(c.image_mean),
                image_std=list(c.image_std),
                do_sample_frames=False,
            )
        return self._processor

    def preprocess(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(T, H, W, C) floats in [0, 1] -> (patches (N, C·tp·p·p), grid_thw (1, 3)) via the processor."""
        video = rearrange(frames[..., :3].float().cpu(), "t h w c -> t c h w")
        batch = self.processor(videos=[video], do_rescale=False, return_tensors="pt")
        return batch["pixel_values_videos"], batch["video_grid_thw"]

    @torch.no_grad()
    def forward_patches(self, patches: torch.Tensor, grid_thw: torch.Tensor) -> torch.Tensor:
        """Tower on processor patches -> merged tokens (N', d) in raster order (t, h, w)."""
        p = next(self.tower.parameters())
        out = self.tower(patches.to(p.device, p.dtype), grid_thw=grid_thw.to(p.device))
        return out if torch.is_tensor(out) else out.pooler_output  # transformers 4.x / 5.x

    def encode(
        self,
        frames: torch.Tensor,
        video_fps: float,
        sample_fps: float = 1.6,
        chunk_steps: int = 16,
        progress: Callable[[int, int], None] | None = None,
    ) -> SemanticVideo:
        """Encode one video given as ComfyUI IMAGE frames (T, H, W, C) in [0, 1] at `video_fps`.

        The tower attends within one temporal step only, so the video is encoded `chunk_steps` semantic steps at a
        time (same features, bounded memory). `progress(done, total)` runs before each chunk and at the end
        (progress bar, interrupts: it may raise)."""
        check_frames(frames)
        if chunk_steps < 1:
            raise ValueError(f"chunk_steps: expected at least 1 semantic step per chunk, got {chunk_steps}")
        c = self.config
        idx = sample_frame_indices(frames.shape[0], video_fps, sample_fps, c.temporal_patch_size)
        per_chunk = chunk_steps * c.temporal_patch_size
        starts = range(0, len(idx), per_chunk)
        tokens, t = [], 0
        for k, start in enumerate(starts):
            if progress is not None:
                progress(k, len(starts))
            patches, grid = self.preprocess(frames[idx[start : start + per_chunk]])
            tokens.append(self.forward_patches(patches, grid).float().cpu())  # (t·h·w, d)
            t += int(grid[0, 0])
        if progress is not None:
            progress(len(starts), len(starts))
        _, h, w = (int(v) for v in grid[0])
        m = c.spatial_merge_size
        feats = rearrange(torch.cat(tokens), "(t h w) d -> 1 d t h w", t=t, h=h // m, w=w // m)
        return SemanticVideo(
            features=feats,
            video_fps=float(video_fps),
            video_frames=int(frames.shape[0]),
            video_size=(int(frames.shape[1]), int(frames.shape[2])),
            frame_indices=tuple(idx),
            temporal_patch=c.temporal_patch_size,
        )


def check_frames(frames: torch.Tensor) -> None:
    """Refuse inputs the encoder cannot use, naming what was expected."""
    if not torch.is_tensor(frames) or frames.ndim != 4:
        shape = tuple(frames.shape) if torch.is_tensor(frames) else type(frames).__name__
        raise ValueError(f"frames: expected an image batch (T, H, W, C), got {shape}")
    if frames.shape[0] < 1:
        raise ValueError("frames: expected at least 1 frame, got 0")
    if frames.shape[-1] not in (3, 4):
        raise ValueError(f"frames: expected 3 (RGB) or 4 (RGBA) channels, got {frames.shape[-1]}")
    if not torch.isfinite(frames).all():
        raise ValueError("frames: contain NaN or infinite values")


# --- loading ------------------------------------------------------------------------------------------------


def _vision_keys(keys: list[str]) -> dict[str, str]:
    """Map checkpoint keys of the vision tower to tower-module keys (strip `visual.` / `model.visual.`)."""
    out = {}
    for k in keys:
        for prefix in VISION_PREFIXES:
            if k.startswith(prefix):
                out[k] = k[len(prefix) :]
                break
    return out


def read_vision_state_dict(folder: Path) -> dict[str, torch.Tensor]:
    """Only the vision tensors of a (sharded) Qwen2.5-VL checkpoint folder; other shards are never opened."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        weight_map: dict[str, str] = json.loads(index.read_text())["weight_map"]
    else:
        shards = sorted(folder.glob("*.safetensors"))
        if not shards:
            raise CheckpointError(f"{folder.name}: no safetensors weights in the checkpoint folder")
        weight_map = {}
        for shard in shards:
            with safe_open(str(shard), framework="pt") as f:
                weight_map.update({k: shard.name for k in f.keys()})  # noqa: SIM118
    wanted = _vision_keys(list(weight_map))
    if not wanted:
        raise CheckpointError(f"{folder.name}: checkpoint has no vision weights (no visual.* keys)")
    by_shard: dict[str, list[str]] = {}
    for k in wanted:
        by_shard.setdefault(weight_map[k], []).append(k)
    state = {}
    for shard, keys in by_shard.items():
        with safe_open(str(folder / shard), framework="pt") as f:
            state.update({wanted[k]: f.get_tensor(k) for k in keys})
    return state


def build_encoder(config: EncoderConfig, state: dict[str, torch.Tensor], source: str, dtype=torch.float32):
    """Build the tower on the meta device and assign the loaded tensors (no random init, no wasted memory)."""
    from accelerate import init_empty_weights
    from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VisionTransformerPretrainedModel

    with init_empty_weights():
        tower = Qwen2_5_VisionTransformerPretrainedModel(config.vision_config())
    expected = set(tower.state_dict())
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise CheckpointError(
            f"{source}: vision weights do not match the config (missing {missing[:4]}, unexpected {unexpected[:4]})"
        )
    try:
        tower.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as e:  # shape mismatch
        raise CheckpointError(f"{source}: vision weights do not match the config ({e})") from e
    return SemanticEncoder(config, tower.to(dtype))


def load_encoder(path: str | Path, dtype: torch.dtype = torch.float32) -> SemanticEncoder:
    """A Qwen2.5-VL checkpoint folder or an extracted vision-tower safetensors file."""
    path = Path(path)
    if path.is_dir():
        config = EncoderConfig.from_qwen_folder(path)
        return build_encoder(config, read_vision_state_dict(path), path.name, dtype)
    state, raw = load_checkpoint(path, kind=KIND)
    raw = {k: tuple(v) if k in ("image_mean", "image_std") else v for k, v in raw.items()}
    return build_encoder(config_from_dict(EncoderConfig, raw, path.name), state, path.name, dtype)


def extract_vision_tower(folder: str | Path, out: str | Path, dtype: torch.dtype | None = None) -> Path:
    """Write a vision-tower-only safetensors file (config in metadata) from a full Qwen2.5-VL folder."""
    folder = Path(folder)
    config = EncoderConfig.from_qwen_folder(folder)
    state = read_vision_state_dict(folder)
    if dtype is not None:
        state = {k: v.to(dtype) for k, v in state.items()}
    build_encoder(config, dict(state), folder.name)  # validate before writing
    return save_checkpoint(out, state, KIND, config)


def save_encoder(encoder: SemanticEncoder, path: str | Path) -> Path:
    return save_checkpoint(path, encoder.tower.state_dict(), KIND, encoder.config)


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description="Extract the Qwen2.5-VL vision tower into one safetensors file.")
    ap.add_argument("checkpoint", help="Qwen2.5-VL checkpoint folder (config.json + safetensors shards)")
    ap.add_argument(
        "output", help="output .safetensors file, e.g. ComfyUI/models/semanticgen/encoders/qwen3b.safetensors"
    )
    ap.add_argument("--dtype", choices=["keep", "fp32", "fp16", "bf16"], default="keep")
    a = ap.parse_args(argv)
    dt = {"keep": None, "fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[a.dtype]
    path = extract_vision_tower(a.checkpoint, a.output, dt)
    print(f"wrote {path}")  # noqa: T201 (CLI output)


if __name__ == "__main__":
    main()
