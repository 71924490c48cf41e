"""A synthetic world small enough to train every SemanticGen stage on a CPU (see DESIGN.md §6)."""

from .world import BACKGROUNDS, COLOURS, MOTIONS, SHAPES, Clip, caption, render

__all__ = ["BACKGROUNDS", "COLOURS", "MOTIONS", "SHAPES", "Clip", "caption", "render"]
