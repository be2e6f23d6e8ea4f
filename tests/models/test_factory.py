"""build_model: names, data-derived options, presets and one-line errors."""

import pytest

import condgen.models
from condgen.errors import ConfigError
from condgen.io import ARTIFACT_KINDS
from condgen.models import GAN, MODEL_NAMES, SMILES_MODEL_NAMES, VAE, build_model

EXPECTED_NAMES = {"vae", "beta-vae", "wae", "aae", "gan", "lsgan", "wgan", "wgan-gp", "hinge-gan", "dcgan",
                  "cvae", "cgan", "realnvp", "glow", "charrnn", "smiles-vae", "smiles-aae", "organ"}
EXPECTED_NAMES |= {"progan"}  # progressive growing (models/progan.py)
EXPECTED_NAMES |= {"gmm", "kde"}  # closed-form densities of vectors (models/gmm.py, models/kde.py)
EXPECTED_NAMES |= {"sagan"}  # GAN with self-attention, spectral norm, hinge loss, TTUR (models/gan.py)
EXPECTED_NAMES |= {"ddpm", "ddim", "cdiffusion"}  # diffusion (models/diffusion.py, models/conditional_diffusion.py)
EXPECTED_NAMES |= {"tvae", "ctgan"}  # tables (models/tvae.py, models/ctgan.py)


def test_every_cli_name_is_described_and_every_kind_registered():
    assert set(MODEL_NAMES) == EXPECTED_NAMES
    assert SMILES_MODEL_NAMES == {"charrnn", "smiles-vae", "smiles-aae", "organ"}
    assert all(isinstance(text, str) and text and "\n" not in text for text in MODEL_NAMES.values())
    assert {"vae", "wae", "aae", "gan", "cvae", "cgan"} <= set(ARTIFACT_KINDS)
    assert all(hasattr(condgen.models, name) for name in condgen.models.__all__)


def test_data_shape_architecture_and_spec_come_from_the_data_set(images, vectors):
    faces = images(n=4, size=32)
    model = build_model("vae", faces)
    assert isinstance(model, VAE) and model.config.data_shape == (3, 32, 32) and model.config.arch == "dcgan"
    assert model.config.latent_dim == 64 and model.config.beta == 1.0 and model.config.kl_warmup > 0
    assert model.data_spec == faces.spec and model.schema == faces.schema
    toy = build_model("wgan-gp", vectors(n=4, dim=2))
    assert toy.config.arch == "mlp" and toy.config.data_shape == (2,) and toy.config.latent_dim == 2
    assert build_model("vae", vectors(n=4, dim=300)).config.latent_dim == 64


def test_names_fix_their_losses_and_presets_yield_to_options(images):
    data = images(n=4, size=16)
    losses = {name: build_model(name, data).config.loss for name in ("gan", "dcgan", "lsgan", "wgan", "hinge-gan")}
    assert losses == {"gan": "ns", "dcgan": "ns", "lsgan": "ls", "wgan": "wgan", "hinge-gan": "hinge"}
    wgan = build_model("wgan", data)
    assert isinstance(wgan, GAN) and wgan.config.lr == 5e-5 and wgan.config.n_critic == 5
    assert build_model("beta-vae", data).config.beta == 4.0
    assert build_model("beta-vae", data, beta=8).config.beta == 8.0
    assert build_model("gan", data, betas=[0.0, 0.9]).config.betas == (0.0, 0.9)  # JSON lists from the CLI
    assert build_model("gan", data, loss="ns").config.loss == "ns"


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("diffusion", {}, r"unknown model 'diffusion'; valid: vae, beta-vae"),
        ("vae", {"latent": 3}, r"vae: unknown options \['latent'\]; valid: .*latent_dim"),
        ("vae", {"data_shape": [1, 2]}, r"unknown options \['data_shape'\]"),
        ("lsgan", {"loss": "hinge"}, r"lsgan means loss='ls'; for another loss use model 'gan'"),
        ("gan", {"arch": "resnet"}, r"unknown arch 'resnet'; valid: dcgan, mlp"),
        ("vae", {"likelihood": "poisson"}, r"unknown likelihood 'poisson'"),
        ("wgan-gp", {"critic_batch_norm": True}, r"batch norm in the critic"),
        ("vae", {"latent_dim": "big"}, r"^-o latent_dim=big: vae needs a positive integer there "
                                       r"\(default: -o latent_dim=64\)$"),
        ("vae", {"lr": -1}, r"^-o lr=-1: vae needs a positive number there \(default: -o lr=0.001\)$"),
        ("vae", {"lr": 0}, r"^-o lr=0: vae needs a positive number"),
        ("aae", {"discriminator_lr": "fast"}, r"^-o discriminator_lr=fast: aae needs a positive number"),
        ("vae", {"latent_dim": 0}, r"^-o latent_dim=0: vae needs a positive integer"),
        ("vae", {"depth": 1.5}, r"^-o depth=1.5: vae needs an integer there \(default: -o depth=2\)$"),
        ("vae", {"beta": float("nan")}, r"^-o beta=NaN: vae needs a number there"),
        ("vae", {"betas": [0.9]}, r"^-o betas=\[0.9\]: vae needs a list of 2 numbers there"),
        ("vae", {"grad_clip": -1}, r"^-o grad_clip=-1: vae needs a positive number or null there"),
        ("gan", {"critic_batch_norm": "yes"}, r"^-o critic_batch_norm=yes: gan needs true or false or null"),
        ("cgan", {"loss": "wgan"}, r"cgan: unknown loss 'wgan'; valid: ns, hinge"),
    ],
)
def test_bad_names_and_options_are_one_line_config_errors(name, options, message, images):
    with pytest.raises(ConfigError, match=message) as error:
        build_model(name, images(n=4, size=16), **options)
    assert "\n" not in str(error.value)


def test_vector_data_cannot_use_conv_stacks_and_conditional_models_need_attributes(vectors):
    with pytest.raises(ConfigError, match="arch 'dcgan' needs images"):
        build_model("vae", vectors(n=4), arch="dcgan")
    unlabeled = vectors(n=4).select_attributes([])
    with pytest.raises(ConfigError, match="cvae is conditional and needs a data set with attributes"):
        build_model("cvae", unlabeled)
