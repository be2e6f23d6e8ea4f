"""Spectral normalisation of every weight layer of a network (Miyato et al., 2018; SAGAN uses it in both nets).

Each convolution, transposed convolution and linear layer's weight ``W`` is used as ``W / σ(W)``, ``σ`` its
largest singular value, estimated by one power iteration per training forward pass (vectors ``u``, ``v``
kept as buffers): the layer is then 1-Lipschitz and so is the network built from them and Lipschitz
activations. PyTorch's :func:`torch.nn.utils.parametrizations.spectral_norm` does the work: the state dict
holds ``<layer>.parametrizations.weight.original`` and the ``…weight.0._u`` / ``_v`` buffers, so saved
artifacts and checkpoints (safetensors) carry the power-iteration state and a resumed run continues it
exactly. In ``eval()`` mode no iteration runs: sampling leaves ``u`` and ``v`` alone.

Weights put in from elsewhere (an EMA of them: :mod:`condgen.train.ema`) come without matching ``u``, ``v``:
:func:`reestimate_singular_vectors` runs the power iteration on the weights as they now are, or ``σ`` would be
the old vectors' underestimate (up to 4× on a 300-step SAGAN's EMA generator).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

WEIGHT_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def spectral_normalise(network: nn.Module) -> nn.Module:
    """``network`` itself with every :data:`WEIGHT_LAYERS` weight spectrally normalised (in place).

    The initial ``u`` is drawn from torch's global generator (seeded by whoever builds the model).
    """
    for layer in list(network.modules()):
        if isinstance(layer, WEIGHT_LAYERS):
            spectral_norm(layer)  # ConvTranspose2d: torch normalises over its output channels (dim 1)
    return network


@torch.no_grad()
def reestimate_singular_vectors(network: nn.Module, iterations: int = 20) -> None:
    """Run ``iterations`` power iterations, from the current ``u``, ``v``, on each spectrally normalised weight
    of ``network`` (in place; does nothing to a network without spectral norm)."""
    for layer in network.modules():
        if not parametrize.is_parametrized(layer, "weight"):
            continue
        for normalisation in layer.parametrizations.weight:
            if not hasattr(normalisation, "_u"):  # another parametrisation than spectral norm
                continue
            matrix = layer.parametrizations.weight.original.movedim(normalisation.dim, 0).flatten(1)
            u, v = normalisation._u, normalisation._v
            for _ in range(iterations):
                v = F.normalize(matrix.T @ u, dim=0, eps=normalisation.eps)
                u = F.normalize(matrix @ v, dim=0, eps=normalisation.eps)
            normalisation._u.copy_(u)
            normalisation._v.copy_(v)
