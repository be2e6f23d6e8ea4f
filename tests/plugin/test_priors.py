"""The plugin's attribute priors against scipy, including missing labels."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal, norm

from condgen.data.schema import Attribute, AttributeSchema
from condgen.errors import DataError
from condgen.plugin.priors import (
    AttributePrior,
    binary_log_prob,
    binary_sigmas,
    categorical_log_prob,
    continuous_log_prob,
)

NAN = float("nan")


def test_balanced_binary_components_match_scipy():
    sigma, p = 0.4, 0.2
    c = torch.tensor([0.9, -1.3, 0.1, 1.7], dtype=torch.float64)
    y = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    sigma_pos, sigma_neg = sigma * math.sqrt(2 * p), sigma * math.sqrt(2 * (1 - p))
    assert binary_sigmas(sigma, p) == pytest.approx((sigma_pos, sigma_neg))
    expected = [norm.logpdf(0.9, 1, sigma_pos), norm.logpdf(-1.3, -1, sigma_neg),
                norm.logpdf(0.1, 1, sigma_pos), norm.logpdf(1.7, -1, sigma_neg)]
    assert binary_log_prob(c, y, sigma, p).numpy() == pytest.approx(expected, rel=1e-9)
    unbalanced = binary_log_prob(c, y, sigma, p, balanced=False).numpy()
    assert unbalanced == pytest.approx([norm.logpdf(0.9, 1, sigma), norm.logpdf(-1.3, -1, sigma),
                                        norm.logpdf(0.1, 1, sigma), norm.logpdf(1.7, -1, sigma)], rel=1e-9)


def test_missing_binary_label_is_the_equal_mixture():
    sigma, p = 0.5, 0.7
    sigma_pos, sigma_neg = binary_sigmas(sigma, p)
    c = np.array([-2.0, -0.4, 0.0, 0.3, 1.1])
    expected = np.log(0.5 * norm.pdf(c, 1, sigma_pos) + 0.5 * norm.pdf(c, -1, sigma_neg))
    got = binary_log_prob(torch.tensor(c), torch.full((5,), NAN, dtype=torch.float64), sigma, p)
    assert got.numpy() == pytest.approx(expected, rel=1e-9)


def test_continuous_prior_and_missing_continuous_contributes_zero():
    c = torch.tensor([0.2, -1.0, 3.0], dtype=torch.float64)
    y = torch.tensor([0.0, NAN, 2.5], dtype=torch.float64)
    got = continuous_log_prob(c, y, 0.3).numpy()
    assert got == pytest.approx([norm.logpdf(0.2, 0.0, 0.3), 0.0, norm.logpdf(3.0, 2.5, 0.3)], rel=1e-9)


def test_categorical_components_and_missing_mixture_match_scipy():
    sigma, rates = 0.3, [0.5, 0.3, 0.2]
    c = torch.tensor([[0.8, -1.1, -0.9], [-1.0, 0.2, 0.4], [0.0, 0.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([0.0, 2.0, NAN], dtype=torch.float64)
    widths = [sigma * math.sqrt(3 * r) for r in rates]
    means = 2 * np.eye(3) - 1

    def log_component(row, k):
        return multivariate_normal.logpdf(row, means[k], widths[k] ** 2 * np.eye(3))

    mixture = np.log(np.mean([np.exp(log_component(c[2].numpy(), k)) for k in range(3)]))
    expected = [log_component(c[0].numpy(), 0), log_component(c[1].numpy(), 2), mixture]
    assert categorical_log_prob(c, y, sigma, rates).numpy() == pytest.approx(expected, rel=1e-9)


def schema():
    return AttributeSchema((
        Attribute("smile", "binary", positive_rate=0.3),
        Attribute("age", "continuous", mean=40.0, std=10.0),
        Attribute("hair", "categorical", categories=("black", "blond", "brown")),
    ))


def test_attribute_prior_lays_out_blocks_and_a_missing_label_leaves_other_terms_unchanged():
    prior = AttributePrior(schema(), category_rates={"hair": [0.2, 0.3, 0.5]})
    assert prior.width == 5
    assert prior.slices == {"smile": slice(0, 1), "age": slice(1, 2), "hair": slice(2, 5)}
    c = torch.randn(4, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    full = torch.tensor([[1.0, 50.0, 2.0]] * 4, dtype=torch.float64)
    terms = prior.log_prob_terms(c, full, 0.4)
    assert terms[:, 1].numpy() == pytest.approx(norm.logpdf(c[:, 1].numpy(), 1.0, 0.4), rel=1e-9)
    for column in range(3):
        partial = full.clone()
        partial[:, column] = NAN
        changed = prior.log_prob_terms(c, partial, 0.4)
        others = [k for k in range(3) if k != column]
        assert torch.equal(changed[:, others], terms[:, others])
        assert not torch.allclose(changed[:, column], terms[:, column])
    assert torch.allclose(prior.log_prob(c, full, 0.4), terms.sum(dim=1))


def test_targets_sampling_and_posterior():
    prior = AttributePrior(schema(), category_rates={"hair": [0.2, 0.3, 0.5]}, quantiles={"age": [-1.0, 0.0, 2.0]})
    assert prior.target("smile", 1.0).tolist() == [1.0]
    assert prior.target("smile", 1.5).tolist() == [2.0]  # traversals extrapolate
    assert prior.target("age", 55.0).tolist() == [1.5]
    assert prior.target("hair", 1.0).tolist() == [-1.0, 1.0, -1.0]
    with pytest.raises(DataError, match="category index"):
        prior.target("hair", 1.5)

    generator = torch.Generator().manual_seed(0)
    fixed = prior.sample(4000, {"smile": 0.0, "hair": 2.0}, sigma=0.3, generator=generator)
    assert torch.equal(fixed[:, 0], torch.full((4000,), -1.0))
    assert torch.equal(fixed[:, 2:], torch.tensor([[-1.0, -1.0, 1.0]]).expand(4000, -1))
    free = prior.sample(4000, {}, sigma=0.3, generator=generator)
    assert (free[:, 0] > 0).float().mean() == pytest.approx(0.3, abs=0.03)  # Bernoulli(p) then component
    assert free[:, 2:].argmax(dim=1).bincount(minlength=3).float().div(4000).tolist() == pytest.approx(
        [0.2, 0.3, 0.5], abs=0.03)
    # Age labels from the quantile table: uniform on [-1, 0] half the time, on [0, 2] otherwise, plus N(0, σ²).
    assert free[:, 1].mean().item() == pytest.approx(0.25 * -1 + 0.25 * 2, abs=0.05)

    c = torch.tensor([[0.0, 0.5, 1.0, -1.0, -1.0]])
    posterior = prior.posterior(c, sigma=0.4)
    sigma_pos, sigma_neg = binary_sigmas(0.4, 0.3)
    positive, negative = 0.3 * norm.pdf(0.0, 1, sigma_pos), 0.7 * norm.pdf(0.0, -1, sigma_neg)
    expected = positive / (positive + negative)
    assert posterior["smile"].item() == pytest.approx(expected, rel=1e-5)
    assert posterior["age"].item() == pytest.approx(45.0)
    assert posterior["hair"].argmax().item() == 0 and posterior["hair"].sum().item() == pytest.approx(1.0)


def test_unset_continuous_attributes_are_drawn_given_the_set_ones():
    from condgen.plugin.priors import score_correlation

    schema = AttributeSchema([Attribute("a", "continuous", mean=0.0, std=1.0),
                              Attribute("b", "continuous", mean=0.0, std=1.0)])
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(20000, generator=generator, dtype=torch.float64)
    b = 0.8 * a + 0.6 * torch.randn(20000, generator=generator, dtype=torch.float64)
    values = torch.stack([a, b], dim=1)
    values[:50, 1] = NAN  # rows with a missing label are left out of the correlation
    levels = torch.linspace(0, 1, 101, dtype=torch.float64)
    quantiles = {name: torch.quantile(values[:, i][~values[:, i].isnan()], levels).tolist()
                 for i, name in enumerate("ab")}
    correlation = score_correlation(schema, values, quantiles)
    assert correlation["names"] == ["a", "b"] and correlation["matrix"][0][1] == pytest.approx(0.8, abs=0.02)

    prior = AttributePrior(schema, quantiles=quantiles, correlation=correlation)
    given = prior.sample(8000, {"a": 1.5}, sigma=0.05, generator=generator)
    assert torch.equal(given[:, 0], torch.full((8000,), 1.5))
    assert given[:, 1].mean().item() == pytest.approx(0.8 * 1.5, abs=0.05)  # E[b | a] of the data
    assert given[:, 1].std().item() == pytest.approx(0.6, abs=0.05)
    free = prior.sample(8000, {}, sigma=0.05, generator=generator)
    assert torch.corrcoef(free.T)[0, 1].item() == pytest.approx(0.8, abs=0.03)
    independent = AttributePrior(schema, quantiles=quantiles).sample(8000, {"a": 1.5}, sigma=0.05, generator=generator)
    assert independent[:, 1].mean().item() == pytest.approx(0.0, abs=0.05)  # without a copula: the marginal
