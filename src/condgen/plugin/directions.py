"""InterFaceGAN-style baseline: one linear boundary per attribute in latent space, edits along its normal.

Per attribute a linear SVM (scikit-learn ``LinearSVC``) separates latents: binary attributes by
their labels, continuous ones by their extremes (top and bottom ``extreme_share`` of examples
sorted by value, as InterFaceGAN did with 2 %). The unit normal ``n`` and offset ``b`` give
the signed distance ``d(z) = n·z + b``. An edit moves z by the smallest step that brings the
changed attributes' distances to their targets while keeping the distances of ``keep``
attributes fixed — for one change this is InterFaceGAN's conditional edit (``n`` projected onto
the orthogonal complement of the kept normals, renormalised).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from condgen.data.dataset import LabeledDataset
from condgen.data.schema import AttributeSchema
from condgen.errors import ArtifactError, ConfigError, DataError
from condgen.io import WEIGHTS_FILE, atomic_save_tensors, load_tensors, read_config, write_config


class LatentDirections:
    """Fitted boundaries for the attributes of ``schema`` in a ``D``-dimensional latent space.

    Tensors (K = number of attributes): ``normals [K, D]`` (unit), ``offsets [K]``;
    ``reference [K]`` the median |distance| of the training latents (binary targets sit at ±it);
    ``slopes``/``intercepts [K]`` a linear fit ``standardised value ≈ slope·d + intercept``
    (continuous targets are mapped to distances through it). ``accuracy`` holds each SVM's
    accuracy on its held-out 30 %.
    """

    kind = "directions"
    def __init__(self, schema: AttributeSchema, tensors: Mapping[str, torch.Tensor],
                 accuracy: Mapping[str, float] | None = None, options: Mapping[str, Any] | None = None):
        self.schema = schema
        self.normals = tensors["normals"].float()
        self.offsets = tensors["offsets"].float()
        self.reference = tensors["reference"].float()
        self.slopes = tensors["slopes"].float()
        self.intercepts = tensors["intercepts"].float()
        self.accuracy = dict(accuracy or {})
        self.options = dict(options or {})
        self.data_spec: dict[str, Any] = {}

    @property
    def latent_dim(self) -> int:
        return int(self.normals.shape[1])

    @property
    def attributes(self) -> list[str]:
        return self.schema.names

    def distances(self, z: torch.Tensor) -> torch.Tensor:
        """Signed distances ``[B, K]`` of latents ``z [B, D]`` to every boundary."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise DataError(f"latents must have shape [B, {self.latent_dim}], got {list(z.shape)}")
        return z.float().cpu() @ self.normals.T + self.offsets

    def target_distance(self, name: str, value: float) -> float:
        """Distance that means "``name`` = ``value``": binary ±reference; continuous via the linear fit."""
        k = self.schema.index(name)
        attribute = self.schema[name]
        if attribute.kind == "binary":
            return float((2 * value - 1) * self.reference[k])
        if abs(float(self.slopes[k])) < 1e-8:
            raise ConfigError(f"{name}: its boundary does not track the value (slope 0); cannot target a value")
        return float((self.schema.standardize(name, value) - self.intercepts[k]) / self.slopes[k])

    def edit(self, z: torch.Tensor, changes: Mapping[str, Any], strength: float = 1.0,
             keep: Sequence[str] = ()) -> torch.Tensor:
        """Latents ``[B, D]`` moved so that each changed distance becomes ``d + strength·(d* − d)``.

        ``changes`` values are parsed by the schema (1/0, yes/no, numbers). Distances to the
        boundaries of ``keep`` stay fixed; the step is the minimum-norm one satisfying both.
        """
        targets = {name: self.schema.parse_value(name, value) for name, value in changes.items()}
        kept = [name for name in self.schema.validate_names(keep) if name not in targets]
        if not targets:
            return z.float().cpu().clone()
        current = self.distances(z)
        rows = [self.normals[self.schema.index(n)] for n in [*targets, *kept]]
        residuals = [strength * (self.target_distance(n, v) - current[:, self.schema.index(n)])
                     for n, v in targets.items()]
        residuals += [torch.zeros(z.shape[0]) for _ in kept]
        constraints = torch.stack(rows).double()  # [M, D]
        step = torch.stack(residuals, dim=1).double() @ torch.linalg.pinv(constraints, rtol=1e-6).T
        return (z.float().cpu().double() + step).float()

    def conditional_latents(self, n: int, conditions: Mapping[str, Any] | None = None, *,
                            generator: torch.Generator | None = None, base: torch.Tensor | None = None,
                            strength: float = 1.0, keep: Sequence[str] = ()) -> torch.Tensor:
        """``[n, D]``: ``base`` (default N(0, I) draws) edited to ``conditions`` (see :meth:`edit`)."""
        z = base if base is not None else torch.randn(n, self.latent_dim, generator=generator)
        return self.edit(z, conditions or {}, strength, keep)

    def predict_values(self, z: torch.Tensor) -> torch.Tensor:
        """``[B, K]`` in schema encoding: binary 1 on the positive side; continuous from the linear fit."""
        d = self.distances(z)
        columns = []
        for k, attribute in enumerate(self.schema):
            if attribute.kind == "binary":
                columns.append((d[:, k] > 0).float())
            else:
                columns.append((self.slopes[k] * d[:, k] + self.intercepts[k]) * attribute.std + attribute.mean)
        return torch.stack(columns, dim=1)

    # -- artifact ---------------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write ``config.json`` + ``model.safetensors`` to ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        atomic_save_tensors(directory / WEIGHTS_FILE, {
            "normals": self.normals, "offsets": self.offsets, "reference": self.reference,
            "slopes": self.slopes, "intercepts": self.intercepts})
        write_config(directory, self.kind, {"attributes": self.schema.to_dict(), "accuracy": self.accuracy,
                                            "options": self.options, "data": self.data_spec})
        return directory

    @classmethod
    def from_artifact(cls, directory: Path, body: dict[str, Any]) -> LatentDirections:
        try:
            schema = AttributeSchema.from_dict(body["attributes"])
        except (KeyError, TypeError, DataError) as error:
            raise ArtifactError(f"{directory}: config.json does not describe directions ({error})") from None
        tensors = load_tensors(Path(directory) / WEIGHTS_FILE)
        missing = {"normals", "offsets", "reference", "slopes", "intercepts"} - set(tensors)
        if missing:
            raise ArtifactError(f"{directory}: weights lack {sorted(missing)}; the file is corrupt")
        directions = cls(schema, tensors, body.get("accuracy"), body.get("options"))
        directions.data_spec = dict(body.get("data", {}))
        return directions

    @classmethod
    def load(cls, directory: str | Path) -> LatentDirections:
        config = read_config(Path(directory))
        if config["kind"] != cls.kind:
            raise ArtifactError(f"{directory}: holds a {config['kind']!r}, not latent directions")
        return cls.from_artifact(Path(directory), config)


