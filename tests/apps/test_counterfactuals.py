"""Counterfactual explanations through a tiny real plugin, on synthetic vectors whose attributes are known
directions of the latent: validity, sparsity, frozen and one-way attributes, the gradient variant, style refinement,
attribute ranking and the errors a user meets."""

from collections import Counter

import numpy as np
import pytest
import torch
from torch import nn

from condgen.apps.counterfactuals import find_counterfactuals, rank_attributes
from condgen.data.dataset import LabeledDataset
from condgen.data.schema import Attribute, AttributeSchema
from condgen.errors import ConfigError
from condgen.plugin import BackboneAdapter, PluginConfig, fit_plugin
from condgen.train import TrainConfig

LATENT_DIM = 10
SCHEMA = AttributeSchema((
    Attribute("smile", "binary"),
    Attribute("glasses", "binary"),
    Attribute("age", "continuous"),
    Attribute("shape", "categorical", categories=("round", "square", "star")),
))


def oracle(z: torch.Tensor) -> torch.Tensor:
    """True attributes ``[N, 4]`` of latents: each one a direction (z5…z9 are style)."""
    shape = torch.stack([z[:, 3], z[:, 4], -z[:, 3] - z[:, 4]], dim=1).argmax(dim=1).float()
    return torch.stack([(z[:, 0] > 0).float(), (z[:, 1] > 0.3).float(), 40 + 10 * z[:, 2], shape], dim=1)


class LinearEncoder(nn.Module):
    """Exact inverse of a full-column-rank linear decoder."""

    def __init__(self, decoder: nn.Linear):
        super().__init__()
        self.register_buffer("pinv", torch.linalg.pinv(decoder.weight.detach()))
        self.register_buffer("bias", decoder.bias.detach().clone())

    def forward(self, x):
        return (x - self.bias) @ self.pinv.T


class SmileClassifier(nn.Module):
    """P(class 1) = σ(4·z_smile + 0.5·z_age) of decoded vectors ``[N, 16]`` → ``[N, 2]``: mostly the smile direction."""

    def __init__(self, encoder: LinearEncoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, x):
        z = self.encoder(x)
        p = torch.sigmoid(4 * z[:, 0] + 0.5 * z[:, 2])
        return torch.stack([1 - p, p], dim=1)


@pytest.fixture(scope="module")
def problem():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine is shared; small nets are faster single-threaded anyway
    torch.manual_seed(0)
    decoder = nn.Linear(LATENT_DIM, 16).requires_grad_(False)
    encoder = LinearEncoder(decoder)
    backbone = BackboneAdapter(decoder, LATENT_DIM, encoder=encoder)
    generator = torch.Generator().manual_seed(0)
    z = torch.randn(2000, LATENT_DIM, generator=generator)
    values = oracle(z)
    with torch.no_grad():
        dataset = LabeledDataset(backbone.decode(z), values, SCHEMA.with_statistics(values),
                                 {"name": "synthetic", "modality": "vectors"})
    plugin = fit_plugin(backbone, dataset, SCHEMA.names, PluginConfig(hidden=32, depth=2, n_couplings=3),
                        TrainConfig(steps=300, batch_size=256, seed=0, progress=False, device="cpu"), progress=False)
    plugin.eval()
    yield plugin, encoder
    torch.set_num_threads(threads)


def numpy_classifier(module: nn.Module):
    """The same classifier as a plain callable returning numpy probabilities."""
    def probabilities(x):
        with torch.no_grad():
            return module(torch.as_tensor(x)).numpy()
    return probabilities


def queries_outside(classify, plugin, n: int, seed: int, below: float = 0.4) -> torch.Tensor:
    """``n`` random latents the classifier puts in class 0 (P(class 1) < ``below``)."""
    z = torch.randn(20 * n, LATENT_DIM, generator=torch.Generator().manual_seed(seed))
    p = classify(plugin.decode(z))[:, 1]
    return z[torch.as_tensor(p < below)][:n]


def validity(sets) -> float:
    return float(np.mean([any(c.valid for c in s.counterfactuals) for s in sets]))


def recheck(sets, classify, target: int = 1, margin: float = 0.1) -> None:
    """Every returned counterfactual's valid flag and probability agree with classifying its example again."""
    for s in sets:
        for c in s.counterfactuals:
            p = classify(c.example.unsqueeze(0))[0]
            assert c.probability == pytest.approx(float(p[target]), abs=1e-5)
            assert c.valid == (p[target] >= 0.5 + margin)


