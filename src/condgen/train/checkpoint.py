"""Checkpoints that let a run resume exactly where it stopped, without pickle.

A checkpoint is the folder ``out/checkpoint/`` holding

* ``state.safetensors`` — every tensor: the model state (``model/…``), each optimiser's state
  tensors flattened to ``optimizer/<group>/<param index>/<name>``, the torch RNG state of every
  rank as uint8 (``rng/torch/rank<r>``, ``rng/cuda/rank<r>``), the Mersenne-Twister keys of
  Python's ``random`` and NumPy's global RNG (``rng/python/state``, ``rng/numpy/keys``), the sampler state
  ``sampler/state = [epoch, position]``, ``checkpoint/step`` and, when the run keeps an EMA of the
  weights, the averaged model's state (``ema/n_averaged``, ``ema/module.<name>``);
* ``state.json`` — the step, each optimiser's ``param_groups`` hyper-parameters and non-tensor
  state, each group's lr scheduler state (``schedulers``), the scalar parts of Python's and NumPy's
  RNG states, the training config and the model's settings (``model``: its options, data spec and
  attribute names, which :mod:`condgen.train.resume` compares on resume).

Format 2 added the schedulers and the EMA; format 1 checkpoints (constant lr, no EMA) still resume.

Both are written atomically, the JSON last: it is the commit marker. While the new tensors are written,
the previous ones stay as ``previous.safetensors`` (a hard link where the file system has them), so a
run killed between the two writes resumes from the previous step; a checkpoint whose files disagree on
the step otherwise is reported as incomplete rather than silently mixed.
"""

from __future__ import annotations

import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler

from condgen.errors import ArtifactError
from condgen.io import atomic_save_tensors, atomic_write_json, load_tensors, read_json
from condgen.train.distributed import DistributedContext, gather_tensor
from condgen.train.sampler import BatchSampler

CHECKPOINT_DIR = "checkpoint"
TENSORS_FILE = "state.safetensors"
JSON_FILE = "state.json"
#: The tensors of the committed step while the next step's are being written.
PREVIOUS_TENSORS_FILE = "previous.safetensors"
FORMAT_VERSION = 2  # 2: lr scheduler states and EMA weights


@dataclass
class Checkpoint:
    """A checkpoint read back from disk: its step, all its tensors and its JSON part."""

    directory: Path
    step: int
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]


def checkpoint_dir(out: Path) -> Path:
    return Path(out) / CHECKPOINT_DIR


def exists(out: Path) -> bool:
    return (checkpoint_dir(out) / JSON_FILE).is_file()


# -- RNG ------------------------------------------------------------------------------------------
def capture_rng(context: DistributedContext) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Every rank's torch (and CUDA) RNG state as tensors, and this rank's Python/NumPy states.

    Collective under DDP: every rank must call it.
    """
    tensors = {f"rng/torch/rank{r}": s for r, s in enumerate(gather_tensor(torch.get_rng_state(), context))}
    if context.device.type == "cuda":
        states = gather_tensor(torch.cuda.get_rng_state(context.device), context)
        tensors.update({f"rng/cuda/rank{r}": s for r, s in enumerate(states)})
    # Python's and NumPy's Mersenne-Twister keys (rank 0's) go to tensors, their small scalars to JSON.
    version, mt_state, gauss = random.getstate()
    kind, keys, position, has_gauss, cached = np.random.get_state(legacy=True)
    tensors["rng/python/state"] = torch.tensor(mt_state, dtype=torch.int64)
    tensors["rng/numpy/keys"] = torch.from_numpy(keys.astype(np.int64))
    json_part = {
        "python": [version, gauss],
        "numpy": [kind, int(position), int(has_gauss), float(cached)],
    }
    return tensors, json_part


def restore_rng(checkpoint: Checkpoint, context: DistributedContext) -> None:
    """Put this rank's RNG states back as they were when the checkpoint was taken."""
    torch_state = checkpoint.tensors.get(f"rng/torch/rank{context.rank}")
    if torch_state is not None:  # absent when resuming with more ranks than before: keep the fresh seed
        torch.set_rng_state(torch_state)
    cuda_state = checkpoint.tensors.get(f"rng/cuda/rank{context.rank}")
    if cuda_state is not None and context.device.type == "cuda":
        torch.cuda.set_rng_state(cuda_state, context.device)
    rng, tensors = checkpoint.meta.get("rng", {}), checkpoint.tensors
    if "python" in rng and "rng/python/state" in tensors:
        version, gauss = rng["python"]
        random.setstate((version, tuple(tensors["rng/python/state"].tolist()), gauss))
    if "numpy" in rng and "rng/numpy/keys" in tensors:
        kind, position, has_gauss, cached = rng["numpy"]
        keys = tensors["rng/numpy/keys"].numpy().astype(np.uint32)
        np.random.set_state((kind, keys, position, has_gauss, cached))


