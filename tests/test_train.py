"""Training: cache building with ComfyUI's VAE, a real learning check, and 2-process resume on accelerate."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from server_harness import ROOT
from tiny import tiny_encoder, tiny_wan_vae_state

from semanticgen.text import MiniLMTextEncoder
from semanticgen.toy.data import clip_batch
from semanticgen.train import CacheDataset, TrainConfig, train
from semanticgen.train.build import build_cache

MODEL = dict(dim=32, ffn_dim=64, num_heads=2, num_layers=2, text_dim=384, semantic_dim=8)
SPACE = dict(channels=8, pixels_per_token=28, sample_fps=4.0, temporal_patch=2, video_fps=8.0)


@pytest.fixture(scope="module")
def cache(tmp_path_factory, comfy_modules):
    """64 toy clips (9 frames, 64×64) through ComfyUI's own Wan VAE (tiny), MiniLM and a tiny encoder."""
    import comfy.latent_formats
    import comfy.sd

    vae = comfy.sd.VAE(sd=tiny_wan_vae_state())
    fmt = comfy.latent_formats.Wan21()
    _, captions, video = clip_batch(random.Random(0), 64, 9, 64)
    out = tmp_path_factory.mktemp("cache")
    with torch.no_grad():
        shards = build_cache(zip(video, captions, strict=True), out, lambda f: fmt.process_in(vae.encode(f)),
                             MiniLMTextEncoder().encode, tiny_encoder(), 8.0, 4.0, shard_size=40)  # fmt: skip
    assert [p.name for p in shards] == ["shard-00000.safetensors", "shard-00001.safetensors"]
    return out


def test_cache_layout(cache):
    data = CacheDataset(cache)
    assert len(data) == 64
    t = data.tensors
    assert t["latents"].shape == (64, 16, 3, 8, 8)  # 9 frames -> 3 latent frames, 64 px -> 8
    assert t["text"].shape == (64, 32, 384) and data.null_text.shape == (1, 32, 384)
    assert t["semantic"].shape == (64, 48, 2, 2, 2)  # 4 sampled frames -> 2 steps, 64 px -> 56 / 28
    assert data.meta["step_bounds"] == [0, 4, 9]
    assert len(data.meta["captions"]) == 24  # the last shard's captions


def test_interrupted_build_resumes_without_redoing_shards(cache, tmp_path):
    first = (cache / "shard-00000.safetensors").stat().st_mtime_ns
    calls = []

    def vae(frames):
        calls.append(1)
        return torch.zeros(1, 16, 3, 8, 8)

    _, captions, video = clip_batch(random.Random(0), 64, 9, 64)
    with torch.no_grad():
        build_cache(zip(video, captions, strict=True), cache, vae, MiniLMTextEncoder().encode, tiny_encoder(),
                    8.0, 4.0, shard_size=40)  # fmt: skip
    assert calls == [] and (cache / "shard-00000.safetensors").stat().st_mtime_ns == first
    assert not list(cache.glob("*.tmp"))


@pytest.mark.parametrize("change", ["clips", "sample_fps", "frames"])
def test_resuming_into_a_folder_of_another_build_is_refused(cache, tmp_path, change):
    """Finished shards are reused only for the same clips and settings: another dataset, rate or clip length in the
    same folder would otherwise be mixed in silently."""
    before = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.safetensors")}
    frames, fps = (13 if change == "frames" else 9), (2.0 if change == "sample_fps" else 4.0)
    _, captions, video = clip_batch(random.Random(1 if change == "clips" else 0), 64, frames, 64)
    vae = lambda f: torch.zeros(1, 16, (f.shape[0] + 3) // 4, 8, 8)  # noqa: E731 (never reached)
    with pytest.raises(ValueError, match=r"out: shard-00000.safetensors was built from other " +
                       ("clips" if change == "clips" else "settings")):  # fmt: skip
        build_cache(zip(video, captions, strict=True), cache, vae, MiniLMTextEncoder().encode, tiny_encoder(),
                    8.0, fps, shard_size=40)  # fmt: skip
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("*.safetensors")} == before


