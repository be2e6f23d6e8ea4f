"""The exponential moving average of the weights: its values, and which weights go where."""

import torch

from condgen.io import load_tensors
from condgen.train import TrainConfig, train
from condgen.train.checkpoint import load_checkpoint


def quiet(**values) -> TrainConfig:
    return TrainConfig(progress=False, device="cpu", **values)


def test_ema_is_the_hand_computed_average_of_the_raw_weights(tmp_path, toys):
    decay, raw_after_each_step = 0.8, []
    model = toys.LinearRegressor()  # one group, one update per engine step
    model.after_optimizer_step = lambda group: raw_after_each_step.append(
        {k: v.detach().clone() for k, v in model.state_dict().items()})
    result = train(model, toys.regression_dataset(), quiet(steps=5, batch_size=32, ema_decay=decay, out=tmp_path))

    average = dict(raw_after_each_step[0])  # the first update copies the weights
    for n, raw in enumerate(raw_after_each_step[1:], start=1):
        d = min(decay, (1 + n) / (10 + n))  # the warm-up: 2/11, 3/12, 4/13, 5/14 here
        average = {k: d * average[k] + (1 - d) * raw[k] for k in average}
    ema_weights, raw_weights = result.model.state_dict(), raw_after_each_step[-1]
    assert result.model is model
    assert all(torch.allclose(ema_weights[k], average[k], rtol=0, atol=1e-6) for k in average)
    assert not torch.allclose(ema_weights["linear.weight"], raw_weights["linear.weight"], atol=1e-3)

    # checkpoint: raw and EMA weights; artifact: the EMA weights (what one samples with)
    saved = load_checkpoint(tmp_path).tensors
    assert all(torch.equal(saved[f"model/{k}"], raw_weights[k]) for k in raw_weights)
    assert all(torch.equal(saved[f"ema/module.{k}"], ema_weights[k]) for k in ema_weights)
    assert int(saved["ema/n_averaged"]) == 5
    artifact = load_tensors(tmp_path / "model.safetensors")
    assert all(torch.equal(artifact[k], ema_weights[k]) for k in ema_weights)


def test_sample_grids_use_the_ema_weights_and_leave_training_alone(tmp_path, toys):
    sampled_with = []

    class Spy(toys.TinyImageModel):
        def decode(self, z, *, generator=None):
            if not self.training:  # sample() switches to eval; training losses decode in train mode
                sampled_with.append(self.net.weight.detach().clone())
            return super().decode(z)

    runs = {}
    for every in (0, 3):
        torch.manual_seed(0)
        model = Spy()
        result = train(model, toys.image_dataset(), quiet(steps=3, batch_size=8, ema_decay=0.5, sample_every=every,
                                                          out=tmp_path / str(every)))
        runs[every] = (result.model.state_dict(), load_checkpoint(tmp_path / str(every)).tensors)
    assert len(sampled_with) == 1 and (tmp_path / "3" / "samples" / "step_000003.png").is_file()
    ema_weights, saved = runs[3]
    assert torch.equal(sampled_with[0], ema_weights["net.weight"])  # sampled at the last step: the final EMA
    assert not torch.equal(sampled_with[0], saved["model/net.weight"])
    # sampling with the EMA swapped in changes neither the raw weights nor the EMA
    assert all(torch.equal(runs[0][1][k], saved[k]) for k in saved if k.startswith(("model/", "ema/")))
