"""Mode coverage on 2-D toy mixtures (8 Gaussians on a ring, 5×5 grid), as in VEEGAN / PacGAN.

A sample is *high quality* when it lies within ``3·std`` of its nearest mode centre; a mode is
*covered* when at least ``min_count`` high-quality samples fall on it. The default ``min_count``
is 20 % of a uniform share (``0.2 · n / modes``) — PacGAN's 20 of 2,500 samples for 25 modes is 20 %
of 100; a fixed count would make the number depend on how many samples one draws.
"""

from __future__ import annotations

import math

import torch


def mode_coverage(samples: torch.Tensor, centers: torch.Tensor, std: float,
                  min_count: int | None = None) -> dict[str, float | int | list[int]]:
    """Mode coverage of ``samples [N, 2]`` against mode ``centers [M, 2]`` of standard deviation ``std``.

    Returns ``{"modes_covered": int, "high_quality_share": float, "samples_per_mode": [M] ints}``
    where ``samples_per_mode`` counts the high-quality samples nearest to each centre.
    """
    samples, centers = samples.detach().double().cpu(), centers.detach().double().cpu()
    if samples.ndim != 2 or centers.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(f"samples [N, D] and centers [M, D] must agree, got {list(samples.shape)} "
                         f"and {list(centers.shape)}")
    if std <= 0:
        raise ValueError(f"std must be positive, got {std}")
    distance, nearest = torch.cdist(samples, centers).min(dim=1)
    high_quality = distance <= 3 * std
    counts = torch.bincount(nearest[high_quality], minlength=centers.shape[0])
    if min_count is None:
        min_count = max(1, math.ceil(0.2 * samples.shape[0] / centers.shape[0]))
    return {
        "modes_covered": int((counts >= min_count).sum()),
        "high_quality_share": float(high_quality.double().mean()) if samples.shape[0] else 0.0,
        "samples_per_mode": [int(c) for c in counts],
    }
