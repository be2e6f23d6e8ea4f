"""Generative model families, one file each: VAE / β-VAE, WAE, AAE, GANs (NS, LS, WGAN, WGAN-GP,
hinge), the conditional baselines CVAE and CGAN, and the SMILES models CharRNN, SMILES AAE and ORGAN.

>>> from condgen.data import load_dataset
>>> from condgen.models import build_model
>>> model = build_model("vae", load_dataset("faces", n=256), latent_dim=32)  # doctest: +SKIP

Importing this package registers every model kind with :func:`condgen.load`.
"""

from condgen.models.aae import AAE, AAEConfig
from condgen.models.base import Batch, GenerativeModel, OptimizerGroup, TrainableModule
from condgen.models.cgan import CGAN, CGANConfig
from condgen.models.charrnn import CharRNN, CharRNNConfig
from condgen.models.cvae import CVAE, CVAEConfig
from condgen.models.factory import MODEL_NAMES, SMILES_MODEL_NAMES, build_model
from condgen.models.gan import GAN, GANConfig
from condgen.models.organ import ORGAN, ORGANConfig
from condgen.models.smiles_aae import SmilesAAE, SmilesAAEConfig
from condgen.models.vae import VAE, VAEConfig
from condgen.models.wae import WAE, WAEConfig

__all__ = [
    "AAE",
    "AAEConfig",
    "Batch",
    "CGAN",
    "CGANConfig",
    "CVAE",
    "CVAEConfig",
    "CharRNN",
    "CharRNNConfig",
    "GAN",
    "GANConfig",
    "GenerativeModel",
    "MODEL_NAMES",
    "ORGAN",
    "ORGANConfig",
    "OptimizerGroup",
    "SMILES_MODEL_NAMES",
    "SmilesAAE",
    "SmilesAAEConfig",
    "TrainableModule",
    "VAE",
    "VAEConfig",
    "WAE",
    "WAEConfig",
    "build_model",
]
