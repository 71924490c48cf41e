"""Per-step progress, latent previews and interrupts for our samplers, through ComfyUI's own machinery."""

from __future__ import annotations

import comfy.model_management as mm
import comfy.utils
import latent_preview
import torch


def step_callback(steps: int, device: torch.device, latent_format=None):
    """ComfyUI's progress bar (+ preview images when a latent format is given); raises on /interrupt."""
    previewer = latent_preview.get_previewer(device, latent_format) if latent_format is not None else None
    pbar = comfy.utils.ProgressBar(steps)

    def callback(step: int, x0: torch.Tensor, x: torch.Tensor, total: int) -> None:
        mm.throw_exception_if_processing_interrupted()
        preview = previewer.decode_latent_to_preview_image("JPEG", x0) if previewer else None
        pbar.update_absolute(step + 1, total, preview)

    return callback


def chunk_progress():
    """`progress(done, total)` for chunked work (encoder, VAE decode): ComfyUI's progress bar; raises on /interrupt."""
    pbar = comfy.utils.ProgressBar(1)

    def progress(done: int, total: int) -> None:
        mm.throw_exception_if_processing_interrupted()
        pbar.update_absolute(done, total)

    return progress
