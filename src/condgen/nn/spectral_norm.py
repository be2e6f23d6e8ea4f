"""Spectral normalisation of every weight layer of a network (Miyato et al., 2018; SAGAN uses it in both nets).

Each convolution, transposed convolution and linear layer's weight ``W`` is used as ``W / σ(W)``, ``σ`` its
largest singular value, estimated by one power iteration per training forward pass (vectors ``u``, ``v``
kept as buffers): the layer is then 1-Lipschitz and so is the network built from them and Lipschitz
activations. PyTorch's :func:`torch.nn.utils.parametrizations.spectral_norm` does the work: the state dict
holds ``<layer>.parametrizations.weight.original`` and the ``…weight.0._u`` / ``_v`` buffers, so saved
artifacts and checkpoints (safetensors) carry the power-iteration state and a resumed run continues it
exactly. In ``eval()`` mode no iteration runs: sampling leaves ``u`` and ``v`` alone.
"""

from __future__ import annotations

from torch import nn
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
