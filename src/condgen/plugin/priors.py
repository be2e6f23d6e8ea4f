"""The conditional prior p(c | y) of the plugin's attribute coordinates.

Each attribute owns a block of coordinates of ``u = f(z)`` (its *width*):

* **binary** (1 coordinate) — labels ±1: ``c ~ N(+1, σ₊²)`` if y = 1 else ``N(−1, σ₋²)``.
  Class-balanced widths ``σ₊ = σ√(2p)``, ``σ₋ = σ√(2(1−p))`` (``p`` = positive rate, clamped to
  ``[0.01, 0.99]``), so the rarer class gets the narrower component. A missing label gives the
  equal mixture ``½N(+1, σ₊²) + ½N(−1, σ₋²)``.
* **continuous** (1 coordinate) — ``c ~ N(ỹ, σ²)`` with ``ỹ = (y − mean) / std`` the standardised
  label. A missing label contributes nothing (log-likelihood term 0) — it is never imputed.
* **categorical** with C classes (C coordinates) — component k is the isotropic Gaussian around
  the vertex ``m_k = 2·e_k − 1`` (+1 on coordinate k, −1 elsewhere) with width ``σ√(C·p_k)``
  (balanced like the binary case, which it equals for C = 2 up to the extra coordinate). A
  missing label gives the equal mixture of the C components. Every coordinate then reads as a
  one-vs-rest binary attribute and all vertices are equidistant (2√2 apart).

Attributes left out of a generation request are drawn from the data: binary and categorical labels
from their shares, continuous ones from their empirical quantiles — jointly, through a Gaussian
copula (the correlation of their normal scores), and conditioned on the continuous attributes that
*are* set. So asking a molecule plugin for logP = 4.5 draws TPSA and SAS as they occur with
logP = 4.5 in the training data, not from their overall distribution.

All log-densities are natural logarithms of densities.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.distributions import Normal

from condgen.data.schema import Attribute, AttributeSchema
from condgen.errors import DataError

RATE_FLOOR = 0.01  # keeps the balanced widths of very rare classes away from zero
LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def normal_log_pdf(x: torch.Tensor, mean: float | torch.Tensor, std: float | torch.Tensor) -> torch.Tensor:
    """log N(x; mean, std²) elementwise, computed in ``x``'s dtype."""
    std = torch.as_tensor(std, dtype=x.dtype, device=x.device)
    return -0.5 * ((x - mean) / std) ** 2 - torch.log(std) - LOG_SQRT_2PI


def binary_sigmas(sigma: float, positive_rate: float, balanced: bool = True) -> tuple[float, float]:
    """``(σ₊, σ₋)``: ``(σ√(2p), σ√(2(1−p)))`` if ``balanced`` else ``(σ, σ)``."""
    if not balanced:
        return sigma, sigma
    p = min(max(positive_rate, RATE_FLOOR), 1 - RATE_FLOOR)
    return sigma * math.sqrt(2 * p), sigma * math.sqrt(2 * (1 - p))


def binary_log_prob(c: torch.Tensor, y: torch.Tensor, sigma: float, positive_rate: float,
                    balanced: bool = True) -> torch.Tensor:
    """log p(c | y) ``[B]`` for coordinates ``c [B]`` and labels ``y [B]`` in {0, 1, NaN}."""
    sigma_pos, sigma_neg = binary_sigmas(sigma, positive_rate, balanced)
    log_pos = normal_log_pdf(c, 1.0, sigma_pos)
    log_neg = normal_log_pdf(c, -1.0, sigma_neg)
    log_missing = torch.logaddexp(log_pos, log_neg) - math.log(2.0)
    return torch.where(torch.isnan(y), log_missing, torch.where(y > 0.5, log_pos, log_neg))


def continuous_log_prob(c: torch.Tensor, y_standardised: torch.Tensor, sigma: float) -> torch.Tensor:
    """log N(c; ỹ, σ²) ``[B]``; 0 where ``ỹ`` is NaN (missing labels are dropped, not imputed)."""
    missing = torch.isnan(y_standardised)
    log_p = normal_log_pdf(c, torch.nan_to_num(y_standardised), sigma)
    return torch.where(missing, torch.zeros_like(log_p), log_p)


def categorical_means(n_classes: int) -> torch.Tensor:
    """Component means ``[C, C]``: row k is +1 at column k and −1 elsewhere."""
    return 2 * torch.eye(n_classes) - 1


