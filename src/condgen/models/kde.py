"""Gaussian kernel density estimate, its bandwidth chosen by cross-validation.

p(x) = (1/N) Σ_i N(x; x_i, h² I): scikit-learn's ``KernelDensity(kernel="gaussian", bandwidth=h)``, one
isotropic bandwidth ``h`` for every coordinate (standardise coordinates of very different scales first).
The candidates are a log grid of ``bandwidth_grid`` values from ``grid_low`` to ``grid_high`` times Scott's
rule ``h = σ · n^(-1/(D+4))`` (σ² the mean per-coordinate variance; for D = 2 Silverman's rule is the same);
``-o bandwidths=[…]`` gives them explicitly. Each is scored by 5-fold cross-validated log-likelihood
(:func:`~condgen.models.density.cross_validate`) and the best one kept. The held-out log-densities are
computed here in torch — the pairwise distances of a fold once, every bandwidth from them — which equals
``KernelDensity.score_samples`` and is much faster than refitting scikit-learn's estimator per bandwidth.

A KDE stores its points: at most ``max_points`` of them (a seeded random subset of larger data; the
estimate, its cross-validation and its samples all use that subset). Stored (float64): ``points [N, D]`` and
``bandwidth [1]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from condgen.errors import ConfigError
from condgen.models.density import CrossValidation, DensityModel, cross_validate, cv_subsample

#: Kernel values computed at once during cross-validation (32 MiB of float64).
KERNEL_BLOCK = 1 << 22


@dataclass
class KDEConfig:
    """Hyper-parameters of :class:`KernelDensityModel` (the data decides ``data_shape``, ``(D,)``).

    ``bandwidths``: explicit candidates; empty: ``bandwidth_grid`` log-spaced values from ``grid_low`` to
    ``grid_high`` times Scott's bandwidth. ``max_points``: the most points the estimate keeps.
    """

    data_shape: tuple[int, ...] = (2,)
    bandwidths: tuple[float, ...] = ()
    bandwidth_grid: int = 40
    grid_low: float = 0.01
    grid_high: float = 3.0
    folds: int = 5
    max_points: int = 5000

    def __post_init__(self):
        if len(self.data_shape) != 1:
            raise ConfigError(f"kde models vectors [N, D]; got examples of shape {list(self.data_shape)}")
        if any(not h > 0 for h in self.bandwidths) or not 0 < self.grid_low < self.grid_high:
            raise ConfigError("kde: bandwidths must be positive and 0 < grid_low < grid_high")
        if self.folds < 2 or self.max_points < 2 * self.folds or self.bandwidth_grid < 1:
            raise ConfigError("kde: need folds ≥ 2, max_points ≥ 2 × folds and bandwidth_grid ≥ 1")


def scott_bandwidth(data: np.ndarray) -> float:
    """Scott's rule for one isotropic bandwidth: σ · n^(-1/(D+4)), σ² the mean per-coordinate variance."""
    n, dim = data.shape
    return float(math.sqrt(data.var(axis=0, ddof=1).mean()) * n ** (-1.0 / (dim + 4)))


def gaussian_kde_log_density(x: torch.Tensor, points: torch.Tensor, bandwidths: torch.Tensor) -> torch.Tensor:
    """log (1/N) Σ_i N(x; points_i, h² I) for every bandwidth: float64 ``[B, H]`` for ``x [B, D]``,
    ``points [N, D]`` and ``bandwidths [H]``."""
    x, points, h = x.double(), points.double(), bandwidths.double()
    squared = torch.cdist(x, points).pow(2)  # [B, N]
    log_kernel = -squared[:, None, :] / (2 * h[None, :, None] ** 2)  # [B, H, N]
    normaliser = math.log(points.shape[0]) + 0.5 * x.shape[1] * torch.log(2 * math.pi * h**2)
    return torch.logsumexp(log_kernel, dim=2) - normaliser


class KernelDensityModel(DensityModel):
    """A Gaussian KDE over vectors ``[N, D]`` with a cross-validated bandwidth (see the module docstring)."""

    kind = "kde"
    config_class = KDEConfig
    fitted_tensors = ("points", "bandwidth")
    choice_name = "bandwidth"

    def candidates(self, data: np.ndarray) -> list[float]:
        """The bandwidths cross-validation tries on ``data [N, D]`` (increasing)."""
        c = self.config
        if c.bandwidths:
            return sorted(float(h) for h in c.bandwidths)
        scott = scott_bandwidth(data)
        if not scott > 0:
            raise ConfigError("kde: the data do not vary (every example is the same); there is no density to fit")
        return (scott * np.geomspace(c.grid_low, c.grid_high, c.bandwidth_grid)).tolist()

    def fit_arrays(self, data: np.ndarray, seed: int) -> CrossValidation:
        c = self.config
        points = cv_subsample(data, c.max_points, seed)
        candidates = self.candidates(points)
        bandwidths = torch.tensor(candidates, dtype=torch.float64)

        def held_out_scores(train: np.ndarray, held_out: np.ndarray) -> list[float]:
            train_points, queries = torch.from_numpy(train), torch.from_numpy(held_out)
            rows = max(1, KERNEL_BLOCK // (len(train) * len(candidates)))  # bounds the [rows, H, N] block
            parts = [gaussian_kde_log_density(queries[start:start + rows], train_points, bandwidths)
                     for start in range(0, len(queries), rows)]
            return torch.cat(parts).mean(dim=0).tolist()

        choice = cross_validate(points, candidates, held_out_scores, folds=c.folds, seed=seed)
        self.points = torch.from_numpy(np.ascontiguousarray(points, dtype=np.float64))
        self.bandwidth = torch.tensor([choice.chosen], dtype=torch.float64)
        return choice

    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x), float64 ``[N]`` for ``x [N, D]``."""
        return gaussian_kde_log_density(x, self.points, self.bandwidth)[:, 0]

    def draw(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """A stored point per sample, chosen uniformly, plus N(0, h² I) noise."""
        points = self.points.cpu()
        index = torch.randint(len(points), (n,), generator=generator)
        noise = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        return points[index] + float(self.bandwidth) * noise

    def check_fitted(self) -> None:
        if self.points.ndim != 2 or self.points.shape[0] < 1 or self.points.shape[1] != self.dim:
            raise ValueError(f"points {list(self.points.shape)} are not [N, {self.dim}]")
        if tuple(self.bandwidth.shape) != (1,) or not float(self.bandwidth) > 0:
            raise ValueError(f"bandwidth {self.bandwidth.tolist()} is not one positive number")
