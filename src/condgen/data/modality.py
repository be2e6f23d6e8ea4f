"""What a model's examples are — images, vectors, SMILES, tables — as one small contract.

A :class:`Modality` is named in a data set's spec (``spec["modality"]``) and so in the config of every
model trained on it. It knows how stored examples become network inputs, what a decoded batch is to a
user (a tensor of images, a list of SMILES strings), how to read a user's example file, how to write
samples (PNG grid, ``.csv`` / ``.npy``, ``.smi``, a table's CSV) and comparisons (original / reconstruction / edit), and
how to measure attributes of samples (RDKit for molecular properties, a given attribute classifier for
the rest). Commands ask the modality; they never guess it from a tensor's rank.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from condgen.data.table_columns import TableColumn, parse_rows, write_table
from condgen.errors import ConfigError, DataError
from condgen.io import atomic_write_bytes, atomic_write_csv

MODALITIES = ("images", "vectors", "smiles", "tables")
#: What a modality's samples are for a user: a tensor, or (SMILES) a list of strings.
Samples = torch.Tensor | list[str]


class Modality:
    """The contract; see the module docstring. Subclasses are small frozen dataclasses."""

    name: ClassVar[str] = ""
    #: suffixes of the sample files it writes; the first is the default
    suffixes: ClassVar[tuple[str, ...]] = ()
    #: the file of a comparison (:meth:`write_comparison`): a PNG figure for images, a CSV table otherwise
    comparison_suffix: ClassVar[str] = ".csv"

    def to_network(self, stored: torch.Tensor) -> torch.Tensor:
        """Stored examples (``LabeledDataset.data`` rows) → the input form of networks."""
        return stored.float()

    def outputs(self, decoded: torch.Tensor) -> Samples:
        """A decoded batch → what a user gets (a tensor here; SMILES strings for molecules)."""
        return decoded.detach().cpu()

    def concatenate(self, parts: Sequence[Samples]) -> Samples:
        """Join batches of :meth:`outputs`."""
        return torch.cat(list(parts))

    def check_path(self, path: str | Path) -> Path:
        """``path`` if its suffix is one this modality writes; else a one-line ConfigError."""
        path = Path(path)
        if path.exists() and not path.is_file():  # /dev/null, a named pipe: written as the default format
            return path
        if path.suffix.lower() not in self.suffixes:
            raise ConfigError(f"{path}: {self.name} are written as {' or '.join(self.suffixes)}; "
                              f"choose an --out ending in {self.suffixes[0]}")
        return path

    def check_comparison_path(self, path: str | Path) -> Path:
        """``path`` if it ends in :attr:`comparison_suffix` (or is a device or pipe); else a one-line ConfigError."""
        path = Path(path)
        if path.suffix.lower() != self.comparison_suffix and not (path.exists() and not path.is_file()):
            what = "a PNG figure" if self.comparison_suffix == ".png" else "a CSV table"
            raise ConfigError(f"{path}: a comparison of {self.name} is {what}; use --out NAME{self.comparison_suffix}")
        return path

    def write(self, samples: Samples, path: str | Path, *, nrow: int | None = None) -> Path:
        """Write samples to ``path`` (atomically); the suffix picks the format."""
        raise NotImplementedError

    def write_samples(self, samples: Samples, path: str | Path) -> list[Path]:
        """What ``condgen sample`` / ``generate`` write for ``--out path``: the file :meth:`write` makes, and any
        picture shown alongside it (2-D vectors: a scatter plot); returns the paths written."""
        return [self.write(samples, path)]

    def write_comparison(self, columns: Mapping[str, Samples], path: str | Path) -> Path:
        """One row per example, one column per title (e.g. original, reconstruction, each edit)."""
        raise NotImplementedError

    def read(self, path: str | Path) -> torch.Tensor:
        """A user's example file → examples in network form ``[B, …]``."""
        raise NotImplementedError

    def transfer_edit(self, original: Samples, reconstruction: Samples, edited: Samples,
                      keep: Sequence[str] = (), set_parts: Sequence[Sequence[str]] | None = None) -> Samples:
        """``original`` moved by what an edit changed in the decoding (``edited − reconstruction``), so that what
        the edit leaves alone stays as the original has it: rows of each ``[B, …]`` in :meth:`outputs`' form.
        ``keep``: parts that must not move at all (a table's frozen columns); ``set_parts``: per row, the parts
        the edit sets (a table's columns of the attributes changed), which always move."""
        original, reconstruction, edited = (torch.as_tensor(x) for x in (original, reconstruction, edited))
        return original.to(edited) + edited - reconstruction.to(edited)

    def measure(self, samples: Samples, names: Sequence[str], classifier=None) -> dict[str, np.ndarray]:
        """Attribute ``names`` of ``samples``: ``{name: float64 [N]}`` (NaN where unmeasurable). Without a
        built-in measure the attribute classifier ``classifier`` (``predict_values``, ``schema``) is used."""
        if classifier is None:
            raise ConfigError(f"measuring {', '.join(names)} of {self.name} needs an attribute classifier that "
                              "predicts them (--classifier DIR; train one with `condgen classifier train`)")
        x = samples if isinstance(samples, torch.Tensor) else torch.as_tensor(samples)
        columns = classifier.schema.columns(list(names))
        values = classifier.predict_values(x)[:, columns].double().cpu().numpy()
        return {name: values[:, i] for i, name in enumerate(names)}

    def spec(self) -> dict[str, Any]:
        """What a data spec records of the modality."""
        return {"modality": self.name}

    def loader_options(self) -> dict[str, Any]:
        """Options of :func:`condgen.data.load_dataset` that give a model of this modality data it can take
        (images resized to its side, SMILES in its vocabulary)."""
        return {}


