"""Invertible building blocks for normalising flows: coupling layers, a diagonal scaling, a sequence.

Every transform follows the convention of ``nflows``::

    y, logabsdet = transform(x)           # forward:  x [B, D] -> y [B, D], log|det dy/dx| [B]
    x, logabsdet = transform.inverse(y)   # inverse:  y [B, D] -> x [B, D], log|det dx/dy| [B]

so the inverse's log-determinant is minus the forward one at the matching point. Inputs are
never modified in place.

Coupling layers split the coordinates with a binary ``mask``: masked-in coordinates (mask 1)
pass unchanged and condition a small network; the others are shifted (NICE, additive) or
scaled and shifted (RealNVP, affine). Alternating checkerboard masks let every coordinate be
transformed every second layer.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from condgen.errors import ConfigError


def checkerboard_mask(dim: int, parity: int) -> torch.Tensor:
    """Float mask ``[dim]``: 1 on coordinates ``j`` with ``(j + parity) % 2 == 0`` (they pass unchanged)."""
    return ((torch.arange(dim) + parity) % 2 == 0).float()


def coupling_net(in_features: int, out_features: int, hidden: int, depth: int) -> nn.Sequential:
    """Linear(in→h), LeakyReLU(0.1), (depth−2)×[Linear(h→h), LeakyReLU(0.1)], Linear(h→out).

    The last layer starts at zero so that a freshly built coupling is the identity: training
    starts from the data itself instead of a random warp of it.
    """
    if depth < 2:
        raise ConfigError(f"coupling_net depth must be >= 2, got {depth}")
    layers: list[nn.Module] = [nn.Linear(in_features, hidden), nn.LeakyReLU(0.1)]
    for _ in range(depth - 2):
        layers += [nn.Linear(hidden, hidden), nn.LeakyReLU(0.1)]
    last = nn.Linear(hidden, out_features)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    layers.append(last)
    return nn.Sequential(*layers)


class AdditiveCoupling(nn.Module):
    """NICE coupling: ``y = x + (1 − mask) · t(mask · x)``; volume preserving (log-det 0).

    Args:
        mask: float ``[D]``, 1 = coordinate passes unchanged and feeds ``t``.
        hidden, depth: size of the coupling network ``t: R^D → R^D``.
    """

    def __init__(self, mask: torch.Tensor, hidden: int, depth: int):
        super().__init__()
        self.register_buffer("mask", mask.detach().clone().float())
        dim = mask.numel()
        self.net = coupling_net(dim, dim, hidden, depth)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shift = self.net(x * self.mask) * (1 - self.mask)
        return x + shift, x.new_zeros(x.shape[0])

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # y's masked-in coordinates equal x's, so t sees the same input as in forward.
        shift = self.net(y * self.mask) * (1 - self.mask)
        return y - shift, y.new_zeros(y.shape[0])


class AffineCoupling(nn.Module):
    """RealNVP coupling: ``y = mask·x + (1 − mask)·(x·exp(s) + t)`` with ``s = tanh(·)``.

    ``s`` is bounded to ``[−1, 1]`` (each layer scales a coordinate by at most ``e``), which keeps
    training stable; the network outputs ``[s_raw, t]`` of width ``2D``.
    log|det| = Σ over transformed coordinates of ``s``.

    ``net`` replaces the default MLP (``hidden``, ``depth``): images use a small convolution net whose
    output ``[B, 2C, H, W]`` splits into ``s_raw`` and ``t`` along the channels, with a mask ``[C | 1, H, W]``
    (:mod:`condgen.nn.image_flow`).
    """

    def __init__(self, mask: torch.Tensor, hidden: int = 0, depth: int = 2, *, net: nn.Module | None = None):
        super().__init__()
        self.register_buffer("mask", mask.detach().clone().float())
        if net is None and hidden < 1:
            raise ConfigError(f"AffineCoupling needs a hidden width >= 1 or a net, got hidden={hidden}")
        dim = mask.numel()
        self.net = net if net is not None else coupling_net(dim, 2 * dim, hidden, depth)

    def _scale_shift(self, passed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw_scale, shift = self.net(passed * self.mask).chunk(2, dim=1)
        free = 1 - self.mask
        return torch.tanh(raw_scale) * free, shift * free

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_scale, shift = self._scale_shift(x)
        return x * torch.exp(log_scale) + shift, log_scale.flatten(1).sum(dim=1)

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_scale, shift = self._scale_shift(y)
        return (y - shift) * torch.exp(-log_scale), -log_scale.flatten(1).sum(dim=1)


class ElementwiseAffine(nn.Module):
    """Learnt per-coordinate ``y = x·exp(log_scale) + shift`` (NICE's final diagonal scaling).

    Additive couplings preserve volume; this layer lets a flow of them concentrate or spread
    density per coordinate (e.g. squeeze the attribute coordinates to their narrow priors).
    Starts as the identity.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(dim))
        self.shift = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x * torch.exp(self.log_scale) + self.shift, self.log_scale.sum().expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (y - self.shift) * torch.exp(-self.log_scale), (-self.log_scale.sum()).expand(y.shape[0])


