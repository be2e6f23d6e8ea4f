"""The in-memory labelled data set every loader returns and every model trains on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from condgen.data.kinds import with_kinds
from condgen.data.modality import MODALITIES, Modality, make_modality
from condgen.data.schema import AttributeSchema
from condgen.errors import DataError

#: How each modality's examples are stored in ``LabeledDataset.data``.
STORAGE = {"images": "uint8 (or float) [N, C, H, W]", "vectors": "float [N, D]", "smiles": "int64 token ids [N, L]",
           "tables": "float [N, C] (numbers, category indices)"}


def _stored_as(modality: str, data: torch.Tensor) -> bool:
    if modality == "images":
        return data.ndim == 4
    if modality in ("vectors", "tables"):
        return data.ndim == 2 and data.dtype.is_floating_point
    return data.ndim == 2 and not data.dtype.is_floating_point and data.dtype != torch.uint8


@dataclass
class LabeledDataset:
    """Examples with attribute labels.

    Attributes:
        data: images as ``uint8 [N, C, H, W]`` (0…255), vectors as ``float32 [N, D]``, or token
            sequences as ``int64 [N, L]`` (SMILES, see :mod:`condgen.data.molecules`).
        attributes: ``float32 [N, K]`` in the encoding of :mod:`condgen.data.schema` (NaN = missing).
        schema: describes the K attribute columns; statistics fitted on this data.
        spec: how to rebuild the data set (``{"name": "faces", "size": 32, ...}``), stored in artifacts;
            ``spec["modality"]`` says what the examples are (``images``, ``vectors`` or ``smiles``; the
            latter with the vocabulary ``tokens`` and ``max_length``), see :mod:`condgen.data.modality`.
    """

    data: torch.Tensor
    attributes: torch.Tensor
    schema: AttributeSchema
    spec: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.data.shape[0] != self.attributes.shape[0]:
            raise DataError(
                f"{self.name}: {self.data.shape[0]} examples but {self.attributes.shape[0]} label rows"
            )
        if self.attributes.ndim != 2 or self.attributes.shape[1] != len(self.schema):
            raise DataError(f"{self.name}: attributes must be [N, {len(self.schema)}]")
        self.attributes = self.attributes.float()
        name = self.spec.get("modality")
        if name not in MODALITIES:
            raise DataError(f"{self.name}: spec['modality'] must say what the examples are ({', '.join(MODALITIES)}),"
                            f" got {name!r}")
        if not _stored_as(name, self.data):
            raise DataError(f"{self.name}: {name} are stored as {STORAGE[name]}, got {self.data.dtype} "
                            f"{list(self.data.shape)}")
        self._modality = make_modality(name, shape=tuple(self.data.shape[1:]), tokens=self.spec.get("tokens"),
                                       max_length=self.spec.get("max_length"), columns=self.spec.get("columns"),
                                       target=self.spec.get("target"))

    @property
    def name(self) -> str:
        return str(self.spec.get("name", "dataset"))

    def __len__(self) -> int:
        return self.data.shape[0]

    def __repr__(self) -> str:
        """``LabeledDataset('faces': 96 images [3, 32, 32]; smiling (binary), …)`` — never the tensors."""
        attributes = ", ".join(f"{a.name} ({a.kind})" for a in self.schema) or "no attributes"
        return (f"LabeledDataset({self.name!r}: {len(self)} {self._modality.name} {list(self.example_shape)}; "
                f"{attributes})")

    @property
    def modality(self) -> Modality:
        """What the examples are (:mod:`condgen.data.modality`), from ``spec["modality"]``."""
        return self._modality

    @property
    def example_shape(self) -> tuple[int, ...]:
        """``(C, H, W)`` for images, ``(D,)`` for vectors, ``(L,)`` for token ids."""
        return tuple(self.data.shape[1:])

    def examples(self, indices: torch.Tensor | slice | None = None) -> torch.Tensor:
        """Examples ready for a network: images scaled to ``[-1, 1]``, vectors as stored (float), token
        ids as ``int64``."""
        return self._modality.to_network(self.data if indices is None else self.data[indices])

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, attributes)`` for the given row indices."""
        return self.examples(indices), self.attributes[indices]

    def subset(self, indices: torch.Tensor) -> LabeledDataset:
        return LabeledDataset(self.data[indices], self.attributes[indices], self.schema, dict(self.spec))

    def split(self, fraction: float = 0.9, seed: int = 0) -> tuple[LabeledDataset, LabeledDataset]:
        """A deterministic (train, held-out) split."""
        order = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))
        cut = int(round(fraction * len(self)))
        return self.subset(order[:cut]), self.subset(order[cut:])

    def select_attributes(self, names: list[str]) -> LabeledDataset:
        columns = self.schema.columns(names)
        return LabeledDataset(self.data, self.attributes[:, columns], self.schema.subset(names), dict(self.spec))

    def with_kinds(self, kinds: dict[str, str]) -> LabeledDataset:
        """The data set with the attributes of ``kinds`` (``{"label": "continuous"}``) converted to those kinds
        (:func:`condgen.data.kinds.convert_kind`); ``spec["kinds"]`` records it so the data set rebuilds so."""
        if not kinds:
            return self
        schema, values = with_kinds(self.schema, self.attributes, kinds)
        return LabeledDataset(self.data, values, schema, {**self.spec, "kinds": dict(kinds)})


def spec_with_options(spec: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """A data spec with reader ``options`` added (as :func:`condgen.data.load_from_spec` reads it); ``kinds``
    add to the spec's own instead of replacing them."""
    merged = {**spec, **options}
    if "kinds" in options:
        merged["kinds"] = {**spec.get("kinds", {}), **options["kinds"]}
    return merged


def images_to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Map network outputs in ``[-1, 1]`` back to ``uint8`` images."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