@dataclass(frozen=True)
class ImageModality(Modality):
    """Images ``[N, C, H, W]``: stored as uint8 0…255, networks see ``[-1, 1]``."""

    shape: tuple[int, int, int]
    name: ClassVar[str] = "images"
    suffixes: ClassVar[tuple[str, ...]] = (".png", ".npy")
    comparison_suffix: ClassVar[str] = ".png"

    def to_network(self, stored: torch.Tensor) -> torch.Tensor:
        return stored.float() / 127.5 - 1.0 if stored.dtype == torch.uint8 else stored.float()

    def loader_options(self) -> dict[str, Any]:
        _, height, width = self.shape
        return {"size": height} if height == width else {}

    def transfer_edit(self, original: Samples, reconstruction: Samples, edited: Samples,
                      keep: Sequence[str] = (), set_parts: Sequence[Sequence[str]] | None = None) -> Samples:
        return super().transfer_edit(original, reconstruction, edited).clamp(-1.0, 1.0)

    def write(self, samples: Samples, path: str | Path, *, nrow: int | None = None) -> Path:
        from condgen.viz import save_grid, to_uint8_hwc

        path = self.check_path(path)
        if path.suffix.lower() == ".npy":  # uint8 [N, C, H, W], as data sets store images
            return _write_npy(to_uint8_hwc(samples).transpose(0, 3, 1, 2)[:, : self.shape[0]], path)
        return save_grid(samples, path, nrow=nrow)

    def write_comparison(self, columns: Mapping[str, Samples], path: str | Path) -> Path:
        from condgen.viz import save_labeled_rows

        path = self.check_comparison_path(path)
        parts = [torch.as_tensor(column) for column in columns.values()]
        rows = [torch.stack([part[i] for part in parts]) for i in range(parts[0].shape[0])]
        return save_labeled_rows(rows, list(columns), path)

    def read(self, path: str | Path) -> torch.Tensor:
        """One image file as ``[1, C, H, W]`` in [-1, 1]; a size other than the model's is an error."""
        from PIL import Image, UnidentifiedImageError

        path = Path(path)
        channels, height, width = self.shape
        try:
            with Image.open(path) as image:
                pixels = np.array(image.convert("RGB" if channels == 3 else "L"), dtype=np.uint8)
        except (OSError, UnidentifiedImageError) as error:
            raise DataError(f"{path}: not a readable image ({error})") from None
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        if pixels.shape[:2] != (height, width):
            raise DataError(f"{path}: image is {pixels.shape[1]}x{pixels.shape[0]}, the model expects "
                            f"{width}x{height}; resize it first")
        return self.to_network(torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0).contiguous())


