"""DCGAN convolution stacks (Radford et al., 2016) for square images of 16, 32, 64, 128 … pixels.

* :class:`ConvEncoder` — image ``[B, C, S, S]`` → features ``[B, out_features]``: stride-2 4×4
  convolutions halve the side down to 4×4 while channels double from ``base_channels``, then a
  4×4 "valid" convolution gives the output. Batch norm on every layer but the first (as in DCGAN),
  LeakyReLU(0.2). ``batch_norm=False`` for a WGAN-GP critic, whose gradient penalty is per example.
* :class:`ConvDecoder` — latent ``[B, latent_dim]`` → image ``[B, C, S, S]``: the mirror image with
  transposed convolutions, batch norm, ReLU and a ``tanh`` output (images live in ``[-1, 1]``).

Sides that are not a power of two (e.g. 28-px MNIST) work too: the encoder zero-pads its input up
to the next power of two and the decoder crops its output back, so the stacks stay the textbook ones.

``attention_side`` (SAGAN) puts a :class:`~condgen.nn.attention.SelfAttention2d` block on the feature maps
of that side (one of :func:`feature_sides`) in either stack; 0 (the default) leaves the stacks as above.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from condgen.errors import ConfigError
from condgen.nn.attention import SelfAttention2d

MIN_SIDE = 4


def working_side(height: int, width: int) -> int:
    """The power-of-two side (≥ 16) that the conv stacks run at for ``height × width`` images."""
    side = max(height, width, 16)
    return 1 << math.ceil(math.log2(side))


def feature_sides(height: int, width: int) -> list[int]:
    """The sides of the feature maps inside both stacks for ``height × width`` images: 4, 8, … up to half
    the :func:`working_side` (where a self-attention block may sit)."""
    sides, side = [], MIN_SIDE
    while side < working_side(height, width):
        sides.append(side)
        side *= 2
    return sides


def _check_attention_side(attention_side: int, height: int, width: int) -> None:
    if attention_side and attention_side not in feature_sides(height, width):
        raise ConfigError(f"attention at {attention_side}x{attention_side} feature maps: the stacks for "
                          f"{height}x{width} images have sides {feature_sides(height, width)} (0: no attention)")


def dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation: convolution weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, 0.02)
            nn.init.zeros_(layer.bias)


def _image_size(image_size: int | tuple[int, int]) -> tuple[int, int]:
    height, width = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if height < 1 or width < 1:
        raise ConfigError(f"image size must be positive, got {height}x{width}")
    return int(height), int(width)


class ConvEncoder(nn.Module):
    """Image ``[B, channels, H, W]`` (values in ``[-1, 1]``) → ``[B, out_features]``.

    Args:
        channels: image channels (1 grey, 3 RGB).
        image_size: side ``S`` (or ``(H, W)``); stacks run at :func:`working_side`.
        base_channels: channels after the first convolution; doubled at each halving.
        out_features: width of the output (1 for a discriminator, 2·latent for a VAE encoder).
        batch_norm: batch norm after each convolution but the first (off for WGAN-GP critics).
        attention_side: side of the feature maps followed by a self-attention block (0: none).
    """

    def __init__(self, channels: int, image_size: int | tuple[int, int], base_channels: int,
                 out_features: int, batch_norm: bool = True, attention_side: int = 0):
        super().__init__()
        self.height, self.width = _image_size(image_size)
        self.side = working_side(self.height, self.width)
        _check_attention_side(attention_side, self.height, self.width)
        layers: list[nn.Module] = []
        width_in, width_out, side = channels, base_channels, self.side
        while side > MIN_SIDE:
            layers.append(nn.Conv2d(width_in, width_out, 4, 2, 1, bias=not (batch_norm and layers)))
            if batch_norm and len(layers) > 1:
                layers.append(nn.BatchNorm2d(width_out))
            layers.append(nn.LeakyReLU(0.2))
            width_in, width_out, side = width_out, width_out * 2, side // 2
            if side == attention_side:
                layers.append(SelfAttention2d(width_in))
        layers.append(nn.Conv2d(width_in, out_features, MIN_SIDE, 1, 0))
        self.net = nn.Sequential(*layers)
        self.feature_channels = width_in
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.height, self.width):
            raise ConfigError(f"ConvEncoder built for {self.height}x{self.width} images, got {tuple(x.shape[-2:])}")
        pad_h, pad_w = self.side - self.height, self.side - self.width
        if pad_h or pad_w:
            x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        return self.net(x).flatten(1)


class ConvDecoder(nn.Module):
    """Latent ``[B, latent_dim]`` → image ``[B, channels, H, W]``.

    Args:
        latent_dim: width of the input vector (latent, or latent + condition for conditional models).
        channels, image_size, base_channels: as in :class:`ConvEncoder` (mirrored).
        output_activation: ``"tanh"`` for images in ``[-1, 1]``; ``None`` returns raw values
            (e.g. Bernoulli logits).
        attention_side: side of the feature maps followed by a self-attention block (0: none).
    """

    def __init__(self, latent_dim: int, channels: int, image_size: int | tuple[int, int], base_channels: int,
                 output_activation: str | None = "tanh", attention_side: int = 0):
        super().__init__()
        if output_activation not in ("tanh", None):
            raise ConfigError(f"ConvDecoder output_activation must be 'tanh' or None, got {output_activation!r}")
        self.height, self.width = _image_size(image_size)
        self.side = working_side(self.height, self.width)
        _check_attention_side(attention_side, self.height, self.width)
        halvings = int(math.log2(self.side // MIN_SIDE))
        width = base_channels * 2 ** (halvings - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, width, MIN_SIDE, 1, 0, bias=False),
                                   nn.BatchNorm2d(width), nn.ReLU()]
        side = MIN_SIDE
        for _ in range(halvings - 1):
            if side == attention_side:
                layers.append(SelfAttention2d(width))
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2),
                       nn.ReLU()]
            width, side = width // 2, side * 2
        if side == attention_side:
            layers.append(SelfAttention2d(width))
        layers.append(nn.ConvTranspose2d(width, channels, 4, 2, 1))
        if output_activation == "tanh":
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        image = self.net(z[:, :, None, None])
        top, left = (self.side - self.height) // 2, (self.side - self.width) // 2
        return image[:, :, top:top + self.height, left:left + self.width]
