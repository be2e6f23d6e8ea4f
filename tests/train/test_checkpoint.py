"""Checkpoint pieces: optimiser state flattening, incomplete-checkpoint detection, older and newer formats."""

import json

import pytest
import torch

from condgen.errors import ArtifactError, ConfigError
from condgen.io import atomic_save_tensors, atomic_write_bytes, atomic_write_json, load_tensors
from condgen.train import checkpoint


def test_optimizer_state_round_trips_through_tensors_and_json():
    weights = [torch.nn.Parameter(torch.randn(3, 2)), torch.nn.Parameter(torch.randn(2))]
    optimizer = torch.optim.Adam(weights, lr=0.01, betas=(0.5, 0.9), weight_decay=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        (weights[0].sum() ** 2 + weights[1].pow(3).sum()).backward()
        optimizer.step()
    tensors, meta = checkpoint.flatten_optimizer("critic", optimizer)
    assert set(tensors) == {f"optimizer/critic/{i}/{k}" for i in (0, 1) for k in ("step", "exp_avg", "exp_avg_sq")}

    copy = torch.optim.Adam([torch.nn.Parameter(w.detach().clone()) for w in weights], lr=1.0)
    copy.load_state_dict(checkpoint.unflatten_optimizer("critic", tensors, meta))
    original, restored = optimizer.state_dict(), copy.state_dict()
    assert restored["param_groups"][0]["betas"] == (0.5, 0.9)
    assert restored["param_groups"][0]["lr"] == 0.01
    for index in (0, 1):
        for key in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(original["state"][index][key], restored["state"][index][key])


def test_checkpoint_files_from_different_steps_are_reported(tmp_path, toys):
    from condgen.train import TrainConfig, train

    train(toys.LinearRegressor(), toys.regression_dataset(), TrainConfig(steps=2, out=tmp_path, progress=False))
    assert checkpoint.load_checkpoint(tmp_path).step == 2
    tensors_path = tmp_path / "checkpoint" / checkpoint.TENSORS_FILE
    tensors = load_tensors(tensors_path)
    tensors["checkpoint/step"] = torch.tensor([3])  # as if killed between the two writes
    atomic_save_tensors(tensors_path, tensors)
    with pytest.raises(ArtifactError, match="different steps"):
        checkpoint.load_checkpoint(tmp_path)


def test_a_run_killed_between_the_tensors_and_the_json_resumes_from_the_step_before(tmp_path, toys):
    from condgen.train import TrainConfig, train

    train(toys.LinearRegressor(), toys.regression_dataset(), TrainConfig(steps=2, out=tmp_path, progress=False))
    directory = tmp_path / "checkpoint"
    assert not (directory / checkpoint.PREVIOUS_TENSORS_FILE).exists()  # removed once the JSON is committed
    committed = load_tensors(directory / checkpoint.TENSORS_FILE)
    # what save_checkpoint leaves when killed after writing step 3's tensors, before its JSON
    checkpoint._keep_previous_tensors(directory)
    atomic_save_tensors(directory / checkpoint.TENSORS_FILE, {**committed, "checkpoint/step": torch.tensor([3])})
    restored = checkpoint.load_checkpoint(tmp_path)
    assert restored.step == 2 and all(torch.equal(restored.tensors[k], v) for k, v in committed.items())


def _as_format_1(out):
    """Rewrite ``out/checkpoint`` as the format-1 engine wrote it: no schedulers, no new settings."""
    path = out / "checkpoint" / checkpoint.JSON_FILE
    meta = json.loads(path.read_text())
    meta["format_version"] = 1
    del meta["schedulers"]
    for key in ("lr_schedule", "warmup_steps", "min_lr_ratio", "ema_decay", "group_lr", "group_betas"):
        del meta["config"][key]
    for saved in meta["optimizers"].values():
        for group in saved["param_groups"]:
            del group["initial_lr"]
    atomic_write_json(path, meta)


def test_format_1_checkpoints_resume_exactly(tmp_path, toys):
    from condgen.train import TrainConfig, train

    def config(out, **values):
        return TrainConfig(steps=8, batch_size=16, out=out, checkpoint_every=4, progress=False, device="cpu",
                           **values)

    torch.manual_seed(0)
    straight = toys.TwoGroupToy()
    train(straight, toys.regression_dataset(n=40), config(tmp_path / "straight"))
    torch.manual_seed(0)
    with pytest.raises(toys.SimulatedKill):  # killed during step 5, after the checkpoint at 4
        train(toys.TwoGroupToy(crash_at_step=5), toys.regression_dataset(n=40),
              config(tmp_path / "old"))
    _as_format_1(tmp_path / "old")
    old = toys.TwoGroupToy()
    train(old, toys.regression_dataset(n=40), config(tmp_path / "old", resume=True))
    assert all(torch.equal(v, old.state_dict()[k]) for k, v in straight.state_dict().items())
    upgraded = checkpoint.load_checkpoint(tmp_path / "old")
    assert upgraded.meta["format_version"] == checkpoint.FORMAT_VERSION
    assert upgraded.meta["schedulers"] == checkpoint.load_checkpoint(tmp_path / "straight").meta["schedulers"]

    # a format-1 run had no EMA: asking for one on resume is refused, not silently started mid-run
    _as_format_1(tmp_path / "old")
    with pytest.raises(ConfigError, match=r"--ema-decay none \(saved\) vs 0.9 \(now\)"):
        train(old, toys.regression_dataset(n=40), config(tmp_path / "old", resume=True, ema_decay=0.9))


def test_a_checkpoint_of_a_newer_format_is_refused(tmp_path, toys):
    from condgen.train import TrainConfig, train

    train(toys.LinearRegressor(), toys.regression_dataset(), TrainConfig(steps=1, out=tmp_path, progress=False))
    path = tmp_path / "checkpoint" / checkpoint.JSON_FILE
    atomic_write_json(path, {**json.loads(path.read_text()), "format_version": checkpoint.FORMAT_VERSION + 1})
    with pytest.raises(ArtifactError, match="newer than this condgen reads"):
        checkpoint.load_checkpoint(tmp_path)


def test_atomic_write_leaves_a_pipe_or_device_in_place(tmp_path):
    import os
    import stat
    import threading

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    atomic_write_bytes(pipe, b"CCO\n")
    reader.join(timeout=10)
    assert received == [b"CCO\n"]
    assert stat.S_ISFIFO(pipe.stat().st_mode)  # still a pipe, not a file renamed over it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]  # no temporary file left behind
    atomic_write_bytes(tmp_path / "file.smi", b"CCN\n")
    assert (tmp_path / "file.smi").read_bytes() == b"CCN\n"


def test_atomic_writes_give_files_the_usual_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    os.umask(umask)
    atomic_write_bytes(tmp_path / "config.json", b"{}")
    assert (tmp_path / "config.json").stat().st_mode & 0o777 == 0o666 & ~umask  # not a private temporary file
