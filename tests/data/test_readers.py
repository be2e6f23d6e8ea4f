"""The dispatcher (layout detection), scikit-learn's digits, and the shared bad-row reporting."""

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import condgen.data.readers as readers
from condgen.data import load_dataset, load_from_spec
from condgen.data.readers import BadRows, SkippedRowsWarning, load_path, load_sklearn_digits
from condgen.errors import ConfigError, DataError


def test_digits_end_to_end():
    from sklearn.datasets import load_digits

    data = load_dataset("digits")
    reference = load_digits()
    assert data.data.dtype == torch.uint8 and data.data.shape == (1797, 1, 8, 8)
    expected = np.round(reference.images * 255 / 16).astype(np.uint8)
    assert torch.equal(data.data[:, 0], torch.from_numpy(expected))
    assert int(data.data.max()) == 255
    assert data.schema["label"].kind == "categorical" and data.schema["label"].categories == tuple("0123456789")
    assert data.attributes[:, 0].tolist() == reference.target.tolist()
    assert data.spec == {"name": "digits", "size": 8, "modality": "images"}
    assert torch.equal(load_from_spec(data.spec).data, data.data)


def test_digits_upscaled():
    data = load_sklearn_digits(size=16)
    assert data.data.shape == (1797, 1, 16, 16)
    # Bilinear upscaling keeps the mean brightness of each image within a few grey levels.
    small = load_sklearn_digits().data.float().mean(dim=(1, 2, 3))
    assert (data.data.float().mean(dim=(1, 2, 3)) - small).abs().max() < 6
    with pytest.raises(ConfigError, match="unknown option.*colour"):
        load_sklearn_digits(colour=True)
    with pytest.raises(ConfigError, match="size must be a positive number"):
        load_sklearn_digits(size=0)


def test_unknown_layout_lists_what_was_looked_for(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "lonely.png")
    with pytest.raises(DataError) as caught:
        load_dataset(str(tmp_path))
    message = str(caught.value)
    for expected in (str(tmp_path), "img_align_celeba/", "list_attr_celeba.txt", "train-images-idx3-ubyte",
                     "attributes.csv", "labels="):
        assert expected in message
    with pytest.raises(DataError, match="neither a built-in data set"):
        load_dataset(str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="format must be one of celeba, idx, image-folder"):
        load_path(tmp_path, format="hdf5")


def test_labels_option_and_forced_format(tmp_path):
    Image.new("RGB", (8, 8), (1, 2, 3)).save(tmp_path / "a.png")
    Image.new("RGB", (8, 8), (4, 5, 6)).save(tmp_path / "b.png")
    (tmp_path / "my_labels.csv").write_text("image,cat\na.png,1\nb.png,0\n")
    data = load_path(tmp_path, labels="my_labels.csv")
    assert data.attributes[:, 0].tolist() == [1.0, 0.0] and data.spec["labels"] == "my_labels.csv"
    assert torch.equal(load_from_spec(data.spec).data, data.data)
    with pytest.raises(DataError, match="attributes.csv: attribute file not found"):
        load_path(tmp_path, format="image-folder")


def test_progress_bar_path_reads_the_same(tmp_path, monkeypatch):
    for i in range(3):
        Image.new("RGB", (8, 8), (i, i, i)).save(tmp_path / f"{i}.png")
    (tmp_path / "attributes.csv").write_text("f,x\n0.png,1\n1.png,0\n2.png,1\n")
    monkeypatch.setattr(readers, "PROGRESS_THRESHOLD", 1)
    data = load_path(tmp_path)
    assert data.data[:, 0, 0, 0].tolist() == [0, 1, 2]


def test_bad_rows_fail_or_count():
    strict = BadRows(skip_bad=False)
    with pytest.raises(DataError, match=r"^labels.csv:7: broken \(fix it, or load with skip_bad=True"):
        strict.report("labels.csv:7", "broken")
    lenient = BadRows(skip_bad=True)
    lenient.report("labels.csv:7", "broken")
    lenient.report("labels.csv:9", "also broken")
    expected = r"^skipped 2 of 10 rows with bad input \(first: labels.csv:7: broken\)$"
    with pytest.warns(SkippedRowsWarning, match=expected):
        lenient.finish(10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BadRows(skip_bad=True).finish(10)  # nothing skipped, nothing said
