"""How tabular models see a row: mode-specific normalisation of numbers, one-hot categories (Xu et al., 2019).

A continuous or integer column is modelled by a variational Gaussian mixture (scikit-learn's
``BayesianGaussianMixture`` with a Dirichlet-process prior, which switches off the modes it does not need; modes
with weight below :data:`MIN_MODE_WEIGHT` are dropped). A value ``x`` becomes its most likely mode ``k`` (one-hot)
and the scalar ``α = (x − μ_k) / (4σ_k)`` clipped to ±0.99, so a multi-modal column (capital gain: mostly zero,
a few large values) is not squashed into a sliver of one standard scale. A categorical column becomes its
one-hot vector. The fitted modes are plain numbers in the model's config (JSON), not a pickled estimator.

Shapes: stored rows ``[B, C]`` (numbers, category indices) ↔ network rows ``[B, width]``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from condgen.data.table_columns import TableColumn
from condgen.errors import DataError

MAX_MODES = 10
MIN_MODE_WEIGHT = 0.005
#: Rows a column's mixture is fitted on (a random subset of a larger table; the fit is the slow part).
FIT_ROWS = 10000
ALPHA_LIMIT = 0.99


@dataclass(frozen=True)
class ColumnLayout:
    """One column as the network sees it: ``modes`` (means, stds) of a number, or the ``categories`` count."""

    name: str
    kind: str
    means: tuple[float, ...] = ()
    stds: tuple[float, ...] = ()
    categories: int = 0
    low: float = 0.0
    high: float = 0.0

    @property
    def is_number(self) -> bool:
        return self.kind != "categorical"

    @property
    def width(self) -> int:
        """Network columns: α plus one per mode for a number, one per category otherwise."""
        return 1 + len(self.means) if self.is_number else self.categories

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "means": list(self.means), "stds": list(self.stds),
                "categories": self.categories, "low": self.low, "high": self.high}

    @classmethod
    def from_dict(cls, entry: dict) -> ColumnLayout:
        return cls(entry["name"], entry["kind"], tuple(entry.get("means", ())), tuple(entry.get("stds", ())),
                   int(entry.get("categories", 0)), float(entry.get("low", 0.0)), float(entry.get("high", 0.0)))


def fit_layout(columns: Sequence[TableColumn], rows: torch.Tensor, seed: int = 0) -> list[ColumnLayout]:
    """The layout of each column of stored ``rows [N, C]``: a mixture per number column, category counts."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import BayesianGaussianMixture

    array = rows.double().cpu().numpy()
    if array.shape[1] != len(columns):
        raise DataError(f"rows have {array.shape[1]} columns, the table {len(columns)}")
    rng = np.random.default_rng(seed)
    layouts = []
    for j, column in enumerate(columns):
        values = array[:, j]
        if column.kind == "categorical":
            layouts.append(ColumnLayout(column.name, column.kind, categories=len(column.categories)))
            continue
        low, high = float(values.min()), float(values.max())
        subset = values if len(values) <= FIT_ROWS else rng.choice(values, FIT_ROWS, replace=False)
        if high - low < 1e-12 or len(np.unique(subset)) < 2:
            means, stds = (low,), (1.0,)
        else:
            mixture = BayesianGaussianMixture(n_components=min(MAX_MODES, len(np.unique(subset))),
                                              weight_concentration_prior_type="dirichlet_process",
                                              weight_concentration_prior=0.001, max_iter=100, random_state=seed)
            with warnings.catch_warnings():  # a column of a few distinct values converges slowly; the fit is kept
                warnings.simplefilter("ignore", ConvergenceWarning)
                mixture.fit(subset.reshape(-1, 1))
            keep = mixture.weights_ > MIN_MODE_WEIGHT
            scale = spike_width(low, high)  # a mode on a single repeated value (a zero spike)
            means = tuple(float(m) for m in mixture.means_[keep, 0])
            stds = tuple(max(float(np.sqrt(c)), scale) for c in mixture.covariances_[keep].reshape(-1))
        layouts.append(ColumnLayout(column.name, column.kind, means, stds, low=low, high=high))
    return layouts


def spike_width(low: float, high: float) -> float:
    """The width given to a mode that sits on one repeated value (capital gain's zeros); decoding such a mode
    gives that value exactly."""
    return max((high - low) * 1e-3, 1e-6)


