"""SAGAN's building blocks and the batch-aware discriminator: self-attention, spectral norm, minibatch
discrimination, and where the architecture options put them."""

import math

import pytest
import torch
from torch import nn

from condgen.errors import ConfigError
from condgen.io import atomic_save_tensors, load_tensors
from condgen.nn.attention import SelfAttention2d
from condgen.nn.dcgan import ConvDecoder, ConvEncoder, feature_sides
from condgen.nn.minibatch import FeatureDiscriminator, MinibatchDiscrimination
from condgen.nn.networks import ImageArchitecture
from condgen.nn.spectral_norm import reestimate_singular_vectors, spectral_normalise


def test_self_attention_keeps_the_shape_and_is_the_identity_at_initialisation():
    torch.manual_seed(0)
    block = SelfAttention2d(16)
    x = torch.randn(2, 16, 5, 7)
    assert block(x).shape == x.shape and torch.equal(block(x), x)  # gamma = 0
    weights = block.attention(x)
    assert weights.shape == (2, 35, 35)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 35), atol=1e-6)
    assert (block.query.out_channels, block.value.out_channels) == (2, 8)  # C/8 and C/2


def test_self_attention_lets_every_position_see_a_distant_one():
    torch.manual_seed(0)
    block = SelfAttention2d(8)
    with torch.no_grad():
        block.gamma.fill_(1.0)
    x = torch.randn(1, 8, 6, 6)
    changed = x.clone()
    changed[0, :, 5, 5] += 3.0  # one corner only
    difference = (block(changed) - block(x)).abs().sum(1)[0]
    assert difference[0, 0] > 1e-4  # the opposite corner moved: no 1x1 convolution reaches that far
    # and o is Σ_i β_ji h(x_i) pushed through the output convolution, as the formula says
    value = block.value(x).flatten(2)
    by_hand = block.out((value @ block.attention(x)[0].T).reshape(1, -1, 6, 6))
    assert torch.allclose(block(x), x + by_hand, atol=1e-6)


@pytest.mark.parametrize("make_layer", [lambda: nn.Linear(20, 30), lambda: nn.Conv2d(6, 10, 3),
                                        lambda: nn.ConvTranspose2d(10, 6, 4, 2, 1)], ids=["linear", "conv", "deconv"])
def test_spectral_norm_gives_a_largest_singular_value_of_one(make_layer):
    torch.manual_seed(0)  # before the layer is built: its weights, hence the power iteration's speed, are fixed
    layer = make_layer()
    with torch.no_grad():
        layer.weight.mul_(7.0)  # far from 1 before
    network = spectral_normalise(nn.Sequential(layer))
    x = torch.randn(3, 20) if isinstance(layer, nn.Linear) else torch.randn(3, layer.in_channels, 8, 8)
    for _ in range(50):  # one power iteration per training forward pass
        network(x)
    weight = layer.weight.detach()
    matrix = weight.transpose(0, 1) if isinstance(layer, nn.ConvTranspose2d) else weight
    sigma = torch.linalg.matrix_norm(matrix.flatten(1), ord=2).item()
    assert sigma == pytest.approx(1.0, abs=1e-3)
    assert torch.linalg.matrix_norm(layer.parametrizations.weight.original.detach().transpose(
        0, 1 if isinstance(layer, nn.ConvTranspose2d) else 0).flatten(1), ord=2).item() > 3


def test_spectral_norm_state_round_trips_through_safetensors(tmp_path):
    torch.manual_seed(0)
    trained = spectral_normalise(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 3)))
    x = torch.randn(2, 3, 9, 9)
    for _ in range(3):
        trained(x)  # moves u and v on
    atomic_save_tensors(tmp_path / "w.safetensors", trained.state_dict())
    state = load_tensors(tmp_path / "w.safetensors")
    assert {"0.parametrizations.weight.original", "0.parametrizations.weight.0._u",
            "0.parametrizations.weight.0._v"} <= set(state)
    torch.manual_seed(1)
    loaded = spectral_normalise(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 3)))
    loaded.load_state_dict(state, strict=True)
    trained.eval(), loaded.eval()
    assert torch.equal(trained(x), loaded(x))


def test_weights_put_in_from_elsewhere_get_their_own_singular_vectors():
    torch.manual_seed(0)
    layer = spectral_normalise(nn.Sequential(nn.Linear(12, 9)))[0]
    with torch.no_grad():
        layer.parametrizations.weight.original.copy_(torch.randn(9, 12) * 3)  # as an EMA's weights arrive
    matrix = layer.parametrizations.weight.original.detach()
    stale = (layer.parametrizations.weight[0]._u @ matrix @ layer.parametrizations.weight[0]._v).item()
    reestimate_singular_vectors(layer)
    normalisation = layer.parametrizations.weight[0]
    sigma = torch.linalg.matrix_norm(matrix, ord=2).item()
    assert abs(stale) < 0.9 * sigma  # the old vectors underestimate it
    assert (normalisation._u @ matrix @ normalisation._v).item() == pytest.approx(sigma, rel=1e-3)
    reestimate_singular_vectors(nn.Linear(3, 2))  # nothing to do