@dataclass(frozen=True)
class VectorModality(Modality):
    """Rows of numbers ``[N, D]`` (toy sets, latents, tables), stored and seen as float."""

    dim: int
    name: ClassVar[str] = "vectors"
    #: ``.png`` is a scatter plot, for 2-D vectors only
    suffixes: ClassVar[tuple[str, ...]] = (".csv", ".npy", ".png")

    def check_path(self, path: str | Path) -> Path:
        path = super().check_path(path)
        if path.suffix.lower() == ".png" and self.dim != 2:
            raise ConfigError(f"{path}: a PNG scatter plot shows 2-D vectors, these have {self.dim} numbers; "
                              "choose an --out ending in .csv or .npy")
        return path

    def write(self, samples: Samples, path: str | Path, *, nrow: int | None = None) -> Path:
        path = self.check_path(path)
        array = torch.as_tensor(samples).detach().cpu().double().numpy()
        if path.suffix.lower() == ".png":
            from condgen.viz import save_scatter

            return save_scatter(array, path)
        if path.suffix.lower() == ".npy":
            return _write_npy(array, path)
        return atomic_write_csv(path, [f"x{j}" for j in range(array.shape[1])], array.tolist())

    def write_samples(self, samples: Samples, path: str | Path) -> list[Path]:
        """The table (or plot) at ``path``; for 2-D vectors written as ``.csv`` / ``.npy``, also their scatter
        plot next to it (``x.csv`` → ``x.png``), so the samples can be looked at as well as read."""
        written = [self.write(samples, path)]
        path = Path(path)
        if self.dim == 2 and path.suffix.lower() in (".csv", ".npy") and path.is_file():  # not a device or pipe
            written.append(self.write(samples, path.with_suffix(".png")))
        return written

    def write_comparison(self, columns: Mapping[str, Samples], path: str | Path) -> Path:
        path = self.check_comparison_path(path)
        parts = [torch.as_tensor(column).double().cpu().numpy() for column in columns.values()]
        header = [f"{title}:x{j}" for title, part in zip(columns, parts, strict=True) for j in range(part.shape[1])]
        return atomic_write_csv(path, header, np.concatenate(parts, axis=1).tolist())

    def read(self, path: str | Path) -> torch.Tensor:
        """Rows of a ``.npy`` array or of a ``.csv`` of numbers (an optional header) as ``[B, D]``."""
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: not found")
        try:
            if path.suffix.lower() == ".npy":
                array = np.load(path, allow_pickle=False)
            else:
                rows = list(csv.reader(path.read_text().splitlines()))
                if rows and not _is_number(rows[0][0]):
                    rows = rows[1:]
                array = np.asarray(rows, dtype=np.float64)
        except (OSError, ValueError) as error:
            raise DataError(f"{path}: not a table of numbers ({str(error).splitlines()[0]})") from None
        array = np.atleast_2d(array)
        if array.ndim != 2 or array.shape[1] != self.dim:
            raise DataError(f"{path}: rows of {array.shape[-1]} numbers, the model expects {self.dim}")
        return torch.from_numpy(array).float()


