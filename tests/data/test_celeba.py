"""A mini CelebA written in the published file formats: labels, partial labels, splits, bad input."""

import logging
import math

import pytest
import torch
from PIL import Image

from condgen.data import load_dataset, load_from_spec
from condgen.data.celeba import load_celeba
from condgen.data.readers import SkippedRowsWarning
from condgen.errors import ConfigError, DataError, UnknownAttributeError

NAMES = ["5_o_Clock_Shadow", "Arched_Eyebrows", "Smiling", "Young"]
LABELS = [  # 0 = not annotated (partial labels)
    [-1, 1, 1, 1],
    [1, -1, -1, 1],
    [-1, -1, 1, 0],
    [1, 1, -1, -1],
    [0, -1, 1, 1],
    [-1, 1, 1, -1],
]
PARTITION = [0, 0, 0, 0, 1, 2]


def file_name(i: int) -> str:
    return f"{i + 1:06d}.jpg"


def label_line(name: str, labels) -> str:
    # The published file right-aligns each value in a 3-wide field: "000001.jpg -1  1  1 -1 ..."
    return name + "".join(f"{v:>3d}" for v in labels)


def make_celeba(root, labels=LABELS, partition=PARTITION, count=None, kaggle=False):
    images = root / "img_align_celeba" / ("img_align_celeba" if kaggle else "")
    images.mkdir(parents=True)
    for i in range(len(labels)):
        # Portrait 12x16 like CelebA's 178x218; the outer rows are black, the centre 12x12 square coloured.
        image = Image.new("RGB", (12, 16), (0, 0, 0))
        image.paste((20 * i, 100, 250 - 20 * i), (0, 2, 12, 14))
        image.save(images / file_name(i), quality=100, subsampling=0)
    if kaggle:
        rows = ["image_id," + ",".join(NAMES)]
        rows += [",".join([file_name(i), *map(str, r)]) for i, r in enumerate(labels)]
        (root / "list_attr_celeba.csv").write_text("\n".join(rows) + "\n")
        parts = ["image_id,partition"] + [f"{file_name(i)},{p}" for i, p in enumerate(partition)]
        (root / "list_eval_partition.csv").write_text("\n".join(parts) + "\n")
        return root
    lines = [str(len(labels) if count is None else count), " ".join(NAMES) + " "]
    lines += [label_line(file_name(i), r) for i, r in enumerate(labels)]
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    if partition is not None:
        (root / "list_eval_partition.txt").write_text(
            "\n".join(f"{file_name(i)} {p}" for i, p in enumerate(partition)) + "\n")
    return root


def expected_attributes(rows):
    return torch.tensor([[{1: 1.0, -1: 0.0, 0: math.nan}[v] for v in r] for r in rows])


def test_labels_partial_labels_and_images(tmp_path):
    data = load_dataset(str(make_celeba(tmp_path / "celeba")))
    assert data.schema.names == NAMES and all(a.kind == "binary" for a in data.schema)
    assert torch.allclose(data.attributes, expected_attributes(LABELS), equal_nan=True)
    assert data.schema["Young"].positive_rate == pytest.approx(3 / 5)  # the missing label is not counted
    assert data.data.shape == (6, 3, 16, 12)
    assert data.spec == {"name": "celeba", "path": str((tmp_path / "celeba").resolve()), "size": None,
                         "format": "celeba", "split": "all", "modality": "images"}
    # JPEG is lossy: the centre colour comes back within a few levels.
    centre = data.data[:, :, 8, 6].int()
    expected = torch.tensor([[20 * i, 100, 250 - 20 * i] for i in range(6)])
    assert (centre - expected).abs().max() <= 4


def test_size_crops_the_centre_square(tmp_path):
    data = load_celeba(make_celeba(tmp_path / "celeba"), size=8)
    assert data.data.shape == (6, 3, 8, 8)
    assert data.data[:, 1].float().mean() > 90  # the black top and bottom bands were cropped away
    cropped = load_celeba(tmp_path / "celeba", crop=6, grayscale=True)
    assert cropped.data.shape == (6, 1, 6, 6) and cropped.spec["crop"] == 6
    assert torch.equal(load_from_spec(cropped.spec).data, cropped.data)


