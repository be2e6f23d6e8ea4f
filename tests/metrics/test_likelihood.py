"""Bits/dim: the discretised decoder likelihoods are distributions over 256 levels, a 1-D-latent VAE's bounds against
log P(x) integrated on a grid, training lowers the bound, GMM's differential bits/dim of a standard normal, flows
through their own method, and the families without a likelihood refused."""

import math

import pytest
import torch

from condgen.data import load_dataset
from condgen.data.dataset import LabeledDataset
from condgen.data.schema import Attribute, AttributeSchema
from condgen.errors import ConfigError
from condgen.metrics.likelihood import (
    _decoder_log_likelihood,
    bits_per_dim,
    discretized_continuous_bernoulli_log_likelihood,
    discretized_gaussian_log_likelihood,
)
from condgen.models import build_model
from condgen.train import TrainConfig, train
from condgen.train.seeding import seed_everything

LEVELS = torch.arange(256, dtype=torch.float64) / 127.5 - 1  # every 8-bit value on the [-1, 1] scale


def test_discretised_likelihoods_sum_to_one_over_the_256_levels():
    x = LEVELS.reshape(256, 1)
    for mean in (-1.3, -0.99, 0.0, 0.37, 1.0, 2.5):
        log_p = discretized_gaussian_log_likelihood(x, torch.full_like(x, mean), std=0.2)
        assert float(torch.logsumexp(log_p, 0).exp()) == pytest.approx(1.0, abs=1e-9)
    tiny = discretized_gaussian_log_likelihood(x, torch.full_like(x, 0.0), std=1e-3)  # all mass on level 127/128
    assert float(torch.logsumexp(tiny, 0).exp()) == pytest.approx(1.0, abs=1e-9) and torch.isfinite(tiny).all()
    for logit in (-40.0, -3.0, 0.0, 1e-9, 0.5, 12.0, 60.0):
        log_p = discretized_continuous_bernoulli_log_likelihood(x, torch.full_like(x, logit))
        assert torch.isfinite(log_p).all()
        assert float(torch.logsumexp(log_p, 0).exp()) == pytest.approx(1.0, abs=1e-9)
    # logit 0 is uniform on [0, 1]: the inner levels hold 1/255, the two outer ones half of it.
    uniform = discretized_continuous_bernoulli_log_likelihood(x, torch.zeros_like(x)).exp()
    assert float(uniform[100]) == pytest.approx(1 / 255) and float(uniform[0]) == pytest.approx(0.5 / 255)


def tiny_images(n: int = 24, seed: int = 0) -> LabeledDataset:
    generator = torch.Generator().manual_seed(seed)
    data = torch.randint(0, 256, (n, 1, 3, 3), generator=generator, dtype=torch.uint8)
    schema = AttributeSchema((Attribute("bright", "binary"),))
    attributes = (data.float().mean(dim=(1, 2, 3)) > 127).float()[:, None]
    return LabeledDataset(data, attributes, schema.with_statistics(attributes), {"name": "tiny", "modality": "images"})


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_vae_bounds_against_the_log_likelihood_integrated_over_a_one_dimensional_latent(likelihood):
    data = tiny_images()
    seed_everything(0)
    vae = build_model("vae", data, latent_dim=1, hidden=16, depth=1, likelihood=likelihood, decoder_std=0.3).eval()
    x = data.examples()
    dims = x[0].numel()
    grid = torch.linspace(-9, 9, 6001, dtype=torch.float64)
    with torch.no_grad():
        outputs = vae.decoder_output(grid[:, None].float())                          # [G, 1, 3, 3]
        log_joint = torch.stack([_decoder_log_likelihood(vae, example.expand(len(grid), -1, -1, -1), outputs)
                                 for example in x])                                  # [N, G]
    log_joint = log_joint - 0.5 * (grid.pow(2) + math.log(2 * math.pi))
    exact_bits = -(torch.logsumexp(log_joint, dim=1) + math.log(float(grid[1] - grid[0]))) / (dims * math.log(2))
    generator = torch.Generator().manual_seed(0)
    elbo = bits_per_dim(vae, x, generator=generator)
    iwae = bits_per_dim(vae, x, samples=2000, generator=generator)
    assert elbo.kind == "upper bound" and elbo.data == "8-bit images" and "negative ELBO" in elbo.how
    gap_elbo, gap_iwae = elbo.mean - float(exact_bits.mean()), iwae.mean - float(exact_bits.mean())
    assert gap_elbo > 0.005                      # an untrained encoder: a loose bound
    assert -0.003 < gap_iwae < 0.1 * gap_elbo    # 2,000 draws: nearly exact, and never below it (up to noise)


def test_training_lowers_the_vae_bound_on_digits():
    data = load_dataset("digits")
    seed_everything(0)
    vae = build_model("vae", data, latent_dim=8)
    x = data.examples()[:400]
    before = bits_per_dim(vae, x, generator=torch.Generator().manual_seed(0)).mean
    trained = train(vae, data, TrainConfig(steps=300, batch_size=64, progress=False)).model
    after = bits_per_dim(trained, x, generator=torch.Generator().manual_seed(0)).mean
    assert after < before - 1.0, (before, after)


def test_gmm_gives_the_differential_bits_per_dim_of_a_standard_normal():
    points = torch.randn(3000, 2, generator=torch.Generator().manual_seed(0))
    schema = AttributeSchema((Attribute("unused", "binary"),))
    labels = torch.zeros(3000, 1)
    data = LabeledDataset(points, labels, schema.with_statistics(labels), {"name": "normal", "modality": "vectors"})
    gmm = build_model("gmm", data, max_components=2).fit(data, progress=False)
    result = bits_per_dim(gmm, points)
    assert result.kind == "exact" and result.data == "continuous vectors"
    assert result.mean == pytest.approx(0.5 * math.log2(2 * math.pi * math.e), abs=0.03)  # 2.047 bits
    assert result.mean == pytest.approx(-gmm.log_likelihood(points) / (2 * math.log(2)), rel=1e-9)


def test_flows_report_their_own_bits_per_dim_and_gans_have_none():
    data = tiny_images(8)
    images = load_dataset("faces", n=4, size=16).examples()
    flow_data = LabeledDataset(images, torch.zeros(4, 1), data.schema, {"name": "faces", "modality": "images"})
    flow = build_model("realnvp", flow_data, n_levels=1, steps_per_level=1, hidden=4).eval()
    ours = bits_per_dim(flow, images, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        theirs = flow.bits_per_dim(images, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(ours.per_example, theirs.double()) and ours.kind == "upper bound in expectation"
    with pytest.raises(ConfigError, match="defines no likelihood"):
        bits_per_dim(build_model("gan", data, latent_dim=2, hidden=8, depth=1), data.examples())
    cvae = build_model("cvae", data, latent_dim=2, hidden=8, depth=1)
    with pytest.raises(ConfigError, match="conditional"):
        bits_per_dim(cvae, data.examples())
    conditional = bits_per_dim(cvae, data.examples(), attributes=data.attributes, samples=3)
    assert conditional.per_example.shape == (8,) and "importance-weighted" in conditional.how
