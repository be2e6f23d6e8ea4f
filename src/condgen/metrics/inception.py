"""Inception Score (Salimans et al., 2016): how confidently *and* how diversely a classifier labels samples.

For a classifier giving ``p(y | x)`` over C classes, ``IS = exp(E_x KL(p(y | x) ‖ p(y)))`` with the marginal
``p(y) = E_x p(y | x)`` over the samples. It is ``exp`` of the mutual information between sample and label, so
``1 ≤ IS ≤ C``: 1 when every sample gets the same distribution (collapse, or an undecided classifier), C when
each sample is labelled with certainty and the classes are used equally often. Higher is better.

* :func:`domain_inception_score` — IS on the *domain* classifier (an :class:`AttributeClassifier`, e.g. the
  faces oracle). Its heads are several binary (and categorical) attributes, not one softmax, so the label is
  the **combination** of its discrete attributes: ``p(y | x) = Π_k p(y_k | x)`` over the ``Π_k C_k``
  combinations (binary: ``C_k = 2``), the heads taken as independent given the image, as the classifier was
  trained. The range is ``[1, Π_k C_k]`` — ``[1, 64]`` for the faces oracle's six binary attributes; continuous
  attributes have no classes and are left out. :func:`per_attribute_inception_scores` gives each attribute's own
  IS (range ``[1, C_k]``): which attributes a generator renders diversely and clearly.
* :func:`inception_score` — the usual Inception-v3 IS (1,008 logits, ``logits_unbiased``) from a LOCAL weights
  file, like :func:`~condgen.metrics.fid.inception_fid`.

Both run torchmetrics' ``InceptionScore``; with ``splits > 1`` the samples are shuffled (seeded) and cut into
``splits`` parts, and ``(mean, std)`` over the parts is returned (``std`` is 0 for one split). IS is biased
downwards for small N (the marginal is estimated from the same samples) and depends on the classifier, so
scores from different classifiers or sample counts are not comparable.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.image.inception import InceptionScore

from condgen.errors import ConfigError, DataError
from condgen.metrics.fid import as_rgb_uint8, checked_inception_weights
from condgen.models.classifier import AttributeClassifier

#: The most attribute combinations :func:`domain_inception_score` forms (the joint table is ``[N, combinations]``).
MAX_COMBINATIONS = 4096


def _score_of_features(features: list[torch.Tensor], metric: InceptionScore, splits: int,
                       seed: int) -> tuple[float, float]:
    for chunk in features:
        metric.update(chunk)
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():  # it shuffles with the global RNG
        torch.manual_seed(seed)
        warnings.filterwarnings("ignore", message=".*degrees of freedom.*")  # the std of one split
        mean, std = metric.compute()
    return float(mean), 0.0 if splits == 1 else float(std)


def _new_metric(feature: nn.Module, splits: int) -> InceptionScore:
    with warnings.catch_warnings():  # "will save all extracted features": yes, IS needs them all
        warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
        return InceptionScore(feature=feature, splits=splits)


def inception_score_of_log_probabilities(log_probabilities: torch.Tensor, splits: int = 1,
                                         seed: int = 0) -> tuple[float, float]:
    """IS of per-sample class log-probabilities ``[N, C]`` (any normalisation: they go through a softmax).

    Returns ``(mean, std)`` over ``splits`` seeded parts of the samples (``std`` 0 for one split).
    """
    if log_probabilities.ndim != 2 or log_probabilities.shape[0] < max(2, splits):
        raise DataError(f"need [N, C] log-probabilities with N ≥ max(2, splits={splits}), got "
                        f"{list(log_probabilities.shape)}")
    # Floor at -700 nats: a class no sample can have would otherwise make torchmetrics divide 0 by 0.
    values = log_probabilities.double().clamp(min=-700.0)
    return _score_of_features([values], _new_metric(nn.Identity(), splits), splits, seed)


def discrete_attribute_names(classifier: AttributeClassifier, attributes: Sequence[str] | None = None) -> list[str]:
    """The classifier's binary and categorical attributes (or the given ones, checked to be such)."""
    schema = classifier.schema
    names = [a.name for a in schema if a.kind != "continuous"] if attributes is None else list(attributes)
    for name in names:
        if schema[name].kind == "continuous":
            raise ConfigError(f"the Inception Score needs classes; {name!r} is continuous")
    if not names:
        raise ConfigError("the Inception Score needs a binary or categorical attribute; the classifier has none")
    return names


