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


async def queue_and_follow(server: Server, prompt: dict, timeout: float = 3600.0) -> dict:
    """Connect to ComfyUI's websocket first (so no message is missed), queue the prompt, then print its own
    progress messages (node by node, step by step) until it is done. Returns the /prompt answer."""
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
                if (
                    kind == "executing"
                    and info.get("node") is None
                    or kind in ("execution_error", "execution_interrupted")
                ):
                    return
                if kind == "executing":
                    sys.stdout.write(f"\n  node {info['node']}")
                elif kind == "progress":
                    sys.stdout.write(f"\r  node {info['node']}: step {info['value']}/{info['max']}   ")
                sys.stdout.flush()

        await asyncio.wait_for(follow(), timeout)
    return body


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
        body = asyncio.run(queue_and_follow(server, prompt))
        entry = server.wait(body["prompt_id"])
        if entry["status"]["status_str"] != "success":
            from host import error_message

            raise SystemExit(f"\nthe run failed: {error_message(entry)}")
        (video,) = server.outputs(entry)
        a.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = a.out.with_name(f".{a.out.name}.tmp")
        shutil.copyfile(video, tmp)
        os.replace(tmp, a.out)
        sys.stdout.write(f"\nwrote {a.out.resolve()} ({time.monotonic() - t0:.0f} s in all)\n")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
