"""Data at scale: the sharded cache build across processes (same shards as one process, a killed rank resumes) and
the streaming reader (bounded host memory, the same batches after a resume)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from server_harness import ROOT
from stream_memory import measure_in_subprocess, write_synthetic
from test_train import STATE_FILES, assert_same_files, resume_copy
from test_train_fsdp import config

from semanticgen.toy.data import clip_batch
from semanticgen.train import ShardStream, train
from semanticgen.train.build import ShardPlan, ShardWriter, build_sharded

SOURCES = [f"clip-{i:02d}.mp4" for i in range(12)]
SKIPPED = 5  # a source without a usable clip (too short, no caption): its shard is written with one row less


def build_stand_in(out: str, seconds_per_clip: float = 0.0) -> None:
    """This process's shards (rank and world from the environment, as under torchrun or `accelerate launch`) of 12
    toy clips, 2 a shard, with the stand-in VAE and text encoders of test_train.build_slow_toy_cache."""
    from tiny import tiny_encoder

    def vae(frames: torch.Tensor) -> torch.Tensor:  # (T, H, W, 3) -> (1, 16, T, H/8, W/8)
        time.sleep(seconds_per_clip)
        return frames.mean(-1)[None, None, :, ::8, ::8].repeat(1, 16, 1, 1, 1)

    def text(captions: list[str]) -> torch.Tensor:
        return torch.tensor([[[len(c), sum(map(ord, c)) % 97]] for c in captions], dtype=torch.float32)

    _, captions, video = clip_batch(random.Random(0), len(SOURCES), 9, 64)
    load = lambda i: None if i == SKIPPED else (video[i], captions[i])  # noqa: E731
    writer = ShardWriter(vae, text, tiny_encoder(), 8.0, 4.0)
    with torch.no_grad():
        build_sharded(ShardPlan.from_env(len(SOURCES), 2), SOURCES, load, out, writer, (9, 64, 64, 3))


def start_rank(out: Path, rank: int, world: int, seconds_per_clip: float = 0.0) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
        "OMP_NUM_THREADS": "1",
        "RANK": str(rank),
        "WORLD_SIZE": str(world),
    }
    code = f"from test_train_data import build_stand_in as b; b({str(out)!r}, {seconds_per_clip})"
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stderr=subprocess.PIPE)


def assert_same_shards(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.glob("shard-*.safetensors"))
    assert names == sorted(p.name for p in b.glob("shard-*.safetensors")) and len(names) == 6
    assert_same_files(a, b, tuple(names))
    for name in names:
        with safe_open(str(a / name), "pt") as fa, safe_open(str(b / name), "pt") as fb:
            assert fa.metadata() == fb.metadata(), name


@pytest.fixture(scope="module")
def one_process(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("one_process")
    build_stand_in(str(out))
    return out


def test_shard_plan_gives_every_source_to_one_process():
    plans = [ShardPlan(11, 2, rank, 3).shards() for rank in range(3)]
    assert sorted(i for plan in plans for _, idx in plan for i in idx) == list(range(11))
    assert [k for k, _ in plans[1]] == [1, 4]


@pytest.mark.slow
def test_two_processes_build_the_shards_one_process_builds(one_process, tmp_path):
    ranks = [start_rank(tmp_path, r, 2) for r in range(2)]
    assert [p.wait() for p in ranks] == [0, 0], [p.stderr.read().decode()[-2000:] for p in ranks]
    assert_same_shards(one_process, tmp_path)
    assert load_file(str(tmp_path / "shard-00002.safetensors"))["latents"].shape[0] == 1  # the skipped source


@pytest.mark.slow
def test_a_rank_killed_mid_build_resumes_with_nothing_lost(one_process, tmp_path):
    ranks = [start_rank(tmp_path, r, 2, seconds_per_clip=0.3) for r in range(2)]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (tmp_path / "shard-00001.safetensors").exists():
        time.sleep(0.02)
    ranks[1].send_signal(signal.SIGKILL)  # rank 1 has shard 1, not yet 3 and 5
    assert ranks[1].wait() == -signal.SIGKILL and ranks[0].wait() == 0
    assert not (tmp_path / "shard-00005.safetensors").exists()
    kept = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("shard-*.safetensors")}
    assert start_rank(tmp_path, 1, 2).wait() == 0  # the killed rank again: resumes after its finished shards
    assert {name: (tmp_path / name).stat().st_mtime_ns for name in kept} == kept
    assert not list(tmp_path.glob("*.tmp"))
    assert_same_shards(one_process, tmp_path)


def test_stream_rows_depend_on_the_step_alone_and_cover_each_epoch(one_process):
    used, fresh = ShardStream(one_process, seed=3), ShardStream(one_process, seed=3)
    walked = [used.draw(None, 2, step, rank, 2) for step in range(8) for rank in range(2)]
    again = fresh.draw(None, 2, 5, 1, 2)  # step 5, rank 1, straight away (as after a resume)
    assert all(torch.equal(again[k], walked[5 * 2 + 1][k]) for k in again)
    rows = len(used)  # 11: one epoch of the stream is 11 positions across both ranks
    assert rows == 11
    firsts = torch.cat([b["text"] for b in walked])[:rows]
    ordered = torch.cat([load_file(str(p))["text"] for p in sorted(one_process.glob("*.safetensors"))])
    assert sorted(map(tuple, firsts.flatten(1).tolist())) == sorted(map(tuple, ordered.flatten(1).tolist()))


def test_streaming_training_resumes_with_the_same_batches(one_process, tmp_path):
    cfg = lambda out: config(one_process, out, streaming=True, gradient_checkpointing=False)  # noqa: E731
    train(cfg(tmp_path / "a"))
    resume_copy(tmp_path / "a", 2, tmp_path / "b")
    train(cfg(tmp_path / "b"))
    step4 = Path("checkpoints/step-00000004")
    assert_same_files(tmp_path / "a" / step4, tmp_path / "b" / step4, STATE_FILES)


def test_stream_memory_is_bounded_by_its_cached_shards(tmp_path):
    """40 shards of 64 rows × 40 KiB (100 MiB): reading 200 batches across 25 of them stays within 2 shards
    (the LRU) + 1 while loading + a stated 16 MiB for the batches and the allocator."""
    shard = write_synthetic(
        tmp_path, 40 * 64, rows=64, shapes={"latents": (16, 5, 8, 8), "text": (32, 160), "semantic": (8, 2, 2, 2)}
    )
    r = measure_in_subprocess(tmp_path, steps=200, batch=8)
    assert r["rows"] == 40 * 64
    assert r["above_start"] < 3 * shard + 16 * 2**20, (r, shard)
    assert r["above_start"] < 0.4 * 40 * shard  # far below reading it all
