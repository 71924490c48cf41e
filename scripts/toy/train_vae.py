"""Train the toy Wan2.1-layout VAE: ComfyUI's own `WanVAE` class, tiny, on toy-world clips.

    python scripts/toy/train_vae.py --out models/vae/toy_wan_vae.safetensors --steps 2400

ComfyUI must be importable (SEMANTICGEN_COMFYUI). The result loads through ComfyUI's native VAELoader.
Checkpoints are written atomically and training resumes from `--out`.partial.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), os.environ.get("SEMANTICGEN_COMFYUI", "")]

from semanticgen.checkpoints import atomic_write  # noqa: E402
from semanticgen.toy.data import clip_batch, to_vae_input  # noqa: E402


def build(dim: int):
    from comfy.cli_args import args

    args.cpu = True
    import comfy.latent_formats
    from comfy.ldm.wan.vae import WanVAE

    vae = WanVAE(dim=dim, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                 temperal_downsample=[False, True, True])  # fmt: skip
    g = torch.Generator().manual_seed(0)
    for name, p in vae.named_parameters():  # comfy.ops layers skip init
        with torch.no_grad():
            if name.endswith("gamma"):
                p.fill_(1.0)
            elif p.ndim > 1:
                p.copy_(torch.randn(p.shape, generator=g) * math.sqrt(2.0 / p[0].numel()))
            else:
                p.zero_()
    fmt = comfy.latent_formats.Wan21()
    mean, std = fmt.latents_mean.view(1, 16, 1, 1, 1), fmt.latents_std.view(1, 16, 1, 1, 1)
    return vae, mean, std


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--steps", type=int, default=2400)
    ap.add_argument("--dim", type=int, default=8)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--crop", type=int, default=32, help="train on random crops (the VAE is convolutional): 4x cheaper")
    ap.add_argument("--frames", type=int, default=5, help="frames per clip (1+4k); >5 trains the causal cache")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--init", type=Path, default=None, help="start from these weights (fine-tuning)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--contrast-loss",
        action="store_true",
        help="weigh each clip's error by 1/its contrast: low-contrast shapes count as much as bright ones",
    )
    ap.add_argument(
        "--decoder-only",
        action="store_true",
        help="train only the decoder: the latent space (and all models trained on it) stays valid",
    )
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    vae, mean, std = build(a.dim)
    if a.init is not None:
        from safetensors.torch import load_file

        vae.load_state_dict(load_file(str(a.init)))
    if a.decoder_only:
        vae.encoder.requires_grad_(False)
        vae.conv1.requires_grad_(False)
    opt = torch.optim.Adam([p for p in vae.parameters() if p.requires_grad], lr=a.lr)
    partial = a.out.with_name(a.out.name + ".partial")
    step = 0
    if partial.exists():  # resume
        from safetensors.torch import load_file

        state = load_file(str(partial))
        step = int(state.pop("__step").item())
        vae.load_state_dict({k: v for k, v in state.items() if not k.startswith("__opt.")})
    rng = random.Random(a.seed * 1000 + step)
    t0 = time.time()
    while step < a.steps:
        lr = a.lr * min(1.0, (step + 1) / 100) * (0.1 if step > 0.8 * a.steps else 1.0)
        for group in opt.param_groups:
            group["lr"] = lr
        _, _, video = clip_batch(rng, a.batch, a.frames, a.size, bounce=rng.random() < 0.3)
        y0, x0 = (rng.randrange(0, a.size - a.crop + 1, 8) for _ in range(2))
        video = video[:, :, y0 : y0 + a.crop, x0 : x0 + a.crop]
        x = to_vae_input(video) + 1e-3 * torch.randn(a.batch, 3, a.frames, a.crop, a.crop)  # exact zeros give NaN grads
        with torch.set_grad_enabled(not a.decoder_only):
            z = vae.encode(x)
        rec = vae.decode(z)
        zn = (z - mean) / std
        err = rec - x
        if a.contrast_loss:  # per clip: the shape's distance from the background sets how much an error matters
            err = err / (x.std(dim=(2, 3, 4), keepdim=True).mean(1, keepdim=True) + 0.05)
        loss = err.abs().mean() + err.square().mean() + 1e-3 * zn.square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 50 == 0 or step == a.steps:
            psnr = -10 * torch.log10(((rec - x) / 2).square().mean()).item()
            sys.stdout.write(f"step {step} loss {loss.item():.4f} psnr {psnr:.1f} dB z-std {zn.std():.2f} "
                             f"{(time.time() - t0) / 60:.1f} min\n")  # fmt: skip
            sys.stdout.flush()
        if step % 200 == 0 and step < a.steps:
            from safetensors.torch import save_file

            state = {k: v.contiguous() for k, v in vae.state_dict().items()} | {"__step": torch.tensor(step)}
            atomic_write(partial, lambda tmp, s=state: save_file(s, tmp))
    from safetensors.torch import save_file

    atomic_write(a.out, lambda tmp: save_file({k: v.contiguous() for k, v in vae.state_dict().items()}, tmp))
    partial.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
