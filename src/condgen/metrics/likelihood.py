"""Likelihood in bits per dimension, one function for every family that has a likelihood.

:func:`bits_per_dim` ``(model, x)`` returns ``−log₂ P(x) / D`` per example, exact or bounded as the family
allows, and says which in :attr:`BitsPerDim.kind`:

* **image flows** (``realnvp``, ``glow``) and any model with its own ``bits_per_dim`` method (a DDPM's bound, where
  a family defines one): the model's own number. The flows' is ``log p((u8 + u) / 256) − D log 256`` for one uniform
  dequantisation draw ``u``: an upper bound on the 8-bit image's bits/dim *in expectation* (Theis et al., 2016).
* **VAE, β-VAE, CVAE** (``VariationalModel``): an upper bound from the negative ELBO, or with ``samples = K > 1``
  the importance-weighted bound (Burda et al., 2016), ``log P(x) ≥ E log (1/K) Σ_k P(x | z_k) p(z_k) / q(z_k | x)``,
  ``z_k ~ q(z | x)`` — tighter as K grows; always with KL weight 1 whatever ``beta`` the model was trained with
  (the β-VAE objective is not a bound). It is estimated from K posterior draws (``generator``). The decoder's
  likelihood P(x | z) is made a distribution over the 256 levels of each 8-bit value: with ``p = u8 / 255`` (the
  pixel the network sees, ``x = 2p − 1``), level k owns the bin ``p ∈ [(k − ½) / 255, (k + ½) / 255]``, the
  outermost bins reaching the ends of the decoder's support, and P(level | z) is the decoder's mass on that bin:

  - ``likelihood="gaussian"``: ``N(μ(z), decoder_std²)`` on the ``[-1, 1]`` scale (bins ``x ± 1/255``, the two
    outermost extended to ∓∞), as PixelCNN++ discretises its logistics;
  - ``likelihood="bernoulli"``: the decoder's logits ``t`` define the *continuous Bernoulli* on ``p ∈ [0, 1]``
    (Loaiza-Ganem & Cunningham, 2019) — the normalised density whose unnormalised log is the binary cross-entropy
    the VAE trains with — whose mass on ``[a, b]`` is ``e^{ta} (e^{t(b−a)} − 1) / (e^t − 1)``.

  A CVAE's number is the conditional ``−log₂ P(x | y) / D`` (pass ``attributes``). For **vectors** the bound is
  on the continuous density: ``log N(x; μ(z), decoder_std² I)``, constants included.
* **GMM, KDE** (``DensityModel``): the exact log-density of continuous vectors, ``−log₂ p(x) / D``: *differential*
  bits/dim, which can be negative (a density above 1) and is comparable only between models of the same data.

GANs, WAEs and AAEs define no likelihood; they are a ConfigError.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.special import log_ndtr

from condgen.errors import ConfigError, DataError
from condgen.models.base import GenerativeModel
from condgen.models.density import DensityModel
from condgen.models.vae import VariationalModel, gaussian_kl

#: Width of one 8-bit level on the unit scale ``p = u8 / 255``.
LEVEL_WIDTH = 1.0 / 255.0


@dataclass(frozen=True)
class BitsPerDim:
    """``per_example``: float64 ``[N]`` bits per dimension; ``kind``: ``"exact"``, ``"upper bound"`` or ``"upper
    bound in expectation"``; ``data``: ``"8-bit images"`` or ``"continuous vectors"``; ``how``: the estimator."""

    per_example: torch.Tensor
    kind: str
    data: str
    how: str

    @property
    def mean(self) -> float:
        return float(self.per_example.mean())

    def to_dict(self) -> dict[str, float | str]:
        return {"bits_per_dim": self.mean, "kind": self.kind, "data": self.data, "how": self.how}


def _log_mass_between(lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """``log(Φ(upper) − Φ(lower))`` elementwise, stable in both tails (a bin right of 0 is mirrored left)."""
    mirror = (lower + upper) > 0
    lower, upper = torch.where(mirror, -upper, lower), torch.where(mirror, -lower, upper)
    log_upper = log_ndtr(upper)
    return log_upper + torch.log(-torch.expm1(log_ndtr(lower) - log_upper))


def discretized_gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, std: float) -> torch.Tensor:
    """log P(x | z) ``[B]`` of 8-bit data ``x [B, …]`` in ``[-1, 1]`` under ``N(mean, std²)`` integrated over each
    value's bin ``x ± 1/255`` (outermost bins to ∓∞)."""
    x, mean = x.double(), mean.double()
    half = LEVEL_WIDTH  # half a bin on the [-1, 1] scale is 1/255
    lower = torch.where(x <= -1 + half / 2, torch.full_like(x, -math.inf), (x - half - mean) / std)
    upper = torch.where(x >= 1 - half / 2, torch.full_like(x, math.inf), (x + half - mean) / std)
    return _log_mass_between(lower, upper).flatten(1).sum(dim=1)


def _log_abs_expm1(y: torch.Tensor) -> torch.Tensor:
    """``log|e^y − 1|`` for ``y ≠ 0``, without overflow for large ``|y|``."""
    return torch.where(y > 0, y + torch.log(-torch.expm1(-y.abs())), torch.log(-torch.expm1(-y.abs())))


