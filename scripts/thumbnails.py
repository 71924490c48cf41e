"""Template thumbnails: `example_workflows/<name>.jpg` beside each workflow (ComfyUI's template convention), made
from the canvas screenshots the browser test saves in tests/artifacts/ (the host's frontend, canvas renderer: the
whole graph fitted into a 2400×1350 page), and the README's canvas picture docs/t2v_canvas.png.

    make test PYTEST_ARGS="-q tests/test_browser.py" && python scripts/thumbnails.py    # or: make pictures
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from semanticgen.checkpoints import atomic_write  # noqa: E402

SIZE = (512, 288)
CANVAS_PICTURE = ROOT / "docs" / "t2v_canvas.png"


def canvas(shot: Path) -> Image.Image:
    """The graph area of a screenshot: without the side bar, the tab strip and the workflow menu."""
    img = Image.open(shot).convert("RGB")
    w, h = img.size
    return img.crop((60, 130, w, h - 10))


def fitted(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The picture scaled into `size` keeping its aspect, on the canvas's own background colour."""
    img = img.copy()
    img.thumbnail(size, Image.LANCZOS)
    out = Image.new("RGB", size, img.getpixel((img.width - 1, img.height - 1)))
    out.paste(img, ((size[0] - img.width) // 2, (size[1] - img.height) // 2))
    return out


def main() -> None:
    for workflow in sorted((ROOT / "example_workflows").glob("*.json")):
        shot = ROOT / "tests" / "artifacts" / f"{workflow.stem}.png"
        if not shot.is_file():
            raise SystemExit(f"{shot} is missing: run the browser test first (make test)")
        img = fitted(canvas(shot), SIZE)
        atomic_write(workflow.with_suffix(".jpg"), lambda tmp, im=img: im.save(tmp, format="JPEG", quality=85))
        sys.stdout.write(f"wrote {workflow.with_suffix('.jpg').relative_to(ROOT)}\n")
    picture = fitted(canvas(ROOT / "tests" / "artifacts" / "semanticgen_text_to_video.png"), (1600, 700))
    atomic_write(CANVAS_PICTURE, lambda tmp: picture.save(tmp, format="PNG", optimize=True))
    sys.stdout.write(f"wrote {CANVAS_PICTURE.relative_to(ROOT)}\n")


if __name__ == "__main__":
    main()
