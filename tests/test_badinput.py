"""Bad input through the real ComfyUI server: one table, every case with its exact outcome, then a valid prompt.

Outcomes: refused at validation (HTTP 400, `node_errors` of the node naming the input), failed at execution
(`/history` status error, the message naming the input and what was expected), or accepted (edge-case inputs the
pack must handle: the written video's frame count and size are checked).
"""

from __future__ import annotations

import json
import pickle
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from server_harness import PACK_NODES, error_message
from test_api import api_workflow, frame_count

pytestmark = pytest.mark.api

REF, T2V, LONG, RESYN = (f"semanticgen_{n}" for n in ("reference_features", "text_to_video", "long_video",
                                                       "reference_resynthesis"))  # fmt: skip
NAN = float("nan")
Setup = Callable[[Path], None]  # writes the files a case needs into the server's base directory


@dataclass(frozen=True)
class Case:
    """One bad input. Exactly one of `refused` / `failed` / `video` states the expected outcome."""

    name: str
    node: str  # the pack node under test (the matrix covers every node id)
    workflow: str  # a bundled workflow's API twin to edit, or "" to start from nothing
    edits: dict[str, dict] = field(default_factory=dict)  # node key -> inputs (None: unset; "class_type": a new node)
    setup: Setup | None = None
    refused: str | None = None  # validation: the input node_errors must name
    at: str | None = None  # class_type holding the validation error, if not `node` (e.g. ComfyUI's LoadVideo)
    failed: tuple[str, ...] = ()  # execution: words the /history error message must contain
    video: tuple[int, int, int] | None = None  # accepted: (frames, height, width) of the written video

    def __post_init__(self) -> None:
        assert sum((self.refused is not None, bool(self.failed), self.video is not None)) == 1, self.name

    def prompt(self) -> dict:
        prompt = api_workflow(self.workflow) if self.workflow else {}  # "": a prompt of the edits alone
        for key, inputs in self.edits.items():
            if "class_type" in inputs:
                prompt[key] = {"class_type": inputs["class_type"], "inputs": inputs["inputs"]}
            else:
                prompt[key]["inputs"].update(inputs)
                prompt[key]["inputs"] = {k: v for k, v in prompt[key]["inputs"].items() if v is not None}
        return prompt


# --- files the cases write into the server's folders ----------------------------------------------------------


def models(base: Path, folder: str) -> Path:
    return base / "models" / "semanticgen" / folder


def tensors_and_metadata(path: Path) -> tuple[dict, dict]:
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata())  # noqa: SIM118


def config_mismatch(folder: str, src: str, dst: str, **config) -> Setup:
    """A checkpoint whose config (metadata) disagrees with its tensors."""

    def write(base: Path) -> None:
        tensors, meta = tensors_and_metadata(models(base, folder) / src)
        meta["config"] = json.dumps({**json.loads(meta["config"]), **config})
        save_file(tensors, str(models(base, folder) / dst), metadata=meta)

    return write


def space_edit(folder: str, src: str, dst: str, **space) -> Setup:
    """A generator checkpoint with other semantic-space metadata (e.g. a finer token grid)."""

    def write(base: Path) -> None:
        tensors, meta = tensors_and_metadata(models(base, folder) / src)
        meta["space"] = json.dumps({**json.loads(meta["space"]), **space})
        save_file(tensors, str(models(base, folder) / dst), metadata=meta)

    return write


