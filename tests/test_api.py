"""Through the real ComfyUI server's HTTP API: registration, templates, bundled workflows, bad input."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import av
import pytest
import torch
from safetensors.torch import save_file
from server_harness import PACK_NODES, ROOT, error_message

sys.path.insert(0, str(ROOT / "scripts"))
import workflows  # noqa: E402

pytestmark = pytest.mark.api


def api_workflow(name: str) -> dict:
    return json.loads((ROOT / "workflows" / "api" / f"{name}.json").read_text())


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


def test_bundled_workflow_files_are_generated_from_the_spec(server):
    _, info = server.get("/object_info")
    for path, text in workflows.render_all(info).items():
        assert path.read_text() == text, f"{path.name} is stale: run scripts/workflows.py"


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


def still_serves(server) -> None:
    entry = server.run(api_workflow("semanticgen_reference_features"))
    assert entry["status"]["status_str"] == "success", error_message(entry)


def refused(server, prompt: dict, input_name: str) -> str:
    """Validation refusal: HTTP 400 with node_errors naming the input."""
    status, body = server.queue(prompt)
    assert status == 400, body
    text = json.dumps(body["node_errors"])
    assert input_name in text, text
    return text


def failed(server, prompt: dict, *words: str) -> str:
    status, body = server.queue(prompt)
    assert status == 200 and not body.get("node_errors"), body
    entry = server.wait(body["prompt_id"])
    assert entry["status"]["status_str"] == "error"
    msg = error_message(entry)
    for w in words:
        assert w in msg, msg
    return msg


def test_bad_input_fps_and_combos(server):
    prompt = api_workflow("semanticgen_reference_features")
    prompt["3"]["inputs"]["sample_fps"] = 0
    refused(server, prompt, "sample_fps")
    prompt = api_workflow("semanticgen_reference_features")
    prompt["5"]["inputs"]["mode"] = "median"
    assert "mode" in refused(server, prompt, "median")
    prompt = api_workflow("semanticgen_reference_features")
    prompt["2"]["inputs"]["encoder_name"] = "../../../etc/passwd"
    refused(server, prompt, "encoder_name")
    still_serves(server)


def test_bad_input_not_a_video(server):
    (server.base / "input" / "notes.mp4").write_text("this is not a video\n" * 50)
    prompt = api_workflow("semanticgen_reference_features")
    prompt["1"]["inputs"]["file"] = "notes.mp4"
    failed(server, prompt, "video")
    still_serves(server)


def test_bad_input_zero_frames(server):
    path = server.base / "input" / "empty.mp4"
    with av.open(str(path), mode="w") as out:
        s = out.add_stream("libx264", rate=8)
        s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
    prompt = api_workflow("semanticgen_reference_features")
    prompt["1"]["inputs"]["file"] = "empty.mp4"
    assert "Invalid video file" in refused(server, prompt, "file")  # ComfyUI's LoadVideo refuses it first
    still_serves(server)  # zero frames reaching our node: tests/test_nodes.py


def test_bad_input_folder_without_vision_weights(server):
    folder = server.base / "models" / "semanticgen" / "encoders" / "no-vision"
    shutil.copytree(server.base / "models" / "semanticgen" / "encoders" / "tiny-qwen2.5-vl", folder)
    for f in folder.glob("*.safetensors"):
        f.unlink()
    (folder / "model.safetensors.index.json").unlink(missing_ok=True)
    save_file({"model.embed_tokens.weight": torch.zeros(4, 4)}, str(folder / "model.safetensors"))
    prompt = api_workflow("semanticgen_reference_features")
    prompt["2"]["inputs"]["encoder_name"] = "no-vision"
    failed(server, prompt, "encoder_name", "no vision weights")
    still_serves(server)


def test_bad_input_compressor_width_mismatch(server):
    prompt = api_workflow("semanticgen_reference_features")
    prompt["4"]["inputs"]["compressor_name"] = "tiny-c8-d40.safetensors"
    failed(server, prompt, "features", "expects width 40, got 48")
    still_serves(server)


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
    runs = []
    for seed in (5, 5, 6):
        prompt = api_workflow("semanticgen_text_to_video")
        prompt["5"]["inputs"]["seed"] = seed
        prompt["7"]["inputs"]["seed"] = seed
        prompt["11"]["inputs"]["filename_prefix"] = f"semanticgen/seed{seed}"
        entry = server.run(prompt)
        assert entry["status"]["status_str"] == "success", error_message(entry)
        runs.append(server.outputs(entry)[0].read_bytes())
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_bad_input_generator_widths(server):
    prompt = api_workflow("semanticgen_reference_resynthesis")
    prompt["8"]["inputs"]["model_name"] = "tiny-latent-c4.safetensors"
    failed(server, prompt, "semantic: has 8 channels", "expects 4")
    prompt = api_workflow("semanticgen_text_to_video")
    prompt["6"]["inputs"]["model_name"] = "tiny-latent-text32.safetensors"
    failed(server, prompt, "positive: conditioning has width 384")
    still_serves(server)


def test_bad_input_frames_and_sampler(server):
    prompt = api_workflow("semanticgen_text_to_video")
    prompt["5"]["inputs"]["frames"] = 18
    failed(server, prompt, "frames: expected 4k+1")
    prompt = api_workflow("semanticgen_text_to_video")
    prompt["7"]["inputs"]["sampler"] = "dpmpp_2m"
    refused(server, prompt, "sampler")
    still_serves(server)


def test_interrupt_ends_sampling_within_a_step(server):
    import time

    prompt = api_workflow("semanticgen_text_to_video")
    prompt["5"]["inputs"].update(frames=129, width=128, height=128)
    prompt["7"]["inputs"].update(steps=200, sampler="heun", seed=11)
    status, body = server.queue(prompt)
    assert status == 200, body
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until it runs
        if server.get("/queue")[1]["queue_running"]:
            break
        time.sleep(0.05)
    time.sleep(2.0)  # well inside the latent stage
    t0 = time.monotonic()
    server.post("/interrupt", {})
    entry = server.wait(body["prompt_id"], timeout=60)
    elapsed = time.monotonic() - t0
    kinds = [m[0] for m in entry["status"]["messages"]]
    assert "execution_interrupted" in kinds, kinds
    assert elapsed < 5.0, elapsed  # a heun step here takes well under a second
    still_serves(server)


def test_build_cache_node_writes_shards_training_can_read(server):
    import random

    from semanticgen.toy import Clip, caption, render
    from semanticgen.train import CacheDataset

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
    data = CacheDataset(server.base / "output" / "cache_test")
    assert len(data) == 3 and data.tensors["latents"].shape == (3, 16, 3, 7, 7)
    assert sorted(p.name for p in (server.base / "output" / "cache_test").iterdir()) == [
        "shard-00000.safetensors", "shard-00001.safetensors"]  # fmt: skip

    prompt["4"]["inputs"]["videos"] = "../../etc"
    failed(server, prompt, "videos: '../../etc' must be a sub-folder")


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
