"""The plugin's projection for wide latents (condgen.plugin.projection) and a plugin on a tiny image flow: the
projection is orthonormal, exact and keeps attribute directions; a projected plugin on a RealNVP backbone
generates and edits the attribute far better than chance, keeps the residual through edits, and saves and
loads its projection; small latents keep the whole-latent flow (no projection weights)."""

import pytest
import torch
import torch.nn.functional as F

from condgen.data.dataset import LabeledDataset
from condgen.data.schema import Attribute, AttributeSchema
from condgen.errors import ConfigError
from condgen.models import build_model
from condgen.plugin import BackboneAdapter, Plugin, PluginConfig, fit_plugin
from condgen.plugin.projection import PROJECTION_DIM, LatentProjection
from condgen.train import TrainConfig

BRIGHT = AttributeSchema((Attribute("bright", "binary"),))
#: u8 midpoint between the two brightness classes of :func:`bright_images`, in the network's [-1, 1]
BRIGHTNESS_THRESHOLD = 140 / 127.5 - 1


def bright_images(n: int, seed: int) -> LabeledDataset:
    """uint8 ``[n, 1, 8, 8]``: smooth random blobs (3×3 noise upsampled) around grey level 110, +60 when
    ``bright`` = 1, plus pixel noise."""
    generator = torch.Generator().manual_seed(seed)
    bright = torch.randint(0, 2, (n,), generator=generator).float()
    blobs = F.interpolate(torch.randn(n, 1, 3, 3, generator=generator), size=(8, 8), mode="bilinear",
                          align_corners=False)
    pixels = 110 + 25 * blobs + 60 * bright[:, None, None, None] + 3 * torch.randn(n, 1, 8, 8, generator=generator)
    values = bright[:, None]
    return LabeledDataset(pixels.round().clamp(0, 255).to(torch.uint8), values, BRIGHT.with_statistics(values),
                          {"name": "bright", "modality": "images"})


def judged_bright(images: torch.Tensor) -> torch.Tensor:
    """The oracle: mean pixel ``[B]`` of images ``[B, 1, 8, 8]`` in [-1, 1] above the classes' midpoint."""
    return (images.flatten(1).mean(dim=1) > BRIGHTNESS_THRESHOLD).float()


