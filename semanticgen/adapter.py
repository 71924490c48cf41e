"""The one-GPU adapter recipe: a latent generator as LoRA on a plain Wan2.1 DiT plus a fully trained semantic
embedding.

Training (`semanticgen.train` with a `lora` block) wraps the DiT blocks' attention and FFN linears with peft LoRA
layers, trains them and the keys Wan2.1 lacks (`semantic_embedding.*`), and freezes everything else. It exports

* `lora.safetensors`: ComfyUI's Wan LoRA layout (`diffusion_model.<layer>.lora_A.weight` / `.lora_B.weight` /
  `.alpha`; core's LoRA loader scales B·A by alpha / rank, as peft does), applied by core's LoraLoaderModelOnly;
* `semantic_embedding.safetensors`: the new keys, with the DiT config and semantic space in the metadata, since a
  Wan2.1 checkpoint carries no config.

At inference `load_wan_with_embedding` builds the latent generator from the user's own Wan2.1 checkpoint and that
embedding file; the LoRA then patches it like any Wan LoRA. This module never imports ComfyUI; peft only when a
model is wrapped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import torch
from safetensors.torch import load_file
from torch import nn

from .checkpoints import KIND_KEY, CheckpointError, load_checkpoint, read_metadata, save_checkpoint
from .dit import DiTConfig, SemanticGenDiT
from .dit_io import KIND as DIT_KIND
from .dit_io import assemble_dit, read_dit_config, strip_wan_prefix
from .features import SemanticSpace

EMBEDDING_KIND = "semantic_embedding"
NEW_KEYS = ("semantic_embedding.",)  # what a latent generator has that Wan2.1 lacks: trained fully, exported apart
PEFT_ADAPTER = "default"  # peft's adapter name: its keys read `<layer>.lora_A.default.weight`
COMFY_PREFIX = "diffusion_model."  # ComfyUI's generic LoRA key prefix for a model's diffusion_model.* weights
BLOCK_LINEARS = ("self_attn.q", "self_attn.k", "self_attn.v", "self_attn.o", "cross_attn.q", "cross_attn.k")
BLOCK_LINEARS += ("cross_attn.v", "cross_attn.o", "ffn.0", "ffn.2")
BASE_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@dataclass
class LoraSpec:
    """LoRA of the DiT blocks' linears: `targets` are layer names inside a block (every block gets them); the update
    is (alpha / rank)·B·A. No LoRA dropout: its draws would come from the global RNG, and every random number of a
    training step derives from (seed, step, rank) so that a resumed run continues exactly. `base_dtype`
    "bfloat16" stores the frozen linears' weights in bf16 (half the base's memory; the adapters, the embedding and
    their optimizer state stay float32), for training under bf16 autocast."""

    rank: int = 32
    alpha: float = 32.0
    targets: list[str] = field(default_factory=lambda: list(BLOCK_LINEARS))
    base_dtype: str = "float32"  # "float32" | "bfloat16"

    def __post_init__(self) -> None:
        if self.rank < 1 or not self.alpha > 0:
            raise ValueError(f"lora: rank must be ≥ 1 and alpha > 0 (got rank {self.rank}, alpha {self.alpha})")
        unknown = sorted(set(self.targets) - set(BLOCK_LINEARS))
        if unknown or not self.targets:
            raise ValueError(f"lora: targets must be a non-empty subset of {list(BLOCK_LINEARS)}, got {unknown}")
        if self.base_dtype not in BASE_DTYPES:
            raise ValueError(f"lora.base_dtype: expected one of {sorted(BASE_DTYPES)}, got {self.base_dtype!r}")

    @property
    def scale(self) -> float:
        return self.alpha / self.rank


def target_layers(dit: SemanticGenDiT, spec: LoraSpec) -> list[str]:
    """Full module names of the linears the LoRA wraps (blocks.N.<target>, for every block)."""
    return [f"blocks.{i}.{t}" for i in range(len(dit.blocks)) for t in spec.targets]


def add_lora(dit: SemanticGenDiT, spec: LoraSpec) -> SemanticGenDiT:
    """Wrap the target linears with peft LoRA layers (B = 0: the output is unchanged) in place; freeze everything but
    them and the new keys. peft draws A from the global RNG (the trainer seeds it)."""
    from peft import LoraConfig, inject_adapter_in_model

    layers = target_layers(dit, spec)
    for name in layers:
        if not isinstance(dit.get_submodule(name), nn.Linear):
            raise ValueError(f"lora: {name} is not a linear layer")
    config = LoraConfig(r=spec.rank, lora_alpha=spec.alpha, target_modules=layers, lora_dropout=0.0, bias="none")
    inject_adapter_in_model(config, dit, adapter_name=PEFT_ADAPTER)
    for name, p in dit.named_parameters():
        p.requires_grad_(".lora_" in name or name.startswith(NEW_KEYS))
    for module in dit.modules():  # the frozen linears: the bulk of the base's bytes
        if isinstance(module, nn.Linear) and not module.weight.requires_grad:
            module.to(BASE_DTYPES[spec.base_dtype])
    return dit


def lora_layers(state: Mapping[str, torch.Tensor]) -> list[str]:
    """Layer names of a peft-wrapped DiT's state dict (those with a `lora_A`)."""
    suffix = f".lora_A.{PEFT_ADAPTER}.weight"
    return sorted(k.removesuffix(suffix) for k in state if k.endswith(suffix))


