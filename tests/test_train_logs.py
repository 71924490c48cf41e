"""Observability: accelerate's TensorBoard tracker gets the losses, learning rate, gradient norm and throughput."""

from __future__ import annotations

import pytest
from test_train_data import one_process  # noqa: F401 (fixture: a stand-in cache)
from test_train_fsdp import config

from semanticgen.train import train

TAGS = {"train/loss", "train/flow", "train/kl", "train/grad_norm", "lr", "samples_per_s", "tokens_per_s"}


def test_tensorboard_holds_every_scalar_at_every_logged_step(one_process, tmp_path, capsys):  # noqa: F811
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train(config(one_process, tmp_path / "run", gradient_checkpointing=False))  # 4 steps, logged every step
    events = EventAccumulator(str(next((tmp_path / "run" / "logs").rglob("events.out.tfevents.*")).parent)).Reload()
    assert set(events.Tags()["scalars"]) >= TAGS
    for tag in TAGS:
        assert [e.step for e in events.Scalars(tag)] == [1, 2, 3, 4], tag
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")]
    for line, event in zip(printed, events.Scalars("train/flow"), strict=True):
        assert float(line.split(" flow ")[1].split()[0]) == pytest.approx(event.value, abs=1e-4)
    assert all(e.value > 0 for e in events.Scalars("tokens_per_s"))
    ratio = events.Scalars("tokens_per_s")[0].value / events.Scalars("samples_per_s")[0].value
    assert ratio == pytest.approx(9 * 4 * 4 + 8, rel=1e-4)  # latent tokens (9, 8/2, 8/2) + semantic (2, 2, 2)
