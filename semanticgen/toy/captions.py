"""Captions in the words people type: many templates, synonyms for every attribute, optional filler.

The shipped models learnt five templates (`world.caption`); a user's own wording then falls apart (issue 17). This
generator draws a template, a synonym for each of shape, colour, background and motion, and optional filler (size
and speed words that say what the clip shows, "video of", a style tail), all from one `random.Random`, so a dataset
is reproducible from its seed. `HELDOUT` is a paraphrase set written with templates of its own, which no training
template can produce (`template_regexes` lets a test check every held-out prompt against every training template).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from .world import _TEMPLATES as BASIC_TEMPLATES
from .world import BACKGROUNDS, COLOURS, MOTIONS, SHAPES, Clip

SHAPE_WORDS = {
    "circle": ("circle", "disc", "disk", "ball", "dot", "round blob", "round shape", "sphere"),
    "square": ("square", "box", "block", "tile", "cube", "square shape", "quadrilateral"),
    "triangle": ("triangle", "wedge", "pyramid", "triangular shape", "three-sided shape", "arrowhead"),
}
COLOUR_WORDS = {
    "red": ("red", "crimson", "scarlet", "bright red", "cherry-red"),
    "green": ("green", "lime", "emerald", "bright green", "grass-green"),
    "blue": ("blue", "azure", "cobalt", "bright blue", "royal blue"),
    "yellow": ("yellow", "golden", "lemon", "bright yellow", "sunny yellow"),
    "white": ("white", "snow-white", "ivory", "pure white", "milky white"),
}
BACKGROUND_WORDS = {
    "black": ("black", "dark", "jet-black", "pitch-black", "inky black"),
    "gray": ("gray", "grey", "slate", "mid-gray", "neutral grey"),
    "navy": ("navy", "navy blue", "dark blue", "midnight blue", "deep blue"),
}
GROUND_WORDS = ("background", "backdrop", "canvas", "screen", "field")
# (participle, finite verb) phrases: templates need one or the other
MOTION_WORDS = {
    "left": (
        ("moving left", "moves left"),
        ("sliding to the left", "slides to the left"),
        ("heading left", "heads left"),
        ("drifting leftward", "drifts leftward"),
        ("travelling from right to left", "travels from right to left"),
        ("going left", "goes left"),
    ),
    "right": (
        ("moving right", "moves right"),
        ("sliding to the right", "slides to the right"),
        ("heading right", "heads right"),
        ("drifting rightward", "drifts rightward"),
        ("travelling from left to right", "travels from left to right"),
        ("going right", "goes right"),
    ),
    "up": (
        ("moving up", "moves up"),
        ("rising", "rises"),
        ("floating upward", "floats upward"),
        ("climbing toward the top", "climbs toward the top"),
        ("going up", "goes up"),
        ("travelling from bottom to top", "travels from bottom to top"),
    ),
    "down": (
        ("moving down", "moves down"),
        ("falling", "falls"),
        ("sinking", "sinks"),
        ("dropping toward the bottom", "drops toward the bottom"),
        ("going down", "goes down"),
        ("travelling from top to bottom", "travels from top to bottom"),
    ),
    "bounce": (
        ("bouncing off the walls", "bounces off the walls"),
        ("bouncing around the frame", "bounces around the frame"),
        ("ricocheting off the edges", "ricochets off the edges"),
        ("bouncing from wall to wall", "bounces from wall to wall"),
        ("bouncing around, changing direction at each wall", "bounces around, changing direction at each wall"),
    ),
}
SIZE_WORDS = {"small": ("small", "little", "tiny"), "large": ("big", "large")}
SPEED_WORDS = {"slow": ("slowly", "gently", "at a slow pace"), "fast": ("quickly", "fast", "at a brisk pace")}
LEADS = ("video of ", "a clip of ", "footage of ", "an animation of ", "a short video: ", "animation: ")
TAILS = (", simple animation", ", flat colours", ", minimal 2d style", ", clean render", ", smooth motion")
SMALL_RADIUS, LARGE_RADIUS = 0.155, 0.175  # Clip.random draws radii in [0.14, 0.19]
SLOW_SPEED, FAST_SPEED = 0.028, 0.032  # and speeds in [0.025, 0.035] (fractions of the frame per frame)

# Training templates. Slots: {a} article (a/an, fixed up after filling), {size} optional size word plus a space,
# {colour} {shape} {bg} {ground}, {moving} participle or {moves} finite motion phrase, {speed} optional " slowly".
TRAIN_TEMPLATES = (
    "{a} {size}{colour} {shape} {moving}{speed} on {a} {bg} {ground}",
    "{a} {size}{colour} {shape} {moves}{speed} across {a} {bg} {ground}",
    "{bg} {ground}, {a} {size}{colour} {shape} {moving}{speed}",
    "{bg} {ground} with {a} {size}{colour} {shape} {moving}{speed}",
    "the {size}{colour} {shape} {moves}{speed} over a plain {bg} {ground}",
    "{a} {size}{shape} in {colour}, {moving}{speed}, {bg} {ground}",
    "{colour} {shape}, {bg} {ground}, {moving}{speed}",
    "{moving}{speed}: {a} {size}{colour} {shape} on {bg}",
    "on {a} {bg} {ground}, {a} {size}{colour} {shape} {moves}{speed}",
    "there is {a} {size}{colour} {shape} {moving}{speed} on {a} {bg} {ground}",
    "{a} {size}{colour} {shape} against {a} {bg} {ground}, {moving}{speed}",
    "{a} {size}{shape}, {colour}, {moves}{speed} in front of {a} {bg} {ground}",
    "{colour} {shape} {moving}{speed}; the {ground} is {bg}",
    "{a} {bg} {ground}. {a} {size}{colour} {shape} {moves}{speed}.",
    "watch {a} {size}{colour} {shape} {moving}{speed} on {bg}",
    "{a} {size}{colour} {shape} on {a} {bg} {ground} {moving}{speed}",
)
# Held-out templates: none of their wordings is a training template's (tests/test_toy.py checks the prompts).
HELDOUT_TEMPLATES = (
    "I want to see {a} {colour} {shape} {moving}, the whole {ground} {bg}",
    "{bg} everywhere behind {a} {colour} {shape} that {moves}",
    "make {a} {colour} {shape} go {direction} over {bg}",
    "{colour} coloured {shape} {moving} | {ground}: {bg}",
    "picture {a} {shape} painted {colour} {moving} through an empty {bg} {ground}",
    "can you show {a} {colour} {shape} that {moves} on plain {bg}?",
    "{a} {shape} ({colour}) {moving}, nothing else, {bg} {ground} only",
    "animate {a} {colour} {shape}: it {moves} while the {ground} stays {bg}",
)
DIRECTION_WORDS = {
    "left": ("left", "to the left"),
    "right": ("right", "to the right"),
    "up": ("up", "upward"),
    "down": ("down", "downward"),
    "bounce": ("back and forth between the walls",),
}


@dataclass(frozen=True)
class Prompt:
    """A prompt and what it asks for (the held-out set is labelled, not parsed: synonyms make parsing guesswork)."""

    text: str
    shape: str
    colour: str
    background: str
    motion: str


def _articles(text: str) -> str:
    """'a' before a vowel sound becomes 'an' (the templates write {a} wherever the next word varies)."""
    text = re.sub(r"\{a\} (?=[aeiou])", "an ", text)
    return text.replace("{a} ", "a ")


def _size(clip: Clip, rng: random.Random) -> str:
    """A size word that is true of the clip (or none): only clearly small or large shapes get one."""
    kind = "small" if clip.radius < SMALL_RADIUS else "large" if clip.radius > LARGE_RADIUS else ""
    return f"{rng.choice(SIZE_WORDS[kind])} " if kind and rng.random() < 0.5 else ""


def _speed(clip: Clip, rng: random.Random) -> str:
    """A speed word that is true of the clip (or none)."""
    kind = "slow" if clip.speed < SLOW_SPEED else "fast" if clip.speed > FAST_SPEED else ""
    return f" {rng.choice(SPEED_WORDS[kind])}" if kind and rng.random() < 0.5 else ""


def fill(template: str, clip: Clip, rng: random.Random, size: str = "", speed: str = "", plain: bool = False) -> str:
    """One template with a random synonym for each attribute of `clip` (`plain`: the world's own words, the first
    of each list, to tell wording from word order)."""
    pick = (lambda words: words[0]) if plain else rng.choice
    moving, moves = pick(MOTION_WORDS[clip.motion])
    text = template.format(
        a="{a}",
        size=size,
        speed=speed,
        colour=pick(COLOUR_WORDS[clip.colour]),
        shape=pick(SHAPE_WORDS[clip.shape]),
        bg=pick(BACKGROUND_WORDS[clip.background]),
        ground=pick(GROUND_WORDS),
        moving=moving,
        moves=moves,
        direction=pick(DIRECTION_WORDS[clip.motion]),
    )
    return _articles(text)


def varied_caption(clip: Clip, rng: random.Random) -> str:
    """A training caption: a random training template and synonyms, optional lead, size, speed and tail."""
    template = rng.choice(TRAIN_TEMPLATES)
    text = fill(template, clip, rng, _size(clip, rng), _speed(clip, rng))
    if rng.random() < 0.3 and template.startswith(("{a} ", "the ")):  # "video of" + a noun phrase
        text = rng.choice(LEADS) + text
    if rng.random() < 0.2:
        text += rng.choice(TAILS)
    return text


def _heldout(plain: bool = False) -> tuple[Prompt, ...]:
    """48 prompts, balanced: every shape × motion pair 4 times, every background 16 times, every colour 9–10."""
    rng, colours, backgrounds, motions = random.Random(17), list(COLOURS), list(BACKGROUNDS), list(MOTIONS)
    out = []
    for i in range(48):
        clip = Clip(SHAPES[i % 3], colours[i % 5], backgrounds[(i // 4) % 3], motions[i % 4])
        text = fill(HELDOUT_TEMPLATES[i % len(HELDOUT_TEMPLATES)], clip, rng, plain=plain)
        out.append(Prompt(text, clip.shape, clip.colour, clip.background, clip.motion))
    return tuple(out)


HELDOUT = _heldout()
HELDOUT_PLAIN = _heldout(plain=True)  # the same prompts in the world's own words: held-out word order only


def _alternatives(words) -> str:
    return "(?:" + "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)) + ")"


def template_regexes(templates: tuple[str, ...] = TRAIN_TEMPLATES + BASIC_TEMPLATES) -> list[re.Pattern]:
    """A regex per template that matches every caption it can produce (any synonym, filler or none): a prompt no
    regex matches cannot have come from those templates. The basic templates' {motion} slot takes the plain
    direction words and their bounce phrase."""
    every = {
        "a": "an?",
        "size": f"(?:{_alternatives(w for v in SIZE_WORDS.values() for w in v)} )?",
        "speed": f"(?: {_alternatives(w for v in SPEED_WORDS.values() for w in v)})?",
        "colour": _alternatives(w for v in COLOUR_WORDS.values() for w in v),
        "shape": _alternatives(w for v in SHAPE_WORDS.values() for w in v),
        "bg": _alternatives(w for v in BACKGROUND_WORDS.values() for w in v),
        "ground": _alternatives(GROUND_WORDS),
        "moving": _alternatives(p for v in MOTION_WORDS.values() for p, _ in v),
        "moves": _alternatives(f for v in MOTION_WORDS.values() for _, f in v),
        "motion": _alternatives([*MOTIONS, "around, bouncing off the walls"]),
        "direction": _alternatives(w for v in DIRECTION_WORDS.values() for w in v),
    }
    lead, tail = f"(?:{_alternatives(LEADS)})?", f"(?:{_alternatives(TAILS)})?"
    out = []
    for t in templates:
        parts = re.split(r"(\{[a-z]+\})", t)
        body = "".join(every[p[1:-1]] if p.startswith("{") else re.escape(p) for p in parts)
        out.append(re.compile(f"{lead}{body}{tail}", re.IGNORECASE))
    return out
