"""`python -m semanticgen.train` with ComfyUI's models for sample videos (`samples.vae`, a ComfyUI text encoder):
the same arguments, under torchrun or `accelerate launch` too.

    python scripts/train.py CONFIG.json [--steps N] [--out DIR] [--cache DIR]
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import comfy_host  # noqa: E402

from semanticgen.train.__main__ import main  # noqa: E402

if __name__ == "__main__":
    main(host=comfy_host)
