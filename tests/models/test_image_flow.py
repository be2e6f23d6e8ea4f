"""RealNVP and Glow: bits/dim equal a hand value, training lowers them, encode/decode are exact, save → load
and resume keep everything (ActNorm's data-dependent initialisation included)."""

import json
import math

import pytest
import torch
import torch.nn.functional as F

import condgen
from condgen.data.dataset import LabeledDataset
from condgen.data.schema import Attribute, AttributeSchema
from condgen.errors import ConfigError
from condgen.models import Glow, RealNVP, build_model
from condgen.nn.image_flow import ActNorm
from condgen.train import TrainConfig, train

TINY_FLOW = {"n_levels": 2, "steps_per_level": 2, "hidden": 16}
SCHEMA = AttributeSchema((Attribute("bright", "binary"),))


def smooth_images(n: int = 256, seed: int = 0, channels: int = 1, size: int = 8) -> LabeledDataset:
    """uint8 ``[n, C, size, size]``: blurry random patterns (2×2 noise upsampled), brighter when ``bright`` = 1,
    plus a little pixel noise — structure a flow can learn, with an attribute an image shows."""
    generator = torch.Generator().manual_seed(seed)
    bright = torch.randint(0, 2, (n,), generator=generator).float()
    coarse = torch.randn(n, channels, 2, 2, generator=generator)
    pattern = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    pixels = 110 + 30 * pattern + 60 * bright[:, None, None, None]
    pixels = pixels + 4 * torch.randn(pixels.shape, generator=generator)
    data = pixels.round().clamp(0, 255).to(torch.uint8)
    values = bright[:, None]
    return LabeledDataset(data, values, SCHEMA.with_statistics(values), {"name": "smooth", "modality": "images"})


def quiet(**values) -> TrainConfig:
    return TrainConfig(**{"batch_size": 32, "progress": False, "device": "cpu", "log_every": 0, **values})


