"""Checkpoint pieces: optimiser state flattening and incomplete-checkpoint detection."""

import pytest
import torch

from condgen.errors import ArtifactError
from condgen.io import atomic_save_tensors, atomic_write_bytes, load_tensors
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
