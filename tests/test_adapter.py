"""The one-GPU adapter recipe: LoRA (peft) on a frozen Wan2.1-layout DiT plus a fully trained semantic embedding,
exported as a LoRA in ComfyUI's Wan key format and an embedding file, and applied at inference by core's
LoraLoaderModelOnly on the plain Wan2.1 checkpoint loaded with that embedding."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from server_harness import load_module
from test_train import STATE_FILES, assert_same_files, build_slow_toy_cache, resume_copy

from semanticgen.adapter import load_wan_with_embedding
from semanticgen.checkpoints import CheckpointError
from semanticgen.dit import DiTConfig, SemanticGenDiT, init_weights, semantic_positions
from semanticgen.features import SemanticSpace
from semanticgen.train import TrainConfig, train
from semanticgen.train.state import load_state
from semanticgen.train.trainer import LatentStage, load_weights

MODEL = dict(dim=32, ffn_dim=64, num_heads=2, num_layers=2, text_dim=2, semantic_dim=8)
SPACE = dict(channels=8, pixels_per_token=28, sample_fps=4.0, temporal_patch=2, video_fps=8.0)
LORA = dict(rank=4, alpha=8.0)  # scale alpha / rank = 2: an exporter that dropped alpha (scale 1) would show
TARGETS = 10  # per block: q, k, v, o of self- and cross-attention, the FFN's two linears
# Stated tolerance, trainer (peft layers: x·Wᵀ + 2·(x·Aᵀ)·Bᵀ, the training path) against the native path (ComfyUI
# merges W + 2·B·A, the in-place inference path): float32 rounding in another order. Every control below (LoRA
# off, strength 0.5, the untrained embedding) differs by more than 100× this.
ATOL = 1e-5


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("adapter_cache")
    build_slow_toy_cache(str(out))  # 12 clips, stand-in VAE and text encoder (text_dim 2)
    return out


@pytest.fixture(scope="module")
def wan_base(tmp_path_factory) -> Path:
    """A tiny latent-only (text-to-video) DiT in Wan2.1's single-file layout: `model.diffusion_model.*`, no
    semantic keys, no SemanticGen metadata. Its head is not zero, so the blocks' LoRA shows in the output."""
    dit = init_weights(SemanticGenDiT(DiTConfig(**{**MODEL, "semantic_dim": 0})), seed=1)
    with torch.no_grad():
        dit.head.head.weight.normal_(0.0, 0.2, generator=torch.Generator().manual_seed(2))
    path = tmp_path_factory.mktemp("wan") / "wan2.1_t2v_tiny.safetensors"
    save_file({f"model.diffusion_model.{k}": v for k, v in dit.state_dict().items()}, str(path))
    return path


def config(cache: Path, out: Path, base: Path, **kw) -> TrainConfig:
    settings = dict(stage="latent", cache=str(cache), out=str(out), model=MODEL, space=SPACE, init_from=str(base))
    settings |= dict(compressor=dict(in_dim=48, out_dim=8, hidden_dim=32, depth=2), lora=LORA, batch_size=2)
    settings |= dict(steps=4, checkpoint_every=2, log_every=2, warmup=1, lr=2e-2, log_with=[])
    return TrainConfig(**{**settings, "ema_decay": 0.0, **kw})  # ema_decay 0: the export is the last step's weights


@pytest.fixture(scope="module")
def run(cache, wan_base, tmp_path_factory) -> tuple[TrainConfig, Path]:
    cfg = config(cache, tmp_path_factory.mktemp("lora") / "run", wan_base)
    return cfg, train(cfg)


def trainer_model(cfg: TrainConfig) -> LatentStage:
    """The trained peft model as the trainer holds it: the stage built from the config, the last checkpoint in."""
    torch.manual_seed(cfg.seed)
    stage = LatentStage(cfg, SemanticSpace(**SPACE))
    load_weights(stage, load_state(Path(cfg.out) / "checkpoints")["model"], cfg)
    return stage


INPUTS = dict(seed=6, layout=((0, 8), (2, 2)))


def inputs():
    g = torch.Generator().manual_seed(INPUTS["seed"])
    x, ctx = torch.randn(1, 16, 2, 4, 4, generator=g), torch.randn(1, 5, 2, generator=g)
    return x, torch.tensor([600.0]), ctx, torch.randn(1, 8, 1, 2, 2, generator=g)


def test_checkpoints_hold_only_what_trains(run):
    cfg, out = run
    saved = load_file(str(out / "checkpoints" / "step-00000004" / "model.safetensors"))
    lora = [k for k in saved if ".lora_" in k]
    assert len(lora) == 2 * TARGETS * MODEL["num_layers"]
    rest = {k for k in saved if k not in lora}
    assert rest == {k for k in saved if k.startswith(("dit.semantic_embedding.", "compressor."))} and rest
    base = load_file(cfg.init_from)
    merged = load_file(str(out / "latent_generator.safetensors"))
    assert torch.equal(merged["head.head.weight"], base["model.diffusion_model.head.head.weight"])  # frozen
    assert not torch.equal(merged["blocks.0.ffn.0.weight"], base["model.diffusion_model.blocks.0.ffn.0.weight"])


