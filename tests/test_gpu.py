"""On a CUDA GPU: measured device memory with and without block swap, against the planner. Skipped without CUDA.

Run on a GPU machine: `make test PYTEST_ARGS="tests/test_gpu.py -v"` (prints the figures with `-s`).
"""

from __future__ import annotations

import pytest
import torch
from tiny import random_dit

from semanticgen.dit import DiTConfig, semantic_positions
from semanticgen.dit_io import cast_weights
from semanticgen.memory import Settings, dit_activation_bytes, dit_stage
from semanticgen.offload import enable_block_swap

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

CONFIG = DiTConfig.wan21_1_3b(num_layers=8, semantic_dim=64)  # Wan2.1-1.3B width, 8 blocks
GRID, SEM_GRID = (6, 30, 52), (3, 4, 7)  # 21 latent frames of 480×832 would be (21, 60, 104); kept small


def forward_memory(blocks_to_swap: int) -> tuple[torch.Tensor, int, int]:
    """(output, bytes allocated after loading, peak bytes during one forward)."""
    torch.cuda.empty_cache()
    model = cast_weights(random_dit(CONFIG), torch.bfloat16)  # as load_dit stores them (patch embedding fp32)
    model = enable_block_swap(model, blocks_to_swap, pin=True)
    model.to("cuda")  # what ComfyUI's patcher does: the module tree (kept blocks + slots) goes to the device
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 16, GRID[0], GRID[1] * 2, GRID[2] * 2, generator=g).to("cuda", torch.bfloat16)
    sem = torch.randn(1, 64, *SEM_GRID, generator=g).to("cuda", torch.bfloat16)
    pos = semantic_positions([0, 7, 14, 21], SEM_GRID[1:], GRID).to("cuda")  # 3 steps over 21 frames
    ctx = torch.randn(1, 512, CONFIG.text_dim, generator=g).to("cuda", torch.bfloat16)
    torch.cuda.synchronize()
    loaded = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    with torch.no_grad():
        out = model(x, torch.tensor([500.0], device="cuda"), ctx, sem, pos)
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated()
    del model
    return out.float().cpu(), loaded, peak


@pytest.mark.parametrize("swapped", [0, 6])
def test_measured_memory_against_the_planner(swapped):
    out, loaded, peak = forward_memory(swapped)
    s = Settings(blocks_to_swap=swapped, weight_dtype=torch.bfloat16, compute_dtype=torch.bfloat16)
    tokens = GRID[0] * GRID[1] * GRID[2] + SEM_GRID[0] * SEM_GRID[1] * SEM_GRID[2]
    stage = dit_stage("latent generator", CONFIG, tokens, None, s)
    activations = dit_activation_bytes(CONFIG, tokens, None, torch.bfloat16)
    print(f"blocks_to_swap={swapped}: weights {loaded / 2**20:.0f} MiB (planner {stage.weights / 2**20:.0f}), "
          f"forward +{(peak - loaded) / 2**20:.0f} MiB (planner {activations / 2**20:.0f})")  # fmt: skip
    assert abs(loaded / stage.weights - 1) < 0.05  # inputs are a few MiB next to the weights
    assert abs((peak - loaded) / activations - 1) <= 0.25


def test_block_swap_saves_device_memory_and_changes_nothing():
    plain, plain_loaded, _ = forward_memory(0)
    swapped, swap_loaded, _ = forward_memory(6)
    assert torch.equal(plain, swapped)
    block = dit_stage("b", CONFIG, 1, None, Settings(blocks_to_swap=1)).host
    assert plain_loaded - swap_loaded >= 4 * block * 0.99  # 6 swapped, 2 slots resident
