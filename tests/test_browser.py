"""Every bundled workflow in the real ComfyUI frontend (headless Chromium via playwright-core)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from server_harness import ROOT, error_message

sys.path.insert(0, str(ROOT / "scripts"))
import workflows as spec  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WORKFLOWS = sorted((ROOT / "example_workflows").glob("*.json"))
# screenshots (the pinned host's become the template thumbnails); .ci/run points a second host's elsewhere
ARTIFACTS = Path(os.environ.get("SEMANTICGEN_ARTIFACTS") or ROOT / "tests" / "artifacts")


# (frontend, Vue nodes): the frontend the host requires and the newest on PyPI, each with the canvas renderer and
# with Vue node rendering ("Nodes 2.0"). The js extension must work in all four.
MATRIX = [("host", False), ("host", True), ("newest", False), ("newest", True)]


@pytest.fixture(scope="module")
def newest_server(tmp_path_factory, comfy_modules):
    """The same host serving the newest frontend from PyPI (scripts/setup.sh --browser unpacks it)."""
    from server_harness import Server
    from tiny import write_tiny_models

    root = os.environ.get("SEMANTICGEN_FRONTEND_NEWEST")
    if not root or not (Path(root) / "index.html").is_file():
        raise RuntimeError("SEMANTICGEN_FRONTEND_NEWEST is not a frontend folder: run the tests with `make test`")
    base = tmp_path_factory.mktemp("comfy-newest-frontend")
    write_tiny_models(base / "models")
    srv = Server(base, extra=["--front-end-root", root])
    yield srv
    srv.stop()


@pytest.fixture(scope="module", params=MATRIX, ids=lambda p: f"{p[0]}-frontend-{'vue' if p[1] else 'canvas'}")
def frontend(request):
    """What the page showed for every bundled workflow, driven by tests/browser/frontend.cjs."""
    which, vue = request.param
    server = request.getfixturevalue("server" if which == "host" else "newest_server")
    node_dir = os.environ.get("SEMANTICGEN_NODE_DIR")
    if not node_dir or not (Path(node_dir) / "node_modules" / "playwright-core").is_dir():
        raise RuntimeError("playwright-core is not installed: run the tests with `make test`")
    settings = {"Comfy.TutorialCompleted": True, "Comfy.VueNodes.Enabled": vue, "Comfy.Minimap.Visible": False}
    server.post("/api/settings", settings)
    out = ARTIFACTS if request.param == MATRIX[0] else ARTIFACTS / f"{which}-{'vue' if vue else 'canvas'}"
    out.mkdir(parents=True, exist_ok=True)  # the host frontend's canvas screenshots become the thumbnails
    cmd = ["node", str(ROOT / "tests" / "browser" / "frontend.cjs"), server.url, str(out), *map(str, WORKFLOWS)]
    env = {
        **os.environ,
        "NODE_PATH": str(Path(node_dir) / "node_modules"),
        "ESTIMATE_WORKFLOW": str(ROOT / "example_workflows" / "semanticgen_text_to_video.json"),
    }
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    result["__server"], result["__vue"] = server, vue
    return result


def pack_controlled(prompt: dict, object_info: dict, twin: dict) -> dict:
    """The prompt restricted to what the pack controls: inputs the nodes declare (the frontend adds UI-only values
    such as LoadVideo's `video-preview`), without optional inputs a host added that the twin leaves out and that
    the frontend wrote at their declared default (e.g. CreateVideo's `bit_depth` on current hosts)."""
    out = {}
    for key, node in prompt.items():
        info = object_info[node["class_type"]]["input"]
        required, optional = info.get("required", {}), info.get("optional", {})
        ours = twin.get(key, {}).get("inputs", {})

        def host_default(name, value, optional=optional, ours=ours):
            spec = optional.get(name)
            return name not in ours and spec is not None and len(spec) > 1 and spec[1].get("default") == value

        inputs = {
            k: v for k, v in node["inputs"].items() if (k in required or k in optional) and not host_default(k, v)
        }
        out[key] = {**node, "inputs": inputs}
    return out


def shorter(prompt: dict) -> dict:
    """The frontend's prompt with the long workflow's minute cut to 16 s (the minute itself runs in test_demo.py):
    what is tested here is that the page's conversion runs, on every frontend and renderer."""
    for node in prompt.values():
        if node["class_type"] == "SemanticGenSemanticSampler" and node["inputs"]["frames"] > 129:
            node["inputs"]["frames"] = 129  # 33 latent frames: still five Swin windows of 8
    return prompt


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_workflow_loads_converts_and_runs(frontend, path):
    result = frontend[path.stem]
    assert not [d for d in result["dialogs"] if "missing" in d.lower()], result["dialogs"]
    assert not [t for t in result["toasts"] if "invalid" in t.lower() or "error" in t.lower()], result["toasts"]
    assert result["nodes"] and not [n for n in result["nodes"] if n["has_errors"]]
    twin = json.loads((ROOT / "example_workflows" / "api" / path.name).read_text())
    server = frontend["__server"]
    _, info = server.get("/object_info")
    assert pack_controlled(result["output"], info, twin) == twin  # our API twin == the frontend's own conversion
    entry = server.run(shorter(result["output"]))
    assert entry["status"]["status_str"] == "success", error_message(entry)


def test_no_page_errors(frontend):
    assert frontend["__page_errors"] == []


def workflows(frontend: dict) -> dict:
    return {name: r for name, r in frontend.items() if not name.startswith("__")}


def test_mode_widgets_follow_the_mode(frontend):
    pairs = [pair for r in workflows(frontend).values() for pair in r["modes"]]
    assert pairs, "no Latent Sampler in the bundled workflows"
    for before, after in pairs:
        for state in (before, after):
            assert state["window_hidden"] == (state["attention"] == "full"), (before, after)
            # Vue nodes render the widgets as DOM: the `window` row is on the page exactly when it is not hidden
            assert state["window_shown"] == (None if not frontend["__vue"] else state["attention"] == "swin"), state


def test_stages_are_coloured(frontend):
    nodes = {n["type"]: n["color"] for r in workflows(frontend).values() for n in r["nodes"]}
    assert nodes["SemanticGenSemanticSampler"] and nodes["SemanticGenLatentSampler"]
    assert nodes["SemanticGenSemanticSampler"] != nodes["SemanticGenLatentSampler"]
    if frontend["__vue"]:  # the page paints them: stage colours differ from each other and from a core node's
        shown = frontend["semanticgen_text_to_video"]["backgrounds"]
        sem, lat, core = (shown[t] for t in ("SemanticGenSemanticSampler", "SemanticGenLatentSampler", "VAELoader"))
        assert sem and lat and len({sem, lat, core}) == 3, shown


def test_memory_estimate_is_on_the_page(frontend):
    """The estimate line is a DOM element with the widget's text, visible in both renderers."""
    for name, r in workflows(frontend).items():
        assert sorted(s["text"] for s in r["shown"]) == sorted(e["text"] for e in r["estimates"]), name
        assert all(s["visible"] for s in r["shown"]), (name, r["shown"])
    (sem, lat) = workflows(frontend)["semanticgen_text_to_video"]["shown"]
    assert sem["text"].startswith("peak ≈ ") and sem["colour"] == lat["colour"] == "rgb(111, 207, 127)", (sem, lat)


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


def test_memory_preset_setting_sets_the_budget(frontend):
    est, server = frontend["__estimate"], frontend["__server"]
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
    sems = [e for r in workflows(frontend).values() for e in r["estimates"]]
    assert all(e["text"].startswith("peak ≈ ") for e in sems if e["type"] == "SemanticGenSemanticSampler"), sems


def test_nodes_do_not_overlap_as_drawn(frontend):
    """After load, as the page lays them out: no node (title bar included) on another, with Vue nodes also none of
    their elements on another's; each stage's group and the Note are there, and the Note is not in the prompt."""
    for name, r in workflows(frontend).items():
        geo, ui = r["geometry"], json.loads((ROOT / "example_workflows" / f"{name}.json").read_text())
        assert geo["title_height"] in (None, spec.TITLE), geo["title_height"]
        assert not [n for n in geo["nodes"] if n["collapsed"]]
        assert spec.overlapping(spec.rectangles(geo)) == [], (name, geo["nodes"])
        if frontend["__vue"]:
            elements = {n["id"]: n["element"] for n in geo["nodes"]}
            assert all(elements.values()), (name, elements)
            assert spec.overlapping(elements) == [], (name, elements)
        assert [g["title"] for g in geo["groups"]] == [g["title"] for g in ui["groups"]], name
        (note,) = [n for n in geo["nodes"] if n["type"] == "Note"]
        assert str(note["id"]) not in r["output"] and len(r["output"]) == len(geo["nodes"]) - 1, name
