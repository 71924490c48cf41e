"""VAE Decode (chunked) against ComfyUI's own one-shot decode of its native Wan2.1 VAE (tiny, random weights)."""

from __future__ import annotations

import importlib
import sys
import types
from types import SimpleNamespace

import pytest
import torch
from server_harness import ROOT, load_module
from tiny import tiny_wan_vae_state

pytestmark = pytest.mark.comfy


@pytest.fixture(scope="module")
def decode(comfy_modules):
    """nodes/decode.py without the rest of the pack (it imports only ComfyUI, torch and nodes/progress.py)."""
    package = types.ModuleType("semanticgen_decode_nodes")
    package.__path__ = [str(ROOT / "nodes")]  # a package whose __init__ (the whole pack) never runs
    sys.modules[package.__name__] = package
    return importlib.import_module(f"{package.__name__}.decode")


@pytest.fixture(scope="module")
def vae(comfy_modules):
    import comfy.sd

    return comfy.sd.VAE(sd=tiny_wan_vae_state(dim=8, seed=3))


@pytest.fixture(scope="module")
def latent():
    return torch.randn(2, 16, 5, 2, 4, generator=torch.Generator().manual_seed(0))  # 2 × 17 frames of 16×32


@pytest.fixture(scope="module")
def one_shot(vae, latent):
    with torch.no_grad():
        return vae.decode(latent)  # ComfyUI's VAE.decode: (B, F, H, W, 3)


@pytest.mark.parametrize("chunk", [1, 2, 3, 100])
def test_chunked_equals_one_shot_decode(decode, vae, latent, one_shot, chunk):
    seen = []
    out = decode.decode_chunked(vae, latent, chunk, lambda done, total: seen.append((done, total)))
    assert out.shape == one_shot.shape == (2, 17, 16, 32, 3)
    # The same causal decoder calls on the same frames. Not bit-equal on every host: 0.3.x's own decode feeds one
    # latent frame per call (ours two, which current hosts require), and a tensor of another length may take other
    # CPU kernels. Frames are in [0, 1]; a lost or zero-padded cache changes them by > 1e-3 (next test).
    torch.testing.assert_close(out, one_shot, rtol=0, atol=2e-5)
    n = len(decode.wan_vae.chunk_plan(5, chunk))
    assert n == {1: 3, 2: 2, 3: 2, 100: 1}[chunk]
    assert seen == [(k, n) for k in range(n + 1)]  # before every chunk, and at the end


def test_call_plan_first_frame_alone_then_pairs(decode):
    plan = decode.wan_vae.call_plan
    assert plan(1) == [slice(0, 1)]
    assert plan(4) == [slice(0, 1), slice(1, 3), slice(3, 4)]
    assert plan(5) == [slice(0, 1), slice(1, 3), slice(3, 5)]
    for t in range(1, 12):
        calls = plan(t)
        assert [f for c in calls for f in range(c.start, c.stop)] == list(range(t))
        assert all(c.stop - c.start == 2 for c in calls[1:-1])  # only the first and last call may be one frame
        for chunk in (1, 2, 3, 7):
            assert [c for group in decode.wan_vae.chunk_plan(t, chunk) for c in group] == calls


def test_cache_slots_match_the_hosts_own_count(decode, vae):
    import comfy.ldm.wan.vae as host

    count = getattr(host, "count_cache_layers", None) or host.count_conv3d
    decoder = vae.first_stage_model.decoder
    assert decode.wan_vae.cache_slots(decoder) == count(decoder) > 0


def test_chunking_matters_without_the_carried_cache(decode, vae, latent, one_shot):
    """The cache carries the causal context: decoding chunks independently gives different frames."""
    second = decode.decode_chunked(vae, latent[:, :, 3:], 2)  # latent frames 3, 4 without frames 0-2 before them
    assert (second[:, 1:] - one_shot[:, 13:]).abs().max() > 1e-3  # latent frame 4: the last 4 frames


def test_node_outputs_image_frames_like_vae_decode(comfy_modules, decode, vae, latent):
    comfy_nodes = load_module("comfyui_nodes", comfy_modules / "nodes.py")
    out = decode.ChunkedVAEDecode.execute(vae=vae, samples={"samples": latent}, chunk=2)
    (images,) = out.result
    (reference,) = comfy_nodes.VAEDecode().decode(vae, {"samples": latent})
    assert images.shape == reference.shape == (34, 16, 32, 3)  # batches combined, as VAEDecode does
    # as above: the same calls, but not bit-equal on every host and CPU (AVX2 kernels: 3e-6 measured)
    torch.testing.assert_close(images, reference, rtol=0, atol=2e-5)
    schema = decode.ChunkedVAEDecode.define_schema()
    assert schema.node_id == "SemanticGenVAEDecode"
    assert all(i.tooltip for i in schema.inputs)


def test_node_stops_between_chunks_on_interrupt(decode, vae, latent):
    import comfy.model_management as mm

    mm.interrupt_current_processing(True)
    try:
        with pytest.raises(mm.InterruptProcessingException):
            decode.ChunkedVAEDecode.execute(vae=vae, samples={"samples": latent}, chunk=2)
    finally:
        mm.interrupt_current_processing(False)


def test_bad_input_names_the_input(decode, vae, latent):
    with pytest.raises(ValueError, match=r"samples: expected a Wan2.1 video latent \(B, 16, T, H, W\)"):
        decode.decode_chunked(vae, latent[:, :, 0], 2)
    with pytest.raises(ValueError, match="samples: .*got shape \\(2, 4, 5, 2, 4\\)"):
        decode.decode_chunked(vae, latent[:, :4], 2)
    with pytest.raises(ValueError, match="chunk: expected at least 1"):
        decode.decode_chunked(vae, latent, 0)
    other = SimpleNamespace(first_stage_model=torch.nn.Identity(), throw_exception_if_invalid=lambda: None)
    with pytest.raises(ValueError, match="vae: expected a Wan2.1 VAE"):
        decode.decode_chunked(other, latent, 2)
