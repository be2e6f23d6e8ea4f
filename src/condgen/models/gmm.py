"""Gaussian mixture model with full covariances, its number of components chosen by cross-validation.

scikit-learn's ``GaussianMixture`` (EM, k-means initialisation) fits each candidate ``k`` in
``min_components … max_components`` on four folds of the data and is scored by the mean log-density of the
fifth (:func:`~condgen.models.density.cross_validate`, 5 shuffled folds). The default selection is the
one-standard-error rule — the smallest ``k`` whose cross-validated log-likelihood is within one standard
error of the best — because components beyond the true count add noise-sized gains; ``-o selection=best``
takes the maximum. Cross-validation runs on at most ``cv_max_points`` examples (a seeded subset: 150 EM fits
of 20,000 points take over a minute on one core); the chosen ``k`` is then fitted on all of them.

Stored (float64): ``weights [k]``, ``means [k, D]``, ``covariances [k, D, D]``; the log-density and samples
are computed from them in torch, so no estimator is pickled.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from condgen.errors import ConfigError, check_choice
from condgen.models.density import SELECTIONS, CrossValidation, DensityModel, cross_validate, cv_subsample


@dataclass
class GMMConfig:
    """Hyper-parameters of :class:`GaussianMixtureModel` (the data decides ``data_shape``, ``(D,)``).

    ``min_components``/``max_components`` bound the candidate counts; ``folds``, ``selection`` and
    ``cv_max_points`` shape the cross-validation; ``n_init``, ``max_iter`` and ``reg_covar`` (added to every
    covariance's diagonal) are scikit-learn's EM settings.
    """

    data_shape: tuple[int, ...] = (2,)
    min_components: int = 1
    max_components: int = 30
    folds: int = 5
    selection: str = "one-standard-error"
    cv_max_points: int = 5000
    n_init: int = 1
    max_iter: int = 200
    reg_covar: float = 1e-6

    def __post_init__(self):
        if len(self.data_shape) != 1:
            raise ConfigError(f"gmm models vectors [N, D]; got examples of shape {list(self.data_shape)}")
        if not 1 <= self.min_components <= self.max_components:
            raise ConfigError(f"gmm: need 1 ≤ min_components ≤ max_components, got {self.min_components} and "
                              f"{self.max_components}")
        check_choice(self.selection, SELECTIONS, "selection", "gmm")
        if self.folds < 2 or self.cv_max_points < 2 * self.folds or self.reg_covar < 0:
            raise ConfigError("gmm: need folds ≥ 2, cv_max_points ≥ 2 × folds and reg_covar ≥ 0")


class GaussianMixtureModel(DensityModel):
    """p(x) = Σ_j w_j N(x; μ_j, Σ_j) over vectors ``x [N, D]``; ``k = len(weights)`` chosen by cross-validation."""

    kind = "gmm"
    config_class = GMMConfig
    fitted_tensors = ("weights", "means", "covariances")
    choice_name = "k"

    @property
    def n_components(self) -> int:
        return int(self.weights.shape[0])

    def mixture(self, k: int, seed: int) -> GaussianMixture:
        """An unfitted scikit-learn mixture of ``k`` full-covariance components with this config's EM settings."""
        c = self.config
        return GaussianMixture(k, covariance_type="full", n_init=c.n_init, max_iter=c.max_iter,
                               reg_covar=c.reg_covar, random_state=seed)

    def fit_arrays(self, data: np.ndarray, seed: int) -> CrossValidation:
        c = self.config
        cv_data = cv_subsample(data, c.cv_max_points, seed)
        smallest_train = len(cv_data) - math.ceil(len(cv_data) / c.folds)
        candidates = [k for k in range(c.min_components, c.max_components + 1) if k <= smallest_train]
        if not candidates:
            raise ConfigError(f"gmm: {len(data)} examples are too few for {c.min_components} components in "
                              f"{c.folds}-fold cross-validation")

        def held_out_scores(train: np.ndarray, held_out: np.ndarray) -> list[float]:
            with warnings.catch_warnings():  # a candidate that does not converge is simply scored as it is
                warnings.simplefilter("ignore", ConvergenceWarning)
                return [self.mixture(k, seed).fit(train).score(held_out) for k in candidates]

        choice = cross_validate(cv_data, candidates, held_out_scores, folds=c.folds, seed=seed, selection=c.selection)
        mixture = self.mixture(int(choice.chosen), seed).fit(data)
        self.weights = torch.from_numpy(mixture.weights_.astype(np.float64))
        self.means = torch.from_numpy(mixture.means_.astype(np.float64))
        self.covariances = torch.from_numpy(mixture.covariances_.astype(np.float64))
        return choice

    def scale_tril(self) -> torch.Tensor:
        """Cholesky factors ``[k, D, D]`` of the covariances."""
        return torch.linalg.cholesky(self.covariances)

    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """log Σ_j w_j N(x; μ_j, Σ_j), float64 ``[N]`` for ``x [N, D]``."""
        components = torch.distributions.MultivariateNormal(self.means, scale_tril=self.scale_tril(),
                                                            validate_args=False)
        return torch.logsumexp(components.log_prob(x.double()[:, None, :]) + self.weights.log(), dim=1)

    def draw(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """A component per sample from the weights, then its mean plus its Cholesky factor times N(0, I)."""
        weights, means, tril = self.weights.cpu(), self.means.cpu(), self.scale_tril().cpu()
        component = torch.multinomial(weights, n, replacement=True, generator=generator)
        noise = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        return means[component] + (tril[component] @ noise[:, :, None]).squeeze(2)

    def check_fitted(self) -> None:
        k, dim = self.weights.shape[0] if self.weights.ndim == 1 else -1, self.dim
        if k < 1 or tuple(self.means.shape) != (k, dim) or tuple(self.covariances.shape) != (k, dim, dim):
            raise ValueError(f"weights {list(self.weights.shape)}, means {list(self.means.shape)} and covariances "
                             f"{list(self.covariances.shape)} are not [k], [k, {dim}], [k, {dim}, {dim}]")
        if (self.weights < 0).any() or abs(float(self.weights.sum()) - 1) > 1e-6:
            raise ValueError("the weights are not a probability vector")
        if (torch.linalg.cholesky_ex(self.covariances).info != 0).any():
            raise ValueError("a covariance is not positive definite")
