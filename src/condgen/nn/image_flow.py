"""Invertible layers for normalising flows on images, and the multi-scale flows of RealNVP and Glow.

Every layer follows the convention of :mod:`condgen.nn.coupling` (that of ``nflows``)::

    y, logabsdet = layer(x)           # x [B, C, H, W] -> y, log|det dy/dx| [B]
    x, logabsdet = layer.inverse(y)   # the exact inverse, log|det dx/dy| [B] = minus the forward one

Layers: :class:`Squeeze` (space to channels, ``[C, H, W] → [4C, H/2, W/2]``), :class:`ActNorm` (per-channel
affine map initialised from the first training batch), :class:`InvertibleConv1x1` (Glow's learnt channel
mixing, LU-parametrised), and couplings — :class:`~condgen.nn.coupling.AffineCoupling` with a small conv net
(:func:`conv_coupling_net`) and a checkerboard (:func:`checkerboard_image_mask`) or channel
(:func:`channel_mask`) mask. :class:`MultiScaleFlow` runs levels of them, factoring out half of the channels
after every level but the last (Dinh et al., 2017): the latent is all factored-out parts concatenated,
``C·H·W`` numbers. The log-determinant sums every layer of every level.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from condgen.errors import ConfigError
from condgen.nn.coupling import AffineCoupling, FlowSequence, LULinear

Shape = tuple[int, int, int]


class Squeeze(nn.Module):
    """``[B, C, H, W] → [B, 4C, H/2, W/2]``: each 2×2 block of pixels becomes 4 channels (a permutation,
    log-det 0). H and W must be even."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return F.pixel_unshuffle(x, 2), x.new_zeros(x.shape[0])

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return F.pixel_shuffle(y, 2), y.new_zeros(y.shape[0])

    @staticmethod
    def output_shape(shape: Shape) -> Shape:
        channels, height, width = shape
        return 4 * channels, height // 2, width // 2


