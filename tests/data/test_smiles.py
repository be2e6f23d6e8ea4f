"""SMILES tokenizer, vocabulary, file readers and MOSES split access."""

import gzip
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from condgen.data.readers import SkippedRowsWarning
from condgen.data.smiles import Vocabulary, read_smiles_file, tokenize
from condgen.errors import ConfigError, DataError

MOSES_SAMPLE = Path(__file__).resolve().parents[1] / "metrics" / "moses_reference" / "test_ref.smi"


def test_tokenize_keeps_chemical_units_together():
    assert tokenize("Clc1ccc(Br)cc1") == ["Cl", "c", "1", "c", "c", "c", "(", "Br", ")", "c", "c", "1"]
    assert tokenize("C[C@@H](O)c1cc[nH]c1") == ["C", "[C@@H]", "(", "O", ")", "c", "1", "c", "c", "[nH]",
                                               "c", "1"]
    assert tokenize("C%10CC%10") == ["C", "%10", "C", "C", "%10"]
    assert tokenize("O=[N+]([O-])C#N") == ["O", "=", "[N+]", "(", "[O-]", ")", "C", "#", "N"]
    assert tokenize("F/C=C\\F") == ["F", "/", "C", "=", "C", "\\", "F"]
    assert tokenize("BC") == ["B", "C"]


def test_tokenize_rejects_text_that_is_no_token():
    with pytest.raises(DataError, match="position 1"):
        tokenize("C&C")
    with pytest.raises(DataError, match="position 1"):
        tokenize("C[NH")


def test_round_trip_on_moses_molecules():
    smiles = MOSES_SAMPLE.read_text().split()[:400]
    vocabulary = Vocabulary.build(smiles)
    assert vocabulary.tokens[:4] == ("<pad>", "<bos>", "<eos>", "<unk>")
    assert {"Cl", "[nH]", "c", "("} <= set(vocabulary.tokens)
    for s in smiles:
        ids = vocabulary.encode(s, add_bos=True, add_eos=True)
        assert ids[0] == vocabulary.bos_id and ids[-1] == vocabulary.eos_id
        assert vocabulary.decode(ids) == s
    batch = vocabulary.encode_batch(smiles[:50])
    assert batch.dtype == np.int64 and batch.shape[0] == 50
    assert vocabulary.decode_batch(batch) == smiles[:50]
    # token counts, not characters: "Cl" is one id
    assert len(vocabulary.encode("ClCCl")) == 3


def test_unknown_tokens_are_an_error_or_unk():
    vocabulary = Vocabulary.build(["CCO", "c1ccccc1"])
    with pytest.raises(DataError, match="'Br'"):
        vocabulary.encode("CCBr")
    ids = vocabulary.encode("CCBr", allow_unknown=True)
    assert ids[-1] == vocabulary.unk_id
    assert vocabulary.decode(ids) == "CC?"
    with pytest.raises(DataError, match="max_length"):
        vocabulary.encode_batch(["CCCCCC"], max_length=4)
    with pytest.raises(DataError, match="outside"):
        vocabulary.decode([99])


def test_vocabulary_json_round_trip():
    vocabulary = Vocabulary.build(["CC(=O)Nc1ccc(O)cc1", "Clc1ccccc1"])
    restored = Vocabulary.from_dict(json.loads(json.dumps(vocabulary.to_dict())))
    assert restored == vocabulary
    assert restored.encode("Clc1ccccc1") == vocabulary.encode("Clc1ccccc1")
    with pytest.raises(DataError):
        Vocabulary.from_dict({"tokens": ["C"]})
    with pytest.raises(DataError):
        Vocabulary(("C", "<pad>"))


def test_read_smi_skips_invalid_and_reports_once(tmp_path):
    path = tmp_path / "mols.smi"
    path.write_text("SMILES Name\nCCO ethanol\n# a comment\n\nC1CC broken\nc1ccccc1 benzene\nXyz\n")
    with pytest.warns(SkippedRowsWarning) as caught:
        smiles = read_smiles_file(path)
    assert smiles == ["CCO", "c1ccccc1"]
    messages = [str(w.message) for w in caught if issubclass(w.category, SkippedRowsWarning)]
    assert len(messages) == 1 and "skipped 2 of 4" in messages[0] and "mols.smi:5" in messages[0]
    with pytest.raises(DataError, match=r"mols\.smi:5"):
        read_smiles_file(path, skip_invalid=False)
    assert read_smiles_file(path, validate=False) == ["CCO", "C1CC", "c1ccccc1", "Xyz"]


def test_read_csv_and_gz(tmp_path):
    path = tmp_path / "mols.csv"
    path.write_text("id,smiles,logP\n1,CCO,0.1\n2,CCN,0.2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing invalid: no warning
        assert read_smiles_file(path) == ["CCO", "CCN"]
    other = tmp_path / "other.csv"
    other.write_text("id,structure\n1,CCO\n")
    assert read_smiles_file(other, column="structure") == ["CCO"]
    with pytest.raises(DataError, match=r"other\.csv: no SMILES column"):
        read_smiles_file(other)
    with pytest.raises(DataError, match="no column 'x'"):
        read_smiles_file(other, column="x")
    packed = tmp_path / "mols.csv.gz"
    packed.write_bytes(gzip.compress(b"SMILES\nCCO\nCl\n"))
    assert read_smiles_file(packed) == ["CCO", "Cl"]
    with pytest.raises(DataError, match=r"missing\.smi: SMILES file not found"):
        read_smiles_file(tmp_path / "missing.smi")
    with pytest.raises(DataError, match="expected a .smi"):
        (tmp_path / "mols.json").write_text("{}")
        read_smiles_file(tmp_path / "mols.json")


def test_missing_molsets_says_how_to_install(monkeypatch):
    from importlib import metadata

    from condgen.data import moses

    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(moses.metadata, "distribution", not_installed)
    with pytest.raises(DataError, match=r"pip install --no-deps molsets==0\.3\.1"):
        moses.moses_data_dir()


def test_moses_splits_without_importing_moses():
    from condgen.data.moses import moses_split

    try:
        first = moses_split("test", n=5, seed=3)
    except DataError as error:
        assert "pip install --no-deps molsets==0.3.1" in str(error)
        pytest.skip("molsets is not installed")
    assert first == moses_split("test", n=5, seed=3)
    assert first != moses_split("test", n=5, seed=4)
    assert len(moses_split("test_scaffolds")) == 176225
    assert "moses" not in sys.modules  # importing it fails on current RDKit
    with pytest.raises(ConfigError, match="unknown MOSES split"):
        moses_split("valid")