def fit_directions(latents: LabeledDataset, attributes: Sequence[str] | None = None, extreme_share: float = 0.02,
                   min_per_side: int = 100, validation_share: float = 0.3, svm_c: float = 1.0,
                   seed: int = 0) -> LatentDirections:
    """Fit one boundary per attribute on latents ``latents.data [N, D]`` with labels ``latents.attributes``.

    Continuous attributes use the ``max(min_per_side, extreme_share·N)`` highest-valued examples
    as positives and as many lowest-valued as negatives; binary ones their labels (missing rows
    skipped). Each SVM is trained on a random 70 % (``1 − validation_share``) and scored on the rest.
    Categorical attributes are not supported (use the plugin).
    """
    from sklearn.svm import LinearSVC  # imported here: scikit-learn takes seconds to import

    names = list(attributes) if attributes is not None else latents.schema.names
    latents = latents.select_attributes(names)
    z = latents.data.double().numpy()
    rng = np.random.default_rng(seed)
    normals, offsets, reference, slopes, intercepts, accuracy = [], [], [], [], [], {}
    for k, attribute in enumerate(latents.schema):
        values = latents.attributes[:, k].double().numpy()
        rows = np.flatnonzero(~np.isnan(values))
        if attribute.kind == "categorical":
            raise ConfigError(f"{attribute.name}: latent directions support binary and continuous attributes only")
        if attribute.kind == "binary":
            chosen, labels = rows, values[rows].astype(int)
        else:
            order = rows[np.argsort(values[rows], kind="stable")]
            per_side = min(max(min_per_side, int(round(extreme_share * len(order)))), len(order) // 2)
            chosen = np.concatenate([order[:per_side], order[len(order) - per_side:]])
            labels = np.concatenate([np.zeros(per_side, int), np.ones(per_side, int)])
        if len(np.unique(labels)) < 2:
            raise DataError(f"{attribute.name}: needs labelled examples of both sides to fit a boundary")
        shuffled = rng.permutation(len(chosen))
        cut = int(round((1 - validation_share) * len(chosen)))
        train, held_out = shuffled[:cut], shuffled[cut:]
        svm = LinearSVC(C=svm_c, dual="auto", max_iter=20_000).fit(z[chosen[train]], labels[train])
        accuracy[attribute.name] = float(svm.score(z[chosen[held_out]], labels[held_out])) if len(held_out) else 1.0
        norm = np.linalg.norm(svm.coef_[0])
        normal, offset = svm.coef_[0] / norm, float(svm.intercept_[0]) / norm
        distance = z[rows] @ normal + offset
        reference.append(float(np.median(np.abs(distance))))
        standardised = (values[rows] - attribute.mean) / attribute.std
        slope, intercept = np.polyfit(distance, standardised, 1) if attribute.kind == "continuous" else (1.0, 0.0)
        normals.append(normal)
        offsets.append(offset)
        slopes.append(float(slope))
        intercepts.append(float(intercept))
    tensors = {"normals": torch.tensor(np.stack(normals)), "offsets": torch.tensor(offsets),
               "reference": torch.tensor(reference), "slopes": torch.tensor(slopes),
               "intercepts": torch.tensor(intercepts)}
    options = {"extreme_share": extreme_share, "min_per_side": min_per_side, "svm_c": svm_c, "seed": seed}
    directions = LatentDirections(latents.schema, tensors, accuracy, options)
    directions.data_spec = dict(latents.spec)
    return directions
