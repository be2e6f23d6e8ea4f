"""The image families' shared architecture and loss-step code changes nothing a user can see.

Reference values were recorded from the code before :class:`condgen.nn.networks.ImageArchitecture`
and the shared GAN / ELBO steps existed:

* the shipped ``faces-vae`` and ``faces-dcgan`` decode fixed latents to the same images;
* every image/vector model name builds the same ``state_dict`` keys and shapes
  (``reference/state_dict_layouts.json``), so saved weights keep loading strictly;
* a few seeded engine steps of every family give the same weights (:data:`TRAINING_REFERENCE`).

The weight references are float64 checksums compared to a relative 1e-6, not bit patterns: float32
convolutions round differently on CPUs with other vector instructions, and this suite runs on more
than one machine. On the recording machine the weights were also compared bit for bit (sha256).
"""

import json
from pathlib import Path

import pytest
import torch

import condgen
from condgen.models import ARCHITECTURE_MODEL_NAMES, build_model
from condgen.models.base import GenerativeModel
from condgen.train import TrainConfig, train

LAYOUTS = Path(__file__).parent / "reference" / "state_dict_layouts.json"

#: case → (model name, data, options beyond the ``tiny`` fixture's)
TRAINING_CASES: dict[str, tuple[str, str, dict]] = {
    "vae": ("vae", "images", {}),
    "vae-bernoulli-clipped": ("vae", "images", {"likelihood": "bernoulli", "grad_clip": 1.0}),
    "beta-vae": ("beta-vae", "images", {}),
    "wae": ("wae", "images", {}),
    "aae": ("aae", "images", {}),
    "gan": ("gan", "images", {}),
    "lsgan": ("lsgan", "images", {}),
    "wgan": ("wgan", "images", {}),
    "wgan-gp": ("wgan-gp", "images", {}),
    "hinge-gan": ("hinge-gan", "images", {}),
    "cvae": ("cvae", "images", {}),
    "cgan": ("cgan", "images", {}),
    "cgan-hinge": ("cgan", "images", {"loss": "hinge", "n_critic": 2}),
    "vae-vectors": ("vae", "vectors", {}),
    "wae-vectors": ("wae", "vectors", {}),
    "aae-vectors": ("aae", "vectors", {}),
    "gan-vectors": ("wgan-gp", "vectors", {}),
    "cvae-vectors": ("cvae", "vectors", {}),
    "cgan-vectors": ("cgan", "vectors", {}),
}

#: case → (Σ|w|, Σ w·cos(index)) over the state dict after :func:`trained`, from the code before.
TRAINING_REFERENCE: dict[str, tuple[float, float]] = {
    "vae": (90.9997533729038, 14.892083423643511),
    "vae-bernoulli-clipped": (90.84101671949247, 14.913408531122297),
    "beta-vae": (90.98905812591693, 14.894820919408843),
    "wae": (83.17896186664711, 13.448413222294555),
    "aae": (2459.5421710674327, 10.009467332031532),
    "gan": (82.61971316560084, 26.205310022615866),
    "lsgan": (82.619330563919, 26.20800794149072),
    "wgan": (109.22180632304116, 71.52797208168819),
    "wgan-gp": (83.18815152881507, 38.8570988784747),
    "hinge-gan": (82.6158891148043, 26.20386520518685),
    "cvae": (129.08204991340608, 14.060415301111831),
    "cgan": (117.88776607971886, 27.522159951886522),
    "cgan-hinge": (126.74053315725178, 39.04851415726153),
    "vae-vectors": (41.700311702210456, 4.450528248770465),
    "wae-vectors": (35.20854635280557, 0.9872352301561711),
    "aae-vectors": (2417.619869191018, 5.33329815806522),
    "gan-vectors": (30.13446674286388, 1.1466924819413478),
    "cvae-vectors": (73.33804737997707, 0.8901075218496969),
    "cgan-vectors": (54.203808620455675, -3.874386342641391),
}

