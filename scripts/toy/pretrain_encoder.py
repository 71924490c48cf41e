"""Pre-train the toy semantic encoder: transformers' real Qwen2.5-VL vision tower with a tiny config, aligned
with text (CLIP-style contrastive loss against frozen MiniLM sentence embeddings of the captions).

    python scripts/toy/pretrain_encoder.py --data DATASET --out models/semanticgen/encoders/toy_encoder.safetensors
        [--targets attributes]

Which clips count as positives of a caption: `captions` (soft targets from the captions' MiniLM similarity, the
shipped encoder) or `attributes` (from the clips' own shape, colour, background and motion: synonyms and word order
say nothing about a clip, so varied captions must not weaken the targets).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from einops import rearrange

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from safetensors import safe_open  # noqa: E402

from semanticgen.encoder import EncoderConfig, SemanticEncoder, save_encoder  # noqa: E402
from semanticgen.features import sample_frame_indices  # noqa: E402
from semanticgen.text import MiniLMTextEncoder  # noqa: E402

TOY_ENCODER = EncoderConfig(
    depth=4, hidden_size=64, intermediate_size=128, num_heads=4, out_hidden_size=64, patch_size=8,
    spatial_merge_size=2, temporal_patch_size=2, window_size=32, fullatt_block_indexes=[0, 1, 2, 3],
    min_pixels=16 * 16, max_pixels=64 * 64,
)  # fmt: skip
FRAMES, FPS, SAMPLE_FPS = 17, 8.0, 4.0
TARGETS = ("captions", "attributes")
ATTRIBUTES = ("shape", "colour", "background", "motion")


def attribute_similarity(clips: list[dict]) -> torch.Tensor:
    """(N, N) share of the attributes two clips have in common: 1 on the diagonal and for identical clips."""
    names = [sorted({c[k] for c in clips}) for k in ATTRIBUTES]
    codes = torch.tensor([[n.index(c[k]) for k, n in zip(ATTRIBUTES, names, strict=True)] for c in clips])  # (N, 4)
    return (codes[:, None] == codes[None]).float().mean(-1)


def sentence_embedding(text: MiniLMTextEncoder, captions: list[str]) -> torch.Tensor:
    states = text.encode(captions)  # (B, L, 384), zero past the text
    mask = (states.abs().sum(-1) > 0).float()
    return (states * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True, help="from make_dataset.py")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--targets", choices=TARGETS, default="captions", help="what makes two clips alike")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    enc = SemanticEncoder(TOY_ENCODER)
    enc.tower.train()
    idx = sample_frame_indices(FRAMES, FPS, SAMPLE_FPS, TOY_ENCODER.temporal_patch_size)
    with safe_open(str(a.data), framework="pt") as f:
        captions_all = json.loads(f.metadata()["captions"])
        clips_all = json.loads(f.metadata()["clips"])
        frames_all = f.get_tensor("frames")[:, idx]  # (N, Ts, H, W, 3) uint8, only the sampled frames
    patches_all, grids = zip(*(enc.preprocess(v.float() / 255) for v in frames_all), strict=True)
    text = MiniLMTextEncoder()
    with torch.no_grad():
        s_all = torch.cat([sentence_embedding(text, captions_all[i : i + 64]) for i in range(0, len(captions_all), 64)])
    d = TOY_ENCODER.out_hidden_size
    video_proj, text_proj = torch.nn.Linear(d, 128), torch.nn.Linear(384, 128)
    params = [*enc.tower.parameters(), *video_proj.parameters(), *text_proj.parameters()]
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
    t0 = time.time()
    for step in range(1, a.steps + 1):
        batch = rng.sample(range(len(captions_all)), a.batch)
        tokens = enc.tower(torch.cat([patches_all[i] for i in batch]), grid_thw=torch.cat([grids[i] for i in batch]))
        feats = rearrange(tokens, "(b n) d -> b n d", b=a.batch).mean(1)  # (B, d) pooled over space-time
        v_emb = F.normalize(video_proj(feats), dim=-1)  # (B, 128)
        s_emb = s_all[batch]
        t_emb = F.normalize(text_proj(s_emb), dim=-1)
        logits = v_emb @ t_emb.T / 0.07
        # clips alike are true positives too: soft targets from caption or attribute similarity
        if a.targets == "captions":
            target = F.softmax(F.normalize(s_emb, dim=-1) @ F.normalize(s_emb, dim=-1).T / 0.02, dim=-1)
        else:
            target = F.softmax(attribute_similarity([clips_all[i] for i in batch]) / 0.05, dim=-1)
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 25 == 0:
            acc = (logits.argmax(1) == target.argmax(1)).float().mean().item()
            sys.stdout.write(f"step {step} loss {loss.item():.3f} top1 {acc:.2f} {(time.time() - t0) / 60:.1f} min\n")
            sys.stdout.flush()
    enc.tower.eval()
    save_encoder(enc, a.out)


if __name__ == "__main__":
    main()
