"""One video DiT for both SemanticGen stages, in Wan2.1's block structure and state-dict key layout.

* Latent generator: latent tokens (patchified VAE latents) followed by in-context semantic tokens
  (`semantic_embedding` of the compressed features). Every token has a position in one space-time frame
  (latent-token units); only the latent tokens are predicted.
* Semantic generator: the same class whose input *is* the compressed semantic video (`in_dim = c`,
  `patch_size = (1, 1, 1)`, `semantic_dim = 0`).
* Long videos: `window` switches self-attention to shifted time windows (`swin.py`), which the latent generator
  uses; the semantic generator keeps full attention over its short sequence.

With `semantic_dim = 0` the keys and numerics are Wan2.1's, so Wan2.1 weights initialise it (see
`dit_io.load_wan_state_dict`) and ComfyUI's `comfy.ldm.wan.model.WanModel` is the reference in tests. This module
is the architecture; checkpoint I/O (save, load, storage dtypes, Wan2.1 init) is `dit_io.py`.

Every block has two paths with one result: the plain out-of-place computation when gradients are recorded
(training), and at inference an in-place, chunked update of the residual stream, so that beyond the stream only
chunk-sized tensors exist (memory.py counts them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType

import torch
import torch.utils.checkpoint
from einops import rearrange
from torch import nn

from .attention import attention
from .features import SemanticSpace
from .offload import BlockSwap
from .rope import apply_rope, grid_positions, rope_table
from .swin import Windows, attend_windows, layer_partitions, window_attention, window_in_tokens

CHUNK_TOKENS = 16384  # inference works on at most this many tokens at once where tokens are independent
Modulate = Callable[[torch.Tensor], torch.Tensor]  # (B, n, D) tokens -> their modulated, normalised input
Mod = tuple[torch.Tensor, ...]  # a block's shift, scale, gate of attention and FFN: 6 × (B, 1, D)


@dataclass
class DiTConfig:
    dim: int = 1536
    ffn_dim: int = 8960
    num_heads: int = 12
    num_layers: int = 30
    in_dim: int = 16  # latent channels (or c, for the semantic generator)
    out_dim: int = 16
    text_dim: int = 4096  # width of the text-encoder states (umT5-XXL: 4096)
    freq_dim: int = 256
    patch_size: tuple[int, int, int] = (1, 2, 2)
    semantic_dim: int = 0  # c of in-context semantic tokens; 0 = none (plain Wan2.1 / semantic generator)
    text_pool: bool = False  # also modulate every block by the prompt's mean token state (not in Wan2.1; see forward)
    qk_norm: bool = True
    cross_attn_norm: bool = True
    eps: float = 1e-6
    rope_theta: float = 10000.0
    attn_backend: str = "sdpa"

    def __post_init__(self) -> None:
        self.patch_size = tuple(self.patch_size)  # JSON round-trips tuples as lists
        if self.dim % self.num_heads:
            raise ValueError(f"dim {self.dim} is not divisible by num_heads {self.num_heads}")

    @property
    def head_dim(self) -> int:
        return self.dim // self.num_heads

    @classmethod
    def wan21_1_3b(cls, **kw) -> DiTConfig:
        return cls(**{"dim": 1536, "ffn_dim": 8960, "num_heads": 12, "num_layers": 30, **kw})

    @classmethod
    def wan21_14b(cls, **kw) -> DiTConfig:
        return cls(**{"dim": 5120, "ffn_dim": 13824, "num_heads": 40, "num_layers": 40, **kw})


def sinusoidal_embedding(dim: int, t: torch.Tensor) -> torch.Tensor:
    """(N,) timesteps in [0, 1000] -> (N, dim), Wan2.1's [cos, sin] order, computed in fp32."""
    half = dim // 2
    freqs = torch.pow(10000, -torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angle = torch.outer(t.float(), freqs)
    return torch.cat([angle.cos(), angle.sin()], dim=1)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN: a normalised (B, L, D) shifted and scaled by the time embedding's (B, 1, D) terms (DiT's `modulate`)."""
    return x * (1 + scale) + shift


class Attention(nn.Module):
    """Wan2.1's attention projections (q, k, v, o with RMS-normed q and k); subclasses choose what they attend to."""

    def __init__(self, cfg: DiTConfig, ops: ModuleType):
        super().__init__()
        self.heads, self.backend = cfg.num_heads, cfg.attn_backend
        self.q, self.k, self.v, self.o = (ops.Linear(cfg.dim, cfg.dim) for _ in range(4))
        self.norm_q = ops.RMSNorm(cfg.dim, eps=cfg.eps) if cfg.qk_norm else nn.Identity()
        self.norm_k = ops.RMSNorm(cfg.dim, eps=cfg.eps) if cfg.qk_norm else nn.Identity()


