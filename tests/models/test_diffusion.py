"""DDPM / DDIM on a tiny trained model: the loss falls, DDIM inversion → decoding gives the image back, DDIM
sampling is reproducible from a seed and identical after save → load."""

import math

import pytest
import torch
from diffusion_data import TINY_UNET, make_bars

import condgen
from condgen.models import GaussianDiffusion, build_model
from condgen.train import TrainConfig, train
from condgen.train.seeding import seed_everything

#: mean absolute error on [-1, 1] that DDIM inversion then decoding (50 steps each way) must stay under on the
#: trained tiny model; measured 0.018 (decoding a random latent instead: ~1.1)
RECONSTRUCTION_MAE = 0.05


@pytest.fixture(scope="module")
def bars():
    return make_bars()


@pytest.fixture(scope="module")
def trained(bars):
    seed_everything(0)
    model = build_model("ddim", bars, **TINY_UNET)
    return train(model, bars, TrainConfig(steps=300, batch_size=32, progress=False, log_every=50))


def test_noise_prediction_loss_falls_on_the_bars(trained):
    losses = [record["model/loss"] for record in trained.history]
    assert isinstance(trained.model, GaussianDiffusion) and trained.model.latent_dim == 64
    # ε-MSE starts near 1 − (what a blurry mean guess explains) and must fall by far more than that
    assert losses[-1] < 0.1 and losses[-1] < 0.35 * losses[0], losses


def test_ddim_inversion_then_decoding_reconstructs_the_image(trained, bars):
    model = trained.model.eval()
    x = bars.examples(slice(0, 16))
    z = model.encode(x, steps=50)
    assert z.shape == (16, 64)
    assert 0.8 < z.std().item() < 1.2 and abs(z.mean().item()) < 0.2  # x_T looks like the N(0, I) prior
    error = (model.decode(z, steps=50) - x).abs().mean().item()
    assert error < RECONSTRUCTION_MAE
    other = (model.decode(torch.randn(16, 64, generator=torch.Generator().manual_seed(0)), steps=50) - x)
    assert other.abs().mean().item() > 10 * error  # the latent, not the decoder, carries the image
    assert torch.equal(model.reconstruct(x[:4], steps=50), model.decode(z[:4], steps=50))


def test_ddim_sampling_is_seeded_and_survives_save_and_load(trained, bars, tmp_path):
    model = trained.model.eval()
    def draw(m, seed):
        return m.sample(4, generator=torch.Generator().manual_seed(seed), sampler="ddim", steps=10)
    first = draw(model, 3)
    assert torch.equal(first, draw(model, 3)) and not torch.equal(first, draw(model, 4))
    assert first.shape == (4, 1, 8, 8) and first.abs().max() <= 1.0
    model.save(tmp_path / "ddim")
    loaded = condgen.load(tmp_path / "ddim")
    assert type(loaded) is GaussianDiffusion and loaded.config == model.config and loaded.kind == "diffusion"
    assert loaded.config.sampler == "ddim" and loaded.schema == bars.schema
    assert torch.equal(draw(loaded, 3), first)
    x = bars.examples(slice(0, 3))
    assert torch.equal(loaded.encode(x, steps=10), model.encode(x, steps=10))


def test_ddpm_ancestral_sampling_draws_its_noise_from_the_generator(trained):
    model = trained.model.eval()
    def draw(seed):
        return model.sample(3, generator=torch.Generator().manual_seed(seed), sampler="ddpm", steps=50)
    first = draw(0)
    assert torch.equal(first, draw(0)) and first.abs().max() <= 1.0
    # the same x_T with other per-step noise: DDPM is stochastic where DDIM is not
    z = model.sample_latent(3, generator=torch.Generator().manual_seed(0))
    predict = model.noise_predictor()
    other = model.ddpm_sample(z, predict, torch.Generator().manual_seed(99), steps=50)
    assert torch.equal(model.ddpm_sample(z, predict, torch.Generator().manual_seed(0).manual_seed(0), steps=50)
                       .shape, other.shape)
    assert not torch.allclose(first, other)


def test_ddpm_and_ddim_train_the_same_model(bars):
    weights = []
    for name in ("ddpm", "ddim"):
        seed_everything(1)
        model = build_model(name, bars, **TINY_UNET)
        model = train(model, bars, TrainConfig(steps=2, batch_size=8, progress=False, log_every=0)).model
        weights.append(model.state_dict())
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])
    assert math.prod(bars.example_shape) == 64
