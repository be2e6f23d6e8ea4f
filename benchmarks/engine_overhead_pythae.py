"""The pythae side of ``engine_overhead.py``: run in pythae's own venv, never imported by condgen.

    <cache>/pythae-venv/bin/python benchmarks/engine_overhead_pythae.py --data x.npy --steps 500 \
        --batch-size 64 --epochs 2 --warmup-steps 20 --out DIR --src src

pythae 0.1.2's ``VAE`` takes custom networks, so it trains condgen's own encoder and decoder stacks
(``condgen.nn.networks.build_encoder`` / ``build_decoder``, the modules condgen's ``VAE`` holds), wrapped in
pythae's ``BaseEncoder`` / ``BaseDecoder``; its ``BaseTrainer`` (defaults: no eval set, so it keeps the best
model on the training loss; the final model saved to ``--out``) runs Adam at condgen's lr and betas.
Prints one JSON line: the wall and CPU seconds of the timed run (trainer built + ``train()``), its steps and last loss.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import types
from pathlib import Path


def condgen_networks(src: Path):
    """``condgen.nn.networks`` imported from ``src`` without ``condgen/__init__`` (which needs condgen's own
    dependencies, absent from this venv): only torch is needed below it."""
    package = types.ModuleType("condgen")
    package.__path__ = [str(src / "condgen")]
    sys.modules["condgen"] = package
    from condgen.nn import networks

    return networks


def build_model(networks, latent_dim: int, data_shape: tuple[int, ...], base_channels: int):
    """pythae's VAE around condgen's encoder (``2·latent`` outputs split into mean / log-variance, clamped as
    condgen does) and decoder (tanh output, images in [-1, 1])."""
    from pythae.models import VAE, VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder

    class Encoder(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.net = networks.build_encoder("dcgan", data_shape, 2 * latent_dim, base_channels=base_channels)

        def forward(self, x):
            mean, log_var = self.net(x).chunk(2, dim=1)
            return ModelOutput(embedding=mean, log_covariance=log_var.clamp(-30.0, 20.0))

    class Decoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.net = networks.build_decoder("dcgan", latent_dim, data_shape, base_channels=base_channels)

        def forward(self, z):
            return ModelOutput(reconstruction=self.net(z))

    config = VAEConfig(input_dim=data_shape, latent_dim=latent_dim, reconstruction_loss="mse")
    return VAE(config, encoder=Encoder(), decoder=Decoder())


def run(networks, data, args, n_examples: int, epochs: int, out: Path) -> tuple[float, float, float]:
    """Train a fresh model for ``epochs`` passes over the first ``n_examples`` rows.

    Returns (wall seconds, CPU seconds, last loss)."""
    import torch
    from pythae.data.datasets import BaseDataset
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    torch.manual_seed(args.seed)
    model = build_model(networks, args.latent_dim, tuple(data.shape[1:]), args.base_channels)
    rows = data[:n_examples]
    dataset = BaseDataset(rows, torch.zeros(len(rows)))
    config = BaseTrainerConfig(output_dir=str(out), per_device_train_batch_size=args.batch_size,
                               num_epochs=epochs, learning_rate=args.lr, optimizer_params={"betas": (0.9, 0.999)},
                               no_cuda=True, seed=args.seed)
    started, cpu_started = time.perf_counter(), time.process_time()
    trainer = BaseTrainer(model, dataset, training_config=config)
    trainer.train()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    with torch.no_grad():
        loss = float(trainer.model({"data": rows[:args.batch_size]}).loss)
    return seconds, cpu_seconds, loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help=".npy of float32 examples [N, C, H, W] in [-1, 1]")
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--warmup-steps", type=int, required=True)
    parser.add_argument("--src", type=Path, required=True, help="condgen's src folder")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--latent-dim", type=int, default=64)
    parser.add_argument("--base-channels", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(1)
    networks = condgen_networks(args.src)
    data = torch.from_numpy(np.load(args.data, allow_pickle=False))
    with tempfile.TemporaryDirectory() as warm:
        run(networks, data, args, args.warmup_steps * args.batch_size, 1, Path(warm))
    per_epoch = args.steps // args.epochs
    seconds, cpu_seconds, loss = run(networks, data, args, per_epoch * args.batch_size, args.epochs, args.out)
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "steps": per_epoch * args.epochs,
                      "final_loss": loss, "pythae_torch": torch.__version__}))


if __name__ == "__main__":
    main()
