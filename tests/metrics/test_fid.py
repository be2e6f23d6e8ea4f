"""Domain FID / KID through torchmetrics, checked against a scipy Fréchet distance; manifold metrics
against a hand-computed case; Inception FID refuses to download."""

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from condgen.errors import ConfigError
from condgen.metrics.fid import (
    domain_fid,
    domain_kid,
    domain_precision_recall,
    inception_fid,
    precision_recall_density_coverage,
)


def fixed_extractor() -> nn.Module:
    """A fixed random projection of 1x8x8 images to 6 features (any module works as an extractor)."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 6), nn.Tanh())


def images(n: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (0.5 * torch.randn(n, 1, 8, 8, generator=generator) + shift).clamp(-1, 1)


def scipy_frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Reference Fréchet distance between Gaussians fitted to feature rows (test-only check)."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def test_fid_is_zero_for_the_same_set_and_matches_scipy_for_shifted_sets():
    extractor = fixed_extractor()
    real, fake = images(400, seed=1), images(300, seed=2, shift=0.3)
    assert abs(domain_fid(real, real, extractor, batch_size=128)) < 1e-6
    fid = domain_fid(real, fake, extractor, batch_size=128)
    with torch.no_grad():
        reference = scipy_frechet(extractor(real).double().numpy(), extractor(fake).double().numpy())
    assert reference > 0.1
    assert fid == pytest.approx(reference, rel=1e-3)
    # A bigger shift is further away.
    assert domain_fid(real, images(300, seed=2, shift=0.6), extractor) > fid


def test_kid_is_near_zero_for_the_same_distribution_and_positive_for_shifted_sets():
    extractor = fixed_extractor()
    real = images(300, seed=1)
    same_mean, same_std = domain_kid(real, real, extractor, subsets=20, subset_size=100)
    shifted_mean, _ = domain_kid(real, images(300, seed=2, shift=0.5), extractor, subsets=20, subset_size=100)
    assert shifted_mean > 0.05
    assert abs(same_mean) < 0.05 * shifted_mean
    assert same_std >= 0
    # The subsets are seeded: the same call gives the same answer.
    assert domain_kid(real, real, extractor, subsets=20, subset_size=100) == (same_mean, same_std)


def test_precision_recall_density_coverage_hand_computed():
    # 1-D, k = 1. Real radii (nearest other real): all 1. Fake radii: 9.5 (the two fakes are 9.5 apart).
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    fake = torch.tensor([[0.5], [10.0]])
    scores = precision_recall_density_coverage(real, fake, k=1)
    assert scores["precision"] == pytest.approx(0.5)   # 0.5 lies in the balls of 0 and 1; 10 in none
    assert scores["recall"] == pytest.approx(1.0)      # every real is within 9.5 of a fake
    assert scores["density"] == pytest.approx((2 + 0) / (1 * 2))
    assert scores["coverage"] == pytest.approx(0.5)    # the balls of 0 and 1 hold a fake


def test_precision_recall_on_images_sees_a_collapsed_generator():
    extractor = fixed_extractor()
    real = images(200, seed=1)
    collapsed = real[:5].repeat(40, 1, 1, 1)        # realistic but not diverse
    scores = domain_precision_recall(real, collapsed, extractor, k=3)
    assert scores["precision"] == pytest.approx(1.0)
    assert scores["coverage"] < 0.2 and scores["recall"] < 0.2
    honest = domain_precision_recall(real, images(200, seed=2), extractor, k=3)
    assert honest["recall"] > 0.6 and honest["coverage"] > 0.6


def test_inception_fid_needs_a_local_weights_file_and_torch_fidelity(tmp_path):
    real = images(4, seed=1)
    with pytest.raises(ConfigError, match="weights file not found"):
        inception_fid(real, real, tmp_path / "missing.pth")
    from torchmetrics.utilities.imports import _TORCH_FIDELITY_AVAILABLE

    if not _TORCH_FIDELITY_AVAILABLE:
        weights = tmp_path / "weights.pth"
        weights.write_bytes(b"")
        with pytest.raises(ConfigError, match="pip install torch-fidelity"):
            inception_fid(real, real, weights)