@pytest.fixture(scope="module")
def flow_plugin():
    """A RealNVP trained 250 steps on 512 bright/dark 1×8×8 images (64-d latents) and a plugin on it whose flow
    models a 12-d projection, fitted 300 steps."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    data = bright_images(512, seed=0)
    torch.manual_seed(0)
    backbone = build_model("realnvp", data, n_levels=2, steps_per_level=2, hidden=16)
    quiet = {"batch_size": 64, "progress": False, "device": "cpu", "log_every": 0}
    from condgen.train import train

    backbone = train(backbone, data, TrainConfig(steps=250, lr_schedule="cosine", **quiet)).model.eval()
    config = PluginConfig(hidden=64, depth=3, projection_dim=12)
    plugin = fit_plugin(backbone, data, ["bright"], config, TrainConfig(steps=300, seed=0, **quiet), progress=False)
    yield plugin, backbone, data
    torch.set_num_threads(threads)


def test_projection_is_orthonormal_exact_and_keeps_the_attribute_direction():
    generator = torch.Generator().manual_seed(0)
    scales = torch.linspace(3.0, 0.1, 40)  # the attribute lives on the lowest-variance axis
    scales[0] = 8.0  # and one axis stands out
    latents = torch.randn(1000, 40, generator=generator) * scales + 2.0
    values = (latents[:, -1:] > 2.0).float()
    projection = LatentProjection(40, 6)
    projection.fit(latents, values, BRIGHT)
    basis = projection.basis
    assert torch.allclose(basis.T @ basis, torch.eye(6), atol=1e-5)
    coordinates, residual = projection.split(latents)
    assert torch.allclose(projection.join(coordinates, residual), latents, atol=1e-5)
    assert (residual @ basis).abs().max() < 1e-4  # the residual is orthogonal to the modelled part
    attribute_axis = torch.eye(40)[-1]
    assert (basis.T @ attribute_axis).norm() > 0.99  # kept, though PCA alone would drop it
    assert (basis.T @ torch.eye(40)[0]).norm() > 0.99  # the largest-variance axis too
    with pytest.raises(ConfigError, match="1 ≤ k ≤ 40"):
        LatentProjection(40, 41)


def test_wide_latents_get_a_projection_by_default_and_small_ones_do_not():
    wide = Plugin(PluginConfig(hidden=8, depth=2), BRIGHT.with_statistics(torch.ones(2, 1)), 600)
    assert wide.config.projection_dim == PROJECTION_DIM == wide.flow_dim
    assert {"projection.mean", "projection.basis"} <= set(wide.state_dict())
    small = Plugin(PluginConfig(hidden=8, depth=2), BRIGHT.with_statistics(torch.ones(2, 1)), 64)
    assert small.projection is None and small.flow_dim == 64 and small.config.projection_dim == 0
    assert not any(key.startswith("projection") for key in small.state_dict())
    with pytest.raises(ConfigError, match="projection_dim"):
        Plugin(PluginConfig(hidden=8, depth=2, projection_dim=1),
               AttributeSchema((Attribute("shape", "categorical", categories=("a", "b", "c")),)), 64)


def test_a_projected_plugin_on_a_flow_generates_the_attribute(flow_plugin):
    plugin, _, _ = flow_plugin
    assert plugin.flow_dim == 12 and plugin.latent_dim == 64
    for value in (0, 1):
        images = plugin.sample(200, {"bright": value}, generator=torch.Generator().manual_seed(value))
        assert (judged_bright(images) == value).float().mean() >= 0.85  # chance: 0.5; reached 0.97 and 0.93


def test_editing_a_flow_latent_changes_the_attribute_and_keeps_the_residual(flow_plugin):
    plugin, _, _ = flow_plugin
    held_out = bright_images(200, seed=1)
    dark = held_out.examples()[held_out.attributes[:, 0] == 0][:60]
    z = plugin.encode(dark)
    unchanged = plugin.edit_latent(z, {"bright": 1}, strength=0.0)
    assert torch.allclose(unchanged, z, atol=1e-4)
    edited = plugin.edit_latent(z, {"bright": 1})
    assert torch.allclose(plugin.projection.residual(edited), plugin.projection.residual(z), atol=1e-4)
    assert judged_bright(plugin.decode(edited)).mean() >= 0.8
    assert plugin.predict_values(edited)[:, 0].mean() >= 0.9


def test_a_projected_plugin_saves_and_loads_its_projection(flow_plugin, tmp_path):
    plugin, backbone, _ = flow_plugin
    backbone.save(tmp_path / "realnvp")
    plugin.save(tmp_path / "plugin")
    loaded = Plugin.load(tmp_path / "plugin")
    assert torch.equal(loaded.projection.basis, plugin.projection.basis)
    first = plugin.sample(8, {"bright": 1}, generator=torch.Generator().manual_seed(3))
    again = loaded.sample(8, {"bright": 1}, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(first, again, atol=1e-6)


def test_generation_with_a_projection_draws_the_residual_from_the_backbone_prior():
    """A backbone whose prior lives on the last coordinate only: the residual of generated latents comes from it."""
    dim = 10
    latents = torch.randn(500, dim, generator=torch.Generator().manual_seed(0))
    values = (latents[:, :1] > 0).float()
    identity = torch.nn.Identity()

    def prior(n, generator):
        return torch.cat([torch.zeros(n, dim - 1), 5 + torch.zeros(n, 1)], dim=1)

    backbone = BackboneAdapter(identity, dim, encoder=identity, sample_latent=prior)
    dataset = LabeledDataset(latents, values, BRIGHT.with_statistics(values), {"name": "v", "modality": "vectors"})
    plugin = fit_plugin(backbone, dataset, ["bright"], PluginConfig(hidden=8, depth=2, projection_dim=3),
                        TrainConfig(steps=5, batch_size=100, progress=False, device="cpu"), progress=False)
    z = plugin.conditional_latents(4, {"bright": 1}, generator=torch.Generator().manual_seed(0))
    drawn = prior(4, None)
    assert torch.allclose(plugin.projection.residual(z), plugin.projection.residual(drawn), atol=1e-5)