def test_attention_sits_on_the_feature_maps_of_the_side_asked_for():
    assert feature_sides(32, 32) == [4, 8, 16] and feature_sides(28, 28) == [4, 8, 16]
    sides = []

    def record(module, inputs, output):
        sides.append(output.shape[-1])

    encoder = ConvEncoder(3, 32, base_channels=8, out_features=1, attention_side=8)
    decoder = ConvDecoder(16, 3, 32, base_channels=8, attention_side=16)
    for network in (encoder, decoder):
        blocks = [m for m in network.modules() if isinstance(m, SelfAttention2d)]
        assert len(blocks) == 1
        blocks[0].register_forward_hook(record)
    assert encoder(torch.randn(2, 3, 32, 32)).shape == (2, 1)
    assert decoder(torch.randn(2, 16)).shape == (2, 3, 32, 32)
    assert sides == [8, 16]
    plain = ConvEncoder(3, 32, base_channels=8, out_features=1)
    assert not any(isinstance(m, SelfAttention2d) for m in plain.modules())
    with pytest.raises(ConfigError, match=r"sides \[4, 8, 16\]"):
        ConvEncoder(3, 32, base_channels=8, out_features=1, attention_side=32)


def test_architecture_options_resolve_to_what_the_stacks_have():
    assert ImageArchitecture(data_shape=(3, 32, 32), attention=16).attention == 16
    assert ImageArchitecture(data_shape=(3, 16, 16), attention=16).attention == 8  # largest side below
    assert ImageArchitecture(data_shape=(5,), arch="mlp", attention=16).attention == 0  # an MLP has none
    with pytest.raises(ConfigError, match="smallest feature maps have side 4"):
        ImageArchitecture(data_shape=(3, 32, 32), attention=2)
    with pytest.raises(ConfigError, match="unknown spectral_norm 'yes'; valid: none, encoder, all"):
        ImageArchitecture(spectral_norm="yes")
    reader_only = ImageArchitecture(data_shape=(3, 16, 16), spectral_norm="encoder")
    normalised = [hasattr(m, "parametrizations") for m in reader_only.encoder(1).modules() if isinstance(m, nn.Conv2d)]
    assert normalised and all(normalised)
    assert not any(hasattr(m, "parametrizations") for m in reader_only.decoder(4).modules())


def test_minibatch_closeness_is_the_hand_computed_sum_over_the_other_examples():
    layer = MinibatchDiscrimination(2, kernels=1, kernel_dim=2)
    with torch.no_grad():
        layer.projection.copy_(torch.eye(2))  # M_i = f_i
    features = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    e = math.exp
    expected = [e(-1) + e(-2), e(-1) + e(-3), e(-2) + e(-3)]  # L1 distances 1, 2 and 3
    closeness = layer.closeness(features)
    assert closeness.shape == (3, 1)
    assert closeness[:, 0].tolist() == pytest.approx(expected, rel=1e-6)
    assert torch.equal(layer(features)[:, :2], features)


def test_a_minibatch_discriminator_sees_the_batch_and_a_plain_one_does_not():
    torch.manual_seed(0)
    architecture = ImageArchitecture(data_shape=(3, 16, 16), base_channels=8)
    with_minibatch = FeatureDiscriminator(architecture.features(32, batch_norm=False), 32, minibatch_kernels=8).eval()
    plain = FeatureDiscriminator(architecture.features(32, batch_norm=False), 32).eval()
    diverse = torch.rand(4, 3, 16, 16) * 2 - 1
    duplicated = diverse[:1].repeat(4, 1, 1, 1)
    with torch.no_grad():
        for network, sees_batch in ((with_minibatch, True), (plain, False)):
            alone, among_copies, among_others = network(diverse[:1]), network(duplicated)[:1], network(diverse)[:1]
            assert torch.allclose(alone, among_others, atol=1e-6) != sees_batch
            assert torch.allclose(among_copies, among_others, atol=1e-6) != sees_batch
            assert network.features(diverse).shape == (4, 32)
        # copies are as close as can be: the closeness statistics are at their maximum, n − 1
        closeness = with_minibatch.minibatch.closeness(with_minibatch.features(duplicated))
        assert torch.allclose(closeness, torch.full_like(closeness, 3.0))
