"""The shipped demo models through the real server's API: prompt adherence, measured by the model-free reader;
and `make demo`'s progress text, from recorded websocket messages and through the real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest
from demo import Progress, minutes
from server_harness import ROOT, Server, error_message, with_frames

from semanticgen.toy.captions import HELDOUT
from semanticgen.toy.evaluate import DEMO_PROMPTS, Reading, load_video, parse_prompt, read_video
from semanticgen.toy.longclip import bounces_seen, identity, one_piece, read_long

SERVER_MARKS = (pytest.mark.api, pytest.mark.slow)
JUDGED_MARKS = (*SERVER_MARKS, pytest.mark.judged)  # what the models draw; .ci/run's second host skips these
# websocket messages of one text-to-video run through the real ComfyUI (0.3.75), with their arrival times in
# seconds; recorded by scripts/demo.py's queue_and_follow, repeated progress_state messages and ids left out
MESSAGES = json.loads((ROOT / "tests" / "demo_messages.json").read_text())
ATTRIBUTES = ("colour", "background", "shape", "motion")
LONG = "semanticgen_long_video"
# issue 17's targets on the held-out set: colour and background 95%, shape 85%, motion 90%, one piece 95% of frames
HELDOUT_FLOORS = {"colour": 0.95, "background": 0.95, "shape": 0.85, "motion": 0.9, "one_piece": 0.95}
LONG_IDENTITY, LONG_MOVING = 0.9, 0.9  # and for the long video: identity in 90% of windows, moving in most
# Not met by the shipped models (issue 17 stays open; docs/toy_world.md has the figures). strict: when a model set
# meets them, these tests fail until the marks go.
HELDOUT_NOT_MET = "issue 17: the shipped models read (in-process) 52% colour, 81% background, 44% shape, 77% motion"
LONG_NOT_MET = "issue 17: the shipped models draw a still blob for the minute, with wrong first and last frames"


def marked(test, marks: tuple = SERVER_MARKS):
    for mark in marks:
        test = mark(test)
    return test


def judged(test):
    return marked(test, JUDGED_MARKS)


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory, comfy_modules):
    """A server with no models of its own: the loaders see only the weights bundled in models/."""
    srv = Server(tmp_path_factory.mktemp("demo-base"))
    yield srv
    srv.stop()


def api(name: str) -> dict:
    return json.loads((ROOT / "example_workflows" / "api" / f"{name}.json").read_text())


def generate(server: Server, workflow: str, text: str, seed: int) -> tuple:
    return read_video(frames_of(server, workflow, text, seed))


def frames_of(server: Server, workflow: str, text: str, seed: int):
    """The frames (T, H, W, 3) a bundled workflow writes for `text` and `seed` (on both samplers)."""
    prompt = api(workflow)
    for node in prompt.values():
        if node["class_type"] == "SemanticGenTextEncode" and node["_meta"]["title"] in ("Prompt", "New prompt"):
            node["inputs"]["text"] = text
        if node["class_type"] in ("SemanticGenSemanticSampler", "SemanticGenLatentSampler"):
            node["inputs"]["seed"] = seed
    entry = server.run(prompt)
    assert entry["status"]["status_str"] == "success", error_message(entry)
    (video,) = server.outputs(entry)
    return load_video(str(video))[0]


@judged
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


@pytest.mark.xfail(strict=True, reason=HELDOUT_NOT_MET)
@judged
def test_held_out_paraphrases_follow_the_prompt(demo_server):
    """Issue 17's prompts in a user's own words: the 48 held-out paraphrases (sentence templates no training
    caption uses, semanticgen.toy.captions) through the bundled text-to-video workflow, read by the model-free
    reader. It stops as soon as a floor can no longer be reached (the verdict of the whole set, sooner)."""
    n = len(HELDOUT)
    hits, pieces, misses = Counter(), [], []
    for seed, p in enumerate(HELDOUT):
        frames = frames_of(demo_server, "semanticgen_text_to_video", p.text, seed)
        seen, want = read_video(frames), Reading(p.background, p.colour, p.shape, p.motion)
        for k in ATTRIBUTES:
            hits[k] += getattr(seen, k) == getattr(want, k)
        pieces.append(one_piece(frames))
        if seen != want:
            misses.append((p.text, seen))
        done = seed + 1  # the best rates the rest could give (every later prompt right); after the last: the rates
        best = {k: (hits[k] + n - done) / n for k in ATTRIBUTES} | {"one_piece": (sum(pieces) + n - done) / n}
        lost = [k for k, floor in HELDOUT_FLOORS.items() if best[k] < floor]
        assert not lost, (f"after {done}/{n} prompts {lost} can no longer reach their floors", dict(hits), misses)
    rates = {k: hits[k] / n for k in ATTRIBUTES} | {"one_piece": sum(pieces) / n}
    print("held-out adherence", json.dumps(rates), misses)  # noqa: T201 (shown with -s)


@pytest.mark.xfail(strict=True, reason=LONG_NOT_MET)
@judged
def test_long_workflow_keeps_its_subject_and_bounces_for_a_minute(demo_server):
    """The bundled long workflow as shipped (481 frames, Swin window 8, chunked decode): the prompt's shape, colour
    and background in the windows of the whole minute, a shape that turns at the walls, and first and last frames
    that show the prompt's subject (the earlier models: 0/6)."""
    text = next(n["inputs"]["text"] for n in api(LONG).values() if n["_meta"]["title"] == "Prompt")
    reading, want = read_long(frames_of(demo_server, LONG, text, 0)), parse_prompt(text)
    bounces = (reading.bounces_x, reading.bounces_y)
    summary = dict(
        identity=identity(reading, want), bounces=bounces, moving=reading.moving, ends=(reading.first, reading.last)
    )
    print("long video", summary)  # noqa: T201 (shown with -s)
    assert identity(reading, want) >= LONG_IDENTITY, summary
    assert bounces_seen(reading) and reading.moving >= LONG_MOVING, summary
    for end in (reading.first, reading.last):
        assert (end.colour, end.background) == (want.colour, want.background), summary


