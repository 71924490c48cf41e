"""Security properties checked mechanically: pickle-free loading, no eval/exec, no network at run time."""

from __future__ import annotations

import re
import socket

import pytest
import torch
from server_harness import ROOT

SOURCES = [p for d in ("semanticgen", "nodes", "scripts") for p in (ROOT / d).rglob("*.py")] + [ROOT / "__init__.py"]


def test_no_pickle_eval_or_exec_in_the_code():
    bad = []
    for path in SOURCES:
        text = path.read_text()
        for pattern in (
            r"(?<![.\w])eval\(",
            r"(?<![.\w])exec\(",
            r"\bimport pickle\b",
            r"pickle\.load",
            r"torch\.load\((?![^)]*weights_only=True)",
        ):
            if re.search(pattern, text):
                bad.append((path.relative_to(ROOT), pattern))
    assert not bad, bad


def test_frontend_never_inserts_html():
    for path in (ROOT / "js").rglob("*.js"):
        text = path.read_text()
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text, path


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_demo_pipeline_runs_with_sockets_blocked(no_network):
    from semanticgen.compressor import load_compressor
    from semanticgen.dit_io import load_dit
    from semanticgen.encoder import load_encoder
    from semanticgen.pipeline import SamplingOptions, generate_latent, generate_semantic
    from semanticgen.text import MiniLMTextEncoder
    from semanticgen.toy import Clip, render

    models = ROOT / "models" / "semanticgen"
    text = MiniLMTextEncoder().encode(["a red circle moving left on a black background"])
    opts = SamplingOptions(seed=0, steps=2, cfg=1.0)
    sem = generate_semantic(load_dit(models / "semantic_generators" / "toy_semantic_generator.safetensors"), text, None,
                            17, 64, 64, opts)  # fmt: skip
    gen = load_dit(models / "latent_generators" / "toy_latent_generator.safetensors")
    assert generate_latent(gen, text, None, sem, 0.1, opts).shape == (1, 16, 5, 8, 8)
    ref = load_encoder(models / "encoders" / "toy_encoder.safetensors").encode(
        render(Clip("circle", "red", "navy", "right"), 17, 64), 8.0, 4.0
    )
    comp = load_compressor(models / "compressors" / "toy_compressor_c8.safetensors").compress(ref)
    assert torch.isfinite(generate_latent(gen, text, None, comp, 0.1, opts)).all()
