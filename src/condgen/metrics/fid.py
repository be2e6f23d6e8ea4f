"""Realism metrics of generated images against real ones, on a feature space.

* :func:`domain_fid` / :func:`domain_kid` — Fréchet and kernel distances computed by torchmetrics
  on the features of a *domain* extractor (a trained :class:`AttributeClassifier`'s penultimate
  layer, or any module). Lower is better; 0 for identical distributions.
* :func:`inception_fid` — the usual Inception-v3 FID, from a local weights file only.
* :func:`precision_recall_density_coverage` — k-nearest-neighbour manifold metrics
  (precision/recall: Kynkäänniemi et al. 2019; density/coverage: Naeem et al. 2020).

All image inputs are float ``[N, C, H, W]`` in [-1, 1]. Scores from different extractors, image
sizes or sample counts are not comparable with each other; FID is biased upwards for small N.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from condgen.data.dataset import images_to_uint8
from condgen.errors import ConfigError, DataError
from condgen.metrics.features import FeatureExtractor, extract_features
from condgen.models.classifier import AttributeClassifier


def _check_sets(real: torch.Tensor, fake: torch.Tensor, minimum: int = 2) -> None:
    if real.shape[1:] != fake.shape[1:]:
        raise DataError(f"real and generated images differ in shape: {list(real.shape)} vs "
                        f"{list(fake.shape)}")
    if real.shape[0] < minimum or fake.shape[0] < minimum:
        raise DataError(f"need at least {minimum} real and {minimum} generated examples, "
                        f"got {real.shape[0]} and {fake.shape[0]}")


def _feed(metric, real: torch.Tensor, fake: torch.Tensor, batch_size: int) -> None:
    for chunk in real.split(batch_size):
        metric.update(chunk, real=True)
    for chunk in fake.split(batch_size):
        metric.update(chunk, real=False)


def domain_fid(real: torch.Tensor, fake: torch.Tensor, extractor: AttributeClassifier | nn.Module,
               batch_size: int = 256) -> float:
    """Fréchet distance between the feature distributions of ``real`` and ``fake`` images.

    Args:
        real, fake: ``[N, C, H, W]`` and ``[M, C, H, W]`` floats in [-1, 1] (N, M ≥ 2; use N, M well
            above the feature width for a stable covariance).
        extractor: a trained classifier (penultimate-layer features) or a module images → ``[B, F]``.
    """
    _check_sets(real, fake)
    metric = FrechetInceptionDistance(feature=FeatureExtractor(extractor, example=real), normalize=False)
    _feed(metric, real, fake, batch_size)
    return float(metric.compute())


def domain_kid(real: torch.Tensor, fake: torch.Tensor, extractor: AttributeClassifier | nn.Module,
               batch_size: int = 256, subsets: int = 100, subset_size: int = 1000,
               seed: int = 0) -> tuple[float, float]:
    """Kernel distance (unbiased squared MMD, cubic polynomial kernel) between feature distributions.

    Returns ``(mean, std)`` over ``subsets`` random subsets of ``min(subset_size, N, M)`` examples
    per set; ``seed`` makes the subsets reproducible. Unlike FID it is unbiased, so ≈ 0 (and can be
    slightly negative) for two samples of the same distribution.
    """
    _check_sets(real, fake)
    size = min(subset_size, real.shape[0], fake.shape[0])
    with warnings.catch_warnings():  # "will save all extracted features": yes, that is how KID works
        warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
        metric = KernelInceptionDistance(feature=FeatureExtractor(extractor, example=real), subsets=subsets,
                                         subset_size=size, normalize=False)
    _feed(metric, real, fake, batch_size)
    with torch.random.fork_rng(devices=[]):  # torchmetrics draws subsets from the global RNG
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


def checked_inception_weights(weights_path: str | Path, metric: str) -> Path:
    """``weights_path`` as a Path once the local Inception weights file exists and torch-fidelity (whose
    Inception-v3 torchmetrics runs) is importable; a one-line ConfigError naming ``metric`` otherwise."""
    from torchmetrics.utilities.imports import _TORCH_FIDELITY_AVAILABLE

    path = Path(weights_path)
    if not path.is_file():
        raise ConfigError(f"{path}: Inception weights file not found; pass the local path of "
                          "pt_inception-2015-12-05-6726825d.pth (condgen never downloads weights)")
    if not _TORCH_FIDELITY_AVAILABLE:
        raise ConfigError(f"{metric} needs torch-fidelity: `pip install torch-fidelity`, then pass the "
                          "local Inception weights file as weights_path (condgen never downloads weights)")
    return path


def as_rgb_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images ``[B, C, H, W]`` in [-1, 1] → uint8 RGB ``[B, 3, H, W]`` (grey repeated), Inception's input."""
    images = images_to_uint8(images)
    return images.repeat(1, 3, 1, 1) if images.shape[1] == 1 else images


