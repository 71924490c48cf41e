"""Prompt adherence of a toy model set, in-process (no server), over a larger prompt set than the demo test's.

    python scripts/toy/adherence.py                        # the shipped models, 12 demo + 48 drawn prompts
    python scripts/toy/adherence.py --latent RUN/latent_generator.safetensors --oracle 24
    python scripts/toy/adherence.py --prompts none --oracle 24 --oracle-text none   # what the features alone carry
    python scripts/toy/adherence.py --prompts heldout      # the 48 held-out paraphrases (semanticgen.toy.captions)
    python scripts/toy/adherence.py --prompts heldout-plain   # the same in the world's own words
    python scripts/toy/adherence.py --prompts none --long 4   # minute-long videos, the long workflow's settings
    python scripts/toy/adherence.py --prompts none --compare 6 --strip docs/long_compare.png   # vs Swin-only

Text-to-video runs the same library calls as the bundled workflow (semantic generator → latent generator → the native
Wan VAE decode) with its sampling settings; the model-free reader scores each video against its prompt. `--oracle N`
also reports each attribute from *real* semantic features: N cached clips (from the 800th on: the probes' split; the
generators trained on every cached clip) through the compressor, the latent generator and the VAE, read against the
clips they show — what the latent generator renders when stage 2 is perfect — and through the VAE alone. `--long N`: N
prompts of bouncing shapes for 481 frames (60 s at 8 fps) with Swin window 8, read by `semanticgen.toy.longclip`
(identity per window, bounces, one-piece frames, Δdrift), made by the long-clip generators. `--compare N`: the paper's
long-video comparison on N such prompts, SemanticGen (full-attention semantic plan, Swin latent stage) against the Swin-
only baseline (the same latent recipe with text only, `configs/toy/stage_latent_long_textonly.json`), same prompts and
seeds. Needs SEMANTICGEN_COMFYUI (eval "$(bash scripts/setup.sh)").
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
from pathlib import Path

import torch
from safetensors import safe_open

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from comfy_host import load_vae  # noqa: E402

from semanticgen.compressor import load_compressor  # noqa: E402
from semanticgen.dit_io import load_dit  # noqa: E402
from semanticgen.features import SemanticVideo  # noqa: E402
from semanticgen.pipeline import SamplingOptions, generate_latent, generate_semantic, generate_text_latent  # noqa: E402
from semanticgen.text import MiniLMTextEncoder  # noqa: E402
from semanticgen.toy import Clip, caption  # noqa: E402
from semanticgen.toy.captions import HELDOUT, HELDOUT_PLAIN, HELDOUT_TEMPLATES, fill  # noqa: E402
from semanticgen.toy.evaluate import DEMO_PROMPTS, Reading, parse_prompt, prompt_set, read_video  # noqa: E402
from semanticgen.toy.longclip import LongReading, bounces_seen, identity, one_piece, read_long  # noqa: E402
from semanticgen.train.cache import CacheDataset  # noqa: E402

SG = ROOT / "models" / "semanticgen"
TOY_VAE = ROOT / "models" / "vae" / "toy_wan_vae.safetensors"
# the long workflow's generators (the shipped short ones), and the Swin-only baseline `make toy-models` trains
LONG_SEMANTIC = SG / "semantic_generators" / "toy_semantic_generator.safetensors"
LONG_LATENT = SG / "latent_generators" / "toy_latent_generator.safetensors"
WORK = Path(os.environ.get("SEMANTICGEN_CACHE", Path.home() / ".cache" / "semanticgen-comfyui")) / "toy"
BASELINE = WORK / "stage_latent_long_textonly" / "latent_generator.safetensors"
ATTRIBUTES = ("colour", "background", "shape", "motion")
FIRST_ORACLE_CLIP = 800  # probe_semantic.py's split: the probes are fitted on the clips before it
LONG_FRAMES, LONG_WINDOW = 481, 8  # example_workflows/api/semanticgen_long_video.json: 60 s at 8 fps, Swin window 8
HELDOUT_SETS = {"heldout": HELDOUT, "heldout-plain": HELDOUT_PLAIN}
LONG_DEFAULT = "a white square bouncing off the walls on a navy background"  # that workflow's prompt


def prompts(kind: str, extra: int) -> list[tuple[str, Reading]]:
    """(prompt, what it asks for): the demo prompts and `extra` drawn like the training captions (parsed), or the
    labelled held-out paraphrases."""
    if kind in ("heldout", "heldout-plain"):
        return [(p.text, Reading(p.background, p.colour, p.shape, p.motion)) for p in HELDOUT_SETS[kind]]
    if kind == "none":
        return []
    return [(t, parse_prompt(t)) for t in (*DEMO_PROMPTS, *prompt_set(extra, seed=1))]


def long_prompts(n: int) -> list[tuple[str, Reading]]:
    """The long workflow's prompt, then bouncing clips captioned like the shipped models' training captions."""
    rng, out = random.Random(0), [(LONG_DEFAULT, parse_prompt(LONG_DEFAULT))]
    while len(out) < n:
        clip = Clip.random_long(rng)
        out.append((caption(clip, rng), Reading(clip.background, clip.colour, clip.shape, "")))
    return out[:n]


@dataclasses.dataclass(frozen=True)
class Models:
    text: MiniLMTextEncoder
    semantic: torch.nn.Module  # semantic generator
    latent: torch.nn.Module  # latent generator
    decode: object  # normalised latents -> frames (T, H, W, 3)
    null: torch.Tensor  # the empty prompt's conditioning


OPTS = dict(steps=20, cfg=3.0, shift=3.0)  # the bundled workflows' sampling settings (--steps, --cfg, --shift)


def generate(models: Models, text: str, seed: int, semantic_noise: float, frames: int = 17, window: int | None = None):
    """Text -> frames (T, H, W, 3): semantic generator, latent generator, VAE, as the bundled workflows run them."""
    cond, opts = models.text.encode([text]), SamplingOptions(seed=seed, **OPTS)
    semantic = generate_semantic(models.semantic, cond, models.null, frames, 64, 64, opts)
    return models.decode(
        generate_latent(models.latent, cond, models.null, semantic, semantic_noise, opts, window=window)
    )


def generate_baseline(models: Models, text: str, seed: int, frames: int, window: int | None):
    """Text -> frames with the latent generator alone (no semantic plan), same sampling settings."""
    cond, opts = models.text.encode([text]), SamplingOptions(seed=seed, **OPTS)
    return models.decode(generate_text_latent(models.latent, cond, models.null, frames, 64, 64, opts, window=window))


def short_table(rows: list[dict[str, float]], n_demo: int) -> None:
    """Markdown rows of hits per attribute (and the mean one-piece share): the demo prompts and all."""
    keys = (*ATTRIBUTES, "one_piece")
    print("| prompts | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    groups = (("demo", rows[:n_demo]), ("all", rows)) if n_demo else (("held-out", rows),)
    for name, group in groups:
        n = len(group)
        cells = [f"{sum(r[k] for r in group):.0f}/{n} ({sum(r[k] for r in group) / n:.0%})" for k in ATTRIBUTES]
        cells.append(f"{sum(r['one_piece'] for r in group) / n:.1%} of frames")
        print(f"| {name} ({n}) | " + " | ".join(cells) + " |")


def long_table(models: Models, n: int, semantic_noise: float) -> None:
    """One row per long prompt: identity share of windows, bounces, moving windows, one-piece frames, first and
    last frame, Δdrift."""
    metrics = ("brightness", "histogram", "sharpness", "foreground_area")
    head = "| prompt | identity | bounces x/y | moving | one piece | first frame | last frame | Δdrift "
    print(head + " / ".join(metrics) + " |")
    print("|---|---|---|---|---|---|---|---|")
    for seed, (text, want) in enumerate(long_prompts(n)):
        r = read_long(generate(models, text, seed, semantic_noise, LONG_FRAMES, LONG_WINDOW))
        ends = [f"{e.colour} {e.shape} on {e.background}" for e in (r.first, r.last)]
        drift = " / ".join(f"{r.drift[m]:.4f}" for m in metrics)
        cells = [text, f"{identity(r, want):.0%}", f"{r.bounces_x}/{r.bounces_y}", f"{r.moving:.0%}"]
        print("| " + " | ".join([*cells, f"{r.one_piece:.0%}", *ends, drift]) + " |")


def compare_table(models: Models, baseline: Models, n: int, semantic_noise: float, strip: Path | None) -> None:
    """SemanticGen vs the Swin-only baseline on the same long prompts and seeds: means over the prompts."""
    metrics = ("brightness", "histogram", "sharpness", "foreground_area")
    runs: dict[str, list[tuple[LongReading, Reading]]] = {"SemanticGen": [], "Swin-only baseline": []}
    shown: dict[str, torch.Tensor] = {}
    for seed, (text, want) in enumerate(long_prompts(n)):
        for name, frames in (
            ("SemanticGen", generate(models, text, seed, semantic_noise, LONG_FRAMES, LONG_WINDOW)),
            ("Swin-only baseline", generate_baseline(baseline, text, seed, LONG_FRAMES, LONG_WINDOW)),
        ):
            runs[name].append((read_long(frames), want))
            if seed == 0:
                shown[name] = frames
    head = (
        "| model | identity (windows) | bounces seen | moving windows | one piece | first / last frame right | Δdrift "
    )
    print(head + " / ".join(metrics) + " |")
    print("|---|---|---|---|---|---|---|")
    for name, rows in runs.items():
        n = len(rows)
        mean = lambda f, rows=rows, n=n: sum(f(r, w) for r, w in rows) / n  # noqa: E731
        ends = [sum(matches(getattr(r, end), w) for r, w in rows) for end in ("first", "last")]
        cells = [
            f"{mean(identity):.0%}",
            f"{sum(bounces_seen(r) for r, _ in rows)}/{n}",
            f"{mean(lambda r, w: r.moving):.0%}",
            f"{mean(lambda r, w: r.one_piece):.0%}",
            f"{ends[0]}/{n} / {ends[1]}/{n}",
            " / ".join(f"{mean(lambda r, w, m=m: r.drift[m]):.4f}" for m in metrics),
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if strip is not None:
        write_strip(strip, [(f"{name}: {long_prompts(1)[0][0]}", v) for name, v in shown.items()])


def matches(seen: Reading, want: Reading) -> bool:
    return all(getattr(seen, k) == getattr(want, k) for k in ("shape", "colour", "background"))


def write_strip(path: Path, rows: list[tuple[str, torch.Tensor]], every: int = 32) -> None:
    """Every `every`-th frame of each video (4 s apart at 8 fps), one labelled row per video, as a PNG."""
    import numpy as np
    from PIL import Image, ImageDraw

    from semanticgen.checkpoints import atomic_write

    pictures = []
    for label, frames in rows:
        strip = np.concatenate([(f.clamp(0, 1).numpy() * 255).astype(np.uint8) for f in frames[::every]], axis=1)
        canvas = Image.new("RGB", (strip.shape[1], strip.shape[0] + 14), "white")
        canvas.paste(Image.fromarray(strip), (0, 14))
        ImageDraw.Draw(canvas).text((2, 1), label, fill="black")
        pictures.append(canvas)
    out = Image.new("RGB", (max(p.width for p in pictures), sum(p.height for p in pictures)), "white")
    for i, p in enumerate(pictures):
        out.paste(p, (0, sum(q.height for q in pictures[:i])))
    atomic_write(path, lambda tmp: out.save(tmp, format="PNG"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--semantic", type=Path, default=SG / "semantic_generators" / "toy_semantic_generator.safetensors")
    ap.add_argument("--compressor", type=Path, default=SG / "compressors" / "toy_compressor_c8.safetensors")
    ap.add_argument("--latent", type=Path, default=SG / "latent_generators" / "toy_latent_generator.safetensors")
    sets = "demo: the 12 demo prompts + --extra drawn ones; heldout: the 48 held-out paraphrases; heldout-plain: them"
    sets += " in the world's own words (held-out word order, no synonyms)"
    ap.add_argument("--prompts", choices=("demo", "heldout", "heldout-plain", "none"), default="demo", help=sets)
    ap.add_argument("--extra", type=int, default=48, help="prompts drawn like the training captions, after the 12")
    ap.add_argument("--long", type=int, default=0, help="minute-long videos (481 frames, Swin window 8) to read")
    ap.add_argument(
        "--long-semantic", type=Path, default=SG / "semantic_generators" / "toy_semantic_generator_long.safetensors"
    )
    ap.add_argument(
        "--long-latent", type=Path, default=SG / "latent_generators" / "toy_latent_generator_long.safetensors"
    )
    ap.add_argument("--compare", type=int, default=0, help="long prompts for SemanticGen vs the Swin-only baseline")
    ap.add_argument("--baseline", type=Path, default=BASELINE, help="the Swin-only baseline's latent generator")
    ap.add_argument("--strip", type=Path, default=None, help="--compare: a PNG strip of the first prompt's videos")
    ap.add_argument("--oracle", type=int, default=0, help="cached clips (from the 800th) for the oracle row")
    texts = "the oracle's prompt: the cached caption, the clip in the world's five templates (the shipped models'"
    texts += " captions), in the held-out paraphrases' templates, or none (the empty prompt: what the features"
    texts += " alone carry)"
    ap.add_argument("--oracle-text", choices=("cache", "templated", "heldout", "none"), default="cache", help=texts)
    ap.add_argument("--cache", type=Path, default=WORK / "cache")
    ap.add_argument("--dataset", type=Path, default=WORK / "dataset.safetensors", help="the cache's clips (--oracle)")
    ap.add_argument("--semantic-noise", type=float, default=0.1, help="the Latent Sampler's (workflow default 0.1)")
    for name, value in OPTS.items():
        ap.add_argument(f"--{name}", type=type(value), default=value, help=f"sampling {name} (workflows: {value})")
    a = ap.parse_args()
    OPTS.update({name: getattr(a, name) for name in OPTS})
    if "SEMANTICGEN_COMFYUI" not in os.environ:
        raise SystemExit('SEMANTICGEN_COMFYUI is not set (eval "$(bash scripts/setup.sh)" first)')
    text_encoder, latent_g = MiniLMTextEncoder(), load_dit(a.latent)
    vae = load_vae(TOY_VAE)
    models = Models(text_encoder, load_dit(a.semantic), latent_g, vae.decode, text_encoder.encode([""]))
    if a.long or a.compare:
        long_models = dataclasses.replace(models, semantic=load_dit(a.long_semantic), latent=load_dit(a.long_latent))
    rows: list[dict[str, float]] = []
    with torch.no_grad():
        for seed, (text, want) in enumerate(prompts(a.prompts, a.extra)):
            frames = generate(models, text, seed, a.semantic_noise)
            seen = read_video(frames)
            rows.append(
                {**{k: getattr(seen, k) == getattr(want, k) for k in ATTRIBUTES}, "one_piece": one_piece(frames)}
            )
        if rows:
            short_table(rows, len(DEMO_PROMPTS) if a.prompts == "demo" else 0)
        if a.long:
            long_table(long_models, a.long, a.semantic_noise)
        if a.compare:
            baseline = dataclasses.replace(long_models, latent=load_dit(a.baseline))
            compare_table(long_models, baseline, a.compare, a.semantic_noise, a.strip)
        if a.oracle:
            for row, hits in oracle(a, latent_g, vae, text_encoder).items():
                print(f"oracle ({row}): " + ", ".join(f"{k} {hits[k]}/{a.oracle}" for k in ATTRIBUTES))


def oracle(a: argparse.Namespace, latent_g, vae, text_encoder: MiniLMTextEncoder) -> dict[str, dict[str, int]]:
    """Attributes right from real semantic features (cached clips through the compressor, the latent generator
    and the VAE), and from the VAE alone (the same clips encoded and decoded), read against the clips they were
    rendered from (the dataset's `clips` metadata; varied captions use words the reader does not parse). The
    prompt is `--oracle-text`'s."""
    data = CacheDataset(a.cache)
    with safe_open(str(a.dataset), framework="pt") as f:
        clips = json.loads(f.metadata()["clips"])
        videos = f.get_slice("frames")[FIRST_ORACLE_CLIP : FIRST_ORACLE_CLIP + a.oracle]
    if len(clips) != len(data) or FIRST_ORACLE_CLIP + a.oracle > len(data):
        raise SystemExit(f"--oracle {a.oracle}: {a.cache} ({len(data)} clips) and {a.dataset} ({len(clips)} clips) "
                         f"must hold the same clips, at least {FIRST_ORACLE_CLIP + a.oracle}")  # fmt: skip
    compressor, space = load_compressor(a.compressor), latent_g.space
    hits = {row: dict.fromkeys(ATTRIBUTES, 0) for row in ("real features", "VAE alone")}
    frames, _ = space.layout(17, 64, 64)  # the cached clips: 17 frames, 64×64, at the space's video fps
    with torch.no_grad():
        for n, i in enumerate(range(FIRST_ORACLE_CLIP, FIRST_ORACLE_CLIP + a.oracle)):
            text = oracle_text(a.oracle_text, data, i, clips[i], text_encoder)
            features = compressor(data.tensors["semantic"][i : i + 1])[0]  # (1, c, Ts, Hs, Ws) posterior means
            real = SemanticVideo(features, space.video_fps, 17, (64, 64), frames, space.temporal_patch, compressed=True)
            opts = SamplingOptions(seed=i, **OPTS)
            negative = None if a.oracle_text == "none" else data.null_text  # no prompt: nothing to guide by
            rendered = vae.decode(generate_latent(latent_g, text, negative, real, a.semantic_noise, opts))
            clip = videos[n].float() / 255
            for row, video in (("real features", rendered), ("VAE alone", vae.decode(vae.encode(clip)))):
                seen = read_video(video)
                for k in ATTRIBUTES:
                    hits[row][k] += getattr(seen, k) == clips[i][k]
    return hits


def oracle_text(kind: str, data: CacheDataset, i: int, clip: dict, text_encoder: MiniLMTextEncoder) -> torch.Tensor:
    """Cached clip i's prompt (1, L, D) for the oracle: its cached caption, the same clip in the five templates, in
    one of the held-out paraphrases' templates (a sentence no training caption has), or the empty prompt."""
    if kind == "cache":
        return data.tensors["text"][i : i + 1]
    if kind == "none":
        return data.null_text
    shown = Clip(**{k: clip[k] for k in ("shape", "colour", "background", "motion")})
    if kind == "heldout":
        text = fill(HELDOUT_TEMPLATES[i % len(HELDOUT_TEMPLATES)], shown, random.Random(i))
    else:
        text = caption(shown, random.Random(i))
    return text_encoder.encode([text])


if __name__ == "__main__":
    main()
