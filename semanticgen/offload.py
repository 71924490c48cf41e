"""Block swap: the last blocks of a DiT live in host memory and take turns in two device-resident slots.

Why not leave it all to ComfyUI's partial loading? That casts layer by layer, so a 14B DiT at 480p spends its
step waiting on many small copies. Swapping whole blocks into a double buffer copies block i+1 on a side CUDA
stream while block i computes, and it composes with ComfyUI: the slots are ordinary submodules of the model, so
the `ModelPatcher` moves them and counts them as resident, while the swapped blocks themselves are not in the
module tree at all (the patcher accounts only for what is resident) and stay in (pinned) host memory that is
allocated once, at load. A run allocates nothing on the host, so host memory does not grow from run to run.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

SLOTS = 2  # the block that computes and the one being copied in


@dataclass
class SwapTrace:
    """What the schedule did (tests check the invariants from this, not from assumptions)."""

    events: list[tuple[str, int, int]] = field(default_factory=list)  # ("load" | "run", block, slot)
    peak_on_device: int = 0  # most swapped blocks held by the slots at once

    def clear(self) -> None:
        self.events.clear()
        self.peak_on_device = 0


class BlockSwap:
    """Iterates over swapped blocks, each delivered in a device slot that holds its weights."""

    def __init__(self, host_blocks: list[nn.Module], slots: nn.ModuleList, first_index: int):
        self.host, self.slots, self.first = host_blocks, slots, first_index
        self.trace = SwapTrace()
        self._stream: torch.cuda.Stream | None = None

    def __len__(self) -> int:
        return len(self.host)

    def _device(self) -> torch.device:
        return next(self.slots[0].parameters()).device

    def _load(self, i: int, slot: int, released: torch.cuda.Event | None) -> torch.cuda.Event | None:
        """Copy swapped block i into `slot` (on the side stream, after the slot's previous user is done)."""
        device = self._device()
        if device.type == "cuda":
            self._stream = self._stream or torch.cuda.Stream(device)
            with torch.cuda.stream(self._stream):
                if released is not None:
                    self._stream.wait_event(released)
                _copy_weights(self.host[i], self.slots[slot], non_blocking=True)
                ready = torch.cuda.Event()
                ready.record(self._stream)
        else:
            _copy_weights(self.host[i], self.slots[slot], non_blocking=False)
            ready = None
        self.trace.events.append(("load", self.first + i, slot))
        return ready

    def __iter__(self) -> Iterator[nn.Module]:
        n, cuda = len(self.host), self._device().type == "cuda"
        ready: list[torch.cuda.Event | None] = [None] * SLOTS
        released: list[torch.cuda.Event | None] = [None] * SLOTS
        holding: list[int | None] = [None] * SLOTS  # swapped block in each slot
        if n:
            ready[0], holding[0] = self._load(0, 0, None), 0
        for i in range(n):
            slot = i % SLOTS
            if i + 1 < n:  # prefetch the next block into the other slot while this one computes
                nxt = (i + 1) % SLOTS
                ready[nxt], holding[nxt] = self._load(i + 1, nxt, released[nxt]), i + 1
            self.trace.peak_on_device = max(self.trace.peak_on_device, sum(h is not None for h in holding))
            if ready[slot] is not None:
                torch.cuda.current_stream().wait_event(ready[slot])
            self.trace.events.append(("run", self.first + i, slot))
            yield self.slots[slot]
            if cuda:  # the slot may be refilled once the work queued on it is done
                released[slot] = torch.cuda.Event()
                released[slot].record(torch.cuda.current_stream())
            holding[slot] = None


def _copy_weights(src: nn.Module, dst: nn.Module, non_blocking: bool) -> None:
    with torch.no_grad():
        for s, d in zip(src.parameters(), dst.parameters(), strict=True):
            d.copy_(s, non_blocking=non_blocking)


def enable_block_swap(model: nn.Module, blocks_to_swap: int, pin: bool = False) -> nn.Module:
    """Move the last `blocks_to_swap` of `model.blocks` out of the module tree into host memory (pinned when
    `pin`, for asynchronous copies to a GPU) and give the model two slot blocks to run them in."""
    blocks = model.blocks
    if isinstance(blocks_to_swap, bool) or not 0 <= blocks_to_swap <= len(blocks):
        raise ValueError(f"blocks_to_swap: expected 0 … {len(blocks)} (the model's blocks), got {blocks_to_swap}")
    if model.swap is not None:
        raise ValueError("blocks_to_swap: this model already swaps blocks")
    if blocks_to_swap == 0:
        return model
    keep = len(blocks) - blocks_to_swap
    host = list(blocks[keep:])
    if pin:
        for block in host:
            for p in block.parameters():
                p.data = p.data.pin_memory()
    model.blocks = nn.ModuleList(blocks[:keep])
    model.swap_slots = nn.ModuleList(copy.deepcopy(host[0]) for _ in range(min(SLOTS, blocks_to_swap)))
    model.swap = BlockSwap(host, model.swap_slots, first_index=keep)
    return model
