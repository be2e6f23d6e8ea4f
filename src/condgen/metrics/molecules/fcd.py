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


#: fcd_torch pads (or cuts) every SMILES to this many one-hot rows; ChemNet's output depends on it.
CHEMNET_LENGTH = 350


@lru_cache(maxsize=1)
def _chemnet_vocabulary() -> tuple[dict[str, int], int, int]:
    """fcd_torch's symbol → column table, the unknown symbol's and the end symbol's columns."""
    from fcd_torch import utils

    symbols = vars(utils)["__vocab"]
    index = {symbol: i for i, symbol in enumerate(symbols)}
    return index, index["X"], index["."]


def chemnet_tokens(smiles: str, length: int = CHEMNET_LENGTH) -> list[int]:
    """Column of each one-hot row fcd_torch's ``get_one_hot(smiles, length)`` sets, in order.

    The same reading: two-letter symbols where the next character is r, i or l (Br, Cl, Si), an
    unknown symbol for anything outside the vocabulary, an end row "." after the last symbol (or at
    row ``length - 1`` for a longer SMILES). Returning the columns instead of a ``float64 [350, 35]``
    array per molecule is what makes the input cheap.
    """
    index, unknown, end = _chemnet_vocabulary()
    text, position, columns = smiles + ".", 0, []
    while True:
        width = 2 if text[position + 1] in "ril" else 1
        columns.append(index.get(text[position:position + width], unknown))
        position += width
        if text[position] == "." or len(columns) == length - 1:
            columns.append(end)
            return columns


def chemnet_inputs(smiles: Sequence[str], length: int = CHEMNET_LENGTH):
    """ChemNet's input ``float32 [N, 35, length]``: the one-hot rows divided by 35, as fcd_torch feeds them."""
    import torch

    index, _, _ = _chemnet_vocabulary()
    columns = [chemnet_tokens(s, length) for s in smiles]
    rows = torch.tensor([i for i, c in enumerate(columns) for _ in c])
    steps = torch.tensor([t for c in columns for t in range(len(c))])
    inputs = torch.zeros(len(smiles), length, len(index))
    inputs[rows, steps, torch.tensor([v for c in columns for v in c])] = 1.0 / len(index)
    return inputs.transpose(1, 2)


def chemnet_activations(canonical_smiles: Sequence[str], device: str = "cpu", batch_size: int = 512,
                        progress: bool = True) -> np.ndarray:
    """ChemNet's penultimate activations ``float32 [N, 512]`` of canonical SMILES.

    The same computation as fcd_torch's ``get_predictions`` with ``canonize=False`` (condgen hands
    over SMILES that are already RDKit-canonical), batch by batch with the input built from
    :func:`chemnet_tokens` and each batch's activations copied out: fcd_torch keeps, per molecule,
    a view into the LSTM's whole output sequence (about 180 kB), which exhausts memory on a
    176k-molecule reference set. ``progress``: a bar over the molecules (on a terminal).
    """
    import torch

    if len(canonical_smiles) == 0:
        return np.zeros((0, 512), dtype=np.float32)
    model = _chemnet(device)
    parts, done = [], 0
    with torch.inference_mode(), ProgressBar(len(canonical_smiles), 0, progress, description="ChemNet") as bar:
        for start in range(0, len(canonical_smiles), batch_size):
            batch = chemnet_inputs(canonical_smiles[start:start + batch_size]).to(device)
            parts.append(model(batch).cpu().numpy().copy())
            done += len(parts[-1])
            bar.update(done)
    return np.concatenate(parts)


def chemnet_statistics(canonical_smiles: Sequence[str], device: str = "cpu",
                       batch_size: int = 512) -> ChemNetStatistics | None:
    """Mean and covariance of the activations of all molecules (duplicates counted); None if < 2."""
    if len(canonical_smiles) < 2:
        warnings.warn(f"FCD needs at least 2 molecules, got {len(canonical_smiles)}; FCD is NaN", stacklevel=2)
        return None
    counts = Counter(canonical_smiles)
    distinct = list(counts)
    weights = np.array([counts[s] for s in distinct], dtype=np.int64)
    activations = chemnet_activations(distinct, device, batch_size).astype(np.float64)
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
