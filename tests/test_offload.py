"""Block swap: identical outputs, a schedule that holds at most two swapped blocks, flat host memory."""

from __future__ import annotations

import gc
import resource

import pytest
import torch
from test_dit import tiny_dit

from semanticgen.offload import enable_block_swap


def inputs(model, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 16, 3, 8, 8, generator=g)
    return x, torch.tensor([700.0]), torch.randn(1, 4, model.config.text_dim, generator=g)


@pytest.mark.parametrize("swapped", [1, 2, 3, 4])
def test_block_swap_gives_identical_outputs(swapped):
    ref = tiny_dit(num_layers=4)
    model = enable_block_swap(tiny_dit(num_layers=4), swapped)
    args = inputs(ref)
    with torch.no_grad():
        assert torch.equal(model(*args), ref(*args))
        assert torch.equal(model(*args, window=1), ref(*args, window=1))  # Swin's even/odd layers line up too


def test_schedule_runs_each_block_on_its_own_weights_with_at_most_two_on_the_device():
    model = enable_block_swap(tiny_dit(num_layers=6), 4)
    assert len(model.blocks) == 2 and len(model.swap) == 4 and len(model.swap_slots) == 2
    with torch.no_grad():
        model(*inputs(model))
    trace = model.swap.trace
    assert [b for kind, b, _ in trace.events if kind == "run"] == [2, 3, 4, 5]
    in_slot: dict[int, int] = {}
    for kind, block, slot in trace.events:
        if kind == "load":
            in_slot[slot] = block
        else:
            assert in_slot[slot] == block, f"block {block} ran on slot {slot} holding block {in_slot[slot]}"
    loads = [b for kind, b, _ in trace.events if kind == "load"]
    runs = [i for i, (kind, _, _) in enumerate(trace.events) if kind == "run"]
    assert loads == [2, 3, 4, 5]  # each swapped block copied once per forward
    assert trace.events.index(("load", 3, 1)) < runs[0]  # block 3 is prefetched before block 2 computes
    assert trace.peak_on_device == 2


def test_patcher_counts_only_resident_weights():
    """The module tree (what ComfyUI's ModelPatcher sizes and moves) holds the resident blocks and two slots."""
    full = tiny_dit(num_layers=6)
    size = sum(t.numel() * t.element_size() for t in full.state_dict().values())
    block = sum(t.numel() * t.element_size() for t in full.blocks[0].state_dict().values())
    model = enable_block_swap(tiny_dit(num_layers=6), 4)
    assert sum(t.numel() * t.element_size() for t in model.state_dict().values()) == size - 2 * block


def test_bad_blocks_to_swap_is_refused():
    with pytest.raises(ValueError, match=r"blocks_to_swap: expected 0 … 4"):
        enable_block_swap(tiny_dit(num_layers=4), 5)
    model = enable_block_swap(tiny_dit(num_layers=4), 2)
    with pytest.raises(ValueError, match="already swaps"):
        enable_block_swap(model, 1)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def test_repeated_runs_leave_host_memory_flat():
    model = enable_block_swap(tiny_dit(num_layers=6, dim=256, ffn_dim=1024, num_heads=2), 4)
    args = inputs(model)
    with torch.no_grad():
        model(*args)
        gc.collect()
        before = rss_bytes()
        for _ in range(10):
            model(*args)
        gc.collect()
    growth = rss_bytes() - before
    assert growth < 8 * 2**20, f"host memory grew {growth / 2**20:.1f} MiB over 10 runs"
