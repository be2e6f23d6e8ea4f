"""Adversarial losses shared by :mod:`condgen.models.gan` and :mod:`condgen.models.cgan`, and the
training step both run (:func:`adversarial_step`).

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

*Feature matching* (Salimans et al., 2016) replaces the generator's loss by
``‖mean f(x) − mean f(G(z))‖²`` on the discriminator's features ``f`` (:func:`feature_matching_loss`,
:func:`feature_matching_step`); the discriminator keeps its own loss.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from condgen.errors import ConfigError, check_choice
from condgen.models.base import OptimizerGroup

LOSSES = ("ns", "ls", "wgan", "wgan-gp", "hinge")


def check_loss(loss: str, owner: str, allowed: tuple[str, ...] = LOSSES) -> None:
    check_choice(loss, allowed, "loss", owner)


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


def feature_matching_loss(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """``‖mean(real) − mean(fake)‖²``: the squared distance between the batch means of discriminator features
    ``[B, F]`` of real and of generated examples (summed over the ``F`` features)."""
    return (real_features.mean(0) - fake_features.mean(0)).pow(2).sum()


def feature_matching_step(real: torch.Tensor, latent_dim: int, generate: Callable[[torch.Tensor], torch.Tensor],
                          features: Callable[[torch.Tensor], torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    """The generator's feature-matching loss on ``real [B, …]`` examples, drawing noise ``z [B, latent_dim]``
    from torch's global generator as :func:`adversarial_step` does; ``features`` maps examples to ``[B, F]``.
    The real features carry no gradient (only the generator trains on this loss)."""
    z = torch.randn(real.shape[0], latent_dim, device=real.device)
    with torch.no_grad():
        real_features = features(real)
    return feature_matching_loss(real_features, features(generate(z))), {}


def adversarial_groups(discriminator: list[nn.Parameter], generator: list[nn.Parameter], lr: float,
                       betas: tuple[float, float], *, discriminator_lr: float | None = None
                       ) -> dict[str, OptimizerGroup]:
    """A GAN's two optimiser groups, ``"discriminator"`` and ``"generator"``, with the same Adam settings but
    for the discriminator's lr where ``discriminator_lr`` is given (the two time-scale update rule)."""
    return {
        "discriminator": OptimizerGroup(discriminator, lr if discriminator_lr is None else discriminator_lr,
                                        tuple(betas)),
        "generator": OptimizerGroup(generator, lr, tuple(betas)),
    }


def adversarial_step(group: str, loss: str, real: torch.Tensor, latent_dim: int,
                     generate: Callable[[torch.Tensor], torch.Tensor],
                     critic: Callable[[torch.Tensor], torch.Tensor], *, gp_weight: float = 10.0,
                     owner: str = "gan") -> tuple[torch.Tensor, dict[str, float]]:
    """The loss of optimiser ``group`` (``"discriminator"`` or ``"generator"``) of a GAN on ``real [B, …]``
    examples, and what to log.

    Noise ``z [B, latent_dim]`` is drawn from torch's global generator (seeded by the engine);
    ``generate`` maps it to fakes ``[B, …]`` and ``critic`` maps examples to scores ``[B]`` (a
    conditional GAN closes both over the batch's attributes). The discriminator step generates
    without gradients — its loss must not reach the generator — and adds ``gp_weight`` × the
    gradient penalty for ``wgan-gp``.
    """
    z = torch.randn(real.shape[0], latent_dim, device=real.device)
    if group == "discriminator":
        with torch.no_grad():
            fake = generate(z)
        real_score, fake_score = critic(real), critic(fake)
        value = discriminator_loss(loss, real_score, fake_score)
        logs = {"real_score": real_score.mean().item(), "fake_score": fake_score.mean().item()}
        if loss == "wgan-gp":
            penalty = gradient_penalty(critic, real, fake)
            value = value + gp_weight * penalty
            logs["gradient_penalty"] = penalty.item()
        return value, logs
    if group != "generator":
        raise ConfigError(f"{owner}: unknown optimiser group {group!r}")
    return generator_loss(loss, critic(generate(z))), {}
