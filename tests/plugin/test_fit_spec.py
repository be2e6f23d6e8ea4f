"""fit.json is the fit spec: versioned, paths relative to the plugin, read back exactly, old records too."""

import json

import pytest

from condgen.errors import ArtifactError, ConfigError
from condgen.plugin.fit_spec import PluginFitSpec


def test_the_spec_round_trips_with_paths_relative_to_the_plugin(tmp_path):
    (tmp_path / "runs" / "vae").mkdir(parents=True)
    (tmp_path / "data.smi").write_text("CCO\n")
    spec = PluginFitSpec(backbone=str(tmp_path / "runs" / "vae"), attributes=("logp",), data=str(tmp_path / "data.smi"),
                         steps=7, sigma=0.05, labels="decoded", calibrate=20, copy_backbone=True)
    plugin_dir = tmp_path / "runs" / "plugin"
    plugin_dir.mkdir()
    spec.write(plugin_dir, seconds=1.5)
    record = json.loads((plugin_dir / "fit.json").read_text())
    assert record["format"] == 1 and record["seconds"] == 1.5
    assert record["spec"]["backbone"] == "../vae" and record["spec"]["data"] == "../../data.smi"
    assert not any(str(tmp_path) in str(value) for value in record["spec"].values())  # nothing machine-bound
    read, seconds = PluginFitSpec.read(plugin_dir)
    assert seconds == 1.5 and read.steps == 7 and read.sigma == 0.05 and read.labels == "decoded"
    assert read.calibrate == 20 and read.copy_backbone and read.attributes == ("logp",)
    assert (plugin_dir / read.backbone).resolve() == (tmp_path / "runs" / "vae").resolve()


def test_names_stay_names_and_defaults_are_the_plugins(tmp_path):
    spec = PluginFitSpec(backbone="faces-vae", attributes=["smiling"], data="faces")
    spec.write(tmp_path, seconds=0.0)
    read, _ = PluginFitSpec.read(tmp_path)
    assert read == spec and read.backbone == "faces-vae" and read.data == "faces"
    assert read.plugin_config().coupling == "affine" and read.plugin_config().sigma_end == 0.2
    assert spec.resolved(is_molecule_backbone=True).calibrate == 300
    assert spec.resolved(is_molecule_backbone=False).calibrate == 0
    with pytest.raises(ConfigError, match="SMILES backbones"):
        PluginFitSpec(backbone="faces-vae", attributes=["smiling"], labels="decoded").resolved(False)


def test_flat_records_of_earlier_versions_and_unknown_fields_are_read(tmp_path):
    (tmp_path / "fit.json").write_text(json.dumps({
        "seconds": 79.5, "backbone": "/a/machine/runs/zinc-vae-backbone", "attributes": ["logp", "tpsa"],
        "data": None, "classifier": None, "steps": 3000, "batch_size": 256, "n_latents": 100000, "seed": 0,
        "coupling": None, "labels": "data", "sigma": 0.05, "from_the_future": 1}))
    spec, seconds = PluginFitSpec.read(tmp_path)
    assert seconds == 79.5 and spec.sigma == 0.05 and spec.coupling == "affine" and spec.n_latents == 100000
    assert spec.extra == {"from_the_future": 1}
    spec.write(tmp_path, seconds)
    assert json.loads((tmp_path / "fit.json").read_text())["spec"]["from_the_future"] == 1  # nothing lost


def test_bad_specs_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="at least one attribute"):
        PluginFitSpec(backbone="faces-vae", attributes=())
    with pytest.raises(ConfigError, match="labels must be one of"):
        PluginFitSpec(backbone="faces-vae", attributes=["smiling"], labels="guessed")
    (tmp_path / "fit.json").write_text(json.dumps({"format": 9, "spec": {}}))
    with pytest.raises(ArtifactError, match="newer condgen"):
        PluginFitSpec.read(tmp_path)


def test_a_built_in_data_set_stays_a_name_even_beside_a_folder_of_that_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "faces").mkdir()  # load_dataset("faces") still means the built-in set
    PluginFitSpec(backbone="faces-vae", attributes=["smiling"], data="faces").write(tmp_path / "p", seconds=0)
    assert PluginFitSpec.read(tmp_path / "p")[0].data == "faces"