def config(cache: Path, out: Path, **kw) -> TrainConfig:
    base = dict(stage="latent", cache=str(cache), out=str(out), model=MODEL, space=SPACE, batch_size=8,
                compressor=dict(in_dim=48, out_dim=8, hidden_dim=32, depth=2), steps=4, checkpoint_every=2,
                log_every=1, warmup=5, lr=1e-3)  # fmt: skip
    return TrainConfig(**{**base, **kw})


@pytest.mark.slow
def test_training_lowers_the_loss(cache, tmp_path, capsys):
    train(config(cache, tmp_path / "run", steps=300, checkpoint_every=300, log_every=10, warmup=20))
    flows = [float(line.split(" flow ")[1].split()[0]) for line in capsys.readouterr().out.splitlines()
             if " flow " in line]  # fmt: skip
    first, last = sum(flows[:3]) / 3, sum(flows[-3:]) / 3
    assert last < 0.7 * first, (first, last)  # stated margin: at least 30% lower after 300 steps
    assert (tmp_path / "run" / "latent_generator.safetensors").is_file()
    assert (tmp_path / "run" / "compressor.safetensors").is_file()


def launch_two(cfg: TrainConfig, folder: Path, torchrun: bool = False) -> str:
    """Train `cfg` in 2 CPU processes over gloo; returns rank 0's log. The two ranks are started with the
    environment torchrun gives them (RANK, WORLD_SIZE, MASTER_ADDR, ...), which is all the trainer and accelerate
    read, without torchrun's own launcher process (3 s of imports per run); `torchrun=True` goes through torchrun
    itself (one test does). Not `accelerate launch`: accelerate 1.15 runs a CPU config in a single process unless it
    goes through mpirun."""
    path = folder / f"{Path(cfg.out).name}.json"
    path.write_text(json.dumps(cfg.__dict__))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "ACCELERATE_USE_CPU": "true"}
    train_cmd = [sys.executable, "-m", "semanticgen.train", str(path)]
    if torchrun:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *train_cmd[1:]]
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        out, err, code = done.stdout, done.stderr, done.returncode
    else:
        out, err, code = run_ranks(train_cmd, env)
    assert code == 0, out[-2000:] + err[-4000:]
    assert "MULTI_CPU on 2 processes" in out or "FSDP on 2 processes" in out, out[-2000:]
    return out


def run_ranks(cmd: list[str], env: dict[str, str], world: int = 2) -> tuple[str, str, int]:
    """`cmd` as `world` ranks of one gloo job on this machine: (rank 0's stdout, every rank's stderr, the first
    non-zero exit code or 0). A rank that fails stops the others, as torchrun does."""
    import tempfile

    from host import free_port

    port, procs = str(free_port()), []
    with tempfile.TemporaryDirectory() as logs:
        for rank in range(world):
            rank_env = {**env, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "WORLD_SIZE": str(world),
                        "RANK": str(rank), "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": str(world)}  # fmt: skip
            out, err = (open(Path(logs) / f"{rank}.{k}", "w") for k in ("out", "err"))  # noqa: SIM115
            procs.append((subprocess.Popen(cmd, cwd=ROOT, env=rank_env, stdout=out, stderr=err), out, err))
        try:
            for proc, *_ in procs:
                if proc.wait(timeout=600):
                    break
        finally:
            for proc, out, err in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                out.close()
                err.close()
        codes = [proc.returncode for proc, *_ in procs]
        read = lambda name: (Path(logs) / name).read_text()  # noqa: E731
        return read("0.out"), "".join(read(f"{r}.err") for r in range(world)), next((c for c in codes if c), 0)


def resume_copy(run: Path, step: int, into: Path) -> None:
    """A run folder holding only `run`'s checkpoint at `step`: training there resumes from it."""
    import shutil

    name = f"step-{step:08d}"
    (into / "checkpoints").mkdir(parents=True)
    shutil.copytree(run / "checkpoints" / name, into / "checkpoints" / name)
    (into / "checkpoints" / "latest").write_text(name)


