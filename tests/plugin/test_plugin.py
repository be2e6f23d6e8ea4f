"""The plugin on a small synthetic latent problem with a known oracle: generation, editing, reading
attributes back, save/load, and the errors a user meets."""

import pytest
import torch
from torch import nn

import condgen
from condgen.data.dataset import LabeledDataset
from condgen.data.schema import Attribute, AttributeSchema
from condgen.errors import ArtifactError, ConfigError, DataError, UnknownAttributeError
from condgen.plugin import BackboneAdapter, Plugin, PluginConfig, collect_latents, fit_plugin
from condgen.train import TrainConfig

LATENT_DIM = 8
SCHEMA = AttributeSchema((
    Attribute("smile", "binary"),
    Attribute("age", "continuous"),
    Attribute("shape", "categorical", categories=("round", "square", "star")),
))


def oracle(z: torch.Tensor) -> torch.Tensor:
    """Ground-truth attributes ``[N, 3]`` of latents: a nonlinear binary, a continuous, a 3-class one."""
    smile = (z[:, 0] + 0.5 * z[:, 1] ** 2 - 0.5 > 0).float()
    age = 2 * torch.tanh(z[:, 2]) + 0.5 * z[:, 3]
    shape = torch.stack([z[:, 4], z[:, 5], -z[:, 4] - z[:, 5]], dim=1).argmax(dim=1).float()
    return torch.stack([smile, age, shape], dim=1)


class LinearEncoder(nn.Module):
    """Exact inverse of a full-column-rank linear decoder."""

    def __init__(self, decoder: nn.Linear):
        super().__init__()
        self.register_buffer("pinv", torch.linalg.pinv(decoder.weight.detach()))
        self.register_buffer("bias", decoder.bias.detach().clone())

    def forward(self, x):
        return (x - self.bias) @ self.pinv.T


def make_backbone(seed: int = 0) -> BackboneAdapter:
    torch.manual_seed(seed)
    decoder = nn.Linear(LATENT_DIM, 12).requires_grad_(False)
    return BackboneAdapter(decoder, LATENT_DIM, encoder=LinearEncoder(decoder))


@pytest.fixture(scope="module")
def problem():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine is shared; small nets are faster single-threaded anyway
    generator = torch.Generator().manual_seed(0)
    backbone = make_backbone()
    z = torch.randn(2000, LATENT_DIM, generator=generator)
    values = oracle(z)
    values[torch.rand(2000, generator=generator) < 0.3, 0] = float("nan")  # partial labels
    values[torch.rand(2000, generator=generator) < 0.2, 1] = float("nan")
    with torch.no_grad():
        dataset = LabeledDataset(backbone.decode(z), values, SCHEMA.with_statistics(values),
                                 {"name": "synthetic", "modality": "vectors"})
    config = PluginConfig(hidden=64, depth=3, n_couplings=4, lr=1e-3, sigma_start=0.7, sigma_end=0.2)
    plugin = fit_plugin(backbone, dataset, ["smile", "age", "shape"], config,
                        TrainConfig(steps=1200, batch_size=256, seed=0, progress=False, device="cpu"))
    yield plugin, backbone, dataset
    torch.set_num_threads(threads)


def test_conditional_generation_hits_every_attribute(problem):
    plugin, _, _ = problem
    generator = torch.Generator().manual_seed(1)
    for value in (0, 1):
        z = plugin.conditional_latents(1000, {"smile": value}, generator=generator)
        assert (oracle(z)[:, 0] == value).float().mean() >= 0.95
    age_std = plugin.schema["age"].std
    for target in (-1.5, 0.0, 1.5):
        z = plugin.conditional_latents(1000, {"age": target}, generator=generator)
        assert (oracle(z)[:, 1] - target).abs().mean() <= 0.25 * age_std
    for category in (0, 1, 2):
        z = plugin.conditional_latents(500, {"shape": category}, generator=generator)
        assert (oracle(z)[:, 2] == category).float().mean() >= 0.95
    z = plugin.conditional_latents(1000, {"smile": "yes", "age": 1.0, "shape": "star"}, generator=generator)
    truth = oracle(z)
    assert (truth[:, 0] == 1).float().mean() >= 0.95 and (truth[:, 2] == 2).float().mean() >= 0.95
    assert (truth[:, 1] - 1.0).abs().mean() <= 0.25 * age_std