def test_counterfactuals_flip_the_decision_with_few_changes(problem):
    plugin, encoder = problem
    classify = numpy_classifier(SmileClassifier(encoder))
    z = queries_outside(classify, plugin, 100, seed=1)
    sets = find_counterfactuals(plugin, z, classify, 1, k=4)
    assert len(sets) == 100 and not any(s.in_target for s in sets)
    assert validity(sets) >= 0.95
    assert all(c.valid for s in sets for c in s.counterfactuals)  # only valid ones are returned
    recheck(sets, classify)
    changes = [c.changes for s in sets for c in s.counterfactuals]
    assert np.mean([len(c) for c in changes]) <= 1.5
    assert all(1 <= len(s.counterfactuals) <= 4 for s in sets)
    counts = Counter(name for c in changes for name in c)
    assert counts.most_common(1)[0][0] == "smile" and counts["smile"] >= 95
    # Readable values: the read-back original on the left, the new value on the right; fewest changes first.
    first = sets[0]
    assert first.counterfactuals[0].changes["smile"] == (first.readable["smile"], "yes") == ("no", "yes")
    assert set(first.readable) == set(SCHEMA.names) and first.readable["shape"] in ("round", "square", "star")
    # The decoded flip is real: the smile direction of the counterfactual's latent is positive.
    flips = [c.latent for s in sets for c in s.counterfactuals if set(c.changes) == {"smile"}]
    assert (oracle(torch.stack(flips))[:, 0] == 1).float().mean() >= 0.95


def test_frozen_attributes_keep_their_values(problem):
    plugin, encoder = problem
    classify = numpy_classifier(SmileClassifier(encoder))
    z = queries_outside(classify, plugin, 60, seed=2)
    age_std = plugin.schema["age"].std
    for freeze in (("smile", "shape"), ("age", "glasses")):
        sets = find_counterfactuals(plugin, z, classify, 1, freeze=freeze)
        found = [(s, c) for s in sets for c in s.counterfactuals]
        assert found and not any(name in c.changes for _, c in found for name in freeze)
        read = plugin.predict_values(torch.stack([c.latent for _, c in found]))
        for column, name in enumerate(SCHEMA.names):
            if name not in freeze:
                continue
            before = torch.tensor([s.values[name] for s, _ in found])
            if name == "age":  # the same coordinate, through the flow and back: within 1 % of a std
                assert (read[:, column] - before).abs().max() <= 0.01 * age_std
            else:
                assert torch.equal(read[:, column], before)
    # With smile frozen only a large age change (the classifier's weak direction) can flip a few of them.
    assert 0.02 <= validity(find_counterfactuals(plugin, z, classify, 1, freeze=("smile", "shape"))) <= 0.5


def test_increase_and_decrease_only_move_one_way(problem):
    plugin, encoder = problem

    def extreme_age(x):  # class 1 = |z_age| > 1.5: reachable both up and down from the middle
        z = encoder(torch.as_tensor(x))
        p = torch.sigmoid(4 * (z[:, 2].abs() - 1.5))
        return torch.stack([1 - p, p], dim=1).numpy()

    z = queries_outside(extreme_age, plugin, 60, seed=3, below=0.3)
    free = find_counterfactuals(plugin, z, extreme_age, 1)
    ages = [c.changes["age"] for s in free for c in s.counterfactuals if "age" in c.changes]
    assert any(new < old for old, new in ages) and any(new > old for old, new in ages)
    sets = find_counterfactuals(plugin, z, extreme_age, 1, increase=("age", "glasses"), decrease="shape")
    assert validity(sets) >= 0.95
    recheck(sets, extreme_age)
    changes = [c.changes for s in sets for c in s.counterfactuals]
    assert all(new > old for c in changes if "age" in c for old, new in [c["age"]])
    assert all(c["glasses"] == ("no", "yes") for c in changes if "glasses" in c)
    order = SCHEMA["shape"].categories
    assert all(order.index(c["shape"][1]) < order.index(c["shape"][0]) for c in changes if "shape" in c)


def test_multiclass_targets_one_per_query(problem):
    plugin, encoder = problem

    def shape_classifier(x):  # softmax over the three shape directions
        z = encoder(torch.as_tensor(x))
        return torch.softmax(4 * torch.stack([z[:, 3], z[:, 4], -z[:, 3] - z[:, 4]], dim=1), dim=1).numpy()

    z = torch.randn(60, LATENT_DIM, generator=torch.Generator().manual_seed(4))
    targets = [(int(c) + 1) % 3 for c in shape_classifier(plugin.decode(z)).argmax(axis=1)]
    sets = find_counterfactuals(plugin, z, shape_classifier, targets, k=2, margin=0.2)
    assert [s.target_class for s in sets] == targets
    assert validity(sets) >= 0.95
    for s in sets:
        for c in s.counterfactuals:
            p = shape_classifier(c.example.unsqueeze(0))[0]
            assert p[s.target_class] - np.delete(p, s.target_class).max() >= 0.2
    counts = Counter(name for s in sets for c in s.counterfactuals for name in c.changes)
    assert counts.most_common(1)[0][0] == "shape"


