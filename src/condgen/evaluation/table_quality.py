"""How much a table's synthetic rows look like its real ones, measured with SDMetrics' own metrics.

Four views, each a number in [0, 1] where 1 is best:

* **column shapes** — each column's distribution alone: ``KSComplement`` (1 − the Kolmogorov–Smirnov statistic)
  for a number column, ``TVComplement`` (1 − the total variation distance of the category shares) for a
  categorical one; the mean and the score of every column.
* **column-pair trends** — every pair of columns: ``CorrelationSimilarity`` (1 − |Pearson real − Pearson
  synthetic| / 2) for two number columns, ``ContingencySimilarity`` (1 − the total variation distance of the
  pair's joint shares, a number column cut into 10 bins on the real rows' range) where a category is involved;
  the mean. These are the metrics, and the choices, of SDMetrics' ``QualityReport``.
* **detection** — SDMetrics' ``LogisticDetection``: a logistic regression learns to tell real rows from synthetic
  ones (3-fold cross-validation; categories one-hot over the table's own category list); the score is
  1 − (2·max(AUC, ½) − 1), so **1 = indistinguishable** (the classifier does no better than chance) and 0 = always
  told apart. Being linear, it sees the columns' shapes and linear relations, not broken interactions.
* **train synthetic, test real (TSTR)** — a scikit-learn ``HistGradientBoosting`` model (categories one-hot
  encoded) fitted on the synthetic rows predicts the target column of the real held-out rows; next to it, the
  same model fitted on the real training rows (train real, test real). A categorical target reports accuracy
  and F1 (binary: F1 of the class that is rarer among the real held-out rows, e.g. Adult's ``>50K``; more
  classes: macro F1); a number target reports R².

Rows come in condgen's stored form (``float [N, C]``: numbers, category indices) with the table's
:class:`~condgen.data.table_columns.TableColumn` list, and are compared in the table's own values (category names,
integers, numbers; :func:`~condgen.data.table_columns.readable_rows`). :func:`table_quality` returns a plain dict.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from itertools import combinations
from typing import Any

import numpy as np
import torch

from condgen.data.table_columns import TableColumn, readable_rows
from condgen.errors import ConfigError, DataError

#: The number of bins a number column is cut into when it is paired with a categorical one (SDMetrics' default).
PAIR_BINS = 10
DETECTION_MEANING = ("1 − (2·max(AUC, ½) − 1) of a logistic regression telling real rows from synthetic ones "
                     "(SDMetrics LogisticDetection, 3-fold): 1 = indistinguishable, 0 = always told apart")
INSTALL_HINT = "pip install 'condgen[tables]' (or pip install sdmetrics)"


def table_quality(columns: Sequence[TableColumn], real: torch.Tensor | np.ndarray,
                  synthetic: torch.Tensor | np.ndarray, *, target: str | None = None,
                  real_train: torch.Tensor | np.ndarray | None = None, seed: int = 0) -> dict[str, Any]:
    """Score ``synthetic`` rows ``[M, C]`` against ``real`` rows ``[N, C]`` (the held-out split) of a table of
    ``columns``: column shapes, column-pair trends, detection and, when ``target`` names a column, train
    synthetic / test real (with ``real_train`` rows ``[K, C]``, also train real / test real). ``seed`` fixes the
    detection folds and the classifiers, so the same rows give the same numbers.

    Returns ``{"rows", "column_shapes", "column_pair_trends", "detection", "tstr", "sdmetrics_version"}``
    (``tstr`` is None without a target)."""
    sdmetrics = _import_sdmetrics()
    columns = list(columns)
    if target is not None and target not in [column.name for column in columns]:
        raise ConfigError(f"target {target!r} is not a column of this table ({', '.join(c.name for c in columns)})")
    real_frame, synthetic_frame = as_frame(columns, real), as_frame(columns, synthetic)
    train_frame = as_frame(columns, real_train) if real_train is not None else None
    return {
        "rows": {"real": len(real_frame), "synthetic": len(synthetic_frame),
                 "real_train": None if train_frame is None else len(train_frame)},
        "column_shapes": column_shapes(columns, real_frame, synthetic_frame),
        "column_pair_trends": column_pair_trends(columns, real_frame, synthetic_frame),
        "detection": {"metric": "LogisticDetection", "score": detection(columns, real_frame, synthetic_frame, seed),
                      "meaning": DETECTION_MEANING},
        "tstr": None if target is None else train_synthetic_test_real(columns, target, synthetic_frame, real_frame,
                                                                      train_frame, seed),
        "sdmetrics_version": sdmetrics.__version__,
    }


# -- the table's own values --------------------------------------------------------------------------------
def as_frame(columns: Sequence[TableColumn], rows: torch.Tensor | np.ndarray):
    """Stored rows ``[N, C]`` as a pandas frame of the table's own values: category names (``object`` columns,
    which SDMetrics reads as categories), integers (``int64``), numbers (``float64``)."""
    import pandas as pd

    if len(rows) == 0:
        raise DataError("no rows to score: the table is empty")
    values = list(zip(*readable_rows(columns, rows), strict=True))
    dtypes = {"categorical": object, "integer": np.int64, "continuous": np.float64}
    return pd.DataFrame({column.name: pd.Series(cells, dtype=dtypes[column.kind])
                         for column, cells in zip(columns, values, strict=True)})


def sdmetrics_metadata(columns: Sequence[TableColumn]) -> dict[str, Any]:
    """SDMetrics' single-table metadata: every column ``numerical`` or ``categorical``."""
    return {"columns": {column.name: {"sdtype": "categorical" if column.kind == "categorical" else "numerical"}
                        for column in columns}}


