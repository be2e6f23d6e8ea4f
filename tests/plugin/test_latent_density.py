"""A GMM on a VAE's latents is a latent backbone: it samples latents from the fit and decodes them."""

import json

import pytest
import torch

from condgen.data import load_dataset
from condgen.errors import ArtifactError, ConfigError
from condgen.io import load
from condgen.models.backbone import LatentBackbone, can_encode
from condgen.plugin.latent_density import fit_latent_density


@pytest.fixture(scope="module")
def faces():
    return load_dataset("faces", n=300, seed=0, size=32)


def test_gmm_on_faces_vae_latents_samples_faces_and_round_trips(faces, tmp_path):
    backbone = load("faces-vae")
    model = fit_latent_density("gmm", backbone, faces, options={"max_components": 3}, progress=False)
    assert isinstance(model, LatentBackbone) and can_encode(model)
    assert model.latent_dim == backbone.latent_dim and 1 <= model.density.n_components <= 3
    with torch.no_grad():
        latents = backbone.encode(faces.examples())
    # the fitted density explains the encoder's latents better than the N(0, I) prior does
    prior = torch.distributions.Normal(0.0, 1.0).log_prob(latents.double()).sum(dim=1).mean()
    assert model.log_likelihood(latents) > float(prior) + 1
    images = model.sample(6, generator=torch.Generator().manual_seed(0))
    assert images.shape == (6, *faces.example_shape) and images.min() >= -1 and images.max() <= 1

    model.save(tmp_path / "latent-gmm")
    body = json.loads((tmp_path / "latent-gmm" / "config.json").read_text())
    assert body["kind"] == "latent-density" and body["density_kind"] == "gmm"
    assert body["backbone"]["name"] == "faces-vae" and len(body["backbone"]["sha256"]) == 64
    loaded = load(tmp_path / "latent-gmm")
    assert torch.equal(loaded.sample(6, generator=torch.Generator().manual_seed(0)), images)
    assert loaded.data_spec == faces.spec and body["data"]["source"] == faces.spec
    from condgen.tasks.training import reconstruct

    _, error = reconstruct(loaded, n=4)
    assert error is not None and error < 0.3  # the backbone's own reconstruction, through the loaded artifact


def test_a_non_density_or_an_encoderless_backbone_is_refused(faces):
    with pytest.raises(ConfigError, match="gmm or kde"):
        fit_latent_density("vae", load("faces-vae"), faces)
    with pytest.raises(ConfigError, match="no encoder"):
        fit_latent_density("kde", load("faces-dcgan"), faces)


def test_a_wrong_density_kind_is_an_artifact_error(faces, tmp_path):
    model = fit_latent_density("kde", load("faces-vae"), faces.subset(torch.arange(60)),
                               options={"bandwidth_grid": 5}, progress=False)
    model.save(tmp_path / "kde")
    config = tmp_path / "kde" / "config.json"
    config.write_text(config.read_text().replace('"density_kind": "kde"', '"density_kind": "vae"'))
    with pytest.raises(ArtifactError, match="density_kind"):
        load(tmp_path / "kde")
