"""The bundled workflow files as a person first sees them: no node on top of another, a group per stage, a Note."""

from __future__ import annotations

import json
import sys

import pytest
from server_harness import ROOT

from semanticgen.toy.world import BACKGROUNDS, COLOURS, MOTIONS, SHAPES

sys.path.insert(0, str(ROOT / "scripts"))
import workflows  # noqa: E402

SPECS = {wf.name: wf for wf in workflows.WORKFLOWS}
FILES = sorted((ROOT / "example_workflows").glob("*.json"))


def ui(path) -> dict:
    return json.loads(path.read_text())


def test_every_workflow_file_has_a_spec():
    assert sorted(p.stem for p in FILES) == sorted(SPECS) and len(FILES) == 6


def test_overlap_counts_the_title_bar():
    """LiteGraph draws the title bar above node.pos: a node right under another's body still overlaps its title."""
    a = {"id": 1, "pos": [0, 0], "size": [100, 100]}
    below = {"id": 2, "pos": [0, 100 + workflows.TITLE], "size": [100, 50]}  # its title bar touches a's body
    assert workflows.overlapping(workflows.rectangles({"nodes": [a, below]})) == []
    below["pos"] = [0, 120]
    assert workflows.overlapping(workflows.rectangles({"nodes": [a, below]})) == [(1, 2)]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_no_nodes_or_groups_overlap(path):
    data = ui(path)
    assert workflows.overlapping(workflows.rectangles(data)) == []
    assert workflows.overlapping({g["id"]: g["bounding"] for g in data["groups"]}) == []


def inside(rect, box) -> bool:
    x, y, w, h = rect
    bx, by, bw, bh = box
    return bx <= x and by <= y and x + w <= bx + bw and y + h <= by + bh


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_stage_is_a_group_coloured_like_the_extension(path):
    data, spec = ui(path), SPECS[path.stem]
    colours = workflows.stage_colours()
    assert [(g["title"], g["color"]) for g in data["groups"]] == [(s.title, colours[s.kind]) for s in spec.stages]
    assert colours["semantic"] != colours["latent"] != colours["neutral"]
    rects = workflows.rectangles(data)
    for node in data["nodes"]:
        holders = [g["title"] for g in data["groups"] if inside(rects[node["id"]], g["bounding"])]
        assert holders == ([] if node["type"] == "Note" else [holders[0]]), (node["id"], node["type"], holders)
    stage_of = {i: s.title for s in spec.stages for column in s.columns for i in column}
    assert sorted(stage_of) == sorted(n.id for n in spec.nodes)  # every node is in one stage


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_one_note_says_what_the_demo_models_know(path):
    data = ui(path)
    (note,) = [n for n in data["nodes"] if n["type"] == "Note"]
    (text,) = note["widgets_values"]
    for word in (*SHAPES, *COLOURS, *BACKGROUNDS, *MOTIONS, "64×64", "17 frames", "8 fps", "Change:"):
        assert word in text, word
    assert "ComfyUI/models/semanticgen/" in text
    twin = json.loads((ROOT / "example_workflows" / "api" / path.name).read_text())
    assert "Note" not in {n["class_type"] for n in twin.values()}  # frontend-only: not in the API prompt
    assert sorted(map(int, twin)) == sorted(n["id"] for n in data["nodes"] if n["type"] != "Note")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_node_sizes_come_from_slots_and_widgets(path):
    """Not one default size for every node: a sampler is taller than a loader, a prompt box taller than a slot."""
    sizes = {n["type"]: n["size"] for n in ui(path)["nodes"]}
    assert len({tuple(s) for s in sizes.values()}) >= 4
    if "SemanticGenTextEncode" in sizes:
        assert sizes["SemanticGenTextEncode"][1] >= 200 > sizes["SemanticGenTextEncoderLoader"][1]
