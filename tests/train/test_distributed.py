"""DDP: two CPU processes under torchrun (gloo) train to identical weights."""

import os
import socket
import subprocess
import sys
import textwrap

import torch

from condgen.io import load_tensors

WORKER = """
import os, sys
import torch
from condgen.io import atomic_save_tensors
from condgen.train import TrainConfig, train

sys.path.insert(0, {toys_dir!r})
import toy_models as toys
rank, out = os.environ["RANK"], sys.argv[1]

torch.manual_seed(rank == "1" and 99 or 0)  # different inits: DDP must broadcast rank 0's
linear = toys.LinearRegressor()
if rank == "0":
    atomic_save_tensors(f"{{out}}/linear_init.safetensors", linear.state_dict())
train(linear, toys.regression_dataset(), TrainConfig(steps=12, batch_size=16, checkpoint_every=5,
      out=f"{{out}}/run", device="cpu", progress=False))
atomic_save_tensors(f"{{out}}/linear_rank{{rank}}.safetensors", linear.state_dict())

# a second run in the same processes, with a two-group model whose critic loss leaves the
# generator unused (find_unused_parameters), a schedule and an EMA (handed back: the EMA weights)
torch.manual_seed(0)
toy = toys.TwoGroupToy()
train(toy, toys.regression_dataset(n=40), TrainConfig(steps=3, batch_size=8, device="cpu", progress=False,
      lr_schedule="cosine", warmup_steps=1, ema_decay=0.9))
atomic_save_tensors(f"{{out}}/toy_rank{{rank}}.safetensors", toy.state_dict())
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_ranks_end_with_identical_weights_equal_to_one_process(tmp_path, toys, toy_models_path):
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(WORKER.format(toys_dir=str(toy_models_path.parent))))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
               f"--master_port={_free_port()}", str(script), str(tmp_path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]

    initial = load_tensors(tmp_path / "linear_init.safetensors")
    ranks = [load_tensors(tmp_path / f"linear_rank{r}.safetensors") for r in (0, 1)]
    assert all(torch.equal(ranks[0][k], ranks[1][k]) for k in initial)
    assert not torch.allclose(ranks[0]["linear.weight"], initial["linear.weight"])
    toy_ranks = [load_tensors(tmp_path / f"toy_rank{r}.safetensors") for r in (0, 1)]
    assert all(torch.equal(toy_ranks[0][k], toy_ranks[1][k]) for k in toy_ranks[0])

    # each rank took half of every global batch of 16: the same mean gradient as one process
    from condgen.train import TrainConfig, train

    single = toys.LinearRegressor()
    single.load_state_dict(initial)
    train(single, toys.regression_dataset(), TrainConfig(steps=12, batch_size=16, device="cpu", progress=False))
    assert all(torch.allclose(single.state_dict()[k], ranks[0][k], atol=1e-5) for k in initial)
    # rank 0 alone wrote the run folder, checkpoint included
    assert (tmp_path / "run" / "checkpoint" / "state.json").is_file()
    assert (tmp_path / "run" / "log.csv").read_text().count("\n") == 2  # header + the final step