#: shipped model → (Σ x, Σ |x|, x.flatten()[::1543][:8]) of ``decode(z)``, z = 4 seeded latents.
DECODE_REFERENCE: dict[str, tuple[float, float, list[float]]] = {
    "faces-vae": (-2343.741557985777, 3652.366065125563,
                  [0.4894599, 0.3609356, -0.2720811, -0.2295528, 0.4446622, -0.3146799, -0.2033273, -0.4910752]),
    "faces-dcgan": (-1162.940237455652, 7034.5827307957225,
                    [0.8141648, 0.84609, -0.0546556, -0.2167441, 0.9470882, 0.4894464, -0.5958951, 0.7786599]),
}


def trained(case: str, images, vectors, tiny: dict) -> GenerativeModel:
    """The tiny model of ``case`` after three seeded engine steps on 16-px images or 5-d vectors
    (``images``, ``vectors`` and ``tiny`` are this folder's fixtures)."""
    name, data_kind, options = TRAINING_CASES[case]
    data = images(n=16, size=16) if data_kind == "images" else vectors(n=16, dim=5)
    torch.manual_seed(0)  # the initial weights come from the global generator
    model = build_model(name, data, **tiny, **options)
    return train(model, data, TrainConfig(steps=3, batch_size=8, progress=False, log_every=0)).model


def weights_checksum(model: torch.nn.Module) -> tuple[float, float]:
    """Σ|w| and a fixed projection Σ w·cos(index) over every tensor of the state dict (float64)."""
    total_abs, projection = 0.0, 0.0
    for tensor in model.state_dict().values():
        values = tensor.detach().double().flatten()
        total_abs += values.abs().sum().item()
        projection += (values * torch.arange(values.numel(), dtype=torch.float64).cos()).sum().item()
    return total_abs, projection


def state_dict_layout(model: torch.nn.Module) -> list[list]:
    """``[[key, shape], …]`` in state-dict order."""
    return [[key, list(tensor.shape)] for key, tensor in model.state_dict().items()]


def layout_models(name: str, images, vectors, tiny: dict) -> dict[str, GenerativeModel]:
    """``name`` built with default options for 32-px images and vectors, tiny ones for 64-px and 8-px images."""
    return {
        f"{name}/images32": build_model(name, images(n=4, size=32)),
        f"{name}/images64-tiny": build_model(name, images(n=4, size=64), **tiny),
        f"{name}/digits8-tiny": build_model(name, images(n=4, size=8, channels=1), **tiny),
        f"{name}/vectors": build_model(name, vectors(n=6, dim=5)),
    }


@pytest.mark.parametrize("shipped", sorted(DECODE_REFERENCE))
def test_shipped_models_decode_as_before(shipped):
    model = condgen.load(shipped)
    z = torch.randn(4, model.latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        x = model.decode(z).double()
    total, total_abs, pixels = DECODE_REFERENCE[shipped]
    assert x.sum().item() == pytest.approx(total, rel=1e-5, abs=1e-3)
    assert x.abs().sum().item() == pytest.approx(total_abs, rel=1e-5)
    assert x.flatten()[::1543][:8].tolist() == pytest.approx(pixels, abs=1e-5)


@pytest.mark.parametrize("name", sorted(ARCHITECTURE_MODEL_NAMES))
def test_state_dict_keys_and_shapes_are_unchanged(name, images, vectors, tiny):
    reference = json.loads(LAYOUTS.read_text())
    for key, model in layout_models(name, images, vectors, tiny).items():
        assert state_dict_layout(model) == reference[key], key


@pytest.mark.parametrize("case", sorted(TRAINING_REFERENCE))
def test_training_steps_give_the_same_weights(case, images, vectors, tiny):
    total_abs, projection = weights_checksum(trained(case, images, vectors, tiny))
    assert (total_abs, projection) == pytest.approx(TRAINING_REFERENCE[case], rel=1e-6, abs=1e-6)
