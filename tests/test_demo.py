"""The shipped demo models through the real server's API: prompt adherence, measured by the model-free reader."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from server_harness import ROOT, Server, error_message, with_frames

from semanticgen.toy.evaluate import DEMO_PROMPTS, load_video, parse_prompt, read_video

pytestmark = [pytest.mark.api, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory, comfy_modules):
    """A server with no models of its own: the loaders see only the weights bundled in models/."""
    srv = Server(tmp_path_factory.mktemp("demo-base"))
    yield srv
    srv.stop()


def api(name: str) -> dict:
    return json.loads((ROOT / "example_workflows" / "api" / f"{name}.json").read_text())


def generate(server: Server, workflow: str, text: str, seed: int) -> tuple:
    prompt = api(workflow)
    for node in prompt.values():
        if node["class_type"] == "SemanticGenTextEncode" and node["_meta"]["title"] in ("Prompt", "New prompt"):
            node["inputs"]["text"] = text
        if node["class_type"] in ("SemanticGenSemanticSampler", "SemanticGenLatentSampler"):
            node["inputs"]["seed"] = seed
    entry = server.run(prompt)
    assert entry["status"]["status_str"] == "success", error_message(entry)
    (video,) = server.outputs(entry)
    return read_video(load_video(str(video))[0])


def test_text_to_video_follows_the_prompt(demo_server):
    hits, n = Counter(), len(DEMO_PROMPTS)
    misses = []
    for seed, text in enumerate(DEMO_PROMPTS):
        seen, want = generate(demo_server, "semanticgen_text_to_video", text, seed), parse_prompt(text)
        for k in ("colour", "background", "shape", "motion"):
            hits[k] += getattr(seen, k) == getattr(want, k)
        if seen != want:
            misses.append((text, seen))
    rates = {k: hits[k] / n for k in ("colour", "background", "shape", "motion")}
    print("prompt adherence", json.dumps(rates), misses)  # noqa: T201 (shown with -s)
    # the targets: colour and background >= 90%, shape and motion >= 80% (measured 100%, 100%, 10/12, 100%; the
    # same with 1 or 2 threads; shape has no slack here, and is 77% over 60 prompts in-process: see docs/training.md)
    assert rates["colour"] >= 0.9 and rates["background"] >= 0.9, (rates, misses)
    assert rates["shape"] >= 0.8 and rates["motion"] >= 0.8, (rates, misses)


def test_reference_resynthesis_keeps_motion_and_follows_new_colour(demo_server):
    # the bundled sample: a red circle moving right on navy. In the toy world the semantic features carry the
    # background too, so the new prompt changes the shape's colour only.
    for seed, (colour, bg) in enumerate([("green", "navy"), ("yellow", "navy"), ("white", "navy")]):
        seen = generate(
            demo_server, "semanticgen_reference_resynthesis", f"a {colour} circle on a {bg} background", seed
        )
        assert seen.motion == "right", seen
        assert seen.colour == colour, seen


@pytest.mark.parametrize(
    "native, pack",
    [
        ("semanticgen_native_text_to_video", "semanticgen_text_to_video"),
        ("semanticgen_native_resynthesis", "semanticgen_reference_resynthesis"),
    ],
)
def test_native_workflows_make_the_same_frames_as_the_pack_samplers(demo_server, native, pack):
    """KSampler workflows with the same seeds and settings: byte-identical frames (one code path), and what they
    show is what their prompt says (model-free reader)."""
    runs = []
    for name in (native, pack):
        entry = demo_server.run(with_frames(api(name), f"frames/{name}"))
        assert entry["status"]["status_str"] == "success", error_message(entry)
        runs.append((demo_server.frames(entry), demo_server.outputs(entry)))
    assert len(runs[0][0]) == 17 and runs[0][0] == runs[1][0]
    (video,) = [p for p in runs[0][1] if p.suffix == ".mp4"]
    seen = read_video(load_video(str(video))[0])
    text = next(n["inputs"]["text"] for n in api(native).values() if n["_meta"]["title"] in ("Prompt", "New prompt"))
    want = parse_prompt(text)
    assert (seen.colour, seen.background) == (want.colour, want.background), (text, seen)
