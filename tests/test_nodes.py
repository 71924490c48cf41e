"""Nodes with the real ComfyUI modules imported in-process (no server): schemas, errors, memory manager."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from server_harness import PACK_NODES, ROOT

pytestmark = pytest.mark.comfy


def test_init_imports_without_comfyui():
    code = (
        "import importlib.util, sys;"
        f"s = importlib.util.spec_from_file_location('p', {str(ROOT / '__init__.py')!r});"
        "m = importlib.util.module_from_spec(s); s.loader.exec_module(m);"
        "assert m.WEB_DIRECTORY == './js' and callable(m.comfy_entrypoint);"
        "assert 'comfy' not in sys.modules and 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd="/")


def test_library_never_imports_comfyui():
    code = (
        "import sys, semanticgen, semanticgen.toy;"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('comfy', 'folder_paths', 'comfy_api', 'nodes')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_node_ids_are_stable_and_prefixed(pack):
    nodes, _ = pack
    assert set(nodes) == PACK_NODES  # ids are stable: renaming one breaks saved workflows


def test_encoder_is_handed_to_comfyui_memory_manager(pack):
    nodes, _ = pack
    import comfy.model_patcher
    from semanticgen_pack.semanticgen.encoder import SemanticEncoder

    out = nodes["SemanticGenEncoderLoader"].execute(encoder_name="toy_encoder.safetensors", dtype="auto", device="cpu")
    patcher = out.result[0]
    assert isinstance(patcher, comfy.model_patcher.ModelPatcher)
    assert isinstance(patcher.model, SemanticEncoder)
    assert next(patcher.model.parameters()).dtype == torch.float32  # auto on CPU


@pytest.fixture(scope="module")
def encoder(pack):
    nodes, _ = pack
    return (
        nodes["SemanticGenEncoderLoader"]
        .execute(encoder_name="toy_encoder.safetensors", dtype="fp32", device="cpu")
        .result[0]
    )


@pytest.mark.parametrize("frames,size", [(1, (56, 56)), (3, (37, 53)), (16, (64, 90))])
def test_encode_images_one_frame_and_odd_sizes(pack, encoder, frames, size):
    nodes, _ = pack
    images = torch.rand(frames, *size, 3)
    sem = nodes["SemanticGenEncode"].execute(encoder=encoder, fps=8.0, sample_fps=8.0, images=images).result[0]
    assert sem.channels == 48 and sem.video_frames == frames and sem.video_size == size
    assert sem.steps == {1: 1, 3: 1, 16: 8}[frames]  # 3 frames at 8 fps -> one temporal patch of 2
    preview, fps = nodes["SemanticGenPreview"].execute(semantic=sem).result
    assert preview.shape == (frames, *size, 3) and fps == 8.0


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(images=torch.zeros(0, 56, 56, 3), fps=8.0), "frames: expected at least 1 frame"),
        (dict(images=torch.rand(4, 56, 56, 3), fps=0.0), "fps: expected a positive"),
        (dict(images=torch.full((4, 56, 56, 3), float("inf")), fps=8.0), "NaN or infinite"),
        (dict(fps=8.0), "video / images: connect"),
    ],
)
def test_encode_bad_input_names_the_input(pack, encoder, kwargs, match):
    nodes, _ = pack
    with pytest.raises(ValueError, match=match):
        nodes["SemanticGenEncode"].execute(encoder=encoder, sample_fps=1.6, **kwargs)


def test_combo_values_are_validated(pack):
    nodes, _ = pack
    loader = nodes["SemanticGenEncoderLoader"]
    assert loader.validate_inputs(encoder_name="toy_encoder.safetensors", dtype="auto", device="cpu") is True
    assert "dtype" in loader.validate_inputs(encoder_name="toy_encoder.safetensors", dtype="fp64", device="cpu")
    assert "encoder_name" in loader.validate_inputs(encoder_name="../x", dtype="auto", device="cpu")
    with pytest.raises(ValueError, match="encoder_name: '/etc/passwd' is not a model"):
        loader.execute(encoder_name="/etc/passwd", dtype="auto", device="cpu")
    assert "mode" in nodes["SemanticGenCompress"].validate_inputs(mode="median")


# --- generators: dtypes, block swap, the memory planner ------------------------------------------------------


def conditioning(width: int = 384, seed: int = 0):
    return [[torch.randn(1, 5, width, generator=torch.Generator().manual_seed(seed)), {}]]


def sample_semantic(nodes, model, **kw):
    args = dict(seed=0, steps=2, cfg=1.0, shift=3.0, sampler="euler", frames=9, width=64, height=64)
    return nodes["SemanticGenSemanticSampler"].execute(model=model, positive=conditioning(), **{**args, **kw}).result[0]


@pytest.mark.parametrize("dtype", ["auto", "fp32", "bf16", "fp16", "fp8_e4m3fn", "fp8_e5m2"])
def test_every_generator_dtype_loads_runs_and_is_reported(pack, dtype, caplog):
    nodes, _ = pack
    loader = nodes["SemanticGenSemanticGeneratorLoader"]
    with caplog.at_level("INFO"):
        model = loader.execute(model_name="toy_semantic_generator.safetensors", dtype=dtype).result[0]
    storage = {"auto": torch.float32, "fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    storage |= {"fp8_e4m3fn": torch.float8_e4m3fn, "fp8_e5m2": torch.float8_e5m2}
    dit = model.model.diffusion_model  # the loader gives a native MODEL: the DiT inside ComfyUI's BaseModel
    assert dit.blocks[0].ffn[0].weight.dtype == storage[dtype]
    if dtype.startswith("fp8"):  # storage only: vectors and the compute stay fp32 on this CPU
        assert dit.blocks[0].ffn[0].bias.dtype == torch.float32 and dit.compute_dtype == torch.float32
    name = str(storage[dtype]).removeprefix("torch.")
    assert f"weights {name}" in caplog.text and "compute" in caplog.text
    sem = sample_semantic(nodes, model)
    assert torch.isfinite(sem.features).all()


def test_fp8_that_this_torch_cannot_convert_is_refused_naming_the_input(pack, monkeypatch):
    """A torch without fp8 on the device (older builds, some backends) gets a clear error before any weight is read;
    simulated by making the fp8 → compute conversion fail as such a torch does."""
    nodes, _ = pack
    to = torch.Tensor.to

    def no_fp8(self, *args, **kwargs):
        if self.dtype in (torch.float8_e4m3fn, torch.float8_e5m2):
            raise RuntimeError("\"copy_kernel\" not implemented for 'Float8_e4m3fn'")
        return to(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", no_fp8)
    loader = nodes["SemanticGenLatentGeneratorLoader"]
    with pytest.raises(ValueError, match=r"dtype: fp8_e4m3fn is not supported by this torch on cpu"):
        loader.execute(model_name="toy_latent_generator.safetensors", dtype="fp8_e4m3fn")


def test_block_swap_from_the_loader_gives_the_same_video_features(pack):
    nodes, _ = pack
    loader = nodes["SemanticGenSemanticGeneratorLoader"]
    plain = loader.execute(model_name="toy_semantic_generator.safetensors", dtype="fp32").result[0]
    swapped = loader.execute(model_name="toy_semantic_generator.safetensors", dtype="fp32", blocks_to_swap=1).result[0]
    dit = swapped.model.diffusion_model
    assert len(dit.blocks) == 1 and len(dit.swap) == 1  # the patcher sees block 0 + a slot
    assert torch.equal(sample_semantic(nodes, plain).features, sample_semantic(nodes, swapped).features)
    with pytest.raises(ValueError, match=r"blocks_to_swap: expected 0 … 2"):
        loader.execute(model_name="toy_semantic_generator.safetensors", dtype="fp32", blocks_to_swap=3)


def test_sampler_refuses_up_front_what_memory_cannot_hold(pack, monkeypatch):
    import comfy.model_management as mm

    nodes, _ = pack
    model = (
        nodes["SemanticGenSemanticGeneratorLoader"]
        .execute(model_name="toy_semantic_generator.safetensors", dtype="fp32")
        .result[0]
    )
    monkeypatch.setattr(mm, "get_free_memory", lambda *a, **k: 1024)
    with pytest.raises(ValueError, match=r"width × height × frames: the semantic generator would need about"):
        sample_semantic(nodes, model)


def test_memory_plan_node_reports_every_stage_and_advice(pack):
    nodes, _ = pack
    plan = nodes["SemanticGenMemoryPlan"]
    args = dict(
        latent_generator="toy_latent_generator.safetensors",
        semantic_generator="toy_semantic_generator.safetensors",
        width=832,
        height=480,
        frames=81,
        attention="full",
        window=8,
        blocks_to_swap=0,
        dtype="auto",
        device_memory="8 GB",
        steps=20,
        cfg=5.0,
        sampler="euler",
    )
    out = plan.execute(**args)
    text = out.result[0]
    assert "semantic generator: peak" in text and "latent generator: peak" in text and "fits in" in text
    assert "time on cpu (compute-bound estimate): semantic generator ≈ " in text and "latent generator ≈ " in text
    assert out.ui.as_dict() == {"text": (text,)}
    assert "does not fit" in plan.execute(**{**args, "frames": 8193, "width": 4096, "height": 4096}).result[0]
    choices = dict(latent_generator="none", semantic_generator="none", attention="full", dtype="auto",
                   device_memory="8 GB", sampler="euler")  # fmt: skip
    assert "latent_generator" in plan.validate_inputs(**{**choices, "latent_generator": "../x.safetensors"})
    assert "sampler" in plan.validate_inputs(**{**choices, "sampler": "dpm++"})
    with pytest.raises(ValueError, match="choose at least one generator"):
        plan.execute(**{**args, "latent_generator": "none", "semantic_generator": "none"})


def encode(nodes, encoder, images: torch.Tensor) -> torch.Tensor:
    return (
        nodes["SemanticGenEncode"].execute(encoder=encoder, fps=8.0, sample_fps=8.0, images=images).result[0].features
    )


def test_comfyui_partial_lowvram_loading_works_for_the_encoder_and_the_dits(pack, encoder):
    """ComfyUI's own partial load (a memory budget smaller than the model) leaves layers offloaded and casts them
    per use; that needs ComfyUI's layer classes, which our DiTs are built from and the encoder is re-classed to.
    Outputs equal the fully loaded model's."""
    import comfy.ops

    nodes, _ = pack
    images = torch.rand(8, 64, 64, 3, generator=torch.Generator().manual_seed(0))
    generator = (
        nodes["SemanticGenSemanticGeneratorLoader"]
        .execute(model_name="toy_semantic_generator.safetensors", dtype="fp32")
        .result[0]
    )
    for patcher, run in (
        (encoder, lambda: encode(nodes, encoder, images)),
        (generator, lambda: sample_semantic(nodes, generator).features),
    ):
        linears = [m for m in patcher.model.modules() if isinstance(m, torch.nn.Linear)]
        assert linears and all(isinstance(m, comfy.ops.CastWeightBiasOp) for m in linears)
        full = run()
        patcher.unpatch_model()
        patcher.patch_model(torch.device("cpu"), lowvram_model_memory=patcher.model_size() // 3)
        assert patcher.model.model_lowvram and patcher.model.lowvram_patch_counter == 0  # partially loaded
        torch.testing.assert_close(run(), full)
        patcher.unpatch_model()