class TableTransform:
    """Stored rows ↔ network rows for a list of :class:`ColumnLayout` (no trainable state)."""

    def __init__(self, layouts: Sequence[ColumnLayout]):
        self.layouts = list(layouts)
        self.width = sum(layout.width for layout in self.layouts)

    def encode(self, rows: torch.Tensor) -> torch.Tensor:
        """Stored rows ``[B, C]`` → network rows ``[B, width]`` (α and the most likely mode's one-hot)."""
        pieces = []
        for j, layout in enumerate(self.layouts):
            column = rows[:, j].float()
            if not layout.is_number:
                index = torch.nan_to_num(column, nan=0.0).round().long().clamp(0, layout.categories - 1)
                pieces.append(F.one_hot(index, layout.categories).float())
                continue
            means = torch.tensor(layout.means, dtype=torch.float32, device=rows.device)
            stds = torch.tensor(layout.stds, dtype=torch.float32, device=rows.device)
            scores = -0.5 * ((column[:, None] - means) / stds) ** 2 - torch.log(stds)
            mode = scores.argmax(dim=1)
            alpha = ((column - means[mode]) / (4 * stds[mode])).clamp(-ALPHA_LIMIT, ALPHA_LIMIT)
            pieces.append(torch.cat([alpha[:, None], F.one_hot(mode, len(layout.means)).float()], dim=1))
        return torch.cat(pieces, dim=1)

    def split(self, network_rows: torch.Tensor) -> list[torch.Tensor]:
        """Network rows (or decoder outputs) ``[B, width]`` → one block per column."""
        return list(torch.split(network_rows, [layout.width for layout in self.layouts], dim=1))

    def decode(self, output: torch.Tensor) -> torch.Tensor:
        """Decoder outputs ``[B, width]`` (α pre-activation, mode / category logits) → stored rows ``[B, C]``:
        the most likely mode and category; numbers clipped to the column's range, integers rounded."""
        columns = []
        for layout, block in zip(self.layouts, self.split(output), strict=True):
            if not layout.is_number:
                columns.append(block.argmax(dim=1).float())
                continue
            means = torch.tensor(layout.means, dtype=output.dtype, device=output.device)
            stds = torch.tensor(layout.stds, dtype=output.dtype, device=output.device)
            mode = block[:, 1:].argmax(dim=1)
            value = torch.tanh(block[:, 0]) * 4 * stds[mode] + means[mode]
            spike = stds[mode] <= spike_width(layout.low, layout.high) * (1 + 1e-6)
            value = torch.where(spike, means[mode], value).clamp(layout.low, layout.high)
            columns.append(value.round() if layout.kind == "integer" else value)
        return torch.stack(columns, dim=1)

    def reconstruction_nll(self, output: torch.Tensor, target: torch.Tensor, log_sigmas: torch.Tensor
                           ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-column negative log-likelihoods ``[B, C]`` of network rows ``target`` under decoder ``output``:
        a Gaussian on α with the learnt width ``exp(log_sigmas[i])`` (one per number column) plus the
        cross-entropy of the mode; the cross-entropy of the category. Also the number-column α errors ``[B, n]``
        (for logging)."""
        losses, errors, number = [], [], 0
        for layout, block, wanted in zip(self.layouts, self.split(output), self.split(target), strict=True):
            if not layout.is_number:
                losses.append(F.cross_entropy(block, wanted.argmax(dim=1), reduction="none"))
                continue
            sigma = log_sigmas[number].exp()
            error = torch.tanh(block[:, 0]) - wanted[:, 0]
            gaussian = 0.5 * (error / sigma) ** 2 + log_sigmas[number]
            losses.append(gaussian + F.cross_entropy(block[:, 1:], wanted[:, 1:].argmax(dim=1), reduction="none"))
            errors.append(error.abs())
            number += 1
        errors_tensor = torch.stack(errors, dim=1) if errors else output.new_zeros(output.shape[0], 0)
        return torch.stack(losses, dim=1), errors_tensor


def check_table_layouts(model: str, columns, data_shape) -> None:
    """The one-line ConfigErrors of a table model's config: no column layouts (not trained on a table), or as
    many layouts as the rows have columns."""
    from condgen.errors import ConfigError

    if not columns:
        raise ConfigError(f"{model} models tables: train it on a table (--data adult, or a CSV with --target)")
    if len(columns) != data_shape[0]:
        raise ConfigError(f"{model}: {len(columns)} column layouts for rows of {data_shape[0]} columns")
