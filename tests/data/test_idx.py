"""MNIST-style IDX files written byte by byte: plain, gzipped, both splits, and broken files."""

import gzip
import logging
import struct

import numpy as np
import pytest
import torch

from condgen.data import load_dataset, load_from_spec
from condgen.data.idx import FASHION_MNIST_CLASSES, load_idx
from condgen.errors import ConfigError, DataError


def write_idx(path, array, magic=None):
    """An unsigned-byte IDX file: magic 0x0000080<ndim>, one big-endian uint32 per dimension, the bytes."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">I", magic if magic is not None else 0x800 | array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as handle:
        handle.write(header + array.tobytes())


def sample(n, side=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, side, side), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


def make_mnist(root, n=6, gz=False, test=0, spelling="-idx"):
    root.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    images, labels = sample(n)
    write_idx(root / f"train-images{spelling}3-ubyte{suffix}", images)
    write_idx(root / f"train-labels{spelling}1-ubyte{suffix}", labels)
    if test:
        test_images, test_labels = sample(test, seed=1)
        write_idx(root / f"t10k-images{spelling}3-ubyte{suffix}", test_images)
        write_idx(root / f"t10k-labels{spelling}1-ubyte{suffix}", test_labels)
    return root, images, labels


def test_plain_files_values_and_labels(tmp_path):
    root, images, labels = make_mnist(tmp_path / "mnist")
    data = load_dataset(str(root))
    assert data.data.dtype == torch.uint8 and data.data.shape == (6, 1, 4, 4)
    assert torch.equal(data.data[:, 0], torch.from_numpy(images))
    assert data.attributes[:, 0].tolist() == labels.tolist()
    assert data.schema["label"].categories == tuple("0123456789")
    assert data.spec == {"name": "mnist", "path": str(root.resolve()), "size": None, "format": "idx",
                         "split": "train", "modality": "images"}


@pytest.mark.parametrize("gz, spelling", [(True, "-idx"), (False, ".idx"), (True, ".idx")])
def test_gzip_spellings_and_test_split(tmp_path, gz, spelling):
    root, images, labels = make_mnist(tmp_path / "m", gz=gz, test=3, spelling=spelling)
    train = load_idx(root)
    assert torch.equal(train.data[:, 0], torch.from_numpy(images))
    test = load_idx(root, split="test")
    test_images, test_labels = sample(3, seed=1)
    assert torch.equal(test.data[:, 0], torch.from_numpy(test_images))
    assert test.attributes[:, 0].tolist() == test_labels.tolist()


def test_resize_class_names_and_spec_round_trip(tmp_path):
    root = tmp_path / "fashion"
    root.mkdir()
    write_idx(root / "train-images-idx3-ubyte", np.full((3, 4, 4), 90))
    write_idx(root / "train-labels-idx1-ubyte", [0, 9, 3])
    data = load_dataset(str(root), size=8, class_names="fashion-mnist")
    assert data.data.shape == (3, 1, 8, 8) and (data.data == 90).all()  # a flat image stays flat
    assert data.schema["label"].categories == FASHION_MNIST_CLASSES
    again = load_from_spec(data.spec)
    assert torch.equal(again.data, data.data) and again.schema == data.schema
    with pytest.raises(DataError, match="holds label 9 but only 3 class names"):
        load_idx(root, class_names="a,b,c")


def test_bad_files(tmp_path):
    root, images, labels = make_mnist(tmp_path / "bad")
    with pytest.raises(DataError, match="split='test' needs t10k-images-idx3-ubyte"):
        load_idx(root, split="test")
    with pytest.raises(ConfigError, match="split must be one of train, test"):
        load_idx(root, split="valid")
    write_idx(root / "train-labels-idx1-ubyte", labels[:5])
    with pytest.raises(DataError, match="images-idx3-ubyte holds 6 images but .*labels-idx1-ubyte holds 5"):
        load_idx(root)
    write_idx(root / "train-labels-idx1-ubyte", images)  # an image file under the label file's name
    with pytest.raises(DataError, match=r"labels-idx1-ubyte: magic number is 0x00000803, expected 0x0+801 "):
        load_idx(root)
    (root / "train-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, 6) + bytes(4))
    with pytest.raises(DataError, match="header says 6 values but the file holds 4; it is truncated"):
        load_idx(root)
    (root / "train-labels-idx1-ubyte").unlink()
    (root / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=r"labels-idx1-ubyte.gz: cannot be read"):
        load_idx(root)


def test_the_class_can_be_made_a_number_and_its_kind_is_said(tmp_path, caplog):
    root, _, labels = make_mnist(tmp_path / "m")
    with caplog.at_level(logging.INFO, logger="condgen.data"):
        data = load_dataset(str(root), kinds="label=continuous")
    assert data.schema["label"].kind == "continuous" and data.attributes[:, 0].tolist() == labels.tolist()
    assert caplog.messages == [f"attribute label: continuous, mean {labels.mean():.3g}, std "
                               f"{labels.std(ddof=1):.3g} (as given with --kind)"]
    assert load_from_spec(data.spec).schema == data.schema
