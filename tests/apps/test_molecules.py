"""Molecule design end to end on tiny models: plugin targets, target reports, properties and metrics files."""

import json
import math

import numpy as np
import pytest
import torch
from rdkit import Chem
from rdkit.Chem import Crippen
from typer.testing import CliRunner

from condgen.apps.molecules import decoded_latents, decoding_options, sample_molecules, target_report
from condgen.cli import app
from condgen.data.molecules import smiles_dataset
from condgen.errors import ConfigError
from condgen.metrics.molecules.reference import smiles_hashes
from condgen.models import build_model
from condgen.plugin import PluginConfig, fit_plugin
from condgen.train import TrainConfig, train

runner = CliRunner()
# Water-soluble (low logP) and greasy (high logP) molecules.
LOW = ["OCCO", "NCCN", "OCC(O)CO", "NC(=O)N", "OC(=O)CO", "NCCO"]
HIGH = ["CCCCCCCC", "Clc1ccc(Cl)cc1", "CCCCCCCCCC", "c1ccc(-c2ccccc2)cc1", "CCCCCCCCl", "Brc1ccccc1Br"]


def logp(smiles):
    return Crippen.MolLogP(Chem.MolFromSmiles(smiles))


@pytest.fixture(scope="module")
def molecule_plugin(tmp_path_factory):
    dataset = smiles_dataset(LOW + HIGH, properties=["logp"])
    torch.manual_seed(0)
    # A 2-d latent: with a dozen molecules, a flow over more dimensions has nothing to generalise from.
    backbone = build_model("smiles-vae", dataset, latent_dim=2, embedding_dim=16, encoder_hidden=32,
                           decoder_hidden=64, decoder_layers=1, kl_end=0.01, lr=3e-3)
    backbone = train(backbone, dataset, TrainConfig(steps=200, batch_size=12, progress=False)).model
    directory = tmp_path_factory.mktemp("mol") / "plugin"
    plugin = fit_plugin(backbone, dataset, ["logp"], PluginConfig(n_couplings=2, hidden=32, depth=2),
                        TrainConfig(steps=300, batch_size=12, progress=False, out=directory))
    return plugin, directory


def test_plugin_targets_move_the_property_of_generated_molecules(molecule_plugin):
    plugin, _ = molecule_plugin
    means = {}
    for goal in (-0.5, 3.5):
        smiles = sample_molecules(plugin, 60, {"logp": goal}, seed=1, style_scale=0.3,
                                  **decoding_options(plugin, temperature=0))
        values = [logp(s) for s in smiles if Chem.MolFromSmiles(s) is not None]
        assert len(values) >= 20
        means[goal] = np.mean(values)
    assert means[3.5] - means[-0.5] > 1.5


def test_target_report_counts_as_defined():
    smiles = ["CCO", "OCC", "C1CC", "c1ccccc1"]  # ethanol twice (two spellings), one invalid, benzene
    report = target_report(smiles, "logp", 1.0, train_hashes=smiles_hashes(["CCO"]), tolerance=0.5)
    values = [logp("CCO"), logp("c1ccccc1")]
    assert report["validity"] == 0.75
    assert report["uniqueness"] == pytest.approx(2 / 3)
    assert report["novelty"] == 0.5  # benzene is new, ethanol is not
    assert report["mean"] == pytest.approx((2 * values[0] + values[1]) / 3)
    assert report["mae"] == pytest.approx((2 * abs(values[0] - 1) + abs(values[1] - 1)) / 3)
    assert report["success_rate"] == pytest.approx(sum(abs(v - 1) <= 0.5 for v in [values[0]] * 2 + [values[1]]) / 4)


