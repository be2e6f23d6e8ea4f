"""Fréchet ChemNet Distance through ``fcd_torch`` (its ChemNet weights ship inside the package).

MOSES runs ChemNet over the generated molecules once for FCD/Test and again for FCD/TestSF; here
the activations' mean and covariance are computed once, over distinct molecules only, with
duplicates entering as frequency weights (the same mean and covariance as repeating the rows).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from condgen.progress import ProgressBar


class ChemNetStatistics(NamedTuple):
    """Mean ``float64 [512]`` and covariance ``float64 [512, 512]`` of ChemNet activations."""

    mu: np.ndarray
    sigma: np.ndarray


@lru_cache(maxsize=2)
def _chemnet(device: str):
    """fcd_torch's ChemNet (weights shipped inside fcd_torch; loaded once), in eval mode on ``device``."""
    from fcd_torch import FCD

    return FCD(device=device).model.to(device)


def chemnet_activations(canonical_smiles: Sequence[str], device: str = "cpu", n_jobs: int = 1,
                        batch_size: int = 512, progress: bool = True) -> np.ndarray:
    """ChemNet's penultimate activations ``float32 [N, 512]`` of canonical SMILES.

    fcd_torch's own ``get_predictions`` keeps, per molecule, a view into the LSTM's whole output
    sequence (about 180 kB), which exhausts memory on a 176k-molecule reference set; this loop is
    the same computation with each batch's activations copied out. ``progress``: a bar over the
    molecules (on a terminal).
    """
    import torch
    from fcd_torch.utils import SmilesDataset
    from torch.utils.data import DataLoader

    if len(canonical_smiles) == 0:
        return np.zeros((0, 512), dtype=np.float32)
    model = _chemnet(device)
    # canonize=False: condgen hands over SMILES that are already RDKit-canonical, exactly the
    # strings fcd_torch's own canonicalisation would produce, so parsing them again is wasted work.
    loader = DataLoader(SmilesDataset(list(canonical_smiles), canonize=False), batch_size=batch_size,
                        num_workers=n_jobs if n_jobs > 1 else 0)
    parts, done = [], 0
    with torch.no_grad(), ProgressBar(len(canonical_smiles), 0, progress, description="ChemNet") as bar:
        for batch in loader:
            parts.append(model(batch.transpose(1, 2).float().to(device)).cpu().numpy().copy())
            done += len(parts[-1])
            bar.update(done)
    return np.concatenate(parts)


def chemnet_statistics(canonical_smiles: Sequence[str], device: str = "cpu", n_jobs: int = 1,
                       batch_size: int = 512) -> ChemNetStatistics | None:
    """Mean and covariance of the activations of all molecules (duplicates counted); None if < 2."""
    if len(canonical_smiles) < 2:
        warnings.warn(f"FCD needs at least 2 molecules, got {len(canonical_smiles)}; FCD is NaN", stacklevel=2)
        return None
    counts = Counter(canonical_smiles)
    distinct = list(counts)
    weights = np.array([counts[s] for s in distinct], dtype=np.int64)
    activations = chemnet_activations(distinct, device, n_jobs, batch_size).astype(np.float64)
    mu = np.average(activations, axis=0, weights=weights)
    if len(distinct) == 1:
        sigma = np.zeros((activations.shape[1], activations.shape[1]))
    else:
        sigma = np.cov(activations.T, fweights=weights)
    return ChemNetStatistics(mu, sigma)


def frechet_chemnet_distance(reference: ChemNetStatistics | None, generated: ChemNetStatistics | None) -> float:
    """FCD between two sets' statistics (fcd_torch's Fréchet distance); NaN if either is missing."""
    from fcd_torch.utils import calculate_frechet_distance

    if reference is None or generated is None:
        return float("nan")
    return float(calculate_frechet_distance(reference.mu, reference.sigma, generated.mu, generated.sigma))
