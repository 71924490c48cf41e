"""Compressor: closed-form KL, deterministic mean mode, seed-reproducible sampling, safe checkpoints."""

from __future__ import annotations

import pytest
import torch
from tiny import tiny_compressor

from semanticgen.checkpoints import CheckpointError, save_checkpoint
from semanticgen.compressor import CompressorConfig, kl_divergence, load_compressor, save_compressor
from semanticgen.features import SemanticVideo


def video(d: int = 48, t: int = 3) -> SemanticVideo:
    return SemanticVideo(
        torch.randn(1, d, t, 2, 3),
        video_fps=8.0,
        video_frames=12,
        video_size=(56, 84),
        frame_indices=tuple(range(0, 12, 2)),
    )


def test_kl_matches_closed_form():
    mean, logvar = torch.randn(2, 8, 3, 2, 2), torch.randn(2, 8, 3, 2, 2)
    q = torch.distributions.Normal(mean, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(mean))
    expected = torch.distributions.kl_divergence(q, p).flatten(1).sum(1)
    torch.testing.assert_close(kl_divergence(mean, logvar), expected)
    assert torch.all(kl_divergence(torch.zeros(1, 4), torch.zeros(1, 4)) == 0)


def test_mean_mode_is_deterministic_and_sample_mode_seeded():
    comp, sem = tiny_compressor(), video()
    a, b = comp.compress(sem, "mean"), comp.compress(sem, "mean")
    assert a.channels == 8 and a.compressed and a.frame_indices == sem.frame_indices
    assert torch.equal(a.features, b.features)
    s1, s2, s3 = (comp.compress(sem, "sample", seed=s) for s in (7, 7, 8))
    assert torch.equal(s1.features, s2.features)
    assert not torch.allclose(s1.features, s3.features)
    assert not torch.allclose(s1.features, a.features)


def test_presets():
    assert CompressorConfig.preset("c8").out_dim == 8
    assert CompressorConfig.preset("c64", in_dim=3584).in_dim == 3584
    with pytest.raises(ValueError, match="preset"):
        CompressorConfig.preset("c16")


def test_width_mismatch_names_the_input():
    with pytest.raises(ValueError, match="expects width 48, got 40"):
        tiny_compressor().compress(video(d=40))
    with pytest.raises(ValueError, match="already compressed"):
        comp = tiny_compressor()
        comp.compress(comp.compress(video()))


def test_roundtrip_and_refusals(tmp_path):
    comp = tiny_compressor()
    path = save_compressor(comp, tmp_path / "c.safetensors")
    sem = video()
    torch.testing.assert_close(load_compressor(path).compress(sem).features, comp.compress(sem).features)

    bad_cfg = CompressorConfig(in_dim=48, out_dim=8, hidden_dim=64, depth=2)  # disagrees with the tensors
    save_checkpoint(tmp_path / "bad.safetensors", comp.state_dict(), "compressor", bad_cfg)
    with pytest.raises(CheckpointError, match="has shape"):
        load_compressor(tmp_path / "bad.safetensors")

    save_checkpoint(tmp_path / "enc.safetensors", comp.state_dict(), "encoder", comp.config)
    with pytest.raises(CheckpointError, match="expected a SemanticGen compressor"):
        load_compressor(tmp_path / "enc.safetensors")

    (tmp_path / "pickle.safetensors").write_bytes(b"\x80\x04\x95" + b"\x00" * 64)  # a pickle header
    with pytest.raises(CheckpointError, match="a pickle .* only safetensors are loaded"):
        load_compressor(tmp_path / "pickle.safetensors")
    header = b'{"__metadata__":{}}'.ljust(640)  # header size 640 = bytes 80 02 ...: still a safetensors, not pickle
    (tmp_path / "short.safetensors").write_bytes(len(header).to_bytes(8, "little") + header[:100])
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        load_compressor(tmp_path / "short.safetensors")

    data = path.read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        load_compressor(tmp_path / "trunc.safetensors")
