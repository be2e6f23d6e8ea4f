"""Building blocks: MLP layout, DCGAN stacks' shapes and batch-norm switch, architecture selection and the
shared image architecture."""

import pytest
import torch
from torch import nn

from condgen.errors import ConfigError
from condgen.nn.conditioning import ProjectionHead, condition_input
from condgen.nn.dcgan import ConvDecoder, ConvEncoder, working_side
from condgen.nn.mlp import MLP
from condgen.nn.networks import ImageArchitecture, build_decoder, build_encoder


def test_mlp_has_depth_hidden_layers_and_optional_output_activation():
    mlp = MLP(3, 2, hidden=16, depth=2, activation="leaky_relu", output_activation="tanh")
    kinds = [type(layer) for layer in mlp]
    assert kinds == [nn.Linear, nn.LeakyReLU, nn.Linear, nn.LeakyReLU, nn.Linear, nn.Tanh]
    assert mlp[1].negative_slope == 0.2
    assert mlp(torch.randn(5, 3)).shape == (5, 2)
    assert [type(layer) for layer in MLP(3, 2, depth=0)] == [nn.Linear]
    with pytest.raises(ConfigError, match="unknown activation 'swish'"):
        MLP(3, 2, activation="swish")
    with pytest.raises(ConfigError, match="depth >= 0"):
        MLP(3, 2, depth=-1)


@pytest.mark.parametrize(("size", "halvings"), [(16, 2), (32, 3), (64, 4)])
def test_conv_stacks_halve_down_to_four_pixels(size, halvings):
    encoder = ConvEncoder(3, size, base_channels=8, out_features=10)
    convs = [m for m in encoder.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == halvings + 1 and convs[-2].out_channels == 8 * 2 ** (halvings - 1)
    assert encoder(torch.randn(2, 3, size, size)).shape == (2, 10)
    decoder = ConvDecoder(6, 3, size, base_channels=8)
    transposed = [m for m in decoder.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(transposed) == halvings + 1 and transposed[0].out_channels == 8 * 2 ** (halvings - 1)
    image = decoder(torch.randn(2, 6))
    assert image.shape == (2, 3, size, size) and image.abs().max() <= 1


def test_batch_norm_is_optional_in_the_encoder_and_never_on_its_first_layer():
    with_norm = ConvEncoder(1, 32, 4, 1)
    norms = [m for m in with_norm.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == 2  # after the 2nd and 3rd convolutions
    assert not any(isinstance(m, nn.BatchNorm2d) for m in ConvEncoder(1, 32, 4, 1, batch_norm=False).modules())
    # Without batch norm, each example's score depends on that example alone (WGAN-GP needs this).
    critic = ConvEncoder(1, 16, 4, 1, batch_norm=False)
    x = torch.randn(4, 1, 16, 16)
    assert torch.allclose(critic(x)[:1], critic(x[:1]), atol=1e-6)


def test_odd_sizes_are_padded_to_the_next_power_of_two():
    assert working_side(28, 28) == 32 and working_side(8, 8) == 16 and working_side(64, 48) == 64
    assert ConvEncoder(1, 28, 4, 3)(torch.randn(2, 1, 28, 28)).shape == (2, 3)
    assert ConvDecoder(5, 1, (28, 20), 4)(torch.randn(2, 5)).shape == (2, 1, 28, 20)
    with pytest.raises(ConfigError, match="built for 28x28 images"):
        ConvEncoder(1, 28, 4, 3)(torch.randn(2, 1, 32, 32))


def test_build_functions_choose_conv_stacks_or_flattening_mlps():
    assert isinstance(build_encoder("dcgan", (3, 16, 16), 4, base_channels=4), ConvEncoder)
    flat = build_encoder("mlp", (1, 8, 8), 4, hidden=8, depth=1)
    assert flat(torch.randn(3, 1, 8, 8)).shape == (3, 4)
    image_decoder = build_decoder("mlp", 4, (1, 8, 8), hidden=8, depth=1, output_activation="tanh")
    assert image_decoder(torch.randn(3, 4)).shape == (3, 1, 8, 8)
    assert build_decoder("mlp", 4, (2,), hidden=8, depth=1, output_activation=None)(torch.randn(3, 4)).shape == (3, 2)


def test_image_architecture_builds_every_network_from_its_fields():
    images = ImageArchitecture(latent_dim=4, data_shape=(3, 16, 16), base_channels=4)
    encoder = images.encoder(6, batch_norm=False)
    assert isinstance(encoder, ConvEncoder) and encoder(torch.randn(2, 3, 16, 16)).shape == (2, 6)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in encoder.modules())
    decoder = images.decoder(5)
    assert images.output_activation == "tanh" and isinstance(list(decoder.modules())[-1], nn.Tanh)
    assert decoder(torch.randn(2, 5)).shape == (2, 3, 16, 16)
    features = images.features(7)  # encoder + leaky ReLU: index 0 keeps the encoder's state-dict keys
    assert isinstance(features[0], ConvEncoder) and isinstance(features[1], nn.LeakyReLU)
    vectors = ImageArchitecture(latent_dim=2, data_shape=(5,), arch="mlp", hidden=8, depth=1)
    assert vectors.output_activation is None and vectors.decoder(2)(torch.randn(3, 2)).shape == (3, 5)
    assert vectors.encoder(4)(torch.randn(3, 5)).shape == (3, 4)


@pytest.mark.parametrize(("options", "message"), [
    ({"arch": "resnet"}, "unknown arch 'resnet'"),
    ({"arch": "dcgan", "data_shape": (5,)}, "arch 'dcgan' needs images"),
    ({"latent_dim": 0}, "need latent_dim >= 1"),
])
def test_image_architecture_is_validated_when_made(options, message):
    with pytest.raises(ConfigError, match=message):
        ImageArchitecture(**options)


def test_projection_head_adds_the_inner_product_with_the_embedded_condition():
    head = ProjectionHead(features=3, condition_width=2)
    with torch.no_grad():
        head.unconditional.weight.copy_(torch.tensor([[1.0, 0.0, 0.0]]))
        head.unconditional.bias.fill_(0.5)
        head.embedding.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    features, condition = torch.tensor([[2.0, 3.0, 4.0]]), torch.tensor([[1.0, -1.0]])
    # w·φ + b = 2.5; V c = (1, −1, 0); ⟨V c, φ⟩ = 2 − 3 = −1
    assert head(features, condition).item() == pytest.approx(1.5)


def test_condition_input_checks_shape_and_treats_none_as_all_missing():
    from condgen.data.schema import Attribute, AttributeSchema

    schema = AttributeSchema((Attribute("a", "binary"), Attribute("c", "categorical", categories=("x", "y"))))
    assert torch.equal(condition_input(schema, None, 2, torch.device("cpu")), torch.zeros(2, 3))
    values = torch.tensor([[1.0, 1.0], [0.0, float("nan")]])
    assert torch.equal(condition_input(schema, values, 2, torch.device("cpu")),
                       torch.tensor([[1.0, 0.0, 1.0], [-1.0, 0.0, 0.0]]))
    with pytest.raises(ConfigError, match=r"shape \[2, 2\] \(a, c\)"):
        condition_input(schema, torch.zeros(2, 3), 2, torch.device("cpu"))
