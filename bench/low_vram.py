"""The README's Low-VRAM table: the planner's peak per stage for Wan2.1-1.3B- and 14B-sized generators, and the
settings it recommends for 8/12/16/24 GB GPUs. Pure arithmetic on meta-device models (runs anywhere in seconds).

    python bench/low_vram.py
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from semanticgen.dit import DiTConfig  # noqa: E402
from semanticgen.features import SemanticSpace  # noqa: E402
from semanticgen.memory import GiB, Settings, advice, host_bytes, plan, recommend  # noqa: E402

SPACE = SemanticSpace(channels=64, video_fps=16.0)
SIZES = {
    "1.3B": (DiTConfig.wan21_1_3b(semantic_dim=64), DiTConfig.wan21_1_3b(in_dim=64, out_dim=64, patch_size=(1, 1, 1))),
    "14B": (DiTConfig.wan21_14b(semantic_dim=64), DiTConfig.wan21_14b(in_dim=64, out_dim=64, patch_size=(1, 1, 1))),
}
RUNS = {
    "480p × 81 frames, full": Settings(width=832, height=480, frames=81),
    "480p × 60 s (961 frames), Swin w=8": Settings(width=832, height=480, frames=961, window=8),
}
PRESETS_GB = (8, 12, 16, 24)


def gb(n: int) -> str:
    return f"{n / 1e9:.1f}"


def main() -> None:
    presets = " | ".join(f"{g} GB" for g in PRESETS_GB)
    print(f"| generators | video | stage peaks, bf16 (GB) | host (GB) | {presets} |")
    print("|---|---|---|---|" + "---|" * len(PRESETS_GB))
    for size, (latent, semantic) in SIZES.items():
        for name, s in RUNS.items():
            stages = plan(latent, semantic, SPACE, s)
            peaks = " / ".join(f"{st.stage.split()[0]} {gb(st.peak)}" for st in stages)
            cells = []
            for preset in PRESETS_GB:
                budget = int(preset * 1e9)
                if max(st.peak for st in stages) <= budget:
                    cells.append("fits")
                    continue
                tips = recommend(latent, semantic, SPACE, s, budget)
                cells.append(advice(tips))
            print(f"| {size} | {name} | {peaks} | {gb(host_bytes(stages))} | " + " | ".join(cells) + " |")
    s = replace(RUNS["480p × 81 frames, full"], blocks_to_swap=30)
    print(
        f"\n(1 GB = 1e9 bytes; {GiB} bytes = 1 GiB. Example: 1.3B, 81 frames, all 30 blocks swapped: latent stage "
        f"{gb(plan(*SIZES['1.3B'], SPACE, s)[-1].peak)} GB.)"
    )


if __name__ == "__main__":
    main()
