"""Every bundled workflow in the real ComfyUI frontend (headless Chromium via playwright-core)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from server_harness import ROOT, error_message

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WORKFLOWS = sorted((ROOT / "workflows").glob("*.json"))
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="module")
def frontend(server):
    node_dir = os.environ.get("SEMANTICGEN_NODE_DIR")
    if not node_dir or not (Path(node_dir) / "node_modules" / "playwright-core").is_dir():
        raise RuntimeError("playwright-core is not installed: run the tests with `make test`")
    server.post("/api/settings", {"Comfy.TutorialCompleted": True})
    ARTIFACTS.mkdir(exist_ok=True)
    cmd = ["node", str(ROOT / "tests" / "browser" / "frontend.cjs"), server.url, str(ARTIFACTS), *map(str, WORKFLOWS)]
    env = {**os.environ, "NODE_PATH": str(Path(node_dir) / "node_modules"),
           "ESTIMATE_WORKFLOW": str(ROOT / "workflows" / "semanticgen_text_to_video.json")}  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def schema_inputs(prompt: dict, object_info: dict) -> dict:
    """The prompt restricted to inputs the nodes declare (the frontend adds UI-only values such as
    LoadVideo's `video-preview`, which the server ignores)."""
    out = {}
    for key, node in prompt.items():
        info = object_info[node["class_type"]]["input"]
        names = {**info.get("required", {}), **info.get("optional", {})}
        out[key] = {**node, "inputs": {k: v for k, v in node["inputs"].items() if k in names}}
    return out


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_workflow_loads_converts_and_runs(frontend, server, path):
    result = frontend[path.stem]
    assert not [d for d in result["dialogs"] if "missing" in d.lower()], result["dialogs"]
    assert not [t for t in result["toasts"] if "invalid" in t.lower() or "error" in t.lower()], result["toasts"]
    assert result["nodes"] and not [n for n in result["nodes"] if n["has_errors"]]
    twin = json.loads((ROOT / "workflows" / "api" / path.name).read_text())
    _, info = server.get("/object_info")
    assert schema_inputs(result["output"], info) == twin  # our API twin == the frontend's own conversion
    entry = server.run(result["output"])
    assert entry["status"]["status_str"] == "success", error_message(entry)


def test_no_page_errors(frontend):
    assert frontend["__page_errors"] == []


def test_mode_widgets_follow_the_mode(frontend):
    pairs = [pair for name, r in frontend.items() if not name.startswith("__") for pair in r["modes"]]
    assert pairs, "no Latent Sampler in the bundled workflows"
    for before, after in pairs:
        for state in (before, after):
            assert state["window_hidden"] == (state["attention"] == "full"), (before, after)


def test_stages_are_coloured(frontend):
    nodes = {n["type"]: n["color"] for name, r in frontend.items() if not name.startswith("__") for n in r["nodes"]}
    assert nodes["SemanticGenSemanticSampler"] and nodes["SemanticGenLatentSampler"]
    assert nodes["SemanticGenSemanticSampler"] != nodes["SemanticGenLatentSampler"]


def test_memory_estimate_follows_the_widgets(frontend):
    est = frontend["__estimate"]
    print(f"estimate scenario: {est['seconds']:.1f} s")  # noqa: T201
    loaded, width, frames = est["loaded"], est["width"], est["frames"]
    assert loaded["stages"] == ["semantic generator"] and loaded["text"].startswith("peak ≈ "), loaded
    assert width["peak"] > loaded["peak"] and width["text"] != loaded["text"], (loaded, width)
    assert frames["peak"] > width["peak"] and frames["text"] != width["text"], (width, frames)
    latent, latent_width = est["latent_loaded"], est["latent_width"]
    assert latent["stages"] == ["latent generator"] and latent["text"].startswith("peak ≈ "), latent
    assert latent_width["peak"] > latent["peak"]  # the Latent Sampler's size is the Semantic Sampler's
    steps = est["steps"]  # twice the steps: twice the time, same memory
    assert steps["peak"] == loaded["peak"] and steps["seconds"] == pytest.approx(2 * loaded["seconds"], rel=0.01)
    assert " (compute-bound)" in loaded["text"] and steps["text"] != loaded["text"], (loaded, steps)
    assert loaded["colour"] == frames["colour"] == latent["colour"]  # they all fit


def test_memory_estimate_turns_red_over_budget(frontend):
    est = frontend["__estimate"]
    over = est["latent_over"]
    assert over["budget"] == 8 * 10**9 and over["peak"] > over["budget"], over
    assert " · over 7.45 GiB" in over["text"] and over["colour"] != est["loaded"]["colour"], over
    assert est["over"]["peak"] < est["over"]["budget"] and est["over"]["colour"] == est["loaded"]["colour"]  # per stage


def test_memory_preset_setting_sets_the_budget(frontend, server):
    est = frontend["__estimate"]
    setting = est["setting"]
    _, info = server.get("/object_info/SemanticGenMemoryPlan")
    spec = info["SemanticGenMemoryPlan"]["input"]["required"]["device_memory"]
    presets = spec[1]["options"] if spec[0] == "COMBO" else spec[0]
    assert setting["definition"]["options"] == presets  # the same presets as the Memory Plan node
    assert setting["definition"]["defaultValue"] == setting["value"] == "this device"
    assert est["frames"]["budget"] != 8 * 10**9  # this device: ComfyUI's free memory
    assert est["preset"]["value"] == "8 GB" and est["preset"]["budget"] == 8 * 10**9
    assert "7.45 GiB" in est["preset"]["text"] and est["preset"]["text"] != est["frames"]["text"]


def test_latent_sampler_without_a_semantic_sampler_says_so(frontend):
    (line,) = [e for e in frontend["semanticgen_reference_resynthesis"]["estimates"] if "Latent" in e["type"]]
    assert line["text"] == "estimate: size from the semantic input"
    sems = [e for name, r in frontend.items() if not name.startswith("__") for e in r["estimates"]]
    assert all(e["text"].startswith("peak ≈ ") for e in sems if e["type"] == "SemanticGenSemanticSampler"), sems
