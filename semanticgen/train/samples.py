"""Sample videos during training: fixed prompts and seeds, from the EMA weights (what an export at that step would
hold), written beside the checkpoints; on the toy world the model-free adherence reader as an evaluation.

`out/samples/step-NNNNNNNN/` holds `sample-KK.mp4` (with a VAE), `samples.safetensors` (the latents and semantic
features) and `samples.json` (prompts, seeds, readings). The prompts are the first `count` cached clips' captions
(their text states are in the cache, so no text encoder is needed) or `prompts` encoded by `text_encoder`. What a
stage samples:

- stage `semantic`: text -> semantic features; with `latent_generator` also rendered to latents and video.
- stage `latent`: the semantic plan comes from `semantic_generator`, or, for cached prompts, from the cached clips'
  own features through the compressor (re-synthesis: what the latent generator renders of a perfect plan). A
  text-only generator (`semantic_dropout` 1) samples from text alone.

Decoding and writing videos, and text encoders other than MiniLM, are ComfyUI's: `host` (`scripts/comfy_host.py`,
which `scripts/train.py` passes) loads them; the library itself never imports ComfyUI.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from ..dit import SemanticGenDiT
from ..dit_io import load_dit
from ..features import SemanticVideo
from ..pipeline import SamplingOptions, generate_latent, generate_semantic, generate_text_latent
from ..text import MiniLMTextEncoder

ATTRIBUTES = ("colour", "background", "shape", "motion")


@dataclass
class SampleConfig:
    every: int = 0  # steps between sample sets (and one at the end); 0: none
    count: int = 4  # cached prompts: the first `count` clips' captions
    prompts: list[str] = field(default_factory=list)  # or these prompts, encoded by `text_encoder`
    text_encoder: str | None = None  # "minilm" or a ComfyUI text-encoder file (with `prompts`)
    semantic_generator: str | None = None  # stage latent: plans the prompts' semantic features
    latent_generator: str | None = None  # stage semantic: renders the sampled plans
    vae: str | None = None  # ComfyUI VAE file: decode to mp4 videos (without: latents only)
    comfyui: str | None = None  # ComfyUI folder for the VAE / text encoder (default $SEMANTICGEN_COMFYUI)
    seed: int = 0  # prompt k samples with seed + k, at every step
    steps: int = 20
    cfg: float = 3.0
    shift: float = 3.0
    semantic_noise: float = 0.1  # the Latent Sampler's noise on the plan
    adherence: bool = False  # toy world: read each video against its prompt, logged as eval/*

    def check(self, stage: str, host=None) -> None:
        """Refuse settings that cannot work, before training starts. `host`: what loads ComfyUI's models (None: the
        library alone, which has MiniLM but no VAE)."""
        if self.every < 0 or self.count < 1:
            raise ValueError(f"samples: every must be ≥ 0 and count ≥ 1, got {self.every} and {self.count}")
        if self.prompts and not self.text_encoder:
            raise ValueError("samples.text_encoder: needed to encode samples.prompts ('minilm' or a file)")
        if stage == "latent" and self.prompts and not self.semantic_generator:
            raise ValueError("samples.semantic_generator: stage latent samples of new prompts need their plans")
        if self.adherence and not (self.vae and (stage == "latent" or self.latent_generator)):
            raise ValueError("samples.adherence: reads videos, so needs vae (and latent_generator in stage semantic)")
        needs_host = self.vae or (self.prompts and self.text_encoder != "minilm")
        if needs_host and host is None:
            raise ValueError(
                "samples.vae / samples.text_encoder: ComfyUI's models are loaded by a host; train with "
                "`python scripts/train.py` (or pass host=scripts/comfy_host to semanticgen.train.train)"
            )


def first_rows(cache: str | Path, n: int) -> dict:
    """The first `n` rows of a cache (shards in name order): text, semantic, captions; plus its null text and the
    build settings (clip shape, frame rates) the samples are made at."""
    rows: dict[str, list] = {"text": [], "semantic": [], "captions": []}
    meta: dict = {}
    null = None
    for shard in sorted(Path(cache).glob("*.safetensors")):
        with safe_open(str(shard), framework="pt") as f:
            meta = {k: json.loads(v) for k, v in (f.metadata() or {}).items()}
            take = min(n - len(rows["captions"]), f.get_slice("text").get_shape()[0])
            rows["text"].append(f.get_slice("text")[:take])
            rows["semantic"].append(f.get_slice("semantic")[:take])
            rows["captions"] += meta.get("captions", [""] * take)[:take]
            null = f.get_tensor("null_text")
        if len(rows["captions"]) == n:
            break
    if "build" not in meta:
        raise ValueError(f"samples: {cache} has no build settings (clip size, frame rates) to sample at")
    if len(rows["captions"]) < n:
        raise ValueError(f"samples.count: {n}, but {cache} holds {len(rows['captions'])} clips")
    tensors = {k: torch.cat(rows[k]) for k in ("text", "semantic")}
    return tensors | {"captions": rows["captions"], "null_text": null, "build": meta["build"]}


def reading_hits(frames: torch.Tensor, prompt: str) -> dict[str, object]:
    """The toy reader's view of a video and, per attribute the prompt names in the world's words, whether it
    matches (attributes the prompt does not name, e.g. synonyms, are left out)."""
    from ..toy.evaluate import parse_prompt, read_video
    from ..toy.longclip import one_piece

    seen, want = read_video(frames), parse_prompt(prompt)
    hits = {k: getattr(seen, k) == getattr(want, k) for k in ATTRIBUTES if getattr(want, k)}
    return {"seen": {k: getattr(seen, k) for k in ATTRIBUTES}, "hits": hits, "one_piece": one_piece(frames)}


def adherence_logs(readings: list[dict]) -> dict[str, float]:
    """eval/<attribute>: share of the samples that name it and show it; eval/one_piece: mean share of frames."""
    logs = {"eval/one_piece": sum(r["one_piece"] for r in readings) / len(readings)}
    for k in ATTRIBUTES:
        if scored := [r["hits"][k] for r in readings if k in r["hits"]]:
            logs[f"eval/{k}"] = sum(scored) / len(scored)
    return logs


class Sampler:
    """Loads what sampling needs once (main process), then makes a sample set from given weights."""

    def __init__(self, sc: SampleConfig, stage: str, cache: str, text_only: bool, device: torch.device, host=None):
        sc.check(stage, host)
        self.sc, self.stage, self.text_only, self.device = sc, stage, text_only, device
        rows = first_rows(cache, sc.count)
        self.build = rows["build"]
        if sc.prompts:
            encode = host.load_text_encoder(sc.text_encoder, sc.comfyui) if host else MiniLMTextEncoder().encode
            self.prompts, self.texts = list(sc.prompts), [encode([p]).float() for p in sc.prompts]
            self.null = encode([""]).float()
        else:
            self.prompts, self.texts = rows["captions"], list(rows["text"].float().split(1))
            self.null = rows["null_text"].float()
        self.cached_semantic = rows["semantic"].float()
        self.planner = load_dit(sc.semantic_generator).to(device) if sc.semantic_generator else None
        self.renderer = load_dit(sc.latent_generator).to(device) if sc.latent_generator else None
        self.vae = host.load_vae(sc.vae, sc.comfyui) if sc.vae else None
        self.host = host

    def opts(self, k: int) -> SamplingOptions:
        sc = self.sc
        return SamplingOptions(seed=sc.seed + k, steps=sc.steps, cfg=sc.cfg, shift=sc.shift, device=self.device)

    def plan(self, k: int, compressor: nn.Module | None, space) -> SemanticVideo:
        """Stage latent: the semantic features prompt k is rendered from."""
        frames, height, width, _ = self.build["clip"]
        if self.planner is not None:
            return generate_semantic(self.planner, self.texts[k], self.null, frames, height, width, self.opts(k))
        features = compressor(self.cached_semantic[k : k + 1].to(self.device))[0].cpu()  # (1, c, Ts, Hs, Ws) means
        idx, _ = space.layout(frames, height, width)
        return SemanticVideo(features, space.video_fps, frames, (height, width), idx, space.temporal_patch, True)

    @torch.no_grad()
    def __call__(self, dit: SemanticGenDiT, compressor: nn.Module | None, step: int, out: Path) -> dict[str, float]:
        """Sample set of step `step` into out/samples/step-NNNNNNNN (written whole, then renamed); returns the
        evaluation's logs (empty without adherence)."""
        sc, frames, height, width = self.sc, *self.build["clip"][:3]
        tensors: dict[str, list[torch.Tensor]] = {"latents": [], "semantic": []}
        for k, text in enumerate(self.texts):
            opts = self.opts(k)
            if self.stage == "semantic":
                sem = generate_semantic(dit, text, self.null, frames, height, width, opts)
                tensors["semantic"].append(sem.features)
                if self.renderer is not None:
                    lat = generate_latent(self.renderer, text, self.null, sem, sc.semantic_noise, opts)
                    tensors["latents"].append(lat)
            elif self.text_only:
                tensors["latents"].append(generate_text_latent(dit, text, self.null, frames, height, width, opts))
            else:
                sem = self.plan(k, compressor, dit.space)
                tensors["semantic"].append(sem.features)
                tensors["latents"].append(generate_latent(dit, text, self.null, sem, sc.semantic_noise, opts))
        final = out / "samples" / f"step-{step:08d}"
        tmp = final.with_name(final.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        readings = []
        for k, lat in enumerate(tensors["latents"]):
            if self.vae is not None:
                video = self.vae.decode(lat)
                self.host.write_video(tmp / f"sample-{k:02d}.mp4", video, float(self.build["video_fps"]))
                if sc.adherence:
                    readings.append(reading_hits(video, self.prompts[k]))
        save_file({k: torch.cat(v).contiguous() for k, v in tensors.items() if v}, str(tmp / "samples.safetensors"))
        record = {"step": step, "prompts": self.prompts, "seeds": [sc.seed + k for k in range(len(self.prompts))]}
        (tmp / "samples.json").write_text(json.dumps(record | {"readings": readings}, indent=1))
        shutil.rmtree(final, ignore_errors=True)  # a resumed run makes the same step's set again
        tmp.rename(final)
        return adherence_logs(readings) if readings else {}
