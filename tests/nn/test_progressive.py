"""ProGAN's layers: equalised learning rate scales, pixel norm, minibatch std, the growth schedule, and the
growing networks' shapes and fade-in continuity (a level faded in at alpha 0 is the level below)."""

import math

import pytest
import torch
import torch.nn.functional as F

from condgen.errors import ConfigError
from condgen.nn.progressive import (
    EqualizedConv2d,
    EqualizedLinear,
    GrowthStage,
    MinibatchStdDev,
    PixelNorm,
    ProgressiveDiscriminator,
    ProgressiveGenerator,
    levels_for,
    resize_to_level,
    stage_at,
)

CHANNELS = [8, 8, 4]  # 4, 8 and 16 px


def test_equalized_layers_scale_unit_weights_by_he_constant_at_run_time():
    torch.manual_seed(0)
    linear = EqualizedLinear(400, 300)
    assert abs(linear.weight.std().item() - 1) < 0.01 and torch.all(linear.bias == 0)
    assert linear.scale == pytest.approx(math.sqrt(2 / 400))
    x = torch.randn(64, 400)
    assert torch.allclose(linear(x), F.linear(x, linear.weight * math.sqrt(2 / 400)), atol=1e-5)
    # He's scale keeps unit-variance inputs at variance gain² = 2 before the activation
    assert abs(linear(x).var().item() - 2) < 0.15

    conv = EqualizedConv2d(16, 32, 3)
    assert conv.scale == pytest.approx(math.sqrt(2 / (16 * 9)))
    images = torch.randn(8, 16, 12, 12)
    expected = F.conv2d(images, conv.weight * math.sqrt(2 / 144), padding=1)
    assert torch.allclose(conv(images), expected, atol=1e-5) and conv(images).shape == (8, 32, 12, 12)
    assert EqualizedConv2d(16, 3, 1, gain=1.0).scale == pytest.approx(1 / 4)


def test_pixel_norm_gives_every_pixel_unit_mean_square():
    x = 7 * torch.randn(4, 16, 5, 5) + 3
    out = PixelNorm()(x)
    assert torch.allclose(out.pow(2).mean(dim=1), torch.ones(4, 5, 5), atol=1e-5)
    assert torch.allclose(PixelNorm()(0.01 * x), out, atol=1e-4)  # the scale of the input is gone
    assert torch.allclose(PixelNorm()(torch.randn(6, 10)).pow(2).mean(dim=1), torch.ones(6), atol=1e-5)


def test_minibatch_stddev_appends_the_batch_standard_deviation():
    x = torch.randn(6, 3, 4, 4)
    out = MinibatchStdDev(group_size=6)(x)
    assert out.shape == (6, 4, 4, 4) and torch.equal(out[:, :3], x)
    expected = x.std(dim=0, unbiased=False).mean()
    assert torch.allclose(out[:, 3], expected.expand(6, 4, 4), atol=1e-5)
    # groups of 2 out of 4: examples {0, 2} and {1, 3}, as in the authors' code
    x = torch.randn(4, 2, 3, 3)
    grouped = MinibatchStdDev(group_size=2)(x)[:, 2, 0, 0]
    first, second = x[[0, 2]].std(0, unbiased=False).mean(), x[[1, 3]].std(0, unbiased=False).mean()
    assert torch.allclose(grouped, torch.stack([first, second, first, second]), atol=1e-5)
    assert MinibatchStdDev(group_size=4)(torch.randn(6, 2, 3, 3)).shape == (6, 3, 3, 3)  # 4 ∤ 6: one group


@pytest.mark.parametrize("step, stage", [
    (0, (0, 4, 1.0)), (19, (0, 4, 1.0)),             # 4×4 stable for 20 steps
    (20, (1, 8, 0.0)), (25, (1, 8, 0.5)), (29, (1, 8, 0.9)),  # 8×8 fades in over 10
    (30, (1, 8, 1.0)), (49, (1, 8, 1.0)),            # then is stable for 20
    (50, (2, 16, 0.0)), (55, (2, 16, 0.5)), (60, (2, 16, 1.0)), (10**6, (2, 16, 1.0)),  # the last level stays
])
def test_stage_schedule_at_chosen_steps(step, stage):
    got = stage_at(step, levels=3, fade_steps=10, stable_steps=20)
    assert isinstance(got, GrowthStage) and (got.level, got.resolution) == stage[:2]
    assert got.alpha == pytest.approx(stage[2])


def test_one_level_never_grows_and_sides_must_double_from_four():
    assert stage_at(500, levels=1, fade_steps=1, stable_steps=1) == (0, 4, 1.0)
    assert [levels_for(side) for side in (4, 8, 32, 128)] == [1, 2, 4, 6]
    for side in (2, 24, 28):
        with pytest.raises(ConfigError, match="4, 8, 16, 32"):
            levels_for(side)


@pytest.mark.parametrize("level", [0, 1, 2])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_shapes_at_each_stage(level, alpha):
    torch.manual_seed(0)
    generator, discriminator = ProgressiveGenerator(6, CHANNELS, 3), ProgressiveDiscriminator(CHANNELS, 3)
    images = generator(torch.randn(5, 6), level, alpha)
    side = 4 << level
    assert images.shape == (5, 3, side, side)
    assert discriminator(images, level, alpha).shape == (5,)


@pytest.mark.parametrize("level", [1, 2])
def test_a_level_fading_in_at_alpha_zero_is_the_level_below(level):
    torch.manual_seed(0)
    generator, discriminator = ProgressiveGenerator(6, CHANNELS, 3), ProgressiveDiscriminator(CHANNELS, 3)
    z = torch.randn(4, 6)
    below = F.interpolate(generator(z, level - 1), scale_factor=2, mode="nearest")
    assert torch.allclose(generator(z, level, 0.0), below, atol=1e-6)
    assert not torch.allclose(generator(z, level, 0.5), below, atol=1e-3)
    x = torch.randn(4, 3, 4 << level, 4 << level)
    assert torch.allclose(discriminator(x, level, 0.0), discriminator(F.avg_pool2d(x, 2), level - 1), atol=1e-5)


def test_real_images_are_pooled_to_the_stage_and_blended_during_fade_in():
    x = torch.randn(2, 3, 16, 16)
    eight = resize_to_level(x, 8)
    assert torch.allclose(eight[:, :, 0, 0], x[:, :, :2, :2].mean(dim=(2, 3)), atol=1e-6)
    assert torch.allclose(resize_to_level(x, 4), F.avg_pool2d(x, 4), atol=1e-6)
    coarse = F.interpolate(F.avg_pool2d(eight, 2), scale_factor=2, mode="nearest")
    assert torch.allclose(resize_to_level(x, 8, 0.0), coarse, atol=1e-6)
    assert torch.allclose(resize_to_level(x, 8, 0.25), 0.75 * coarse + 0.25 * eight, atol=1e-6)
    assert torch.equal(resize_to_level(x, 16), x)
