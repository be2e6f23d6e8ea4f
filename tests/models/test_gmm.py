"""GMM: cross-validation finds the true number of components, 8/8 toy modes, save → load is exact."""

import numpy as np
import pytest
import torch
from sklearn.mixture import GaussianMixture

from condgen.data import load_dataset
from condgen.data.dataset import LabeledDataset
from condgen.data.schema import AttributeSchema
from condgen.data.toy2d import toy2d_modes
from condgen.errors import ArtifactError, ConfigError
from condgen.io import WEIGHTS_FILE, load
from condgen.metrics.toy2d import mode_coverage
from condgen.models.density import cross_validate
from condgen.models.factory import build_model
from condgen.train import TrainConfig, train


def four_gaussians(n: int = 1000, seed: int = 0) -> LabeledDataset:
    """``[n, 2]`` points from 4 equal, well separated Gaussians (std 0.5, centres 4 apart)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [4, 0], [0, 4], [4, 4]], np.float64)
    points = centres[rng.integers(0, 4, n)] + 0.5 * rng.standard_normal((n, 2))
    return LabeledDataset(data=torch.from_numpy(points).float(), attributes=torch.zeros(n, 0),
                          schema=AttributeSchema(), spec={"name": "four-gaussians", "modality": "vectors"})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cross_validation_picks_the_true_component_count(seed):
    dataset = four_gaussians(seed=seed)
    model = build_model("gmm", dataset, max_components=8).fit(dataset, seed=seed, progress=False)
    assert model.n_components == 4 and model.fit_record["chosen"] == 4
    scores = model.fit_record["log_likelihood"]
    assert len(scores) == 8 and scores[3] > scores[2] + 0.3  # 3 components are far worse than 4


def test_one_standard_error_rule_prefers_the_simplest_close_candidate():
    # per fold, candidate 2 is best by a hair; candidate 1 is within one standard error of it
    scores = {0: [-3.0, -2.0, -1.99], 1: [-3.1, -2.1, -2.12], 2: [-2.9, -1.9, -1.85]}
    fold = iter(range(3))

    def held_out(train, test):
        return scores[next(fold)]

    data = np.zeros((30, 1))
    best = cross_validate(data, [1, 2, 3], held_out, folds=3, selection="best")
    fold = iter(range(3))
    simplest = cross_validate(data, [1, 2, 3], held_out, folds=3, selection="one-standard-error")
    assert best.chosen == 3 and simplest.chosen == 2


def test_toy2d_8gaussians_covers_every_mode_and_matches_sklearn():
    dataset = load_dataset("toy2d-8gaussians", n=3000, seed=0)
    model = build_model("gmm", dataset, max_components=12).fit(dataset, seed=0, progress=False)
    assert model.n_components == 8
    samples = model.sample(2000, generator=torch.Generator().manual_seed(0))
    centres, std = toy2d_modes("8gaussians")
    coverage = mode_coverage(samples, torch.from_numpy(centres), std)
    assert coverage["modes_covered"] == 8 and coverage["high_quality_share"] > 0.97
    # our torch log-density equals scikit-learn's for the same parameters
    test = load_dataset("toy2d-8gaussians", n=1000, seed=1).data
    reference = GaussianMixture(8, covariance_type="full", random_state=0).fit(dataset.data.double().numpy())
    ours = model.log_likelihood(test)
    assert ours == pytest.approx(reference.score(test.double().numpy()), abs=1e-3)
    assert ours > -0.45  # the true density's entropy on this set is about 0.3 nats per example


def test_save_load_gives_identical_samples_and_likelihoods(tmp_path):
    dataset = four_gaussians(400)
    model = build_model("gmm", dataset, max_components=5).fit(dataset, seed=0, progress=False)
    model.save(tmp_path / "gmm")
    loaded = load(tmp_path / "gmm")
    for m in (model, loaded):
        assert m.fit_record["chosen"] == 4
    first = model.sample(50, generator=torch.Generator().manual_seed(3))
    assert torch.equal(first, loaded.sample(50, generator=torch.Generator().manual_seed(3)))
    assert not torch.equal(first, model.sample(50, generator=torch.Generator().manual_seed(4)))
    assert model.log_likelihood(dataset.data) == loaded.log_likelihood(dataset.data)


def test_corrupt_or_foreign_weights_are_one_line_artifact_errors(tmp_path):
    dataset = four_gaussians(200)
    build_model("gmm", dataset, max_components=4).fit(dataset, progress=False).save(tmp_path / "gmm")
    weights = tmp_path / "gmm" / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:40])
    with pytest.raises(ArtifactError) as error:
        load(tmp_path / "gmm")
    assert len(str(error.value).splitlines()) == 1

    from condgen.io import atomic_save_tensors

    atomic_save_tensors(weights, {"weights": torch.tensor([0.5, 0.7], dtype=torch.float64),
                                  "means": torch.zeros(2, 2, dtype=torch.float64),
                                  "covariances": torch.eye(2, dtype=torch.float64).repeat(2, 1, 1),
                                  "cv_candidates": torch.ones(1, dtype=torch.float64),
                                  "cv_log_likelihood": torch.ones(1, dtype=torch.float64)})
    with pytest.raises(ArtifactError, match="probability vector"):
        load(tmp_path / "gmm")


def test_the_engine_refuses_a_closed_form_model_and_needs_vectors():
    dataset = four_gaussians(100)
    with pytest.raises(ConfigError, match="closed form"):
        train(build_model("gmm", dataset), dataset, TrainConfig(steps=1))
    with pytest.raises(ConfigError, match="latents-of"):
        build_model("gmm", load_dataset("faces", n=8))
    with pytest.raises(ConfigError, match="not fitted"):
        build_model("gmm", dataset).sample(3)
