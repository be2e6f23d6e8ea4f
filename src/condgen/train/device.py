"""Choosing the device the engine trains on."""

from __future__ import annotations

import torch

from condgen.errors import ConfigError


def select_device(name: str = "auto") -> torch.device:
    """The device called ``name``; ``"auto"`` picks CUDA, then Apple MPS, then the CPU.

    Raises :class:`ConfigError` when a named accelerator is not available here.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device {name!r} is not a device; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for but CUDA is not available; use device='cpu' or 'auto'")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device {name!r} asked for but MPS is not available; use device='cpu' or 'auto'")
    return device
