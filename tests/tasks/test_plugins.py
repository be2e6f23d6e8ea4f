"""Plugin tasks: a fit is its spec, so refitting from fit.json gives the same plugin; edits and generation
return data in the backbone's modality."""

import json

import torch

from condgen.data import load_dataset
from condgen.models import build_model
from condgen.plugin.fit_spec import PluginFitSpec
from condgen.tasks.plugins import edit, fit_plugin_from_spec, generate
from condgen.train import TrainConfig, train


def test_refitting_from_fit_json_reproduces_the_plugin_exactly(tmp_path):
    faces = load_dataset("faces", n=96)
    vae = build_model("vae", faces, latent_dim=8, base_channels=8)
    train(vae, faces, TrainConfig(steps=3, batch_size=16, progress=False, out=tmp_path / "vae"))
    # options the earlier refit silently dropped (labels, sigma) and a non-default coupling
    spec = PluginFitSpec(backbone=str(tmp_path / "vae"), attributes=("smiling", "yaw"), steps=6, batch_size=32,
                         coupling="additive", sigma=0.1, seed=3)
    plugin, _ = fit_plugin_from_spec(spec, tmp_path / "first", progress=False)
    again, _ = fit_plugin_from_spec(PluginFitSpec.read(tmp_path / "first")[0], tmp_path / "second", progress=False)
    first, second = (json.loads((tmp_path / d / "config.json").read_text()) for d in ("first", "second"))
    weights = [(tmp_path / d / "model.safetensors").read_bytes() for d in ("first", "second")]
    assert weights[0] == weights[1]
    assert first["config"] == second["config"] and first["config"]["coupling"] == "additive"
    assert first["config"]["sigma_end"] == 0.1 and first["backbone"] == second["backbone"]  # both at ../vae

    images = generate(plugin, {"smiling": "1"}, n=5, seed=1)
    assert images.shape == (5, 3, 32, 32) and torch.equal(images, generate(again, {"smiling": "1"}, n=5, seed=1))
    columns = edit(plugin, {"smiling": "1", "yaw": "0.3"}, indices=[0, 4])
    assert list(columns) == ["original", "reconstruction", "smiling=1,yaw=0.3", "smiling=1", "yaw=0.3"]
    assert all(value.shape == (2, 3, 32, 32) for value in columns.values())
    assert torch.equal(columns["original"], faces.examples(torch.tensor([0, 4])))
