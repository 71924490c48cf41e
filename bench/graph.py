"""Graph overhead: the bundled text-to-video workflow through a real headless ComfyUI vs the same library calls
in this process, with the same models and settings, alternately; plus the cold start and a per-stage breakdown.

Server stage times come from ComfyUI's own websocket messages (`executing` node n → the next one); a warm round
changes the prompt text and the seeds, so the text encoder, both samplers, the decode and the video nodes run
again while the loaders (and the negative prompt) stay cached, exactly as when a user edits and re-queues.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / "example_workflows" / "api" / "semanticgen_text_to_video.json"
PROMPTS = [
    "a red circle moving left on a black background",
    "a green square moving up on a gray background",
    "a blue triangle moving right on a navy background",
    "a yellow circle moving down on a black background",
    "a white square moving left on a navy background",
]
STAGES = {  # node class -> stage of the breakdown
    "SemanticGenTextEncoderLoader": "load models",
    "SemanticGenSemanticGeneratorLoader": "load models",
    "SemanticGenLatentGeneratorLoader": "load models",
    "VAELoader": "load models",
    "SemanticGenTextEncode": "text encode",
    "SemanticGenSemanticSampler": "semantic sampling",
    "SemanticGenLatentSampler": "latent sampling",
    "VAEDecode": "VAE decode",
    "CreateVideo": "video write",
    "SaveVideo": "video write",
}
ORDER = [
    "load models",
    "text encode",
    "semantic sampling",
    "compressor",
    "latent sampling",
    "VAE decode",
    "video write",
]


def workflow(text: str, seed: int) -> dict:
    sys.path.insert(0, str(ROOT / "scripts"))
    from demo import set_inputs

    return set_inputs(json.loads(WORKFLOW.read_text()), text, seed, None)


def node(prompt: dict, class_type: str, title: str | None = None) -> dict:
    (inputs,) = (
        n["inputs"]
        for n in prompt.values()
        if n["class_type"] == class_type and (title is None or n["_meta"]["title"] == title)
    )
    return inputs


def stage_totals(total: float, durations: dict[str, float], prompt: dict) -> dict[str, float]:
    """Per-node seconds -> per-stage seconds (every stage present, 0 when it did not run); `other` is the rest of
    `total`: queueing, validation, caching and messages."""
    out = dict.fromkeys(ORDER, 0.0)
    for node_id, s in durations.items():
        out[STAGES[prompt[node_id]["class_type"]]] += s
    out["other"] = total - sum(out.values())
    return out


async def _run_ws(url: str, prompt: dict) -> tuple[float, dict[str, float]]:
    """Queue `prompt` and follow ComfyUI's websocket: (seconds from POST to done, seconds per executed node)."""
    import aiohttp

    client = uuid.uuid4().hex
    marks: list[tuple[float, str | None]] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{url}/ws?clientId={client}") as ws:
        t0 = time.perf_counter()
        async with session.post(f"{url}/prompt", json={"prompt": prompt, "client_id": client}) as r:
            body = await r.json()
        if r.status != 200 or body.get("node_errors"):
            raise RuntimeError(f"ComfyUI refused the benchmark prompt: {body}")
        async for msg in ws:
            data = json.loads(msg.data) if msg.type == aiohttp.WSMsgType.TEXT else {}
            kind, info = data.get("type"), data.get("data", {})
            if info.get("prompt_id") != body["prompt_id"]:
                continue
            if kind in ("execution_error", "execution_interrupted"):
                raise RuntimeError(f"benchmark prompt failed: {info}")
            if kind == "executing":
                marks.append((time.perf_counter(), info.get("node")))
                if info.get("node") is None:
                    break
    durations = {n: t1 - t for (t, n), (t1, _) in zip(marks, marks[1:], strict=False) if n is not None}
    return marks[-1][0] - t0, durations


