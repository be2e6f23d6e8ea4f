"""save → condgen.load → identical outputs, for every model kind (after real training steps, so
batch-norm running statistics and Adam-updated weights are part of what must round-trip)."""

import json

import pytest
import torch

import condgen
from condgen.errors import ArtifactError
from condgen.models import ARCHITECTURE_MODEL_NAMES, build_model
from condgen.train import TrainConfig, train


@pytest.mark.parametrize("name", sorted(ARCHITECTURE_MODEL_NAMES))
def test_saved_model_loads_with_identical_outputs(name, images, tiny, tmp_path):
    data = images(n=16, size=16)
    model = build_model(name, data, **tiny)
    model = train(model, data, TrainConfig(steps=2, batch_size=8, progress=False, log_every=0)).model
    model.save(tmp_path / name)
    loaded = condgen.load(tmp_path / name)
    assert type(loaded) is type(model) and loaded.config == model.config
    assert loaded.data_spec == {"name": "random-images", "modality": "images"} and loaded.schema == data.schema
    assert not loaded.training
    model.eval()
    z = torch.randn(3, tiny["latent_dim"], generator=torch.Generator().manual_seed(1))
    x, attributes = data.batch(torch.arange(3))
    with torch.no_grad():
        extras = {"attributes": attributes} if model.is_conditional else {}
        assert torch.equal(model.decode(z, **extras), loaded.decode(z, **extras))
        if model.has_encoder:
            assert torch.equal(model.encode(x), loaded.encode(x))
        generator = torch.Generator().manual_seed(2)
        expected = model.sample(3, generator=generator, **extras)
        assert torch.equal(expected, loaded.sample(3, generator=torch.Generator().manual_seed(2), **extras))


def test_gan_config_stores_the_resolved_loss_defaults(images, tiny, tmp_path):
    model = build_model("wgan-gp", images(n=4, size=16), **tiny)
    model.save(tmp_path)
    stored = json.loads((tmp_path / "config.json").read_text())
    assert stored["kind"] == "gan"
    assert stored["config"]["loss"] == "wgan-gp" and stored["config"]["n_critic"] == 5
    assert stored["config"]["critic_batch_norm"] is False and stored["config"]["betas"] == [0.5, 0.9]
    assert condgen.load(tmp_path).config.betas == (0.5, 0.9)


def test_weights_that_do_not_match_the_config_are_an_artifact_error(images, tiny, tmp_path):
    build_model("vae", images(n=4, size=16), **tiny).save(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["config"]["latent_dim"] = 7
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ArtifactError, match="weights do not match"):
        condgen.load(tmp_path)
