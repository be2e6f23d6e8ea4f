"""The classifiers a counterfactual explains, behind one interface: examples in, class probabilities out.

* an **ONNX** file, run by ``onnxruntime`` (a portable format: nothing is unpickled). A table classifier takes the
  feature columns (all but the target) by name, one input per column — float for numeric columns, string for
  categorical ones, as ``skl2onnx`` converts a ``ColumnTransformer`` pipeline — or one float input ``[N, F]``
  when every feature column is numeric. An image classifier takes one float input ``[N, C, H, W]`` in [-1, 1].
  The probability output is the one named like ``probabilities`` / ``output_probability``, else the float output
  of shape ``[N, C]``; skl2onnx's ZipMap output (a list of ``{class: probability}``) names the classes too.
* a condgen **attribute classifier** directory (``condgen classifier train``) and one of its binary or
  categorical attributes: the probabilities of that attribute's values.
* in Python, any callable returning probabilities ``[N, C]`` of samples in network form. (For the gradient
  variant, pass a ``torch.nn.Module`` to :func:`condgen.apps.counterfactuals.find_counterfactuals` itself.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from condgen.errors import ConfigError, DataError, check_choice

#: Output names that hold class probabilities in converted models (skl2onnx, torch exports by convention).
PROBABILITY_NAMES = ("probabilities", "output_probability", "probability", "probs", "proba")


@dataclass
class ExplainedClassifier:
    """Calling it gives ``float64 [N, C]`` probabilities of samples in the modality's form; ``classes`` names the
    columns (learnt from the first call where only the output names them: ZipMap keys, else ``"0"``, ``"1"``, …).

    ``probabilities(samples)`` returns the array and, when the output names them, the class names.
    """

    probabilities: Callable[[object], tuple[np.ndarray, tuple[str, ...] | None]]
    classes: tuple[str, ...]
    description: str

    def __call__(self, samples) -> np.ndarray:
        array, names = self.probabilities(samples)
        if not self.classes:
            self.classes = names or tuple(str(i) for i in range(array.shape[1]))
        return array

    def class_index(self, name: str | int) -> int:
        """The column of class ``name`` (its name, or its index as text or number); a ConfigError names them."""
        if not self.classes:
            raise ConfigError("the classifier's classes are known after it has classified an example")
        text = str(name)
        if text in self.classes:
            return self.classes.index(text)
        if text.lstrip("-").isdigit() and 0 <= int(text) < len(self.classes):
            return int(text)
        raise ConfigError(f"unknown target class {text!r} of {self.description}; valid: "
                          f"{', '.join(self.classes)} (or their index 0..{len(self.classes) - 1})")


def load_classifier(spec, modality, attribute: str | None = None) -> ExplainedClassifier:
    """The classifier ``spec`` names for examples of ``modality``: an ``.onnx`` path, a condgen classifier
    directory (with ``attribute``, the one it explains), or a callable."""
    if isinstance(spec, ExplainedClassifier):
        return spec
    if callable(spec) and not isinstance(spec, str | Path):
        return python_classifier(spec, modality)
    path = Path(spec)
    if path.suffix.lower() == ".onnx":
        return onnx_classifier(path, modality)
    if path.is_dir() or not path.exists():
        return condgen_classifier(spec, attribute)
    raise ConfigError(f"{path}: a classifier is an .onnx file or a condgen classifier directory")


def python_classifier(function: Callable, modality) -> ExplainedClassifier:
    """A Python callable over samples in network form; its class count is learnt from its first call."""

    def probabilities(samples):
        with torch.no_grad():
            output = function(torch.as_tensor(samples))
        return _as_probabilities(output, "the classifier")

    return ExplainedClassifier(probabilities, (), "the given classifier")


def condgen_classifier(spec: str | Path, attribute: str | None) -> ExplainedClassifier:
    """A condgen attribute classifier's probabilities of one binary / categorical ``attribute`` (default: its
    only attribute)."""
    from condgen import load

    classifier = load(spec)
    if getattr(classifier, "kind", None) != "classifier":
        raise ConfigError(f"{spec}: not an attribute classifier (kind {getattr(classifier, 'kind', '?')}); "
                          "pass one from `condgen classifier train`, or an .onnx file")
    names = [a.name for a in classifier.schema if a.kind != "continuous"]
    if attribute is None:
        if len(names) != 1:
            raise ConfigError(f"{spec} predicts {', '.join(names)}: say which one to explain with --attribute")
        attribute = names[0]
    check_choice(attribute, names, "attribute to explain", owner=str(spec))
    kind = classifier.schema[attribute]
    classes = ("no", "yes") if kind.kind == "binary" else kind.categories

    def probabilities(samples):
        p = classifier.predict_proba(torch.as_tensor(samples))[attribute].double().cpu().numpy()
        return (np.stack([1 - p, p], axis=1) if p.ndim == 1 else p), None

    return ExplainedClassifier(probabilities, tuple(classes), f"{spec} ({attribute})")


def onnx_classifier(path: str | Path, modality) -> ExplainedClassifier:
    """An ONNX classifier of ``modality``'s examples (tables: columns by name or one float matrix; images)."""
    try:
        import onnxruntime
    except ImportError:
        raise ConfigError("ONNX classifiers need onnxruntime: pip install onnxruntime") from None
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: not found")
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own untyped errors for a corrupt file
        raise DataError(f"{path}: not a readable ONNX model ({str(error).splitlines()[0][:200]})") from None
    feeds = _feeder(session, modality, path)
    output = _probability_output(session, path)

    def probabilities(samples):
        return _as_probabilities(session.run([output], feeds(samples))[0], str(path))

    classes = _onnx_classes(session, output, modality, path)
    return ExplainedClassifier(probabilities, classes, str(path))


