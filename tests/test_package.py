"""Registry readiness: the pyproject fields the Comfy Registry reads, and the icon it points at."""

from __future__ import annotations

import re

import tomllib
from PIL import Image
from server_harness import ROOT


def test_pyproject_has_what_the_registry_reads():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project, comfy = meta["project"], meta["tool"]["comfy"]
    # registry node id: < 100 chars, alphanumerics and single - _ . between them, no leading digit or symbol
    name = project["name"]
    assert re.fullmatch(r"[A-Za-z](?:[A-Za-z0-9]|[-_.](?=[A-Za-z0-9]))*", name) and len(name) < 100
    assert "comfyui" not in project["name"].lower()  # the registry's advice: the id should not repeat "ComfyUI"
    assert re.fullmatch(r"\d+\.\d+\.\d+", project["version"])
    assert project["description"] and project["license"]["text"]
    assert project["urls"]["Repository"].startswith("https://")
    assert comfy["PublisherId"] and comfy["DisplayName"] and comfy["requires-comfyui"].startswith(">=")


def test_icon_is_a_square_image_in_the_repository():
    icon = (ROOT / "pyproject.toml").read_text()
    url = re.search(r'^Icon = "([^"]+)"', icon, re.M).group(1)
    path = ROOT / url.split("/main/", 1)[1]  # the URL serves this file of the repository's main branch
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size[0] == img.size[1] >= 256
