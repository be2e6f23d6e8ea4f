"""SMILES data sets: token ids, properties as attributes (built-in and user functions), files, MOSES."""

import warnings

import numpy as np
import pytest
import torch
from rdkit import Chem
from rdkit.Chem import Crippen, rdMolDescriptors

from condgen.data import load_dataset, load_from_spec
from condgen.data.molecules import dataset_smiles, smiles_dataset
from condgen.errors import ConfigError, DataError

MOLECULES = ["CCO", "c1ccccc1", "CC(=O)O", "ClCc1ccc(Br)cc1", "C[C@@H](N)C(=O)O"]


def test_ids_decode_back_and_properties_match_rdkit():
    dataset = smiles_dataset(MOLECULES, properties=["logp", "tpsa"])
    assert dataset.modality.name == "smiles" and dataset.data.dtype == torch.int64
    assert dataset.examples(slice(0, 2)).dtype == torch.int64
    assert dataset_smiles(dataset) == MOLECULES
    assert dataset.schema.names == ["logp", "tpsa"]
    for i, smiles in enumerate(MOLECULES):
        mol = Chem.MolFromSmiles(smiles)
        assert dataset.attributes[i, 0].item() == pytest.approx(Crippen.MolLogP(mol), abs=1e-5)
        assert dataset.attributes[i, 1].item() == pytest.approx(rdMolDescriptors.CalcTPSA(mol), abs=1e-4)
    assert dataset.schema["logp"].kind == "continuous"
    assert dataset.spec["tokens"][:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]


def test_a_fixed_vocabulary_skips_and_counts_what_it_cannot_encode():
    tokens = smiles_dataset(["CCO", "CCN"]).spec["tokens"]
    with pytest.warns(UserWarning, match=r"skipped 2 of 4 SMILES .*'c1ccccc1'"):
        dataset = smiles_dataset(["CCO", "c1ccccc1", "CCCl", "NCC"], tokens=tokens)
    assert dataset_smiles(dataset) == ["CCO", "NCC"]
    with pytest.raises(DataError, match="no SMILES left"):
        smiles_dataset(["c1ccccc1"], tokens=tokens)


def test_user_property_functions_become_attributes():
    heavy_atoms = lambda smiles: [Chem.MolFromSmiles(s).GetNumHeavyAtoms() for s in smiles]  # noqa: E731
    dataset = smiles_dataset(MOLECULES, properties={"heavy_atoms": heavy_atoms, "logp": "logp"})
    assert dataset.schema.names == ["heavy_atoms", "logp"]
    assert dataset.attributes[:, 0].tolist() == [3, 6, 4, 9, 6]
    with pytest.raises(DataError, match="returned 1 values for 5"):
        smiles_dataset(MOLECULES, properties={"bad": lambda smiles: [1.0]})
    with pytest.raises(ConfigError, match="unknown molecular property 'potency'"):
        smiles_dataset(MOLECULES, properties=["potency"])


def test_smiles_file_skips_invalid_lines_and_rebuilds_from_its_spec(tmp_path):
    path = tmp_path / "mine.smi"
    path.write_text("SMILES\nCCO ethanol\nC1CC\nc1ccccc1\nCC(=O)O\n")
    with pytest.warns(UserWarning, match="skipped 1 of 4 SMILES"):
        dataset = load_dataset(str(path))
    assert dataset_smiles(dataset) == ["CCO", "c1ccccc1", "CC(=O)O"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = load_from_spec(dataset.spec)
    assert torch.equal(again.data, dataset.data)


def test_moses_subset_is_reproducible():
    first = load_dataset("moses", n=50, seed=3)
    second = load_from_spec(first.spec)
    assert len(first) == 50 and torch.equal(first.data, second.data)
    assert all(Chem.MolFromSmiles(s) is not None for s in dataset_smiles(first))
    assert not np.array_equal(load_dataset("moses", n=50, seed=4).data.numpy(), first.data.numpy())
