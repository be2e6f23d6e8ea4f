"""Backbones by name: train (``condgen train``), sample (``condgen sample``) and reconstruct
(``condgen reconstruct``). The functions return data; the CLI writes it with the model's modality."""

from __future__ import annotations

from pathlib import Path

import torch

from condgen.data import load_dataset, load_from_spec
from condgen.errors import ConfigError
from condgen.io import load
from condgen.models.backbone import can_encode
from condgen.models.base import GenerativeModel
from condgen.models.density import DensityModel
from condgen.models.factory import build_model
from condgen.plugin.latent_density import fit_latent_density
from condgen.train import TrainConfig, TrainResult, train
from condgen.train.seeding import seed_everything


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
    change_options: bool = False,
    checkpoint_every: int = 500,
    sample_every: int = 500,
    device: str = "auto",
    attributes: str | list[str] | None = None,
    options: dict | None = None,
    skip_bad: bool = False,
    progress: bool = True,
    lr_schedule: str = "constant",
    warmup_steps: int = 0,
    min_lr_ratio: float = 0.0,
    ema_decay: float | None = None,
    group_lr: dict[str, float | str] | None = None,
    data_options: dict | None = None,
    latents_of: str | None = None,
) -> TrainResult:
    """Build model ``name`` for data set ``data``, train it with the engine, save it to ``out``.

    ``lr_schedule`` … ``group_lr`` are :class:`~condgen.train.TrainConfig`'s (schedules, EMA, per-group lr
    as numbers or text); with ``ema_decay`` set, the saved artifact holds the EMA weights; ``None`` takes the
    model's ``default_ema_decay`` (diffusion models: on), 0 turns it off. ``data_options``
    go to :func:`~condgen.data.load_dataset` (a reader's ``split``/``crop``/``limit``, ``kinds``).
    ``change_options`` (with ``resume``): continue under changed ``options``, recorded with the step
    (:mod:`condgen.train.resume`).
    ``seed`` fixes everything random: the data, the initial weights and the run (the same call twice gives
    the same weights, bit for bit, on CPU). ``latents_of`` (a backbone's directory or shipped name; gmm and kde
    only): fit the density on the latents that backbone's encoder gives the data
    (:func:`~condgen.plugin.latent_density.fit_latent_density`); the artifact then samples through its decoder.
    """
    seed_everything(seed)  # before the data and the initial weights, not only when the loop starts
    backbone = load_model(latents_of) if latents_of else None
    loader = backbone.modality.loader_options() if backbone is not None else {}
    dataset = load_dataset(data, n=n, size=size or loader.pop("size", None), seed=seed, skip_bad=skip_bad,
                           **{**loader, **(data_options or {})})
    if attributes:
        names = attributes.split(",") if isinstance(attributes, str) else list(attributes)
        dataset = dataset.select_attributes([a.strip() for a in names if a.strip()])
    if backbone is not None:
        density = fit_latent_density(name, backbone, dataset, seed=seed, options=options, progress=progress)
        density.save(out)
        return TrainResult(density, [], 0, Path(out))
    model = build_model(name, dataset, **(options or {}))
    if getattr(model, "fits_in_closed_form", False):  # gmm, kde: no steps, one fit (models/density.py)
        return fit_closed_form(model, dataset, Path(out), seed=seed, progress=progress)
    config = TrainConfig(
        steps=steps, batch_size=batch_size, seed=seed, out=Path(out), resume=resume,
        change_options=change_options, checkpoint_every=checkpoint_every, sample_every=sample_every,
        device=device, progress=progress, lr_schedule=lr_schedule, warmup_steps=warmup_steps,
        min_lr_ratio=min_lr_ratio, ema_decay=model.default_ema_decay if ema_decay is None else ema_decay,
        group_lr=dict(group_lr or {}),
    )
    return train(model, dataset, config)


def fit_closed_form(model: DensityModel, dataset, out: Path, *, seed: int = 0, progress: bool = True
                    ) -> TrainResult:
    """Fit a closed-form model (``fits_in_closed_form``: gmm, kde) on ``dataset`` and save it to ``out``; the
    engine's options (steps, batches, schedules, resume) do not apply, and refitting is as quick as resuming."""
    model.fit(dataset, seed=seed, progress=progress)
    model.save(out)
    return TrainResult(model, [], 0, out)


def load_model(model_dir: str | Path) -> GenerativeModel:
    """A generative model artifact by directory or shipped name (not a plugin or a classifier)."""
    model = load(model_dir)
    if not isinstance(model, GenerativeModel):
        hint = "; use `condgen generate` for a plugin" if getattr(model, "kind", "") == "plugin" else ""
        raise ConfigError(f"{model_dir} holds a {getattr(model, 'kind', type(model).__name__)}, not a generative "
                          f"model{hint}")
    return model


def condition_values(model: GenerativeModel, conditions: dict[str, str], n: int) -> torch.Tensor | None:
    """Attribute values ``[n, K]`` for a conditional model: the requested ones, NaN (unspecified) for the rest."""
    if not model.is_conditional:
        if conditions:
            raise ConfigError(f"{model.kind} is not conditional; --set works with cvae/cgan or a plugin")
        return None
    schema = model.schema
    values = torch.full((n, len(schema)), float("nan"))
    for name, text in conditions.items():
        values[:, schema.index(name)] = schema.parse_value(name, text)
    return values


def sample_model(model: GenerativeModel, n: int, seed: int = 0, conditions: dict[str, str] | None = None):
    """``n`` samples of ``model`` in its modality's form (images, vectors, SMILES strings), seeded. ``conditions``
    are attribute values for a conditional model; for ctgan one category of one column (``{"job": "clerk"}``)."""
    if n < 1:
        raise ConfigError(f"-n must be ≥ 1, got {n}")
    generator = torch.Generator().manual_seed(seed)
    if conditions and getattr(model, "samples_given_a_category", False):
        return model.modality.outputs(model.sample(n, generator=generator, condition=conditions))
    samples = model.sample(n, generator=generator, attributes=condition_values(model, conditions or {}, n))
    return model.modality.outputs(samples)


def reconstruct(model: GenerativeModel, n: int = 16, data: str | None = None, seed: int = 0
                ) -> tuple[dict[str, object], float | None]:
    """``({"original": …, "reconstruction": …}, mean absolute error on [-1, 1] or None)`` for ``n`` random
    examples of ``data`` (default: the model's own training data)."""
    if n < 1:
        raise ConfigError(f"-n must be ≥ 1, got {n}")
    if not can_encode(model):
        raise ConfigError(f"{model.kind} has no encoder; reconstruction needs vae, beta-vae, wae, aae, cvae, "
                          "ddpm, ddim, cdiffusion, realnvp, glow, smiles-vae or smiles-aae")
    dataset = load_dataset(data, **model.modality.loader_options()) if data else \
        load_from_spec(model.data_spec, labels=model.is_conditional)
    if model.is_conditional:  # trained with --attrs: the encoder sees those attributes only
        dataset = dataset.select_attributes(model.schema.names)
    index = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:n]
    x, attributes = dataset.batch(index)
    with torch.no_grad():
        # a conditional encoder also sees the true attributes
        extras = {"attributes": attributes.to(model.device)} if model.is_conditional else {}
        z = model.encode(x.to(model.device), **extras)
        recon = model.decode(z, **extras, **model.targeted_decoding).cpu()
    error = float((recon - x).abs().mean()) if model.modality.name != "smiles" else None
    return {"original": model.modality.outputs(x), "reconstruction": model.modality.outputs(recon)}, error