def test_unconditional_samples_follow_the_data(problem):
    plugin, _, dataset = problem
    z = plugin.conditional_latents(2000, generator=torch.Generator().manual_seed(2))
    truth = oracle(z)
    assert truth[:, 0].mean().item() == pytest.approx(plugin.schema["smile"].positive_rate, abs=0.05)
    assert truth[:, 1].mean().item() == pytest.approx(plugin.schema["age"].mean, abs=0.15)
    # The latents were N(0, I); a 1200-step flow gets their spread within ~25 % (600 steps: 1.39 on a class coordinate).
    assert z.std(dim=0).min() > 0.8 and z.std(dim=0).max() < 1.3


def test_edits_change_the_target_and_keep_the_rest(problem):
    plugin, _, _ = problem
    z = torch.randn(1000, LATENT_DIM, generator=torch.Generator().manual_seed(3))
    before = oracle(z)
    for value in (0, 1):
        after = oracle(plugin.edit_latent(z, {"smile": value}))
        assert (after[:, 0] == value).float().mean() >= 0.95
        assert (after[:, 2] == before[:, 2]).float().mean() >= 0.9
    after = oracle(plugin.edit_latent(z, {"age": 1.0}))
    assert (after[:, 1] - 1.0).abs().mean() <= 0.25 * plugin.schema["age"].std
    assert (after[:, 0] == before[:, 0]).float().mean() >= 0.9
    assert torch.allclose(plugin.edit_latent(z, {"smile": 1}, strength=0.0), z, atol=1e-4)
    # Decoded edit from examples goes through the backbone's encoder.
    with torch.no_grad():
        images = plugin.edit({"smile": 1}, x=plugin.backbone.decode(z[:50]))
    assert torch.allclose(images, plugin.decode(plugin.edit_latent(z[:50], {"smile": 1})), atol=1e-4)


def test_predict_reads_attributes_back(problem):
    plugin, _, _ = problem
    z = torch.randn(1000, LATENT_DIM, generator=torch.Generator().manual_seed(4))
    truth = oracle(z)
    predicted = plugin.predict(z)
    assert set(predicted) == {"smile", "age", "shape"}
    assert predicted["smile"].shape == (1000,) and predicted["shape"].shape == (1000, 3)
    assert ((predicted["smile"] > 0.5).float() == truth[:, 0]).float().mean() >= 0.9
    assert (predicted["age"] - truth[:, 1]).abs().mean() <= 0.25 * plugin.schema["age"].std
    values = plugin.predict_values(z)
    assert (values[:, 2] == truth[:, 2]).float().mean() >= 0.9


def test_traverse_moves_one_attribute_monotonically(problem):
    plugin, _, _ = problem
    z = torch.randn(200, LATENT_DIM, generator=torch.Generator().manual_seed(5))
    rows = plugin.traverse(z, "age", [-2.0, 0.0, 2.0])
    assert rows.shape == (3, 200, LATENT_DIM)
    ages = torch.stack([oracle(row)[:, 1].mean() for row in rows])
    assert ages[0] < ages[1] < ages[2]
    smiles = plugin.traverse(z, "smile", [0.0, 1.0])
    assert (oracle(smiles[1])[:, 0] - oracle(smiles[0])[:, 0]).mean() >= 0.9


def test_unknown_names_and_bad_values_are_clear_errors(problem):
    plugin, _, _ = problem
    with pytest.raises(UnknownAttributeError, match="valid attributes: smile, age, shape"):
        plugin.conditional_latents(2, {"beard": 1})
    with pytest.raises(DataError, match="binary"):
        plugin.edit_latent(torch.zeros(2, LATENT_DIM), {"smile": 3})
    with pytest.raises(DataError, match="categories"):
        plugin.conditional_latents(2, {"shape": "hexagon"})
    with pytest.raises(DataError, match=r"\[B, 8\]"):
        plugin.predict(torch.zeros(2, 5))
    with pytest.raises(ConfigError, match="exactly one"):
        plugin.edit({"smile": 1})


