"""Adversarial losses shared by :mod:`condgen.models.gan` and :mod:`condgen.models.cgan`.

All take raw discriminator outputs (logits / critic values) ``[B]`` and return a scalar:

==========  =========================================  ==========================
loss        discriminator / critic minimises            generator minimises
==========  =========================================  ==========================
``ns``      softplus(−D(x)) + softplus(D(G(z)))         softplus(−D(G(z)))
``ls``      ½(D(x) − 1)² + ½D(G(z))²                    ½(D(G(z)) − 1)²
``wgan``    D(G(z)) − D(x)  (+ weight clipping)         −D(G(z))
``wgan-gp`` D(G(z)) − D(x) + λ(‖∇D(x̂)‖ − 1)²           −D(G(z))
``hinge``   relu(1 − D(x)) + relu(1 + D(G(z)))          −D(G(z))
==========  =========================================  ==========================

``ns`` is Goodfellow et al.'s non-saturating loss (softplus(−t) = −log σ(t)), ``ls`` is LSGAN
(Mao et al., a=0, b=c=1), ``wgan`` Arjovsky et al., ``wgan-gp`` Gulrajani et al., ``hinge``
Lim & Ye / Miyato et al. (SNGAN).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from condgen.errors import ConfigError

LOSSES = ("ns", "ls", "wgan", "wgan-gp", "hinge")


def check_loss(loss: str, owner: str, allowed: tuple[str, ...] = LOSSES) -> None:
    if loss not in allowed:
        raise ConfigError(f"{owner}: unknown loss {loss!r}; valid: {', '.join(allowed)}")


def discriminator_loss(loss: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """What the discriminator minimises, from its outputs on real ``[B]`` and generated ``[B]`` examples
    (without the WGAN-GP penalty, see :func:`gradient_penalty`)."""
    check_loss(loss, "discriminator_loss")
    if loss == "ns":
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if loss == "ls":
        return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean()
    if loss == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    return fake.mean() - real.mean()  # wgan, wgan-gp: minus the Wasserstein estimate


def generator_loss(loss: str, fake: torch.Tensor) -> torch.Tensor:
    """What the generator minimises, from the discriminator's outputs on generated examples ``[B]``."""
    check_loss(loss, "generator_loss")
    if loss == "ns":
        return F.softplus(-fake).mean()
    if loss == "ls":
        return 0.5 * ((fake - 1) ** 2).mean()
    return -fake.mean()  # wgan, wgan-gp, hinge


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                     fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP penalty ``mean((‖∇ₓ critic(x̂)‖₂ − 1)²)`` at ``x̂ = ε·real + (1 − ε)·fake``, ε ~ U(0, 1)
    per example (drawn from torch's global generator, which the engine seeds).

    ``critic`` maps ``[B, *shape]`` → ``[B]``; ``real`` and ``fake`` are ``[B, *shape]``. The graph is
    kept (``create_graph``) so the penalty trains the critic.
    """
    epsilon = torch.rand(real.shape[0], *([1] * (real.ndim - 1)), device=real.device, dtype=real.dtype)
    mixed = (epsilon * real.detach() + (1 - epsilon) * fake.detach()).requires_grad_(True)
    (gradient,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((gradient.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
