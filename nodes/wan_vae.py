"""The one place the pack touches a ComfyUI internal: the causal cache of the Wan2.1 VAE's decoder.

ComfyUI has no public "decode these latent frames, keep the causal state" call, so the chunked decode drives
`WanVAE.decoder` itself, the way `WanVAE.decode` does. Hosts differ in three ways, each detected from what the
host's own objects do (never from a version string):

- how many cache slots the decoder needs: `count_cache_layers` (current hosts) or `count_conv3d` (0.3.x), or, if a
  host has neither, ComfyUI's own rule counted here;
- what one decoder call returns: a tensor (0.3.x) or a list of time chunks (current hosts);
- which calls keep the cache whole: current hosts no longer pad a one-frame cache, so after the first latent frame
  every call but the last must see at least 2 frames. The call plan below (1, 2, 2, ... latent frames, the split
  current hosts use themselves) gives the same frames on both kinds of host.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from comfy.ldm.wan import vae as wan_vae


def cache_slots(decoder: torch.nn.Module) -> int:
    """Entries of the decoder's `feat_cache` list (one per causal conv, plus one per temporal downsample)."""
    for name in ("count_cache_layers", "count_conv3d"):
        count = getattr(wan_vae, name, None)
        if callable(count):
            return count(decoder)
    causal = wan_vae.CausalConv3d
    resample = getattr(wan_vae, "Resample", ())
    return sum(
        isinstance(m, causal) or (isinstance(m, resample) and getattr(m, "mode", "") == "downsample3d")
        for m in decoder.modules()
    )


def call_plan(frames: int) -> list[slice]:
    """Latent-frame slices, one decoder call each: the first frame alone, then pairs (a last single frame is fine,
    no call comes after it)."""
    return [slice(0, 1)] + [slice(s, min(s + 2, frames)) for s in range(1, frames, 2)]


def chunk_plan(frames: int, chunk: int) -> list[list[slice]]:
    """The call plan grouped into chunks of about `chunk` latent frames (at least one call each)."""
    chunks, current, size = [], [], 0
    for call in call_plan(frames):
        current.append(call)
        size += call.stop - call.start
        if size >= chunk:
            chunks.append(current)
            current, size = [], 0
    return chunks + ([current] if current else [])


def decoder_call(decoder: torch.nn.Module, x: torch.Tensor, feat_cache: list) -> torch.Tensor:
    """(B, z, t, h, w) conv2-projected latent frames -> (B, 3, f, H, W) decoder output, the cache carried along."""
    out = decoder(x, feat_cache=feat_cache, feat_idx=[0])
    return torch.cat(out, 2) if isinstance(out, (list, tuple)) else out


def decode_calls(model: torch.nn.Module, latent: torch.Tensor, calls: list[slice], cache: list) -> Iterator:
    """Decoder outputs of `calls` over the (B, z, T, h, w) latent, in order; `cache` comes from `new_cache`."""
    for call in calls:
        yield decoder_call(model.decoder, model.conv2(latent[:, :, call]), cache)


def new_cache(model: torch.nn.Module) -> list:
    return [None] * cache_slots(model.decoder)
