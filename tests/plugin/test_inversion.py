"""Latent optimisation recovers the latents of a tiny decoder and leaves the decoder untouched."""

import torch
from torch import nn

from condgen.plugin import BackboneAdapter, invert


def test_invert_recovers_latents_of_a_small_nonlinear_decoder():
    torch.manual_seed(0)
    decoder = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 10))
    backbone = BackboneAdapter(decoder, 4)
    before = [p.detach().clone() for p in decoder.parameters()]
    z_true = 0.5 * torch.randn(32, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        images = backbone.decode(z_true)
    z = invert(backbone, images, steps=300, lr=0.05)
    with torch.no_grad():
        error = (backbone.decode(z) - images).pow(2).mean()
        start_error = (backbone.decode(torch.zeros(32, 4)) - images).pow(2).mean()
    assert error < 1e-4 * start_error
    distance = (z - z_true).abs().max(dim=1).values
    assert distance.median() < 0.01 and distance.max() < 0.1  # a few rows converge more slowly
    assert all(p.grad is None for p in decoder.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, decoder.parameters(), strict=True))


def test_prior_term_pulls_an_ambiguous_inversion_towards_zero():
    # A decoder that ignores coordinate 1: only the prior term decides it.
    decoder = nn.Linear(2, 3, bias=False)
    with torch.no_grad():
        decoder.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 0.0], [2.0, 0.0]]))
    backbone = BackboneAdapter(decoder, 2)
    images = backbone.decode(torch.tensor([[1.0, 0.0]])).detach()
    z = invert(backbone, images, steps=400, lr=0.05, init=torch.tensor([[0.0, 2.0]]), prior_weight=0.01)
    assert abs(z[0, 0].item() - 1.0) < 0.05
    assert abs(z[0, 1].item()) < 0.5 * 2.0
    free = invert(backbone, images, steps=400, lr=0.05, init=torch.tensor([[0.0, 2.0]]))
    assert free[0, 1].item() == 2.0  # without the prior nothing moves the ignored coordinate