def assert_same_files(a: Path, b: Path, names: tuple[str, ...], atol: float = 0.0) -> None:
    """The safetensors files `names` under `a` and `b` hold the same tensors (exactly, or within `atol`)."""
    for name in names:
        a_t, b_t = load_file(str(a / name)), load_file(str(b / name))
        assert a_t.keys() == b_t.keys(), name
        for k in a_t:
            same = torch.equal(a_t[k], b_t[k]) if not atol else torch.allclose(a_t[k], b_t[k], rtol=0, atol=atol)
            assert same, f"{name}:{k} differs by {(a_t[k] - b_t[k]).abs().max()}"


STATE_FILES = ("model.safetensors", "ema.safetensors", "optimizer.safetensors")


@pytest.mark.slow
def test_two_process_run_resumes_with_identical_continuation(cache, tmp_path):
    # straight through, checkpoints at 2 and 4; through torchrun itself (the other two-process runs set its env)
    launch_two(config(cache, tmp_path / "a", steps=4), tmp_path, torchrun=True)
    resume_copy(tmp_path / "a", 2, tmp_path / "b")
    assert "resumed from step 2" in launch_two(config(cache, tmp_path / "b", steps=4), tmp_path)
    assert_same_files(tmp_path / "a/checkpoints/step-00000004", tmp_path / "b/checkpoints/step-00000004", STATE_FILES)


def test_two_process_run_with_text_only_steps(cache, tmp_path):
    """semantic_dropout under DDP: a text-only step leaves the semantic embedding without gradients on every
    process (they all take rank 0's draw); DDP is told parameters may go unused, else its next step fails."""
    log = launch_two(config(cache, tmp_path / "a", steps=6, checkpoint_every=6, semantic_dropout=0.5), tmp_path)
    assert "step 6/6" in log


