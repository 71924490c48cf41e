"""Both generators as native MODELs: core's KSampler, the pack's samplers (thin conveniences over the same code
path) and the library's own ComfyUI-free sampler agree; LoRA through core's LoraLoaderModelOnly; core's
ModelSamplingSD3; ComfyUI's partial loading."""

from __future__ import annotations

import sys

import pytest
import torch
from safetensors.torch import save_file
from server_harness import load_module

pytestmark = pytest.mark.comfy

SETTINGS = dict(seed=3, steps=10, cfg=3.0)
# Core batches cond and uncond into one forward and builds its schedule in float32 (ours: float64, then rounded),
# so the last bits differ. A wrong schedule, seed or conditioning differs by O(0.1) (the controls below).
CLOSE = dict(rtol=1e-4, atol=1e-4)


@pytest.fixture(scope="module")
def core(comfy_modules):
    """ComfyUI's own nodes.py (by path: `nodes` may name this pack's package) and its model patch nodes."""
    core_nodes = load_module("comfyui_nodes", comfy_modules / "nodes.py")
    saved = sys.modules.get("nodes")
    sys.modules["nodes"] = core_nodes  # nodes_model_advanced imports ComfyUI's `nodes`, not this pack's package
    try:
        return core_nodes, load_module(
            "comfyui_nodes_model_advanced", comfy_modules / "comfy_extras" / "nodes_model_advanced.py"
        )
    finally:
        if saved is None:
            sys.modules.pop("nodes")
        else:
            sys.modules["nodes"] = saved


def prompt(seed: int):
    return [[torch.randn(1, 5, 384, generator=torch.Generator().manual_seed(seed)), {}]]


def ksample(core, model, latent, positive, negative, scheduler="simple", **kw):
    """Core's KSampler path (nodes.common_ksampler), euler with the pack's schedule ("simple" at shift 3)."""
    args = {**SETTINGS, **kw}
    (out,) = core[0].common_ksampler(
        model, args["seed"], args["steps"], args["cfg"], "euler", scheduler, positive, negative, latent
    )
    return out


def loaders(nodes, role: str, name: str):
    """(pack loader, MODEL loader) outputs: both native MODELs (ModelPatcher around SemanticGenModel)."""
    title = "Semantic" if role == "semantic" else "Latent"
    plain = nodes[f"SemanticGen{title}GeneratorLoader"].execute(model_name=name, dtype="fp32").result[0]
    native = nodes[f"SemanticGen{title}ModelLoader"].execute(model_name=name, dtype="fp32").result[0]
    return plain, native


def library_dit(pack, role: str, name: str):
    """The same checkpoint as a plain SemanticGenDiT, for the library's ComfyUI-free sampler."""
    from semanticgen_pack.semanticgen.dit_io import load_dit

    folder = "semantic_generators" if role == "semantic" else "latent_generators"
    return load_dit(pack[1] / "models" / "semanticgen" / folder / name)


def options(shift: float = 3.0):
    from semanticgen_pack.semanticgen.pipeline import SamplingOptions

    return SamplingOptions(shift=shift, sampler="euler", **SETTINGS)


VIDEO = dict(frames=17, width=64, height=64)


def semantic_three_ways(pack, core, dit=None, native=None):
    """Stage 1 by the library's own sampler, by the Semantic Sampler node and by core's KSampler."""
    from semanticgen_pack.semanticgen.pipeline import generate_semantic

    nodes, _ = pack
    name = "toy_semantic_generator.safetensors"
    dit = dit or library_dit(pack, "semantic", name)
    plain, loaded = loaders(nodes, "semantic", name)
    native = native or loaded
    pos, neg = prompt(0), prompt(1)
    library = generate_semantic(dit, pos[0][0], neg[0][0], VIDEO["frames"], 64, 64, options())
    node = (
        nodes["SemanticGenSemanticSampler"]
        .execute(
            model=plain if native is loaded else native,
            positive=pos,
            negative=neg,
            shift=3.0,
            sampler="euler",
            **SETTINGS,
            **VIDEO,
        )
        .result[0]
    )
    empty = nodes["SemanticGenEmptySemanticLatent"].execute(model=native, batch_size=1, **VIDEO).result[0]
    sampled = ksample(core, native, empty, pos, neg)
    theirs = nodes["SemanticGenSemanticFromLatent"].execute(latent=sampled).result[0]
    return library, node, theirs, (native, empty, pos, neg)


