"""The attribute classifier: learns a tiny synthetic image problem, masks missing labels, and
survives save / load unchanged."""

import pytest
import torch

import condgen
from condgen.data.dataset import LabeledDataset
from condgen.data.schema import Attribute, AttributeSchema
from condgen.errors import ConfigError, DataError
from condgen.evaluation.classifiers import train_classifier
from condgen.metrics.fid import domain_fid
from condgen.models.base import Batch
from condgen.models.classifier import AttributeClassifier, ClassifierConfig, classifier_config_for

SCHEMA = AttributeSchema((
    Attribute("square", "binary"),
    Attribute("band", "categorical", categories=("top", "middle", "bottom")),
    Attribute("brightness", "continuous"),
))


def toy_images(n: int, seed: int) -> LabeledDataset:
    """16x16 grey images: a bright square in the top-left corner (binary), a dark stripe in the right
    half at one of three heights (categorical), and the background level (continuous)."""
    generator = torch.Generator().manual_seed(seed)
    square = torch.randint(0, 2, (n,), generator=generator)
    band = torch.randint(0, 3, (n,), generator=generator)
    brightness = torch.rand(n, generator=generator) * 0.8 - 0.4
    x = brightness[:, None, None, None] + 0.1 * torch.randn(n, 1, 16, 16, generator=generator)
    x[square == 1, :, 1:5, 1:5] = 1.0
    for b in range(3):
        x[band == b, :, 2 + 5 * b:4 + 5 * b, 9:15] = -1.0
    data = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    values = torch.stack([square.float(), band.float(), brightness], dim=1)
    return LabeledDataset(data, values, SCHEMA.with_statistics(values), {"name": "toy-squares", "modality": "images"})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("classifier")
    train_set, _ = toy_images(1200, seed=0).split(0.9)
    model = train_classifier(train_set, arch="conv-small", steps=150, batch_size=64, seed=3, out=out,
                             base_channels=8, hidden=32)
    return model, out


def test_classifier_learns_the_toy_problem(trained):
    model, _ = trained
    report = model.evaluate(toy_images(400, seed=1))
    assert report["square"] >= 0.97
    assert report["band"] >= 0.9
    assert report["brightness"]["r2"] >= 0.8
    assert report["brightness"]["mae"] < 0.1


def test_predictions_are_in_the_stored_encoding(trained):
    model, _ = trained
    held_out = toy_images(64, seed=2)
    values = model.predict_values(held_out.examples())
    assert values.shape == (64, 3)
    assert set(values[:, 0].tolist()) <= {0.0, 1.0}
    assert set(values[:, 1].tolist()) <= {0.0, 1.0, 2.0}
    probabilities = model.predict_proba(held_out.data)  # uint8 images are accepted as well
    assert sorted(probabilities) == ["band", "square"]
    assert torch.equal((probabilities["square"] >= 0.5).float(), values[:, 0])
    assert torch.allclose(probabilities["band"].sum(1), torch.ones(64))
    assert model.features(held_out.examples()).shape == (64, 32)
    with pytest.raises(DataError, match=r"expects inputs \[N, 1, 16, 16\]"):
        model.predict_values(torch.zeros(2, 3, 16, 16))


def test_save_load_gives_identical_outputs(trained, tmp_path):
    model, out = trained
    x = toy_images(32, seed=4).examples()
    loaded = condgen.load(out)
    assert isinstance(loaded, AttributeClassifier)
    assert loaded.schema == model.schema and loaded.training_record["seed"] == 3
    assert torch.equal(loaded.predict_outputs(x), model.predict_outputs(x))
    assert torch.equal(condgen.load(model.save(tmp_path / "again")).features(x), model.features(x))


def test_missing_labels_are_masked_out_of_the_loss():
    torch.manual_seed(0)
    model = AttributeClassifier(ClassifierConfig(channels=1, size=16, base_channels=4, hidden=8), SCHEMA).eval()
    data = toy_images(8, seed=5)
    x, values = data.batch(torch.arange(8))
    masked = values.clone()
    masked[:3, 0] = float("nan")
    # The masked entries' outputs get no gradient, so whatever the network says there is irrelevant.
    outputs = model.head_outputs(x).detach().requires_grad_(True)
    model.head_outputs = lambda _: outputs
    loss, logs = model.compute_loss("classifier", Batch(x, masked))
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.all(outputs.grad[:3, 0] == 0) and torch.all(outputs.grad[3:, 0] != 0)
    assert torch.all(outputs.grad[:3, 1:] != 0)  # the other attributes of those rows still count
    # With one attribute, masking rows equals dropping them.
    square_only = AttributeClassifier(model.config, SCHEMA.subset(["square"])).eval()
    with_nan, _ = square_only.compute_loss("classifier", Batch(x, masked[:, :1]))
    dropped, _ = square_only.compute_loss("classifier", Batch(x[3:], masked[3:, :1]))
    assert with_nan.item() == pytest.approx(dropped.item(), rel=1e-6)
    # A column nobody in the batch is labelled for adds nothing and no NaN.
    all_missing = values.clone()
    all_missing[:, 2] = float("nan")
    loss, logs = model.compute_loss("classifier", Batch(x, all_missing))
    assert torch.isfinite(loss) and "loss_brightness" not in logs


def test_architectures_and_config_errors():
    vectors = AttributeClassifier(ClassifierConfig(arch="mlp", input_dim=5), SCHEMA)
    assert vectors.predict_values(torch.randn(3, 5)).shape == (3, 3)
    wide = AttributeClassifier(ClassifierConfig(arch="conv-wide", channels=1, size=28, base_channels=4), SCHEMA)
    assert wide.features(torch.zeros(2, 1, 28, 28)).shape == (2, 128)
    with pytest.raises(ConfigError, match="conv-small, conv-wide, mlp"):
        AttributeClassifier(ClassifierConfig(arch="resnet"), SCHEMA)
    with pytest.raises(ConfigError, match="unknown classifier option.*depth; valid: arch"):
        classifier_config_for(toy_images(4, seed=0), depth=3)
    with pytest.raises(ConfigError, match="use arch='mlp'"):
        AttributeClassifier(ClassifierConfig(arch="conv-small", input_dim=5), SCHEMA)


def test_classifier_features_drive_domain_fid(trained):
    model, _ = trained
    real, other = toy_images(300, seed=6).examples(), toy_images(300, seed=7).examples()
    darker = (other - 0.5).clamp(-1, 1)
    same_distribution = domain_fid(real, other, model)
    assert domain_fid(real, real, model) == pytest.approx(0.0, abs=1e-6)
    assert domain_fid(real, darker, model) > 10 * same_distribution
