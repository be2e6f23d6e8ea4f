"""Every model family: encode / decode / sample shapes for 32- and 64-px images and for vectors."""

import pytest
import torch

from condgen.models import ARCHITECTURE_MODEL_NAMES, build_model

ENCODERS = {"vae", "beta-vae", "wae", "aae", "cvae"}
CONDITIONAL = {"cvae", "cgan"}


@pytest.mark.parametrize("name", sorted(ARCHITECTURE_MODEL_NAMES))
@pytest.mark.parametrize("size", [32, 64])
def test_image_models_have_backbone_shapes(name, size, images, tiny):
    data = images(n=4, size=size)
    model = build_model(name, data, **tiny).eval()
    x, attributes = data.batch(torch.arange(4))
    assert model.config.arch == "dcgan" and model.config.data_shape == (3, size, size)
    assert model.is_conditional == (name in CONDITIONAL)
    assert model.has_encoder == (name in ENCODERS)
    with torch.no_grad():
        z = model.sample_latent(4, generator=torch.Generator().manual_seed(0))
        assert z.shape == (4, tiny["latent_dim"])
        decoded = model.decode(z, **({"attributes": attributes} if model.is_conditional else {}))
        assert decoded.shape == (4, 3, size, size)
        assert decoded.abs().max() <= 1.0  # images live in [-1, 1]
        extras = {"attributes": attributes} if model.is_conditional else {}
        assert model.sample(4, generator=torch.Generator().manual_seed(0), **extras).shape == (4, 3, size, size)
        if model.has_encoder:
            assert model.encode(x).shape == (4, tiny["latent_dim"])


@pytest.mark.parametrize("name", sorted(ARCHITECTURE_MODEL_NAMES))
def test_vector_models_use_mlps_and_unbounded_outputs(name, vectors, tiny):
    data = vectors(n=6, dim=5)
    model = build_model(name, data, **tiny).eval()
    assert model.config.arch == "mlp" and model.config.data_shape == (5,)
    with torch.no_grad():
        extras = {"attributes": data.attributes[:6]} if model.is_conditional else {}
        samples = model.sample(6, generator=torch.Generator().manual_seed(0), **extras)
        assert samples.shape == (6, 5)
        if model.has_encoder:
            assert model.encode(data.examples(slice(0, 6))).shape == (6, tiny["latent_dim"])
    last = list(model.modules())[-1]
    assert not isinstance(last, torch.nn.Tanh)  # vectors are stored on their own scale


def test_non_power_of_two_images_pad_and_crop(images, tiny):
    data = images(n=3, size=28, channels=1)  # MNIST-sized
    model = build_model("vae", data, **tiny).eval()
    with torch.no_grad():
        assert model.reconstruct(data.examples()).shape == (3, 1, 28, 28)


def test_tiny_images_fall_back_to_mlps(images, tiny):
    data = images(n=3, size=8, channels=1)  # 8x8 digits
    model = build_model("gan", data, **tiny)
    assert model.config.arch == "mlp"
    assert model.sample(3).shape == (3, 1, 8, 8)


def test_vae_posterior_mean_is_the_encoding_and_sampling_is_seeded(images, tiny):
    data = images(n=4, size=32)
    model = build_model("vae", data, **tiny).eval()
    x = data.examples()
    with torch.no_grad():
        mean, log_var = model.posterior(x)
        assert torch.equal(model.encode(x), mean) and log_var.shape == mean.shape
        assert torch.equal(model.reconstruct(x), model.decode(mean))
        first = model.sample(3, generator=torch.Generator().manual_seed(5))
        assert torch.equal(first, model.sample(3, generator=torch.Generator().manual_seed(5)))


def test_bernoulli_vae_decodes_into_the_image_range(images, tiny):
    data = images(n=4, size=16)
    model = build_model("vae", data, likelihood="bernoulli", **tiny).eval()
    with torch.no_grad():
        logits = model.decoder_output(torch.randn(4, tiny["latent_dim"]))
        assert torch.allclose(model.decode(torch.zeros(4, 4)), torch.tanh(model.decoder_output(torch.zeros(4, 4)) / 2))
    assert logits.shape == (4, 3, 16, 16)


def test_conditional_models_follow_their_attributes(images, tiny):
    data = images(n=4, size=16)
    model = build_model("cgan", data, **tiny).eval()
    z = torch.randn(2, tiny["latent_dim"])
    smiling = torch.tensor([[1.0, 30.0, 0.0], [1.0, 30.0, 0.0]])
    frowning = torch.tensor([[0.0, 30.0, 0.0], [0.0, 30.0, 0.0]])
    unknown = torch.full((2, 3), float("nan"))
    with torch.no_grad():
        assert not torch.allclose(model.decode(z, attributes=smiling), model.decode(z, attributes=frowning))
        # All-missing attributes are the zero condition vector, the same as giving none.
        assert torch.equal(model.decode(z, attributes=unknown), model.decode(z))
