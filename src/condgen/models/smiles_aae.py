"""SMILES adversarial autoencoder (Kadurin et al., 2017; the MOSES "AAE" baseline).

A deterministic autoencoder of token sequences whose codes a small *latent* discriminator pushes
towards N(0, I), so that prior draws decode to molecules. The encoder is a bidirectional GRU
followed by a linear map to the code; the decoder is the same z-conditioned GRU as the SMILES VAE's
(:class:`~condgen.nn.sequence.TokenDecoder`). Two optimiser groups, as in the image
:class:`~condgen.models.aae.AAE`:

* ``autoencoder`` (encoder + decoder) minimises the teacher-forced token NLL (summed per molecule,
  averaged over the batch) + ``adversarial_weight`` × the non-saturating generator loss of the
  encoder (codes that the discriminator takes for prior draws);
* ``latent_discriminator`` minimises the non-saturating discriminator loss, prior draws being real.

``encode(x)`` returns the code, ``decode(z)`` samples token ids, so this model is a Backbone for the
plugin, like the SMILES VAE.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError
from condgen.models.base import Batch, OptimizerGroup
from condgen.models.gan_losses import discriminator_loss, generator_loss
from condgen.models.smiles_base import (
    LatentSmilesModel,
    SmilesAutoencoderConfig,
    check_sequence_config,
    sequence_autoencoder,
)
from condgen.nn.mlp import MLP
from condgen.nn.sequence import token_accuracy, token_nll


@dataclass
class SmilesAAEConfig(SmilesAutoencoderConfig):
    """Hyper-parameters of :class:`SmilesAAE` (``tokens``/``max_length`` come from the data).

    The sizes mirror :class:`~condgen.models.smiles_vae.SmilesVAEConfig`; ``discriminator_hidden`` /
    ``discriminator_depth`` size the latent discriminator MLP. The NLL is summed over a molecule's
    tokens (≈ 10–40 nats early in training on MOSES), so ``adversarial_weight`` = 1 weighs the
    fooling loss (≈ 0.7 nats) lightly, yet enough on 16 small molecules (weights 1 and 5 gave the same
    prior-sample validity, 60-70 %; 0 let the codes drift to std 4-6). Raise it if prior samples decode
    to invalid SMILES while reconstructions are good (the codes then sit away from the prior).
    """

    discriminator_hidden: int = 256
    discriminator_depth: int = 2
    adversarial_weight: float = 1.0
    lr: float = 1e-3
    discriminator_lr: float = 1e-3
    grad_clip: float = 50.0

    def __post_init__(self):
        check_sequence_config(self.tokens, self.max_length, "smiles-aae")
        if self.latent_dim < 1 or self.adversarial_weight < 0:
            raise ConfigError(f"smiles-aae: need latent_dim ≥ 1 and adversarial_weight ≥ 0 "
                              f"(got {self.latent_dim}, {self.adversarial_weight})")


class SmilesAAE(LatentSmilesModel):
    """Shapes: ``x`` = token ids ``int64 [B, max_length]``; ``z [B, latent_dim]``."""

    kind = "smiles-aae"
    config_class = SmilesAAEConfig

    def __init__(self, config: SmilesAAEConfig, schema: AttributeSchema | None = None):
        super().__init__(config, schema)
        c = config
        self.encoder, self.to_code, self.decoder = sequence_autoencoder(c, c.latent_dim)
        self.latent_discriminator = MLP(c.latent_dim, 1, c.discriminator_hidden, c.discriminator_depth,
                                        activation="leaky_relu")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Code ``[B, latent_dim]`` of token ids ``x [B, L]``."""
        return self.to_code(self.encoder(x.long()))

    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        c = self.config
        autoencoder = [*self.encoder.parameters(), *self.to_code.parameters(), *self.decoder.parameters()]
        return {
            "autoencoder": OptimizerGroup(autoencoder, c.lr, (0.9, 0.999), grad_clip=c.grad_clip),
            "latent_discriminator": OptimizerGroup(list(self.latent_discriminator.parameters()),
                                                   c.discriminator_lr, (0.5, 0.999), grad_clip=c.grad_clip),
        }

    def step_schedule(self) -> list[tuple[str, int]]:
        return [("latent_discriminator", 1), ("autoencoder", 1)]

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        ids = batch.x.long()
        if group == "latent_discriminator":
            with torch.no_grad():  # the discriminator's loss must not train the encoder
                z = self.encode(ids)
            real = self.latent_discriminator(torch.randn_like(z)).squeeze(1)
            fake = self.latent_discriminator(z).squeeze(1)
            accuracy = 0.5 * ((real > 0).float().mean() + (fake < 0).float().mean())
            return discriminator_loss("ns", real, fake), {"accuracy": accuracy.item()}
        if group != "autoencoder":
            raise ConfigError(f"smiles-aae: unknown optimiser group {group!r}")
        z = self.encode(ids)
        logits = self.decoder.teacher_forced_logits(ids, z)
        nll = token_nll(logits, ids[:, 1:]).mean()
        fooling = generator_loss("ns", self.latent_discriminator(z).squeeze(1))
        loss = nll + self.config.adversarial_weight * fooling
        return loss, {"nll": nll.item(), "fooling": fooling.item(),
                      "token_accuracy": token_accuracy(logits, ids[:, 1:]).item()}