def test_lora_run_resumes_with_identical_continuation(run, tmp_path):
    cfg, out = run
    resume_copy(out, 2, tmp_path / "b")
    resumed = train(config(Path(cfg.cache), tmp_path / "b", Path(cfg.init_from)))
    assert_same_files(out / "checkpoints/step-00000004", resumed / "checkpoints/step-00000004", STATE_FILES)
    assert_same_files(out, resumed, ("lora.safetensors", "semantic_embedding.safetensors"))


@pytest.mark.comfy
def test_adapter_through_core_lora_loader_equals_the_trained_model(run, pack, comfy_modules):
    """The exported LoRA + embedding, loaded on the plain Wan2.1 file through the native path (the pack's loader,
    core's LoraLoaderModelOnly), give the trained peft model's output; one denoiser call, same inputs."""
    import comfy.model_management as mm
    import folder_paths

    cfg, out = run
    nodes, tmp = pack
    files = {"diffusion_models": Path(cfg.init_from), "loras": out / "lora.safetensors"}
    files["semanticgen_semantic_embeddings"] = out / "semantic_embedding.safetensors"
    for key, src in files.items():  # where a user puts them
        (tmp / key).mkdir(exist_ok=True)
        (tmp / key / src.name).write_bytes(src.read_bytes())
        folder_paths.add_model_folder_path(key, str(tmp / key), is_default=True)
    x, t, ctx, sem = inputs()
    stage = trainer_model(cfg)
    bounds, grid = INPUTS["layout"]
    pos = semantic_positions(list(bounds), grid, stage.dit.latent_grid(x.shape), stage.dit.space.vae_temporal)
    trained = stage.dit(x, t, ctx, semantic=sem, semantic_pos=pos).detach()  # the training path, peft layers

    loader = nodes["SemanticGenWanLatentModelLoader"].execute
    wan_name, embedding_name = Path(cfg.init_from).name, "semantic_embedding.safetensors"
    native = loader(wan_model=wan_name, semantic_embedding=embedding_name, dtype="fp32").result[0]
    core_nodes = load_module("comfyui_nodes", comfy_modules / "nodes.py")

    def forward(strength: float | None):
        model = native
        if strength is not None:
            (model,) = core_nodes.LoraLoaderModelOnly().load_lora_model_only(native, "lora.safetensors", strength)
        mm.load_models_gpu([model])
        with torch.no_grad():
            result = model.model.diffusion_model(x, t, ctx, semantic=sem, semantic_layout=INPUTS["layout"]).clone()
        model.unpatch_model()
        return model, result

    patched, theirs = forward(1.0)
    assert len(patched.patches) == TARGETS * MODEL["num_layers"]  # every LoRA layer found its Wan key
    torch.testing.assert_close(theirs, trained, rtol=0, atol=ATOL)
    for strength in (None, 0.5):  # controls: LoRA off; half the scale (as a wrong alpha / rank would give)
        assert (forward(strength)[1] - trained).abs().max() > 100 * ATOL, strength
    torch.manual_seed(cfg.seed)
    init = LatentStage(cfg, SemanticSpace(**SPACE)).dit.semantic_embedding  # as training started: untrained
    stage.dit.semantic_embedding.load_state_dict(init.state_dict())
    untrained = stage.dit(x, t, ctx, semantic=sem, semantic_pos=pos).detach()
    assert (untrained - trained).abs().max() > 100 * ATOL  # control: the trained embedding matters


def test_loader_names_mismatched_files(run, wan_base, tmp_path):
    cfg, out = run
    embedding = out / "semantic_embedding.safetensors"
    other = init_weights(SemanticGenDiT(DiTConfig(**{**MODEL, "dim": 64, "semantic_dim": 0})))
    save_file(other.state_dict(), str(tmp_path / "wan_other.safetensors"))
    with pytest.raises(CheckpointError, match=r"wan_model: wan_other.safetensors: .* expected .*dim 32, 2 layers"):
        load_wan_with_embedding(tmp_path / "wan_other.safetensors", embedding)
    with pytest.raises(CheckpointError, match="wan_model: latent_generator.safetensors: a SemanticGen dit file"):
        load_wan_with_embedding(out / "latent_generator.safetensors", embedding)
    with pytest.raises(CheckpointError, match="semantic_embedding: wan2.1_t2v_tiny.safetensors: expected the"):
        load_wan_with_embedding(wan_base, wan_base)
    with pytest.raises(CheckpointError, match="semantic_embedding: lora.safetensors: expected .* kind lora"):
        load_wan_with_embedding(wan_base, out / "lora.safetensors")


def test_lora_needs_a_frozen_base_and_stage_latent(cache, tmp_path):
    with pytest.raises(ValueError, match="lora: needs init_from"):
        train(config(cache, tmp_path / "a", Path("unused"), init_from=None))
    with pytest.raises(ValueError, match="lora: targets must be"):
        train(config(cache, tmp_path / "b", Path("unused"), lora={"targets": ["head.head"]}))
    with pytest.raises(ValueError, match="lora: the adapter recipe is for stage latent"):
        train(config(cache, tmp_path / "c", Path("unused"), stage="semantic", compressor_path="unused"))