def test_same_seed_same_initialisation(cache, tmp_path):
    from semanticgen.features import SemanticSpace
    from semanticgen.train.trainer import LatentStage

    states = []
    for _ in range(2):
        torch.manual_seed(123)  # what train() does with cfg.seed before building the stage
        states.append(LatentStage(config(cache, tmp_path), SemanticSpace(**SPACE)).state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_latent_stage_refines_in_a_frozen_semantic_space(cache, tmp_path):
    """compressor_path on stage latent: the latent generator starts from `init_from` and trains on, the compressor
    is exported bit-identical (so semantic generators trained on it stay valid)."""
    first = train(config(cache, tmp_path / "a", steps=3))
    frozen = dict(init_from=str(first / "latent_generator.safetensors"), compressor={},
                  compressor_path=str(first / "compressor.safetensors"))  # fmt: skip
    start = train(config(cache, tmp_path / "b0", steps=0, **frozen))
    run = train(config(cache, tmp_path / "b", steps=3, **frozen))
    before, after = load_file(str(first / "compressor.safetensors")), load_file(str(run / "compressor.safetensors"))
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    g0, g_start, g1 = (load_file(str(r / "latent_generator.safetensors")) for r in (first, start, run))
    assert all(torch.equal(g0[k], g_start[k]) for k in g0), "init_from was not loaded"
    assert any(not torch.equal(g0[k], g1[k]) for k in g0), "the latent generator did not train"
    with pytest.raises(ValueError, match="not both"):
        train(config(cache, tmp_path / "c", compressor_path=str(first / "compressor.safetensors")))
    with pytest.raises(ValueError, match="another config"):  # same tensor shapes, other heads
        train(config(cache, tmp_path / "d", **frozen, model={**MODEL, "num_heads": 4}))


def test_resuming_under_another_recipe_is_refused(cache, tmp_path):
    train(config(cache, tmp_path / "run", steps=2))
    with pytest.raises(ValueError, match=r"other settings \(lr\)"):
        train(config(cache, tmp_path / "run", steps=4, lr=5e-4))
    with pytest.raises(ValueError, match="past steps = 1"):
        train(config(cache, tmp_path / "run", steps=1))
    train(config(cache, tmp_path / "run", steps=3, log_every=2, checkpoint_every=3))  # longer, other logging: fine


@pytest.mark.parametrize("target", ["sample", "mean"])
def test_semantic_stage_trains_at_unit_scale_and_samples_back(cache, tmp_path, target):
    """normalize_semantic: the exported semantic generator carries its targets' per-channel statistics (the exact
    formula agrees with drawn posterior samples) and `generate_semantic` returns features at the compressor's scale."""
    from semanticgen.compressor import load_compressor
    from semanticgen.dit_io import load_dit
    from semanticgen.pipeline import SamplingOptions, generate_semantic

    compressor = train(config(cache, tmp_path / "latent", steps=2)) / "compressor.safetensors"
    model = dict(MODEL, in_dim=8, out_dim=8, patch_size=(1, 1, 1), semantic_dim=0)
    run = train(config(cache, tmp_path / "semantic", stage="semantic", compressor_path=str(compressor), model=model,
                       normalize_semantic=True, semantic_target=target, steps=2))  # fmt: skip
    generator = load_dit(run / "semantic_generator.safetensors")
    norm = generator.feature_norm
    assert norm is not None and len(norm.mean) == len(norm.std) == 8

    data = CacheDataset(cache)
    with torch.no_grad():
        mean, logvar = load_compressor(compressor)(data.tensors["semantic"])  # (N, 8, Ts, Hs, Ws)
    g = torch.Generator().manual_seed(0)
    draws = [mean + (torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=g) if target == "sample" else 0)
             for _ in range(200 if target == "sample" else 1)]  # fmt: skip
    drawn = torch.cat(draws).transpose(0, 1).flatten(1)  # (8, all values)
    assert torch.allclose(torch.tensor(norm.mean), drawn.mean(1), atol=0.02 * drawn.std().item())
    assert torch.allclose(torch.tensor(norm.std), drawn.std(1), rtol=0.02)

    text = data.tensors["text"][:2]
    opts = SamplingOptions(steps=2, cfg=1.0)
    scaled = generate_semantic(generator, text, None, 9, 64, 64, opts).features
    generator.feature_norm = None
    assert torch.allclose(scaled, norm.denormalize(generate_semantic(generator, text, None, 9, 64, 64, opts).features))


def test_semantic_stage_continues_from_an_export_at_its_scale(cache, tmp_path):
    """init_from on stage semantic (a short-clip generator continued on long clips): the weights start from the
    export and its output scale (`feature_norm`) is kept, not recomputed from the new cache."""
    from semanticgen.dit_io import load_dit, save_dit

    compressor = train(config(cache, tmp_path / "latent", steps=2)) / "compressor.safetensors"
    model = dict(MODEL, in_dim=8, out_dim=8, patch_size=(1, 1, 1), semantic_dim=0)
    semantic = dict(stage="semantic", compressor_path=str(compressor), model=model, normalize_semantic=True)
    first = train(config(cache, tmp_path / "a", steps=2, **semantic)) / "semantic_generator.safetensors"
    start = train(config(cache, tmp_path / "b0", steps=0, init_from=str(first), seed=7, **semantic))
    g0, g_start = load_file(str(first)), load_file(str(start / "semantic_generator.safetensors"))
    assert all(torch.equal(g0[k], g_start[k]) for k in g0), "init_from was not loaded"

    norm = load_dit(first).feature_norm
    norm.mean[0] += 1.0  # an export whose scale differs from the cache's statistics
    moved = load_dit(first)
    moved.feature_norm = norm
    save_dit(moved, tmp_path / "moved.safetensors")
    run = train(config(cache, tmp_path / "c", steps=1, init_from=str(tmp_path / "moved.safetensors"), **semantic))
    assert load_dit(run / "semantic_generator.safetensors").feature_norm == norm


