"""The SMILES VAE memorises a handful of molecules, saves and loads exactly, and refuses wrong data."""

import pytest
import torch

import condgen
from condgen.data import load_dataset
from condgen.data.molecules import smiles_dataset
from condgen.errors import ConfigError
from condgen.models import build_model
from condgen.models.smiles_vae import annealed_weight
from condgen.train import TrainConfig, train

SMALL_MOLECULES = ["CCO", "CCCCO", "c1ccccc1", "c1ccncc1", "CC(=O)O", "CCN(CC)CC", "OCCCCCCO", "Clc1ccccc1",
                   "CC(C)(C)O", "NCCN", "C1CCCCC1", "CCOC(=O)C"]
TINY = {"latent_dim": 8, "embedding_dim": 16, "encoder_hidden": 32, "decoder_hidden": 64, "decoder_layers": 1,
        "kl_end": 0.01, "lr": 3e-3}


@pytest.fixture(scope="module")
def memorised():
    dataset = smiles_dataset(SMALL_MOLECULES, properties=["logp"])
    torch.manual_seed(0)
    model = build_model("smiles-vae", dataset, **TINY)
    result = train(model, dataset, TrainConfig(steps=200, batch_size=12, progress=False, log_every=100))
    return result.model, dataset, result.history


def test_reconstructs_every_training_molecule_greedily(memorised):
    model, dataset, history = memorised
    assert history[-1]["model/nll"] < history[0]["model/nll"] / 5
    with torch.no_grad():
        decoded = model.decode_smiles(model.encode(dataset.examples()), temperature=0)
    assert sum(a == b for a, b in zip(decoded, SMALL_MOLECULES, strict=True)) >= 11


def test_save_load_gives_identical_samples_and_keeps_the_vocabulary(memorised, tmp_path):
    model, dataset, _ = memorised
    model.save(tmp_path / "vae")
    loaded = condgen.load(tmp_path / "vae")
    assert loaded.vocabulary.tokens == tuple(dataset.spec["tokens"])
    first = model.sample_smiles(20, generator=torch.Generator().manual_seed(5))
    assert loaded.sample_smiles(20, generator=torch.Generator().manual_seed(5)) == first


def test_kl_weight_is_annealed_between_the_given_shares():
    assert annealed_weight(0.0, 0.05, 0.1, 0.5, 0.05) == 0.0
    assert annealed_weight(0.0, 0.05, 0.1, 0.5, 0.3) == pytest.approx(0.025)
    assert annealed_weight(0.0, 0.05, 0.1, 0.5, 0.9) == 0.05


def test_sequence_models_and_image_models_refuse_each_others_data():
    with pytest.raises(ConfigError, match="needs SMILES"):
        build_model("smiles-vae", load_dataset("toy2d", n=64))
    with pytest.raises(ConfigError, match="needs images or vectors"):
        build_model("vae", smiles_dataset(SMALL_MOLECULES))
    with pytest.raises(ConfigError, match="unknown options"):
        build_model("smiles-vae", smiles_dataset(SMALL_MOLECULES), hidden=3)
