"""Losses: finite, training exactly their declared group, and equal to hand-computed values."""

import math

import pytest
import torch
from torch import nn

from condgen.models import ARCHITECTURE_MODEL_NAMES, Batch, build_model
from condgen.models.gan_losses import discriminator_loss, generator_loss, gradient_penalty
from condgen.models.vae import gaussian_kl, kl_weight
from condgen.models.wae import imq_mmd


@pytest.mark.parametrize("name", sorted(ARCHITECTURE_MODEL_NAMES))
def test_each_group_loss_is_finite_and_reaches_only_its_group(name, images, tiny):
    torch.manual_seed(0)
    data = images(n=8, size=16)
    model = build_model(name, data, **tiny)
    batch = Batch(*data.batch(torch.arange(8)))
    groups = model.optimizer_groups()
    all_parameters = {id(p) for p in model.parameters()}
    declared = [id(p) for group in groups.values() for p in group.parameters]
    assert sorted(declared) == sorted(all_parameters)  # every parameter in exactly one group
    assert {group for group, _ in model.step_schedule()} == set(groups)
    for group_name, group in groups.items():
        model.zero_grad(set_to_none=True)
        loss, logs = model.compute_loss(group_name, batch)
        assert loss.ndim == 0 and math.isfinite(loss.item())
        assert all(math.isfinite(value) for value in logs.values())
        loss.backward()
        own = {id(p) for p in group.parameters}
        with_gradient = [p for p in model.parameters() if p.grad is not None and p.grad.abs().sum() > 0]
        # Detached fakes / codes: a discriminator's loss sends nothing into the generator or encoder.
        # (A generator's loss does pass through the discriminator; the engine zeroes those gradients.)
        if group_name in ("discriminator", "latent_discriminator"):
            assert all(id(p) in own for p in with_gradient)
        # Nearly all of the group's tensors get a gradient (a critic's last bias gets none from a
        # Wasserstein or hinge loss: it adds the same constant to real and fake scores).
        assert sum(id(p) in own for p in with_gradient) >= 0.8 * len(own)


def test_discriminator_and_generator_losses_match_hand_values():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 0.5])
    softplus = lambda t: math.log1p(math.exp(t))  # noqa: E731
    expected_ns = (softplus(-2) + softplus(0)) / 2 + (softplus(-1) + softplus(0.5)) / 2
    assert discriminator_loss("ns", real, fake).item() == pytest.approx(expected_ns, rel=1e-6)
    assert generator_loss("ns", fake).item() == pytest.approx((softplus(1) + softplus(-0.5)) / 2, rel=1e-6)
    assert discriminator_loss("ls", real, fake).item() == pytest.approx(0.5 * (1 + 1) / 2 + 0.5 * (1 + 0.25) / 2)
    assert generator_loss("ls", fake).item() == pytest.approx(0.5 * (4 + 0.25) / 2)
    assert discriminator_loss("hinge", real, fake).item() == pytest.approx((0 + 1) / 2 + (0 + 1.5) / 2)
    assert discriminator_loss("wgan", real, fake).item() == pytest.approx(-0.25 - 1.0)
    assert generator_loss("wgan-gp", fake).item() == pytest.approx(0.25)  # −mean(fake)


def test_gradient_penalty_of_a_linear_critic_is_its_slope_minus_one_squared():
    weights = torch.tensor([3.0, 4.0])  # |∇| = 5 everywhere → (5 − 1)² = 16
    critic = lambda x: x @ weights  # noqa: E731
    penalty = gradient_penalty(critic, torch.randn(16, 2), torch.randn(16, 2))
    assert penalty.item() == pytest.approx(16.0)


def test_gradient_penalty_is_evaluated_at_the_interpolates_and_trains_the_critic():
    # critic(x) = ½‖x‖² has ∇ = x; with real == fake every interpolate is that point.
    scale = nn.Parameter(torch.tensor(1.0))
    critic = lambda x: 0.5 * scale * x.pow(2).sum(dim=1)  # noqa: E731
    points = torch.tensor([[3.0, 4.0], [0.0, 0.5]])
    penalty = gradient_penalty(critic, points, points.clone())
    assert penalty.item() == pytest.approx(((5 - 1) ** 2 + (0.5 - 1) ** 2) / 2)
    penalty.backward()  # d/ds mean((s‖x‖ − 1)²) = mean(2(s‖x‖ − 1)‖x‖)
    assert scale.grad.item() == pytest.approx((2 * 4 * 5 + 2 * (-0.5) * 0.5) / 2)


def test_wgan_clipping_bounds_every_critic_weight(images, tiny):
    data = images(n=8, size=16)
    model = build_model("wgan", data, clip_value=0.02, **tiny)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, 1)
    model.after_optimizer_step("discriminator")
    assert all(p.abs().max() <= 0.02 for p in model.discriminator.parameters())
    assert any(p.abs().max() > 0.02 for p in model.generator.parameters())  # the generator is not clipped
    hinge = build_model("hinge-gan", data, **tiny)
    before = [p.clone() for p in hinge.parameters()]
    hinge.after_optimizer_step("discriminator")
    assert all(torch.equal(a, b) for a, b in zip(before, hinge.parameters(), strict=True))


def test_gaussian_kl_matches_the_closed_form():
    mean, log_var = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(4.0)]])
    # ½(μ² + σ² − 1 − log σ²) per dimension: ½·1 + ½(4 − 1 − log 4)
    assert gaussian_kl(mean, log_var).item() == pytest.approx(0.5 + 0.5 * (3 - math.log(4)))
    assert gaussian_kl(torch.zeros(3, 5), torch.zeros(3, 5)).abs().max() == 0


def test_kl_warmup_ramps_linearly_to_beta(images, tiny):
    assert kl_weight(2.0, 0.5, 0, 100) == 0.0
    assert kl_weight(2.0, 0.5, 25, 100) == pytest.approx(1.0)
    assert kl_weight(2.0, 0.5, 80, 100) == 2.0
    assert kl_weight(2.0, 0.0, 0, 100) == 2.0
    model = build_model("beta-vae", images(n=2, size=16), kl_warmup=0.1, **tiny)
    assert model.current_kl_weight == 4.0  # outside the engine: the full objective
    model.set_progress(5, 100)
    assert model.current_kl_weight == pytest.approx(2.0)


def test_imq_mmd_is_small_for_matching_samples_and_large_for_shifted_ones():
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(256, 4, generator=generator), torch.randn(256, 4, generator=generator)
    same, shifted = imq_mmd(a, b).item(), imq_mmd(a + 2.0, b).item()
    assert abs(same) < 0.02 and shifted > 20 * max(abs(same), 1e-3)
    # Hand value for one code and one prior point per side is impossible (n ≥ 2): two of each.
    codes, prior = torch.zeros(2, 1), torch.tensor([[1.0], [1.0]])
    kernel_across = sum(c / (c + 1.0) for c in (2.0 * s for s in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)))
    within = 7.0  # k(a, a') = 1 per scale for identical points
    assert imq_mmd(codes, prior).item() == pytest.approx(2 * within - 2 * kernel_across, rel=1e-6)
