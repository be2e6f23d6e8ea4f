"""Mode coverage on the 2-D toy sets, as in VEEGAN / PacGAN, extended to the two curves.

A sample is *high quality* when it lies within ``3·std`` of the data's noise-free support — its nearest mode
centre for the mixtures (8 Gaussians on a ring, 5×5 grid), its nearest point of the curve for ``moons`` and
``swissroll`` — and a mode is *covered* when at least ``min_count`` high-quality samples fall on it. The default
``min_count`` is 20 % of a uniform share (``0.2 · n / modes``) — PacGAN's 20 of 2,500 samples for 25 modes is 20 %
of 100; a fixed count would make the number depend on how many samples one draws.

The curves' "modes" are arcs holding equal shares of the data (:data:`CURVE_ARCS`): each moon cut into 4 arcs of
equal angle (8 modes), the swiss roll into 10 arcs of equal spiral parameter (the data are uniform in both), so
a model that draws one moon, or only the roll's centre, covers few of them.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from condgen.data.toy2d import DEFAULT_NOISE, SWISSROLL_SCALE, toy2d_modes

#: Arcs the curves are cut into: ``moons`` 4 per moon, ``swissroll`` 10.
CURVE_ARCS = {"moons": 8, "swissroll": 10}
#: Points of the noise-free curve per arc (far closer together than the noise).
POINTS_PER_ARC = 600


def _coverage(samples: torch.Tensor, reference: torch.Tensor, mode_of_reference: torch.Tensor, modes: int,
              std: float, min_count: int | None) -> dict[str, float | int | list[int]]:
    samples, reference = samples.detach().double().cpu(), reference.detach().double().cpu()
    if samples.ndim != 2 or reference.ndim != 2 or samples.shape[1] != reference.shape[1]:
        raise ValueError(f"samples [N, D] and centers [M, D] must agree, got {list(samples.shape)} "
                         f"and {list(reference.shape)}")
    if std <= 0:
        raise ValueError(f"std must be positive, got {std}")
    distance, nearest = torch.cdist(samples, reference).min(dim=1)
    high_quality = distance <= 3 * std
    counts = torch.bincount(mode_of_reference[nearest[high_quality]], minlength=modes)
    if min_count is None:
        min_count = max(1, math.ceil(0.2 * samples.shape[0] / modes))
    return {
        "modes_covered": int((counts >= min_count).sum()),
        "high_quality_share": float(high_quality.double().mean()) if samples.shape[0] else 0.0,
        "samples_per_mode": [int(c) for c in counts],
    }


def mode_coverage(samples: torch.Tensor, centers: torch.Tensor, std: float,
                  min_count: int | None = None) -> dict[str, float | int | list[int]]:
    """Mode coverage of ``samples [N, 2]`` against mode ``centers [M, 2]`` of standard deviation ``std``.

    Returns ``{"modes_covered": int, "high_quality_share": float, "samples_per_mode": [M] ints}``
    where ``samples_per_mode`` counts the high-quality samples nearest to each centre.
    """
    centers = torch.as_tensor(centers)
    return _coverage(samples, centers, torch.arange(centers.shape[0]), centers.shape[0], std, min_count)


def toy2d_support(variant: str) -> tuple[np.ndarray, np.ndarray, int]:
    """The noise-free support of a toy2d variant: points ``float64 [P, 2]``, the mode of each ``int64 [P]``, and
    the number of modes. Mixtures: the centres (mode k = centre k); curves: dense points of each arc, drawn with
    scikit-learn's formulas for ``make_moons`` / ``make_swiss_roll`` as :mod:`condgen.data.toy2d` scales them."""
    if variant in ("8gaussians", "25gaussians"):
        centers, _ = toy2d_modes(variant)
        return centers, np.arange(len(centers)), len(centers)
    arcs = CURVE_ARCS[variant] if variant in CURVE_ARCS else None
    if arcs is None:
        raise ValueError(f"unknown toy2d variant {variant!r}")
    u = (np.arange(arcs * POINTS_PER_ARC) + 0.5) / (arcs * POINTS_PER_ARC)   # uniform in [0, 1]
    if variant == "moons":
        per_moon = arcs // 2
        angle = np.pi * ((u * 2) % 1.0)
        upper = u < 0.5
        x = np.where(upper, np.cos(angle), 1 - np.cos(angle))
        y = np.where(upper, np.sin(angle), 1 - np.sin(angle) - 0.5)
        mode = np.where(upper, 0, per_moon) + np.minimum((angle / np.pi * per_moon).astype(int), per_moon - 1)
    else:
        along = 1.5 * np.pi * (1 + 2 * u)
        x, y = along * np.cos(along) / SWISSROLL_SCALE, along * np.sin(along) / SWISSROLL_SCALE
        mode = np.minimum((u * arcs).astype(int), arcs - 1)
    return np.stack([x, y], axis=1), mode.astype(np.int64), arcs


def toy2d_quality(samples: torch.Tensor, variant: str, noise: float | None = None,
                  min_count: int | None = None) -> dict[str, float | int | list[int]]:
    """Mode coverage of ``samples [N, 2]`` on a toy2d ``variant`` (its ``noise`` std; default the variant's).

    Returns ``{"modes": covered, "modes_total": M, "high_quality": share within 3·std of the support,
    "samples_per_mode": [M]}``.
    """
    std = DEFAULT_NOISE[variant] if noise is None else float(noise)
    support, mode, modes = toy2d_support(variant)
    result = _coverage(torch.as_tensor(samples), torch.from_numpy(support), torch.from_numpy(mode), modes, std,
                       min_count)
    return {"modes": result["modes_covered"], "modes_total": modes, "high_quality": result["high_quality_share"],
            "samples_per_mode": result["samples_per_mode"]}
