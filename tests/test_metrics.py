"""Model-free drift metrics: start-vs-end differences of brightness, colour histogram and sharpness."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from semanticgen.metrics import brightness, color_histogram, drift, sharpness


def video(frames: int = 20, size: int = 16, value: float = 0.5) -> torch.Tensor:
    return torch.full((frames, size, size, 3), value)


def checkerboard(size: int = 16) -> torch.Tensor:
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return ((x + y) % 2).float()[..., None].expand(size, size, 3)


def test_a_still_video_does_not_drift():
    v = video() + 0.3 * checkerboard()
    for metric in ("brightness", "histogram", "sharpness"):
        assert drift(v, metric) == pytest.approx(0.0, abs=1e-7)


def test_brightness_drift_compares_the_first_and_last_15_percent():
    v = torch.linspace(0.0, 0.95, 20)[:, None, None, None].expand(20, 8, 8, 3).contiguous()  # a fade
    first, last = v[:3, 0, 0, 0].mean(), v[-3:, 0, 0, 0].mean()  # 15% of 20 frames = 3 at each end
    assert drift(v, "brightness") == pytest.approx((last - first).item(), rel=1e-5)
    assert drift(v, "brightness", fraction=0.5) == pytest.approx(
        (v[10:, 0, 0, 0].mean() - v[:10, 0, 0, 0].mean()).item()
    )
    assert brightness(video(value=0.25)).item() == pytest.approx(0.25)


def test_histogram_drift_is_total_variation_per_channel():
    red, blue = torch.zeros(10, 8, 8, 3), torch.zeros(10, 8, 8, 3)
    red[..., 0], blue[..., 2] = 1.0, 1.0
    v = torch.cat([red, blue])
    assert drift(v, "histogram") == pytest.approx(2 / 3)  # red and blue channels disjoint, green unchanged
    h = color_histogram(v, bins=4)
    assert h.shape == (3, 4) and torch.allclose(h.sum(1), torch.ones(3))
    assert drift(red, "histogram") == 0.0 and drift(v, "brightness") > 0.0


def test_sharpness_falls_when_frames_blur_and_drift_sees_it():
    sharp = checkerboard(16)[None].repeat(10, 1, 1, 1)
    blurred = F.avg_pool2d(sharp.permute(0, 3, 1, 2), 3, stride=1, padding=1).permute(0, 2, 3, 1)
    assert sharpness(sharp) > 10 * sharpness(blurred)
    v = torch.cat([sharp, blurred])
    assert drift(v, "sharpness") == pytest.approx((sharpness(sharp) - sharpness(blurred)).item(), rel=1e-5)
    assert drift(v, lambda f: f.std()) > 0.1  # any statistic of a set of frames


@pytest.mark.parametrize(
    ("frames", "kwargs", "match"),
    [
        (video(), {"metric": "fid"}, "metric: expected one of"),
        (video()[..., 0], {"metric": "brightness"}, r"frames: expected \(T, H, W, 3\)"),
        (video(frames=1), {"metric": "brightness"}, "frames: expected at least 2 frames"),
        (video(), {"metric": "brightness", "fraction": 0.0}, "fraction:"),
    ],
)
def test_bad_input_names_the_input(frames, kwargs, match):
    with pytest.raises(ValueError, match=match):
        drift(frames, **kwargs)
