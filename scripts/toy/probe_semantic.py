"""Does a semantic generator produce features that say what the caption says? Linear probes read it.

    python scripts/toy/probe_semantic.py [models/semanticgen/semantic_generators/toy_semantic_generator.safetensors]

Probes (multinomial logistic regression) are fitted on the compressor's posterior means of the first 800 cached toy
clips, one per attribute (labels from the dataset's `clips`: varied captions use words no parser knows), and report
their accuracy on the held-out real clips (means and posterior samples: the ceiling) and, given a generator, on
features it samples from the held-out clips' cached captions.
No decoding, no VAE: a fast check of stage 2 alone. A probe fitted on the encoder's own features (before the
compressor) says what the compressor keeps of what the encoder sees.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import safe_open

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from semanticgen.compressor import load_compressor  # noqa: E402
from semanticgen.dit_io import load_dit  # noqa: E402
from semanticgen.pipeline import SamplingOptions, generate_semantic  # noqa: E402
from semanticgen.train.cache import CacheDataset  # noqa: E402

WORK = Path(os.environ.get("SEMANTICGEN_CACHE", Path.home() / ".cache" / "semanticgen-comfyui")) / "toy"
COMPRESSOR = ROOT / "models" / "semanticgen" / "compressors" / "toy_compressor_c8.safetensors"
FIT = 800  # clips the probes are fitted on; the rest are held out


def fit_probe(x: torch.Tensor, y: torch.Tensor, classes: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """x (N, ...) features, y (N,) labels -> a function from features to class indices."""
    x = x.flatten(1)
    mean, std = x.mean(0), x.std(0) + 1e-6
    w = torch.zeros(x.shape[1], classes, requires_grad=True)
    b = torch.zeros(classes, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=200)
    xn = (x - mean) / std

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(xn @ w + b, y) + 1e-3 * w.square().sum()
        loss.backward()
        return loss

    opt.step(closure)
    return lambda z: (((z.flatten(1) - mean) / std) @ w.detach() + b.detach()).argmax(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("generator", type=Path, nargs="?", help="a semantic generator (none: the real features only)")
    ap.add_argument("--compressor", type=Path, default=COMPRESSOR)
    ap.add_argument("--cache", type=Path, default=WORK / "cache")
    ap.add_argument("--dataset", type=Path, default=WORK / "dataset.safetensors", help="the cache's clips (labels)")
    ap.add_argument("--clips", type=int, default=40, help="held-out captions to sample from")
    ap.add_argument("--cfg", type=float, default=3.0)
    a = ap.parse_args()
    data = CacheDataset(a.cache)
    with safe_open(str(a.dataset), framework="pt") as f:
        clips = json.loads(f.metadata()["clips"])
    if len(clips) != len(data) or len(data) <= FIT:
        raise SystemExit(f"{a.cache} ({len(data)} clips) and {a.dataset} ({len(clips)}) must hold the same clips, "
                         f"more than {FIT}")  # fmt: skip
    with torch.no_grad():
        mean, logvar = load_compressor(a.compressor)(data.tensors["semantic"])  # (N, c, Ts, Hs, Ws)
    sample = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=torch.Generator().manual_seed(0))
    held = torch.arange(FIT, FIT + a.clips)
    generated = None
    if a.generator is not None:
        with torch.no_grad():
            generated = generate_semantic(load_dit(a.generator), data.tensors["text"][held],
                                          data.null_text.expand(len(held), -1, -1), 17, 64, 64,
                                          SamplingOptions(seed=0, steps=20, cfg=a.cfg, shift=3.0)).features  # fmt: skip
    print(f"| attribute | encoder features | real means (held out) | real samples | generated ({a.clips} captions) |")
    print("|---|---|---|---|---|")
    encoder = data.tensors["semantic"]  # (N, d, Ts, Hs, Ws) before the compressor
    for attr in ("motion", "shape", "colour", "background"):
        values = [c[attr] for c in clips]
        names = sorted(set(values))
        y = torch.tensor([names.index(v) for v in values])
        probe = fit_probe(mean[:FIT], y[:FIT], len(names))
        acc = lambda z, labels, probe=probe: (probe(z) == labels).float().mean().item()  # noqa: E731
        seen = (fit_probe(encoder[:FIT], y[:FIT], len(names))(encoder[FIT:]) == y[FIT:]).float().mean().item()
        print(f"| {attr} | {seen:.1%} | {acc(mean[FIT:], y[FIT:]):.1%} | {acc(sample[FIT:], y[FIT:]):.1%} | "
              f"{'—' if generated is None else f'{acc(generated, y[held]):.1%}'} |")  # fmt: skip
    if generated is None:
        return
    spread = lambda z: z.std(dim=2).mean().item()  # noqa: E731  temporal spread: how much features move over time
    print(f"std: real {mean.std():.2f}, generated {generated.std():.2f}; temporal spread: real {spread(mean):.2f}, "
          f"generated {spread(generated):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
