"""Find latents of real examples for a backbone without an encoder (GAN inversion)."""

from __future__ import annotations

import torch

from condgen.models.backbone import backbone_device, eval_mode


def invert(backbone, examples: torch.Tensor, steps: int = 300, lr: float = 0.05,
           init: torch.Tensor | None = None, prior_weight: float = 0.0) -> torch.Tensor:
    """Latents ``z [n, D]`` whose decodings match ``examples [n, …]``, by gradient descent on z.

    Minimises ``mean((decode(z) − x)²) + prior_weight · mean(z²)`` with Adam(lr) for ``steps``
    steps, starting from ``init`` (default: zeros, the mode of a standard-normal prior). The
    small prior term keeps z where the decoder was trained when the fit alone is ambiguous.
    The backbone is used in eval mode and its parameters are neither updated nor given ``.grad``.
    """
    device = backbone_device(backbone)
    target = examples.detach().to(device)
    start = init if init is not None else torch.zeros(target.shape[0], backbone.latent_dim)
    z = start.detach().clone().to(device).requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    with eval_mode(backbone), torch.enable_grad():
        for _ in range(steps):
            reconstruction = backbone.decode(z)
            loss = torch.mean((reconstruction - target) ** 2) + prior_weight * torch.mean(z**2)
            # autograd.grad instead of backward: only z gets a gradient, the backbone stays untouched.
            (gradient,) = torch.autograd.grad(loss, [z])
            optimizer.zero_grad(set_to_none=True)
            z.grad = gradient
            optimizer.step()
    return z.detach()
