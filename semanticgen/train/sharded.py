"""Training state under FSDP2 as under DDP: consolidated on disk, sharded in memory.

After `accelerator.prepare` under FSDP2 every parameter is a DTensor holding this rank's shard. The EMA and the
optimizer state follow the parameters (sharded, so they cost 1/N per device), and everything written to disk is the
full tensor, so a checkpoint or export is the same file whether it came from DDP, FSDP or one process, and a run can
resume under either. Gathering is collective: every rank calls these functions in the same order.

accelerate 1.15 never selects FSDP for CPU processes (`AcceleratorState` turns an FSDP plugin on only for GPU-like
distributed types, and `accelerate launch` sends `use_fsdp` with `use_cpu` to its single-process launcher), while
torch's `fully_shard` itself runs on CPU over gloo; `use_fsdp2` closes that gap so the 2-process CPU tests run the
same FSDP2 code path as GPUs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import torch
from torch import nn
from torch.distributed.tensor import DTensor, distribute_tensor

BLOCK_CLASS = "Block"  # the DiT's transformer block: one FSDP unit each


def full(t: torch.Tensor) -> torch.Tensor:
    """The whole tensor on the host (an all-gather for a DTensor)."""
    return (t.full_tensor() if isinstance(t, DTensor) else t).detach().cpu()


def consolidated(tensors: Mapping[str, torch.Tensor], keep: bool = True) -> dict[str, torch.Tensor]:
    """Full host copies of `tensors`, one at a time (device memory: one full tensor beyond the shards); ranks that
    only take part in the gathers (`keep=False`) drop each copy at once."""
    out = {}
    for k, v in tensors.items():
        whole = full(v)
        if keep:
            out[k] = whole
    return out


def like(whole: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """`whole` placed as `ref` is: this rank's shard if `ref` is a DTensor (cut locally, no communication)."""
    if isinstance(ref, DTensor):
        whole = whole.to(ref.device_mesh.device_type, ref.dtype)
        return distribute_tensor(whole, ref.device_mesh, ref.placements, src_data_rank=None)
    return whole.to(ref.device, ref.dtype)


def trainable(model: nn.Module) -> Iterator[tuple[str, nn.Parameter]]:
    """The parameters the optimizer trains, as the model holds them now (sharded after `prepare` under FSDP)."""
    return ((k, p) for k, p in model.named_parameters() if p.requires_grad)


def optimizer_state(opt: torch.optim.Optimizer, keep: bool = True) -> dict:
    """`opt.state_dict()` with every tensor whole: the layout DDP and one process write."""
    state = opt.state_dict()  # its per-parameter dicts are the optimizer's own: build new ones
    whole = {
        pid: consolidated({k: v for k, v in st.items() if torch.is_tensor(v)}, keep)
        for pid, st in state["state"].items()
    }
    return {
        "state": {pid: st | whole[pid] for pid, st in state["state"].items()},
        "param_groups": state["param_groups"],
    }


def load_optimizer_state(opt: torch.optim.Optimizer, state: dict) -> None:
    """Load a consolidated optimizer state into an optimizer over (possibly sharded) parameters."""
    params = [p for group in opt.param_groups for p in group["params"]]
    placed = {
        pid: {k: like(v, params[int(pid)]) if torch.is_tensor(v) and v.dim() else v for k, v in st.items()}
        for pid, st in state["state"].items()
    }
    opt.load_state_dict({"state": placed, "param_groups": state["param_groups"]})


def describe(acc, params: list[torch.Tensor]) -> str:
    """How the run is spread, for the log: the distributed type, the processes, how many tensors are sharded."""
    sharded = sum(isinstance(p, DTensor) for p in params)
    return f"{acc.distributed_type.value} on {acc.num_processes} processes; sharded tensors: {sharded}/{len(params)}"


def fsdp2_plugin():
    """accelerate's FSDP2 plugin with one unit per DiT block (what configs/accelerate/fsdp.yaml asks for)."""
    from accelerate import FullyShardedDataParallelPlugin

    return FullyShardedDataParallelPlugin(
        fsdp_version=2,
        auto_wrap_policy="transformer_based_wrap",
        transformer_cls_names_to_wrap=[BLOCK_CLASS],
        reshard_after_forward=True,
        state_dict_type="FULL_STATE_DICT",
    )


def use_fsdp2(acc) -> None:
    """Turn on FSDP2 for CPU processes, where accelerate would fall back to DDP (see the module docstring); on
    GPUs an FSDP accelerate config (`accelerate launch --config_file configs/accelerate/fsdp.yaml`) does it."""
    from accelerate import PartialState
    from accelerate.utils import DistributedType

    if acc.distributed_type == DistributedType.FSDP:
        return  # launched with an FSDP config
    if acc.distributed_type != DistributedType.MULTI_CPU:
        raise ValueError("fsdp: on GPUs launch with an FSDP accelerate config (configs/accelerate/fsdp.yaml)")
    plugin = fsdp2_plugin()
    if acc.mixed_precision != "no":
        plugin.set_mixed_precision(acc.mixed_precision)
    acc.state.fsdp_plugin = plugin
    # in both shared states: any later `AcceleratorState()` (accelerate makes some) copies PartialState's over its own
    PartialState().distributed_type = acc.state.distributed_type = DistributedType.FSDP