def categorical_sigmas(sigma: float, rates: Sequence[float], balanced: bool = True) -> torch.Tensor:
    """Component widths ``[C]``: ``σ√(C·p_k)`` if ``balanced`` else ``σ``."""
    n = len(rates)
    if not balanced:
        return torch.full((n,), float(sigma), dtype=torch.float64)
    clamped = torch.tensor([min(max(float(r), RATE_FLOOR), 1.0) for r in rates], dtype=torch.float64)
    return sigma * torch.sqrt(n * clamped)


def _categorical_component_log_probs(c: torch.Tensor, sigma: float, rates: Sequence[float],
                                     balanced: bool) -> torch.Tensor:
    """log N(c; m_k, σ_k² I) for every component: ``[B, C]``."""
    means = categorical_means(len(rates)).to(c)
    scales = categorical_sigmas(sigma, rates, balanced).to(c)
    return normal_log_pdf(c.unsqueeze(1), means.unsqueeze(0), scales[None, :, None]).sum(dim=2)


def categorical_log_prob(c: torch.Tensor, y: torch.Tensor, sigma: float, rates: Sequence[float],
                         balanced: bool = True) -> torch.Tensor:
    """log p(c | y) ``[B]`` for coordinates ``c [B, C]`` and class indices ``y [B]`` (NaN = missing)."""
    per_class = _categorical_component_log_probs(c, sigma, rates, balanced)
    log_missing = torch.logsumexp(per_class, dim=1) - math.log(len(rates))
    index = torch.nan_to_num(y, nan=0.0).long().clamp(0, len(rates) - 1)
    log_known = per_class.gather(1, index.unsqueeze(1)).squeeze(1)
    return torch.where(torch.isnan(y), log_missing, log_known)


def standard_normal_log_prob(s: torch.Tensor) -> torch.Tensor:
    """log N(s; 0, I) summed over coordinates: ``[B]`` for ``s [B, D]`` (``D`` may be 0)."""
    return (-0.5 * s**2 - LOG_SQRT_2PI).sum(dim=1)