def attribute_log_probabilities(classifier: AttributeClassifier, outputs: torch.Tensor,
                                name: str) -> torch.Tensor:
    """Log-probabilities ``[N, C]`` of attribute ``name``'s classes from head outputs ``[N, condition_width]``
    (binary: ``[log P(0), log P(1)]``)."""
    attributes = classifier.schema.attributes
    index = classifier.schema.index(name)
    # The classifier's heads sit in schema order, each as wide as its attribute.
    start = sum(attribute.width for attribute in attributes[:index])
    out = outputs[:, start:start + attributes[index].width].double()
    if attributes[index].kind == "binary":
        return torch.stack([F.logsigmoid(-out[:, 0]), F.logsigmoid(out[:, 0])], dim=1)
    return out.log_softmax(dim=1)


def combination_log_probabilities(parts: Sequence[torch.Tensor]) -> torch.Tensor:
    """Joint log-probabilities ``[N, Π C_k]`` of independent attributes from their ``[N, C_k]`` tables;
    column ``Σ_k y_k Π_{j>k} C_j`` is the combination ``(y_1, …, y_K)`` (the last attribute fastest)."""
    joint = parts[0]
    for part in parts[1:]:
        joint = (joint[:, :, None] + part[:, None, :]).reshape(joint.shape[0], -1)
    return joint


def _log_probability_tables(images: torch.Tensor, classifier: AttributeClassifier,
                            attributes: Sequence[str] | None, batch_size: int) -> dict[str, torch.Tensor]:
    names = discrete_attribute_names(classifier, attributes)
    combinations = math.prod(2 if classifier.schema[n].kind == "binary" else classifier.schema[n].width
                             for n in names)
    if combinations > MAX_COMBINATIONS:
        raise ConfigError(f"{', '.join(names)} have {combinations:,} combinations (at most {MAX_COMBINATIONS:,}); "
                          "pass fewer attributes, or use per_attribute_inception_scores")
    outputs = classifier.predict_outputs(images, batch_size)
    return {name: attribute_log_probabilities(classifier, outputs, name) for name in names}


def domain_inception_score(images: torch.Tensor, classifier: AttributeClassifier,
                           attributes: Sequence[str] | None = None, splits: int = 1, batch_size: int = 256,
                           seed: int = 0) -> tuple[float, float]:
    """IS of images ``[N, C, H, W]`` in [-1, 1] over the combinations of the classifier's discrete attributes.

    ``attributes``: which of them (default: every binary and categorical one). Range ``[1, Π_k C_k]`` (see the
    module docstring). Returns ``(mean, std)`` over ``splits`` seeded parts.
    """
    tables = _log_probability_tables(images, classifier, attributes, batch_size)
    return inception_score_of_log_probabilities(combination_log_probabilities(list(tables.values())), splits, seed)


def per_attribute_inception_scores(images: torch.Tensor, classifier: AttributeClassifier,
                                   attributes: Sequence[str] | None = None,
                                   batch_size: int = 256) -> dict[str, float]:
    """``{attribute: IS}`` of images ``[N, C, H, W]`` for each discrete attribute on its own (range ``[1, C_k]``)."""
    tables = _log_probability_tables(images, classifier, attributes, batch_size)
    return {name: inception_score_of_log_probabilities(table)[0] for name, table in tables.items()}


def inception_score(images: torch.Tensor, weights_path: str | Path, splits: int = 10, batch_size: int = 64,
                    seed: int = 0) -> tuple[float, float]:
    """The usual Inception-v3 IS of images ``[N, C, H, W]`` in [-1, 1], with weights from a LOCAL file.

    Needs torch-fidelity (whose Inception-v3 torchmetrics runs; note that torch-fidelity's own package imports
    torchvision) and its weights file ``pt_inception-2015-12-05-6726825d.pth``; nothing is ever downloaded.
    Images go in as uint8 RGB, resized to 299 px by the network. Returns ``(mean, std)`` over ``splits`` parts
    (the published protocol: 50,000 samples, 10 splits).
    """
    path = checked_inception_weights(weights_path, "inception_score")
    if images.shape[0] < max(2, splits):
        raise DataError(f"need at least max(2, splits={splits}) images, got {images.shape[0]}")
    from torchmetrics.image.fid import NoTrainInceptionV3

    network = NoTrainInceptionV3(name="inception-v3-compat", features_list=["logits_unbiased"],
                                 feature_extractor_weights_path=str(path))
    metric = _new_metric(network, splits)
    return _score_of_features([as_rgb_uint8(chunk) for chunk in images.split(batch_size)], metric, splits, seed)
