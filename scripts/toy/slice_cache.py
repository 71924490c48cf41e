"""Cut a cache of minute-long clips into Swin-window rows for the latent stage (semanticgen.train.cache.write_windows).

python scripts/toy/slice_cache.py LONG_CACHE OUT_DIR [--window 9] [--stride 4]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from semanticgen.train.cache import write_windows  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=Path, help="a cache of long clips (build_cache.py on make_dataset.py --long)")
    ap.add_argument("out", type=Path)
    ap.add_argument("--window", type=int, default=9, help="latent frames per row: one Swin window of 8 and one")
    ap.add_argument("--stride", type=int, default=4, help="latent frames between row offsets")
    a = ap.parse_args()
    shards = write_windows(a.src, a.out, a.window, a.stride)
    sys.stdout.write(f"{len(shards)} shards in {a.out}\n")


if __name__ == "__main__":
    main()