def comfy_lora(state: Mapping[str, torch.Tensor], spec: LoraSpec) -> dict[str, torch.Tensor]:
    """A peft-wrapped DiT's LoRA weights in ComfyUI's Wan LoRA layout: per layer lora_A (rank, in), lora_B (out, rank)
    and alpha (a scalar)."""
    out = {}
    for layer in lora_layers(state):
        key = COMFY_PREFIX + layer
        out[f"{key}.lora_A.weight"] = state[f"{layer}.lora_A.{PEFT_ADAPTER}.weight"].float()
        out[f"{key}.lora_B.weight"] = state[f"{layer}.lora_B.{PEFT_ADAPTER}.weight"].float()
        out[f"{key}.alpha"] = torch.tensor(float(spec.alpha))
    return out


def merged_state(state: Mapping[str, torch.Tensor], spec: LoraSpec) -> dict[str, torch.Tensor]:
    """A peft-wrapped DiT's state dict as a plain one, each wrapped weight W + (alpha / rank)·B·A (what a LoRA loader
    at strength 1 computes), under the plain keys; in float32 (a bf16 base would round the update away)."""
    layers = set(lora_layers(state))
    out = {}
    for k, v in state.items():
        layer, _, leaf = k.rpartition(".base_layer.")
        if layer in layers:
            if leaf == "weight":
                a = state[f"{layer}.lora_A.{PEFT_ADAPTER}.weight"].float()
                b = state[f"{layer}.lora_B.{PEFT_ADAPTER}.weight"].float()
                v = v.float() + spec.scale * b @ a
            out[f"{layer}.{leaf}"] = v.float()
        elif ".lora_" not in k:
            out[k] = v.float() if v.is_floating_point() else v
    return out


def new_keys(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if k.startswith(NEW_KEYS)}


def save_adapter(
    dit: SemanticGenDiT, state: Mapping[str, torch.Tensor], spec: LoraSpec, folder: Path
) -> tuple[Path, Path]:
    """Write the LoRA (ComfyUI's Wan layout) and the semantic-embedding file from a peft-wrapped DiT's `state`
    (e.g. its EMA); returns their paths."""
    lora = save_checkpoint(folder / "lora.safetensors", comfy_lora(state, spec), "lora", spec, {"dit": dit.config})
    extra = {"space": dit.space} if dit.space else {}
    path = folder / "semantic_embedding.safetensors"
    embedding = save_checkpoint(path, new_keys(state), EMBEDDING_KIND, dit.config, extra)
    return lora, embedding


