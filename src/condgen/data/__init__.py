"""Where examples and their attributes come from.

:func:`load_dataset` takes a built-in name (``faces``, ``shapes``, ``toy2d-8gaussians`` …,
``digits``) or a path to a user's data (an image folder with ``attributes.csv``, a CelebA
layout, a folder of MNIST/Fashion-MNIST IDX files) and returns a :class:`LabeledDataset`.
"""

from condgen.data.dataset import LabeledDataset, images_to_uint8
from condgen.data.registry import BUILTIN_DATASETS, describe_builtin, load_dataset, load_from_spec
from condgen.data.schema import Attribute, AttributeSchema

__all__ = [
    "Attribute",
    "AttributeSchema",
    "BUILTIN_DATASETS",
    "LabeledDataset",
    "describe_builtin",
    "images_to_uint8",
    "load_dataset",
    "load_from_spec",
]
