"""A plain multi-layer perceptron, the building block of every vector model and small head."""

from __future__ import annotations

from torch import nn

from condgen.errors import ConfigError, check_choice

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,  # slope 0.2 (set in make_activation), as in DCGAN discriminators
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
}


def make_activation(name: str) -> nn.Module:
    """A fresh activation module by name (one of :data:`ACTIVATIONS`)."""
    check_choice(name, ACTIVATIONS, "activation")
    return nn.LeakyReLU(0.2) if name == "leaky_relu" else ACTIVATIONS[name]()


class MLP(nn.Sequential):
    """``depth`` hidden layers of width ``hidden``, each Linear → activation, then a Linear output.

    Maps ``[B, in_features]`` to ``[B, out_features]``; ``depth=0`` is a single Linear layer.
    ``output_activation`` (``None`` = none) is applied to the output, e.g. ``"tanh"`` for data in
    ``[-1, 1]``; vectors stored on their own scale (toy 2-D sets) need none.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden: int = 256,
        depth: int = 2,
        activation: str = "relu",
        output_activation: str | None = None,
    ):
        if depth < 0 or hidden < 1 or in_features < 1 or out_features < 1:
            raise ConfigError(
                f"MLP needs depth >= 0 and positive sizes (got in={in_features}, out={out_features}, "
                f"hidden={hidden}, depth={depth})"
            )
        layers: list[nn.Module] = []
        width = in_features
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), make_activation(activation)]
            width = hidden
        layers.append(nn.Linear(width, out_features))
        if output_activation is not None:
            layers.append(make_activation(output_activation))
        super().__init__(*layers)
        self.in_features, self.out_features = in_features, out_features
