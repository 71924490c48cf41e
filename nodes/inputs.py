"""Node inputs that several nodes share, defined once: seed, video size, sampling settings and the attention choice.

A node passes its own tooltip where the meaning differs (a clip's size, a posterior sample's seed); ranges and
defaults are the same everywhere.
"""

from __future__ import annotations

from comfy_api.latest import io

from ..semanticgen.flow import SAMPLERS

SEED_MAX = 0xFFFFFFFFFFFFFFFF
FRAMES_MAX = 8193
SIZE_MAX = 4096
ATTENTION_OPTIONS = ["full", "swin"]


def seed_input(tooltip: str) -> io.Int.Input:
    return io.Int.Input("seed", default=0, min=0, max=SEED_MAX, control_after_generate=True, tooltip=tooltip)


def semantic_noise_input(tooltip: str) -> io.Float.Input:
    return io.Float.Input("semantic_noise", default=0.1, min=0.0, max=1.0, step=0.01, tooltip=tooltip)


def frames_input(tooltip: str, max_frames: int = FRAMES_MAX) -> io.Int.Input:
    """Video length, 4k+1 frames (the Wan VAE's temporal grid)."""
    return io.Int.Input("frames", default=81, min=1, max=max_frames, step=4, tooltip=tooltip)


def size_inputs(width_tooltip: str, height_tooltip: str) -> list[io.Int.Input]:
    """width, height in pixels, multiples of 16."""
    return [
        io.Int.Input("width", default=832, min=16, max=SIZE_MAX, step=16, tooltip=width_tooltip),
        io.Int.Input("height", default=480, min=16, max=SIZE_MAX, step=16, tooltip=height_tooltip),
    ]


def steps_input() -> io.Int.Input:
    return io.Int.Input("steps", default=20, min=1, max=200, tooltip="Sampling steps from noise (t=1) to data (t=0).")


def cfg_input(default: float) -> io.Float.Input:
    return io.Float.Input(
        "cfg",
        default=default,
        min=1.0,
        max=30.0,
        step=0.1,
        tooltip="Classifier-free guidance scale; 1 disables guidance (one model call per step).",
    )


def sampler_input() -> io.Combo.Input:
    return io.Combo.Input(
        "sampler",
        options=list(SAMPLERS),
        default="euler",
        tooltip="euler: the paper's sampler; heun: 2nd order, two model calls per step.",
    )


def attention_inputs(attention_tooltip: str, window_tooltip: str) -> list[io.Input]:
    """The Latent Sampler's attention: `attention` (full | swin) and the Swin `window` in latent frames."""
    return [
        io.Combo.Input("attention", options=ATTENTION_OPTIONS, default="full", tooltip=attention_tooltip),
        io.Int.Input("window", default=8, min=1, max=1024, tooltip=window_tooltip),
    ]


def swin_window(attention: str, window: int) -> int | None:
    """The library's one form of the choice: None for full attention, else the Swin window in latent frames.
    `attention` was checked by the node's `validate_inputs` (or the route) against ATTENTION_OPTIONS."""
    return window if attention == "swin" else None
