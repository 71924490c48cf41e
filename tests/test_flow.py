"""Rectified flow: samplers against an exact Gaussian velocity field, CFG, seeds."""

from __future__ import annotations

import pytest
import torch

from semanticgen.flow import cfg_velocity, cpu_noise, flow_loss, noise_semantic, sample, shift_sigma, sigmas

MU = torch.tensor([2.0, -1.0])
SIGMA = torch.tensor([[1.5, 0.6], [0.6, 0.5]])


def gaussian_velocity(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """E[ε - z0 | z_t = x] for z0 ~ N(MU, SIGMA): the exact rectified-flow velocity."""
    t = t[0].double()
    cov = (1 - t) ** 2 * SIGMA.double() + t**2 * torch.eye(2, dtype=torch.float64)
    r = torch.linalg.solve(cov, (x.double() - (1 - t) * MU.double()).T).T  # Cov⁻¹ (x - m_t)
    e_eps = t * r
    e_z0 = MU.double() + (1 - t) * r @ SIGMA.double()
    return (e_eps - e_z0).float()


@pytest.mark.parametrize("sampler,steps", [("euler", 200), ("heun", 20)])
def test_exact_velocity_reproduces_the_target(sampler, steps):
    noise = cpu_noise((20000, 2), seed=0)
    x = sample(gaussian_velocity, noise, sigmas(steps, shift=3.0), sampler)
    torch.testing.assert_close(x.mean(0), MU, atol=0.04, rtol=0)
    torch.testing.assert_close(torch.cov(x.T), SIGMA, atol=0.05, rtol=0)


def test_heun_beats_euler_at_equal_steps():
    noise = cpu_noise((4000, 2), seed=1)
    ref = sample(gaussian_velocity, noise, sigmas(400), "euler")
    err = {s: (sample(gaussian_velocity, noise, sigmas(8), s) - ref).abs().mean() for s in ("euler", "heun")}
    assert err["heun"] < err["euler"] / 4


def test_cfg_scale_one_is_the_conditional_prediction():
    cond = lambda x, s: x * 2  # noqa: E731
    uncond = lambda x, s: x * 0 + 5  # noqa: E731
    x = torch.randn(3, 4)
    assert torch.equal(cfg_velocity(cond, uncond, 1.0)(x, torch.ones(3)), cond(x, None))
    torch.testing.assert_close(cfg_velocity(cond, uncond, 3.0)(x, torch.ones(3)), 5 + 3 * (2 * x - 5))


def test_same_seed_same_result_and_callback_sees_every_step():
    seen = []
    a = sample(gaussian_velocity, cpu_noise((8, 2), 42), sigmas(5), callback=lambda i, x0, x, n: seen.append((i, n)))
    b = sample(gaussian_velocity, cpu_noise((8, 2), 42), sigmas(5))
    assert torch.equal(a, b)
    assert seen == [(i, 5) for i in range(5)]
    assert not torch.equal(cpu_noise((8, 2), 42), cpu_noise((8, 2), 43))


def test_schedule_and_loss():
    s = sigmas(4, shift=1.0)
    torch.testing.assert_close(s, torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0]))
    assert shift_sigma(torch.tensor(0.5), 3.0).item() == pytest.approx(0.75)
    z0, eps = torch.randn(2, 3), torch.randn(2, 3)
    perfect = lambda x, t: eps - z0  # noqa: E731
    assert torch.all(flow_loss(perfect, z0, torch.tensor([0.3, 0.9]), eps) == 0)
    torch.testing.assert_close(noise_semantic(z0, 0.0, eps), z0)
    torch.testing.assert_close(noise_semantic(z0, 1.0, eps), eps)
    with pytest.raises(ValueError, match="sampler"):
        sample(perfect, z0, s, "dpm")