def test_splits(tmp_path):
    root = make_celeba(tmp_path / "celeba")
    sizes = {split: len(load_celeba(root, split=split)) for split in ("train", "valid", "test", "all")}
    assert sizes == {"train": 4, "valid": 1, "test": 1, "all": 6}
    test = load_celeba(root, split="test")
    assert torch.equal(test.attributes, expected_attributes(LABELS[5:]))
    with pytest.raises(ConfigError, match="split must be one of train, valid, test, all"):
        load_celeba(root, split="validation")
    bare = make_celeba(tmp_path / "no_partition", partition=None)
    assert len(load_celeba(bare)) == 6
    with pytest.raises(DataError, match="split='train' needs list_eval_partition.txt"):
        load_celeba(bare, split="train")


def test_kaggle_csv_layout(tmp_path):
    data = load_dataset(str(make_celeba(tmp_path / "kaggle", kaggle=True)), split="train")
    assert len(data) == 4 and data.schema.names == NAMES
    assert torch.allclose(data.attributes, expected_attributes(LABELS[:4]), equal_nan=True)


def test_bad_rows_name_file_and_line(tmp_path):
    root = make_celeba(tmp_path / "celeba")
    attr = root / "list_attr_celeba.txt"
    lines = attr.read_text().splitlines()
    cases = [
        (4, lines[3] + "  1", "list_attr_celeba.txt:4: has 6 fields; expected the file name and 4 labels"),
        (5, lines[4].replace(" -1", "  2", 1), "list_attr_celeba.txt:5: label '2' for '5_o_Clock_Shadow'"),
        (3, lines[2].replace("000001", "999999"), r"celeba.txt:3: names image .*999999.jpg, which does not"),
    ]
    for number, replacement, pattern in cases:
        attr.write_text("\n".join(lines[: number - 1] + [replacement] + lines[number:]) + "\n")
        with pytest.raises(DataError, match=pattern):
            load_celeba(root)
    attr.write_text("\n".join(lines) + "\n")
    (root / "img_align_celeba" / "000002.jpg").write_text("not a jpeg")
    with pytest.raises(DataError, match=r"list_attr_celeba.txt:4: image .*000002.jpg cannot be read"):
        load_celeba(root)


def test_file_level_problems(tmp_path):
    root = make_celeba(tmp_path / "count", count=7)
    with pytest.raises(DataError, match="list_attr_celeba.txt:1: says 7 images but the file lists 6"):
        load_celeba(root)
    root = make_celeba(tmp_path / "stray")
    Image.new("RGB", (12, 16)).save(root / "img_align_celeba" / "extra.png")
    with pytest.raises(DataError, match=r"1 image file\(s\) have no row in .*list_attr_celeba.txt"):
        load_celeba(root)
    root = make_celeba(tmp_path / "partition")
    (root / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 7\n")
    with pytest.raises(DataError, match=r"list_eval_partition.txt:2: expected '<image file> <0\|1\|2>'"):
        load_celeba(root, split="train")


def test_skip_bad(tmp_path):
    root = make_celeba(tmp_path / "celeba")
    (root / "list_eval_partition.txt").write_text("\n".join(f"{file_name(i)} 0" for i in range(5)) + "\n")
    (root / "img_align_celeba" / file_name(1)).write_bytes(b"\xff\xd8 truncated")
    with pytest.warns(SkippedRowsWarning, match=r"skipped 2 of 6 rows with bad input \(first: .*:8: image "):
        data = load_celeba(root, split="train", skip_bad=True)
    assert len(data) == 4  # 000006.jpg is not in the partition file, 000002.jpg is corrupt
    kept = expected_attributes([LABELS[i] for i in (0, 2, 3, 4)])
    assert torch.allclose(data.attributes, kept, equal_nan=True)


def test_kinds_are_said_on_one_line_overridable_and_names_suggested(tmp_path, caplog):
    root = make_celeba(tmp_path / "celeba")
    with caplog.at_level(logging.INFO, logger="condgen.data"):
        load_dataset(str(root))
        caplog.clear()
        data = load_dataset(str(root), kinds={"Young": "categorical"})
        assert caplog.messages[-1] == "attribute Young: categorical, 2 classes (as given with --kind)"
        caplog.clear()
        load_dataset(str(root))
    assert caplog.messages == ["attributes 5_o_Clock_Shadow, Arched_Eyebrows, Smiling, Young: binary (CelebA labels "
                               "1/-1 of list_attr_celeba.txt; override one with --kind NAME=categorical)"]
    assert data.schema["Young"].categories == ("0", "1") and data.spec["kinds"] == {"Young": "categorical"}
    assert load_from_spec(data.spec).schema == data.schema
    with pytest.raises(UnknownAttributeError, match="unknown attribute 'smiling'; did you mean 'Smiling'"):
        data.select_attributes(["smiling"])
