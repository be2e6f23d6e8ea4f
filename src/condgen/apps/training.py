"""Train, sample and reconstruct named models: what the CLI's backbone commands call."""

from __future__ import annotations

from pathlib import Path

import torch

from condgen.apps.molecules import is_smiles_model
from condgen.artifact import load
from condgen.data import load_dataset, load_from_spec
from condgen.errors import ConfigError
from condgen.viz import save_grid


def train_named_model(
    name: str,
    data: str,
    out: Path,
    *,
    steps: int,
    batch_size: int = 64,
    size: int | None = None,
    n: int | None = None,
    seed: int = 0,
    resume: bool = False,
    checkpoint_every: int = 500,
    sample_every: int = 500,
    device: str = "auto",
    attributes: str | list[str] | None = None,
    options: dict | None = None,
    skip_bad: bool = False,
    progress: bool = True,
):
    """Build model ``name`` for data set ``data``, train it with the engine, save it to ``out``."""
    from condgen.models import build_model
    from condgen.train import TrainConfig, train

    dataset = load_dataset(data, n=n, size=size, seed=seed, skip_bad=skip_bad)
    if attributes:
        names = attributes.split(",") if isinstance(attributes, str) else list(attributes)
        dataset = dataset.select_attributes([a.strip() for a in names if a.strip()])
    model = build_model(name, dataset, **(options or {}))
    config = TrainConfig(
        steps=steps, batch_size=batch_size, seed=seed, out=Path(out), resume=resume,
        checkpoint_every=checkpoint_every, sample_every=sample_every if dataset.is_image else 0,
        device=device, progress=progress,
    )
    return train(model, dataset, config)


def _condition_tensor(model, conditions: dict[str, str], n: int) -> torch.Tensor | None:
    """Attribute values ``[n, K]`` for a conditional model: the requested ones, the rest drawn from data rates."""
    if not model.is_conditional:
        if conditions:
            raise ConfigError(f"{model.kind} is not conditional; --set works with cvae/cgan or a plugin")
        return None
    schema = model.schema
    values = torch.full((n, len(schema)), float("nan"))
    for name, text in conditions.items():
        values[:, schema.index(name)] = schema.parse_value(name, text)
    return values


def sample_grid(model_dir: str, n: int, out: Path, seed: int = 0, conditions: dict[str, str] | None = None) -> Path:
    model = load(model_dir)
    if is_smiles_model(model):
        raise ConfigError(f"{model_dir} is a SMILES model; sample it with "
                          f"`condgen mol sample {model_dir} --out gen.smi`")
    generator = torch.Generator().manual_seed(seed)
    images = model.sample(n, generator=generator, attributes=_condition_tensor(model, conditions or {}, n))
    if images.ndim != 4:
        raise ConfigError(f"{model_dir} generates vectors, not images; use the Python API to get them")
    return save_grid(images, out)


def reconstruction_grid(model_dir: str, out: Path, n: int = 16, data: str | None = None,
                        seed: int = 0) -> tuple[Path, float]:
    """Save originals above reconstructions; return the path and the mean absolute error."""
    model = load(model_dir)
    if is_smiles_model(model):
        raise ConfigError(f"{model_dir} is a SMILES model; reconstruction grids are for images")
    if not model.has_encoder:
        raise ConfigError(f"{model_dir} is a {model.kind}, which has no encoder; reconstruction needs "
                          "vae, beta-vae, wae, aae or cvae")
    dataset = load_dataset(data) if data else load_from_spec(model.data_spec)
    index = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:n]
    x, attributes = dataset.batch(index)
    with torch.no_grad():
        # a conditional encoder also sees the true attributes
        z = model.encode(x.to(model.device), attributes.to(model.device)) if model.is_conditional else \
            model.encode(x.to(model.device))
        recon = model.decode(z, attributes.to(model.device)).cpu()
    error = float((recon - x).abs().mean())
    return save_grid(torch.cat([x, recon]), out, nrow=n), error
