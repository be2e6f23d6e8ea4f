"""Coupling layers and flows: exact inverses, exact log-determinants over every layer, no in-place edits."""

import pytest
import torch
from torch.autograd.functional import jacobian

from condgen.errors import ConfigError
from condgen.nn.coupling import (
    AdditiveCoupling,
    AffineCoupling,
    ElementwiseAffine,
    FlowSequence,
    LULinear,
    checkerboard_mask,
    coupling_flow,
)
from condgen.plugin.flow import LatentFlow


def randomise(module: torch.nn.Module, seed: int = 0, scale: float = 0.5) -> torch.nn.Module:
    """Replace every parameter by random values: fresh flows start as the identity, which would hide bugs."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(scale * torch.randn(parameter.shape, generator=generator))
    return module


def exact_logabsdet(function, x: torch.Tensor) -> torch.Tensor:
    """log|det J| of ``function`` at each row of ``x`` from the full autograd Jacobian."""
    values = []
    for row in x:
        matrix = jacobian(lambda v: function(v.unsqueeze(0))[0].squeeze(0), row.double())
        values.append(torch.linalg.slogdet(matrix)[1])
    return torch.stack(values)


def test_checkerboard_masks_alternate():
    assert checkerboard_mask(5, 0).tolist() == [1, 0, 1, 0, 1]
    assert checkerboard_mask(5, 1).tolist() == [0, 1, 0, 1, 0]


@pytest.mark.parametrize("mixing", ["none", "lu"])
@pytest.mark.parametrize("coupling", ["additive", "affine"])
@pytest.mark.parametrize("dim", [4, 5, 6])
def test_composite_flow_inverts_and_sums_every_layers_logdet(coupling, dim, mixing):
    flow = randomise(coupling_flow(dim, n_couplings=4, hidden=16, depth=3, coupling=coupling, mixing=mixing))
    flow = flow.double()
    x = torch.randn(3, dim, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y, logdet = flow(x)
    back, inverse_logdet = flow.inverse(y)
    assert torch.allclose(back, x, atol=1e-10)
    assert torch.allclose(inverse_logdet, -logdet, atol=1e-10)
    assert torch.allclose(logdet, exact_logabsdet(flow, x), atol=1e-8)
    if coupling == "additive" and mixing == "none":
        return  # additive couplings are volume preserving: only the scaling layer has a log-det
    # The research code's bug (only the last layer's log-det) would give a different number.
    hidden = x
    for transform in flow.transforms[:-1]:
        hidden, _ = transform(hidden)
    _, last_only = flow.transforms[-1](hidden)
    assert not torch.allclose(logdet, last_only, atol=1e-3)


@pytest.mark.parametrize("layer", [AdditiveCoupling, AffineCoupling])
def test_single_couplings_round_trip_in_float32(layer):
    module = randomise(layer(checkerboard_mask(6, 1), hidden=32, depth=4), seed=3)
    x = torch.randn(64, 6, generator=torch.Generator().manual_seed(2))
    y, logdet = module(x)
    back, _ = module.inverse(y)
    assert torch.allclose(back, x, atol=1e-5)
    assert not torch.allclose(y, x)  # the layer really transforms
    # Masked-in coordinates pass unchanged.
    assert torch.equal(y[:, 1::2], x[:, 1::2])
    if layer is AdditiveCoupling:
        assert torch.equal(logdet, torch.zeros(64))


def test_lu_linear_starts_as_the_identity_and_learns_a_full_invertible_map():
    layer = LULinear(6).double()
    assert torch.equal(layer.weight(), torch.eye(6, dtype=torch.float64))
    randomise(layer, seed=4)  # as after training: every output depends on every input
    weight = layer.weight()
    assert (weight.abs() > 1e-6).all()
    x = torch.randn(5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y, logdet = layer(x)
    assert torch.allclose(logdet, torch.linalg.slogdet(weight).logabsdet.expand(5), atol=1e-10)
    back, inverse_logdet = layer.inverse(y)
    assert torch.allclose(back, x, atol=1e-10)
    assert torch.allclose(inverse_logdet, -logdet, atol=1e-10)


def test_elementwise_affine_logdet_is_sum_of_log_scales():
    layer = randomise(ElementwiseAffine(4), seed=5)
    x = torch.randn(2, 4)
    _, logdet = layer(x)
    assert torch.allclose(logdet, layer.log_scale.sum().expand(2))


def test_latent_flow_includes_the_standardisation_in_its_logdet():
    flow = LatentFlow(5, n_couplings=3, hidden=8, depth=2, coupling="affine")
    latents = torch.randn(500, 5, generator=torch.Generator().manual_seed(0)) * torch.tensor([0.1, 1, 2, 3, 4]) + 2
    flow.set_latent_statistics(latents)
    randomise(flow.couplings, seed=7)
    flow = flow.double()
    z = latents[:4].double()
    u, logdet = flow(z)
    assert torch.allclose(logdet, exact_logabsdet(flow, z), atol=1e-8)
    back, inverse_logdet = flow.inverse(u)
    assert torch.allclose(back, z, atol=1e-10)
    assert torch.allclose(inverse_logdet, -logdet, atol=1e-10)


@pytest.mark.parametrize("coupling", ["additive", "affine"])
def test_inputs_are_never_modified_in_place(coupling):
    flow = randomise(coupling_flow(6, 4, 16, 3, coupling))
    x = torch.randn(8, 6)
    x_copy = x.clone()
    y, _ = flow(x)
    y_copy = y.clone()
    flow.inverse(y)
    assert torch.equal(x, x_copy)
    assert torch.equal(y, y_copy)


def test_fresh_flow_is_identity_and_gradients_reach_every_layer():
    flow = coupling_flow(4, 2, 8, 2, "affine")
    x = torch.randn(16, 4)
    y, logdet = flow(x)
    assert torch.equal(y, x) and torch.equal(logdet, torch.zeros(16))
    (y.pow(2).sum() + logdet.sum()).backward()
    last_layers = [t.net[-1].weight for t in flow.transforms if hasattr(t, "net")]
    assert all(w.grad is not None and w.grad.abs().sum() > 0 for w in last_layers)


def test_bad_options_raise_config_errors():
    with pytest.raises(ConfigError, match="coupling must be one of"):
        coupling_flow(4, 2, 8, 2, "spline")
    with pytest.raises(ConfigError, match="mixing must be one of"):
        coupling_flow(4, 2, 8, 2, mixing="shuffle")
    with pytest.raises(ConfigError, match="depth"):
        coupling_flow(4, 2, 8, 1)
    assert isinstance(coupling_flow(4, 2, 8, 2, scaling=False), FlowSequence)