class Direct:
    """The workflow's library calls in this process, models loaded once (as the server's cached loaders)."""

    def __init__(self, prompt: dict):
        import comfy.sd
        import comfy.utils

        from semanticgen.dit_io import load_dit
        from semanticgen.text import MiniLMTextEncoder

        models = ROOT / "models"
        self.prompt = prompt
        self.text = MiniLMTextEncoder()
        sem_in, lat_in = node(prompt, "SemanticGenSemanticSampler"), node(prompt, "SemanticGenLatentSampler")
        self.semantic = load_dit(
            models
            / "semanticgen"
            / "semantic_generators"
            / node(prompt, "SemanticGenSemanticGeneratorLoader")["model_name"]
        )
        self.latent = load_dit(
            models
            / "semanticgen"
            / "latent_generators"
            / node(prompt, "SemanticGenLatentGeneratorLoader")["model_name"]
        )
        self.vae = comfy.sd.VAE(
            sd=comfy.utils.load_torch_file(str(models / "vae" / node(prompt, "VAELoader")["vae_name"]))
        )
        self.negative = self.text.encode([node(prompt, "SemanticGenTextEncode", "Negative prompt")["text"]])
        self.sem_in, self.lat_in = sem_in, lat_in
        self.fps = node(prompt, "CreateVideo")["fps"]
        self.out = Path(tempfile.mkdtemp(prefix="semanticgen-bench-"))

    def __call__(self, text: str, seed: int) -> dict[str, float]:
        """One text-to-video run; seconds per stage."""
        import comfy.latent_formats
        from comfy_api.input_impl import VideoFromComponents
        from comfy_api.util import VideoComponents

        from semanticgen.pipeline import SamplingOptions, generate_latent, generate_semantic

        s, lat = self.sem_in, self.lat_in
        times: dict[str, float] = dict.fromkeys([*ORDER, "other"], 0.0)

        def timed(stage: str, fn: Callable[[], object]):
            t0 = time.perf_counter()
            out = fn()
            times[stage] += time.perf_counter() - t0
            return out

        def opts(i: dict) -> SamplingOptions:
            return SamplingOptions(seed=seed, steps=i["steps"], cfg=i["cfg"], shift=i["shift"], sampler=i["sampler"])

        with torch.no_grad():
            positive = timed("text encode", lambda: self.text.encode([text]))
            sem = timed(
                "semantic sampling",
                lambda: generate_semantic(
                    self.semantic, positive, self.negative, s["frames"], s["height"], s["width"], opts(s)
                ),
            )
            window = lat["window"] if lat["attention"] == "swin" else None
            z = timed(
                "latent sampling",
                lambda: comfy.latent_formats.Wan21().process_out(
                    generate_latent(
                        self.latent, positive, self.negative, sem, lat["semantic_noise"], opts(lat), window=window
                    )
                ),
            )
            images = timed("VAE decode", lambda: self.vae.decode(z))
        images = images.reshape(-1, *images.shape[-3:])
        video = VideoFromComponents(VideoComponents(images=images, frame_rate=Fraction(self.fps)))
        timed("video write", lambda: video.save_to(str(self.out / f"t2v_{seed}.mp4"), format="auto", codec="auto"))
        return times


def run(repeats: int, threads: int) -> dict:
    """Cold server start + first prompt, then `repeats` rounds of (server, direct) in alternating order; both sides
    use `threads` torch threads (the server through OMP_NUM_THREADS, which it reads at start-up)."""
    import os

    sys.path.insert(0, str(ROOT / "scripts"))
    from host import Server

    torch.set_num_threads(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    prompt = workflow(PROMPTS[0], 0)
    base = Path(tempfile.mkdtemp(prefix="semanticgen-bench-comfy-"))
    t0 = time.perf_counter()
    server = Server(base)
    try:
        start_s = time.perf_counter() - t0
        cold_s, cold_nodes = asyncio.run(_run_ws(server.url, prompt))
        t0 = time.perf_counter()
        direct = Direct(prompt)
        direct_load_s = time.perf_counter() - t0
        direct(PROMPTS[0], 0)  # warm-up (first calls allocate and pick kernels)
        rounds = []
        for r in range(repeats):
            text, seed = PROMPTS[(r + 1) % len(PROMPTS)], r + 1
            p = workflow(text, seed)
            order = ("server", "direct") if r % 2 == 0 else ("direct", "server")
            got: dict[str, tuple[float, dict[str, float]]] = {}
            for side in order:
                if side == "server":
                    total, nodes = asyncio.run(_run_ws(server.url, p))
                    got[side] = (total, stage_totals(total, nodes, p))
                else:
                    stages = direct(text, seed)
                    got[side] = (sum(stages.values()), stages)
            rounds.append(got)
    finally:
        server.stop()
    import statistics

    def med(side: str, stage: str | None = None) -> float:
        return statistics.median(g[side][0] if stage is None else g[side][1].get(stage, 0.0) for g in rounds)

    stages = [*ORDER, "other"]
    return {
        "threads": threads,
        "server_start_s": start_s,
        "cold_prompt_s": cold_s,
        "cold_stages": stage_totals(cold_s, cold_nodes, prompt),
        "direct_load_s": direct_load_s,
        "server_s": med("server"),
        "direct_s": med("direct"),
        "ratio": statistics.median(g["server"][0] / g["direct"][0] for g in rounds),
        "server_stages": {s: med("server", s) for s in stages},
        "direct_stages": {s: med("direct", s) for s in stages},
        "rounds": [{k: {"total": v[0], "stages": v[1]} for k, v in g.items()} for g in rounds],
    }
