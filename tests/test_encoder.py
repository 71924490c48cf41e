"""Semantic encoder against transformers' own processor + tower, called the standard way."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from einops import rearrange
from tiny import save_qwen_folder, tiny_encoder
from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VisionTransformerPretrainedModel
from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

from semanticgen.checkpoints import CheckpointError
from semanticgen.encoder import extract_vision_tower, load_encoder, sample_frame_indices


def reference_features(tower, cfg, frames: torch.Tensor) -> torch.Tensor:
    """The standard transformers way: video processor, then the tower; merged tokens (N, d)."""
    proc = Qwen2VLVideoProcessor(
        patch_size=cfg.patch_size,
        temporal_patch_size=cfg.temporal_patch_size,
        merge_size=cfg.spatial_merge_size,
        min_pixels=cfg.min_pixels,
        max_pixels=cfg.max_pixels,
    )
    batch = proc(videos=[frames.permute(0, 3, 1, 2)], do_rescale=False, return_tensors="pt")
    with torch.no_grad():
        return tower(batch["pixel_values_videos"], grid_thw=batch["video_grid_thw"]), batch["video_grid_thw"][0]


@pytest.fixture(scope="module")
def reference():
    enc = tiny_encoder(seed=1)
    assert isinstance(enc.tower, Qwen2_5_VisionTransformerPretrainedModel)
    return enc


@pytest.mark.parametrize(
    "layout,shards,frames,size,video_fps,sample_fps",
    [
        ("visual", 2, 9, (56, 84), 4.0, 100.0),  # odd frame count reaches the processor (it pads)
        ("model.visual", 1, 16, (50, 90), 8.0, 4.0),  # size not a multiple of 28, single-file save
        ("visual", 3, 1, (64, 64), 1.0, 1.6),  # a single image
    ],
)
def test_encoder_matches_transformers(reference, tmp_path, layout, shards, frames, size, video_fps, sample_fps):
    folder = save_qwen_folder(reference, tmp_path / "qwen", layout=layout, shards=shards)
    enc = load_encoder(folder)
    torch.manual_seed(frames)
    video = torch.rand(frames, *size, 3)

    sem = enc.encode(video, video_fps=video_fps, sample_fps=sample_fps)

    idx = sample_frame_indices(frames, video_fps, sample_fps, 2)
    assert list(sem.frame_indices) == idx
    ref, (t, h, w) = reference_features(reference.tower, reference.config, video[idx])
    assert sem.features.shape == (1, 48, t, h // 2, w // 2)
    assert t == (len(idx) + 1) // 2
    assert h * 14 % 28 == 0 and abs(h * 14 - size[0]) < 28  # smart_resize to a multiple of 28
    torch.testing.assert_close(rearrange(sem.features, "1 d t h w -> (t h w) d"), ref, rtol=1e-5, atol=1e-5)


def test_temporal_steps_depend_only_on_their_frames(reference):
    video = torch.rand(8, 56, 56, 3)
    a = reference.encode(video, video_fps=8, sample_fps=8)  # 8 sampled frames -> 4 steps
    video[6:] = torch.rand(2, 56, 56, 3)
    b = reference.encode(video, video_fps=8, sample_fps=8)
    torch.testing.assert_close(a.features[:, :, :3], b.features[:, :, :3])
    assert not torch.allclose(a.features[:, :, 3], b.features[:, :, 3])


def test_extracted_tower_file_matches_folder(reference, tmp_path):
    folder = save_qwen_folder(reference, tmp_path / "qwen", layout="model.visual", shards=2)
    out = extract_vision_tower(folder, tmp_path / "tower.safetensors")
    video = torch.rand(4, 56, 56, 3)
    a = load_encoder(folder).encode(video, 4, 4)
    b = load_encoder(out).encode(video, 4, 4)
    torch.testing.assert_close(a.features, b.features, rtol=0, atol=0)
    # the folder's tower shape is carried over; pixel limits are ours (the chat processor's are far larger)
    loaded = load_encoder(out).config
    assert replace(loaded, min_pixels=0, max_pixels=0) == replace(reference.config, min_pixels=0, max_pixels=0)


def test_folder_without_vision_weights_is_refused(tmp_path, reference):
    folder = save_qwen_folder(reference, tmp_path / "qwen", layout="visual", shards=1)
    from safetensors.torch import save_file

    save_file({"model.embed_tokens.weight": torch.zeros(4, 4)}, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError, match="no vision weights"):
        load_encoder(folder)


def test_vision_weights_that_disagree_with_config_are_refused(tmp_path, reference):
    folder = save_qwen_folder(reference, tmp_path / "qwen", shards=1)
    cfg = (folder / "config.json").read_text().replace('"depth": 2', '"depth": 3')
    (folder / "config.json").write_text(cfg)
    with pytest.raises(CheckpointError, match="do not match the config"):
        load_encoder(folder)


@pytest.mark.parametrize(
    "args,match",
    [((0, 8.0, 1.6), "at least 1 frame"), ((8, 0.0, 1.6), "fps: expected a positive"), ((8, 8.0, -1.0), "sample_fps")],
)
def test_sampling_refuses_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        sample_frame_indices(*args)


def test_sampling_rate():
    # 10 s at 24 fps sampled at 1.6 fps -> 16 frames, uniform stride 15
    assert sample_frame_indices(240, 24.0, 1.6) == list(range(0, 240, 15))
    assert sample_frame_indices(3, 24.0, 1.6) == [0, 1]  # at least one temporal patch


def test_encode_refuses_bad_frames(reference):
    with pytest.raises(ValueError, match="frames: expected at least 1 frame"):
        reference.encode(torch.zeros(0, 56, 56, 3), 8)
    with pytest.raises(ValueError, match="NaN"):
        reference.encode(torch.full((2, 56, 56, 3), float("nan")), 8)
    with pytest.raises(ValueError, match=r"\(T, H, W, C\)"):
        reference.encode(torch.zeros(56, 56, 3), 8)


@pytest.mark.parametrize("size", [(480, 832), (64, 64), (50, 90), (1080, 1920)])
def test_generated_semantic_grid_matches_the_encoder_grid(size):
    """The Semantic Sampler must generate on the grid the encoder produces for the same video (same resize rule)."""
    from semanticgen.encoder import EncoderConfig
    from semanticgen.features import SemanticSpace

    cfg = EncoderConfig()  # the real towers' processor settings
    space = SemanticSpace(pixels_per_token=cfg.factor, min_pixels=cfg.min_pixels, max_pixels=cfg.max_pixels)
    proc = Qwen2VLVideoProcessor(patch_size=14, temporal_patch_size=2, merge_size=2,
                                 min_pixels=cfg.min_pixels, max_pixels=cfg.max_pixels)  # fmt: skip
    grid = proc(videos=[torch.rand(2, 3, *size)], do_rescale=False, return_tensors="pt")["video_grid_thw"][0]
    assert space.layout(17, *size)[1] == (int(grid[1]) // 2, int(grid[2]) // 2)


def test_chunked_encoding_equals_one_pass_and_reports_progress(reference):
    frames = torch.rand(20, 56, 84, 3, generator=torch.Generator().manual_seed(2))  # 20 frames at 8 fps: 10 steps
    calls = []
    chunked = reference.encode(frames, 8.0, 8.0, chunk_steps=3, progress=lambda done, total: calls.append(done))
    whole = reference.encode(frames, 8.0, 8.0, chunk_steps=100)
    assert chunked.features.shape == whole.features.shape == (1, 48, 10, 2, 3)
    assert chunked.frame_indices == whole.frame_indices
    # Not bit-equal: a chunk's batch shape picks other CPU kernels (AVX-512 blocks differently than AVX2), so the
    # last bits differ. A step that saw the wrong frames (a chunk boundary off by one) differs by O(1), far above.
    torch.testing.assert_close(chunked.features, whole.features, rtol=1e-4, atol=1e-5)
    shifted = reference.encode(frames[1:], 8.0, 8.0, chunk_steps=3)  # every step one frame late
    assert (shifted.features[:, :, :9] - whole.features[:, :, :9]).abs().max() > 1e-2
    assert calls == [0, 1, 2, 3, 4]  # before each of the 4 chunks (3+3+3+1 steps) and at the end
    with pytest.raises(ValueError, match="chunk_steps: expected at least 1"):
        reference.encode(frames, 8.0, 8.0, chunk_steps=0)