def test_ksampler_samples_stage_1_as_the_semantic_sampler(pack, core):
    library, node, theirs, (native, empty, pos, neg) = semantic_three_ways(pack, core)
    assert theirs.features.shape == library.features.shape and theirs.frame_indices == library.frame_indices
    assert (theirs.video_fps, theirs.video_frames, theirs.video_size) == (library.video_fps, 17, (64, 64))
    assert torch.equal(node.features, theirs.features)  # the node is KSampler's code path
    torch.testing.assert_close(theirs.features, library.features, **CLOSE)
    other = ksample(core, native, empty, pos, neg, scheduler="normal")["samples"]  # control: another schedule
    assert (other - library.features).abs().max() > 100 * CLOSE["atol"]


def test_the_shipped_semantic_generator_samples_at_its_feature_scale(pack, core):
    """The demo model samples at unit scale (its FeatureNorm); the native latent format scales back as the
    library's ComfyUI-free sampler does, so the LATENT holds features at the compressor's scale."""
    from semanticgen_pack.nodes.native import load_native
    from semanticgen_pack.semanticgen.dit_io import load_dit
    from server_harness import ROOT

    path = ROOT / "models" / "semanticgen" / "semantic_generators" / "toy_semantic_generator.safetensors"
    cpu = torch.device("cpu")
    native = load_native(load_dit(path), 3.0, cpu, cpu)
    assert native.model.diffusion_model.feature_norm is not None
    library, node, theirs, _ = semantic_three_ways(pack, core, load_dit(path), native)
    assert torch.equal(node.features, theirs.features)
    torch.testing.assert_close(theirs.features, library.features, **CLOSE)
    assert library.features.std() > 1.2  # the compressor's scale (unit-scale samples would be ≈ 1)


@pytest.mark.parametrize("window", [None, 2], ids=["full", "swin"])
def test_ksampler_samples_stage_2_as_the_latent_sampler(pack, core, window):
    import comfy.latent_formats
    from semanticgen_pack.semanticgen.pipeline import generate_latent

    nodes, _ = pack
    sem, _, _, _ = semantic_three_ways(pack, core)
    name = "toy_latent_generator.safetensors"
    plain, native = loaders(nodes, "latent", name)
    pos, neg = prompt(2), prompt(3)
    z = generate_latent(library_dit(pack, "latent", name), pos[0][0], neg[0][0], sem, 0.2, options(), window=window)
    library = comfy.latent_formats.Wan21().process_out(z)  # the library samples in the model's (normalised) space
    attention = dict(attention="full") if window is None else dict(attention="swin", window=window)
    (node,) = (
        nodes["SemanticGenLatentSampler"]
        .execute(
            model=plain,
            positive=pos,
            negative=neg,
            semantic=sem,
            shift=3.0,
            sampler="euler",
            semantic_noise=0.2,
            **SETTINGS,
            **attention,
        )
        .result
    )
    cond = nodes["SemanticGenSemanticConditioning"].execute(
        positive=pos, negative=neg, semantic=sem, semantic_noise=0.2, seed=SETTINGS["seed"]
    )
    pos2, neg2, empty = cond.result
    swin = nodes["SemanticGenSwinAttention"]
    model = native if window is None else swin.execute(model=native, window=window).result[0]
    theirs = ksample(core, model, empty, pos2, neg2)
    assert theirs["samples"].shape == library.shape == node["samples"].shape
    assert torch.equal(node["samples"], theirs["samples"])  # the node is KSampler's code path
    torch.testing.assert_close(theirs["samples"], library, **CLOSE)
    unconditioned = ksample(core, model, empty, pos, neg)  # control: without the semantic tokens
    assert (unconditioned["samples"] - library).abs().max() > 100 * CLOSE["atol"]
    if window is not None:  # control: full attention is another result on this 5-latent-frame video
        full = ksample(core, native, empty, pos2, neg2)
        assert (full["samples"] - library).abs().max() > 100 * CLOSE["atol"]