class ActNorm(nn.Module):
    """``y = (x + shift) · exp(log_scale)`` per channel (Kingma & Dhariwal, 2018); log|det| = H·W·Σ log_scale.

    The first forward pass in training mode sets ``shift`` and ``log_scale`` so that that batch has zero
    mean and unit variance per channel. The ``initialized`` buffer is part of the state dict, so a saved,
    loaded or resumed model keeps its initialisation instead of redoing it on another batch.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.shift = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialized", torch.zeros(()))

    @torch.no_grad()
    def initialize(self, x: torch.Tensor) -> None:
        """Set the parameters from ``x [B, C, H, W]`` so that ``forward(x)`` is standardised per channel."""
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        std = x.std(dim=(0, 2, 3), keepdim=True, unbiased=False)
        self.shift.copy_(-mean)
        self.log_scale.copy_(-torch.log(std + 1e-6))
        self.initialized.fill_(1.0)

    def _logabsdet(self, x: torch.Tensor) -> torch.Tensor:
        return (x.shape[2] * x.shape[3] * self.log_scale.sum()).expand(x.shape[0])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.training and not self.initialized:
            self.initialize(x)
        return (x + self.shift) * torch.exp(self.log_scale), self._logabsdet(x)

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return y * torch.exp(-self.log_scale) - self.shift, -self._logabsdet(y)


class InvertibleConv1x1(LULinear):
    """Glow's invertible 1×1 convolution: ``y[:, :, i, j] = W x[:, :, i, j]`` with ``W = P·L·(U + diag(exp s))·S``.

    ``L``, ``U`` and ``s`` are :class:`~condgen.nn.coupling.LULinear`'s; the fixed permutation ``P`` and
    signs ``S`` come from the LU decomposition of a random rotation, where ``W`` starts (as in Glow), so the
    couplings that follow see mixed channels from the first step. log|det| = H·W·Σ s.
    """

    def __init__(self, channels: int):
        super().__init__(channels)
        rotation = torch.linalg.qr(torch.randn(channels, channels))[0]
        permutation, lower, upper = torch.linalg.lu(rotation)
        diagonal = torch.diagonal(upper)
        self.register_buffer("permutation", permutation)
        self.register_buffer("sign", torch.sign(diagonal))
        with torch.no_grad():
            self.lower.copy_(lower)
            # U_full = (U' + diag|d|)·S with U' = strict-upper(U_full)·S, since S·S = I
            self.upper.copy_(torch.triu(upper, diagonal=1) * self.sign)
            self.log_scale.copy_(diagonal.abs().log())

    def weight(self) -> torch.Tensor:
        return self.permutation @ super().weight() * self.sign  # "* sign" scales columns: · diag(sign)

    def _logabsdet(self, x: torch.Tensor) -> torch.Tensor:
        return (x.shape[2] * x.shape[3] * self.log_scale.sum()).expand(x.shape[0])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return F.conv2d(x, self.weight()[:, :, None, None]), self._logabsdet(x)

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inverse_weight = torch.linalg.inv(self.weight())
        return F.conv2d(y, inverse_weight[:, :, None, None]), -self._logabsdet(y)


def checkerboard_image_mask(height: int, width: int, parity: int) -> torch.Tensor:
    """Float mask ``[1, H, W]``: 1 where ``(i + j + parity)`` is even (those pixels pass unchanged)."""
    rows, cols = torch.arange(height)[:, None], torch.arange(width)[None, :]
    return ((rows + cols + parity) % 2 == 0).float().unsqueeze(0)


def channel_mask(channels: int, parity: int) -> torch.Tensor:
    """Float mask ``[C, 1, 1]``: 1 on the first half of the channels (parity 0) or the second (parity 1)."""
    first = (torch.arange(channels) < channels // 2).float()
    return (first if parity == 0 else 1 - first).reshape(channels, 1, 1)


def conv_coupling_net(channels: int, hidden: int) -> nn.Sequential:
    """Conv3×3(C→h), ReLU, Conv1×1(h→h), ReLU, Conv3×3(h→2C): the scale and shift of a coupling,
    ``[B, C, H, W] → [B, 2C, H, W]``. The last convolution starts at zero, so a fresh coupling is the identity."""
    last = nn.Conv2d(hidden, 2 * channels, 3, padding=1)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(nn.Conv2d(channels, hidden, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(hidden, hidden, 1), nn.ReLU(), last)


class MultiScaleFlow(nn.Module):
    """Levels of image flow layers; after each level but the last, the first half of the channels is factored
    out (it is part of the latent and goes through no further layer).

    ``forward(x [B, *input_shape]) → (z [B, C·H·W], logabsdet [B])``: ``z`` concatenates the factored-out parts
    in level order, then the last level's output, each flattened. ``inverse(z) → (x, logabsdet)``.
    """

    def __init__(self, levels: Sequence[FlowSequence], input_shape: Sequence[int]):
        super().__init__()
        self.levels = nn.ModuleList(levels)
        self.input_shape: Shape = tuple(int(d) for d in input_shape)  # type: ignore[assignment]
        self.part_shapes: list[Shape] = []  # the shape of each factored-out part, then of the last output
        shape = self.input_shape
        for index, level in enumerate(self.levels):
            for layer in level.transforms:
                if isinstance(layer, Squeeze):
                    shape = Squeeze.output_shape(shape)
            if index < len(self.levels) - 1:
                factored = shape[0] // 2
                self.part_shapes.append((factored, *shape[1:]))
                shape = (shape[0] - factored, *shape[1:])
        self.part_shapes.append(shape)

    @property
    def latent_dim(self) -> int:
        return sum(c * h * w for c, h, w in self.part_shapes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        total = x.new_zeros(x.shape[0])
        parts = []
        for index, level in enumerate(self.levels):
            x, logabsdet = level(x)
            total = total + logabsdet
            if index < len(self.levels) - 1:
                factored = self.part_shapes[index][0]
                parts.append(x[:, :factored].flatten(1))
                x = x[:, factored:]
        parts.append(x.flatten(1))
        return torch.cat(parts, dim=1), total

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ConfigError(f"latents must be [n, {self.latent_dim}], got {list(z.shape)}")
        batch = z.shape[0]
        pieces = z.split([c * h * w for c, h, w in self.part_shapes], dim=1)
        x = pieces[-1].reshape(batch, *self.part_shapes[-1])
        total = z.new_zeros(batch)
        for index in reversed(range(len(self.levels))):
            if index < len(self.levels) - 1:
                x = torch.cat([pieces[index].reshape(batch, *self.part_shapes[index]), x], dim=1)
            x, logabsdet = self.levels[index].inverse(x)
            total = total + logabsdet
        return x, total


def check_image_shape(shape: Sequence[int], halvings: int, owner: str) -> None:
    """Raise :class:`ConfigError` unless ``shape`` is ``[C, H, W]`` with H and W divisible by ``2**halvings``."""
    if len(shape) != 3:
        raise ConfigError(f"{owner} models images [C, H, W], got data of shape {list(shape)}")
    if halvings and any(int(side) % 2**halvings for side in shape[1:]):
        raise ConfigError(f"{owner}: image sides {list(shape[1:])} must be divisible by {2**halvings} for "
                          f"{halvings} squeezes; choose another -o n_levels or --size")


def realnvp_flow(shape: Sequence[int], n_levels: int, steps_per_level: int, hidden: int) -> MultiScaleFlow:
    """RealNVP's multi-scale architecture (Dinh et al., 2017) for images ``shape [C, H, W]``.

    Each level but the last: ``steps_per_level`` checkerboard couplings, a squeeze, ``steps_per_level`` channel
    couplings, then half of the channels factored out; the last level: ``steps_per_level + 1`` checkerboard
    couplings. Masks alternate parity. An :class:`ActNorm` precedes each coupling, standing in for RealNVP's
    batch normalisation (which would make the map depend on the batch).
    """
    check_image_shape(shape, n_levels - 1, "realnvp")
    channels, height, width = (int(d) for d in shape)
    levels = []
    for index in range(n_levels):
        last = index == n_levels - 1
        layers: list[nn.Module] = []
        for step in range(steps_per_level + (1 if last else 0)):
            layers += [ActNorm(channels), AffineCoupling(checkerboard_image_mask(height, width, step % 2),
                                                         net=conv_coupling_net(channels, hidden))]
        if not last:
            layers.append(Squeeze())
            channels, height, width = 4 * channels, height // 2, width // 2
            for step in range(steps_per_level):
                layers += [ActNorm(channels), AffineCoupling(channel_mask(channels, step % 2),
                                                             net=conv_coupling_net(channels, hidden))]
            channels -= channels // 2
        levels.append(FlowSequence(layers))
    return MultiScaleFlow(levels, shape)


def glow_flow(shape: Sequence[int], n_levels: int, steps_per_level: int, hidden: int) -> MultiScaleFlow:
    """Glow's multi-scale architecture (Kingma & Dhariwal, 2018) for images ``shape [C, H, W]``.

    Each level: a squeeze, then ``steps_per_level`` steps of ActNorm → invertible 1×1 convolution → affine
    coupling on the second half of the channels given the first; half of the channels is factored out after
    every level but the last.
    """
    check_image_shape(shape, n_levels, "glow")
    channels = int(shape[0])
    levels = []
    for index in range(n_levels):
        layers: list[nn.Module] = [Squeeze()]
        channels *= 4
        for _ in range(steps_per_level):
            layers += [ActNorm(channels), InvertibleConv1x1(channels),
                       AffineCoupling(channel_mask(channels, 0), net=conv_coupling_net(channels, hidden))]
        levels.append(FlowSequence(layers))
        if index < n_levels - 1:
            channels -= channels // 2
    return MultiScaleFlow(levels, shape)
