"""Layers of progressively grown GANs (ProGAN, Karras et al., 2018) and the growth schedule.

* Equalised learning rate: :class:`EqualizedLinear` / :class:`EqualizedConv2d` store weights drawn from
  N(0, 1) and multiply them at run time by He's constant ``gain / √fan_in``. The effective weights then
  have He's scale, while Adam — whose steps do not depend on a gradient's scale — moves every layer at the
  same relative speed.
* :class:`PixelNorm` normalises each pixel's feature vector to unit mean square (the generator's
  replacement for batch norm); :class:`MinibatchStdDev` appends the batch's standard deviation as one
  feature map, so the discriminator can see a lack of variety.
* :class:`ProgressiveGenerator` / :class:`ProgressiveDiscriminator` hold the blocks of *every* resolution
  from 4×4 up from the start (the state dict never changes shape) and run only those of the current
  ``level`` (0: 4×4, 1: 8×8, …), fading the newest one in with weight ``alpha`` over an upsampled
  (generator) or downsampled (discriminator) path through the previous level's RGB layer.
* :func:`stage_at` is the growth schedule, a pure function of the global step, so a resumed run needs
  nothing but the step to be back on it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from condgen.errors import ConfigError

FIRST_SIDE = 4  # the resolution growth starts at
HE_GAIN = math.sqrt(2.0)  # for layers followed by a leaky ReLU


class GrowthStage(NamedTuple):
    """Where growth is at one step: ``level`` (0 = 4×4), its ``resolution`` (side in pixels) and the
    fade-in weight ``alpha`` of that level's newest blocks (1 once they are stable)."""

    level: int
    resolution: int
    alpha: float


