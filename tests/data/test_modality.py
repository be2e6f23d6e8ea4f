"""The modality contract: each kind of example is read, written and measured by one small object."""

import numpy as np
import pytest
import torch
from PIL import Image
from rdkit import Chem
from rdkit.Chem import Crippen

from condgen.data.dataset import LabeledDataset
from condgen.data.modality import ImageModality, SmilesModality, VectorModality, make_modality
from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError, DataError
from condgen.viz import grid_cells


def test_images_round_trip_through_png_and_npy_and_refuse_other_sizes(tmp_path):
    modality = ImageModality((3, 8, 8))
    images = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
    x = modality.to_network(images)
    assert x.min() >= -1 and x.max() <= 1
    modality.write(x, tmp_path / "grid.png")
    assert torch.equal(grid_cells(tmp_path / "grid.png", 4, (8, 8)), images)
    modality.write(x, tmp_path / "raw.npy")
    assert np.array_equal(np.load(tmp_path / "raw.npy"), images.numpy())
    Image.fromarray(images[0].permute(1, 2, 0).numpy()).save(tmp_path / "one.png")
    assert torch.equal(modality.read(tmp_path / "one.png"), x[:1])
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(tmp_path / "small.png")
    with pytest.raises(DataError, match="8x6, the model expects 8x8"):
        modality.read(tmp_path / "small.png")
    (tmp_path / "junk.png").write_text("not an image")
    with pytest.raises(DataError, match="not a readable image"):
        modality.read(tmp_path / "junk.png")
    with pytest.raises(ConfigError, match="written as .png or .npy"):
        modality.write(x, tmp_path / "grid.smi")


def test_vectors_round_trip_through_csv(tmp_path):
    modality = VectorModality(3)
    rows = torch.tensor([[0.5, -1.0, 2.25], [3.0, 0.0, -0.125]])
    modality.write(rows, tmp_path / "v.csv")
    assert (tmp_path / "v.csv").read_text().splitlines()[0] == "x0,x1,x2"
    assert torch.equal(modality.read(tmp_path / "v.csv"), rows)
    (tmp_path / "wide.csv").write_text("1,2,3,4\n")
    with pytest.raises(DataError, match="rows of 4 numbers, the model expects 3"):
        modality.read(tmp_path / "wide.csv")


def test_smiles_are_token_ids_inside_and_strings_outside(tmp_path):
    tokens = ("<pad>", "<bos>", "<eos>", "<unk>", "C", "O", "N", "c", "1", "(", ")", "=")
    modality = SmilesModality(tokens, 12)
    (tmp_path / "in.smi").write_text("CCO\nc1ccccc1\n")
    ids = modality.read(tmp_path / "in.smi")
    assert ids.dtype == torch.int64 and ids.shape == (2, 12)
    assert modality.outputs(ids) == ["CCO", "c1ccccc1"]
    modality.write(["CCO", "C1CC"], tmp_path / "out.smi")
    assert (tmp_path / "out.smi").read_text() == "CCO\nC1CC\n"  # invalid ones too: validity is a result
    measured = modality.measure(["CCO", "C1CC"], ["logp"])["logp"]
    assert measured[0] == pytest.approx(Crippen.MolLogP(Chem.MolFromSmiles("CCO"))) and np.isnan(measured[1])
    with pytest.raises(ConfigError, match="built-in molecular properties"):
        modality.measure(["CCO"], ["potency"])
    (tmp_path / "bad.smi").write_text("CCO\nC1CC(\n")
    with pytest.raises(DataError, match="invalid SMILES"):
        modality.read(tmp_path / "bad.smi")
    (tmp_path / "unknown.smi").write_text("CCBr\n")
    with pytest.raises(DataError, match="not in the vocabulary"):
        modality.read(tmp_path / "unknown.smi")


def test_a_data_set_must_say_what_its_examples_are():
    with pytest.raises(DataError, match="spec\\['modality'\\] must say"):
        LabeledDataset(torch.zeros(2, 3), torch.zeros(2, 0), AttributeSchema(), {"name": "mine"})
    with pytest.raises(DataError, match="images are stored as"):
        LabeledDataset(torch.zeros(2, 3), torch.zeros(2, 0), AttributeSchema(), {"modality": "images"})
    with pytest.raises(ConfigError, match="unknown modality"):
        make_modality("audio")
    data = LabeledDataset(torch.zeros(2, 3), torch.zeros(2, 0), AttributeSchema(), {"modality": "vectors"})
    assert data.modality == VectorModality(3)