def test_cli_sample_props_and_metrics(molecule_plugin, tmp_path):
    _, directory = molecule_plugin
    out = tmp_path / "gen.smi"
    result = runner.invoke(app, ["mol", "sample", str(directory), "--target", "logp=3.5", "-n", "40", "--seed", "2",
                                 "--beam", "3", "--style-scale", "0.3", "--out", str(out),
                                 "--report", str(tmp_path / "report.json")])
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "report.json").read_text())
    report = saved["targets"]["logp"]
    assert saved["decoding"] == {"beam": 3, "prefer_valid": True}
    assert "beam search (width 3, most likely valid)" in result.output and saved["calibrated"] is False
    assert report["target"] == 3.5 and 0 < report["validity"] <= 1 and "logp=3.5: mean" in result.output
    lines = out.read_text().splitlines()
    assert len(lines) == 40 and all(lines)
    result = runner.invoke(app, ["mol", "props", str(out), "--out", str(tmp_path / "props.csv")])
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "props.csv").read_text().splitlines()
    assert rows[0] == "SMILES,valid,logp,qed,sas,tpsa,molwt" and len(rows) == 41
    first = rows[1].split(",")
    if first[1] == "1":
        assert float(first[2]) == pytest.approx(logp(first[0]), abs=1e-4)

    reference = tmp_path / "ref.smi"
    reference.write_text("\n".join(LOW + HIGH) + "\n")
    references = ["--test", reference, "--test-scaffolds", reference, "--train", reference]
    result = runner.invoke(app, ["mol", "metrics", str(out), "--json", str(tmp_path / "m.json"), "--n-jobs", "1",
                                 *map(str, references)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "m.json").read_text())["metrics"]
    valid = sum(Chem.MolFromSmiles(s) is not None for s in lines) / 40
    assert metrics["valid"] == pytest.approx(valid)
    assert not math.isnan(metrics["FCD/Test"]) and 0 <= metrics["Novelty"] <= 1


def test_cli_errors_are_one_line(molecule_plugin, tmp_path):
    _, directory = molecule_plugin
    result = runner.invoke(app, ["mol", "sample", str(directory), "--target", "potency=3", "--out",
                                 str(tmp_path / "x.smi")])
    assert result.exit_code != 0 and "potency" in str(result.exception)
    assert not (tmp_path / "x.smi").exists()


def test_cli_trains_on_a_smiles_file_skipping_invalid_lines(tmp_path):
    data = tmp_path / "mine.smi"
    data.write_text("\n".join(LOW + ["C1CC(", "not a smiles"] + HIGH) + "\n")
    out = tmp_path / "vae"
    with pytest.warns(UserWarning, match="skipped 2 of 14 SMILES"):
        result = runner.invoke(app, ["train", "smiles-vae", "--data", str(data), "--out", str(out), "--steps", "3",
                                     "--batch-size", "4", "-o", "decoder_hidden=16", "-o", "encoder_hidden=8"])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "smiles-vae" and "Cl" in config["config"]["tokens"]
    result = runner.invoke(app, ["mol", "sample", str(out), "-n", "7", "--out", str(tmp_path / "s.smi")])
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "s.smi").read_text().splitlines()) == 7
    result = runner.invoke(app, ["sample", str(out), "-n", "5", "--out", str(tmp_path / "g.smi")])  # every modality
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "g.smi").read_text().splitlines()) == 5
    result = runner.invoke(app, ["sample", str(out), "--out", str(tmp_path / "g.png")])
    assert result.exit_code == 1 and ".smi" in str(result.exception) and not (tmp_path / "g.png").exists()


def test_decoded_labels_are_the_properties_of_what_the_decoder_makes(molecule_plugin):
    plugin, _ = molecule_plugin
    backbone = plugin.backbone
    molecules = smiles_dataset(LOW + HIGH, tokens=backbone.config.tokens, max_length=backbone.config.max_length,
                               properties=["logp"])
    latents = decoded_latents(backbone, molecules, n_jobs=1)  # the plugin's decoding: beam search, width 5
    with torch.no_grad():
        candidates = backbone.beam_smiles(backbone.encode(molecules.examples()), 5)
    decoded = [next((s for s in row if Chem.MolFromSmiles(s) is not None), row[0]) for row in candidates]
    for value, smiles in zip(latents.attributes[:, 0].tolist(), decoded, strict=True):
        mol = Chem.MolFromSmiles(smiles)
        assert math.isnan(value) if mol is None else value == pytest.approx(Crippen.MolLogP(mol), abs=1e-6)
    assert latents.data.shape == (12, backbone.latent_dim)
    assert latents.spec["decoding"] == {"beam": 5, "prefer_valid": True}


