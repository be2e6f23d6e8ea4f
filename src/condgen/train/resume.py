"""What must not change when a run resumes, and the one-line refusal when it does.

A resumed run continues the checkpoint's optimiser state, RNG streams and sampler; it is the run the
checkpoint started only if it trains the same model (every ``-o`` option), on the same data (``--data``,
``-n``, ``--size``, ``--seed``, ``--kind``, ``--data-option``, ``--attrs``), with the same batches
(``--batch-size``, ``--seed``) and the same learning-rate and EMA trajectories (``--lr-schedule``,
``--warmup-steps``, ``--min-lr-ratio``, ``--ema-decay``, ``--group-lr``; ``--steps`` for cosine, whose
decay ends at the last step). Applying a changed value silently would give a run that matches neither
setting, and recording it would describe weights that never saw it; so :func:`check_resumable` refuses,
naming each option with its saved and its new value. Other settings (``--steps`` for the other schedules,
``--checkpoint-every``, ``--sample-every``, ``--device``) may change.

A recipe that deliberately changes model options part-way (a KL weight raised at step 4,750, say) resumes
with ``--change-options``: the ``-o`` options that differ are applied from the checkpoint's step on and
recorded, with that step and both values, in the checkpoint and in the artifact's ``config.json``
(``option_changes``), so the record never names a value that earlier steps did not see. The data, the batches,
the schedules and the optimisers' own settings (an ``-o lr`` change included: the optimiser state carries its
learning rate) still may not change.

A checkpoint records the model's settings (:func:`model_settings`) in its JSON; for one written before it
did, the model artifact beside it (``out/config.json``, saved with every checkpoint) stands in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import torch
from torch.optim.lr_scheduler import LRScheduler

from condgen.errors import ArtifactError, ConfigError
from condgen.io import CONFIG_FILE, json_ready, read_json
from condgen.models.base import TrainableModule
from condgen.train.checkpoint import Checkpoint

#: Model options the data decides (compared as part of the data, not as ``-o`` options).
DATA_DERIVED_OPTIONS = frozenset({"data_shape", "tokens", "max_length"})
#: How each data spec key is given on the command line (others: ``--data-option KEY=…``).
DATA_FLAGS = {"name": "--data", "path": "--data", "modality": "--data", "n": "-n", "size": "--size",
              "seed": "--seed", "kinds": "--kind"}


def model_settings(model: TrainableModule) -> dict[str, Any]:
    """What a checkpoint records of the model: its options, data spec, attribute names and the option changes
    it was trained through (JSON values)."""
    options = asdict(model.config) if is_dataclass(model.config) else {}
    return _as_json({"options": options, "data": dict(model.data_spec), "attributes": list(model.schema.names),
                     "option_changes": list(getattr(model, "option_changes", []))})


def run_settings(config: Mapping) -> dict[str, object]:
    """The settings of ``TrainConfig.to_dict()`` that a resumed run must share with its checkpoint.

    Checkpoints of format 1 predate the schedule settings; their missing keys read as today's defaults.
    """
    settings: dict[str, object] = {
        "batch_size": config.get("batch_size"),
        "seed": config.get("seed"),
        "lr_schedule": config.get("lr_schedule", "constant"),
        "warmup_steps": config.get("warmup_steps", 0),
        "min_lr_ratio": config.get("min_lr_ratio", 0.0),
        "ema_decay": config.get("ema_decay") or None,
        "group_lr": dict(config.get("group_lr") or {}),
        "group_betas": {name: list(betas) for name, betas in (config.get("group_betas") or {}).items()},
    }
    if settings["lr_schedule"] == "cosine":
        settings["steps"] = config.get("steps")
    return _as_json(settings)


def check_resumable(checkpoint: Checkpoint, model: TrainableModule, config: Mapping,
                    optimizers: dict[str, torch.optim.Optimizer], schedulers: dict[str, LRScheduler],
                    change_options: bool = False) -> dict[str, list]:
    """Raise a one-line :class:`ConfigError` naming every option this run (``model``, ``config`` =
    ``TrainConfig.to_dict()``) sets otherwise than the run that wrote ``checkpoint`` did. With
    ``change_options`` the model's ``-o`` options may differ: returns them as ``{key: [saved, now]}``."""
    saved_model = _saved_model_settings(checkpoint, model)
    differences = _model_differences(saved_model, model_settings(model))
    changed: dict[str, list] = {}
    if change_options:
        changed = {flag[3:]: [old, new] for flag, old, new in differences if flag.startswith("-o ")}
        differences = [difference for difference in differences if not difference[0].startswith("-o ")]
    saved, wanted = run_settings(checkpoint.meta.get("config", {})), run_settings(config)
    differences += [(_run_flag(key), saved[key], wanted[key]) for key in saved
                    if key in wanted and saved[key] != wanted[key]]
    if not differences:  # what the options above cannot show: the optimisers themselves
        differences = _optimizer_differences(checkpoint, optimizers, schedulers)
    unique = list(dict.fromkeys((flag, _text(old), _text(new)) for flag, old, new in differences))
    if unique:
        listed = "; ".join(f"{flag} {old} (saved) vs {new} (now)" for flag, old, new in unique)
        allowed = "" if change_options else " (or pass --change-options to apply changed -o options from here on)"
        raise ConfigError(f"--resume: this run differs from the one {checkpoint.directory} was trained with: "
                          f"{listed}; resume with the saved values{allowed}, or train without --resume (or into "
                          "another --out)")
    return changed


