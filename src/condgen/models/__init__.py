"""Generative model families, one file each: VAE / β-VAE, WAE, AAE, GANs (NS, LS, WGAN, WGAN-GP,
hinge), diffusion (DDPM / DDIM), the conditional baselines CVAE, CGAN and classifier-free-guided
diffusion, the image flows RealNVP and Glow, the densities GMM and KDE, the table models TVAE and
CTGAN, the SMILES models CharRNN, SMILES VAE / AAE and ORGAN, and the attribute classifier.

>>> from condgen.data import load_dataset
>>> from condgen.models import build_model
>>> model = build_model("vae", load_dataset("faces", n=256), latent_dim=32)  # doctest: +SKIP

The names below are imported when first used, so that importing one family (as :func:`condgen.load`
does) does not import every other one.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> module that defines it
_EXPORTS = {
    "AAE": "aae", "AAEConfig": "aae",
    "Batch": "base", "GenerativeModel": "base", "LatentModel": "base", "OptimizerGroup": "base",
    "TrainableModule": "base",
    "BackboneAdapter": "backbone", "LatentBackbone": "backbone", "can_encode": "backbone",
    "CGAN": "cgan", "CGANConfig": "cgan",
    "CharRNN": "charrnn", "CharRNNConfig": "charrnn",
    "AttributeClassifier": "classifier", "ClassifierConfig": "classifier",
    "CVAE": "cvae", "CVAEConfig": "cvae",
    "ConditionalDiffusion": "conditional_diffusion", "ConditionalDiffusionConfig": "conditional_diffusion",
    "DiffusionConfig": "diffusion", "GaussianDiffusion": "diffusion",
    "ARCHITECTURE_MODEL_NAMES": "factory", "CLOSED_FORM_MODEL_NAMES": "factory", "MODEL_NAMES": "factory",
    "SMILES_MODEL_NAMES": "factory", "build_model": "factory",
    "GAN": "gan", "GANConfig": "gan",
    "Glow": "image_flow", "GlowConfig": "image_flow", "ImageFlow": "image_flow", "RealNVP": "image_flow",
    "RealNVPConfig": "image_flow",
    "ORGAN": "organ", "ORGANConfig": "organ",
    "ProGAN": "progan", "ProGANConfig": "progan",
    "SmilesAAE": "smiles_aae", "SmilesAAEConfig": "smiles_aae",
    "SmilesVAE": "smiles_vae", "SmilesVAEConfig": "smiles_vae",
    "VAE": "vae", "VAEConfig": "vae",
    "WAE": "wae", "WAEConfig": "wae",
    "DensityModel": "density", "GaussianMixtureModel": "gmm", "GMMConfig": "gmm",
    "KernelDensityModel": "kde", "KDEConfig": "kde",
    "TVAE": "tvae", "TVAEConfig": "tvae",
    "CTGAN": "ctgan", "CTGANConfig": "ctgan",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'condgen.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"condgen.models.{_EXPORTS[name]}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