class AttributePrior:
    """p(c | y) for all attributes of ``schema`` laid out block by block in ``c [B, width]``.

    Args:
        schema: the attributes (with statistics: positive rates, means, stds).
        balanced: class-balanced component widths (see the module docstring).
        category_rates: ``{name: [p_0, …, p_{C−1}]}`` class shares of categorical attributes
            (uniform when absent).
        quantiles: ``{name: [q_0, …, q_Q]}`` standardised label quantiles of continuous attributes
            at evenly spaced levels 0…1, used to draw unset continuous labels (N(0, 1) when absent).
        correlation: ``{"names": [...], "matrix": [[...]]}``: correlation of the normal scores of
            those continuous attributes (:func:`score_correlation`); unset ones are then drawn
            jointly and given the set ones. Absent: each is drawn on its own.
    """

    def __init__(self, schema: AttributeSchema, balanced: bool = True,
                 category_rates: Mapping[str, Sequence[float]] | None = None,
                 quantiles: Mapping[str, Sequence[float]] | None = None,
                 correlation: Mapping[str, Any] | None = None):
        self.schema = schema
        self.balanced = balanced
        self.correlation = dict(correlation) if correlation else None
        self.category_rates = {a.name: list((category_rates or {}).get(a.name, [1 / a.width] * a.width))
                               for a in schema if a.kind == "categorical"}
        self.quantiles = {k: list(v) for k, v in (quantiles or {}).items()}
        self.slices: dict[str, slice] = {}
        start = 0
        for attribute in schema:
            self.slices[attribute.name] = slice(start, start + attribute.width)
            start += attribute.width
        self.width = start

    # -- training ------------------------------------------------------------------------------
    def log_prob_terms(self, c: torch.Tensor, values: torch.Tensor, sigma: float) -> torch.Tensor:
        """Per-attribute log p(c_k | y_k): ``[B, K]`` for coordinates ``c [B, width]``, values ``[B, K]``."""
        terms = []
        for column, attribute in enumerate(self.schema):
            block = c[:, self.slices[attribute.name]]
            y = values[:, column]
            if attribute.kind == "binary":
                terms.append(binary_log_prob(block[:, 0], y, sigma, attribute.positive_rate, self.balanced))
            elif attribute.kind == "continuous":
                terms.append(continuous_log_prob(block[:, 0], (y - attribute.mean) / attribute.std, sigma))
            else:
                rates = self.category_rates[attribute.name]
                terms.append(categorical_log_prob(block, y, sigma, rates, self.balanced))
        if not terms:
            return c.new_zeros(c.shape[0], 0)
        return torch.stack(terms, dim=1)

    def log_prob(self, c: torch.Tensor, values: torch.Tensor, sigma: float) -> torch.Tensor:
        """log p(c | y) ``[B]``: the sum of :meth:`log_prob_terms` over attributes."""
        return self.log_prob_terms(c, values, sigma).sum(dim=1)

    # -- generation and editing -------------------------------------------------------------------
    def target(self, name: str, value: float) -> torch.Tensor:
        """Coordinates ``[width]`` that mean "attribute ``name`` has ``value``" (schema encoding).

        Binary ``v`` → ``2v − 1`` (0 → −1, 1 → +1; values outside [0, 1] extrapolate, as in
        traversals); continuous raw value → standardised; categorical index k → vertex ``m_k``.
        """
        attribute = self.schema[name]
        if attribute.kind == "binary":
            return torch.tensor([2.0 * value - 1.0])
        if attribute.kind == "continuous":
            return torch.tensor([(value - attribute.mean) / attribute.std])
        if value != int(value) or not 0 <= value < attribute.width:
            raise DataError(f"{name}: category index must be an integer 0..{attribute.width - 1}, got {value}")
        return categorical_means(attribute.width)[int(value)]

    def sample(self, n: int, targets: Mapping[str, float], sigma: float, noise: float = 0.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Attribute coordinates ``[n, width]``.

        Attributes in ``targets`` (schema encoding) sit at :meth:`target` plus ``noise``·N(0, 1);
        the others are drawn from the prior: a label from the data distribution (Bernoulli(p),
        the class shares, or the stored quantiles — through the copula given the set continuous
        attributes when there is one), then the coordinates from that label's component.
        """
        scores = self._copula_scores(n, targets, generator)
        blocks = []
        for attribute in self.schema:
            if attribute.name in targets:
                centre = self.target(attribute.name, targets[attribute.name]).expand(n, -1)
                blocks.append(centre + noise * torch.randn(n, attribute.width, generator=generator))
            elif attribute.name in scores:
                table = torch.tensor(self.quantiles[attribute.name])
                label = _interpolate_quantiles(table, _normal_cdf(scores[attribute.name]))
                blocks.append((label + sigma * torch.randn(n, generator=generator)).unsqueeze(1))
            else:
                blocks.append(self._sample_unset(attribute, n, sigma, generator))
        if not blocks:
            return torch.zeros(n, 0)
        return torch.cat(blocks, dim=1)

    def _copula_scores(self, n: int, targets: Mapping[str, float],
                       generator: torch.Generator | None) -> dict[str, torch.Tensor]:
        """Normal scores ``{name: [n]}`` of the unset continuous attributes of the copula, drawn
        jointly from N(0, R) conditioned on the scores of the set ones (Gaussian conditioning)."""
        if not self.correlation:
            return {}
        names = list(self.correlation["names"])
        unset = [i for i, name in enumerate(names) if name not in targets]
        given = [i for i, name in enumerate(names) if name in targets]
        if not unset:
            return {}
        r = torch.tensor(self.correlation["matrix"], dtype=torch.float64)
        mean = torch.zeros(len(unset), dtype=torch.float64)
        covariance = r[unset][:, unset]
        if given:
            known = torch.stack([self._normal_score(names[i], targets[names[i]]) for i in given])
            gain = r[unset][:, given] @ torch.linalg.pinv(r[given][:, given])  # R_us R_ss⁻¹
            mean = gain @ known
            covariance = covariance - gain @ r[given][:, unset]
        # A square root of the (symmetrised, clipped) covariance: robust where R is near-singular.
        eigenvalues, eigenvectors = torch.linalg.eigh(0.5 * (covariance + covariance.T))
        factor = eigenvectors * eigenvalues.clamp_min(0).sqrt()
        draws = mean + torch.randn(n, len(unset), generator=generator).double() @ factor.T
        return {names[i]: draws[:, column].float() for column, i in enumerate(unset)}

    def _normal_score(self, name: str, value: float) -> torch.Tensor:
        """Φ⁻¹ of the empirical CDF at a target ``value`` of continuous attribute ``name`` (a float64 scalar)."""
        table = torch.tensor(self.quantiles[name], dtype=torch.float64)
        return _normal_quantile(_quantile_levels(table, self.target(name, value).double()))[0]

    def _sample_unset(self, attribute: Attribute, n: int, sigma: float,
                      generator: torch.Generator | None) -> torch.Tensor:
        if attribute.kind == "binary":
            positive = torch.rand(n, generator=generator) < attribute.positive_rate
            sigma_pos, sigma_neg = binary_sigmas(sigma, attribute.positive_rate, self.balanced)
            mean = torch.where(positive, 1.0, -1.0)
            scale = torch.where(positive, sigma_pos, sigma_neg)
            return (mean + scale * torch.randn(n, generator=generator)).unsqueeze(1)
        if attribute.kind == "continuous":
            levels = torch.rand(n, generator=generator)
            table = self.quantiles.get(attribute.name)
            label = _interpolate_quantiles(torch.tensor(table), levels) if table else _normal_quantile(levels)
            return (label + sigma * torch.randn(n, generator=generator)).unsqueeze(1)
        rates = torch.tensor(self.category_rates[attribute.name], dtype=torch.float)
        classes = torch.multinomial(rates, n, replacement=True, generator=generator)
        scales = categorical_sigmas(sigma, rates.tolist(), self.balanced).float()[classes].unsqueeze(1)
        means = categorical_means(attribute.width)[classes]
        return means + scales * torch.randn(n, attribute.width, generator=generator)

    # -- reading attributes back ---------------------------------------------------------------
    def posterior(self, c: torch.Tensor, sigma: float) -> dict[str, torch.Tensor]:
        """What the coordinates ``c [B, width]`` say about each attribute.

        binary → P(y = 1 | c) ``[B]`` under the mixture p·N₊ + (1 − p)·N₋ (the posterior
        responsibility of the +1 component); continuous → the de-standardised value ``[B]``;
        categorical → class probabilities ``[B, C]`` under the mixture Σ p_k·N_k.
        """
        out = {}
        for attribute in self.schema:
            block = c[:, self.slices[attribute.name]]
            if attribute.kind == "binary":
                p = min(max(attribute.positive_rate, RATE_FLOOR), 1 - RATE_FLOOR)
                sigma_pos, sigma_neg = binary_sigmas(sigma, attribute.positive_rate, self.balanced)
                logit = (normal_log_pdf(block[:, 0], 1.0, sigma_pos) + math.log(p)
                         - normal_log_pdf(block[:, 0], -1.0, sigma_neg) - math.log(1 - p))
                out[attribute.name] = torch.sigmoid(logit)
            elif attribute.kind == "continuous":
                out[attribute.name] = block[:, 0] * attribute.std + attribute.mean
            else:
                rates = self.category_rates[attribute.name]
                per_class = _categorical_component_log_probs(block, sigma, rates, self.balanced)
                log_rates = torch.log(torch.tensor(rates, dtype=block.dtype).clamp_min(1e-12)).to(block)
                out[attribute.name] = torch.softmax(per_class + log_rates, dim=1)
        return out


def _normal_quantile(levels: torch.Tensor) -> torch.Tensor:
    return Normal(0.0, 1.0).icdf(levels.clamp(1e-6, 1 - 1e-6))


def _normal_cdf(scores: torch.Tensor) -> torch.Tensor:
    return Normal(0.0, 1.0).cdf(scores)


def _quantile_levels(table: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Empirical CDF: the inverse of :func:`_interpolate_quantiles` (levels in [0, 1] of ``values``)."""
    steps = table.numel() - 1
    upper = torch.searchsorted(table, values.to(table.dtype).contiguous(), right=True).clamp(1, steps)
    low, high = table[upper - 1], table[upper]
    fraction = ((values - low) / (high - low).clamp_min(1e-12)).clamp(0, 1)
    return (upper - 1 + fraction) / steps


def score_correlation(schema: AttributeSchema, values: torch.Tensor,
                      quantiles: Mapping[str, Sequence[float]]) -> dict[str, Any] | None:
    """Correlation of the normal scores (Φ⁻¹ of the empirical CDF) of the continuous attributes that
    have ``quantiles``, over the rows of ``values [N, K]`` (schema encoding) where all are known.
    None with fewer than two such attributes or three such rows."""
    columns = [(i, a.name) for i, a in enumerate(schema) if a.kind == "continuous" and a.name in quantiles]
    if len(columns) < 2:
        return None
    block = values[:, [i for i, _ in columns]].double()
    block = block[~torch.isnan(block).any(dim=1)]
    if block.shape[0] < 3:
        return None
    scores = []
    for column, (_, name) in enumerate(columns):
        attribute = schema[name]
        standardised = (block[:, column] - attribute.mean) / attribute.std
        scores.append(_normal_quantile(_quantile_levels(torch.tensor(quantiles[name], dtype=torch.float64),
                                                        standardised)))
    matrix = torch.nan_to_num(torch.corrcoef(torch.stack(scores)), nan=0.0)
    matrix.fill_diagonal_(1.0)
    return {"names": [name for _, name in columns], "matrix": matrix.tolist()}


def _interpolate_quantiles(table: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Inverse CDF by linear interpolation of quantiles ``table [Q+1]`` at ``levels [n]`` in [0, 1]."""
    position = levels * (table.numel() - 1)
    low = position.floor().long().clamp(0, table.numel() - 2)
    weight = position - low
    return table[low] * (1 - weight) + table[low + 1] * weight