# -- optimisers -----------------------------------------------------------------------------------
def flatten_optimizer(name: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimiser's state dict into tensors (for safetensors) and JSON values."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"optimizer/{name}/{index}/{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalar_state": scalars}


def unflatten_optimizer(name: str, tensors: dict[str, torch.Tensor], meta: dict) -> dict[str, Any]:
    """The inverse of :func:`flatten_optimizer`: a state dict for ``optimizer.load_state_dict``."""
    prefix = f"optimizer/{name}/"
    state: dict[int, dict[str, Any]] = {}
    for key, tensor in tensors.items():
        if key.startswith(prefix):
            index, field = key[len(prefix):].split("/", 1)
            state.setdefault(int(index), {})[field] = tensor
    for index, values in meta["scalar_state"].items():
        state.setdefault(int(index), {}).update(values)
    # JSON turned tuples (betas) into lists; the parameter index lists stay lists.
    groups = [{k: (tuple(v) if isinstance(v, list) and k != "params" else v) for k, v in group.items()}
              for group in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


# -- whole checkpoints ----------------------------------------------------------------------------
def save_checkpoint(
    out: Path,
    step: int,
    model: nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    sampler: BatchSampler,
    context: DistributedContext,
    config: dict[str, Any],
    schedulers: dict[str, LRScheduler] | None = None,
    ema: nn.Module | None = None,
    model_settings: dict[str, Any] | None = None,
) -> Path | None:
    """Write ``out/checkpoint`` (rank 0 only; collective under DDP). Returns the folder on rank 0.

    ``ema`` is the run's :class:`~torch.optim.swa_utils.AveragedModel`, if it keeps one; ``model`` holds
    the raw (trained) weights. ``model_settings`` (:func:`condgen.train.resume.model_settings`) goes into
    the JSON as ``model``.
    """
    rng_tensors, rng_json = capture_rng(context)
    if not context.is_main:
        return None
    tensors = {f"model/{k}": v for k, v in model.state_dict().items()}
    meta: dict[str, Any] = {"format_version": FORMAT_VERSION, "step": step, "config": config,
                            "world_size": context.world_size, "rng": rng_json, "optimizers": {},
                            "sampler": sampler.state_dict(),
                            "schedulers": {name: s.state_dict() for name, s in (schedulers or {}).items()}}
    if model_settings is not None:
        meta["model"] = model_settings
    for name, optimizer in optimizers.items():
        opt_tensors, meta["optimizers"][name] = flatten_optimizer(name, optimizer)
        tensors.update(opt_tensors)
    if ema is not None:
        tensors.update({f"ema/{k}": v for k, v in ema.state_dict().items()})
    tensors.update(rng_tensors)
    tensors["sampler/state"] = torch.tensor([sampler.epoch, sampler.position], dtype=torch.int64)
    tensors["checkpoint/step"] = torch.tensor([step], dtype=torch.int64)
    directory = checkpoint_dir(out)
    _keep_previous_tensors(directory)
    atomic_save_tensors(directory / TENSORS_FILE, tensors)
    atomic_write_json(directory / JSON_FILE, meta)  # last: the commit marker
    (directory / PREVIOUS_TENSORS_FILE).unlink(missing_ok=True)
    return directory


def _keep_previous_tensors(directory: Path) -> None:
    """Keep the committed tensors as ``previous.safetensors`` until the next step's JSON is written."""
    current = directory / TENSORS_FILE
    if not current.is_file():
        return
    staged = directory / f".{PREVIOUS_TENSORS_FILE}.staged"
    staged.unlink(missing_ok=True)
    try:
        os.link(current, staged)  # no copy: the new tensors file replaces the name, not the data
    except OSError:
        shutil.copyfile(current, staged)
    os.replace(staged, directory / PREVIOUS_TENSORS_FILE)


def load_checkpoint(out: Path) -> Checkpoint:
    """Read ``out/checkpoint``; raises :class:`ArtifactError` if it is incomplete or corrupt."""
    directory = checkpoint_dir(out)
    meta = read_json(directory / JSON_FILE)
    if meta.get("format_version", 1) > FORMAT_VERSION:
        raise ArtifactError(f"{directory}: checkpoint format {meta['format_version']} is newer than this condgen "
                            f"reads ({FORMAT_VERSION}); upgrade condgen, or train into another --out")
    tensors = load_tensors(directory / TENSORS_FILE)
    if not _is_of_step(tensors, meta.get("step")) and (directory / PREVIOUS_TENSORS_FILE).is_file():
        tensors = load_tensors(directory / PREVIOUS_TENSORS_FILE)  # killed before the new JSON was written
    if not _is_of_step(tensors, meta.get("step")):
        raise ArtifactError(
            f"{directory}: {TENSORS_FILE} and {JSON_FILE} are from different steps (the run was killed while "
            "writing); delete the folder to start over, or train without --resume"
        )
    return Checkpoint(directory, int(meta["step"]), tensors, meta)


def _is_of_step(tensors: dict[str, torch.Tensor], step: object) -> bool:
    step_tensor = tensors.get("checkpoint/step")
    return step_tensor is not None and int(step_tensor[0]) == step


def restore(
    checkpoint: Checkpoint,
    model: nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    sampler: BatchSampler,
    context: DistributedContext,
    schedulers: dict[str, LRScheduler] | None = None,
    ema: nn.Module | None = None,
) -> None:
    """Load model, optimiser, scheduler, EMA, sampler and RNG states from ``checkpoint`` into the live
    objects (create the schedulers before: creating one overwrites its optimiser's lr)."""
    _load_prefixed(checkpoint, model, "model/", "the checkpoint is of a different model")
    saved = checkpoint.meta["optimizers"]
    if set(saved) != set(optimizers):
        raise ArtifactError(
            f"{checkpoint.directory}: checkpoint has optimiser groups {sorted(saved)} but the model has "
            f"{sorted(optimizers)}; train into another --out, or without --resume"
        )
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(unflatten_optimizer(name, checkpoint.tensors, saved[name]))
    _restore_schedulers(checkpoint, schedulers or {}, optimizers)
    if ema is not None:
        _load_prefixed(checkpoint, ema, "ema/", "the checkpoint holds no matching EMA weights")
    epoch, position = checkpoint.tensors["sampler/state"].tolist()
    sampler.load_state_dict({"epoch": epoch, "position": position})
    restore_rng(checkpoint, context)


def _restore_schedulers(checkpoint: Checkpoint, schedulers: dict[str, LRScheduler],
                        optimizers: dict[str, torch.optim.Optimizer]) -> None:
    saved = checkpoint.meta.get("schedulers") or {}
    for name, scheduler in schedulers.items():
        if name in saved:
            scheduler.load_state_dict(saved[name])
            continue
        # Format 1 ran at a constant lr without schedulers: continue the step counters from the checkpoint's
        # step (as if the scheduler had been there), and give the groups back the base lr that loading the
        # old param_groups dropped.
        state = scheduler.state_dict()
        state.update(last_epoch=checkpoint.step, _step_count=checkpoint.step + 1)
        scheduler.load_state_dict(state)
        for group, base_lr in zip(optimizers[name].param_groups, scheduler.base_lrs, strict=True):
            group.setdefault("initial_lr", base_lr)


def _load_prefixed(checkpoint: Checkpoint, module: nn.Module, prefix: str, problem: str) -> None:
    """Load the checkpoint tensors under ``prefix`` into ``module`` strictly; a mismatch is an ArtifactError."""
    state = {k[len(prefix):]: v for k, v in checkpoint.tensors.items() if k.startswith(prefix)}
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ArtifactError(f"{checkpoint.directory}: {problem} ({str(error).splitlines()[0]}); train into "
                            "another --out, or without --resume") from None