@marked
def test_reference_resynthesis_keeps_motion_and_follows_new_colour(demo_server):
    # the bundled sample: a red circle moving right on navy. In the toy world the semantic features carry the
    # background too, so the new prompt changes the shape's colour only.
    for seed, (colour, bg) in enumerate([("green", "navy"), ("yellow", "navy"), ("white", "navy")]):
        seen = generate(
            demo_server, "semanticgen_reference_resynthesis", f"a {colour} circle on a {bg} background", seed
        )
        assert seen.motion == "right", seen
        assert seen.colour == colour, seen


@marked
@pytest.mark.parametrize(
    "native, pack",
    [
        ("semanticgen_native_text_to_video", "semanticgen_text_to_video"),
        ("semanticgen_native_resynthesis", "semanticgen_reference_resynthesis"),
    ],
)
def test_native_workflows_make_the_same_frames_as_the_pack_samplers(demo_server, native, pack):
    """KSampler workflows with the same seeds and settings: identical pixels (one code path), and what they
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


def replay(live: bool) -> str:
    """The text `make demo` writes for the recorded run, on the recorded clock."""
    now = [0.0]
    progress = Progress(api("semanticgen_text_to_video"), clock=lambda: now[0], live=live)
    out = []
    for m in MESSAGES:
        now[0] = m["t"]
        out.append(progress.feed(m["type"], m["data"]))
    return "".join(out)


def test_progress_names_every_stage_by_its_title_with_bars_and_time_left():
    text = replay(live=True)
    titles = [n["_meta"]["title"] for n in api("semanticgen_text_to_video").values()]
    stages = [line for line in text.split("\n") if line.startswith("[")]
    assert len(stages) == len(titles) and {s.split("] ", 1)[1] for s in stages} == set(titles), stages
    assert stages[0].startswith("[1/") and stages[-1].startswith(f"[{len(titles)}/{len(titles)}]")
    assert "node " not in text
    for sampler in ("Semantic Sampler", "Latent Sampler"):
        after = text.split(sampler, 1)[1].split("\n[", 1)[0]
        assert "[" + "#" * 24 + "] 20/20 steps" in after and "left" in after, after
    assert text.endswith("\n") and "\r" in text


def test_progress_in_a_log_writes_each_bar_at_quarters_only():
    lines = replay(live=False).splitlines()
    bars = [line for line in lines if line.startswith("  [")]
    assert "\r" not in "".join(lines) and 0 < len(bars) <= 2 * 5  # two samplers, 0 %, 25 %, … 100 %
    assert any(b.endswith("0:00 left") and "20/20 steps" in b for b in bars), bars


def test_time_left_follows_the_pace_since_the_first_step():
    now = [100.0]
    sampler = {"7": {"class_type": "SemanticGenLatentSampler", "_meta": {"title": "Latent Sampler"}}}
    progress = Progress(sampler, clock=lambda: now[0])
    assert progress.feed("executing", {"node": "7"}) == "[1/1] Latent Sampler\n"
    assert "estimating" in progress.feed("progress", {"value": 1, "max": 20, "node": "7"})
    now[0] = 104.0  # 2 s per step: 17 steps left
    assert "0:04 elapsed, 0:34 left" in progress.feed("progress", {"value": 3, "max": 20, "node": "7"})
    assert minutes(3725) == "1:02:05" and minutes(59.6) == "1:00"


@marked
def test_make_demo_prints_stages_progress_and_the_output_path(tmp_path):
    out = tmp_path / "demo.mp4"
    env = {**os.environ, "SEMANTICGEN_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(ROOT / "scripts" / "demo.py"), "--prompt", DEMO_PROMPTS[0], "--seed", "0"]
    run = subprocess.run([*cmd, "--out", str(out)], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "] Semantic Sampler\n" in run.stdout and "20/20 steps" in run.stdout and "node " not in run.stdout
    assert run.stdout.rstrip().endswith(str(out.resolve())) and out.stat().st_size > 0, run.stdout
