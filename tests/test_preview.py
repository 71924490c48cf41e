import torch

from semanticgen.features import SemanticVideo
from semanticgen.preview import pca_rgb, preview_frames


def test_pca_rgb_recovers_dominant_direction():
    torch.manual_seed(0)
    signal = torch.linspace(-1, 1, 24).view(1, 1, 2, 3, 4)
    direction = torch.randn(16, 1, 1, 1, 1)
    feats = direction.view(1, 16, 1, 1, 1) * signal + 0.01 * torch.randn(1, 16, 2, 3, 4)
    rgb = pca_rgb(feats)
    assert rgb.shape == (1, 2, 3, 4, 3) and rgb.min() >= 0 and rgb.max() <= 1
    corr = torch.corrcoef(torch.stack([rgb[..., 0].flatten(), signal.flatten()]))[0, 1]
    assert abs(corr) > 0.99


def test_preview_plays_in_sync_with_the_video():
    sem = SemanticVideo(
        torch.randn(1, 8, 3, 2, 2),
        video_fps=8.0,
        video_frames=20,
        video_size=(32, 48),
        frame_indices=(0, 3, 6, 10, 13, 16),
    )
    frames = preview_frames(sem)
    assert frames.shape == (20, 32, 48, 3)
    # steps start at sampled frames 0, 6, 13: frames inside one step are identical, across steps they differ
    assert torch.equal(frames[0], frames[5]) and not torch.equal(frames[5], frames[6])
    assert torch.equal(frames[6], frames[12]) and not torch.equal(frames[12], frames[13])
    assert torch.equal(frames[13], frames[19])


def test_two_channel_features_still_preview():
    sem = SemanticVideo(torch.randn(1, 2, 1, 2, 2), 8.0, 2, (16, 16), (0, 1))
    assert preview_frames(sem).shape == (2, 16, 16, 3)
