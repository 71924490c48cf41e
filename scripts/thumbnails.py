"""Template thumbnails: `example_workflows/<name>.jpg` beside each workflow (ComfyUI's template convention), made
from the canvas screenshots the browser test saves in tests/artifacts/.

    make test && python scripts/thumbnails.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from semanticgen.checkpoints import atomic_write  # noqa: E402

SIZE = (512, 288)


def main() -> None:
    for workflow in sorted((ROOT / "example_workflows").glob("*.json")):
        shot = ROOT / "tests" / "artifacts" / f"{workflow.stem}.png"
        if not shot.is_file():
            raise SystemExit(f"{shot} is missing: run the browser test first (make test)")
        img = Image.open(shot).convert("RGB")
        w, h = img.size
        img = img.crop((60, 70, w, h - 120))  # drop the side bar, the tab strip and the minimap row
        img.thumbnail((SIZE[0] * 2, SIZE[1] * 2))
        img = img.resize(SIZE, Image.LANCZOS) if img.size != SIZE else img
        atomic_write(workflow.with_suffix(".jpg"), lambda tmp, im=img: im.save(tmp, format="JPEG", quality=85))
        sys.stdout.write(f"wrote {workflow.with_suffix('.jpg').relative_to(ROOT)}\n")


if __name__ == "__main__":
    main()
