"""A user's vectors: a ``.npy`` file holding one float array ``[N, D]`` (no attributes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from condgen.data.dataset import LabeledDataset
from condgen.data.schema import AttributeSchema
from condgen.errors import DataError


def load_vector_file(path: Path) -> LabeledDataset:
    """The rows of ``path`` (a 2-D numeric ``.npy`` array, read without pickle) as vectors ``float32 [N, D]``."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not a readable .npy array ({str(error).splitlines()[0]})") from None
    if array.ndim != 2 or array.shape[0] < 1 or not np.issubdtype(array.dtype, np.number):
        raise DataError(f"{path}: vectors are a numeric array [N, D], got {array.dtype} {list(array.shape)}")
    if not np.isfinite(array).all():
        raise DataError(f"{path}: holds NaN or infinite values; drop those rows first")
    return LabeledDataset(data=torch.from_numpy(array.astype(np.float32)), attributes=torch.zeros(len(array), 0),
                          schema=AttributeSchema(), spec={"name": path.stem, "path": str(path), "modality": "vectors"})