def test_swin_patch_changes_attention_only_when_the_video_is_longer_than_a_window(pack, core):
    nodes, _ = pack
    _, native = loaders(nodes, "latent", "toy_latent_generator.safetensors")
    patched = nodes["SemanticGenSwinAttention"].execute(model=native, window=2).result[0]
    assert patched is not native and "semanticgen_window" not in native.model_options.get("transformer_options", {})
    assert patched.model_options["transformer_options"]["semanticgen_window"] == 2
    semantic_gen = loaders(nodes, "semantic", "toy_semantic_generator.safetensors")[1]
    with pytest.raises(ValueError, match="model: Swin attention is for the latent generator"):
        nodes["SemanticGenSwinAttention"].execute(model=semantic_gen, window=2)


def test_model_sampling_sd3_shift_changes_the_result_as_the_samplers_shift_does(pack, core):
    from semanticgen_pack.semanticgen.pipeline import generate_semantic

    nodes, _ = pack
    name = "toy_semantic_generator.safetensors"
    _, native = loaders(nodes, "semantic", name)
    pos, neg = prompt(0), prompt(1)
    shift1 = generate_semantic(library_dit(pack, "semantic", name), pos[0][0], neg[0][0], 17, 64, 64, options(1.0))
    (patched,) = core[1].ModelSamplingSD3().patch(native, shift=1.0)
    empty = nodes["SemanticGenEmptySemanticLatent"].execute(model=patched, batch_size=1, **VIDEO).result[0]
    theirs = ksample(core, patched, empty, pos, neg)
    torch.testing.assert_close(theirs["samples"], shift1.features, **CLOSE)
    default = ksample(core, native, empty, pos, neg)  # shift 3 from the loader
    assert (default["samples"] - shift1.features).abs().max() > 100 * CLOSE["atol"]


def test_core_lora_loader_equals_merging_the_delta(pack, core, tmp_path):
    """A LoRA in ComfyUI's Wan key format (diffusion_model.<layer>.lora_A/B), loaded by core's
    LoraLoaderModelOnly, changes the latent generator exactly as adding strength·B·A to the weights does."""
    import comfy.model_management as mm
    import folder_paths

    nodes, tmp = pack
    _, native = loaders(nodes, "latent", "toy_latent_generator.safetensors")
    dit = native.model.diffusion_model
    clean = {k: v.clone() for k, v in dit.state_dict().items()}  # core patches the shared weights in place on load
    g, rank, strength = torch.Generator().manual_seed(5), 4, 0.7
    lora, delta = {}, {}
    for layer in ("blocks.0.self_attn.q", "blocks.1.ffn.0", "blocks.1.cross_attn.o"):
        weight = dit.get_submodule(layer).weight
        a, b = torch.randn(rank, weight.shape[1], generator=g) * 0.3, torch.randn(weight.shape[0], rank, generator=g)
        lora[f"diffusion_model.{layer}.lora_A.weight"], lora[f"diffusion_model.{layer}.lora_B.weight"] = a, b
        delta[f"{layer}.weight"] = strength * b @ a
    (tmp_path / "loras").mkdir()
    save_file(lora, str(tmp_path / "loras" / "test_wan_lora.safetensors"))
    folder_paths.add_model_folder_path("loras", str(tmp_path / "loras"))
    (patched,) = core[0].LoraLoaderModelOnly().load_lora_model_only(native, "test_wan_lora.safetensors", strength)

    g = torch.Generator().manual_seed(6)
    x, ctx = torch.randn(1, 16, 2, 4, 4, generator=g), torch.randn(1, 5, 384, generator=g)
    sem, layout = torch.randn(1, 8, 1, 2, 2, generator=g), ((0, 8), (2, 2))
    t = torch.tensor([600.0])

    def forward(model):
        mm.load_models_gpu([model])
        with torch.no_grad():
            return model.model.diffusion_model(x, t, ctx, semantic=sem, semantic_layout=layout).clone()

    plain = forward(native)
    lora_out = forward(patched)
    merged_state = {k: v + delta[k] if k in delta else v for k, v in clean.items()}
    merged_model = loaders(nodes, "latent", "toy_latent_generator.safetensors")[1]
    merged_model.model.diffusion_model.load_state_dict(merged_state)
    merged = forward(merged_model)
    torch.testing.assert_close(lora_out, merged, rtol=1e-5, atol=1e-5)
    assert (lora_out - plain).abs().max() > 1e-2  # the LoRA did change the output