def test_semantic_dropout_trains_the_text_only_path(cache, tmp_path, monkeypatch):
    """semantic_dropout: that share of steps calls the latent generator without semantic tokens (1.0: every step,
    the Swin-only baseline); 0, the default, never does, and draws every other tensor of a step as before."""
    from semanticgen.dit import SemanticGenDiT
    from semanticgen.train.trainer import draw_batch

    calls: list[bool] = []
    forward = SemanticGenDiT.forward

    def spy(self, x, t, context, semantic=None, **kw):
        calls.append(semantic is not None)
        return forward(self, x, t, context, semantic=semantic, **kw)

    monkeypatch.setattr(SemanticGenDiT, "forward", spy)
    for dropout, expected in ((0.0, {True}), (1.0, {False})):
        calls.clear()
        train(config(cache, tmp_path / f"d{dropout}", steps=3, semantic_dropout=dropout))
        assert set(calls) == expected, dropout
    calls.clear()
    train(config(cache, tmp_path / "half", steps=40, checkpoint_every=40, semantic_dropout=0.5))
    assert 10 <= calls.count(False) <= 30  # per step, seeded: 40 draws at p = 0.5

    data = CacheDataset(cache)
    cfgs = [config(cache, tmp_path, semantic_dropout=p) for p in (0.0, 0.3)]
    a, b = (draw_batch(data, c, 5, 0, 8) for c in cfgs)
    assert all(torch.equal(a[k], b[k]) for k in a if k != "text_only")


def test_swin_windows_cut_from_long_rows(tmp_path):
    """write_windows: every row of a long cache becomes windows at offsets 0, stride, …, latents and semantic steps
    over the same source frames, one `step_bounds` for all, the row's text and caption."""
    from semanticgen.train.cache import write_shard, write_windows

    n, steps, g = 3, 12, torch.Generator().manual_seed(0)
    rows = {
        "latents": torch.randn(n, 16, steps + 1, 4, 4, generator=g),  # 49 frames: 13 latent frames
        "semantic": torch.randn(n, 6, steps, 2, 2, generator=g),  # 12 steps of 4 frames (the last one 5)
        "text": torch.randn(n, 5, 384, generator=g),
        "null_text": torch.zeros(1, 5, 384),
    }
    bounds = [*range(0, 4 * steps, 4), 4 * steps + 1]
    write_shard(tmp_path / "long" / "shard-00000.safetensors", rows, {"step_bounds": bounds, "captions": list("abc")})
    shards = write_windows(tmp_path / "long", tmp_path / "win", window=5, stride=3, shard_size=4)
    out = CacheDataset(tmp_path / "win")
    offsets = [0, 3, 6]  # the last step (5 frames) is never cut: every window has the same bounds
    assert len(shards) == 3 and len(out) == n * len(offsets)
    assert out.meta["step_bounds"] == [0, 4, 8, 12, 16]
    k = 0
    for i in range(n):
        for j in offsets:
            assert torch.equal(out.tensors["latents"][k], rows["latents"][i, :, j : j + 5])
            assert torch.equal(out.tensors["semantic"][k], rows["semantic"][i, :, j : j + 4])
            assert torch.equal(out.tensors["text"][k], rows["text"][i])
            k += 1
    captions = [c for p in shards for c in json.loads(safe_open_meta(p)["captions"])]
    assert captions == [c for c in "abc" for _ in offsets]
    with pytest.raises(ValueError, match="window: expected 2"):
        write_windows(tmp_path / "long", tmp_path / "bad", window=13, stride=1)