def test_decoding_defaults_and_conflicts(molecule_plugin):
    plugin, _ = molecule_plugin
    backbone = plugin.backbone
    assert plugin.decoding == {"beam": 5, "prefer_valid": True}  # a plugin decodes the most likely molecule
    assert decoding_options(plugin) == {} and decoding_options(backbone) == {}  # their own decodings
    assert decoding_options(plugin, temperature=1.0) == {"temperature": 1.0, "beam": 1, "prefer_valid": False}
    assert decoding_options(backbone, beam=3) == {"beam": 3, "prefer_valid": True}
    with pytest.raises(ConfigError, match="no --temperature"):
        decoding_options(plugin, temperature=0.7, beam=3)
    with pytest.raises(ConfigError, match="must be ≥ 1"):
        decoding_options(plugin, beam=0)
    charrnn = build_model("charrnn", smiles_dataset(LOW + HIGH), hidden=8, layers=1)
    with pytest.raises(ConfigError, match="latent SMILES model"):
        decoding_options(charrnn, beam=3)
    assert decoding_options(charrnn, temperature=0.5) == {"temperature": 0.5}
    assert decoding_options(plugin, top_beam=True) == {"prefer_valid": False}
    with pytest.raises(ConfigError, match="needs a plugin or --beam K"):
        decoding_options(backbone, top_beam=True)
    beamed = sample_molecules(plugin, 8, {"logp": 3.0}, seed=4)
    again = sample_molecules(plugin, 8, {"logp": 3.0}, seed=4)
    top = sample_molecules(plugin, 8, {"logp": 3.0}, seed=4, **decoding_options(plugin, top_beam=True))
    z = plugin.conditional_latents(8, {"logp": 3.0}, generator=torch.Generator().manual_seed(4))
    candidates = backbone.beam_smiles(z, 5)
    assert beamed == again and top == [row[0] for row in candidates]
    for chosen, row in zip(beamed, candidates, strict=True):  # the most likely valid candidate, else the top one
        valid = [s for s in row if Chem.MolFromSmiles(s) is not None]
        assert chosen == (valid[0] if valid else row[0])


def test_plugins_saved_before_they_stored_their_decoding_decode_as_they_did(molecule_plugin, tmp_path):
    plugin, directory = molecule_plugin
    config = json.loads((directory / "config.json").read_text())
    for legacy_spec, expected in (({}, {"beam": 5, "prefer_valid": True}),
                                  ({"decoding": {"temperature": 0.0, "beam": 3}}, {"beam": 3, "prefer_valid": False})):
        old = {key: value for key, value in config.items() if key != "decoding"}
        old["data"] = {**old["data"], **legacy_spec}
        copy = tmp_path / f"old{len(legacy_spec)}"
        copy.mkdir()
        (copy / "config.json").write_text(json.dumps(old))
        (copy / "model.safetensors").write_bytes((directory / "model.safetensors").read_bytes())
        from condgen.plugin import Plugin

        assert Plugin.load(copy, backbone=plugin.backbone).decoding == expected


def test_cli_calibrates_a_molecule_plugin_and_samples_with_and_without_it(molecule_plugin, tmp_path):
    _, directory = molecule_plugin
    calibrated = tmp_path / "calibrated"
    result = runner.invoke(app, ["plugin", "calibrate", str(directory), "--out", str(calibrated), "--per-point", "20",
                                 "--points", "4"])
    assert result.exit_code == 0, result.output
    entry = json.loads((calibrated / "config.json").read_text())["calibration"]["logp"]
    assert len(entry["condition"]) >= 2 and entry["response"] == sorted(entry["response"])
    for flags, expected in (([], True), (["--uncalibrated"], False)):
        result = runner.invoke(app, ["mol", "sample", str(calibrated), "--target", "logp=1.0", "-n", "5", "--out",
                                     str(tmp_path / "c.smi"), "--report", str(tmp_path / "c.json"), *flags])
        assert result.exit_code == 0, result.output
        assert json.loads((tmp_path / "c.json").read_text())["calibrated"] is expected
    result = runner.invoke(app, ["plugin", "calibrate", "zinc-vae"])
    assert result.exit_code != 0 and "--out" in str(result.exception)


def test_the_shipped_zinc_vae_moves_logp_towards_its_targets():
    from condgen.tasks.molecules import load_molecule_generator

    plugin = load_molecule_generator("zinc-vae")
    assert sorted(plugin.calibration) == ["logp", "sas", "tpsa"]
    for goal in (1.5, 4.5):
        smiles = sample_molecules(plugin, 60, {"logp": goal}, seed=0)
        values = [logp(s) for s in smiles if Chem.MolFromSmiles(s) is not None]
        assert len(values) >= 48  # ≥ 80% valid
        assert np.mean(values) == pytest.approx(goal, abs=0.5)