# -- the metrics -----------------------------------------------------------------------------------------------
def column_shapes(columns: Sequence[TableColumn], real, synthetic) -> dict[str, Any]:
    """``{"mean", "columns": {name: {"metric", "score"}}}``: KSComplement of each number column, TVComplement
    of each categorical one."""
    from sdmetrics.single_column import KSComplement, TVComplement

    scores = {}
    for column in columns:
        metric = TVComplement if column.kind == "categorical" else KSComplement
        scores[column.name] = {"metric": metric.__name__,
                               "score": float(metric.compute(real[column.name], synthetic[column.name]))}
    return {"mean": float(np.mean([entry["score"] for entry in scores.values()])), "columns": scores}


def column_pair_trends(columns: Sequence[TableColumn], real, synthetic) -> dict[str, Any]:
    """``{"mean", "pairs": [{"columns", "metric", "score"}], "incomputable": [...]}``: CorrelationSimilarity of
    each pair of number columns, ContingencySimilarity of each pair involving a categorical one (its number
    column, if any, cut into :data:`PAIR_BINS` bins). A pair SDMetrics cannot score (a constant column has no
    correlation) is listed under ``incomputable`` and left out of the mean, as SDMetrics' report does."""
    from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity
    from sdmetrics.errors import ConstantInputError

    pairs, incomputable = [], []
    for first, second in combinations(columns, 2):
        names = [first.name, second.name]
        numbers = [column.name for column in (first, second) if column.kind != "categorical"]
        try:
            if len(numbers) == 2:
                metric = CorrelationSimilarity
                score = metric.compute(real[names], synthetic[names], coefficient="Pearson")
            else:
                metric = ContingencySimilarity
                score = metric.compute(real[names], synthetic[names], continuous_column_names=numbers or None,
                                       num_discrete_bins=PAIR_BINS)
        except ConstantInputError as error:
            incomputable.append({"columns": names, "metric": metric.__name__, "why": str(error)})
            continue
        if np.isnan(score):
            incomputable.append({"columns": names, "metric": metric.__name__, "why": "undefined (NaN)"})
            continue
        pairs.append({"columns": names, "metric": metric.__name__, "score": float(score)})
    mean = float(np.mean([pair["score"] for pair in pairs])) if pairs else float("nan")
    return {"mean": mean, "pairs": pairs, "incomputable": incomputable}


def detection(columns: Sequence[TableColumn], real, synthetic, seed: int = 0) -> float:
    """SDMetrics' LogisticDetection of ``synthetic`` among ``real`` rows (see :data:`DETECTION_MEANING`)."""
    from sdmetrics.single_table import LogisticDetection
    from sklearn.exceptions import ConvergenceWarning

    real, synthetic = _one_hot(columns, real), _one_hot(columns, synthetic)
    metadata = {"columns": {name: {"sdtype": "numerical"} for name in real.columns}}
    with _numpy_seed(seed), warnings.catch_warnings():
        # its logistic regression stops at 100 iterations on wide one-hot tables; the score is still its own
        warnings.simplefilter("ignore", ConvergenceWarning)
        return float(LogisticDetection.compute(real, synthetic, metadata))


