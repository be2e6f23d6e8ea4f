"""The evaluation protocol for attribute control, the same for the plugin and every baseline.

An independent oracle (an attribute classifier trained on real images, with another seed and
architecture than any classifier used for labelling) judges:

* **conditional generation** — for each evaluated binary/categorical attribute and each of its
  values, ``n_generate`` samples are drawn with only that attribute set; accuracy = share the oracle
  sees with the requested value (mean over values, then over attributes);
* **editing** — ``n_edit`` held-out real images; for each attribute every image is edited to the
  opposite of its true label; success = share the oracle sees the target; preservation = share of
  the *other* binary/categorical oracle attributes it sees unchanged relative to the original image;
  change = mean absolute pixel change on [-1, 1];
* **realism** — FID (torchmetrics) between held-out real images and all generated (or all edited)
  images, on the oracle's penultimate-layer features;
* **continuous attributes** (:func:`evaluate_continuous`) — ``n_generate`` samples at each of the
  attribute's mean − std, mean and mean + std; the oracle's reading gives the MAE to the target, the share
  within half a standard deviation, and the correlation of readings with targets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import mean
from typing import Any

import torch

from condgen.data.dataset import LabeledDataset
from condgen.errors import ConfigError
from condgen.evaluation.methods import take
from condgen.metrics.attributes import change_size, edit_success, preservation
from condgen.metrics.fid import domain_fid
from condgen.progress import ProgressBar


def attribute_values(schema, name: str) -> list[float]:
    """The values an attribute is evaluated at: both classes of a binary one, every category."""
    attribute = schema[name]
    if attribute.kind == "binary":
        return [0.0, 1.0]
    if attribute.kind == "categorical":
        return [float(i) for i in range(len(attribute.categories))]
    raise ConfigError(f"{name} is continuous; the evaluation covers binary and categorical attributes")


def evaluate_method(method, test: LabeledDataset, oracle, attributes: Sequence[str], *,
                    n_generate: int = 250, n_edit: int = 300, n_real: int = 2000, seed: int = 0,
                    progress: bool = False, label: str = "method") -> dict[str, Any]:
    """Conditional accuracy, edit success/preservation/change and FIDs of one method (see module doc);
    ``progress``: a bar ``judging <label>`` over generating and editing each attribute, then the FIDs."""
    generator = torch.Generator().manual_seed(seed)
    real = test.examples(slice(0, min(n_real, len(test))))
    with ProgressBar(2 * len(attributes) + 1, 0, progress, description=f"judging {label}") as bar:
        return _scores(method, test, oracle, attributes, n_generate, n_edit, real, generator, bar)


def _scores(method, test: LabeledDataset, oracle, attributes: Sequence[str], n_generate: int, n_edit: int,
           real: torch.Tensor, generator: torch.Generator, bar: ProgressBar) -> dict[str, Any]:
    schema, done = oracle.schema, 0
    accuracy, generated = {}, []
    for name in attributes:
        bar.update(done, note=f"generating {name}")
        column, hits = schema.index(name), []
        for value in attribute_values(schema, name):
            images = method.generate({name: value}, n_generate, generator)
            generated.append(images)
            hits.append(float((oracle.predict_values(images)[:, column] == value).float().mean()))
        accuracy[name] = mean(hits)
        done += 1
    generated = torch.cat(generated)

    x, labels = test.batch(torch.arange(min(n_edit, len(test))))
    test_schema = test.schema
    before = oracle.predict_values(x)
    state = method.prepare(x, labels[:, [test_schema.index(a) for a in method_attributes(method, attributes)]])
    success, kept, change, edited_all = {}, {}, {}, []
    for name in attributes:
        bar.update(done, note=f"editing {name}")
        truth = labels[:, test_schema.index(name)] if name in test_schema else before[:, schema.index(name)]
        truth = torch.where(torch.isnan(truth), before[:, schema.index(name)], truth)
        edited = torch.empty_like(x)
        targets = 1.0 - truth  # binary flip; categorical edits go to the next category
        if schema[name].kind == "categorical":
            targets = (truth + 1) % len(schema[name].categories)
        for value in targets.unique().tolist():
            rows = (targets == value).nonzero().squeeze(1)
            edited[rows] = method.edit(take(state, rows), {name: value})
        after = oracle.predict_values(edited)
        success[name] = edit_success(after, targets, schema.index(name))
        kept[name] = preservation(before, after, [schema.index(name)], schema)
        change[name] = change_size(x, edited)
        edited_all.append(edited)
        done += 1
    bar.update(done, note="FIDs on the oracle's features")
    report = {
        "conditional": {
            "accuracy": accuracy,
            "mean_accuracy": mean(accuracy.values()),
            "fid": domain_fid(real, generated, oracle),
            "n_per_value": n_generate,
        },
        "edit": {
            "success": success,
            "mean_success": mean(success.values()),
            "preservation": _nanmean(kept.values()),
            "preservation_per_attribute": kept,
            "change_l1": change,
            "fid": domain_fid(real, torch.cat(edited_all), oracle),
            "n_images": int(x.shape[0]),
        },
    }
    bar.update(done + 1, note="")
    return report


def evaluate_continuous(method, oracle, attributes: Sequence[str], *, n_generate: int = 250,
                        seed: int = 0, progress: bool = False, label: str = "method") -> dict[str, dict[str, float]]:
    """Per continuous attribute (see the module docstring): ``{"mae", "within_half_std", "correlation",
    "targets", "mean_reading"}``; MAE and targets on the attribute's raw scale. ``progress``: a bar over them."""
    generator = torch.Generator().manual_seed(seed)
    schema, report = oracle.schema, {}
    with ProgressBar(len(attributes), 0, progress, description=f"judging {label} (continuous)") as bar:
        for done, name in enumerate(attributes):
            bar.update(done, note=f"generating {name} at mean and ± 1 std")
            attribute, column = schema[name], schema.index(name)
            targets = [attribute.mean + offset * attribute.std for offset in (-1.0, 0.0, 1.0)]
            read = torch.cat([oracle.predict_values(method.generate({name: target}, n_generate, generator))[:, column]
                              for target in targets]).double()
            asked = torch.tensor(targets, dtype=torch.float64).repeat_interleave(n_generate)
            error = (read - asked).abs()
            report[name] = {"mae": float(error.mean()),
                            "within_half_std": float((error <= 0.5 * attribute.std).double().mean()),
                            "correlation": float(torch.corrcoef(torch.stack([asked, read]))[0, 1]),
                            "targets": targets, "mean_reading": [float(r.mean()) for r in read.chunk(3)]}
    return report


def discrete_and_continuous(schema, attributes: Sequence[str]) -> tuple[list[str], list[str]]:
    """``attributes`` split into the binary/categorical ones and the continuous ones."""
    discrete = [name for name in attributes if schema[name].kind != "continuous"]
    return discrete, [name for name in attributes if name not in discrete]


def method_attributes(method, attributes: Sequence[str]) -> list[str]:
    """The label columns a method's ``prepare`` expects: a conditional model's own schema, else ours."""
    schema = getattr(method, "schema", None)
    return schema.names if schema is not None else list(attributes)


def oracle_accuracy(oracle, test: LabeledDataset) -> dict[str, float]:
    """Held-out accuracy of the oracle per binary/categorical attribute (reported with every result)."""
    report = oracle.evaluate(test)
    return {name: float(value) for name, value in report.items() if not isinstance(value, Mapping)}


def _nanmean(values) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return mean(finite) if finite else float("nan")