def discretized_continuous_bernoulli_log_likelihood(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log P(x | z) ``[B]`` of 8-bit data ``x [B, …]`` in ``[-1, 1]`` under the continuous Bernoulli of ``logits``
    on ``p = (x + 1) / 2``, integrated over each value's bin ``p ± 1/510`` clipped to ``[0, 1]``."""
    p, t = (x.double() + 1) / 2, logits.double()
    lower = (p - LEVEL_WIDTH / 2).clamp(min=0.0)
    upper = (p + LEVEL_WIDTH / 2).clamp(max=1.0)
    # At t = 0 the distribution is uniform; a tiny |t| gives the same mass (b − a) without 0 / 0.
    t = torch.where(t.abs() < 1e-6, torch.full_like(t, 1e-6), t)
    log_mass = t * lower + _log_abs_expm1(t * (upper - lower)) - _log_abs_expm1(t)
    return log_mass.flatten(1).sum(dim=1)


def _decoder_log_likelihood(model: VariationalModel, x: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    config = model.config
    if model.modality.name == "images":
        if config.likelihood == "bernoulli":
            return discretized_continuous_bernoulli_log_likelihood(x, output)
        return discretized_gaussian_log_likelihood(x, output, config.decoder_std)
    dims = x[0].numel()
    squared = (x.double() - output.double()).pow(2).flatten(1).sum(dim=1)
    return -squared / (2 * config.decoder_std**2) - 0.5 * dims * math.log(2 * math.pi * config.decoder_std**2)


def _gaussian_log_density(z: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    return -0.5 * ((z - mean).pow(2) / log_var.exp() + log_var + math.log(2 * math.pi)).sum(dim=-1)


@torch.no_grad()
def variational_log_likelihood_bound(model: VariationalModel, x: torch.Tensor, *, samples: int = 1,
                                     attributes: torch.Tensor | None = None,
                                     generator: torch.Generator | None = None) -> torch.Tensor:
    """The (importance-weighted) ELBO ``[B]`` in nats of examples ``x [B, …]``: a lower bound on log P(x) (module
    docstring). ``samples = 1``: ``E_q log P(x | z) − KL(q ‖ p)`` with the KL in closed form."""
    extras = {"attributes": attributes} if model.is_conditional else {}
    mean, log_var = model.posterior(x, **extras)
    mean, log_var = mean.double(), log_var.double()
    std = (0.5 * log_var).exp()
    draws = []
    for _ in range(samples):
        noise = torch.randn(mean.shape, generator=generator, dtype=torch.float64).to(mean.device)
        z = mean + noise * std
        log_likelihood = _decoder_log_likelihood(model, x, model.decoder_output(z.to(x.dtype), **extras))
        if samples == 1:
            return log_likelihood - gaussian_kl(mean, log_var)
        prior = -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(dim=1)
        draws.append(log_likelihood + prior - _gaussian_log_density(z, mean, log_var))
    return torch.logsumexp(torch.stack(draws), dim=0) - math.log(samples)


def bits_per_dim(model: GenerativeModel, x: torch.Tensor, *, samples: int = 1, attributes: torch.Tensor | None = None,
                 generator: torch.Generator | None = None, batch_size: int = 256) -> BitsPerDim:
    """``−log₂ P(x) / D`` per example for ``x [N, …]`` (images in ``[-1, 1]``, vectors as the model sees them).

    ``samples``: posterior draws per example for a VAE's importance-weighted bound (1: the ELBO). ``attributes``
    ``[N, K]``: the conditions of a conditional model (CVAE). ``generator`` seeds every random draw. What the number
    is — exact, a bound, an estimate — is the result's ``kind`` and ``how`` (module docstring).
    """
    if samples < 1:
        raise ConfigError(f"samples must be ≥ 1, got {samples}")
    if model.is_conditional and attributes is None:
        raise ConfigError(f"{model.kind} is conditional: pass the examples' attributes for log P(x | y)")
    images = model.modality.name == "images"
    data = "8-bit images" if images else "continuous vectors"
    dims = x[0].numel()
    device = next(iter(model.state_dict().values())).device
    was_training = model.training
    model.eval()
    try:
        parts = []
        for start in range(0, x.shape[0], batch_size):
            chunk = x[start:start + batch_size].to(device)
            if images:  # the 8-bit values these images hold
                chunk = ((chunk + 1) * 127.5).round().clamp(0, 255) / 127.5 - 1
            extras = {} if attributes is None else {"attributes": attributes[start:start + batch_size].to(device)}
            if isinstance(model, DensityModel):
                parts.append(-model.log_density(chunk.double()) / (dims * math.log(2)))
            elif hasattr(model, "bits_per_dim"):
                with torch.no_grad():
                    parts.append(model.bits_per_dim(chunk, generator=generator).double())
            elif isinstance(model, VariationalModel):
                bound = variational_log_likelihood_bound(model, chunk, samples=samples, generator=generator, **extras)
                parts.append(-bound / (dims * math.log(2)))
            else:
                raise ConfigError(f"{model.kind} defines no likelihood (GANs, WAEs and AAEs have none); bits/dim "
                                  "exists for VAEs (a bound), flows, and GMM / KDE on vectors")
    finally:
        model.train(was_training)
    if not parts:
        raise DataError("bits_per_dim needs at least one example")
    per_example = torch.cat(parts).cpu()
    if isinstance(model, DensityModel):
        return BitsPerDim(per_example, "exact", data, "−log₂ p(x) / D of the fitted density (differential)")
    if hasattr(model, "bits_per_dim"):
        return BitsPerDim(per_example, "upper bound in expectation", data,
                          f"{model.kind}'s own bits_per_dim (one uniform dequantisation draw)")
    bound = "negative ELBO" if samples == 1 else f"importance-weighted bound, {samples} posterior draws"
    likelihood = (model.config.likelihood + " decoder discretised to 256 levels") if images else \
        "Gaussian decoder density"
    return BitsPerDim(per_example, "upper bound", data, f"{bound} (KL weight 1), {likelihood}")
