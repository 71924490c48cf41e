"""python -m semanticgen.train CONFIG.json [--steps N] [--out DIR]   (or under `accelerate launch ... -m`)."""

import argparse

from .trainer import TrainConfig, train


def main(argv: list[str] | None = None, host=None) -> None:
    """`host`: what loads ComfyUI's models for sample videos (scripts/train.py passes scripts/comfy_host.py)."""
    ap = argparse.ArgumentParser(description="Train a SemanticGen stage on cached tensors.")
    ap.add_argument("config", help="JSON file with TrainConfig fields (see configs/)")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--out")
    ap.add_argument("--cache")
    a = ap.parse_args(argv)
    overrides = {k: v for k, v in (("steps", a.steps), ("out", a.out), ("cache", a.cache)) if v is not None}
    train(TrainConfig.load(a.config, **overrides), host)


if __name__ == "__main__":
    main()
