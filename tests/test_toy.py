"""The toy world and its model-free reader: the reader must recover what the renderer drew."""

from __future__ import annotations

import itertools
import random

from semanticgen.toy import BACKGROUNDS, COLOURS, MOTIONS, SHAPES, Clip, caption, render
from semanticgen.toy.evaluate import parse_prompt, read_video


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
