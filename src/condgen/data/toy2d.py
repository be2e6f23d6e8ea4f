"""``toy2d``: classic 2-D densities for checking generative models by eye and by mode counting.

Variants (``data`` is ``float32 [n, 2]``):

* ``8gaussians`` — 8 equal Gaussians on a ring of radius 2 (centres at angles ``2πk/8``, ``k = 0…7``),
  std 0.1 per coordinate. Attribute ``mode`` (categorical ``0``…``7``): the component.
* ``25gaussians`` — a 5×5 grid of equal Gaussians at ``{-4, -2, 0, 2, 4}²`` (row-major,
  ``x`` fastest), std 0.1. Attribute ``mode`` (categorical ``0``…``24``).
* ``moons`` — scikit-learn's two interleaving half circles (x in about ``[-1, 2]``, y in
  ``[-0.5, 1]``), Gaussian noise std 0.05. Attribute ``moon`` (binary: 0 = upper, 1 = lower).
* ``swissroll`` — scikit-learn's swiss roll seen from above (its x and z coordinates, divided by 5,
  so it spans about ``[-2, 2.6]``), noise std 0.1 after scaling. Attribute ``position``
  (continuous in ``[0, 1]``): how far along the spiral, from its centre outwards.

The option ``noise`` replaces the default std of every variant. :func:`toy2d_modes` gives the
centres and std of the two mixtures so metrics can count covered modes.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import make_moons, make_swiss_roll

from condgen.data.dataset import LabeledDataset
from condgen.data.render import check_count
from condgen.data.schema import Attribute, AttributeSchema
from condgen.errors import ConfigError

VARIANTS = ("8gaussians", "25gaussians", "moons", "swissroll")
DEFAULT_NOISE = {"8gaussians": 0.1, "25gaussians": 0.1, "moons": 0.05, "swissroll": 0.1}
RING_RADIUS = 2.0
GRID_SPACING = 2.0
SWISSROLL_SCALE = 5.0


def _check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ConfigError(f"unknown toy2d variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    return variant


def toy2d_modes(variant: str, noise: float | None = None) -> tuple[np.ndarray, float]:
    """Centres ``float64 [M, 2]`` and per-coordinate std of a mixture variant (``8gaussians``, ``25gaussians``).

    Row ``k`` of the centres is the component whose ``mode`` attribute is ``k``.
    """
    _check_variant(variant)
    std = DEFAULT_NOISE[variant] if noise is None else float(noise)
    if variant == "8gaussians":
        angles = 2 * np.pi * np.arange(8) / 8
        return RING_RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1), std
    if variant == "25gaussians":
        ys, xs = np.meshgrid(np.arange(-2, 3), np.arange(-2, 3), indexing="ij")
        return GRID_SPACING * np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64), std
    raise ConfigError(f"toy2d {variant!r} is not a Gaussian mixture; modes exist for 8gaussians and 25gaussians")


def _schema(variant: str, modes: int = 0) -> AttributeSchema:
    if variant in ("8gaussians", "25gaussians"):
        return AttributeSchema((Attribute("mode", "categorical", categories=tuple(str(k) for k in range(modes)),
                                          description="index of the Gaussian component"),))
    if variant == "moons":
        return AttributeSchema((Attribute("moon", "binary", description="0 = upper half circle, 1 = lower"),))
    return AttributeSchema((Attribute("position", "continuous",
                                      description="distance along the spiral from its centre, in [0, 1]"),))


def make_toy2d(variant: str, n: int = 20000, seed: int = 0, **options) -> LabeledDataset:
    """A 2-D toy data set: ``data`` float32 ``[n, 2]`` with one attribute (see the module docstring).

    Args:
        variant: ``8gaussians``, ``25gaussians``, ``moons`` or ``swissroll``.
        n: number of points.
        seed: generation seed; the same arguments always give the same values.
        options: ``noise`` — std of the Gaussian noise, replacing the variant's default.
    """
    _check_variant(variant)
    noise = options.pop("noise", None)
    if options:
        raise ConfigError(f"toy2d: unknown option(s) {', '.join(sorted(options))}; toy2d takes only noise")
    if noise is not None and (not isinstance(noise, (int, float)) or noise < 0):
        raise ConfigError(f"toy2d: noise must be a non-negative number, got {noise!r}")
    n, seed = check_count(n, "toy2d"), int(seed)
    std = DEFAULT_NOISE[variant] if noise is None else float(noise)
    modes = 0
    if variant in ("8gaussians", "25gaussians"):
        centers, _ = toy2d_modes(variant)
        modes = len(centers)
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, modes, n)
        points = centers[labels] + std * rng.standard_normal((n, 2))
    elif variant == "moons":
        points, labels = make_moons(n_samples=n, noise=std, random_state=seed)
    else:
        roll, along = make_swiss_roll(n_samples=n, noise=std * SWISSROLL_SCALE, random_state=seed)
        points = roll[:, [0, 2]] / SWISSROLL_SCALE
        labels = (along - 1.5 * np.pi) / (3 * np.pi)  # scikit-learn draws along ∈ [1.5π, 4.5π]
    attributes = torch.from_numpy(np.asarray(labels, np.float32).reshape(n, 1))
    spec = {"name": "toy2d", "variant": variant, "n": n, "seed": seed, "modality": "vectors"}
    if noise is not None:
        spec["noise"] = std
    return LabeledDataset(
        data=torch.from_numpy(np.asarray(points, np.float32)),
        attributes=attributes,
        schema=_schema(variant, modes).with_statistics(attributes),
        spec=spec,
    )