class LULinear(nn.Module):
    """Learnt invertible linear map ``y = x Wᵀ`` with ``W = L·(U + diag(exp(log_scale)))`` (Glow's invertible
    1×1 convolution for vectors, LU-parametrised): ``L`` unit lower triangular, ``U`` strictly upper
    triangular. log|det| = Σ log_scale. It starts as the identity (like a fresh coupling), so a flow starts
    from the data itself; training then learns to mix every coordinate into every output, so couplings with
    fixed masks no longer treat even and odd coordinates differently. Glow starts from a random rotation,
    which needs a fixed permutation and signs besides; that start lost the property on a plugin over a 2-d
    latent fitted on a dozen molecules, and a fixed random rotation without learning mixed too little for
    10-class attributes.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("lower_mask", torch.tril(torch.ones(dim, dim), diagonal=-1))
        self.lower = nn.Parameter(torch.zeros(dim, dim))
        self.upper = nn.Parameter(torch.zeros(dim, dim))
        self.log_scale = nn.Parameter(torch.zeros(dim))

    def weight(self) -> torch.Tensor:
        eye = torch.eye(self.log_scale.numel(), dtype=self.lower.dtype, device=self.lower.device)
        lower = self.lower * self.lower_mask + eye
        upper = self.upper * self.lower_mask.T + torch.diag(torch.exp(self.log_scale))
        return lower @ upper

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x @ self.weight().T, self.log_scale.sum().expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.linalg.solve(self.weight(), y.T).T
        return x, (-self.log_scale.sum()).expand(y.shape[0])


class FlowSequence(nn.Module):
    """Transforms applied in order; the log-determinant is the sum over ALL of them.

    ``forward`` runs ``t_1 … t_n``; ``inverse`` runs ``t_n⁻¹ … t_1⁻¹``.
    """

    def __init__(self, transforms: Iterable[nn.Module]):
        super().__init__()
        self.transforms = nn.ModuleList(transforms)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        total = x.new_zeros(x.shape[0])
        for transform in self.transforms:
            x, logabsdet = transform(x)
            total = total + logabsdet
        return x, total

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        total = y.new_zeros(y.shape[0])
        for transform in reversed(self.transforms):
            y, logabsdet = transform.inverse(y)
            total = total + logabsdet
        return y, total


MIXINGS = ("none", "lu")


def coupling_flow(dim: int, n_couplings: int, hidden: int, depth: int, coupling: str = "additive",
                  scaling: bool = True, mixing: str = "none") -> FlowSequence:
    """``n_couplings`` couplings with alternating checkerboard masks, each followed by a mixing layer, then
    (optionally) a diagonal scaling.

    Args:
        dim: number of coordinates D.
        coupling: ``"additive"`` (NICE) or ``"affine"`` (RealNVP).
        scaling: append an :class:`ElementwiseAffine` layer.
        mixing: ``"lu"``: an :class:`LULinear` after every coupling; ``"none"``: couplings only, so even and
            odd coordinates alternate roles and the coordinates the last coupling passes through get one more
            layer of nonlinearity than the others.
    """
    kinds = {"additive": AdditiveCoupling, "affine": AffineCoupling}
    if coupling not in kinds:
        raise ConfigError(f"coupling must be one of {sorted(kinds)}, got {coupling!r}")
    if mixing not in MIXINGS:
        raise ConfigError(f"mixing must be one of {list(MIXINGS)}, got {mixing!r}")
    if dim < 2:
        raise ConfigError(f"a coupling flow needs at least 2 coordinates, got {dim}")
    layers: list[nn.Module] = []
    for i in range(n_couplings):
        layers.append(kinds[coupling](checkerboard_mask(dim, i % 2), hidden, depth))
        if mixing == "lu":
            layers.append(LULinear(dim))
    if scaling:
        layers.append(ElementwiseAffine(dim))
    return FlowSequence(layers)