def truncated(folder: str, src: str, dst: str) -> Setup:
    def write(base: Path) -> None:
        data = (models(base, folder) / src).read_bytes()
        (models(base, folder) / dst).write_bytes(data[: len(data) // 2])

    return write


def corrupt(folder: str, dst: str) -> Setup:
    """A header length that promises more than the file holds, then random bytes."""
    return lambda base: (models(base, folder) / dst).write_bytes(
        (2**40).to_bytes(8, "little") + np.random.default_rng(0).bytes(4096)
    )


def pickled(folder: str, dst: str) -> Setup:
    """What `torch.save`'s legacy format writes (pickle), renamed .safetensors. Never loaded by the pack."""
    return lambda base: (models(base, folder) / dst).write_bytes(pickle.dumps({"visual.weight": [0.0] * 64}, 2))


def copy_model(src_folder: str, src: str, dst_folder: str, dst: str) -> Setup:
    return lambda base: shutil.copyfile(models(base, src_folder) / src, models(base, dst_folder) / dst)


def folder_without_vision(base: Path) -> None:
    folder = models(base, "encoders") / "no-vision"
    folder.mkdir(exist_ok=True)
    shutil.copyfile(models(base, "encoders") / "tiny-qwen2.5-vl" / "config.json", folder / "config.json")
    save_file({"model.embed_tokens.weight": torch.zeros(4, 4)}, str(folder / "model.safetensors"))


def write_video(path: Path, frames: int, height: int, width: int, pix_fmt: str = "yuv420p") -> None:
    """A real H.264 mp4 (yuv444p allows odd sizes); `frames=0` gives a file with a stream and no frames."""
    rng = np.random.default_rng(frames)
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("libx264", rate=Fraction(8))
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        for _ in range(frames):
            image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        if frames:
            out.mux(stream.encode())


def video(name: str, frames: int, height: int = 64, width: int = 64, pix_fmt: str = "yuv420p") -> Setup:
    return lambda base: write_video(base / "input" / name, frames, height, width, pix_fmt)


def video_folder(folder: str, *files: tuple[str, str | None]) -> Setup:
    """A sub-folder of input/ with (file, text) pairs: text None writes a 3-frame video, else that text."""

    def write(base: Path) -> None:
        (base / "input" / folder).mkdir(exist_ok=True)
        for name, text in files:
            path = base / "input" / folder / name
            write_video(path, 3, 64, 64) if text is None else path.write_text(text)

    return write


def build_cache(**inputs) -> dict[str, dict]:
    """Edits that turn the text-to-video workflow into a Build Training Cache prompt."""
    cache = {"vae": ["8", 0], "text_encoder": ["1", 0], "encoder": ["12", 0], "videos": "training_videos",
             "cache_name": "badinput_cache", "frames": 9, "width": 64, "height": 64, "sample_fps": 4.0,
             "shard_size": 2, **inputs}  # fmt: skip
    encoder = {"encoder_name": "toy_encoder.safetensors", "dtype": "auto", "device": "default"}
    return {
        "11": {"class_type": "SemanticGenBuildCache", "inputs": cache},
        "12": {"class_type": "SemanticGenEncoderLoader", "inputs": encoder},
    }


def plan_node(**inputs) -> dict[str, dict]:
    """A prompt of one Memory Plan node (an output node: alone, so its refusal is the prompt's)."""
    plan = {"latent_generator": "toy_latent_generator.safetensors", "semantic_generator": "none", "width": 64,
            "height": 64, "frames": 17, "attention": "full", "window": 8, "blocks_to_swap": 0, "dtype": "auto",
            "device_memory": "8 GB", "steps": 20, "cfg": 5.0, "sampler": "euler", **inputs}  # fmt: skip
    return {"13": {"class_type": "SemanticGenMemoryPlan", "inputs": plan}}


# --- the matrix -----------------------------------------------------------------------------------------------

E, C, SG, LG = "encoders", "compressors", "semantic_generators", "latent_generators"
ENCODER_LOADER, ENCODE = "SemanticGenEncoderLoader", "SemanticGenEncode"
COMPRESSOR_LOADER, COMPRESS = "SemanticGenCompressorLoader", "SemanticGenCompress"
SEM_LOADER, SEM_SAMPLER = "SemanticGenSemanticGeneratorLoader", "SemanticGenSemanticSampler"
LAT_LOADER, LAT_SAMPLER = "SemanticGenLatentGeneratorLoader", "SemanticGenLatentSampler"
DECODE, PREVIEW, CACHE = "SemanticGenVAEDecode", "SemanticGenPreview", "SemanticGenBuildCache"
PLAN = "SemanticGenMemoryPlan"
TEXT_LOADER, TEXT_ENCODE = "SemanticGenTextEncoderLoader", "SemanticGenTextEncode"
NATIVE = "semanticgen_native_text_to_video"
SEM_MODEL, LAT_MODEL = "SemanticGenSemanticModelLoader", "SemanticGenLatentModelLoader"
WAN_MODEL = "SemanticGenWanLatentModelLoader"
EMPTY_SEM, FROM_LATENT = "SemanticGenEmptySemanticLatent", "SemanticGenSemanticFromLatent"
SEM_COND, SWIN = "SemanticGenSemanticConditioning", "SemanticGenSwinAttention"
VIDEO_LATENT = {
    "class_type": "EmptyHunyuanLatentVideo",
    "inputs": {"width": 64, "height": 64, "length": 17, "batch_size": 1},
}
FAST = {"steps": 2}  # sampler settings for cases that fail after sampling started or succeed

CASES = [
    # out-of-range and wrong-type values (ComfyUI's own range and type checks on our inputs)
    Case("encode_sample_fps_zero", ENCODE, REF, {"3": {"sample_fps": 0}}, refused="sample_fps"),
    Case("encode_sample_fps_not_a_number", ENCODE, REF, {"3": {"sample_fps": "fast"}}, refused="sample_fps"),
    Case("compress_seed_negative", COMPRESS, REF, {"5": {"seed": -1}}, refused="seed"),
    Case("semantic_steps_zero", SEM_SAMPLER, T2V, {"5": {"steps": 0}}, refused="steps"),
    Case("semantic_steps_not_an_int", SEM_SAMPLER, T2V, {"5": {"steps": "many"}}, refused="steps"),
    Case("semantic_width_too_large", SEM_SAMPLER, T2V, {"5": {"width": 8192}}, refused="width"),
    Case("latent_semantic_noise_above_one", LAT_SAMPLER, T2V, {"7": {"semantic_noise": 1.5}}, refused="semantic_noise"),
    Case("latent_window_zero", LAT_SAMPLER, LONG, {"7": {"window": 0}}, refused="window"),
    Case("decode_chunk_zero", DECODE, LONG, {"9": {"chunk": 0}}, refused="chunk"),
    Case("cache_shard_size_zero", CACHE, T2V, build_cache(shard_size=0), refused="shard_size"),
    # wrong socket types linked in
    Case("latent_given_raw_features", LAT_SAMPLER, RESYN, {"9": {"semantic": ["3", 0]}}, refused="semantic"),
    Case(
        "preview_given_a_latent",
        PREVIEW,
        T2V,
        {"12": {"class_type": PREVIEW, "inputs": {"semantic": ["7", 0]}}, "10": {"images": ["12", 0]}},
        refused="semantic",
    ),  # fmt: skip
    Case("text_encode_given_a_generator", TEXT_ENCODE, T2V, {"2": {"text_encoder": ["4", 0]}}, refused="text_encoder"),
    Case(
        "minilm_loader_into_native_clip",
        TEXT_LOADER,
        T2V,
        {"2": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["1", 0], "text": "a red circle"}}},
        refused="clip",
        at="CLIPTextEncode",
    ),  # fmt: skip
    # our own COMBO values (ComfyUI 0.3.75 does not validate V3 combos)
    Case("compress_mode_median", COMPRESS, REF, {"5": {"mode": "median"}}, refused="mode"),
    Case("encoder_device_unknown", ENCODER_LOADER, REF, {"2": {"device": "cuda:7"}}, refused="device"),
    Case("compressor_dtype_fp64", COMPRESSOR_LOADER, REF, {"4": {"dtype": "fp64"}}, refused="dtype"),
    Case("latent_loader_dtype_int8", LAT_LOADER, T2V, {"6": {"dtype": "int8"}}, refused="dtype"),
    Case("semantic_sampler_unknown", SEM_SAMPLER, T2V, {"5": {"sampler": "dpmpp_2m"}}, refused="sampler"),
    Case("latent_attention_sliding", LAT_SAMPLER, LONG, {"7": {"attention": "sliding"}}, refused="attention"),
    # model names outside the registered folders
    Case(
        "encoder_path_traversal",
        ENCODER_LOADER,
        REF,
        {"2": {"encoder_name": "../../../etc/passwd"}},
        refused="encoder_name",
    ),  # fmt: skip
    Case(
        "compressor_absolute_path",
        COMPRESSOR_LOADER,
        REF,
        {"4": {"compressor_name": "/etc/passwd"}},
        refused="compressor_name",
    ),  # fmt: skip
    Case(
        "semantic_loader_other_folder",
        SEM_LOADER,
        T2V,
        {"4": {"model_name": "../latent_generators/toy_latent_generator.safetensors"}},
        refused="model_name",
    ),
    Case(
        "cache_videos_outside_input",
        CACHE,
        T2V,
        build_cache(videos="../../etc"),
        failed=("videos: '../../etc' must be a sub-folder name inside",),
    ),  # fmt: skip
    Case(
        "cache_name_outside_output",
        CACHE,
        T2V,
        build_cache(cache_name="../../escaped"),
        failed=("cache_name: '../../escaped' must be a sub-folder name inside",),
    ),  # fmt: skip
    # truncated, corrupt, pickled and self-contradicting checkpoints
    Case(
        "compressor_truncated",
        COMPRESSOR_LOADER,
        REF,
        {"4": {"compressor_name": "truncated.safetensors"}},
        truncated(C, "toy_compressor_c8.safetensors", "truncated.safetensors"),
        failed=("compressor_name: truncated.safetensors: not a valid safetensors file",),
    ),  # fmt: skip
    Case(
        "latent_generator_corrupt",
        LAT_LOADER,
        T2V,
        {"6": {"model_name": "corrupt.safetensors"}},
        corrupt(LG, "corrupt.safetensors"),
        failed=("model_name: corrupt.safetensors: not a valid safetensors",),
    ),
    Case(
        "encoder_pickle_renamed",
        ENCODER_LOADER,
        REF,
        {"2": {"encoder_name": "pickled.safetensors"}},
        pickled(E, "pickled.safetensors"),
        failed=("encoder_name: pickled.safetensors: a pickle", "only safetensors are loaded"),
    ),  # fmt: skip
    Case(
        "compressor_config_disagrees",
        COMPRESSOR_LOADER,
        REF,
        {"4": {"compressor_name": "lying.safetensors"}},
        config_mismatch(C, "toy_compressor_c8.safetensors", "lying.safetensors", hidden_dim=16),
        failed=(
            "compressor_name: lying.safetensors: tensor mlp.1.weight has shape (32, 48), the config needs (16, 48)",
        ),
    ),  # fmt: skip
    Case(
        "semantic_generator_config_disagrees",
        SEM_LOADER,
        T2V,
        {"4": {"model_name": "lying.safetensors"}},
        config_mismatch(SG, "toy_semantic_generator.safetensors", "lying.safetensors", num_layers=3),
        failed=("model_name: lying.safetensors: tensors do not match the config", "blocks.2."),
    ),  # fmt: skip
    Case(
        "encoder_config_disagrees",
        ENCODER_LOADER,
        REF,
        {"2": {"encoder_name": "lying.safetensors"}},
        config_mismatch(E, "toy_encoder.safetensors", "lying.safetensors", hidden_size=64),
        failed=("encoder_name: lying.safetensors: vision weights do not match the config",),
    ),  # fmt: skip
    Case(
        "encoder_folder_without_vision_weights",
        ENCODER_LOADER,
        REF,
        {"2": {"encoder_name": "no-vision"}},
        folder_without_vision,
        failed=("encoder_name: no-vision: checkpoint has no vision weights",),
    ),
    Case(
        "semantic_loader_given_latent_generator",
        SEM_LOADER,
        T2V,
        {"4": {"model_name": "latent.safetensors"}},
        copy_model(LG, "toy_latent_generator.safetensors", SG, "latent.safetensors"),
        failed=("model_name: latent.safetensors is a latent generator; load it with the latent generator",),
    ),
    Case(
        "latent_loader_given_compressor",
        LAT_LOADER,
        T2V,
        {"6": {"model_name": "compressor.safetensors"}},
        copy_model(C, "toy_compressor_c8.safetensors", LG, "compressor.safetensors"),
        failed=("model_name: compressor.safetensors: expected a SemanticGen dit checkpoint, found compressor",),
    ),
    # encoder / compressor / generator / text widths that do not fit together
    Case(
        "compressor_width_mismatch",
        COMPRESS,
        REF,
        {"4": {"compressor_name": "tiny-c8-d40.safetensors"}},
        failed=("semantic features: compressor expects width 40, got 48",),
    ),  # fmt: skip
    Case(
        "latent_generator_semantic_width",
        LAT_SAMPLER,
        RESYN,
        {"8": {"model_name": "tiny-latent-c4.safetensors"}},
        failed=("semantic: has 8 channels, the latent generator expects 4",),
    ),  # fmt: skip
    Case(
        "latent_generator_text_width",
        LAT_SAMPLER,
        T2V,
        {"6": {"model_name": "tiny-latent-text32.safetensors"}},
        failed=("positive: conditioning has width 384", "32-wide text encoder"),
    ),  # fmt: skip
    # lengths and sizes that do not fit the frame grid
    Case(
        "semantic_frames_not_4k_plus_1",
        SEM_SAMPLER,
        T2V,
        {"5": {"frames": 18}},
        failed=("frames: expected 4k+1 frames", "got 18"),
    ),  # fmt: skip
    Case(
        "semantic_width_not_multiple_of_16",
        SEM_SAMPLER,
        T2V,
        {"5": {"width": 40}},
        failed=("width: expected a positive multiple of 16 pixels, got 40",),
    ),  # fmt: skip
    Case("cache_frames_not_4k_plus_1", CACHE, T2V, build_cache(frames=6), failed=("frames: expected 4k+1", "got 6")),
    Case(
        "decode_image_latent",
        DECODE,
        T2V,
        {
            "12": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
            "9": {"class_type": DECODE, "inputs": {"vae": ["8", 0], "samples": ["12", 0], "chunk": 2}},
        },
        failed=("samples: expected a Wan2.1 video latent (B, 16, T, H, W), got shape (1, 4, 8, 8)",),
    ),  # fmt: skip
    Case(
        "reference_18_frames_cut_to_4k_plus_1",
        LAT_SAMPLER,
        RESYN,
        {"1": {"file": "f18.mp4"}, "9": FAST},
        video("f18.mp4", 18),
        video=(17, 64, 64),
    ),  # fmt: skip
    # zero-frame, one-frame and odd-sized videos; files that are not videos
    Case(
        "reference_zero_frames",
        ENCODE,
        REF,
        {"1": {"file": "empty.mp4"}},
        video("empty.mp4", 0),
        refused="Invalid video file",
        at="LoadVideo",
    ),  # fmt: skip
    Case(
        "reference_one_frame",
        ENCODE,
        RESYN,
        {"1": {"file": "one.mp4"}, "9": FAST},
        video("one.mp4", 1),
        video=(1, 64, 64),
    ),  # fmt: skip
    Case(
        "reference_odd_size",
        PREVIEW,
        REF,
        {
            "1": {"file": "odd.mp4"},
            "8": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "semanticgen/odd"}},
        },
        video("odd.mp4", 7, 37, 53, "yuv444p"),
        video=(7, 37, 53),
    ),  # fmt: skip (H.264 cannot store 37×53: PNGs)
    Case(
        "reference_odd_size_resynthesis",
        LAT_SAMPLER,
        RESYN,
        {"1": {"file": "odd.mp4"}, "9": FAST},
        video("odd.mp4", 7, 37, 53, "yuv444p"),
        video=(5, 32, 48),
    ),  # fmt: skip
    Case("semantic_one_frame", SEM_SAMPLER, T2V, {"5": {"frames": 1, **FAST}, "7": FAST}, video=(1, 64, 64)),
    Case(
        "encode_not_a_video",
        ENCODE,
        REF,
        {"1": {"file": "notes.mp4"}},
        lambda base: (base / "input" / "notes.mp4").write_text("this is not a video\n" * 50),
        failed=("video: could not decode the input as a video",),
    ),  # fmt: skip
    Case(
        "encode_nothing_connected",
        ENCODE,
        REF,
        {"3": {"video": None}},
        failed=("video / images: connect a reference video or a batch of frames",),
    ),  # fmt: skip
    Case(
        "cache_not_a_video",
        CACHE,
        T2V,
        build_cache(videos="garbage"),
        video_folder("garbage", ("a.mp4", "not a video\n" * 40), ("a.txt", "a caption")),
        failed=("videos: a.mp4 could not be decoded as a video",),
    ),  # fmt: skip
    Case(
        "cache_no_usable_clip",
        CACHE,
        T2V,
        build_cache(videos="too_short"),
        video_folder("too_short", ("short.mp4", None), ("short.txt", "a caption")),
        failed=("videos: none of the 1 videos", "has at least 9 frames"),
    ),  # fmt: skip
    # NaN / inf (JSON NaN passes ComfyUI's range checks; inf does not)
    Case(
        "encode_sample_fps_nan",
        ENCODE,
        REF,
        {"3": {"sample_fps": NAN}},
        failed=("sample_fps: expected a positive number, got nan",),
    ),  # fmt: skip
    Case("encode_sample_fps_inf", ENCODE, REF, {"3": {"sample_fps": float("inf")}}, refused="sample_fps"),
    Case("semantic_cfg_nan", SEM_SAMPLER, T2V, {"5": {"cfg": NAN}}, failed=("cfg: expected a finite guidance",)),
    Case("latent_shift_nan", LAT_SAMPLER, T2V, {"7": {"shift": NAN}}, failed=("shift: expected a finite",)),
    Case("latent_cfg_nan", LAT_SAMPLER, T2V, {"7": {"cfg": NAN}}, failed=("cfg: expected a finite guidance",)),
    Case(
        "latent_semantic_noise_nan",
        LAT_SAMPLER,
        T2V,
        {"7": {"semantic_noise": NAN}},
        failed=("semantic_noise: expected 0 … 1, got nan",),
    ),  # fmt: skip
    # sizes that would need more memory than the machine has: refused up front by the memory planner (a generator
    # trained at 16 px per token with no pixel limit asked for 8193 frames at 4096²: ~10⁸ tokens)
    Case(
        "semantic_run_larger_than_memory",
        SEM_SAMPLER,
        T2V,
        {"4": {"model_name": "hires.safetensors"}, "5": {"frames": 8193, "width": 4096, "height": 4096}},
        space_edit(
            SG,
            "toy_semantic_generator.safetensors",
            "hires.safetensors",
            pixels_per_token=16,
            max_pixels=4096 * 4096,
            sample_fps=8.0,
        ),
        failed=(
            "width × height × frames: the semantic generator would need about",
            "is free;",
            "use a smaller width × height or fewer frames",
        ),
    ),  # fmt: skip
    Case(
        "plan_latent_generator_traversal",
        PLAN,
        "",
        plan_node(latent_generator="../../x.safetensors"),
        refused="latent_generator",
    ),  # fmt: skip
    Case("plan_unknown_memory_preset", PLAN, "", plan_node(device_memory="1 TB"), refused="device_memory"),
    Case("plan_frames_negative", PLAN, "", plan_node(frames=-3), refused="frames"),
    Case("plan_unknown_sampler", PLAN, "", plan_node(sampler="dpm++"), refused="sampler"),
    # native sampling (core KSampler + the pack's small nodes)
    Case(
        "native_semantic_model_is_a_latent_generator",
        SEM_MODEL,
        NATIVE,
        {"4": {"model_name": "toy_latent_generator.safetensors"}},
        refused="model_name",
    ),
    Case(
        "native_latent_model_missing",
        LAT_MODEL,
        NATIVE,
        {"8": {"model_name": "nope.safetensors"}},
        refused="model_name",
    ),
    Case(
        "wan_latent_model_missing",
        WAN_MODEL,
        NATIVE,
        {
            "8": {
                "class_type": WAN_MODEL,
                "inputs": {"wan_model": "nope.safetensors", "semantic_embedding": "nope.safetensors", "dtype": "auto"},
            }
        },
        refused="wan_model",
    ),
    Case(
        "native_empty_latent_frames_not_4k1",
        EMPTY_SEM,
        NATIVE,
        {"5": {"frames": 16}},
        failed=("frames: expected 4k+1 frames",),
    ),
    Case(
        "native_semantic_from_a_video_latent",
        FROM_LATENT,
        NATIVE,
        {"90": VIDEO_LATENT, "7": {"latent": ["90", 0]}},
        failed=("latent: not a semantic latent",),
    ),
    Case(
        "native_semantic_noise_nan",
        SEM_COND,
        NATIVE,
        {"9": {"semantic_noise": NAN}},
        failed=("semantic_noise: expected 0 … 1",),
    ),
    Case(
        "native_swin_on_the_semantic_generator",
        SWIN,
        NATIVE,
        {"91": {"class_type": SWIN, "inputs": {"model": ["4", 0], "window": 2}}, "6": {"model": ["91", 0]}},
        failed=("model: Swin attention is for the latent generator",),
    ),
]


