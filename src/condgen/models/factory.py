"""Model names used by the CLI (``condgen train vae …``) → a configured, untrained model for a data set."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from condgen.data.dataset import LabeledDataset
from condgen.errors import ConfigError, check_choice
from condgen.models.aae import AAE
from condgen.models.base import GenerativeModel
from condgen.models.cgan import CGAN
from condgen.models.charrnn import CharRNN
from condgen.models.conditional_diffusion import ConditionalDiffusion
from condgen.models.ctgan import CTGAN
from condgen.models.cvae import CVAE
from condgen.models.diffusion import GaussianDiffusion
from condgen.models.gan import GAN
from condgen.models.gmm import GaussianMixtureModel
from condgen.models.image_flow import Glow, RealNVP
from condgen.models.kde import KernelDensityModel
from condgen.models.options import checked_options
from condgen.models.organ import ORGAN
from condgen.models.progan import ProGAN
from condgen.models.smiles_aae import SmilesAAE
from condgen.models.smiles_base import SEQUENCE_DATA_OPTIONS
from condgen.models.smiles_vae import SmilesVAE
from condgen.models.tvae import TVAE
from condgen.models.vae import VAE
from condgen.models.wae import WAE
from condgen.nn.networks import ImageArchitecture

#: Images smaller than this (8×8 digits) use MLPs; the DCGAN stacks start at 16 px.
SMALLEST_CONV_SIDE = 16


#: SAGAN (Zhang et al., 2019): attention at 16x16 feature maps (the largest side below on smaller images), spectral
#: norm in G and D, no batch norm in D, and the two time-scale update rule with the paper's Adam settings.
SAGAN_DEFAULTS = {"attention": 16, "spectral_norm": "all", "critic_batch_norm": False, "lr": 1e-4,
                  "discriminator_lr": 4e-4, "betas": (0.0, 0.9)}


@dataclass(frozen=True)
class Recipe:
    """A model class plus the options its name fixes (e.g. ``lsgan`` → ``loss="ls"``)."""

    model_class: type[GenerativeModel]
    description: str
    fixed: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)


RECIPES: dict[str, Recipe] = {
    "vae": Recipe(VAE, "variational autoencoder (beta=1, KL warm-up); the plugin's default backbone"),
    "beta-vae": Recipe(VAE, "beta-VAE: a VAE with a heavier KL term (beta=4 unless -o beta=…)",
                       defaults={"beta": 4.0}),
    "wae": Recipe(WAE, "Wasserstein autoencoder with an inverse-multiquadratic MMD penalty"),
    "aae": Recipe(AAE, "adversarial autoencoder with a N(0, I) prior and a latent discriminator"),
    "gan": Recipe(GAN, "GAN with the non-saturating loss (DCGAN networks for images)", fixed={"loss": "ns"}),
    "dcgan": Recipe(GAN, "alias of gan", fixed={"loss": "ns"}),
    "lsgan": Recipe(GAN, "least-squares GAN", fixed={"loss": "ls"}),
    "wgan": Recipe(GAN, "Wasserstein GAN with weight clipping (5 critic steps per generator step)",
                   fixed={"loss": "wgan"}),
    "wgan-gp": Recipe(GAN, "Wasserstein GAN with gradient penalty (lambda 10, 5 critic steps, no batch norm)",
                      fixed={"loss": "wgan-gp"}),
    "hinge-gan": Recipe(GAN, "GAN with the hinge loss", fixed={"loss": "hinge"}),
    "sagan": Recipe(GAN, "SAGAN: self-attention (16x16 maps) and spectral norm in both networks, hinge loss, "
                    "two learning rates (G 1e-4, D 4e-4, Adam betas 0, 0.9)", fixed={"loss": "hinge"},
                    defaults=SAGAN_DEFAULTS),
    "progan": Recipe(ProGAN, "progressive growing of GANs: 4x4 up to the data's size with fade-in, pixel norm, "
                     "equalised learning rate, minibatch std, WGAN-GP"),
    "cvae": Recipe(CVAE, "conditional VAE: encoder and decoder see the attributes (baseline)"),
    "cgan": Recipe(CGAN, "conditional GAN with a projection discriminator (baseline)"),
    "ddpm": Recipe(GaussianDiffusion, "denoising diffusion (UNet, T=1000); samples by DDPM ancestral steps; "
                   "latent x_T: DDIM inversion / decoding. Trains as ddim does", defaults={"sampler": "ddpm"}),
    "ddim": Recipe(GaussianDiffusion, "the same diffusion model as ddpm, sampling by deterministic DDIM "
                   "(50 steps unless -o ddim_steps=…)", defaults={"sampler": "ddim"}),
    "cdiffusion": Recipe(ConditionalDiffusion, "conditional diffusion with classifier-free guidance on the "
                         "attributes (baseline)"),
    "realnvp": Recipe(RealNVP, "RealNVP normalising flow on images: exact likelihood (bits/dim), encode and decode"),
    "glow": Recipe(Glow, "Glow normalising flow on images (actnorm, 1x1 convolutions): exact likelihood, encode"),
    "smiles-vae": Recipe(SmilesVAE, "SMILES VAE: bidirectional GRU encoder, GRU decoder, KL annealing (molecules)"),
    "smiles-aae": Recipe(SmilesAAE, "SMILES adversarial autoencoder: GRU encoder and decoder, latent discriminator"),
    "charrnn": Recipe(CharRNN, "CharRNN: LSTM language model over SMILES tokens (molecules; no latent space)"),
    "organ": Recipe(ORGAN, "ORGAN: SeqGAN over SMILES with an optional objective reward (logp, qed, sas, tpsa)"),
    "tvae": Recipe(TVAE, "TVAE: a VAE for tables (mode-specific normalisation, per-column likelihoods); "
                   "--data adult or a CSV with --target"),
    "ctgan": Recipe(CTGAN, "CTGAN: a conditional GAN for tables (mode-specific normalisation, training-by-sampling, "
                    "PacGAN critic, WGAN-GP); --batch-size a multiple of pac=10, e.g. 500"),
    "gmm": Recipe(GaussianMixtureModel, "Gaussian mixture (full covariances; k by 5-fold cross-validated "
                  "log-likelihood) of vectors, or of a backbone's latents (--latents-of)"),
    "kde": Recipe(KernelDensityModel, "Gaussian kernel density (bandwidth by 5-fold cross-validated "
                  "log-likelihood) of vectors, or of a backbone's latents (--latents-of)"),
}

#: CLI name → one-line description.
MODEL_NAMES: dict[str, str] = {name: recipe.description for name, recipe in RECIPES.items()}
#: The names of the models that generate SMILES (they train on token ids, not images or vectors).
SMILES_MODEL_NAMES: frozenset[str] = frozenset(
    name for name, recipe in RECIPES.items() if recipe.model_class.modalities == ("smiles",))
#: The names of the models fitted in closed form (gmm, kde: ``fits_in_closed_form``), not trained by the engine.
CLOSED_FORM_MODEL_NAMES: frozenset[str] = frozenset(
    name for name, recipe in RECIPES.items() if getattr(recipe.model_class, "fits_in_closed_form", False))

#: The names of the models whose networks :class:`~condgen.nn.networks.ImageArchitecture` builds (images or
#: vectors, ``latent_dim``, ``arch``): every family but the SMILES models, the image flows, the densities and diffusion.
ARCHITECTURE_MODEL_NAMES: frozenset[str] = frozenset(
    name for name, recipe in RECIPES.items() if issubclass(recipe.model_class.config_class, ImageArchitecture))


def data_options(dataset: LabeledDataset, model_class: type[GenerativeModel]) -> dict[str, Any]:
    """The options a data set decides: for SMILES models the vocabulary ``tokens`` and ``max_length``;
    otherwise ``data_shape``, ``arch`` and, for vectors, a ``latent_dim`` no larger than the data (a
    2-D toy set gets a 2-D latent). A model given the other kind of data is a ConfigError."""
    modality = dataset.modality.name
    if modality not in model_class.modalities:
        wanted = "SMILES (--data moses or a .smi/.csv file)" if model_class.modalities == ("smiles",) else \
            "vectors (for images: fit it on a backbone's latents, --latents-of BACKBONE)" \
            if model_class.modalities == ("vectors",) else \
            "a table (--data adult, or your CSV with --target COLUMN)" if model_class.modalities == ("tables",) \
            else " or ".join(model_class.modalities)
        raise ConfigError(f"this model needs {wanted}, but {dataset.name} holds {modality}")
    if modality == "smiles":
        return {key: (tuple(dataset.spec[key]) if key == "tokens" else dataset.spec[key])
                for key in SEQUENCE_DATA_OPTIONS}
    if modality == "tables":  # each column's mode-specific normalisation, fitted on these rows
        from condgen.data.table_columns import columns_of
        from condgen.models.table_transform import fit_layout

        layouts = fit_layout(columns_of(dataset.spec), dataset.data)
        return {"data_shape": tuple(dataset.example_shape), "columns": tuple(layout.to_dict() for layout in layouts)}
    shape = tuple(int(d) for d in dataset.example_shape)
    is_conv_image = modality == "images" and min(shape[1:]) >= SMALLEST_CONV_SIDE
    options: dict[str, Any] = {"data_shape": shape, "arch": "dcgan" if is_conv_image else "mlp"}
    names = {f.name for f in fields(model_class.config_class)}
    if modality == "vectors" and "latent_dim" in names:
        default_latent = next(f.default for f in fields(model_class.config_class) if f.name == "latent_dim")
        options["latent_dim"] = min(default_latent, max(2, shape[0]))
    return {key: value for key, value in options.items() if key in names}  # a density or a flow has no arch


def build_model(name: str, dataset: LabeledDataset, **options: Any) -> GenerativeModel:
    """An untrained model ``name`` (a key of :data:`MODEL_NAMES`) shaped for ``dataset``.

    ``options`` override the config's hyper-parameters (``latent_dim=32``, ``beta=4``, ``arch="mlp"``…);
    the data shape comes from the data set. Every model keeps the data set's attribute schema (the
    conditional ones, cvae and cgan, condition on it) and its ``data_spec`` is set to ``dataset.spec``,
    so the artifact records what it was trained on.

    Raises:
        ConfigError: unknown model name, unknown option name, an option the name fixes, or a bad value
            (of another type than the field's, not finite, or a learning rate, size or count ≤ 0:
            :mod:`condgen.models.options`).
    """
    recipe = RECIPES[check_choice(name, RECIPES, "model")]
    model_class = recipe.model_class
    defaults = option_defaults(name)
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ConfigError(f"{name}: unknown options {unknown}; valid: {', '.join(sorted(defaults))}")
    options = checked_options(name, model_class.config_class, options, defaults)
    for key, value in recipe.fixed.items():
        if key in options and options[key] != value:
            raise ConfigError(f"{name} means {key}={value!r}; for another {key} use model "
                              f"'{model_class.kind}' with -o {key}={options[key]}")
    values = {**data_options(dataset, model_class), **recipe.defaults, **options, **recipe.fixed}
    try:
        config = model_class.build_config(values)
        model = model_class(config, dataset.schema)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{name}: invalid option value ({error})") from None
    model.data_spec = dict(dataset.spec)
    return model


def option_defaults(name: str) -> dict[str, Any]:
    """The ``-o`` keys model ``name`` takes, with their defaults (those its name sets included); the data
    set decides ``data_shape`` (and a SMILES model's vocabulary), which are not options."""
    recipe = RECIPES[check_choice(name, RECIPES, "model")]
    defaults = {f.name: f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
                for f in fields(recipe.model_class.config_class)
                if f.name not in ("data_shape", "columns", *SEQUENCE_DATA_OPTIONS)}
    return {**defaults, **recipe.defaults, **recipe.fixed}