def levels_for(side: int) -> int:
    """How many levels reach images of ``side`` pixels (4 → 1, 8 → 2, 32 → 4); ConfigError unless
    ``side`` is 4 times a power of two."""
    if side < FIRST_SIDE or side & (side - 1):
        raise ConfigError(f"progan grows from 4×4 by doubling: the image side must be 4, 8, 16, 32, 64 … pixels, "
                          f"got {side} (resize with --size)")
    return int(math.log2(side // FIRST_SIDE)) + 1


def stage_at(step: int, *, levels: int, fade_steps: int, stable_steps: int) -> GrowthStage:
    """The growth stage of global step ``step`` (0-based).

    Level 0 trains ``stable_steps`` steps; every further level first fades in for ``fade_steps`` steps
    (``alpha = t / fade_steps`` at its ``t``-th step, rising from 0 towards 1) and then trains
    ``stable_steps`` steps at ``alpha = 1``. The last level (of ``levels``) stays stable for good.
    """
    if step < stable_steps or levels == 1:
        return GrowthStage(0, FIRST_SIDE, 1.0)
    phase_pair = fade_steps + stable_steps
    level, into = divmod(step - stable_steps, phase_pair)
    level += 1
    if level >= levels:
        last = levels - 1
        return GrowthStage(last, FIRST_SIDE << last, 1.0)
    alpha = into / fade_steps if into < fade_steps else 1.0
    return GrowthStage(level, FIRST_SIDE << level, alpha)


class EqualizedLinear(nn.Module):
    """``[B, in_features]`` → ``[B, out_features]`` with weights N(0, 1) × ``gain / √in_features`` at run
    time and biases starting at zero."""

    def __init__(self, in_features: int, out_features: int, *, gain: float = HE_GAIN):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.scale = gain / math.sqrt(in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class EqualizedConv2d(nn.Module):
    """A stride-1, same-padded ``kernel_size`` convolution ``[B, C_in, H, W]`` → ``[B, C_out, H, W]`` with
    weights N(0, 1) × ``gain / √(C_in · k²)`` at run time and biases starting at zero."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, *, gain: float = HE_GAIN):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.scale = gain / math.sqrt(in_channels * kernel_size**2)
        self.padding = kernel_size // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class PixelNorm(nn.Module):
    """``x / √(mean over channels of x² + ε)``: every pixel's (or latent's) feature vector gets unit mean
    square. Works on ``[B, C]`` and ``[B, C, H, W]``."""

    def __init__(self, epsilon: float = 1e-8):
        super().__init__()
        self.epsilon = epsilon

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.epsilon)


class MinibatchStdDev(nn.Module):
    """``[B, C, H, W]`` → ``[B, C + 1, H, W]``: the extra channel is, over each group of ``group_size``
    examples, the standard deviation of every feature across the group averaged over features and
    pixels (one number per group, repeated over its examples' pixels).

    Example ``i`` belongs to group ``i mod (B / group_size)``, as in the authors' code; a batch that
    ``group_size`` does not divide forms one group.
    """

    def __init__(self, group_size: int = 4, epsilon: float = 1e-8):
        super().__init__()
        self.group_size = group_size
        self.epsilon = epsilon

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        group = min(self.group_size, batch)
        if batch % group:
            group = batch
        grouped = x.reshape(group, batch // group, channels, height, width)
        deviation = (grouped.var(dim=0, unbiased=False) + self.epsilon).sqrt()  # [B / group, C, H, W]
        per_group = deviation.mean(dim=(1, 2, 3))  # [B / group]
        feature = per_group.repeat(group).reshape(batch, 1, 1, 1).expand(batch, 1, height, width)
        return torch.cat([x, feature], dim=1)


def to_rgb(in_channels: int, image_channels: int) -> nn.Module:
    """Features ``[B, in_channels, S, S]`` → an image ``[B, image_channels, S, S]`` (a linear 1×1 conv)."""
    return EqualizedConv2d(in_channels, image_channels, 1, gain=1.0)


def from_rgb(image_channels: int, out_channels: int) -> nn.Module:
    """An image ``[B, image_channels, S, S]`` → features ``[B, out_channels, S, S]`` (1×1 conv, leaky ReLU)."""
    return nn.Sequential(EqualizedConv2d(image_channels, out_channels, 1), nn.LeakyReLU(0.2))


def _conv_stack(channels: Sequence[int], *, pixel_norm: bool) -> list[nn.Module]:
    """3×3 equalised convolutions between consecutive ``channels``, each followed by a leaky ReLU (and a
    pixel norm in the generator)."""
    layers: list[nn.Module] = []
    for c_in, c_out in zip(channels[:-1], channels[1:], strict=True):
        layers += [EqualizedConv2d(c_in, c_out), nn.LeakyReLU(0.2)] + ([PixelNorm()] if pixel_norm else [])
    return layers


class LatentToFeatures(nn.Module):
    """The generator's 4×4 block: ``z [B, latent_dim]`` → pixel norm → dense → ``[B, C, 4, 4]`` → leaky ReLU,
    pixel norm → 3×3 conv, leaky ReLU, pixel norm."""

    def __init__(self, latent_dim: int, channels: int):
        super().__init__()
        self.channels = channels
        # gain √2 / 4 as the authors' code: the dense layer feeds 16 pixels
        self.dense = nn.Sequential(PixelNorm(), EqualizedLinear(latent_dim, channels * 16, gain=HE_GAIN / 4))
        self.convs = nn.Sequential(nn.LeakyReLU(0.2), PixelNorm(), *_conv_stack([channels, channels], pixel_norm=True))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.convs(self.dense(z).reshape(z.shape[0], self.channels, FIRST_SIDE, FIRST_SIDE))


class ProgressiveGenerator(nn.Module):
    """``z [B, latent_dim]`` → images ``[B, image_channels, S, S]`` with ``S = 4 · 2^level``.

    ``channels[i]`` is the width of level ``i``'s blocks (``len(channels)`` levels in all). Each level
    above 0 doubles the side (nearest neighbour) and applies two 3×3 convolutions.
    """

    def __init__(self, latent_dim: int, channels: Sequence[int], image_channels: int):
        super().__init__()
        blocks: list[nn.Module] = [LatentToFeatures(latent_dim, channels[0])]
        for c_in, c_out in zip(channels[:-1], channels[1:], strict=True):
            blocks.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                        *_conv_stack([c_in, c_out, c_out], pixel_norm=True)))
        self.blocks = nn.ModuleList(blocks)
        self.to_rgb = nn.ModuleList(to_rgb(c, image_channels) for c in channels)

    def forward(self, z: torch.Tensor, level: int, alpha: float = 1.0) -> torch.Tensor:
        """Images at ``level``'s resolution; while ``alpha < 1`` a blend ``(1 − α)·up(previous) + α·new``."""
        features = self.blocks[0](z)
        previous = features
        for index in range(1, level + 1):
            previous, features = features, self.blocks[index](features)
        image = self.to_rgb[level](features)
        if level == 0 or alpha >= 1:
            return image
        skip = F.interpolate(self.to_rgb[level - 1](previous), scale_factor=2, mode="nearest")
        return torch.lerp(skip, image, alpha)


class ProgressiveDiscriminator(nn.Module):
    """Images ``[B, image_channels, S, S]`` with ``S = 4 · 2^level`` → scores ``[B]``.

    Each level above 0 applies two 3×3 convolutions and halves the side (average pooling); at 4×4 come
    the minibatch standard deviation, a 3×3 convolution and two dense layers.
    """

    def __init__(self, channels: Sequence[int], image_channels: int, *, group_size: int = 4):
        super().__init__()
        last = channels[0]
        blocks: list[nn.Module] = [nn.Sequential(
            MinibatchStdDev(group_size), *_conv_stack([last + 1, last], pixel_norm=False), nn.Flatten(),
            EqualizedLinear(last * 16, last), nn.LeakyReLU(0.2), EqualizedLinear(last, 1, gain=1.0))]
        for c_out, c_in in zip(channels[:-1], channels[1:], strict=True):
            blocks.append(nn.Sequential(*_conv_stack([c_in, c_in, c_out], pixel_norm=False), nn.AvgPool2d(2)))
        self.blocks = nn.ModuleList(blocks)
        self.from_rgb = nn.ModuleList(from_rgb(image_channels, c) for c in channels)

    def forward(self, x: torch.Tensor, level: int, alpha: float = 1.0) -> torch.Tensor:
        """Scores of images at ``level``'s resolution; while ``alpha < 1`` the newest block's features are
        blended with those of the half-size image through the previous level's ``from_rgb``."""
        features = self.from_rgb[level](x)
        if level > 0:
            features = self.blocks[level](features)
            if alpha < 1:
                skip = self.from_rgb[level - 1](F.avg_pool2d(x, 2))
                features = torch.lerp(skip, features, alpha)
            for index in range(level - 1, 0, -1):
                features = self.blocks[index](features)
        return self.blocks[0](features).squeeze(1)


def resize_to_level(images: torch.Tensor, side: int, alpha: float = 1.0) -> torch.Tensor:
    """Real images ``[B, C, H, H]`` average-pooled to ``side``; while ``alpha < 1`` blended with their
    half-size version upsampled again, as the generator's output is during a fade-in."""
    if images.shape[-1] != side:
        images = F.adaptive_avg_pool2d(images, side)
    if alpha >= 1 or side == FIRST_SIDE:
        return images
    coarse = F.interpolate(F.avg_pool2d(images, 2), scale_factor=2, mode="nearest")
    return torch.lerp(coarse, images, alpha)