@pytest.fixture(scope="module")
def trained():
    """A RealNVP and a Glow trained 300 steps on 256 smooth 1×8×8 images, with bits/dim before and after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    data = smooth_images()
    x = data.examples()
    models = {}
    for name in ("realnvp", "glow"):
        torch.manual_seed(0)
        model = build_model(name, data, **TINY_FLOW)
        model.train()
        model.flow(model.preprocess((x + 1) / 2)[0])  # ActNorm's initialisation on the whole set: fair "before"
        model.eval()
        with torch.no_grad():
            before = model.bits_per_dim(x, generator=torch.Generator().manual_seed(9)).mean().item()
        model = train(model, data, quiet(steps=300, lr_schedule="cosine")).model.eval()
        with torch.no_grad():
            after = model.bits_per_dim(x, generator=torch.Generator().manual_seed(9)).mean().item()
        models[name] = (model, before, after)
    yield data, models
    torch.set_num_threads(threads)


def test_bits_per_dim_of_a_fresh_glow_equal_the_hand_value():
    # A fresh Glow is a rotation (1×1 convs) of p − ½ (identity couplings, ActNorm not yet initialised):
    # −log p(p) = ½‖p − ½‖² + D/2 · log 2π, and P(x) = p(p) / 256^D.
    data = smooth_images(n=4)
    torch.manual_seed(0)
    model = build_model("glow", data, **TINY_FLOW).eval()
    x = data.examples()
    p = ((x + 1) * 127.5 + torch.rand(x.shape, generator=torch.Generator().manual_seed(1))) / 256
    dims = 64
    nll = 0.5 * (p - 0.5).pow(2).flatten(1).sum(1) + dims / 2 * math.log(2 * math.pi) + dims * math.log(256)
    got = model.bits_per_dim(x, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(got, nll / (dims * math.log(2)), atol=1e-4)


@pytest.mark.parametrize("name", ["realnvp", "glow"])
def test_training_lowers_bits_per_dim(trained, name):
    _, models = trained
    _, before, after = models[name]
    # measured: realnvp 7.38 → 4.90, glow 6.46 → 4.93 (the pixel noise, σ = 4 levels, alone costs about 4 bits)
    assert after < before - 1.2, (before, after)
    assert after < 5.2


@pytest.mark.parametrize("name", ["realnvp", "glow"])
def test_encode_then_decode_gives_the_image_back(trained, name):
    data, models = trained
    model = models[name][0]
    x = data.examples(slice(0, 64))
    with torch.no_grad():
        z = model.encode(x)
        assert z.shape == (64, model.latent_dim) and model.latent_dim == 64
        assert (model.decode(z) - x).abs().max() < 1e-5
        assert (model.encode(model.decode(z)) - z).abs().max() < 1e-3
        # the image's latents look like the prior once trained: roughly standard normal
        assert abs(z.std().item() - 1) < 0.3


@pytest.mark.parametrize("name", ["realnvp", "glow"])
def test_save_load_gives_identical_likelihood_and_samples(trained, name, tmp_path):
    data, models = trained
    model = models[name][0]
    model.save(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["kind"] == name
    loaded = condgen.load(tmp_path)
    assert type(loaded) is type(model) and loaded.config == model.config and not loaded.training
    x = data.examples(slice(0, 16))
    with torch.no_grad():
        assert torch.equal(model.log_likelihood(x, generator=torch.Generator().manual_seed(3)),
                           loaded.log_likelihood(x, generator=torch.Generator().manual_seed(3)))
        first = model.sample(6, generator=torch.Generator().manual_seed(4), temperature=0.7)
        assert torch.equal(first, loaded.sample(6, generator=torch.Generator().manual_seed(4), temperature=0.7))
    assert all(layer.initialized.item() == 1 for layer in loaded.modules() if isinstance(layer, ActNorm))
    loaded.train()
    before = {key: value.clone() for key, value in loaded.state_dict().items()}
    loaded.flow(loaded.preprocess((x + 1) / 2)[0])  # a training pass does not initialise ActNorm again
    assert all(torch.equal(before[key], value) for key, value in loaded.state_dict().items())


def test_temperature_shrinks_the_latents_and_sampling_is_seeded(trained):
    _, models = trained
    model = models["glow"][0]
    cold = model.sample(64, generator=torch.Generator().manual_seed(5), temperature=0.3)
    warm = model.sample(64, generator=torch.Generator().manual_seed(5), temperature=1.0)
    assert cold.shape == (64, 1, 8, 8) and cold.abs().max() <= 1
    assert cold.std(dim=0).mean() < warm.std(dim=0).mean()  # colder: less variety
    assert torch.equal(warm, model.sample(64, generator=torch.Generator().manual_seed(5)))
    with pytest.raises(ConfigError, match="temperature"):
        model.sample(2, temperature=0.0)


def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path):
    data = smooth_images(n=64)

    def run(steps: int, out, resume: bool = False) -> RealNVP:
        torch.manual_seed(0)
        model = build_model("realnvp", data, **TINY_FLOW)
        return train(model, data, quiet(steps=steps, out=out, resume=resume, checkpoint_every=3)).model

    straight = run(6, tmp_path / "straight")
    run(3, tmp_path / "split")
    resumed = run(6, tmp_path / "split", resume=True)
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_configs_and_data_are_checked():
    data = smooth_images(n=4)
    with pytest.raises(ConfigError, match="divisible by 16"):
        build_model("glow", data, n_levels=4)  # 8 px: the fourth squeeze has no 2×2 block left
    assert isinstance(build_model("realnvp", data, n_levels=4), RealNVP)  # RealNVP squeezes one time fewer
    with pytest.raises(ConfigError, match="preprocessing"):
        build_model("glow", data, preprocessing="tanh")
    vectors = LabeledDataset(torch.randn(4, 3), torch.zeros(4, 1), SCHEMA, {"name": "v", "modality": "vectors"})
    with pytest.raises(ConfigError, match="needs images"):
        build_model("glow", vectors)
    assert build_model("glow", data).config.preprocessing == "affine"
    assert build_model("realnvp", data).config.preprocessing == "logit"
    assert isinstance(build_model("glow", data, **TINY_FLOW), Glow)