@dataclass(frozen=True)
class SmilesModality(Modality):
    """Molecules as SMILES: stored and seen by networks as token ids ``int64 [N, L]`` of the vocabulary
    ``tokens``; users get strings. Molecular properties are measured by RDKit."""

    tokens: tuple[str, ...]
    max_length: int
    name: ClassVar[str] = "smiles"
    suffixes: ClassVar[tuple[str, ...]] = (".smi", ".txt")

    @property
    def vocabulary(self):
        from condgen.data.smiles import Vocabulary

        return Vocabulary(tuple(self.tokens))

    def to_network(self, stored: torch.Tensor) -> torch.Tensor:
        return stored.long()

    def outputs(self, decoded: torch.Tensor) -> list[str]:
        return self.vocabulary.decode_batch(decoded.detach().cpu().numpy())

    def concatenate(self, parts: Sequence[Samples]) -> list[str]:
        return [smiles for part in parts for smiles in part]

    def transfer_edit(self, original: Samples, reconstruction: Samples, edited: Samples,
                      keep: Sequence[str] = (), set_parts: Sequence[Sequence[str]] | None = None) -> Samples:
        raise ConfigError("a molecule cannot be moved by a difference of decodings; its edit is the decoding itself")

    def write(self, samples: Samples, path: str | Path, *, nrow: int | None = None) -> Path:
        """One SMILES per line, invalid ones included (validity is part of the result)."""
        path = self.check_path(path)
        smiles = samples if isinstance(samples, list) else self.outputs(samples)
        atomic_write_bytes(path, "".join(f"{s}\n" for s in smiles).encode())
        return path

    def write_comparison(self, columns: Mapping[str, Samples], path: str | Path) -> Path:
        path = self.check_comparison_path(path)
        strings = [column if isinstance(column, list) else self.outputs(column) for column in columns.values()]
        return atomic_write_csv(path, list(columns), [list(row) for row in zip(*strings, strict=True)])

    def read(self, path: str | Path) -> torch.Tensor:
        """The SMILES of a ``.smi`` / ``.txt`` / ``.csv`` file as token ids ``[B, max_length]``; an
        invalid SMILES or a token outside the vocabulary is an error naming it."""
        from condgen.data.smiles import read_smiles_file

        smiles = read_smiles_file(path, skip_invalid=False)
        if not smiles:
            raise DataError(f"{path}: holds no SMILES")
        return torch.from_numpy(self.vocabulary.encode_batch(smiles, self.max_length))

    def measure(self, samples: Samples, names: Sequence[str], classifier=None) -> dict[str, np.ndarray]:
        from condgen.data.molecules import MOLECULE_PROPERTIES, property_values

        unknown = [name for name in names if name not in MOLECULE_PROPERTIES]
        if unknown:
            raise ConfigError(f"condgen measures only the built-in molecular properties "
                              f"{', '.join(MOLECULE_PROPERTIES)}; {', '.join(unknown)} is not one")
        smiles = samples if isinstance(samples, list) else self.outputs(samples)
        return property_values(smiles, list(names))

    def spec(self) -> dict[str, Any]:
        return {"modality": self.name, "tokens": list(self.tokens), "max_length": int(self.max_length)}

    def loader_options(self) -> dict[str, Any]:
        return {"tokens": list(self.tokens), "max_length": int(self.max_length)}


