"""Attribute metrics of conditional generation and editing, scored by an independent oracle.

Pure functions on tensors. Attribute tensors are ``[N, K]`` in the schema's stored encoding
(binary 0/1, continuous raw value, categorical index), as returned by
:meth:`condgen.models.classifier.AttributeClassifier.predict_values`. The oracle must not be the
classifier used to train or guide the model being evaluated (see REFERENCES: common protocol).

* :func:`conditional_accuracy` — does a generated example have the attributes it was asked for?
* :func:`edit_success` — after an edit, does the oracle see the target value?
* :func:`preservation` / :func:`mnac` — did the *other* attributes stay as they were?
* :func:`change_size` — how much of the image changed (per-pixel distance).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError, DataError


def _check_pair(first: torch.Tensor, second: torch.Tensor, names: str) -> None:
    if first.shape != second.shape or first.ndim != 2:
        raise DataError(f"{names}: expected two [N, K] tensors of the same shape, "
                        f"got {list(first.shape)} and {list(second.shape)}")


def _column_index(column: int | str, schema: AttributeSchema | None) -> int:
    if isinstance(column, str):
        if schema is None:
            raise DataError(f"attribute {column!r} given by name: pass the schema too")
        return schema.index(column)
    return int(column)


def conditional_accuracy(predicted: torch.Tensor, requested: torch.Tensor, schema: AttributeSchema,
                         tolerance: float = 0.5) -> dict[str, float | dict[str, float]]:
    """Agreement of oracle predictions with the requested attributes, per attribute.

    Args:
        predicted: ``[N, K]`` oracle predictions for N generated examples.
        requested: ``[N, K]`` the values they were generated for; NaN = not requested (skipped).
        schema: the K attributes.
        tolerance: for continuous attributes, a prediction counts as a hit when
            ``|predicted - requested| ≤ tolerance · std`` (the attribute's standard deviation in the data).

    Returns:
        ``{name: accuracy}`` (exact match) for binary / categorical attributes and
        ``{name: {"within_tolerance": share, "mae": mean |predicted - requested| on the raw scale}}``
        for continuous ones; NaN where nothing was requested.
    """
    _check_pair(predicted, requested, "conditional_accuracy(predicted, requested)")
    if predicted.shape[1] != len(schema):
        raise DataError(f"conditional_accuracy: {predicted.shape[1]} columns, schema has {len(schema)}")
    report: dict[str, float | dict[str, float]] = {}
    for column, attribute in enumerate(schema):
        asked = ~torch.isnan(requested[:, column])
        error = (predicted[asked, column].double() - requested[asked, column].double()).abs()
        if attribute.kind == "continuous":
            hits = (error <= tolerance * attribute.std).double()
            report[attribute.name] = {"within_tolerance": float(hits.mean()), "mae": float(error.mean())}
        else:
            report[attribute.name] = float((error == 0).double().mean())
    return report


def edit_success(pred_after: torch.Tensor, target_value: float | torch.Tensor, column: int | str,
                 schema: AttributeSchema | None = None, tolerance: float = 0.0) -> float:
    """Share of edited examples in which the oracle sees the target value of ``column``.

    Args:
        pred_after: ``[N, K]`` oracle predictions on the edited examples.
        target_value: the requested value (one number, or ``[N]`` per example, e.g. each flipped).
        column: the edited attribute, as a column index or (with ``schema``) a name.
        tolerance: a hit is ``|prediction - target| ≤ tolerance`` (raw scale); 0 = exact match, the
            right choice for binary / categorical attributes.
    """
    index = _column_index(column, schema)
    target = torch.as_tensor(target_value, dtype=torch.float64)
    return float(((pred_after[:, index].double() - target).abs() <= tolerance).double().mean())


def _other_discrete_columns(changed_columns: Sequence[int | str] | int | str,
                            schema: AttributeSchema) -> list[int]:
    """Binary / categorical columns not among ``changed_columns``."""
    if isinstance(changed_columns, (int, str)):
        changed_columns = [changed_columns]
    changed = {_column_index(c, schema) for c in changed_columns}
    return [i for i, a in enumerate(schema) if a.kind != "continuous" and i not in changed]


def preservation(pred_before: torch.Tensor, pred_after: torch.Tensor,
                 changed_columns: Sequence[int | str] | int | str, schema: AttributeSchema) -> float:
    """Share of the *other* binary / categorical attributes that the oracle sees unchanged.

    The mean over examples and over the attributes not in ``changed_columns`` of
    ``1[pred_before == pred_after]``; 1.0 = no side effects. Continuous attributes are left out
    (they never stay exactly equal). NaN when no other discrete attribute exists.

    Args:
        pred_before, pred_after: ``[N, K]`` oracle predictions before and after the edit.
        changed_columns: the attribute(s) the edit meant to change (indices or names).
    """
    _check_pair(pred_before, pred_after, "preservation(pred_before, pred_after)")
    others = _other_discrete_columns(changed_columns, schema)
    if not others:
        return float("nan")
    return float((pred_before[:, others] == pred_after[:, others]).double().mean())


def mnac(pred_before: torch.Tensor, pred_after: torch.Tensor,
         changed_columns: Sequence[int | str] | int | str, schema: AttributeSchema) -> float:
    """Mean Number of Attributes Changed: over examples, how many *other* binary / categorical
    attributes the oracle sees flipped by the edit (0 = no side effects).

    Equals ``(1 - preservation) · (number of other discrete attributes)``.
    """
    _check_pair(pred_before, pred_after, "mnac(pred_before, pred_after)")
    others = _other_discrete_columns(changed_columns, schema)
    if not others:
        return 0.0
    return float((pred_before[:, others] != pred_after[:, others]).double().sum(dim=1).mean())


def flip_rates(pred_before: torch.Tensor, pred_after: torch.Tensor,
               schema: AttributeSchema) -> dict[str, float]:
    """``{name: share of examples whose oracle prediction changed}`` per binary / categorical attribute."""
    _check_pair(pred_before, pred_after, "flip_rates(pred_before, pred_after)")
    return {a.name: float((pred_before[:, i] != pred_after[:, i]).double().mean())
            for i, a in enumerate(schema) if a.kind != "continuous"}


def change_size(x_before: torch.Tensor, x_after: torch.Tensor, norm: str = "l1") -> float:
    """Size of an edit in input space, averaged over examples.

    ``l1``: mean absolute per-pixel (per-element) difference ``mean |x_after - x_before|``;
    ``l2``: root mean squared per-pixel difference, averaged over examples. On images in [-1, 1]
    both lie in [0, 2]: 0 = unchanged, 2 = every pixel went from black to white.

    Args:
        x_before, x_after: ``[N, ...]`` examples (images ``[N, C, H, W]`` in [-1, 1]).
    """
    if x_before.shape != x_after.shape:
        raise DataError(f"change_size: shapes differ, {list(x_before.shape)} vs {list(x_after.shape)}")
    difference = (x_after.double() - x_before.double()).flatten(1)
    if norm == "l1":
        return float(difference.abs().mean())
    if norm == "l2":
        return float(difference.square().mean(dim=1).sqrt().mean())
    raise ConfigError(f"change_size: norm must be 'l1' or 'l2', got {norm!r}")