def read_embedding(path) -> tuple[DiTConfig, SemanticSpace | None, dict[str, torch.Tensor]]:
    """A semantic-embedding file: the DiT config it was trained in, its semantic space and its tensors."""
    name = Path(path).name
    kind = read_metadata(path).get(KIND_KEY, "none")
    if kind != EMBEDDING_KIND:
        hint = " (a whole latent generator: load it with Load Latent Generator (MODEL))" if kind == DIT_KIND else ""
        raise CheckpointError(
            f"semantic_embedding: {name}: expected the semantic_embedding.safetensors that a LoRA training run writes "
            f"beside its lora.safetensors, found a file of kind {kind}{hint}"
        )
    cfg, space = read_dit_config(path, EMBEDDING_KIND)
    tensors, _ = load_checkpoint(path, kind=EMBEDDING_KIND)
    want = {k: s for k, s in dit_keys(cfg).items() if k.startswith(NEW_KEYS)}
    if not cfg.semantic_dim or {k: v.shape for k, v in tensors.items()} != want:
        raise CheckpointError(f"semantic_embedding: {name}: its tensors are not the embedding of the config it records")
    return cfg, space, tensors


def dit_keys(cfg: DiTConfig) -> dict[str, torch.Size]:
    """Every state-dict key of a DiT of this config, with its shape (built on the meta device: no memory)."""
    with torch.device("meta"):
        return {k: v.shape for k, v in SemanticGenDiT(cfg).state_dict().items()}


def wan_state(path) -> dict[str, torch.Tensor]:
    """A plain Wan2.1 DiT checkpoint's tensors under our keys; refuses SemanticGen files."""
    name, kind = Path(path).name, read_metadata(path).get(KIND_KEY)
    if kind is not None:
        raise CheckpointError(f"wan_model: {name}: a SemanticGen {kind} file, not a Wan2.1 checkpoint")
    return strip_wan_prefix(load_file(str(path)))


def load_wan_with_embedding(
    wan_model,
    semantic_embedding,
    dtype: torch.dtype = torch.float32,
    operations: ModuleType = nn,
    compute_dtype: torch.dtype | None = None,
) -> SemanticGenDiT:
    """The latent generator of the adapter recipe without its LoRA: the user's Wan2.1 DiT file `wan_model` (every
    key but the semantic embedding, in the sizes the embedding's config records) plus the `semantic_embedding`
    file. Core's LoRA loader then applies the LoRA. Dtypes and `operations` as in `dit_io.load_dit`; errors name
    the file (and argument) at fault."""
    cfg, space, embedding = read_embedding(semantic_embedding)
    wan, name = wan_state(wan_model), Path(wan_model).name
    want = {k: s for k, s in dit_keys(cfg).items() if not k.startswith(NEW_KEYS)}
    extra, missing = sorted(set(wan) - set(want)), sorted(set(want) - set(wan))
    trained_on = (
        f"the semantic embedding was trained on a Wan2.1 T2V DiT with dim {cfg.dim}, {cfg.num_layers} layers, "
        f"ffn_dim {cfg.ffn_dim}, text_dim {cfg.text_dim}, in_dim {cfg.in_dim}"
    )
    if extra or missing:
        raise CheckpointError(
            f"wan_model: {name} is not such a DiT ({trained_on}): missing keys {missing[:4]}, unexpected {extra[:4]}"
        )
    for k, s in want.items():
        if wan[k].shape != s:
            got = tuple(wan[k].shape)
            raise CheckpointError(f"wan_model: {name}: {k} has shape {got}, expected {tuple(s)} ({trained_on})")
    return assemble_dit(cfg, space, wan | embedding, name, dtype, operations, compute_dtype)
