"""Sample videos during training (fixed prompts and seeds, beside the checkpoints) and the toy world's adherence
reader as an evaluation logged with the losses."""

from __future__ import annotations

import json
import random
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file
from server_harness import ROOT
from test_train import MODEL, cache, config, resume_copy  # noqa: F401 (fixture: 64 toy clips through ComfyUI's VAE)
from tiny import tiny_wan_vae_state

from semanticgen.toy import Clip, caption, render
from semanticgen.toy.evaluate import load_video
from semanticgen.train import train
from semanticgen.train.samples import SampleConfig, adherence_logs, first_rows, reading_hits

sys.path.insert(0, str(ROOT / "scripts"))
import comfy_host  # noqa: E402  (what scripts/train.py passes as the host: ComfyUI's VAE and video writer)


@pytest.fixture(scope="module")
def vae_file(tmp_path_factory, comfy_modules):
    path = tmp_path_factory.mktemp("vae") / "tiny_wan_vae.safetensors"
    save_file(tiny_wan_vae_state(), str(path))  # the VAE the cache was built with
    return path


def samples(vae_file, **kw) -> dict:
    return {"every": 2, "count": 2, "vae": str(vae_file), "steps": 2, "adherence": True} | kw


def events(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    return EventAccumulator(str(next((run / "logs").rglob("events.out.tfevents.*")).parent)).Reload()


def test_latent_stage_writes_sample_videos_and_logs_their_adherence(cache, vae_file, tmp_path):  # noqa: F811
    pytest.importorskip("tensorboard")
    run = tmp_path / "run"
    train(config(cache, run, samples=samples(vae_file)), host=comfy_host)  # 4 steps: sample sets at steps 2 and 4
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-00000002", "step-00000004"]
    rows = first_rows(cache, 2)
    scalars = events(run)
    for step in (2, 4):
        folder = run / "samples" / f"step-{step:08d}"
        record = json.loads((folder / "samples.json").read_text())
        assert record["prompts"] == rows["captions"] and record["seeds"] == [0, 1]
        assert load_file(folder / "samples.safetensors")["latents"].shape == (2, 16, 3, 8, 8)
        for k in range(2):
            frames, fps = load_video(str(folder / f"sample-{k:02d}.mp4"))
            assert frames.shape == (9, 64, 64, 3) and fps == 8.0  # the cached clips' size and rate
        logged = adherence_logs(record["readings"])
        assert set(logged) == {f"eval/{k}" for k in ("colour", "background", "shape", "motion", "one_piece")}
        for tag, value in logged.items():
            (event,) = [e for e in scalars.Scalars(tag) if e.step == step]
            assert event.value == pytest.approx(value)
    assert not list((run / "samples").glob("*.tmp"))


def test_a_resumed_run_makes_the_same_samples(cache, vae_file, tmp_path):  # noqa: F811
    """Fixed prompts and seeds: the set of step 4 is the same whether or not the run was resumed at step 2."""
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    train(config(cache, whole, samples=samples(vae_file, adherence=False), log_with=[]), host=comfy_host)
    resume_copy(whole, 2, resumed)
    train(config(cache, resumed, samples=samples(vae_file, adherence=False), log_with=[]), host=comfy_host)
    a, b = (load_file(r / "samples" / "step-00000004" / "samples.safetensors") for r in (whole, resumed))
    assert a.keys() == b.keys() == {"latents", "semantic"}
    assert all(torch.equal(a[k], b[k]) for k in a)
    before = load_file(whole / "samples" / "step-00000002" / "samples.safetensors")
    assert not torch.equal(before["latents"], a["latents"])  # the weights moved between steps 2 and 4


def test_semantic_stage_samples_new_prompts_through_a_latent_generator(cache, vae_file, tmp_path):  # noqa: F811
    first = tmp_path / "latent"
    train(config(cache, first, log_with=[]))
    prompts = ["a red circle moving left on a black background", "a blue square moving up on a gray background"]
    renderer = str(first / "latent_generator.safetensors")
    sc = samples(vae_file, prompts=prompts, text_encoder="minilm", latent_generator=renderer)
    model = dict(MODEL, in_dim=8, out_dim=8, patch_size=(1, 1, 1), semantic_dim=0)
    compressor = str(first / "compressor.safetensors")
    run = tmp_path / "semantic"
    train(
        config(cache, run, stage="semantic", compressor_path=compressor, model=model, samples=sc, log_with=[]),
        host=comfy_host,
    )
    folder = run / "samples" / "step-00000004"
    record = json.loads((folder / "samples.json").read_text())
    assert record["prompts"] == prompts and len(record["readings"]) == 2
    saved = load_file(folder / "samples.safetensors")
    assert saved["semantic"].shape == (2, 8, 2, 2, 2) and saved["latents"].shape == (2, 16, 3, 8, 8)
    assert load_video(str(folder / "sample-01.mp4"))[0].shape == (9, 64, 64, 3)


def test_the_reader_scores_a_rendered_clip_against_its_caption():
    """The evaluation is right on what it should accept and on what it should refuse: a rendered clip read against
    its own caption, then against a caption naming other attributes."""
    clip = Clip.random(random.Random(3))
    frames = render(clip, 17, 64)
    right = reading_hits(frames, caption(clip, random.Random(0)))
    assert right["hits"] == dict.fromkeys(("colour", "background", "shape", "motion"), True)
    assert right["one_piece"] == 1.0
    others = {"shape": "triangle" if clip.shape != "triangle" else "circle",
              "colour": "red" if clip.colour != "red" else "green",
              "background": "navy" if clip.background != "navy" else "black",
              "motion": "left" if clip.motion != "left" else "right"}  # fmt: skip
    wrong = reading_hits(frames, f"a {others['colour']} {others['shape']} moving {others['motion']} on a "
                                 f"{others['background']} background")  # fmt: skip
    assert wrong["hits"] == dict.fromkeys(("colour", "background", "shape", "motion"), False)
    assert adherence_logs([right, wrong])["eval/shape"] == 0.5


@pytest.mark.parametrize(
    ("fields", "stage", "error"),
    [
        (dict(every=2, prompts=["a red circle"]), "semantic", "samples.text_encoder"),
        (dict(every=2, prompts=["a red circle"], text_encoder="minilm"), "latent", "samples.semantic_generator"),
        (dict(every=2, adherence=True), "latent", "samples.adherence"),
        (dict(every=-1), "latent", "samples: every"),
        (dict(every=2, vae="vae.safetensors"), "latent", "train with `python scripts/train.py`"),
    ],
)
def test_sample_settings_that_cannot_work_are_refused_before_training(fields, stage, error):
    with pytest.raises(ValueError, match=error):
        SampleConfig(**fields).check(stage)
