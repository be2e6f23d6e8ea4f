"""Inception Score: torchmetrics' IS against a hand-computed value on fixed logits, the joint attribute-combination
IS of the domain classifier (range, collapse, real faces), and the Inception-v3 IS refusing to download."""

import math

import numpy as np
import pytest
import torch

from condgen.data import load_dataset
from condgen.data.schema import Attribute, AttributeSchema
from condgen.errors import ConfigError
from condgen.io import load
from condgen.metrics.inception import (
    attribute_log_probabilities,
    combination_log_probabilities,
    domain_inception_score,
    inception_score,
    inception_score_of_log_probabilities,
    per_attribute_inception_scores,
)
from condgen.models.classifier import AttributeClassifier, ClassifierConfig


def hand_inception_score(probabilities: np.ndarray) -> float:
    """exp(mean_x KL(p(y|x) || p(y))), written out."""
    marginal = probabilities.mean(axis=0)
    kl = (probabilities * (np.log(probabilities) - np.log(marginal))).sum(axis=1)
    return float(np.exp(kl.mean()))


def test_inception_score_equals_the_hand_computed_value_on_fixed_logits():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 3.0, 0.5], [-1.0, -1.0, 4.0], [1.0, 1.0, 1.0]])
    probabilities = torch.softmax(logits.double(), dim=1).numpy()
    score, std = inception_score_of_log_probabilities(logits)
    assert score == pytest.approx(hand_inception_score(probabilities), rel=1e-9)
    assert std == 0.0
    # The extremes: one certain label per class used equally → C; all samples alike → 1.
    certain = torch.log(torch.eye(3).double() * (1 - 2e-12) + 1e-12)
    assert inception_score_of_log_probabilities(certain)[0] == pytest.approx(3.0, rel=1e-6)
    assert inception_score_of_log_probabilities(logits[:1].repeat(5, 1))[0] == pytest.approx(1.0)
    # Splits are seeded: the same call gives the same (mean, std).
    many = torch.randn(60, 4, generator=torch.Generator().manual_seed(0)) * 3
    assert inception_score_of_log_probabilities(many, splits=3, seed=1) == \
        inception_score_of_log_probabilities(many, splits=3, seed=1)


def two_binary_one_categorical() -> AttributeSchema:
    return AttributeSchema((Attribute("a", "binary"), Attribute("size", "continuous", mean=0.0, std=1.0),
                            Attribute("colour", "categorical", categories=("r", "g", "b")),
                            Attribute("b", "binary")))


def test_joint_combination_probabilities_are_the_product_of_the_heads():
    torch.manual_seed(0)
    classifier = AttributeClassifier(ClassifierConfig(arch="mlp", input_dim=4, hidden=8),
                                     two_binary_one_categorical())
    x = torch.randn(7, 4)
    outputs = classifier.predict_outputs(x)  # columns: a | size | colour (3) | b
    a = attribute_log_probabilities(classifier, outputs, "a")
    colour = attribute_log_probabilities(classifier, outputs, "colour")
    b = attribute_log_probabilities(classifier, outputs, "b")
    assert torch.allclose(a[:, 1].exp(), torch.sigmoid(outputs[:, 0].double()))
    assert torch.allclose(colour.exp(), torch.softmax(outputs[:, 2:5].double(), dim=1))
    assert torch.allclose(b[:, 1].exp(), torch.sigmoid(outputs[:, 5].double()))
    joint = combination_log_probabilities([a, colour, b])
    assert joint.shape == (7, 12)
    assert torch.allclose(joint.exp().sum(dim=1), torch.ones(7, dtype=torch.float64))
    # column (a=1, colour=g, b=0) = 1·6 + 1·2 + 0
    assert torch.allclose(joint[:, 8], a[:, 1] + colour[:, 1] + b[:, 0])
    score, _ = domain_inception_score(x, classifier)  # continuous "size" is left out
    expected = hand_inception_score(joint.exp().numpy())
    assert score == pytest.approx(expected, rel=1e-9)
    assert 1.0 <= score <= 12.0
    with pytest.raises(ConfigError, match="continuous"):
        domain_inception_score(x, classifier, attributes=["size"])


def test_domain_inception_score_on_faces_sees_diversity_and_collapse():
    oracle = load("faces-oracle")  # six binary attributes: range [1, 64]
    faces = load_dataset("faces", n=400, seed=10_007).examples()
    score, _ = domain_inception_score(faces, oracle)
    assert 20.0 < score < 64.0
    collapsed, _ = domain_inception_score(faces[:4].repeat(100, 1, 1, 1), oracle)
    assert collapsed < 4.0 + 1e-6  # at most the number of distinct images
    per_attribute = per_attribute_inception_scores(faces, oracle)
    assert set(per_attribute) == {"male", "smiling", "eyeglasses", "beard", "hat", "bangs"}
    assert all(1.5 < value <= 2.0 for value in per_attribute.values())
    # Noise is labelled with less certainty or less diversity than real faces.
    noise = torch.rand(400, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert domain_inception_score(noise, oracle)[0] < 0.5 * score
    assert math.isfinite(score)


def test_inception_score_needs_a_local_weights_file_and_torch_fidelity(tmp_path):
    images = torch.zeros(4, 3, 8, 8)
    with pytest.raises(ConfigError, match="weights file not found"):
        inception_score(images, tmp_path / "missing.pth")
    from torchmetrics.utilities.imports import _TORCH_FIDELITY_AVAILABLE

    if not _TORCH_FIDELITY_AVAILABLE:
        weights = tmp_path / "weights.pth"
        weights.write_bytes(b"")
        with pytest.raises(ConfigError, match="pip install torch-fidelity"):
            inception_score(images, weights)