class SelfAttention(Attention):
    def query(self, y: torch.Tensor, rope: torch.Tensor) -> torch.Tensor:
        """(N, L, D) -> RMS-normed, rotated queries (N, L, D)."""
        q = apply_rope(rearrange(self.norm_q(self.q(y)), "b l (h d) -> b l h d", h=self.heads), rope)
        return rearrange(q, "b l h d -> b l (h d)")

    def key(self, y: torch.Tensor, rope: torch.Tensor) -> torch.Tensor:
        k = apply_rope(rearrange(self.norm_k(self.k(y)), "b l (h d) -> b l h d", h=self.heads), rope)
        return rearrange(k, "b l h d -> b l (h d)")

    def project(self, y: torch.Tensor, rope: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(N, L, D) and its rotary table -> q, k, v (N, L, D), RoPE applied to q and k."""
        return self.query(y, rope), self.key(y, rope), self.v(y)

    def forward(self, y: torch.Tensor, rope: torch.Tensor, windows: Windows | None = None) -> torch.Tensor:
        """(B, L, D) with a (L, D_head/2, 2) rotary table -> (B, L, D); full attention, or attention inside each
        time window (RoPE is applied first, so windowed tokens keep their true positions)."""
        if windows is None:
            return self.o(attention(*self.project(y, rope), self.heads, None, self.backend))
        return self.o(window_attention(self.project, y, rope, self.heads, windows, self.backend, CHUNK_TOKENS))


class CrossAttention(Attention):
    def context_kv(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of the text (B, Lt, D), computed once per block."""
        return self.norm_k(self.k(context)), self.v(context)

    def attend(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return self.o(attention(self.norm_q(self.q(x)), k, v, self.heads, None, self.backend))

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """(B, L, D) attends to text (B, Lt, D)."""
        return self.attend(x, *self.context_kv(context))


def chunks(n: int) -> list[slice]:
    """Token ranges of at most CHUNK_TOKENS: inference works on these wherever tokens are independent."""
    return [slice(i, min(i + CHUNK_TOKENS, n)) for i in range(0, n, CHUNK_TOKENS)]


class Block(nn.Module):
    """Wan2.1 block: modulated self-attention, text cross-attention, modulated FFN.

    Two paths with one result: when gradients are recorded, the plain out-of-place computation; at inference the
    residual stream is updated in place a chunk (or a group of Swin windows) at a time, so that beyond the stream
    itself only chunk-sized tensors exist (plus the keys and values of full attention).
    """

    def __init__(self, cfg: DiTConfig, ops: ModuleType):
        super().__init__()
        self.norm1 = ops.LayerNorm(cfg.dim, eps=cfg.eps, elementwise_affine=False)
        self.self_attn = SelfAttention(cfg, ops)
        self.norm3 = ops.LayerNorm(cfg.dim, eps=cfg.eps) if cfg.cross_attn_norm else nn.Identity()
        self.cross_attn = CrossAttention(cfg, ops)
        self.norm2 = ops.LayerNorm(cfg.dim, eps=cfg.eps, elementwise_affine=False)
        self.ffn = nn.Sequential(
            ops.Linear(cfg.dim, cfg.ffn_dim), nn.GELU(approximate="tanh"), ops.Linear(cfg.ffn_dim, cfg.dim)
        )
        self.modulation = nn.Parameter(torch.zeros(1, 6, cfg.dim))

    def forward(
        self,
        x: torch.Tensor,
        e: torch.Tensor,
        context: torch.Tensor,
        rope: torch.Tensor,
        windows: Windows | None = None,
    ) -> torch.Tensor:
        """x (B, L, D); e (B, 6, D) time modulation; context (B, Lt, D); `windows` for Swin self-attention.
        At inference x is updated in place and returned."""
        mod = (self.modulation.to(x) + e).unsqueeze(2).unbind(1)  # 6 × (B, 1, D)
        if torch.is_grad_enabled():
            return self._forward_training(x, mod, context, rope, windows)
        return self._forward_in_place(x, mod, context, rope, windows)

    def _forward_training(
        self, x: torch.Tensor, mod: Mod, context: torch.Tensor, rope: torch.Tensor, windows: Windows | None
    ) -> torch.Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = mod
        x = x + gate1 * self.self_attn(modulate(self.norm1(x), shift1, scale1), rope, windows)  # (B, L, D)
        x = x + self.cross_attn(self.norm3(x), context)
        return x + gate2 * self.ffn(modulate(self.norm2(x), shift2, scale2))

    def _forward_in_place(
        self, x: torch.Tensor, mod: Mod, context: torch.Tensor, rope: torch.Tensor, windows: Windows | None
    ) -> torch.Tensor:
        """The same computation a chunk at a time; every update only reads tokens it no longer needs unchanged."""
        shift1, scale1, gate1, shift2, scale2, gate2 = mod

        def pre_attn(part: torch.Tensor) -> torch.Tensor:
            return modulate(self.norm1(part), shift1, scale1)

        if windows is None:
            self._full_attention_in_place(x, pre_attn, gate1, rope)
        else:
            self._window_attention_in_place(x, pre_attn, gate1, rope, windows)
        k, v = self.cross_attn.context_kv(context)  # (B, Lt, D) each, once for all chunks
        for sl in chunks(x.shape[1]):
            x[:, sl] += self.cross_attn.attend(self.norm3(x[:, sl]), k, v)
        for sl in chunks(x.shape[1]):
            x[:, sl] += gate2 * self.ffn(modulate(self.norm2(x[:, sl]), shift2, scale2))
        return x

    def _full_attention_in_place(
        self, x: torch.Tensor, pre_attn: Modulate, gate: torch.Tensor, rope: torch.Tensor
    ) -> None:
        """Keys and values of every token first, then queries a chunk at a time; a chunk's tokens are updated only
        after its queries are computed, so every query sees the block's input."""
        attn = self.self_attn
        k, v = torch.empty_like(x), torch.empty_like(x)  # (B, L, D)
        for sl in chunks(x.shape[1]):
            y = pre_attn(x[:, sl])
            k[:, sl], v[:, sl] = attn.key(y, rope[sl]), attn.v(y)
        for sl in chunks(x.shape[1]):
            q = attn.query(pre_attn(x[:, sl]), rope[sl])
            x[:, sl] += gate * attn.o(attention(q, k, v, attn.heads, None, attn.backend))

    def _window_attention_in_place(
        self, x: torch.Tensor, pre_attn: Modulate, gate: torch.Tensor, rope: torch.Tensor, windows: Windows
    ) -> None:
        """A group of windows at a time: windows partition the tokens, so updating one group's tokens never changes
        what another group attends to."""
        attn = self.self_attn
        groups = attend_windows(
            attn.project, x, rope, attn.heads, windows, attn.backend, CHUNK_TOKENS, prepare=pre_attn, output=attn.o
        )
        for tokens, out in groups:
            x[:, tokens] += gate * out


class Head(nn.Module):
    def __init__(self, cfg: DiTConfig, ops: ModuleType):
        super().__init__()
        self.norm = ops.LayerNorm(cfg.dim, eps=cfg.eps, elementwise_affine=False)
        self.head = ops.Linear(cfg.dim, math.prod(cfg.patch_size) * cfg.out_dim)
        self.modulation = nn.Parameter(torch.zeros(1, 2, cfg.dim))

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """x (B, L, D), e (B, D) -> (B, L, prod(patch)·out_dim)."""
        shift, scale = (self.modulation.to(x) + e[:, None]).unsqueeze(2).unbind(1)  # 2 × (B, 1, D)
        return self.head(modulate(self.norm(x), shift, scale))


@dataclass(frozen=True)
class FeatureNorm:
    """Per-channel statistics of the features a generator was trained to produce, which it samples at unit scale
    (as ComfyUI's latent formats scale VAE latents): flow matching from N(0, 1) noise wants targets of that scale,
    and the compressor's outputs are not (their spread is whatever the KL term left)."""

    mean: list[float]
    std: list[float]

    def _stats(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        view = (1, -1) + (1,) * (z.ndim - 2)  # channels on dim 1: (B, C, ...)
        return torch.tensor(self.mean).to(z).view(view), torch.tensor(self.std).to(z).view(view)

    def normalize(self, z: torch.Tensor) -> torch.Tensor:
        mean, std = self._stats(z)
        return (z - mean) / std

    def denormalize(self, z: torch.Tensor) -> torch.Tensor:
        mean, std = self._stats(z)
        return z * std + mean


def pooled_text(context: torch.Tensor) -> torch.Tensor:
    """(B, Lt, D) token states -> (B, D), the mean over the prompt's tokens (rows past the text are zero).

    A global summary of the prompt, as Flux adds its pooled CLIP vector to the timestep embedding: every block's
    modulation then knows the prompt, while cross-attention alone must find each word among the tokens (a
    small model learns that for the wordings it saw, and misses it for new ones)."""
    used = (context.abs().sum(-1, keepdim=True) > 0).to(context)  # (B, Lt, 1)
    return (context * used).sum(1) / used.sum(1).clamp(min=1)


class SemanticGenDiT(nn.Module):
    def __init__(self, config: DiTConfig, operations: ModuleType = nn, space: SemanticSpace | None = None):
        super().__init__()
        self.config = cfg = config
        self.space = space  # the semantic space it was trained in (pixels/frames per token), if known
        self.feature_norm: FeatureNorm | None = None  # semantic generator: the scale its outputs are sampled at
        self.gradient_checkpointing = False  # training: recompute block activations in backward to save memory
        ops = operations
        self.patch_embedding = ops.Conv3d(cfg.in_dim, cfg.dim, kernel_size=cfg.patch_size, stride=cfg.patch_size)
        self.text_embedding = nn.Sequential(
            ops.Linear(cfg.text_dim, cfg.dim), nn.GELU(approximate="tanh"), ops.Linear(cfg.dim, cfg.dim)
        )
        self.time_embedding = nn.Sequential(ops.Linear(cfg.freq_dim, cfg.dim), nn.SiLU(), ops.Linear(cfg.dim, cfg.dim))
        self.time_projection = nn.Sequential(nn.SiLU(), ops.Linear(cfg.dim, 6 * cfg.dim))
        if cfg.text_pool:
            self.text_pool = nn.Sequential(ops.Linear(cfg.text_dim, cfg.dim), nn.SiLU(), ops.Linear(cfg.dim, cfg.dim))
        if cfg.semantic_dim:
            self.semantic_embedding = nn.Sequential(
                ops.Linear(cfg.semantic_dim, cfg.dim), nn.GELU(approximate="tanh"), ops.Linear(cfg.dim, cfg.dim)
            )
        self.blocks = nn.ModuleList(Block(cfg, ops) for _ in range(cfg.num_layers))
        self.head = Head(cfg, ops)
        self.swap: BlockSwap | None = None  # blocks kept off the device and streamed in (see offload.py)
        self.compute_dtype: torch.dtype | None = None  # None: the weights' dtype (see `dit_io.load_dit`)

    def run_blocks(self) -> Iterator[Block]:
        """The blocks in order: the resident ones, then the swapped ones as each arrives on the device."""
        yield from self.blocks
        if self.swap is not None:
            yield from self.swap

    # --- positions ------------------------------------------------------------------------------------------

    def latent_grid(self, shape: Sequence[int]) -> tuple[int, int, int]:
        """Token grid (t, h, w) of a (B, C, T, H, W) input."""
        pt, ph, pw = self.config.patch_size
        return shape[2] // pt, shape[3] // ph, shape[4] // pw

    def _positions(
        self, grid: tuple[int, int, int], semantic_pos: torch.Tensor | None, window: int | None, device: torch.device
    ) -> tuple[torch.Tensor, tuple[Windows, Windows] | None]:
        """RoPE table (L, D_head/2, 2) and Swin (even, odd) layer windows (None = full attention) of a token layout.

        Every step of a sampler (and both CFG branches) has the same layout, so the last one is kept and reused:
        the key holds the grid, the semantic positions' values, the window and the device."""
        sem_key = None if semantic_pos is None else (tuple(semantic_pos.shape), semantic_pos.cpu().numpy().tobytes())
        key = (grid, sem_key, window, device)
        cached = self.__dict__.get("_positions_cache")  # not a buffer: never in the state dict
        if cached is not None and cached[0] == key:
            return cached[1]
        cfg = self.config
        pos = grid_positions(*grid, device=device)  # (Lx, 3)
        if semantic_pos is not None:
            pos = torch.cat([pos, semantic_pos.to(pos)], dim=0)  # (Lx + Ls, 3)
        rope = rope_table(pos, cfg.head_dim, cfg.rope_theta)  # (L, D_head/2, 2)
        parts = None
        if window is not None:
            parts = layer_partitions(pos[:, 0], window_in_tokens(window, cfg.patch_size[0]))
        self.__dict__["_positions_cache"] = (key, (rope, parts))
        return rope, parts

    # --- forward --------------------------------------------------------------------------------------------

    def forward(
        self,
        x: torch.Tensor,
        timestep: torch.Tensor,
        context: torch.Tensor,
        semantic: torch.Tensor | None = None,
        semantic_pos: torch.Tensor | None = None,
        window: int | None = None,
    ) -> torch.Tensor:
        """Velocity for x.

        x (B, C, T, H, W) noisy input; timestep (B,) in [0, 1000]; context (B, Lt, text_dim);
        semantic (B, c, Ts, Hs, Ws) in-context features with semantic_pos (Ts·Hs·Ws, 3) positions in this
        model's token units (see `semantic_positions`). `window`: None for full self-attention, or Swin attention
        in windows of that many latent frames, shifted by half a window on odd layers (see `swin.py`).
        Returns (B, out_dim, T, H, W).
        """
        grid = self._check_inputs(x, semantic, semantic_pos)
        tokens = self.embed(x, grid, semantic)  # (B, L, D): latent tokens, then semantic tokens
        rope, parts = self._positions(grid, semantic_pos if semantic is not None else None, window, x.device)
        e = self.time_embedding(sinusoidal_embedding(self.config.freq_dim, timestep).to(tokens))  # (B, D)
        if self.config.text_pool:
            e = e + self.text_pool(pooled_text(context.to(tokens)))
        e6 = rearrange(self.time_projection(e), "b (k d) -> b k d", k=6)  # (B, 6, D)
        ctx = self.text_embedding(context.to(tokens))  # (B, Lt, D)
        for i, block in enumerate(self.run_blocks()):
            args = (tokens, e6, ctx, rope, parts[i % 2] if parts else None)
            if self.gradient_checkpointing and torch.is_grad_enabled():
                tokens = torch.utils.checkpoint.checkpoint(block, *args, use_reentrant=False)
            else:
                tokens = block(*args)
        n_latent = math.prod(grid)
        out = torch.cat([self.head(tokens[:, sl], e) for sl in chunks(n_latent)], dim=1)  # latent tokens only
        return self.unpatchify(out, grid)

    def _check_inputs(
        self, x: torch.Tensor, semantic: torch.Tensor | None, semantic_pos: torch.Tensor | None
    ) -> tuple[int, int, int]:
        """The token grid of x, after refusing inputs this model cannot take."""
        cfg = self.config
        grid = self.latent_grid(x.shape)
        if tuple(g * p for g, p in zip(grid, cfg.patch_size, strict=True)) != tuple(x.shape[2:]):
            raise ValueError(f"latent: size {tuple(x.shape[2:])} is not a multiple of the patch size {cfg.patch_size}")
        if semantic is not None:
            if not cfg.semantic_dim:
                raise ValueError("semantic: this model takes no semantic tokens (semantic_dim = 0)")
            if semantic.shape[1] != cfg.semantic_dim:
                raise ValueError(f"semantic: the model expects {cfg.semantic_dim} channels, got {semantic.shape[1]}")
            n_sem = semantic[0, 0].numel()
            if semantic_pos is None or semantic_pos.shape[0] != n_sem:
                raise ValueError(f"semantic_pos: expected one position per semantic token ({n_sem})")
        return grid

    def embed(self, x: torch.Tensor, grid: tuple[int, int, int], semantic: torch.Tensor | None) -> torch.Tensor:
        """x (B, C, T, H, W) and semantic (B, c, Ts, Hs, Ws) -> tokens (B, Lx + Ls, D). The patch embedding runs
        in fp32 (as Wan's) a few token frames at a time, so no full-size fp32 copy of x exists."""
        gt, gh, gw = grid
        n_latent, per_t, pt = gt * gh * gw, gh * gw, self.config.patch_size[0]
        n_sem = 0 if semantic is None else semantic[0, 0].numel()
        tokens = x.new_empty(x.shape[0], n_latent + n_sem, self.config.dim)  # (B, L, D)
        step = max(1, CHUNK_TOKENS // per_t)  # token frames embedded at once
        for t0 in range(0, gt, step):
            t1 = min(t0 + step, gt)
            part = self.patch_embedding(x[:, :, t0 * pt : t1 * pt].float()).to(x.dtype)  # (B, D, t, h, w)
            tokens[:, t0 * per_t : t1 * per_t] = rearrange(part, "b d t h w -> b (t h w) d")
        if semantic is not None:
            sem = rearrange(semantic.to(tokens), "b c t h w -> b (t h w) c")  # (B, Ls, c)
            tokens[:, n_latent:] = self.semantic_embedding(sem)
        return tokens

    def unpatchify(self, out: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        """(B, Lx, prod(patch)·out_dim) head outputs -> (B, out_dim, T, H, W)."""
        (gt, gh, gw), (pt, ph, pw) = grid, self.config.patch_size
        return rearrange(
            out, "b (t h w) (pt ph pw c) -> b c (t pt) (h ph) (w pw)", t=gt, h=gh, w=gw, pt=pt, ph=ph, pw=pw
        )


def compile_blocks(model: SemanticGenDiT, **options) -> SemanticGenDiT:
    """Opt-in `torch.compile` of every block, in place (state-dict keys unchanged). The first forward pass compiles
    (tens of seconds on a CPU, once per input shape); it pays off over many sampling steps of one shape. `options`
    go to `torch.compile` (e.g. `mode="max-autotune"`)."""
    for block in model.blocks:
        block.compile(**options)
    return model


def latent_time(frame: torch.Tensor, temporal_compression: int = 4) -> torch.Tensor:
    """Source-frame time -> latent-frame position for Wan's causal VAE: latent k ≥ 1 holds frames
    4k-3 … 4k (centre 4k - 1.5), latent 0 holds frame 0."""
    return ((frame + (temporal_compression - 1) / 2) / temporal_compression).clamp_min(0)


def semantic_positions(
    step_bounds: Sequence[float],
    grid: tuple[int, int],
    latent_grid: tuple[int, int, int],
    temporal_compression: int = 4,
) -> torch.Tensor:
    """Positions (Ts·Hs·Ws, 3), in latent-token units, of semantic tokens on a (Ts, Hs, Ws) grid.

    Step t covers source frames [bounds[t], bounds[t+1]) and sits at the latent time of that span's centre
    frame; each semantic cell sits at the centre of the area it covers on the latent-token grid.
    """
    hs, ws = grid
    _, gh, gw = latent_grid
    bounds = torch.tensor(step_bounds, dtype=torch.float64)
    t = latent_time((bounds[:-1] + bounds[1:] - 1) / 2, temporal_compression)  # (Ts,)
    y = (torch.arange(hs, dtype=torch.float64) + 0.5) * gh / hs - 0.5
    x = (torch.arange(ws, dtype=torch.float64) + 0.5) * gw / ws - 0.5
    grid_t, grid_y, grid_x = torch.meshgrid(t, y, x, indexing="ij")
    return torch.stack([grid_t, grid_y, grid_x], dim=-1).reshape(-1, 3).float()


def init_weights(model: SemanticGenDiT, seed: int = 0) -> SemanticGenDiT:
    """Deterministic init for training from scratch (Wan2.1's scheme; zero output head, small modulation)."""
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        with torch.no_grad():
            if name.endswith("modulation"):
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(model.config.dim))
            elif p.ndim >= 2:
                fan_in = math.prod(p.shape[1:])
                p.copy_(torch.randn(p.shape, generator=g) * math.sqrt(1.0 / fan_in))
            elif name.endswith("bias"):
                p.zero_()
            else:
                p.fill_(1.0)  # norm weights
    with torch.no_grad():
        model.head.head.weight.zero_()
        model.head.head.bias.zero_()
    return model
