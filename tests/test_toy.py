"""The toy world and its model-free reader: the reader must recover what the renderer drew."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import torch
import torch.nn.functional as F
from einops import rearrange
from server_harness import ROOT

from semanticgen.toy import BACKGROUNDS, COLOURS, MOTIONS, SHAPES, Clip, caption, render
from semanticgen.toy.captions import (
    BACKGROUND_WORDS,
    COLOUR_WORDS,
    HELDOUT,
    HELDOUT_PLAIN,
    HELDOUT_TEMPLATES,
    MOTION_WORDS,
    SHAPE_WORDS,
    TRAIN_TEMPLATES,
    template_regexes,
    varied_caption,
)
from semanticgen.toy.data import clip_batch
from semanticgen.toy.evaluate import Reading, parse_prompt, read_video
from semanticgen.toy.longclip import TURN_TOLERANCE, identity, read_long, turns
from semanticgen.toy.world import _centres


def test_reader_recovers_rendered_attributes():
    rng = random.Random(0)
    combos = list(itertools.product(SHAPES, COLOURS, BACKGROUNDS, MOTIONS))
    wrong = []
    for shape, colour, bg, motion in rng.sample(combos, 60):
        clip = Clip.random(rng)
        clip = Clip(
            shape,
            colour,
            bg,
            motion,
            clip.radius,
            (0.5 - 0.22 * MOTIONS[motion][0], 0.5 - 0.22 * MOTIONS[motion][1]),
            clip.speed,
        )
        r = read_video(render(clip, 17, 64))
        if (r.shape, r.colour, r.background, r.motion) != (shape, colour, bg, motion):
            wrong.append(((shape, colour, bg, motion), r))
    assert not wrong, wrong[:5]


def test_prompt_parsing_follows_the_captions():
    rng = random.Random(1)
    for _ in range(50):
        clip = Clip.random(rng)
        want = parse_prompt(caption(clip, rng))
        assert (want.shape, want.colour, want.background, want.motion) == (
            clip.shape,
            clip.colour,
            clip.background,
            clip.motion,
        )


def _blur(video: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (T, H, W, 3) frames, edges replicated."""
    r = int(3 * sigma + 0.5)
    x = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-x.square() / (2 * sigma**2))
    k = k / k.sum()
    t, h, w, _ = video.shape
    v = rearrange(video, "t h w c -> (t c) 1 h w")
    v = F.conv2d(F.pad(v, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    v = F.conv2d(F.pad(v, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))
    return rearrange(v, "(t c) 1 h w -> t h w c", t=t)


def test_reader_sees_shapes_through_blur():
    """A decoder rounds corners: a 3 px Gaussian blur must not turn squares and triangles into circles."""
    rng = random.Random(3)
    clips, _, video = clip_batch(rng, 48, 17, 64)
    wrong = [(c.shape, r.shape) for c, v in zip(clips, video, strict=True)
             if (r := read_video(_blur(v, 3.0))).shape != c.shape]  # fmt: skip
    assert len(wrong) <= 2, wrong


def test_reader_sees_shapes_through_the_shipped_vae(comfy_modules):
    """Toy clips encoded and decoded by the shipped demo VAE (ComfyUI's own Wan VAE class): the reader still names
    the drawn shape, so what it reads from generated videos is the generator's doing, not the VAE's or its own."""
    import comfy.sd
    import comfy.utils

    vae = comfy.sd.VAE(sd=comfy.utils.load_torch_file(str(ROOT / "models" / "vae" / "toy_wan_vae.safetensors")))
    clips, _, video = clip_batch(random.Random(4), 24, 17, 64)
    wrong = []
    for clip, frames in zip(clips, video, strict=True):
        decoded = vae.decode(vae.encode(frames))[0]  # (T, H, W, 3) in [0, 1], as VAEEncode/VAEDecode give it
        if (r := read_video(decoded)).shape != clip.shape:
            wrong.append((clip.shape, r.shape))
    assert len(wrong) <= 3, wrong  # measured 92.7% over 96 clips


def _varied(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [varied_caption(Clip.random(rng, bounce=rng.random() < 0.2), rng) for _ in range(n)]


def test_heldout_prompts_share_no_template_with_training():
    """Every training caption matches a training template's regex (so the check is not vacuous), and no held-out
    prompt matches any of them, nor the shipped models' 5 templates (in synonyms or in the world's own words)."""
    training = template_regexes()
    captions = _varied(3000, 5)
    assert all(any(r.fullmatch(c) for r in training) for c in captions)
    leaked = [p.text for p in (*HELDOUT, *HELDOUT_PLAIN) if any(r.fullmatch(p.text) for r in training)]
    assert not leaked, leaked
    assert not set(HELDOUT_TEMPLATES) & set(TRAIN_TEMPLATES)
    heldout = template_regexes(HELDOUT_TEMPLATES)  # and the other way round: training never writes a held-out one
    assert not [c for c in captions if any(r.fullmatch(c) for r in heldout)]


def test_heldout_set_covers_every_attribute():
    assert len(HELDOUT) >= 40 and len({p.text for p in HELDOUT}) == len(HELDOUT)
    for field, values in (("shape", SHAPES), ("colour", COLOURS), ("background", BACKGROUNDS), ("motion", MOTIONS)):
        seen = Counter(getattr(p, field) for p in HELDOUT)
        assert set(seen) == set(values) and min(seen.values()) >= 9, (field, seen)


def test_varied_captions_use_every_template_and_synonym_deterministically():
    captions = _varied(3000, 5)
    assert captions == _varied(3000, 5) and len(set(captions)) > 2900
    regexes = template_regexes(TRAIN_TEMPLATES)
    assert all(any(r.fullmatch(c) for c in captions) for r in regexes)  # every template drawn
    text = " ".join(captions)
    words = [*COLOUR_WORDS.values(), *SHAPE_WORDS.values(), *BACKGROUND_WORDS.values()]
    unused = [w for ws in words for w in ws if f" {w} " not in text and f" {w}," not in text]
    assert not unused, unused
    assert not [p for v in MOTION_WORDS.values() for pair in v for p in pair if p not in text]


def test_varied_captions_render_the_same_clips_as_the_templated_ones():
    a_clips, a_text, a_video = clip_batch(random.Random(2), 6, 3, 32)
    b_clips, b_text, b_video = clip_batch(random.Random(2), 6, 3, 32, captions="varied")
    assert a_clips == b_clips and torch.equal(a_video, b_video) and a_text != b_text
    rng = random.Random(2)
    clips = [Clip.random(rng) for _ in range(6)]
    assert a_text == [caption(c, rng) for c in clips]  # the shipped recipe's captions, unchanged


def _long_clips(n: int, seed: int) -> list[Clip]:
    rng = random.Random(seed)
    return [Clip.random_long(rng) for _ in range(n)]


def test_long_reader_recovers_bounces_and_identity():
    """Minute-long bouncing clips (481 frames at 8 fps): the reader counts the direction changes the renderer drew
    on each axis, and every window shows the clip's shape, colour and background, moving, in one piece."""
    for clip in _long_clips(6, 0):
        truth = [turns([c[axis] * 64 for c in _centres(clip, 481)], TURN_TOLERANCE * 64) for axis in (0, 1)]
        r = read_long(render(clip, 481, 64))
        assert [r.bounces_x, r.bounces_y] == truth and min(truth) >= 2, (clip, r)
        want = Reading(clip.background, clip.colour, clip.shape, "")
        assert identity(r, want) == 1.0 and len(r.windows) == 15, [w for w in r.windows if w.shape != clip.shape]
        assert r.moving == 1.0 and r.one_piece == 1.0
        assert (r.first.shape, r.first.colour, r.last.background) == (clip.shape, clip.colour, clip.background)
        assert max(r.drift.values()) < 0.01, r.drift


def test_long_reader_sees_what_goes_wrong():
    """A shape that stops, changes colour half-way and sheds a fragment: no bounces after it stops, half the
    windows off the prompt, fragmented frames, and drift on the colour histogram."""
    clip = _long_clips(1, 1)[0]
    video = render(clip, 481, 64)
    other = "green" if clip.colour == "red" else "red"
    still = Clip(clip.shape, other, clip.background, "bounce", clip.radius, _centres(clip, 240)[-1], 0.0, (0.0, 0.0))
    video[240:] = render(still, 1, 64)[0]  # stops half-way, in another colour
    video[400:, 2:5, 2:5] = torch.tensor(COLOURS[other])  # a stray fragment in the last sixth
    first = read_long(render(clip, 240, 64))
    r = read_long(video)
    assert (r.bounces_x, r.bounces_y) == (first.bounces_x, first.bounces_y)
    assert 0.4 <= identity(r, Reading(clip.background, clip.colour, clip.shape, "")) <= 0.6
    assert 0.4 <= r.moving <= 0.6 and r.one_piece < 0.9 and r.last.colour == other
    assert r.drift["histogram"] > 0.01 and r.drift["foreground_area"] > 0.001


def test_turns_count_direction_changes_not_jitter():
    path = [*range(0, 20), *range(20, 5, -1), *range(5, 12)]  # two turns
    jitter = [p + (0.4 if i % 2 else -0.4) for i, p in enumerate(path)]
    assert turns(path, 2.0) == turns(jitter, 2.0) == 2
    assert turns([0.0, 1.0, 0.0, 1.0], 2.0) == 0


def test_long_clip_captions_say_they_bounce():
    for clip in _long_clips(20, 2):
        assert "bouncing" in caption(clip, random.Random(0))
        words = varied_caption(clip, random.Random(0))
        assert any(p in words for pair in MOTION_WORDS["bounce"] for p in pair), words


def test_long_training_configs_keep_the_short_models_architecture_and_space():
    """The long configs (docs/toy_world.md's plan) continue from the short models: same model and semantic space."""
    from semanticgen.train.trainer import TrainConfig

    configs = {p.stem: TrainConfig.load(p) for p in (ROOT / "configs" / "toy").glob("*.json")}
    for long, short in (("stage_semantic_long", "stage_semantic"), ("stage_latent_long", "stage_latent_refine")):
        a, b = configs[long], configs[short]
        assert (a.stage, a.model, a.space) == (b.stage, b.model, b.space), long
