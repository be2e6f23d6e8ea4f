"""Target calibration: a measured response is inverted so that asked-for values come out on average."""

import json
import warnings

import numpy as np
import pytest
import torch

from condgen.data.dataset import LabeledDataset
from condgen.data.schema import Attribute, AttributeSchema
from condgen.errors import ConfigError
from condgen.plugin import BackboneAdapter, Plugin, PluginConfig, calibrate, fit_plugin
from condgen.plugin.calibration import fit_calibration
from condgen.train import TrainConfig


def test_fit_calibration_inverts_a_monotone_response_and_ignores_unmeasured_points():
    conditions = [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0]
    measured = [-1.0, -0.5, float("nan"), 0.5, 1.0, 0.9]  # noisy dip at the end, one point unmeasured
    calibration = fit_calibration(conditions, measured, [1, 1, 0.1, 1, 1, 1])
    assert calibration.condition == [-2.0, -1.0, 1.0, 2.0, 3.0]
    assert np.all(np.diff(calibration.response) >= 0)  # isotonic
    assert calibration.condition_for(-0.75) == pytest.approx(-1.5)
    assert calibration.condition_for(0.0) == pytest.approx(0.0)  # halfway between -0.5 (at -1) and 0.5 (at 1)
    with pytest.warns(UserWarning, match="outside what the model reaches"):
        assert calibration.condition_for(5.0) == pytest.approx(2.0)  # the first condition reaching the top
    with pytest.raises(ConfigError, match="fewer than two"):
        fit_calibration([0.0, 1.0], [float("nan"), 1.0], [0, 1])


def _identity_backbone():
    """A 2-d latent "backbone"; the measure below plays a decoder that halves the attribute."""
    return BackboneAdapter(torch.nn.Identity(), latent_dim=2, encoder=torch.nn.Identity())


def test_calibration_undoes_a_decoder_that_shrinks_the_attribute(tmp_path):
    torch.manual_seed(0)
    value = torch.randn(4000, 1) * 2
    latents = torch.cat([value, torch.randn(4000, 1)], dim=1)
    schema = AttributeSchema([Attribute("size", "continuous")])
    data = LabeledDataset(latents, value, schema.with_statistics(value), {"name": "toy", "modality": "vectors"})
    backbone = _identity_backbone()
    plugin = fit_plugin(backbone, None, ["size"], PluginConfig(n_couplings=2, hidden=32, depth=2, sigma_end=0.05),
                        TrainConfig(steps=600, batch_size=256, progress=False), latents=data)

    def measure(z):
        return {"size": (z[:, 0] / 2).numpy()}

    def decoded_mean(target, calibrated):
        z = plugin.conditional_latents(2000, {"size": target}, generator=torch.Generator().manual_seed(1),
                                 calibrated=calibrated)
        return float(measure(z)["size"].mean())

    assert decoded_mean(1.0, calibrated=True) == pytest.approx(0.5, abs=0.1)  # nothing calibrated yet
    calibrate(plugin, measure, per_point=200, points=9, seed=3)
    assert decoded_mean(1.0, calibrated=False) == pytest.approx(0.5, abs=0.1)
    assert decoded_mean(1.0, calibrated=True) == pytest.approx(1.0, abs=0.15)
    assert decoded_mean(-1.5, calibrated=True) == pytest.approx(-1.5, abs=0.15)

    plugin.save(tmp_path / "p")
    restored = Plugin.load(tmp_path / "p", backbone=backbone)
    assert restored.calibration == plugin.calibration
    assert "calibration" in json.loads((tmp_path / "p" / "config.json").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an in-range target raises no warning
        restored.calibrated_targets({"size": 0.3})


def test_only_continuous_attributes_are_calibrated():
    schema = AttributeSchema([Attribute("flag", "binary")])
    values = (torch.rand(200, 1) > 0.5).float()
    data = LabeledDataset(torch.randn(200, 2), values, schema.with_statistics(values),
                          {"name": "toy", "modality": "vectors"})
    plugin = fit_plugin(_identity_backbone(), None, ["flag"], PluginConfig(n_couplings=1, hidden=8, depth=2),
                        TrainConfig(steps=2, batch_size=50, progress=False), latents=data)
    with pytest.raises(ConfigError, match="only continuous"):
        calibrate(plugin, lambda z: {"flag": np.zeros(len(z))}, ["flag"])
