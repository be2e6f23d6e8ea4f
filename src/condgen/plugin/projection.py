"""A fixed orthogonal projection of wide latents onto the ``k`` coordinates a plugin's flow models.

The plugin's flow mixes every coordinate it sees (an LU layer after each coupling), which costs O(D³) a step:
on the 3,072-d latent of a 32-px RGB image flow (or a diffusion model's x_T) a step took about 21 s on one
thread. Over such a latent the flow models only ``c = Bᵀ(z − m)`` ``[B, k]``, the latent's coordinates in a
fixed orthonormal basis ``B [D, k]`` around the training latents' mean ``m``; the rest,
``r = (z − m) − B c`` ``[B, D]``, orthogonal to the basis, is not modelled: editing keeps it as it is
(edit = encode, change ``c``, ``z' = m + B c' + r``, decode) and conditional generation takes it from the
backbone's own prior (``r`` of a ``sample_latent`` draw), so the whole latent stays a plausible one.

The basis, fitted once on the training latents (:meth:`LatentProjection.fit`), is the attributes' ridge
least-squares read-out directions first — whatever a linear read-out of an attribute sees is inside the
modelled part, however little variance it has — then the principal directions of the latents (largest
variance first), orthonormalised together. Its mean and basis are buffers, stored in the plugin's
``model.safetensors`` with the flow.
"""

from __future__ import annotations

import torch
from torch import nn

from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError

#: A latent wider than this gets a projection by default, onto :data:`PROJECTION_DIM` coordinates.
PROJECTION_THRESHOLD, PROJECTION_DIM = 512, 256
#: Ridge of the attribute read-outs, relative to the mean latent variance (keeps them defined when N < D).
RIDGE = 1e-3
#: Rows of the latents multiplied at once when accumulating their covariance.
COVARIANCE_CHUNK = 4096


def default_projection_dim(latent_dim: int) -> int:
    """The default ``k`` for a ``latent_dim``-d latent: :data:`PROJECTION_DIM` above
    :data:`PROJECTION_THRESHOLD` dimensions, else 0 (no projection: the flow sees the whole latent)."""
    return PROJECTION_DIM if latent_dim > PROJECTION_THRESHOLD else 0


class LatentProjection(nn.Module):
    """``z [B, D]`` ↔ ``(c [B, k], r [B, D])`` with ``z = m + B c + r``, ``Bᵀ r = 0`` (module docstring).

    Until :meth:`fit` the basis is the first ``k`` coordinate axes and the mean zero.

    Args:
        latent_dim: D.
        dim: k, the modelled coordinates (``1 ≤ k ≤ D``).
    """

    def __init__(self, latent_dim: int, dim: int):
        super().__init__()
        if not 1 <= dim <= latent_dim:
            raise ConfigError(f"a projection of a {latent_dim}-d latent needs 1 ≤ k ≤ {latent_dim} coordinates, "
                              f"got {dim}")
        self.register_buffer("mean", torch.zeros(latent_dim))
        self.register_buffer("basis", torch.eye(latent_dim, dim))

    @property
    def dim(self) -> int:
        """k."""
        return self.basis.shape[1]

    @torch.no_grad()
    def fit(self, latents: torch.Tensor, values: torch.Tensor, schema: AttributeSchema) -> None:
        """Fit the mean and the basis on training latents ``[N, D]`` with their attributes ``values [N, K]``
        (schema encoding, NaN = missing): attribute read-outs first, then principal directions."""
        latents = latents.detach().double().cpu()
        mean = latents.mean(dim=0)
        centred = latents - mean
        covariance = _covariance(centred)
        readouts = _attribute_readouts(centred, covariance, values.double().cpu(), schema)
        _, eigenvectors = torch.linalg.eigh(covariance.float())  # ascending; float32: 2x faster, QR re-orthonormalises
        principal = eigenvectors.flip(1)[:, :self.dim].double()
        basis, _ = torch.linalg.qr(torch.cat([readouts, principal], dim=1)[:, :self.dim])
        self.mean.copy_(mean.to(self.mean))
        self.basis.copy_(basis.to(self.basis))

    def split(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``z [B, D]`` → modelled coordinates ``c [B, k]`` and the residual ``r [B, D]`` (orthogonal to them)."""
        centred = z - self.mean
        coordinates = centred @ self.basis
        return coordinates, centred - coordinates @ self.basis.T

    def join(self, coordinates: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`split`: ``m + B c + r`` ``[B, D]``."""
        return self.mean + coordinates @ self.basis.T + residual

    def residual(self, z: torch.Tensor) -> torch.Tensor:
        """The part ``[B, D]`` of latents ``z [B, D]`` outside the modelled coordinates."""
        return self.split(z)[1]


def _covariance(centred: torch.Tensor) -> torch.Tensor:
    """``[D, D]`` float64 covariance of centred rows ``[N, D]``, multiplied in float32 chunks (half the time)."""
    total = centred.new_zeros(centred.shape[1], centred.shape[1])
    for start in range(0, centred.shape[0], COVARIANCE_CHUNK):
        chunk = centred[start:start + COVARIANCE_CHUNK].float()
        total += (chunk.T @ chunk).double()
    return total / max(1, centred.shape[0] - 1)


def _attribute_readouts(centred: torch.Tensor, covariance: torch.Tensor, values: torch.Tensor,
                        schema: AttributeSchema) -> torch.Tensor:
    """``[D, M]`` ridge least-squares directions ``(Σ + λI)⁻¹ cov(z, y)`` of every attribute target: the value of
    a binary or continuous attribute, one indicator per class of a categorical one (rows where it is known)."""
    targets = []
    for column, attribute in enumerate(schema):
        known = ~torch.isnan(values[:, column])
        if int(known.sum()) < 2:
            continue
        observed, rows = values[known, column], centred[known]
        rows = rows - rows.mean(dim=0)
        outputs = [observed] if attribute.kind != "categorical" else \
            [(observed == index).double() for index in range(attribute.width)]
        targets += [rows.T @ (output - output.mean()) / (len(output) - 1) for output in outputs]
    if not targets:
        return centred.new_zeros(centred.shape[1], 0)
    ridge = RIDGE * float(covariance.diagonal().mean().clamp_min(1e-12))
    regularised = covariance + ridge * torch.eye(covariance.shape[0], dtype=covariance.dtype)
    return torch.linalg.solve(regularised, torch.stack(targets, dim=1))