def test_gradient_variant_reaches_validity(problem):
    plugin, encoder = problem
    module = SmileClassifier(encoder)
    classify = numpy_classifier(module)
    z = queries_outside(classify, plugin, 40, seed=5)
    sets = find_counterfactuals(plugin, z, module, 1, k=2, freeze=("glasses",))
    assert validity(sets) >= 0.95
    recheck(sets, classify)
    changes = [c.changes for s in sets for c in s.counterfactuals]
    assert np.mean([len(c) for c in changes]) <= 1.5 and not any("glasses" in c for c in changes)
    assert Counter(name for c in changes for name in c).most_common(1)[0][0] == "smile"
    assert all(p.grad is None for p in plugin.parameters())  # the plugin's own gradients stay untouched


def test_style_refinement_reaches_examples_attributes_cannot_flip(problem):
    plugin, encoder = problem

    def style_classifier(x):  # depends on a style direction only: no attribute change flips it
        z = encoder(torch.as_tensor(x))
        p = torch.sigmoid(4 * (z[:, 7] - 0.5))
        return torch.stack([1 - p, p], dim=1).numpy()

    z = queries_outside(style_classifier, plugin, 30, seed=6, below=0.3)
    assert validity(find_counterfactuals(plugin, z, style_classifier, 1, max_changes=1)) <= 0.1
    sets = find_counterfactuals(plugin, z, style_classifier, 1, max_changes=1, style_steps=15)
    assert validity(sets) >= 0.7
    recheck(sets, style_classifier)
    assert all(c.style_shift > 0 for s in sets for c in s.counterfactuals)


def test_rank_attributes_puts_the_classifier_attribute_first(problem):
    plugin, encoder = problem
    classify = numpy_classifier(SmileClassifier(encoder))
    effects = rank_attributes(plugin, queries_outside(classify, plugin, 80, seed=7), classify, 1, freeze=("glasses",))
    assert [e.name for e in effects][0] == "smile" and {e.name for e in effects} == {"smile", "age", "shape"}
    assert effects[0].flip_rate >= 0.95 and effects[0].mean_probability_change >= 0.6
    assert all(e.flip_rate <= 0.3 for e in effects[1:]) and effects[0].examples == 80


def test_examples_already_in_the_target_class_are_not_searched(problem):
    plugin, encoder = problem
    classify = numpy_classifier(SmileClassifier(encoder))
    inside = queries_outside(lambda x: classify(x)[:, ::-1], plugin, 5, seed=8)  # P(class 1) > 0.6
    sets = find_counterfactuals(plugin, inside, classify, 1)
    assert all(s.in_target and s.counterfactuals == [] for s in sets)


def test_bad_options_are_config_errors(problem):
    plugin, encoder = problem
    classify = numpy_classifier(SmileClassifier(encoder))
    z = torch.randn(3, LATENT_DIM)
    valid = "valid: smile, glasses, age, shape"
    with pytest.raises(ConfigError, match=f"freeze: unknown attribute 'beard'; {valid}"):
        find_counterfactuals(plugin, z, classify, 1, freeze=("beard",))
    with pytest.raises(ConfigError, match=f"increase: unknown attribute 'Age'; {valid}"):
        rank_attributes(plugin, z, classify, 1, increase=["Age"])
    with pytest.raises(ConfigError, match="age cannot be both in freeze and in increase"):
        find_counterfactuals(plugin, z, classify, 1, freeze="age", increase="age")
    with pytest.raises(ConfigError, match=r"target class 2 is outside the classifier's classes; choose 0\.\.1"):
        find_counterfactuals(plugin, z, classify, 2)
    with pytest.raises(ConfigError, match="one per example"):
        find_counterfactuals(plugin, z, classify, [1, 0])
    with pytest.raises(ConfigError, match="needs the classifier as a torch.nn.Module"):
        find_counterfactuals(plugin, z, classify, 1, method="gradient")
    with pytest.raises(ConfigError, match="k must be an integer ≥ 1"):
        find_counterfactuals(plugin, z, classify, 1, k=0)