def test_matrix_covers_every_node_and_category():
    assert len(CASES) >= 30 and len({c.name for c in CASES}) == len(CASES)
    assert {c.node for c in CASES} == PACK_NODES


def still_serves(server, check: int) -> None:
    """A valid prompt right after: the reference-features workflow with a fresh sampling rate and seed (so the
    encoder and compressor really run again), and the video it writes is whole."""
    prompt = api_workflow(REF)
    prompt["3"]["inputs"]["sample_fps"] = 2.0 + check % 40 * 0.1
    prompt["5"]["inputs"].update(mode="sample", seed=check)
    prompt["8"]["inputs"]["filename_prefix"] = f"semanticgen/still_serves{check}"
    entry = server.run(prompt)
    assert entry["status"]["status_str"] == "success", error_message(entry)
    (path,) = server.outputs(entry)
    assert frame_count(path) == 17


def refused(server, prompt: dict, input_name: str, class_type: str) -> str:
    """Validation refusal: HTTP 400 with node_errors of a `class_type` node naming the input."""
    status, body = server.queue(prompt)
    assert status == 400, body
    errors = [e for e in body["node_errors"].values() if e["class_type"] == class_type]
    text = json.dumps(errors)
    assert errors and input_name in text, json.dumps(body["node_errors"])
    return text


def failed(server, prompt: dict, *words: str) -> str:
    """Execution failure: accepted, then /history says error with a message containing every word."""
    status, body = server.queue(prompt)
    assert status == 200 and not body.get("node_errors"), body
    entry = server.wait(body["prompt_id"])
    assert entry["status"]["status_str"] == "error", entry["status"]
    msg = error_message(entry)
    for w in words:
        assert w in msg, msg
    return msg


def written_shape(paths: list[Path]) -> tuple[int, int, int]:
    """(frames, height, width) of what a prompt wrote: one video file, or one image file per frame."""
    frames = []
    for path in paths:
        with av.open(str(path)) as c:
            frames += [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    return len(frames), *frames[0].shape[:2]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(server, case: Case):
    if case.setup is not None:
        case.setup(server.base)
    prompt = case.prompt()
    if case.refused is not None:
        refused(server, prompt, case.refused, case.at or case.node)
    elif case.failed:
        failed(server, prompt, *case.failed)
    else:
        entry = server.run(prompt)
        assert entry["status"]["status_str"] == "success", error_message(entry)
        assert written_shape(server.outputs(entry)) == case.video
    still_serves(server, CASES.index(case))
