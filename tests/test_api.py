"""Through the real ComfyUI server's HTTP API: registration, templates, bundled workflows, bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import av
import pytest
import torch
from server_harness import PACK_NODES, ROOT, error_message, with_frames

sys.path.insert(0, str(ROOT / "scripts"))
import workflows  # noqa: E402

pytestmark = pytest.mark.api


def api_workflow(name: str) -> dict:
    return json.loads((ROOT / "example_workflows" / "api" / f"{name}.json").read_text())


def frame_count(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_nodes_registered_with_tooltips_and_no_import_errors(server):
    status, info = server.get("/object_info")
    assert status == 200
    assert set(info) >= PACK_NODES
    for node_id in PACK_NODES:
        node = info[node_id]
        assert node["category"].startswith("SemanticGen")
        for group in ("required", "optional"):
            for name, spec in node["input"].get(group, {}).items():
                assert len(spec) > 1 and spec[1].get("tooltip"), f"{node_id}.{name} has no tooltip"
    log = server.log()
    assert "IMPORT FAILED" not in log and "Cannot import" not in log, log[-3000:]


def test_workflows_listed_as_templates(server):
    status, templates = server.get("/api/workflow_templates")
    assert status == 200
    names = {n for lst in templates.values() for n in lst}
    for wf in workflows.WORKFLOWS:
        assert wf.name in names
        status, body = server.get(f"/api/workflow_templates/{next(iter(templates))}/{wf.name}.json")
        assert status == 200 and body["nodes"]
    assert not any("api" in n.split("/") for n in names)  # API twins are not templates


LAYOUT = ("pos", "size")  # derived from every node's slot and widget counts, so from the host's schemas


def pack_view(path, text: str) -> dict:
    """What the pack controls in a bundled workflow file: the API twin whole; in the UI file our own nodes whole but
    for their layout, of core nodes the type and title, the links by input name, the groups' titles and colours and
    the rest. A host that changes a core node's schema (CreateVideo's added `bit_depth`, SaveVideo's dynamic
    `format` combo on current hosts) changes the core nodes' slots and every node's size and place, which the
    frontend rebuilds from the host's own schema on load; the layout rules (stages left to right, no overlaps) are
    checked on the files by test_workflows.py and on the live page by the browser test."""
    data = json.loads(text)
    if path.parent.name == "api":
        return data
    names = {(n["id"], k): i["name"] for n in data["nodes"] for k, i in enumerate(n.get("inputs", []))}
    return {
        "nodes": [
            {k: v for k, v in n.items() if k not in LAYOUT}
            if n["type"].startswith("SemanticGen")
            else {k: n.get(k) for k in ("id", "type", "title")}
            for n in data["nodes"]
        ],
        "links": sorted((src, slot, dst, names[dst, k], t) for _, src, slot, dst, k, t in data["links"]),
        "groups": [{k: v for k, v in g.items() if k != "bounding"} for g in data.get("groups", [])],
        "rest": {k: v for k, v in data.items() if k not in ("nodes", "links", "groups")},
    }


def test_bundled_workflow_files_are_generated_from_the_spec(server):
    _, info = server.get("/object_info")
    for path, text in workflows.render_all(info).items():
        assert pack_view(path, path.read_text()) == pack_view(path, text), f"{path.name} is stale: run make workflows"


def test_reference_features_workflow_writes_a_video(server):
    entry = server.run(api_workflow("semanticgen_reference_features"))
    assert entry["status"]["status_str"] == "success", error_message(entry)
    (video,) = server.outputs(entry)
    assert video.is_file() and video.suffix == ".mp4"
    assert frame_count(video) == 17  # one preview frame per frame of the 17-frame sample


def test_checkpoint_folder_as_encoder(server):
    prompt = api_workflow("semanticgen_reference_features")
    prompt["2"]["inputs"]["encoder_name"] = "tiny-qwen2.5-vl"  # Qwen2.5-VL folder, model.visual.* keys
    entry = server.run(prompt)
    assert entry["status"]["status_str"] == "success", error_message(entry)


def test_text_to_video_workflow_writes_a_video(server):
    entry = server.run(api_workflow("semanticgen_text_to_video"))
    assert entry["status"]["status_str"] == "success", error_message(entry)
    (video,) = server.outputs(entry)
    assert frame_count(video) == 17


def test_reference_resynthesis_workflow_writes_a_video(server):
    entry = server.run(api_workflow("semanticgen_reference_resynthesis"))
    assert entry["status"]["status_str"] == "success", error_message(entry)
    (video,) = server.outputs(entry)
    assert frame_count(video) == 17  # the 17-frame reference -> 5 latent frames -> 17 frames


def test_same_seed_same_video_and_seed_matters(server):
    """Seed 5, seed 6, seed 5 again: the third run is computed afresh (ComfyUI's cache holds the previous prompt
    only) and writes byte-identical frames (PNG; the mp4 encoder's bytes need not repeat)."""
    runs = []
    for k, seed in enumerate((5, 6, 5)):
        prompt = api_workflow("semanticgen_text_to_video")
        prompt["5"]["inputs"]["seed"] = seed
        prompt["7"]["inputs"]["seed"] = seed
        entry = server.run(with_frames(prompt, f"semanticgen/seed{seed}_{k}"))
        assert entry["status"]["status_str"] == "success", error_message(entry)
        runs.append(server.frames(entry))
    assert len(runs[0]) == 17 and runs[0] == runs[2] and runs[0] != runs[1]


@pytest.fixture(scope="module")
def node_cache(server) -> tuple[Path, Path]:
    """4 toy videos in ComfyUI's input/training_videos (the fourth without a caption) and the shards the Build
    Training Cache node writes of them, 2 clips a shard: (videos folder, cache folder)."""
    import random

    from semanticgen.toy import Clip, caption, render

    sys.path.insert(0, str(ROOT / "scripts"))
    from make_sample_video import write_mp4

    folder = server.base / "input" / "training_videos"
    folder.mkdir(exist_ok=True)
    rng = random.Random(0)
    for i in range(4):
        clip = Clip.random(rng)
        write_mp4((render(clip, 12, 56).numpy() * 255).round().astype("uint8"), 8, folder / f"clip{i}.mp4")
        if i < 3:  # the fourth has no caption and is skipped
            (folder / f"clip{i}.txt").write_text(caption(clip, rng))
    prompt = {
        "1": {"class_type": "VAELoader", "inputs": {"vae_name": "toy_wan_vae.safetensors"}},
        "2": {"class_type": "SemanticGenTextEncoderLoader", "inputs": {}},
        "3": {"class_type": "SemanticGenEncoderLoader",
              "inputs": {"encoder_name": "toy_encoder.safetensors", "dtype": "auto", "device": "default"}},
        "4": {"class_type": "SemanticGenBuildCache",
              "inputs": {"vae": ["1", 0], "text_encoder": ["2", 0], "encoder": ["3", 0], "videos": "training_videos",
                         "cache_name": "cache_test", "frames": 9, "width": 56, "height": 56, "sample_fps": 4.0,
                         "shard_size": 2}},
    }  # fmt: skip
    entry = server.run(prompt)
    assert entry["status"]["status_str"] == "success", error_message(entry)
    return folder, server.base / "output" / "cache_test"


def test_build_cache_node_writes_shards_training_can_read(node_cache):
    from semanticgen.train import CacheDataset

    data = CacheDataset(node_cache[1])
    assert len(data) == 3 and data.tensors["latents"].shape == (3, 16, 3, 7, 7)
    assert sorted(p.name for p in node_cache[1].iterdir()) == ["shard-00000.safetensors", "shard-00001.safetensors"]


def test_build_command_on_two_processes_writes_the_nodes_shards(node_cache, tmp_path):
    """`scripts/build_cache.py` under torchrun, 2 processes (each writes its own shards), loads the same
    VAE and text encoder through ComfyUI's modules from the host tree and writes what the node wrote: the same
    shards, tensors and metadata (plus the `sources` each shard was built from)."""
    import os
    import subprocess

    from safetensors import safe_open
    from safetensors.torch import load_file

    videos, expected = node_cache
    out, models = tmp_path / "cache", videos.parents[1] / "models"  # the server's (tiny) models, as the node used
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(ROOT / "scripts" / "build_cache.py"), "--videos", str(videos), "--out", str(out),
           "--vae", str(models / "vae" / "toy_wan_vae.safetensors"), "--text-encoder", "minilm",
           "--encoder", str(models / "semanticgen" / "encoders" / "toy_encoder.safetensors"),
           "--frames", "9", "--width", "56", "--height", "56", "--sample-fps", "4", "--shard-size", "2"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "rank 0/2: 1 shards" in done.stdout and "rank 1/2: 1 shards" in done.stdout, done.stdout
    names = sorted(p.name for p in expected.glob("shard-*.safetensors"))
    assert sorted(p.name for p in out.glob("shard-*.safetensors")) == names
    for name, sources in zip(names, (["clip0.mp4", "clip1.mp4"], ["clip2.mp4", "clip3.mp4"]), strict=True):
        ours, node = load_file(out / name), load_file(expected / name)
        assert ours.keys() == node.keys()
        for key in node:  # the server ran its VAE with other thread counts: equal up to float rounding
            assert torch.allclose(ours[key], node[key], atol=1e-5), (name, key, (ours[key] - node[key]).abs().max())
        with safe_open(str(out / name), "pt") as f, safe_open(str(expected / name), "pt") as g:
            meta, node_meta = f.metadata(), g.metadata()
        assert json.loads(meta.pop("sources")) == sources
        assert meta == node_meta


@pytest.mark.slow
def test_twenty_queued_prompts_complete_and_memory_stays_flat(server):
    """Load: 20 prompts queued at once, different seeds; all succeed with the right output; the server's RSS
    after them stays within 150 MiB of its RSS after the first (no leak over a night of queued prompts)."""
    import psutil

    proc = psutil.Process(server.proc.pid)

    def prompt(seed: int) -> dict:
        p = api_workflow("semanticgen_text_to_video")
        p["5"]["inputs"]["seed"] = p["7"]["inputs"]["seed"] = seed
        p["11"]["inputs"]["filename_prefix"] = f"semanticgen/load{seed}"
        return p

    first = server.run(prompt(1000))
    assert first["status"]["status_str"] == "success", error_message(first)
    rss_first = proc.memory_info().rss
    ids = []
    for seed in range(20):
        status, body = server.queue(prompt(seed))
        assert status == 200 and not body.get("node_errors"), body
        ids.append(body["prompt_id"])
    videos = set()
    for prompt_id in ids:
        entry = server.wait(prompt_id)
        assert entry["status"]["status_str"] == "success", error_message(entry)
        (video,) = server.outputs(entry)
        assert frame_count(video) == 17
        videos.add(video.read_bytes())
    assert len(videos) == 20  # different seeds, different videos
    growth = (proc.memory_info().rss - rss_first) / 2**20
    print(f"server RSS growth over 20 prompts: {growth:.1f} MiB")  # noqa: T201
    assert growth < 150, growth


def test_every_template_has_a_thumbnail(server):
    import urllib.request

    _, templates = server.get("/api/workflow_templates")
    module = next(m for m, names in templates.items() if "semanticgen_text_to_video" in names)
    for wf in workflows.WORKFLOWS:
        with urllib.request.urlopen(f"{server.url}/api/workflow_templates/{module}/{wf.name}.jpg", timeout=30) as r:
            assert r.status == 200 and r.headers["Content-Type"] == "image/jpeg"
            assert r.read(3) == b"\xff\xd8\xff"  # a JPEG