def test_save_load_with_adapter_needs_the_backbone_and_reproduces_samples(problem, tmp_path):
    plugin, backbone, _ = problem
    plugin.save(tmp_path / "plugin")
    with pytest.raises(ArtifactError, match=r"Plugin.load\(directory, backbone=...\)"):
        condgen.load(tmp_path / "plugin")
    loaded = Plugin.load(tmp_path / "plugin", backbone=backbone)
    assert loaded.attributes == ["smile", "age", "shape"]
    for model in (plugin, loaded):
        model.eval()
    first = plugin.conditional_latents(64, {"smile": 1}, generator=torch.Generator().manual_seed(9))
    second = loaded.conditional_latents(64, {"smile": 1}, generator=torch.Generator().manual_seed(9))
    assert torch.equal(first, second)
    z = torch.randn(16, LATENT_DIM)
    assert torch.equal(plugin.predict_values(z), loaded.predict_values(z))
    with pytest.raises(ConfigError, match="latent_dim"):
        Plugin.load(tmp_path / "plugin", backbone=BackboneAdapter(nn.Linear(4, 12), 4))


def test_plugin_over_a_saved_condgen_model_is_saved_with_it(tmp_path):
    from condgen.models import build_model

    generator = torch.Generator().manual_seed(0)
    z = torch.randn(256, LATENT_DIM, generator=generator)
    values = oracle(z)
    data = LabeledDataset(z @ torch.randn(LATENT_DIM, 12, generator=generator), values,
                          SCHEMA.with_statistics(values),
                                 {"name": "synthetic", "modality": "vectors"})
    vae = build_model("vae", data, latent_dim=LATENT_DIM, arch="mlp", hidden=16)
    plugin = fit_plugin(vae, data, ["smile", "age"], PluginConfig(hidden=16, depth=2, n_couplings=2),
                        TrainConfig(steps=5, batch_size=64, progress=False, device="cpu", out=tmp_path / "run"))
    loaded = condgen.load(tmp_path / "run")  # the engine saved the plugin together with its backbone
    assert isinstance(loaded, Plugin) and (tmp_path / "run" / "backbone" / "config.json").is_file()
    first = plugin.sample(8, {"smile": 1}, generator=torch.Generator().manual_seed(1))
    second = loaded.sample(8, {"smile": 1}, generator=torch.Generator().manual_seed(1))
    assert first.shape == (8, 12) and torch.equal(first, second)


def test_latents_of_a_backbone_without_encoder_are_labelled_by_the_labeller():
    backbone = make_backbone()
    gan_like = BackboneAdapter(backbone.decoder, LATENT_DIM)  # no encoder

    class OracleLabeller:
        schema = SCHEMA

        def predict_values(self, images):
            return oracle(backbone.encode(images))

    with pytest.raises(ConfigError, match="labeller"):
        collect_latents(gan_like, None, ["smile"])
    latents = collect_latents(gan_like, None, ["age", "smile"], labeller=OracleLabeller(), n_latents=300,
                              batch_size=128, generator=torch.Generator().manual_seed(0))
    assert latents.data.shape == (300, LATENT_DIM) and latents.schema.names == ["age", "smile"]
    assert torch.allclose(latents.attributes, oracle(latents.data)[:, [1, 0]], atol=1e-4)
    assert latents.schema["smile"].positive_rate == pytest.approx(float(latents.attributes[:, 1].mean()))


def test_too_many_attribute_coordinates_for_the_latent_is_a_config_error():
    with pytest.raises(ConfigError, match="5 attribute coordinates do not fit a 4-d latent"):
        Plugin(PluginConfig(hidden=8, depth=2), SCHEMA, latent_dim=4)