def safe_open_meta(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return f.metadata()


@pytest.mark.slow
def test_training_killed_mid_way_resumes_with_nothing_lost(cache, tmp_path):
    """SIGKILL during training: the last checkpoint is complete, and the resumed run ends exactly where an
    uninterrupted run ends."""
    import signal
    import time

    def command(out: Path) -> list[str]:
        cfg = config(cache, out, steps=40, checkpoint_every=4)
        path = tmp_path / f"{out.name}.json"
        path.write_text(json.dumps(cfg.__dict__))
        return [sys.executable, "-m", "semanticgen.train", str(path)]

    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    killed = tmp_path / "killed"
    proc = subprocess.Popen(command(killed), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latest = killed / "checkpoints" / "latest"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (latest.exists() and latest.read_text() >= "step-00000012"):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and not (killed / "latent_generator.safetensors").exists()
    for ckpt in (killed / "checkpoints").glob("step-*"):  # every checkpoint under its final name is whole
        assert {p.name for p in ckpt.iterdir()} == {"model.safetensors", "ema.safetensors", "optimizer.safetensors",
                                                    "state.json"}  # fmt: skip
        load_file(str(ckpt / "model.safetensors"))
    for out in (killed, tmp_path / "straight"):
        done = subprocess.run(command(out), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
    a = load_file(str(killed / "latent_generator.safetensors"))
    b = load_file(str(tmp_path / "straight" / "latent_generator.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def build_slow_toy_cache(out: str, seconds_per_clip: float = 0.0) -> None:
    """12 toy clips in 6 shards of 2 with the tiny encoder and stand-in VAE and text encoders (deterministic; the
    optional sleep gives a SIGKILL time to land mid-way). Run in a subprocess by the test below."""
    import time

    def vae(frames: torch.Tensor) -> torch.Tensor:  # (T, H, W, 3) -> (1, 16, T, H/8, W/8)
        time.sleep(seconds_per_clip)
        return frames.mean(-1)[None, None, :, ::8, ::8].repeat(1, 16, 1, 1, 1)

    def text(captions: list[str]) -> torch.Tensor:
        return torch.tensor([[[len(c), sum(map(ord, c)) % 97]] for c in captions], dtype=torch.float32)

    _, captions, video = clip_batch(random.Random(0), 12, 9, 64)
    with torch.no_grad():
        build_cache(zip(video, captions, strict=True), out, vae, text, tiny_encoder(), 8.0, 4.0, shard_size=2)


@pytest.mark.slow
def test_cache_build_killed_mid_way_resumes_with_nothing_lost(tmp_path):
    """SIGKILL during build_cache: every shard under its final name is whole, and the resumed build ends with
    exactly the shards of an uninterrupted build."""
    import signal
    import time

    from safetensors import safe_open

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]), "OMP_NUM_THREADS": "1"}
    killed = tmp_path / "killed"
    code = f"from test_train import build_slow_toy_cache as b; b({str(killed)!r}, 0.2)"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(killed.glob("shard-*.safetensors"))) < 2:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, proc.stderr.read().decode()[-3000:]
    finished = sorted(p.name for p in killed.glob("shard-*.safetensors"))
    assert 2 <= len(finished) < 6, finished  # killed mid-way
    for name in finished:  # whole: every tensor of every shard under a final name reads
        assert load_file(str(killed / name)).keys() == {"latents", "text", "semantic", "null_text"}
    mtimes = {name: (killed / name).stat().st_mtime_ns for name in finished}
    build_slow_toy_cache(str(killed))  # resume (in-process: the same library call)
    build_slow_toy_cache(str(tmp_path / "straight"))
    assert {name: (killed / name).stat().st_mtime_ns for name in finished} == mtimes  # finished shards kept
    names = sorted(p.name for p in (tmp_path / "straight").glob("shard-*.safetensors"))
    assert names == sorted(p.name for p in killed.glob("shard-*.safetensors")) and len(names) == 6
    for name in names:
        a, b = load_file(str(killed / name)), load_file(str(tmp_path / "straight" / name))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
        with safe_open(str(killed / name), "pt") as fa, safe_open(str(tmp_path / "straight" / name), "pt") as fb:
            assert fa.metadata() == fb.metadata(), name
    assert len(CacheDataset(killed)) == 12
