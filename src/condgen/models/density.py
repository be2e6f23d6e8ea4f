"""What the closed-form density families (:mod:`~condgen.models.gmm`, :mod:`~condgen.models.kde`) share.

A :class:`DensityModel` is a generative model of vectors ``[N, D]`` that is *fitted*, not trained by SGD:
``fits_in_closed_form = True`` tells :mod:`condgen.tasks.training` to call :meth:`DensityModel.fit` instead
of the engine (the engine refuses it: it has no optimiser groups). Its one free choice — a GMM's number of
components, a KDE's bandwidth — is made by :func:`cross_validate`: K-fold cross-validated log-likelihood
(5 shuffled folds, a fixed seed), each candidate scored by the mean log-density of the held-out examples.

The fitted state lives in buffers (float64), saved as ``model.safetensors`` like any weights; the
hyper-parameters are the config and the choice — candidates, their cross-validated log-likelihoods and
standard errors, the chosen value — goes to ``config.json`` under ``"fit"`` (and the scores to the weights
file too). Log-densities are evaluated in torch from these tensors, so nothing from scikit-learn is stored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.model_selection import KFold

from condgen.data.dataset import LabeledDataset
from condgen.data.schema import AttributeSchema
from condgen.errors import ArtifactError, ConfigError, check_choice
from condgen.io import WEIGHTS_FILE, load_tensors
from condgen.models.base import GenerativeModel, OptimizerGroup
from condgen.progress import status

SELECTIONS = ("best", "one-standard-error")
#: Tensors every density stores besides its own: the candidates tried and their cross-validated log-likelihoods.
CV_TENSORS = ("cv_candidates", "cv_log_likelihood")
#: Rows of examples a log-density is evaluated on at once (bounds the [rows, N] distance matrices of a KDE).
EVALUATION_ROWS = 1024


@dataclass
class CrossValidation:
    """The outcome of :func:`cross_validate`: per candidate (in the order given) the mean held-out
    log-likelihood (nats per example, averaged over folds) and its standard error over the folds."""

    candidates: list[float]
    log_likelihood: list[float]
    standard_error: list[float]
    chosen_index: int
    selection: str
    folds: int

    @property
    def chosen(self) -> float:
        return self.candidates[self.chosen_index]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cross_validate(data: np.ndarray, candidates: Sequence[float],
                   held_out_scores: Callable[[np.ndarray, np.ndarray], Sequence[float]], *, folds: int = 5,
                   seed: int = 0, selection: str = "best") -> CrossValidation:
    """Choose among ``candidates`` by ``folds``-fold cross-validated log-likelihood.

    ``held_out_scores(train [n_train, D], held_out [n_test, D])`` fits every candidate on ``train`` and returns
    each one's mean log-density of ``held_out`` (nats per example). The folds are scikit-learn's
    ``KFold(folds, shuffle=True, random_state=seed)``. ``selection="best"`` takes the candidate of the highest
    mean; ``"one-standard-error"`` the first candidate (put the simplest first) whose mean is within one
    standard error of the best one's (Hastie, Tibshirani & Friedman, *Elements of Statistical Learning*
    §7.10): extra mixture components that fit noise raise the held-out score by less than its spread.
    """
    check_choice(selection, SELECTIONS, "selection")
    if folds < 2 or len(data) < 2 * folds:
        raise ConfigError(f"cross-validation needs folds ≥ 2 and at least 2 examples per fold; got {folds} folds "
                          f"for {len(data)} examples")
    splits = KFold(n_splits=folds, shuffle=True, random_state=seed).split(data)
    scores = np.array([list(held_out_scores(data[train], data[test])) for train, test in splits], dtype=np.float64)
    mean = scores.mean(axis=0)
    error = scores.std(axis=0, ddof=1) / math.sqrt(folds)
    if not np.isfinite(mean).any():
        raise ConfigError("every candidate gave a held-out log-likelihood of -inf; the data may hold duplicates "
                          "or constant columns")
    best = int(np.nanargmax(np.where(np.isfinite(mean), mean, -np.inf)))
    chosen = best
    if selection == "one-standard-error":
        chosen = next(i for i in range(len(mean)) if mean[i] >= mean[best] - error[best])
    values = [int(c) if isinstance(c, int | np.integer) else float(c) for c in candidates]
    return CrossValidation(values, mean.tolist(), error.tolist(), chosen, selection, folds)


def cv_subsample(data: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """At most ``limit`` rows of ``data``, a seeded random subset (all of them when there are fewer)."""
    if len(data) <= limit:
        return data
    return data[np.random.default_rng(seed).choice(len(data), limit, replace=False)]


class DensityModel(GenerativeModel):
    """A density on vectors ``[N, D]`` fitted in closed form; see the module docstring.

    Subclasses name their fitted tensors in ``fitted_tensors`` and implement :meth:`fit_arrays`
    (set the buffers from float64 data, return the :class:`CrossValidation`), :meth:`log_density` and
    :meth:`draw`; a subclass's :meth:`check_fitted` raises ``ValueError`` for tensors that cannot be its own.
    """

    fits_in_closed_form: ClassVar[bool] = True
    modalities: ClassVar[tuple[str, ...]] = ("vectors",)
    #: the names of the buffers that hold the fitted state (= the tensors of ``model.safetensors``)
    fitted_tensors: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config, schema: AttributeSchema | None = None):
        super().__init__(config, schema)
        for name in self.tensor_names():
            self.register_buffer(name, torch.empty(0, dtype=torch.float64))
        #: the cross-validation record (``config.json`` → ``"fit"``); empty until fitted
        self.fit_record: dict[str, Any] = {}

    @classmethod
    def tensor_names(cls) -> tuple[str, ...]:
        """The names of the buffers that ``model.safetensors`` holds."""
        return (*cls.fitted_tensors, *CV_TENSORS)

    @property
    def dim(self) -> int:
        return int(self.config.data_shape[0])

    @property
    def is_fitted(self) -> bool:
        return bool(self.fit_record)

    @property
    def device(self) -> torch.device:
        return next(self.buffers()).device

    # -- what training calls ----------------------------------------------------------------------------
    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        raise ConfigError(f"{self.kind} is fitted in closed form, not by the engine: call model.fit(dataset) "
                          f"(condgen train {self.kind} does)")

    def fit(self, dataset: LabeledDataset | torch.Tensor, *, seed: int = 0, progress: bool = True) -> DensityModel:
        """Choose the free parameter by cross-validation on ``dataset`` (a data set of vectors or a tensor
        ``[N, D]``), fit on all of it, and say the choice in one status line. Returns ``self``."""
        data = dataset.examples() if isinstance(dataset, LabeledDataset) else torch.as_tensor(dataset)
        data = data.detach().double().cpu().numpy()
        if data.ndim != 2 or data.shape[1] != self.dim:
            raise ConfigError(f"{self.kind}: expects vectors [N, {self.dim}], got {list(data.shape)}")
        if not np.isfinite(data).all():
            raise ConfigError(f"{self.kind}: the data hold NaN or infinite values; drop those rows first")
        choice = self.fit_arrays(data, seed)
        self.cv_candidates = torch.tensor(choice.candidates, dtype=torch.float64)
        self.cv_log_likelihood = torch.tensor(choice.log_likelihood, dtype=torch.float64)
        self.fit_record = {"chosen": choice.chosen, "seed": int(seed), "examples": int(len(data)), **choice.to_dict()}
        self.fit_record["train_log_likelihood"] = self.log_likelihood(torch.from_numpy(data))
        status(self.describe_fit(), progress)
        self.eval()
        return self

    def fit_arrays(self, data: np.ndarray, seed: int) -> CrossValidation:
        raise NotImplementedError

    def describe_fit(self) -> str:
        """One line: what cross-validation chose and its held-out log-likelihood."""
        record = self.fit_record
        index, candidates = record["chosen_index"], record["candidates"]
        return (f"{self.kind}: {record['folds']}-fold cross-validation chose {self.choice_name}="
                f"{_number(candidates[index])} of {len(candidates)} candidates ({_number(candidates[0])}…"
                f"{_number(candidates[-1])}); held-out log-likelihood {record['log_likelihood'][index]:.4f} "
                f"± {record['standard_error'][index]:.4f} nats per example")

    choice_name: ClassVar[str] = ""

    # -- the density ------------------------------------------------------------------------------------
    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) in nats, float64 ``[N]``, of vectors ``x [N, D]``."""
        raise NotImplementedError

    @torch.no_grad()
    def log_likelihood(self, x: torch.Tensor) -> float:
        """Mean log-density of ``x [N, D]``: nats per example."""
        self.check_is_fitted()
        x = torch.as_tensor(x)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ConfigError(f"{self.kind}: log_likelihood expects vectors [N, {self.dim}], got {list(x.shape)}")
        x = x.to(self.device, torch.float64)
        parts = [self.log_density(x[start:start + EVALUATION_ROWS]) for start in range(0, len(x), EVALUATION_ROWS)]
        return float(torch.cat(parts).mean())

    def draw(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """``n`` float64 draws ``[n, D]`` (CPU), every random number from ``generator``."""
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None,
               attributes: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` vectors ``[n, D]`` (float32); the same ``generator`` seed gives the same samples."""
        self.check_unconditional(attributes)
        self.check_is_fitted()
        return self.draw(int(n), generator).float()

    def check_is_fitted(self) -> None:
        if not self.is_fitted:
            raise ConfigError(f"this {self.kind} is not fitted yet; call fit(dataset) first")

    # -- artifacts --------------------------------------------------------------------------------------
    def artifact_body(self) -> dict[str, Any]:
        return {**super().artifact_body(), "fit": self.fit_record}

    @classmethod
    def from_artifact(cls, directory: Path, body: dict[str, Any]) -> DensityModel:
        fit_record = body.get("fit")
        if not isinstance(fit_record, dict) or "chosen_index" not in fit_record:
            raise ArtifactError(f"{directory}: config.json has no fit record; was this {cls.kind} saved unfitted?")
        model = super().from_artifact(directory, body)
        model.fit_record = dict(fit_record)
        return model

    def load_weights(self, directory: str | Path) -> None:
        """Load the fitted tensors (their shapes are the fit's); wrong names, shapes or values are an
        ArtifactError."""
        path = Path(directory) / WEIGHTS_FILE
        state = load_tensors(path)
        if set(state) != set(self.tensor_names()):
            raise ArtifactError(f"{path}: holds tensors {sorted(state)}, a {self.kind} has "
                                f"{sorted(self.tensor_names())}")
        for name in self.tensor_names():
            setattr(self, name, state[name].to(torch.float64))
        try:
            if any(not torch.isfinite(getattr(self, name)).all() for name in self.fitted_tensors):
                raise ValueError("non-finite values")
            self.check_fitted()
        except (ValueError, RuntimeError) as error:
            raise ArtifactError(f"{path}: not the tensors of a fitted {self.kind} ({str(error).splitlines()[0]})"
                                ) from None

    def check_fitted(self) -> None:
        """Raise ``ValueError`` when the buffers do not describe a fitted model of this config."""


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"
