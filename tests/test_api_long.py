"""The long-video path over the real server's HTTP API: Swin latent sampling and the chunked VAE decode."""

from __future__ import annotations

import av
import numpy as np
import pytest
from server_harness import error_message
from test_api import api_workflow, frame_count

pytestmark = pytest.mark.api
LONG = "semanticgen_long_video"


def test_bundled_long_workflow_is_a_minute_of_swin_and_chunked_decode():
    prompt = api_workflow(LONG)
    nodes = {n["class_type"]: n["inputs"] for n in prompt.values()}
    assert nodes["SemanticGenSemanticSampler"]["frames"] == 481  # 60 s at 8 fps
    assert nodes["CreateVideo"]["fps"] == 8.0
    assert nodes["SemanticGenLatentSampler"]["attention"] == "swin"
    assert nodes["SemanticGenLatentSampler"]["window"] == 8
    assert nodes["SemanticGenVAEDecode"]["chunk"] == 4 and "VAEDecode" not in nodes


def test_decode_node_registered_with_tooltips(server):
    _, info = server.get("/object_info")
    node = info["SemanticGenVAEDecode"]
    assert node["display_name"] == "VAE Decode (chunked)" and node["output"] == ["IMAGE"]
    for name, spec in node["input"]["required"].items():
        assert spec[1].get("tooltip"), name
    assert node["input"]["required"]["chunk"][1]["default"] == 4
    sampler = info["SemanticGenLatentSampler"]["input"]["required"]
    assert sampler["attention"][1]["default"] == "full" and "ignored" in sampler["window"][1]["tooltip"].lower()


def test_long_workflow_writes_a_video_of_the_requested_length(server):
    prompt = api_workflow(LONG)
    prompt["5"]["inputs"]["frames"] = 129  # 16 s: 33 latent frames, five 8-frame windows, shorter for CI
    entry = server.run(prompt)
    assert entry["status"]["status_str"] == "success", error_message(entry)
    (video,) = server.outputs(entry)
    assert frame_count(video) == 129


def short_run(server, attention: str, window: int) -> np.ndarray:
    """Decoded frames (the file's bytes also hold the prompt as metadata, so they differ anyway)."""
    prompt = api_workflow(LONG)
    prompt["5"]["inputs"].update(frames=21, steps=4)  # 6 latent frames
    prompt["7"]["inputs"].update(attention=attention, window=window, steps=4)
    prompt["11"]["inputs"]["filename_prefix"] = f"semanticgen/{attention}{window}"
    entry = server.run(prompt)
    assert entry["status"]["status_str"] == "success", error_message(entry)
    with av.open(str(server.outputs(entry)[0])) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def test_swin_reaches_the_sampler(server):
    full = short_run(server, "full", 2)
    assert full.shape == (21, 64, 64, 3)
    assert np.array_equal(short_run(server, "swin", 8), full)  # one window covers all 6 latent frames: full
    assert not np.array_equal(short_run(server, "swin", 2), full)
