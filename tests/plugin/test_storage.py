"""A plugin refers to its backbone (shipped name, or path + sha256) instead of copying it; copies on request."""

import json
import shutil

import pytest
import torch

import condgen
from condgen.data.dataset import LabeledDataset
from condgen.data.schema import Attribute, AttributeSchema
from condgen.errors import ArtifactError
from condgen.models import build_model
from condgen.plugin import Plugin, PluginConfig, fit_plugin
from condgen.train import TrainConfig

SCHEMA = AttributeSchema((Attribute("smile", "binary"),))
TINY = PluginConfig(hidden=8, depth=2, n_couplings=2)


@pytest.fixture()
def data():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(64, 6, generator=generator)
    values = (x[:, :1] > 0).float()
    return LabeledDataset(x, values, SCHEMA.with_statistics(values), {"name": "toy", "modality": "vectors"})


def fitted(backbone, data, out, copy=False):
    return fit_plugin(backbone, data, ["smile"], TINY, TrainConfig(steps=3, batch_size=16, progress=False, out=out),
                      copy_backbone=copy)


def test_a_saved_backbone_is_referred_to_by_relative_path_and_hash(data, tmp_path):
    vae = build_model("vae", data, latent_dim=4, arch="mlp", hidden=8)
    vae.save(tmp_path / "runs" / "vae")
    plugin = fitted(vae, data, tmp_path / "runs" / "plugin")
    reference = json.loads((tmp_path / "runs" / "plugin" / "config.json").read_text())["backbone"]
    assert reference["kind"] == "vae" and reference["path"] == "../vae" and len(reference["sha256"]) == 64
    assert not (tmp_path / "runs" / "plugin" / "backbone").exists()
    shutil.move(tmp_path / "runs", tmp_path / "moved")  # the two directories travel together
    loaded = condgen.load(tmp_path / "moved" / "plugin")
    z = torch.randn(5, 4)
    assert torch.equal(loaded.decode(z), plugin.decode(z))


def test_other_weights_under_the_same_path_are_refused(data, tmp_path):
    vae = build_model("vae", data, latent_dim=4, arch="mlp", hidden=8)
    vae.save(tmp_path / "vae")
    fitted(vae, data, tmp_path / "plugin")
    with torch.no_grad():
        next(vae.decoder.parameters()).add_(1.0)  # the backbone is retrained after the fit
    vae.save(tmp_path / "vae")
    with pytest.raises(ArtifactError, match="sha256 .* refit the plugin"):
        condgen.load(tmp_path / "plugin")
    shutil.rmtree(tmp_path / "vae")
    with pytest.raises(ArtifactError, match="is missing"):
        condgen.load(tmp_path / "plugin")


def test_a_backbone_never_saved_or_asked_to_be_copied_travels_inside(data, tmp_path):
    vae = build_model("vae", data, latent_dim=4, arch="mlp", hidden=8)
    fitted(vae, data, tmp_path / "unsaved")
    assert json.loads((tmp_path / "unsaved" / "config.json").read_text())["backbone"]["copy"] == "backbone"
    vae.save(tmp_path / "vae")
    fitted(vae, data, tmp_path / "copied", copy=True)
    assert (tmp_path / "copied" / "backbone" / "model.safetensors").is_file()
    shutil.rmtree(tmp_path / "vae")
    loaded = condgen.load(tmp_path / "copied")
    assert loaded.copy_backbone and isinstance(loaded, Plugin)


def test_a_plugin_over_a_shipped_model_refers_to_it_by_name(data, tmp_path):
    faces_vae = condgen.load("faces-vae")
    latents = torch.randn(64, faces_vae.latent_dim, generator=torch.Generator().manual_seed(1))
    values = (latents[:, :1] > 0).float()
    fake = LabeledDataset(latents, values, SCHEMA.with_statistics(values), {"name": "z", "modality": "vectors"})
    plugin = fit_plugin(faces_vae, None, ["smile"], TINY, TrainConfig(steps=2, batch_size=16, progress=False,
                                                                      out=tmp_path / "p"), latents=fake)
    reference = json.loads((tmp_path / "p" / "config.json").read_text())["backbone"]
    assert reference["name"] == "faces-vae" and "path" not in reference
    assert condgen.load(tmp_path / "p").backbone.artifact_dir == plugin.backbone.artifact_dir


def test_plugins_written_with_a_copied_backbone_before_references_still_load(data, tmp_path):
    vae = build_model("vae", data, latent_dim=4, arch="mlp", hidden=8)
    plugin = fitted(vae, data, tmp_path / "p")
    config = json.loads((tmp_path / "p" / "config.json").read_text())
    config["backbone"] = {"saved": True, "kind": "vae", "type": "VAE"}  # the layout of condgen before references
    (tmp_path / "p" / "config.json").write_text(json.dumps(config))
    loaded = condgen.load(tmp_path / "p")
    z = torch.randn(3, 4)
    assert torch.equal(loaded.decode(z), plugin.decode(z)) and loaded.copy_backbone