def test_comfyui_partial_loading_works_on_the_native_models(pack, core):
    """A budget of a third of the model: ComfyUI leaves layers offloaded and casts them per use; same samples."""
    nodes, _ = pack
    _, native = loaders(nodes, "semantic", "toy_semantic_generator.safetensors")
    empty = nodes["SemanticGenEmptySemanticLatent"].execute(model=native, batch_size=1, **VIDEO).result[0]
    pos, neg = prompt(0), prompt(1)
    full = ksample(core, native, empty, pos, neg)["samples"]
    native.unpatch_model()
    native.patch_model(torch.device("cpu"), lowvram_model_memory=native.model_size() // 3)
    assert native.model.model_lowvram and native.model.lowvram_patch_counter == 0  # partially loaded
    torch.testing.assert_close(ksample(core, native, empty, pos, neg)["samples"], full)
    native.unpatch_model()


def test_model_loaders_give_model_sockets(pack):
    nodes, _ = pack
    for title in ("Semantic", "Latent"):
        assert nodes[f"SemanticGen{title}ModelLoader"].GET_NODE_INFO_V1()["output"] == ["MODEL"]
        assert nodes[f"SemanticGen{title}GeneratorLoader"].GET_NODE_INFO_V1()["output"] == [
            f"SEMANTICGEN_{title.upper()}_GENERATOR"
        ]


def test_native_nodes_name_bad_inputs(pack):
    nodes, _ = pack
    _, native = loaders(nodes, "latent", "toy_latent_generator.safetensors")
    with pytest.raises(ValueError, match="model: expected a semantic generator"):
        nodes["SemanticGenEmptySemanticLatent"].execute(model=native, frames=17, width=64, height=64)
    with pytest.raises(ValueError, match="model: expected a SemanticGen generator loaded as a MODEL"):
        nodes["SemanticGenEmptySemanticLatent"].execute(model=object(), frames=17, width=64, height=64)
    with pytest.raises(ValueError, match="latent: not a semantic latent"):
        nodes["SemanticGenSemanticFromLatent"].execute(latent={"samples": torch.zeros(1, 16, 5, 8, 8)})
    _, sem_model = loaders(nodes, "semantic", "toy_semantic_generator.safetensors")
    with pytest.raises(ValueError, match=r"frames: expected 4k\+1 frames"):
        nodes["SemanticGenEmptySemanticLatent"].execute(model=sem_model, frames=16, width=64, height=64)
    for node in ("SemanticGenEmptySemanticLatent", "SemanticGenSemanticConditioning", "SemanticGenSwinAttention"):
        assert all(i.tooltip for i in nodes[node].define_schema().inputs), node
    x, ctx = torch.zeros(1, 16, 2, 8, 8), torch.zeros(1, 4, 384)
    with pytest.raises(ValueError, match="conditioning: carries c_concat, clip_fea .image-to-video inputs."):
        native.model.diffusion_model(x, torch.tensor([500.0]), ctx, c_concat=x, clip_fea=ctx, attention_mask=None)
