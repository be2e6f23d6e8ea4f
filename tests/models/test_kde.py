"""KDE: the cross-validated bandwidth is Scott-sized on a Gaussian, the log-density is scikit-learn's."""

import numpy as np
import pytest
import torch
from sklearn.neighbors import KernelDensity

from condgen.data import load_dataset
from condgen.data.dataset import LabeledDataset
from condgen.data.schema import AttributeSchema
from condgen.data.toy2d import toy2d_modes
from condgen.io import load
from condgen.metrics.toy2d import mode_coverage
from condgen.models.factory import build_model
from condgen.models.kde import scott_bandwidth


def gaussian_sample(n: int = 1500, dim: int = 2, seed: int = 0) -> LabeledDataset:
    points = np.random.default_rng(seed).standard_normal((n, dim))
    return LabeledDataset(data=torch.from_numpy(points).float(), attributes=torch.zeros(n, 0),
                          schema=AttributeSchema(), spec={"name": "gaussian", "modality": "vectors"})


def test_bandwidth_is_near_scotts_on_a_gaussian_sample():
    dataset = gaussian_sample()
    model = build_model("kde", dataset).fit(dataset, seed=0, progress=False)
    scott = scott_bandwidth(dataset.data.double().numpy())  # = Silverman's for D = 2
    chosen = float(model.bandwidth)
    assert 0.6 * scott < chosen < 1.5 * scott, (chosen, scott)
    scores = model.fit_record["log_likelihood"]
    assert max(scores) == scores[model.fit_record["chosen_index"]]
    assert scores[0] < max(scores) - 1  # the smallest candidate overfits badly


def test_log_likelihood_equals_sklearn_score_samples():
    dataset = gaussian_sample(600, dim=3)
    model = build_model("kde", dataset, bandwidths=(0.3, 0.5)).fit(dataset, progress=False)
    points, h = model.points.numpy(), float(model.bandwidth)
    queries = np.random.default_rng(5).standard_normal((200, 3))
    reference = KernelDensity(kernel="gaussian", bandwidth=h).fit(points).score_samples(queries)
    ours = model.log_density(torch.from_numpy(queries)).numpy()
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-8)
    assert model.log_likelihood(torch.from_numpy(queries)) == pytest.approx(reference.mean(), abs=1e-8)


def test_point_cap_toy_modes_and_save_load(tmp_path):
    dataset = load_dataset("toy2d-8gaussians", n=3000, seed=0)
    model = build_model("kde", dataset, max_points=1000, bandwidth_grid=20).fit(dataset, seed=0, progress=False)
    assert model.points.shape == (1000, 2) and model.fit_record["examples"] == 3000
    samples = model.sample(2000, generator=torch.Generator().manual_seed(0))
    centres, std = toy2d_modes("8gaussians")
    coverage = mode_coverage(samples, torch.from_numpy(centres), std)
    assert coverage["modes_covered"] == 8 and coverage["high_quality_share"] > 0.95
    model.save(tmp_path / "kde")
    loaded = load(tmp_path / "kde")
    generator = torch.Generator().manual_seed(1)
    assert torch.equal(loaded.sample(100, generator=generator), model.sample(100, generator=generator.manual_seed(1)))
    test = load_dataset("toy2d-8gaussians", n=500, seed=1).data
    assert loaded.log_likelihood(test) == model.log_likelihood(test) > -0.6