def _feeder(session, modality, path: Path) -> Callable[[object], dict[str, np.ndarray]]:
    inputs = session.get_inputs()
    if modality.name != "tables":
        if len(inputs) != 1:
            raise ConfigError(f"{path}: an image classifier takes one input, this one {len(inputs)}")
        name = inputs[0].name
        return lambda samples: {name: torch.as_tensor(samples).float().cpu().numpy()}
    features = list(modality.columns)
    if modality.target is not None and features[-1].name == modality.target:
        features = features[:-1]
    by_name = {i.name: i for i in inputs}
    if len(inputs) == 1 and inputs[0].name not in {c.name for c in features}:
        if any(c.kind == "categorical" for c in features):
            raise ConfigError(f"{path}: takes one input {inputs[0].name!r}, but the table has categorical columns; "
                              "export the classifier with one input per column (skl2onnx: initial_types by name)")
        name = inputs[0].name
        return lambda samples: {name: torch.as_tensor(samples)[:, :len(features)].float().cpu().numpy()}
    missing = [c.name for c in features if c.name not in by_name]
    extra = [name for name in by_name if name not in {c.name for c in features}]
    if missing or extra:
        raise ConfigError(f"{path}: its inputs do not match the table's feature columns (missing: "
                          f"{', '.join(missing) or 'none'}; not in the table: {', '.join(extra) or 'none'})")
    for column in features:
        wanted = "string" if column.kind == "categorical" else "float"
        if wanted not in by_name[column.name].type:
            raise ConfigError(f"{path}: input {column.name!r} is {by_name[column.name].type}; the table's "
                              f"{column.kind} column needs tensor({wanted})")

    def feeds(samples) -> dict[str, np.ndarray]:
        rows = torch.as_tensor(samples).double().cpu().numpy()
        fed = {}
        for j, column in enumerate(features):
            values = rows[:, j:j + 1]
            if column.kind == "categorical":
                index = np.clip(np.round(values), 0, len(column.categories) - 1).astype(int)
                fed[column.name] = np.asarray(column.categories, dtype=object)[index]
            else:
                fed[column.name] = values.astype(np.float32)
        return fed

    return feeds


def _probability_output(session, path: Path) -> str:
    outputs = session.get_outputs()
    for output in outputs:
        if output.name.lower() in PROBABILITY_NAMES:
            return output.name
    shaped = [o for o in outputs if o.type == "tensor(float)" and len(o.shape or ()) == 2]
    if len(shaped) == 1:
        return shaped[0].name
    raise ConfigError(f"{path}: cannot tell which output holds the class probabilities "
                      f"({', '.join(o.name for o in outputs)}); name it 'probabilities'")


def _onnx_classes(session, output: str, modality, path: Path) -> tuple[str, ...]:
    """Class names: ZipMap's keys, else the target column's categories when the count matches, else indices."""
    found = next(o for o in session.get_outputs() if o.name == output)
    if "map" in found.type:
        return ()  # the map's keys name them: learnt from the first result
    count = found.shape[1] if isinstance(found.shape[1], int) else None
    target = next((c for c in getattr(modality, "columns", ()) if c.name == getattr(modality, "target", None)), None)
    if target is not None and target.kind == "categorical" and count in (None, len(target.categories)):
        return target.categories
    if count is None:
        raise ConfigError(f"{path}: the probability output's class count is not fixed; export it as [N, C]")
    return tuple(str(i) for i in range(count))


def _as_probabilities(output, source: str) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """``[N, C]`` float64 (and the class names, if the output has them) from a tensor / array, or from ZipMap's
    list of ``{class: probability}``."""
    names = None
    if isinstance(output, list) and output and isinstance(output[0], dict):
        names = tuple(str(key) for key in output[0])
        output = [list(row.values()) for row in output]
    array = np.asarray(output.detach().cpu() if isinstance(output, torch.Tensor) else output, dtype=np.float64)
    if array.ndim == 1:  # a binary classifier's P(class 1)
        array = np.stack([1 - array, array], axis=1)
    if array.ndim != 2 or array.shape[1] < 2:
        raise DataError(f"{source}: returned {list(array.shape)}, not class probabilities [N, C]")
    if not np.allclose(array.sum(axis=1), 1.0, atol=1e-3) or (array < -1e-6).any():
        raise DataError(f"{source}: its output rows do not sum to 1; pass probabilities, not logits")
    return array, names