@dataclass(frozen=True)
class TableModality(Modality):
    """Rows of a table (:mod:`condgen.data.tables`): stored and seen by networks as ``float [N, C]`` — numbers,
    category indices — and written as a CSV in the table's own column names and values. An attribute that is
    a column of the table is measured by reading that column."""

    columns: tuple[TableColumn, ...]
    target: str | None = None
    name: ClassVar[str] = "tables"
    suffixes: ClassVar[tuple[str, ...]] = (".csv",)

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def write(self, samples: Samples, path: str | Path, *, nrow: int | None = None) -> Path:
        return write_table(self.columns, torch.as_tensor(samples), self.check_path(path))

    def write_comparison(self, columns: Mapping[str, Samples], path: str | Path) -> Path:
        """One line per example and version (``example``, ``version``: original / reconstruction / an edit)."""
        path = self.check_comparison_path(path)
        parts = {title: torch.as_tensor(rows) for title, rows in columns.items()}
        n = next(iter(parts.values())).shape[0]
        order = [(i, title) for i in range(n) for title in parts]
        rows = torch.stack([parts[title][i] for i, title in order])
        return write_table(self.columns, rows, path, {"example": [i for i, _ in order],
                                                      "version": [title for _, title in order]})

    def read(self, path: str | Path) -> torch.Tensor:
        """The rows of a CSV naming the table's columns as ``[B, C]`` (a missing target column is NaN)."""
        return parse_rows(self.columns, path)

    def transfer_edit(self, original: Samples, reconstruction: Samples, edited: Samples,
                      keep: Sequence[str] = (), set_parts: Sequence[Sequence[str]] | None = None) -> Samples:
        """A categorical column takes the edited category where the edit changed it, else keeps the original's. A
        number column moves by ``edited − reconstruction`` (integers rounded) where the edit sets it (``set_parts``:
        per row, the columns of the attributes changed) or where that shift is larger than the decoding's own error
        on the example, ``|original − reconstruction|`` — a smaller ripple is reconstruction noise, not a change the
        edit makes. The columns named in ``keep`` stay as they are. A target cell left empty (NaN) stays empty."""
        original, reconstruction, edited = (torch.as_tensor(x).double() for x in (original, reconstruction, edited))
        shift = edited - reconstruction
        moving = shift.abs() > (original - reconstruction).abs()
        if set_parts is not None:
            for row, names in enumerate(set_parts):
                for name in names:
                    if name in self.column_names:
                        moving[row, self.column_names.index(name)] = True
        moved = torch.where(moving, original + shift, original)
        for j, column in enumerate(self.columns):
            if column.kind == "categorical":
                moved[:, j] = torch.where(edited[:, j] != reconstruction[:, j], edited[:, j], original[:, j])
            elif column.kind == "integer":
                moved[:, j] = moved[:, j].round()
            if column.name in keep:
                moved[:, j] = original[:, j]
        return moved.float()

    def measure(self, samples: Samples, names: Sequence[str], classifier=None) -> dict[str, np.ndarray]:
        rows = torch.as_tensor(samples).double().cpu().numpy()
        unknown = [name for name in names if name not in self.column_names]
        if unknown:
            return super().measure(samples, names, classifier)
        return {name: rows[:, self.column_names.index(name)] for name in names}

    def spec(self) -> dict[str, Any]:
        spec = {"modality": self.name, "columns": [column.to_dict() for column in self.columns]}
        return spec if self.target is None else {**spec, "target": self.target}


def make_modality(name: str, *, shape: Sequence[int] | None = None, tokens: Sequence[str] | None = None,
                  max_length: int | None = None, columns: Sequence[Mapping[str, Any]] | None = None,
                  target: str | None = None) -> Modality:
    """The modality ``name`` (one of :data:`MODALITIES`) for examples of ``shape`` (images ``(C, H, W)``,
    vectors ``(D,)``), of the SMILES vocabulary ``tokens`` with ``max_length`` tokens per row, or of a table's
    ``columns`` (:meth:`~condgen.data.table_columns.TableColumn.to_dict` entries) and ``target`` column."""
    if name == "images":
        if shape is None or len(shape) != 3:
            raise ConfigError(f"images need a shape (C, H, W), got {shape}")
        return ImageModality(tuple(int(d) for d in shape))
    if name == "vectors":
        if shape is None or len(shape) != 1:
            raise ConfigError(f"vectors need a shape (D,), got {shape}")
        return VectorModality(int(shape[0]))
    if name == "smiles":
        if not tokens or max_length is None:
            raise ConfigError("SMILES need their vocabulary (tokens) and max_length")
        return SmilesModality(tuple(tokens), int(max_length))
    if name == "tables":
        if not columns:
            raise ConfigError("a table needs its columns (name, kind, categories)")
        return TableModality(tuple(TableColumn.from_dict(dict(column)) for column in columns), target)
    raise ConfigError(f"unknown modality {name!r}; valid: {', '.join(MODALITIES)}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _write_npy(array: np.ndarray, path: Path) -> Path:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    atomic_write_bytes(path, buffer.getvalue())
    return path