def test_wan_loader_node_names_its_inputs(pack):
    node = pack[0]["SemanticGenWanLatentModelLoader"]
    assert all(i.tooltip for i in node.define_schema().inputs)
    with pytest.raises(ValueError, match="wan_model: 'nope.safetensors' is not a model in models/diffusion_models"):
        node.execute(wan_model="nope.safetensors", semantic_embedding="x.safetensors", dtype="fp32")
    assert node.validate_inputs("nope.safetensors", "x.safetensors", "fp32").startswith("wan_model: 'nope.")


@pytest.mark.slow
def test_lora_under_fsdp_resumes_exactly_and_exports_what_ddp_exports(cache, wan_base, tmp_path):
    """LoRA on 2 CPU processes with FSDP2 (the frozen base sharded with the adapters): a resumed run ends
    bit-identical, and the exports (LoRA, embedding, merged model, compressor) equal DDP's within float32 rounding
    in another order (the FSDP test's stated 1e-5; measured: equal). The FSDP test's learning rate: at this file's
    2e-2, Adam turns rounding-level gradients of the stand-in text's cross-attention into updates (8.6e-4 apart)."""
    from test_train import launch_two
    from test_train_fsdp import ATOL

    settings = dict(log_every=1, lr=1e-3)
    for name in ("ddp", "fsdp"):
        log = launch_two(config(cache, tmp_path / name, wan_base, fsdp=name == "fsdp", **settings), tmp_path)
    assert "FSDP on 2 processes; sharded tensors:" in log and "sharded tensors: 0/" not in log, log
    lora_b = [v for k, v in load_file(str(tmp_path / "fsdp" / "lora.safetensors")).items() if "lora_B" in k]
    assert min(v.abs().max() for v in lora_b) > 0  # every adapter trained (B starts at zero)
    resume_copy(tmp_path / "fsdp", 2, tmp_path / "resumed")
    resumed = config(cache, tmp_path / "resumed", wan_base, fsdp=True, **settings)
    assert "resumed from step 2" in launch_two(resumed, tmp_path)
    exports = ("lora.safetensors", "semantic_embedding.safetensors", "latent_generator.safetensors")
    exports += ("compressor.safetensors",)
    step4 = Path("checkpoints/step-00000004")
    assert_same_files(tmp_path / "fsdp" / step4, tmp_path / "resumed" / step4, STATE_FILES)
    assert_same_files(tmp_path / "fsdp", tmp_path / "resumed", exports)
    assert_same_files(tmp_path / "ddp", tmp_path / "fsdp", exports, atol=ATOL)


def test_lora_on_a_bf16_base_halves_the_frozen_weights_trains_and_resumes(cache, wan_base, tmp_path, request):
    """`lora.base_dtype` "bfloat16": the frozen linears are held in bf16 (the adapters, the embedding and their
    optimizer state in float32), the run trains under bf16 autocast, resumes bit-identical, and exports float32."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)  # a process's accelerate state keeps its first precision
    request.addfinalizer(lambda: AcceleratorState._reset_state(reset_partial_state=True))
    lora = {**LORA, "base_dtype": "bfloat16"}
    cfg = config(cache, tmp_path / "a", wan_base, lora=lora, mixed_precision="bf16")
    torch.manual_seed(0)
    half, full = (LatentStage(c, SemanticSpace(**SPACE)) for c in (cfg, config(cache, tmp_path, wan_base)))
    frozen = lambda stage: [p for p in stage.dit.parameters() if not p.requires_grad]  # noqa: E731
    trained = [p for p in half.dit.parameters() if p.requires_grad]
    assert {p.dtype for p in trained} == {torch.float32}
    linears = [m.weight for m in half.dit.modules() if isinstance(m, torch.nn.Linear) and not m.weight.requires_grad]
    assert linears and {w.dtype for w in linears} == {torch.bfloat16}
    size = lambda ps: sum(p.numel() * p.element_size() for p in ps)  # noqa: E731
    assert size(frozen(half)) < 0.55 * size(frozen(full))  # linears are nearly all of the frozen bytes

    out = train(cfg)
    moments = load_file(str(out / "checkpoints" / "step-00000004" / "optimizer.safetensors")).values()
    assert moments and {v.dtype for v in moments if v.dim()} == {torch.float32}
    resume_copy(out, 2, tmp_path / "b")
    resumed = train(config(cache, tmp_path / "b", wan_base, lora=lora, mixed_precision="bf16"))
    assert_same_files(out / "checkpoints/step-00000004", resumed / "checkpoints/step-00000004", STATE_FILES)
    assert_same_files(out, resumed, ("lora.safetensors", "semantic_embedding.safetensors"))
    merged = load_file(str(out / "latent_generator.safetensors"))
    assert {v.dtype for v in merged.values()} == {torch.float32}
    with pytest.raises(ValueError, match="lora.base_dtype: a bfloat16 base needs mixed_precision 'bf16'"):
        LatentStage(config(cache, tmp_path / "c", wan_base, lora=lora), SemanticSpace(**SPACE))
