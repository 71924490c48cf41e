"""This process's shards of a training cache from a folder of videos with same-name .txt captions, with ComfyUI's
own VAE, text encoder and video decoder (from --comfyui). Run once, or under torchrun / `accelerate launch` on many
processes and machines (each writes its own shards, from RANK and WORLD_SIZE); re-running resumes.

    torchrun --nproc_per_node 8 scripts/build_cache.py --comfyui ~/ComfyUI --videos clips/ --out cache/ \
        --vae .../wan_2.1_vae.safetensors --text-encoder .../umt5_xxl_fp8_e4m3fn_scaled.safetensors \
        --encoder models/semanticgen/encoders/qwen2.5-vl-7b-vision.safetensors
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import comfy_host  # noqa: E402

from semanticgen.encoder import load_encoder  # noqa: E402
from semanticgen.train.build import ClipFolder, ShardPlan, ShardWriter, build_sharded, check_clip_frames, list_videos  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=Path, required=True, help="folder of videos and <name>.txt captions")
    ap.add_argument("--out", type=Path, required=True, help="folder that receives shard-NNNNN.safetensors")
    ap.add_argument("--vae", required=True, help="ComfyUI VAE file (Wan2.1)")
    ap.add_argument("--text-encoder", required=True, help=f"{comfy_host.MINILM!r} or a ComfyUI text-encoder file")
    ap.add_argument("--clip-type", default="wan", help="ComfyUI CLIP type of --text-encoder (default wan)")
    ap.add_argument("--encoder", required=True, help="semantic encoder: extracted tower file or Qwen2.5-VL folder")
    ap.add_argument("--comfyui", default=None, help="ComfyUI folder (default $SEMANTICGEN_COMFYUI)")
    ap.add_argument("--frames", type=int, default=33, help="frames per clip (4k+1); longer cut, shorter skipped")
    ap.add_argument("--width", type=int, default=480)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--sample-fps", type=float, default=1.6, help="frames per second shown to the semantic encoder")
    ap.add_argument("--shard-size", type=int, default=256, help="clips per shard")
    a = ap.parse_args(argv)
    check_clip_frames(a.frames)
    files = list_videos(a.videos)
    plan = ShardPlan.from_env(len(files), a.shard_size)
    if torch.cuda.is_available():  # one GPU per process; ComfyUI's model management uses the current device
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    comfy_host.use_comfyui(a.comfyui)
    vae = comfy_host.load_vae(a.vae, a.comfyui)
    text = comfy_host.load_text_encoder(a.text_encoder, a.comfyui, a.clip_type)
    device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    encoder = load_encoder(a.encoder).to(device)
    folder = ClipFolder(files, comfy_host.decode_file, a.frames, a.height, a.width)
    who = f"rank {plan.rank}/{plan.world}"
    done = [0]

    def progress(n: int) -> None:
        done[0] += n
        if done[0] % a.shard_size == 0:
            sys.stderr.write(f"{who}: {done[0]} clips encoded\n")

    writer = ShardWriter(vae.encode, text, encoder, folder.fps, a.sample_fps, progress)
    clip = (a.frames, a.height, a.width, 3)
    with torch.no_grad():
        shards = build_sharded(plan, [p.name for p in files], lambda i: folder.load(files[i]), a.out, writer, clip)
    sys.stdout.write(f"{who}: {len(shards)} shards in {a.out} ({folder.used} clips encoded now)\n")


if __name__ == "__main__":
    main()
