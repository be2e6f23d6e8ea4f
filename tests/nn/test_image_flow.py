"""Image flow layers: every log-determinant equals autograd's log|det J|, inverses are exact, ActNorm's
data-dependent initialisation happens once and is kept in the state dict."""

import pytest
import torch
from torch.autograd.functional import jacobian

from condgen.errors import ConfigError
from condgen.nn.coupling import AffineCoupling
from condgen.nn.image_flow import (
    ActNorm,
    InvertibleConv1x1,
    MultiScaleFlow,
    Squeeze,
    channel_mask,
    checkerboard_image_mask,
    conv_coupling_net,
    glow_flow,
    realnvp_flow,
)

SHAPE = (2, 4, 4)  # [C, H, W]: the 1×2×4×4 case, D = 32


def randomised(module: torch.nn.Module, seed: int = 0, scale: float = 0.3) -> torch.nn.Module:
    """``module`` with every parameter drawn at random (a fresh coupling is the identity, which would make the
    log-determinant test pass trivially) and every ActNorm marked initialised."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(scale * torch.randn(parameter.shape, generator=generator))
        for layer in module.modules():
            if isinstance(layer, ActNorm):
                layer.initialized.fill_(1.0)
    return module.eval()


def layers() -> dict[str, torch.nn.Module]:
    channels, height, width = SHAPE
    torch.manual_seed(0)
    return {
        "squeeze": Squeeze(),
        "actnorm": ActNorm(channels),
        "conv1x1": InvertibleConv1x1(channels),
        "checkerboard-coupling": AffineCoupling(checkerboard_image_mask(height, width, 1),
                                                net=conv_coupling_net(channels, 8)),
        "channel-coupling": AffineCoupling(channel_mask(channels, 0), net=conv_coupling_net(channels, 8)),
        "realnvp": realnvp_flow(SHAPE, n_levels=2, steps_per_level=2, hidden=8),
        "glow": glow_flow(SHAPE, n_levels=2, steps_per_level=2, hidden=8),
    }


def flat_output(layer: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    return layer(x.reshape(1, *SHAPE))[0].flatten()


@pytest.mark.parametrize("name", sorted(layers()))
def test_log_determinant_equals_autograd(name):
    layer = randomised(layers()[name]).double()
    x = torch.randn(2, *SHAPE, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    _, logabsdet = layer(x)
    assert logabsdet.shape == (2,)
    for i in range(2):
        matrix = jacobian(lambda flat: flat_output(layer, flat), x[i].flatten())
        expected = torch.linalg.slogdet(matrix)[1]
        assert logabsdet[i].item() == pytest.approx(expected.item(), abs=1e-8)
    if name in ("realnvp", "glow", "conv1x1", "actnorm"):
        assert logabsdet.abs().max() > 0.1  # randomised layers that change volume: the test is not trivial


@pytest.mark.parametrize("name", sorted(layers()))
def test_inverse_undoes_forward(name):
    layer = randomised(layers()[name], scale=0.2)  # float32: conditioning of the random 1x1 convs matters
    x = torch.randn(5, *SHAPE, generator=torch.Generator().manual_seed(2))
    y, forward_logabsdet = layer(x)
    back, inverse_logabsdet = layer.inverse(y)
    assert (back - x).abs().max() < 1e-5
    assert torch.allclose(inverse_logabsdet, -forward_logabsdet, atol=1e-4)


def test_multi_scale_latent_holds_every_dimension_once():
    flow = glow_flow((3, 8, 8), n_levels=3, steps_per_level=1, hidden=4)
    assert flow.part_shapes == [(6, 4, 4), (12, 2, 2), (48, 1, 1)]
    assert flow.latent_dim == 3 * 8 * 8
    realnvp = realnvp_flow((3, 8, 8), n_levels=3, steps_per_level=1, hidden=4)
    assert realnvp.part_shapes == [(6, 4, 4), (12, 2, 2), (12, 2, 2)] and realnvp.latent_dim == 192
    with pytest.raises(ConfigError, match=r"latents must be \[n, 192\]"):
        realnvp.inverse(torch.zeros(2, 191))


def test_image_sides_must_allow_every_squeeze():
    with pytest.raises(ConfigError, match="divisible by 8"):
        glow_flow((3, 12, 12), n_levels=3, steps_per_level=1, hidden=4)
    assert isinstance(realnvp_flow((3, 12, 12), n_levels=3, steps_per_level=1, hidden=4), MultiScaleFlow)


def test_actnorm_standardises_its_first_training_batch_once_and_keeps_that_in_its_state():
    generator = torch.Generator().manual_seed(3)
    first = 3 + 2 * torch.randn(64, 2, 4, 4, generator=generator)
    layer = ActNorm(2)
    y, _ = layer(first)
    assert y.mean(dim=(0, 2, 3)).abs().max() < 1e-5
    assert (y.std(dim=(0, 2, 3), unbiased=False) - 1).abs().max() < 1e-4
    state = {key: value.clone() for key, value in layer.state_dict().items()}
    layer(10 * torch.randn(8, 2, 4, 4, generator=generator))  # a later batch does not re-initialise
    assert all(torch.equal(state[key], value) for key, value in layer.state_dict().items())
    restored = ActNorm(2)
    restored.load_state_dict(state)
    restored(torch.randn(8, 2, 4, 4, generator=generator))  # training mode, but already initialised
    assert torch.equal(restored.shift, layer.shift) and torch.equal(restored.log_scale, layer.log_scale)
    untouched = ActNorm(2).eval()
    untouched(first)
    assert untouched.initialized.item() == 0  # evaluation passes never initialise


def test_invertible_convolution_starts_as_a_rotation():
    torch.manual_seed(4)
    layer = InvertibleConv1x1(6)
    weight = layer.weight()
    assert torch.allclose(weight @ weight.T, torch.eye(6), atol=1e-5)
    assert not torch.allclose(weight.abs(), torch.eye(6), atol=0.1)  # it mixes the channels
    assert layer(torch.randn(1, 6, 2, 2))[1].abs().max() < 1e-4
