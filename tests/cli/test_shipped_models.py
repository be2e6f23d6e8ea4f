"""The commands on the shipped models, judged by what they make: the independent oracle (faces-oracle)
reads the generated and edited faces back from the written PNGs, and the Python API and the command line
give the same molecules for the same seed."""

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import condgen
from condgen.cli import app
from condgen.data import load_dataset
from condgen.io import shipped_model
from condgen.viz import TITLE_HEIGHT, grid_cells

runner = CliRunner()
SIDE = 32


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


@pytest.fixture(scope="module")
def oracle():
    return condgen.load("faces-oracle")


def read_attribute(oracle, images: torch.Tensor, name: str) -> torch.Tensor:
    return oracle.predict_values(images)[:, oracle.schema.index(name)]


def test_generate_makes_the_requested_faces(oracle, tmp_path):
    for value, wanted in (("1", 1.0), ("0", 0.0)):
        invoke("generate", "faces-plugin", "--set", f"smiling={value}", "-n", 32, "--seed", 3,
               "--out", tmp_path / f"smiling{value}.png")
        faces = grid_cells(tmp_path / f"smiling{value}.png", 32, (SIDE, SIDE))
        assert (read_attribute(oracle, faces, "smiling") == wanted).float().mean() >= 0.9
    yaw = {}
    for value in ("0.5", "-0.5"):
        invoke("generate", "faces-plugin", "--set", f"yaw={value}", "-n", 32, "--out", tmp_path / "yaw.png")
        yaw[value] = read_attribute(oracle, grid_cells(tmp_path / "yaw.png", 32, (SIDE, SIDE)), "yaw").mean()
    assert yaw["0.5"] > 0.3 and yaw["-0.5"] < -0.3


def test_edit_makes_held_out_faces_smile_and_keeps_the_rest(oracle, tmp_path):
    faces = load_dataset("faces", n=12, seed=77)  # a draw the plugin never saw
    inputs = []
    for i, image in enumerate(faces.data):
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(tmp_path / f"face{i}.png")
        inputs += ["--input", tmp_path / f"face{i}.png"]
    for value, wanted in (("1", 1.0), ("0", 0.0)):
        invoke("edit", "faces-plugin", *inputs, "--set", f"smiling={value}", "--out", tmp_path / "edit.png")
        cells = grid_cells(tmp_path / "edit.png", 12 * 3, (SIDE, SIDE), nrow=3, scale=3, top=TITLE_HEIGHT)
        original, edited = cells[0::3], cells[2::3]  # columns: original, reconstruction, smiling=value
        assert torch.equal(original, faces.data)  # the figure shows the input itself
        assert (read_attribute(oracle, edited, "smiling") == wanted).float().mean() >= 0.9
        before, after = oracle.predict_values(original), oracle.predict_values(edited)
        others = [oracle.schema.index(n) for n in ("eyeglasses", "hat", "beard")]
        assert (before[:, others] == after[:, others]).float().mean() >= 0.85


def test_a_molecule_plugin_gives_the_same_smiles_in_python_and_on_the_command_line(tmp_path):
    plugin = condgen.load("zinc-vae")
    in_python = plugin.sample(200, {"logp": 3.0}, generator=torch.Generator().manual_seed(0))
    invoke("mol", "sample", "zinc-vae", "--target", "logp=3.0", "-n", 200, "--seed", 0, "--out", tmp_path / "mol.smi")
    invoke("generate", "zinc-vae", "--set", "logp=3.0", "-n", 200, "--seed", 0, "--out", tmp_path / "gen.smi")
    assert (tmp_path / "mol.smi").read_text().splitlines() == in_python
    assert (tmp_path / "gen.smi").read_text().splitlines() == in_python
    from rdkit import Chem
    from rdkit.Chem import Crippen

    values = [Crippen.MolLogP(mol) for s in in_python if (mol := Chem.MolFromSmiles(s)) is not None]
    assert len(values) >= 160 and abs(np.mean(values) - 3.0) < 0.5


def test_a_molecule_plugin_edits_molecules_towards_the_target_and_reconstructs_them(tmp_path):
    import csv

    from condgen.data.molecules import property_values
    from condgen.data.moses import moses_split

    smiles = moses_split("test", n=400, seed=1)
    low = [s for s, value in zip(smiles, property_values(smiles, ["logp"])["logp"], strict=True) if value < 1.5][:30]
    (tmp_path / "low.smi").write_text("\n".join(low) + "\n")
    invoke("edit", "zinc-vae", "--input", tmp_path / "low.smi", "--set", "logp=4.5", "--out", tmp_path / "edit.csv")
    with open(tmp_path / "edit.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["original", "reconstruction", "logp=4.5"] and len(rows) == 30
    assert [row["original"] for row in rows] == low
    logp = {column: property_values([row[column] for row in rows], ["logp"])["logp"] for column in rows[0]}
    assert np.isfinite(logp["logp=4.5"]).mean() >= 0.8  # valid edits
    assert np.nanmean(logp["logp=4.5"]) - np.nanmean(logp["reconstruction"]) > 1.5
    assert np.mean([row["original"] == row["reconstruction"] for row in rows]) >= 0.5  # the decoder's beam
    backbone = shipped_model("zinc-vae") / "backbone"  # the plugin's SMILES VAE reconstructs the same way
    invoke("reconstruct", backbone, "--data", tmp_path / "low.smi", "-n", 30, "--out", tmp_path / "recon.csv")
    with open(tmp_path / "recon.csv") as handle:
        pairs = {(row["original"], row["reconstruction"]) for row in csv.DictReader(handle)}
    assert pairs == {(row["original"], row["reconstruction"]) for row in rows}


def test_commands_refuse_what_a_modality_cannot_do_in_one_line(tmp_path):
    result = runner.invoke(app, ["evaluate", "zinc-vae", "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 1 and "mol sample" in str(result.exception) and not (tmp_path / "r.json").exists()
    result = runner.invoke(app, ["generate", "faces-plugin", "-n", "4", "--out", str(tmp_path / "g.smi")])
    assert result.exit_code == 1 and ".png" in str(result.exception)
    result = runner.invoke(app, ["sample", "faces-plugin", "--out", str(tmp_path / "g.png")])
    assert result.exit_code == 1 and "condgen generate" in str(result.exception)
