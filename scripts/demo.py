"""Run a bundled workflow through a real headless ComfyUI with the demo models and write the video.

make demo [PROMPT="a red circle moving left on a black background"] [SEED=3] [OUT=out/demo.mp4]
          [WORKFLOW=text_to_video|reference_resynthesis|long_video] [FRAMES=17]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from host import ROOT, Server

WORKFLOWS = {
    "text_to_video": "semanticgen_text_to_video",
    "reference_resynthesis": "semanticgen_reference_resynthesis",
    "long_video": "semanticgen_long_video",
}


def set_inputs(prompt: dict, text: str | None, seed: int | None, frames: int | None) -> dict:
    """Put the command-line choices into the API prompt (by node type, not by id)."""
    for node in prompt.values():
        t, inputs = node["class_type"], node["inputs"]
        if text is not None and t == "SemanticGenTextEncode" and node["_meta"]["title"] in ("Prompt", "New prompt"):
            inputs["text"] = text
        if seed is not None and "seed" in inputs and t in ("SemanticGenSemanticSampler", "SemanticGenLatentSampler"):
            inputs["seed"] = seed
        if frames is not None and t == "SemanticGenSemanticSampler":
            inputs["frames"] = frames
    return prompt


BAR_WIDTH = 24
Clock = Callable[[], float]


def stage_names(prompt: dict) -> dict[str, str]:
    """Node id -> the title a person sees on the canvas (`_meta.title`), else the node's type."""
    return {k: node.get("_meta", {}).get("title") or node["class_type"] for k, node in prompt.items()}


def stage_units(prompt: dict) -> dict[str, str]:
    """What a node's progress messages count: sampling steps for the samplers, chunks for the chunked encode and
    decode (ComfyUI's progress messages carry only value and max)."""
    return {k: "steps" if "Sampler" in node["class_type"] else "chunks" for k, node in prompt.items()}


def minutes(seconds: float) -> str:
    """12.3 -> '0:12', 3725 -> '1:02:05'."""
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class Progress:
    """ComfyUI's websocket messages -> text a person can read: one line per stage, named by its node title, and a
    progress bar with the step count and the time left (from the pace since the stage's first progress message).
    On a terminal the bar redraws in place; in a log (`live=False`) it is written at each quarter only."""

    def __init__(self, prompt: dict, clock: Clock = time.monotonic, live: bool = True):
        self.names, self.units, self.clock, self.live = stage_names(prompt), stage_units(prompt), clock, live
        self.total, self.done = len(prompt), 0
        self.node: str | None = None
        self.first: tuple[float, int] | None = None  # (time, value) of the stage's first progress message
        self.shown = -1  # the last quarter written (live=False)
        self.open = False  # a bar is on the current line

    def feed(self, kind: str, info: dict) -> str:
        """The text to write for one message (often empty)."""
        if kind == "execution_cached":
            self.total -= len(info.get("nodes", []))
            return ""
        if kind == "executing" and info.get("node") is not None:
            self.node, self.first, self.shown, self.done = str(info["node"]), None, -1, self.done + 1
            return self._close() + f"[{self.done}/{self.total}] {self.names.get(self.node, self.node)}\n"
        if kind == "progress":
            return self._bar(int(info["value"]), int(info["max"]))
        if kind in ("execution_success", "execution_error", "execution_interrupted", "executing"):
            return self._close()
        return ""

    def _close(self) -> str:
        was, self.open = self.open, False
        return "\n" if was and self.live else ""

    def _left(self, value: int, total: int) -> str:
        now = self.clock()
        if self.first is None or value <= self.first[1]:
            self.first = self.first or (now, value)
            return "estimating time left"
        t0, v0 = self.first
        pace = (now - t0) / (value - v0)  # seconds per step
        return f"{minutes(now - t0)} elapsed, {minutes(pace * (total - value))} left"

    def _bar(self, value: int, total: int) -> str:
        total = max(total, 1)
        filled = BAR_WIDTH * min(value, total) // total
        unit = self.units.get(self.node or "", "steps")
        line = f"  [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {value}/{total} {unit}, {self._left(value, total)}"
        if self.live:
            self.open = True
            return f"\r{line:<{BAR_WIDTH + 60}}"
        quarter = 4 * min(value, total) // total
        if quarter <= self.shown:
            return ""
        self.shown = quarter
        return line + "\n"


async def queue_and_follow(
    server: Server, prompt: dict, on_message: Callable[[str, dict], None], timeout: float = 3600.0
) -> dict:
    """Connect to ComfyUI's websocket first (so no message is missed), queue the prompt, then hand each of its
    messages to `on_message(type, data)` until it is done. Returns the /prompt answer."""
    import aiohttp

    client_id = uuid.uuid4().hex
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{server.url}/ws?clientId={client_id}") as ws:
        async with session.post(f"{server.url}/prompt", json={"prompt": prompt, "client_id": client_id}) as r:
            body = await r.json()
        if r.status != 200 or body.get("node_errors"):
            raise SystemExit(f"ComfyUI refused the prompt: {json.dumps(body, indent=2)}")
        prompt_id = body["prompt_id"]

        async def follow() -> None:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                kind, info = data.get("type"), data.get("data", {})
                if info.get("prompt_id") not in (None, prompt_id):
                    continue
                on_message(kind, info)
                done = kind == "executing" and info.get("node") is None
                if done or kind in ("execution_error", "execution_interrupted"):
                    return

        await asyncio.wait_for(follow(), timeout)
    return body


def show(progress: Progress) -> Callable[[str, dict], None]:
    """An `on_message` that writes the progress text to stdout."""

    def write(kind: str, info: dict) -> None:
        text = progress.feed(kind, info)
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()

    return write


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workflow", default="text_to_video", choices=sorted(WORKFLOWS))
    ap.add_argument("--prompt")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--frames", type=int)
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "semanticgen_demo.mp4")
    a = ap.parse_args()
    prompt = json.loads((ROOT / "example_workflows" / "api" / f"{WORKFLOWS[a.workflow]}.json").read_text())
    prompt = set_inputs(prompt, a.prompt, a.seed, a.frames)
    cache = Path(os.environ.get("SEMANTICGEN_CACHE", Path.home() / ".cache" / "semanticgen-comfyui"))
    t0 = time.monotonic()
    sys.stdout.write("starting ComfyUI (headless) ...\n")
    checkout = hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]  # one base per checkout: its own pack link
    server = Server(cache / f"demo-base-{checkout}")
    try:
        sys.stdout.write(f"ComfyUI ready at {server.url} ({time.monotonic() - t0:.0f} s); queueing {a.workflow}\n")
        progress = Progress(prompt, live=sys.stdout.isatty())
        body = asyncio.run(queue_and_follow(server, prompt, show(progress)))
        entry = server.wait(body["prompt_id"])
        if entry["status"]["status_str"] != "success":
            from host import error_message

            raise SystemExit(f"the run failed: {error_message(entry)}")
        (video,) = server.outputs(entry)
        a.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = a.out.with_name(f".{a.out.name}.tmp")
        shutil.copyfile(video, tmp)
        os.replace(tmp, a.out)
        sys.stdout.write(f"done in {minutes(time.monotonic() - t0)}; the video is at\n  {a.out.resolve()}\n")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