def _model_differences(saved: dict[str, Any] | None, live: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    if saved is None:
        return []
    differences: list[tuple[str, Any, Any]] = []
    old_data, new_data = saved.get("data", {}), live["data"]
    for key in sorted(set(old_data) | set(new_data)):
        if old_data.get(key) != new_data.get(key):
            differences.append((DATA_FLAGS.get(key, f"--data-option {key}"), old_data.get(key), new_data.get(key)))
    if saved.get("attributes", live["attributes"]) != live["attributes"]:
        differences.append(("--attrs", ",".join(saved["attributes"]), ",".join(live["attributes"])))
    old_options, new_options = saved.get("options", {}), live["options"]  # (option_changes: a record only)
    for key in sorted((set(old_options) | set(new_options)) - DATA_DERIVED_OPTIONS):
        if old_options.get(key) != new_options.get(key):
            differences.append((f"-o {key}", old_options.get(key), new_options.get(key)))
    return differences


def _saved_model_settings(checkpoint: Checkpoint, model: TrainableModule) -> dict[str, Any] | None:
    """The checkpoint's record of the model; for an older checkpoint the artifact saved beside it, if it is
    of this kind and has the same option names (else ``None``: nothing to compare)."""
    if "model" in checkpoint.meta:
        return checkpoint.meta["model"]
    try:
        body = read_json(Path(checkpoint.directory).parent / CONFIG_FILE)
    except ArtifactError:
        return None
    live = model_settings(model)
    options = body.get("config")
    if body.get("kind") != model.kind or not isinstance(options, dict) or set(options) != set(live["options"]):
        return None
    names = [attribute.get("name") for attribute in body.get("attributes", []) if isinstance(attribute, dict)]
    return {"options": options, "data": body.get("data", {}), "attributes": names}


def _run_flag(key: str) -> str:
    """The command-line flag of a ``TrainConfig`` field (``group_betas`` has none: its own name)."""
    return key if key == "group_betas" else "--" + key.replace("_", "-")


def _optimizer_differences(checkpoint: Checkpoint, optimizers: dict[str, torch.optim.Optimizer],
                           schedulers: dict[str, LRScheduler]) -> list[tuple[str, Any, Any]]:
    """Each group's base lr, betas and weight decay, live against checkpointed (format 1: its constant lr)."""
    saved_schedulers = checkpoint.meta.get("schedulers", {})
    differences = []
    for name in sorted(set(optimizers) & set(checkpoint.meta["optimizers"])):
        group = checkpoint.meta["optimizers"][name]["param_groups"][0]
        old_lr = saved_schedulers[name]["base_lrs"][0] if name in saved_schedulers else group["lr"]
        live = optimizers[name].param_groups[0]
        pairs = {"lr": (old_lr, schedulers[name].base_lrs[0]), "betas": (group["betas"], live["betas"]),
                 "weight_decay": (group["weight_decay"], live["weight_decay"])}
        for key, (old, new) in pairs.items():
            if _as_json(old) != _as_json(new):
                differences.append((f"the {name!r} optimiser's {key}", old, new))
    return differences


def _as_json(value: Any) -> Any:
    """``value`` as JSON reads it back (tuples become lists, NaN null), so live and saved values compare."""
    return json.loads(json.dumps(json_ready(value), default=str))


def _text(value: Any) -> str:
    """A value as one would type it on the command line."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return ",".join(f"{key}={_text(item)}" for key, item in value.items()) or "none"
    return str(value)
