"""VAE Decode (chunked): a Wan2.1 latent decoded a few latent frames at a time, so memory stays flat in length."""

from __future__ import annotations

from collections.abc import Callable

import comfy.model_management as mm
import torch
from comfy.ldm.wan.vae import WanVAE
from comfy_api.latest import io

from . import wan_vae
from .progress import chunk_progress

CATEGORY = "SemanticGen/decode"


def decode_chunked(
    vae, latent: torch.Tensor, chunk: int, progress: Callable[[int, int], None] | None = None
) -> torch.Tensor:
    """(B, 16, T, h, w) Wan2.1 latent -> (B, 4(T-1)+1, 8h, 8w, 3) frames in [0, 1], like ComfyUI's VAE.decode.

    ComfyUI's own decode keeps every decoded frame on the device until the end (the whole video, twice at the
    concatenation); this one runs the same causal decoder calls (`wan_vae.call_plan`) with the same carried cache,
    and moves each chunk of about `chunk` latent frames to ComfyUI's intermediate device at once, so the device
    holds the weights, the cache and one chunk whatever the length. `progress(done, total)` runs before each chunk
    and at the end (progress bar, interrupts: it may raise).
    """
    vae.throw_exception_if_invalid()
    model = vae.first_stage_model
    if type(model) is not WanVAE:
        raise ValueError(
            f"vae: expected a Wan2.1 VAE (comfy.ldm.wan.vae.WanVAE), got {type(model).__module__}."
            f"{type(model).__name__}; decode other VAEs with ComfyUI's VAE Decode"
        )
    if latent.ndim != 5 or latent.shape[1] != model.z_dim:
        raise ValueError(
            f"samples: expected a Wan2.1 video latent (B, {model.z_dim}, T, H, W), got shape {tuple(latent.shape)}"
        )
    if chunk < 1:
        raise ValueError(f"chunk: expected at least 1 latent frame per chunk, got {chunk}")
    b, _, t, h, w = latent.shape
    chunks = wan_vae.chunk_plan(t, chunk)
    needed = vae.memory_used_decode(latent[:, :, : max(chunk, 2)].shape, vae.vae_dtype)
    mm.load_models_gpu([vae.patcher], memory_required=needed, force_full_load=vae.disable_offload)
    frames = vae.upscale_ratio[0](t)  # 1 + 4(T-1): ComfyUI's own frame count for this VAE
    out = None  # (B, F, H, W, 3) on the intermediate device, filled chunk by chunk (no concatenation copies)
    cache = wan_vae.new_cache(model)  # causal state, carried from call to call
    done = 0
    with torch.no_grad():
        for k, calls in enumerate(chunks):
            if progress is not None:
                progress(k, len(chunks))
            z = latent[:, :, calls[0].start : calls[-1].stop].to(vae.device, vae.vae_dtype)
            local = [slice(c.start - calls[0].start, c.stop - calls[0].start) for c in calls]
            for piece in wan_vae.decode_calls(model, z, local, cache):
                pixels = vae.process_output(piece.to(vae.output_device).float())  # (B, 3, f, H, W)
                if out is None:
                    out = torch.empty((b, frames, *pixels.shape[3:], pixels.shape[1]), device=vae.output_device)
                out[:, done : done + pixels.shape[2]] = pixels.movedim(1, -1)
                done += pixels.shape[2]
            del z
    if done != frames:
        raise RuntimeError(f"decoded {done} frames, ComfyUI's VAE expects {frames} for {t} latent frames")
    if progress is not None:
        progress(len(chunks), len(chunks))
    return out


class ChunkedVAEDecode(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="SemanticGenVAEDecode",
            display_name="VAE Decode (chunked)",
            category=CATEGORY,
            description="Decodes a Wan2.1 video latent with ComfyUI's native VAE a few latent frames at a time, "
            "carrying the causal decoder's cache across chunks: the same frames as VAE Decode, with device memory "
            "flat in video length (for long videos).",
            inputs=[
                io.Vae.Input("vae", tooltip="A Wan2.1 VAE (Load VAE)."),
                io.Latent.Input("samples", tooltip="The video latent to decode, e.g. from the Latent Sampler."),
                io.Int.Input(
                    "chunk",
                    default=4,
                    min=1,
                    max=4096,
                    tooltip="Latent frames moved off the device per chunk (1 latent frame = 4 video frames; the "
                    "decoder itself takes the first frame alone, then 2 at a time). Smaller uses less device memory; "
                    "the frames are the same for any value.",
                ),
            ],
            outputs=[io.Image.Output(display_name="images")],
        )

    @classmethod
    def execute(cls, vae, samples: dict, chunk: int) -> io.NodeOutput:
        images = decode_chunked(vae, samples["samples"], chunk, chunk_progress())
        return io.NodeOutput(images.reshape(-1, *images.shape[2:]))  # (B·F, H, W, 3), batches combined
