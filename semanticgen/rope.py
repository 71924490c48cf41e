"""3D rotary position embedding (Wan2.1's split of the head dim over t, h, w) at fractional positions.

Positions are in latent-token units. Latent tokens sit on the integer grid; semantic tokens, whose grid does not
line up with it, sit at the fractional centres of the space-time cells they summarise. One table serves both.
"""

from __future__ import annotations

import torch


def axes_dims(head_dim: int) -> tuple[int, int, int]:
    """Wan2.1's split: most of the head for time, equal parts for height and width."""
    d = head_dim
    return d - 4 * (d // 6), 2 * (d // 6), 2 * (d // 6)


def rope_table(positions: torch.Tensor, head_dim: int, theta: float = 10000.0, chunk: int = 65536) -> torch.Tensor:
    """(L, 3) positions -> (L, head_dim / 2, 2) of (cos, sin), one rotation per adjacent channel pair.

    Angles are computed in fp64 (positions × frequencies lose digits in fp32), `chunk` positions at a time so the
    fp64 work stays small next to the fp32 table of a long video."""
    omegas = [
        1.0 / theta ** (torch.arange(0, dim, 2, dtype=torch.float64, device=positions.device) / dim)  # (dim / 2,)
        for dim in axes_dims(head_dim)
    ]
    table = torch.empty(positions.shape[0], head_dim // 2, 2, device=positions.device)
    for start in range(0, positions.shape[0], chunk):
        pos = positions[start : start + chunk].double()
        angle = torch.cat([pos[:, axis, None] * omega for axis, omega in enumerate(omegas)], dim=-1)  # (l, D/2)
        table[start : start + chunk] = torch.stack([angle.cos(), angle.sin()], dim=-1)
    return table


def apply_rope(x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Rotate (B, L, H, D) by a (L, D/2, 2) table (or (B, L, D/2, 2)); math in fp32, result in x's dtype.

    Each channel pair is one complex number and the table one unit complex per pair, so the rotation is a single
    complex multiply (one pass over x instead of the split/multiply/stack of the real form: ~10× faster on CPU;
    equal to fp32 rounding). MPS has no complex kernels: it takes the real form."""
    if x.device.type == "mps":
        return _apply_rope_real(x, table)
    xc = torch.view_as_complex(x.float().unflatten(-1, (-1, 2)).contiguous())  # (B, L, H, D/2)
    rot = torch.view_as_complex(table.contiguous())  # (L, D/2) or (B, L, D/2)
    rot = rot[None, :, None] if rot.ndim == 2 else rot[:, :, None]  # (B|1, L, 1, D/2)
    return torch.view_as_real(xc * rot).flatten(-2).type_as(x)


def _apply_rope_real(x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    xf = x.float().unflatten(-1, (-1, 2))  # (B, L, H, D/2, 2)
    cos, sin = table[..., 0], table[..., 1]
    if table.ndim == 3:
        cos, sin = cos[None], sin[None]
    cos, sin = cos[:, :, None], sin[:, :, None]  # (B, L, 1, D/2)
    x0, x1 = xf[..., 0], xf[..., 1]
    out = torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1)
    return out.flatten(-2).type_as(x)


def grid_positions(t: int, h: int, w: int, device: torch.device | None = None) -> torch.Tensor:
    """Integer (t, h, w) positions of a raster-ordered token grid -> (t·h·w, 3)."""
    axes = [torch.arange(n, dtype=torch.float32, device=device) for n in (t, h, w)]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 3)