def inception_fid(real: torch.Tensor, fake: torch.Tensor, weights_path: str | Path,
                  batch_size: int = 64) -> float:
    """Standard FID on Inception-v3 pool features (2048-d), with weights from a LOCAL file.

    Needs the ``torch-fidelity`` package and torch-fidelity's Inception weights file
    (``pt_inception-2015-12-05-6726825d.pth``); nothing is ever downloaded. Images are converted to
    uint8 RGB (grey images repeated over three channels) and resized to 299 px by torch-fidelity.
    """
    _check_sets(real, fake)
    path = checked_inception_weights(weights_path, "inception_fid")
    if "feature_extractor_weights_path" not in inspect.signature(FrechetInceptionDistance).parameters:
        raise ConfigError("this torchmetrics cannot load local Inception weights; "
                          "`pip install -U torchmetrics`")
    metric = FrechetInceptionDistance(feature=2048, feature_extractor_weights_path=str(path))
    for chunk in real.split(batch_size):
        metric.update(as_rgb_uint8(chunk), real=True)
    for chunk in fake.split(batch_size):
        metric.update(as_rgb_uint8(chunk), real=False)
    return float(metric.compute())


def _kth_neighbour_radii(points: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """Distance of each point to its k-th nearest neighbour in the same set (itself excluded)."""
    radii = [torch.cdist(block, points).topk(k + 1, dim=1, largest=False).values[:, k]
             for block in points.split(chunk)]
    return torch.cat(radii)


def precision_recall_density_coverage(real_features: torch.Tensor, fake_features: torch.Tensor,
                                      k: int = 5, chunk: int = 1024) -> dict[str, float]:
    """k-NN manifold metrics of generated features ``[M, F]`` against real features ``[N, F]``.

    With ``r_i`` the distance of real point i to its k-th nearest real neighbour (self excluded), and
    ``s_j`` that of fake point j among the fakes:

    * precision = share of fakes inside some real ball: ``∃ i: d(f_j, x_i) ≤ r_i`` (realism);
    * recall = share of reals inside some fake ball: ``∃ j: d(x_i, f_j) ≤ s_j`` (diversity);
    * density = ``(1 / kM) Σ_j Σ_i 1[d(f_j, x_i) ≤ r_i]`` (≈ 1 for matching distributions, unbounded);
    * coverage = share of reals whose ball holds some fake: ``min_j d(x_i, f_j) ≤ r_i``.

    Euclidean distances; ``chunk`` bounds the size of each distance block held in memory.
    """
    if min(real_features.shape[0], fake_features.shape[0]) <= k:
        raise DataError(f"k={k} nearest neighbours need more than {k} real and generated examples")
    real, fake = real_features.double(), fake_features.double()
    real_radii = _kth_neighbour_radii(real, k, chunk)
    fake_radii = _kth_neighbour_radii(fake, k, chunk)
    inside_real_balls, in_how_many_real_balls = [], []
    for block in fake.split(chunk):
        inside = torch.cdist(block, real) <= real_radii[None, :]
        inside_real_balls.append(inside.any(dim=1))
        in_how_many_real_balls.append(inside.sum(dim=1))
    inside_fake_balls, ball_holds_fake = [], []
    for block, radii in zip(real.split(chunk), real_radii.split(chunk), strict=True):
        distances = torch.cdist(block, fake)
        inside_fake_balls.append((distances <= fake_radii[None, :]).any(dim=1))
        ball_holds_fake.append(distances.min(dim=1).values <= radii)
    return {
        "precision": float(torch.cat(inside_real_balls).double().mean()),
        "recall": float(torch.cat(inside_fake_balls).double().mean()),
        "density": float(torch.cat(in_how_many_real_balls).double().sum() / (k * fake.shape[0])),
        "coverage": float(torch.cat(ball_holds_fake).double().mean()),
    }


def domain_precision_recall(real: torch.Tensor, fake: torch.Tensor,
                            extractor: AttributeClassifier | nn.Module, k: int = 5,
                            batch_size: int = 256) -> dict[str, float]:
    """:func:`precision_recall_density_coverage` on the extractor's features of ``[N, C, H, W]`` images."""
    _check_sets(real, fake, minimum=k + 1)
    module = FeatureExtractor(extractor, example=real)
    return precision_recall_density_coverage(extract_features(real, module, batch_size),
                                             extract_features(fake, module, batch_size), k=k)
