"""Name or path → :class:`LabeledDataset`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from condgen.data.dataset import LabeledDataset
from condgen.errors import DataError

#: Points of a 2-D toy set unless ``-n`` says otherwise.
TOY2D_N = 20000


@dataclass(frozen=True)
class BuiltinDataset:
    """A built-in data set: ``build(n=…, size=…, seed=…, **options)`` returns a LabeledDataset.

    ``modality``, ``n``, ``shape`` and ``attributes`` describe what ``build`` gives by default, so that listing
    the sets builds none of them (tests/data/test_registry.py builds each and compares):

    Attributes:
        modality: the modality named in the set's spec (``images``, ``vectors``, ``smiles``).
        n: number of examples by default.
        shape: the shape of one example at the default size (SMILES: empty, their length varies).
        attributes: the attribute schema, as :meth:`AttributeSchema.describe` writes it.
        check_available: raises a :class:`~condgen.errors.CondgenError` saying what to install when the set
            cannot be built here (None: always available).
    """

    name: str
    description: str
    default_size: int
    build: Callable[..., LabeledDataset]
    modality: str
    n: int
    shape: tuple[int, ...]
    attributes: str
    check_available: Callable[[], object] | None = None

    def examples(self) -> str:
        """How many examples by default and of what shape (``20,000 × 3×32×32``, ``1,584,663 smiles``)."""
        return f"{self.n:,} × {'×'.join(map(str, self.shape))}" if self.shape else f"{self.n:,} {self.modality}"


def _faces(**kw) -> LabeledDataset:
    from condgen.data.faces import load_faces

    return load_faces(**kw)


def _shapes(**kw) -> LabeledDataset:
    from condgen.data.shapes import load_shapes

    return load_shapes(**kw)


def _segments(**kw) -> LabeledDataset:
    from condgen.data.segments import load_segments

    return load_segments(**kw)


def _toy2d(variant: str) -> Callable[..., LabeledDataset]:
    def build(n: int | None = None, seed: int = 0, size: int | None = None, **options) -> LabeledDataset:
        from condgen.data.toy2d import make_toy2d

        return make_toy2d(variant, n=n or TOY2D_N, seed=seed, **options)

    return build


def _digits(n: int | None = None, seed: int = 0, size: int | None = None, **options) -> LabeledDataset:
    from condgen.data.readers import load_sklearn_digits

    return load_sklearn_digits(size=size, **options)


def _moses(n: int | None = None, seed: int = 0, size: int | None = None, **options) -> LabeledDataset:
    from condgen.data.molecules import load_moses

    return load_moses(n=n, seed=seed, **options)


def _molsets_installed() -> object:
    from condgen.data.moses import moses_package_dir

    return moses_package_dir()


FACES = ("male (binary), smiling (binary), eyeglasses (binary), beard (binary), hat (binary), bangs (binary), "
         "yaw (continuous), skin_tone (continuous)")
SHAPES = ("shape (categorical: square, ellipse, heart), scale (continuous), rotation (continuous), x (continuous), "
          "y (continuous), color (categorical: red, green, blue, yellow, white)")


def _modes(count: int) -> str:
    return f"mode (categorical: {', '.join(map(str, range(count)))})"


BUILTIN_DATASETS: dict[str, BuiltinDataset] = {
    d.name: d
    for d in [
        BuiltinDataset("faces", "procedural RGB cartoon faces with 6 binary + 2 continuous attributes", 32, _faces,
                       "images", 20000, (3, 32, 32), FACES),
        BuiltinDataset("shapes", "dSprites-like shapes: shape, scale, rotation, x, y, colour", 32, _shapes,
                       "images", 20000, (3, 32, 32), SHAPES),
        BuiltinDataset("segments", "seven-segment digits 0-9 (greyscale): 10-class label, slant, thickness", 16,
                       _segments, "images", 10000, (1, 16, 16),
                       f"label (categorical: {', '.join(map(str, range(10)))}), slant (continuous), "
                       "thickness (continuous)"),
        BuiltinDataset("toy2d-8gaussians", "8 Gaussians on a ring (2-D vectors)", 0, _toy2d("8gaussians"),
                       "vectors", TOY2D_N, (2,), _modes(8)),
        BuiltinDataset("toy2d-25gaussians", "5x5 grid of Gaussians (2-D vectors)", 0, _toy2d("25gaussians"),
                       "vectors", TOY2D_N, (2,), _modes(25)),
        BuiltinDataset("toy2d-moons", "two moons (2-D vectors)", 0, _toy2d("moons"),
                       "vectors", TOY2D_N, (2,), "moon (binary)"),
        BuiltinDataset("toy2d-swissroll", "swiss roll (2-D vectors)", 0, _toy2d("swissroll"),
                       "vectors", TOY2D_N, (2,), "position (continuous)"),
        BuiltinDataset("moses", "MOSES ZINC molecules as SMILES (train split 1.58M; -n for a subset; RDKit "
                                "properties as attributes with load_dataset('moses', properties=[...]))", 0, _moses,
                       "smiles", 1_584_663, (), "", _molsets_installed),
        BuiltinDataset("digits", "scikit-learn's bundled 8x8 digits, class as a categorical attribute", 8, _digits,
                       "images", 1797, (1, 8, 8), "label (categorical: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)"),
    ]
}
ALIASES = {"toy2d": "toy2d-8gaussians"}


def is_builtin_dataset(name: str | None) -> bool:
    """True for the name of a built-in data set (or an alias), which :func:`load_dataset` prefers to a path."""
    return name is not None and ALIASES.get(name, name) in BUILTIN_DATASETS


def load_dataset(
    name_or_path: str,
    *,
    n: int | None = None,
    size: int | None = None,
    seed: int = 0,
    skip_bad: bool = False,
    **options,
) -> LabeledDataset:
    """Load a built-in data set by name, or a user's data set from a path.

    Args:
        name_or_path: a key of :data:`BUILTIN_DATASETS` (or ``toy2d``), or a directory / file.
        n: number of examples for generated sets (default: the set's own).
        size: image side in pixels for image sets (e.g. 32 or 64).
        seed: generation seed; the same seed always gives the same data.
        skip_bad: for user data, skip unreadable rows and report their count instead of failing.
    """
    name = ALIASES.get(name_or_path, name_or_path)
    if is_builtin_dataset(name):
        builtin = BUILTIN_DATASETS[name]
        kwargs = {"n": n, "seed": seed, **options}
        if builtin.default_size:
            kwargs["size"] = size or builtin.default_size
        return builtin.build(**kwargs)
    path = Path(name_or_path)
    if not path.exists():
        raise DataError(
            f"{name_or_path}: neither a built-in data set ({', '.join(BUILTIN_DATASETS)}) nor an existing path"
        )
    if path.is_file() and path.suffix.lower() == ".npy":
        from condgen.data.vectors import load_vector_file

        return load_vector_file(path)
    from condgen.data.molecules import load_smiles_file
    from condgen.data.smiles import is_smiles_file

    if is_smiles_file(path):
        return load_smiles_file(path, n=n, seed=seed, skip_bad=True, **options)
    from condgen.data.readers import load_path

    return load_path(path, size=size, skip_bad=skip_bad, **options)


def load_from_spec(spec: dict, labels: bool = True) -> LabeledDataset:
    """Rebuild the data set recorded in an artifact's ``data`` spec (built-in name or user path).

    ``labels=False`` is for when only the examples matter: SMILES then skip computing their molecular
    properties (the slow part of loading them)."""
    if not spec:
        raise DataError("this artifact records no data set; pass one explicitly with --data")
    if not labels and spec.get("modality") == "smiles":
        spec = {**spec, "properties": []}
    options = {k: v for k, v in spec.items()
               if k not in {"name", "path", "size", "n", "seed", "variant", "modality"}}
    if "path" in spec:
        return load_dataset(spec["path"], size=spec.get("size"), n=spec.get("n"), seed=spec.get("seed", 0), **options)
    name = spec["name"]
    if name == "toy2d" and "variant" in spec:
        name = f"toy2d-{spec['variant']}"
    return load_dataset(name, n=spec.get("n"), size=spec.get("size"), seed=spec.get("seed", 0), **options)


def describe_builtin() -> list[BuiltinDataset]:
    """The built-in data sets, described without building any (see :class:`BuiltinDataset`)."""
    return list(BUILTIN_DATASETS.values())
