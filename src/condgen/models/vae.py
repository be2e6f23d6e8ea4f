"""Variational autoencoder (Kingma & Welling, 2014) and β-VAE (Higgins et al., 2017).

The encoder gives a diagonal Gaussian posterior q(z|x) = N(μ(x), diag σ²(x)); the decoder a
Gaussian with fixed standard deviation ``decoder_std`` (loss: squared error / 2σ²) or, for images,
a Bernoulli-like likelihood on pixels mapped to [0, 1] (binary cross-entropy). The loss per example
is the negative ELBO with the KL term weighted by ``beta`` — ``beta > 1`` is a β-VAE — and that
weight rises linearly from 0 during the first ``kl_warmup`` share of training (Bowman et al., 2016):
without it the KL term wins early and the latent stops carrying information, which the plugin
relies on. Sums run over data dimensions and latent dimensions; the mean runs over the batch.

This VAE is condgen's main backbone: ``encode(x)`` returns the posterior mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError, check_choice
from condgen.models.base import Batch, LatentModel, OptimizerGroup
from condgen.nn.networks import ImageArchitecture

LIKELIHOODS = ("gaussian", "bernoulli")


@dataclass
class VAEConfig(ImageArchitecture):
    """Hyper-parameters of :class:`VAE`; the architecture fields are those of
    :class:`~condgen.nn.networks.ImageArchitecture`. ``kl_warmup`` is the share of training steps over
    which the KL weight rises to ``beta``.
    """

    beta: float = 1.0
    kl_warmup: float = 0.2
    likelihood: str = "gaussian"
    decoder_std: float = 0.2
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float | None = None
    model_name: ClassVar[str] = "vae"

    def __post_init__(self):
        super().__post_init__()
        name = self.model_name
        check_choice(self.likelihood, LIKELIHOODS, "likelihood", name)
        if self.likelihood == "bernoulli" and len(self.data_shape) != 3:
            raise ConfigError(f"{name}: likelihood 'bernoulli' is for images in [-1, 1]; use 'gaussian' for vectors")
        if self.beta < 0 or not 0 <= self.kl_warmup <= 1 or self.decoder_std <= 0:
            raise ConfigError(
                f"{name}: need beta >= 0, 0 <= kl_warmup <= 1 and decoder_std > 0 (got "
                f"{self.beta}, {self.kl_warmup}, {self.decoder_std})"
            )

    @property
    def output_activation(self) -> str | None:
        """None for bernoulli: the decoder emits logits, which ``decode`` squashes back to ``[-1, 1]``."""
        return None if self.likelihood == "bernoulli" else super().output_activation


def gaussian_kl(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, diag exp(log_var)) ‖ N(0, I)) per example: ``[B, L]`` → ``[B]``."""
    return 0.5 * (mean.pow(2) + log_var.exp() - 1 - log_var).sum(dim=1)


def reconstruction_nll(likelihood: str, decoder_std: float, x: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood per example (up to a constant) of ``x`` under the decoder's ``output``.

    ``output`` is the mean (gaussian) or the logits of pixels in [0, 1] (bernoulli); ``[B, …]`` → ``[B]``.
    """
    if likelihood == "bernoulli":
        target = (x + 1) / 2
        return F.binary_cross_entropy_with_logits(output, target, reduction="none").flatten(1).sum(dim=1)
    return (x - output).pow(2).flatten(1).sum(dim=1) / (2 * decoder_std**2)


def kl_weight(beta: float, warmup: float, step: int, total_steps: int) -> float:
    """``beta`` times a linear ramp from 0 at step 0 to 1 at ``warmup · total_steps``."""
    ramp_steps = warmup * total_steps
    return beta if ramp_steps <= 0 else beta * min(1.0, step / ramp_steps)


def decoded_mean(likelihood: str, output: torch.Tensor) -> torch.Tensor:
    """Examples in network form from the decoder's ``output`` ``[B, …]``: the mean itself (gaussian) or,
    for bernoulli logits of pixels in [0, 1], ``2σ(t) − 1 = tanh(t / 2)`` back in ``[-1, 1]``."""
    return torch.tanh(output / 2) if likelihood == "bernoulli" else output


class VariationalModel(LatentModel):
    """The training VAE and CVAE share: the negative ELBO of a diagonal Gaussian posterior with KL
    warm-up, in one optimiser group.

    A subclass builds its networks and defines ``posterior(x) → (mean, log_var)`` (``[B, latent_dim]``
    each) and ``decoder_output(z)`` (``[B, *data_shape]``); a conditional one (``is_conditional``) takes
    ``attributes=`` in both, and training passes it the batch's attribute values.
    """

    has_encoder = True

    def __init__(self, config: VAEConfig, schema: AttributeSchema | None = None):
        super().__init__(config, schema)
        self.current_kl_weight = config.beta  # until the engine reports progress, the full objective

    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        c = self.config
        return {"model": OptimizerGroup(list(self.parameters()), c.lr, tuple(c.betas), grad_clip=c.grad_clip)}

    def set_progress(self, step: int, total_steps: int) -> None:
        self.current_kl_weight = kl_weight(self.config.beta, self.config.kl_warmup, step, total_steps)

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Negative ELBO (KL weighted by the current warm-up weight), averaged over the batch."""
        extras = {"attributes": batch.attributes} if self.is_conditional else {}
        mean, log_var = self.posterior(batch.x, **extras)
        z = mean + torch.randn_like(mean) * (0.5 * log_var).exp()
        output = self.decoder_output(z, **extras)
        nll = reconstruction_nll(self.config.likelihood, self.config.decoder_std, batch.x, output)
        kl = gaussian_kl(mean, log_var)
        loss = (nll + self.current_kl_weight * kl).mean()
        with torch.no_grad():
            mse = (decoded_mean(self.config.likelihood, output) - batch.x).pow(2).mean()
        return loss, {"nll": nll.mean().item(), "kl": kl.mean().item(), "kl_weight": self.current_kl_weight,
                      "mse": mse.item()}


class VAE(VariationalModel):
    """Convolutional (or MLP) VAE; ``config.beta > 1`` makes it a β-VAE.

    Shapes: ``x [B, *data_shape]`` (images in ``[-1, 1]``), ``z [B, latent_dim]``.
    """

    kind = "vae"
    config_class = VAEConfig

    def __init__(self, config: VAEConfig, schema: AttributeSchema | None = None):
        super().__init__(config, schema)
        self.encoder = config.encoder(2 * config.latent_dim)
        self.decoder = config.decoder(config.latent_dim)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance ``[B, latent_dim]`` each of q(z|x)."""
        mean, log_var = self.encoder(x).chunk(2, dim=1)
        # Clamped so that an early bad batch cannot overflow exp() into a NaN loss.
        return mean, log_var.clamp(-30.0, 20.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Posterior mean ``[B, latent_dim]`` of ``x [B, *data_shape]``."""
        return self.posterior(x)[0]

    def decoder_output(self, z: torch.Tensor) -> torch.Tensor:
        """Raw decoder output: the mean (gaussian) or logits (bernoulli), ``[B, *data_shape]``."""
        return self.decoder(z)

    def decode(self, z: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Examples ``[B, *data_shape]`` for latents ``z [B, latent_dim]`` (the decoder's mean)."""
        return decoded_mean(self.config.likelihood, self.decoder_output(z))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """``decode(encode(x))``: the reconstruction through the posterior mean."""
        return self.decode(self.encode(x))