def _one_hot(columns: Sequence[TableColumn], frame):
    """Categorical columns one-hot over the table's whole category list, as SDMetrics' detection encodes them;
    its own encoder is fitted on the real rows alone and fails on a category only the synthetic rows hold (Adult's
    ``Holand-Netherlands`` is in no test row)."""
    import pandas as pd

    parts = {}
    for column in columns:
        if column.kind == "categorical":
            for category in column.categories:
                parts[f"{column.name}={category}"] = (frame[column.name] == category).astype(np.float64)
        else:
            parts[column.name] = frame[column.name].astype(np.float64)
    return pd.DataFrame(parts)


def train_synthetic_test_real(columns: Sequence[TableColumn], target: str, synthetic, real_test, real_train=None,
                              seed: int = 0) -> dict[str, Any]:
    """Fit the classifier (a regressor for a number target) on ``synthetic`` rows and on ``real_train`` rows,
    score both on ``real_test``'s ``target``: ``{"target", "task", "synthetic": scores, "real": scores or None,
    "model", ...}``; scores are ``{"accuracy", "f1"}`` (with ``positive_class`` for a binary target) or
    ``{"r2"}``."""
    target_column = next(column for column in columns if column.name == target)
    features = [column for column in columns if column.name != target]
    result: dict[str, Any] = {"target": target}
    if target_column.kind == "categorical":
        binary = len(target_column.categories) == 2
        positive = str(real_test[target].value_counts().index[-1]) if binary else None  # the rarer real class
        result.update(task="classification", f1=f"binary F1 of {positive!r}" if binary else "macro F1")

        def fit_and_score(rows) -> dict[str, Any]:
            return _classification_scores(features, target, rows, real_test, positive, seed)
    else:
        result["task"] = "regression"

        def fit_and_score(rows) -> dict[str, Any]:
            return _regression_scores(features, target, rows, real_test, seed)
    result["synthetic"] = fit_and_score(synthetic)
    result["real"] = None if real_train is None else fit_and_score(real_train)
    result["model"] = "scikit-learn HistGradientBoosting, categories one-hot encoded"
    return result


def _pipeline(features: Sequence[TableColumn], estimator):
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    categorical = [column for column in features if column.kind == "categorical"]
    encoder = OneHotEncoder(categories=[list(column.categories) for column in categorical], handle_unknown="ignore",
                            sparse_output=False)
    return make_pipeline(ColumnTransformer([("categories", encoder, [column.name for column in categorical])],
                                           remainder="passthrough"), estimator)


def _classification_scores(features, target, train, test, positive: str | None, seed: int) -> dict[str, Any]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import accuracy_score, f1_score

    names = [column.name for column in features]
    labels = train[target].astype(str).to_numpy()
    truth = test[target].astype(str).to_numpy()
    if len(set(labels)) < 2:  # nothing to learn: the one class the rows hold is every prediction
        predicted = np.full(len(test), labels[0], dtype=object)
    else:
        model = _pipeline(features, HistGradientBoostingClassifier(random_state=seed)).fit(train[names], labels)
        predicted = model.predict(test[names])
    scores: dict[str, Any] = {"accuracy": float(accuracy_score(truth, predicted))}
    if positive is not None:
        scores["f1"] = float(f1_score(truth, predicted, pos_label=positive, average="binary", zero_division=0))
        scores["positive_class"] = positive
    else:
        scores["f1"] = float(f1_score(truth, predicted, average="macro", zero_division=0))
    scores["classes_in_training"] = len(set(labels))
    return scores


def _regression_scores(features, target, train, test, seed: int) -> dict[str, float]:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.metrics import r2_score

    names = [column.name for column in features]
    model = _pipeline(features, HistGradientBoostingRegressor(random_state=seed)).fit(train[names], train[target])
    return {"r2": float(r2_score(test[target], model.predict(test[names])))}


# -- helpers -----------------------------------------------------------------------------------------------
def _import_sdmetrics():
    try:
        import sdmetrics
    except ImportError:
        raise ConfigError(f"scoring synthetic tables needs SDMetrics: {INSTALL_HINT}") from None
    return sdmetrics


@contextmanager
def _numpy_seed(seed: int):
    """NumPy's global generator seeded for the duration (SDMetrics' detection shuffles its folds with it), then
    put back as it was."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)
