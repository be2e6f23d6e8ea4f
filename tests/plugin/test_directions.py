"""The InterFaceGAN-style baseline on a linearly separable latent problem."""

import pytest
import torch

import condgen
from condgen.data.dataset import LabeledDataset
from condgen.data.schema import Attribute, AttributeSchema
from condgen.errors import ConfigError
from condgen.plugin import LatentDirections, fit_directions

DIM = 6
W_SMILE = torch.tensor([1.0, 1.0, 0.0, 0.0, 0.5, 0.0])
W_AGE = torch.tensor([0.0, 1.0, 1.0, 0.0, 0.0, 0.0])  # correlated with smile through coordinate 1


def truth(z: torch.Tensor) -> torch.Tensor:
    return torch.stack([(z @ W_SMILE > 0.3).float(), 3.0 * (z @ W_AGE) + 40.0], dim=1)


@pytest.fixture(scope="module")
def directions():
    z = torch.randn(3000, DIM, generator=torch.Generator().manual_seed(0))
    values = truth(z)
    values[::7, 0] = float("nan")
    schema = AttributeSchema((Attribute("smile", "binary"), Attribute("age", "continuous")))
    latents = LabeledDataset(z, values, schema.with_statistics(values), {"name": "latents", "modality": "vectors"})
    return fit_directions(latents, extreme_share=0.1)


def test_boundaries_are_the_true_normals(directions):
    assert directions.accuracy["smile"] >= 0.97 and directions.accuracy["age"] == 1.0
    assert torch.dot(directions.normals[0], W_SMILE / W_SMILE.norm()) > 0.99
    assert torch.dot(directions.normals[1], W_AGE / W_AGE.norm()) > 0.99


def test_edits_reach_the_target_side_and_keep_conditioned_attributes(directions):
    z = torch.randn(1000, DIM, generator=torch.Generator().manual_seed(1))
    before = truth(z)
    for value in (0, 1):
        edited = directions.edit(z, {"smile": value})
        assert (truth(edited)[:, 0] == value).float().mean() == 1.0
    kept = directions.edit(z, {"smile": 1}, keep=["age"])
    assert (truth(kept)[:, 0] == 1).float().mean() == 1.0
    assert torch.allclose(directions.distances(kept)[:, 1], directions.distances(z)[:, 1], atol=1e-4)
    assert (truth(kept)[:, 1] - before[:, 1]).abs().mean() < 0.1  # the fitted normal is ~the true one
    free = directions.edit(z, {"smile": 1})
    assert (truth(free)[:, 1] - before[:, 1]).abs().mean() > 0.5  # without keep, age drifts along
    age = directions.edit(z, {"age": 46.0})
    assert (truth(age)[:, 1] - 46.0).abs().max() < 0.3
    both = directions.edit(z, {"age": 34.0, "smile": 0})
    assert (truth(both)[:, 0] == 0).all() and (truth(both)[:, 1] - 34.0).abs().max() < 0.3
    half = directions.edit(z, {"age": 46.0}, strength=0.5)
    assert torch.allclose(directions.distances(half)[:, 1],
                          (directions.distances(z)[:, 1] + directions.distances(age)[:, 1]) / 2, atol=1e-4)


def test_sample_latent_and_predict_values(directions):
    z = directions.conditional_latents(500, {"smile": "yes"}, generator=torch.Generator().manual_seed(2))
    assert (truth(z)[:, 0] == 1).all()
    probe = torch.randn(500, DIM, generator=torch.Generator().manual_seed(3))
    predicted = directions.predict_values(probe)
    assert (predicted[:, 0] == truth(probe)[:, 0]).float().mean() >= 0.97
    assert (predicted[:, 1] - truth(probe)[:, 1]).abs().mean() < 0.3


def test_save_load_gives_identical_edits(directions, tmp_path):
    directions.save(tmp_path / "dirs")
    loaded = condgen.load(tmp_path / "dirs")
    assert isinstance(loaded, LatentDirections) and loaded.attributes == ["smile", "age"]
    assert loaded.accuracy == directions.accuracy
    z = torch.randn(20, DIM)
    assert torch.equal(loaded.edit(z, {"smile": 1}, keep=["age"]), directions.edit(z, {"smile": 1}, keep=["age"]))
    assert torch.equal(LatentDirections.load(tmp_path / "dirs").normals, directions.normals)


def test_categorical_attributes_are_refused():
    schema = AttributeSchema((Attribute("hair", "categorical", categories=("a", "b")),))
    latents = LabeledDataset(torch.randn(50, DIM), torch.zeros(50, 1), schema, {"modality": "vectors"})
    with pytest.raises(ConfigError, match="binary and continuous"):
        fit_directions(latents)
