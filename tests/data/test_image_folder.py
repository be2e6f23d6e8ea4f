"""Image folder + attribute CSV: values, attribute typing, resizing, and every bad-input case."""

import logging
import math

import numpy as np
import pytest
import torch
from PIL import Image

from condgen.data import load_dataset, load_from_spec
from condgen.data.image_folder import load_image_folder
from condgen.data.readers import SkippedRowsWarning
from condgen.errors import ConfigError, DataError


def colour(i: int) -> tuple[int, int, int]:
    return (10 * i + 5, 200 - 7 * i, 3 * i)


def write_png(path, rgb=(0, 0, 0), size=(8, 8), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, rgb).save(path)


def make_folder(root, lines, images=None, size=(8, 8)):
    """Write ``attributes.csv`` from ``lines`` and an 8x8 PNG of colour(i) for image ``i`` named in it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "attributes.csv").write_text("\n".join(lines) + "\n")
    for i, name in enumerate(images if images is not None else [ln.split(",")[0] for ln in lines[1:]]):
        write_png(root / name, colour(i), size)
    return root


GOOD = [
    "file,smiling,age,hair,glasses,happy",
    "img/a.png,1,31.5,brown,1,yes",
    "img/b.png,0,,black,-1,no",
    "img/c.png,,40,blond,-1,NO",
    "img/d.png,1,22.5,brown,NaN,true",
]


def test_values_kinds_and_missing(tmp_path):
    data = load_image_folder(make_folder(tmp_path / "faces", GOOD))
    assert data.data.dtype == torch.uint8 and data.data.shape == (4, 3, 8, 8)
    for i in range(4):
        assert data.data[i, :, 3, 5].tolist() == list(colour(i))
    assert [(a.name, a.kind) for a in data.schema] == [
        ("smiling", "binary"), ("age", "continuous"), ("hair", "categorical"),
        ("glasses", "binary"), ("happy", "binary")]
    assert data.schema["hair"].categories == ("black", "blond", "brown")
    nan = math.nan
    expected = [[1, 31.5, 2, 1, 1], [0, nan, 0, 0, 0], [nan, 40, 1, 0, 0], [1, 22.5, 2, nan, 1]]
    assert torch.allclose(data.attributes, torch.tensor(expected), equal_nan=True)
    assert data.schema["smiling"].positive_rate == pytest.approx(2 / 3)
    assert data.schema["age"].mean == pytest.approx(94 / 3)
    assert data.schema["age"].std == pytest.approx(float(np.std([31.5, 40, 22.5], ddof=1)))
    assert data.spec == {"name": "faces", "path": str((tmp_path / "faces").resolve()), "size": None,
                         "format": "image-folder", "modality": "images"}


def test_csv_path_kinds_override_and_numeric_category_order(tmp_path):
    lines = ["name,digit,score", "a.png,10,1", "b.png,2,0", "c.png,2,1"]
    root = make_folder(tmp_path / "d", lines)
    data = load_dataset(str(root / "attributes.csv"), kinds="digit=categorical,score=continuous")
    assert data.schema["digit"].categories == ("2", "10")  # numeric order, not "10" < "2"
    assert data.attributes[:, 0].tolist() == [1, 0, 0]
    assert data.schema["score"].kind == "continuous"
    with pytest.raises(ConfigError, match=r"--kind colour=binary: unknown attribute .colour. "
                                          r"\(attributes: digit, score\)"):
        load_image_folder(root, kinds={"colour": "binary"})
    with pytest.raises(ConfigError, match="must be one of"):
        load_image_folder(root, kinds={"digit": "ordinal"})


def test_grayscale_images_become_rgb_unless_asked(tmp_path):
    root = tmp_path / "g"
    (root).mkdir()
    (root / "attributes.csv").write_text("f,x\nl.png,1\nrgb.png,0\n")
    write_png(root / "l.png", 77, mode="L")
    write_png(root / "rgb.png", (30, 60, 90))
    data = load_image_folder(root)
    assert data.data[0, :, 0, 0].tolist() == [77, 77, 77]
    gray = load_image_folder(root, grayscale=True)
    assert gray.data.shape == (2, 1, 8, 8) and gray.data[0, 0, 0, 0] == 77
    assert gray.data[1, 0, 0, 0] == round(0.299 * 30 + 0.587 * 60 + 0.114 * 90)  # Pillow's L conversion


def test_size_crops_the_centre_square_then_resizes(tmp_path):
    root = tmp_path / "wide"
    root.mkdir()
    (root / "attributes.csv").write_text("f,x\nw.png,1\nsmall.png,0\n")
    wide = np.zeros((8, 12, 3), np.uint8)
    wide[:, :2] = (255, 0, 0)  # red bands only outside the centre 8x8 square
    wide[:, 10:] = (255, 0, 0)
    wide[:, 2:10] = (0, 0, 200)
    Image.fromarray(wide).save(root / "w.png")
    write_png(root / "small.png", (0, 0, 200), size=(4, 4))
    for size in (8, 4, 16):
        data = load_image_folder(root, size=size)
        assert data.data.shape == (2, 3, size, size)
        assert (data.data[:, 0] == 0).all() and (data.data[:, 2] == 200).all()  # no red left, no distortion
    with pytest.raises(DataError, match=r"attributes.csv:3: image .*small.png is 4x4 but .*w.png is 12x8"):
        load_image_folder(root)


def test_limit_and_spec_round_trip(tmp_path):
    root = make_folder(tmp_path / "faces", GOOD)
    data = load_dataset(str(root), size=4, limit=3)
    assert data.data.shape == (3, 3, 4, 4)
    again = load_from_spec(data.spec)
    assert torch.equal(again.data, data.data)
    assert torch.allclose(again.attributes, data.attributes, equal_nan=True)


@pytest.mark.parametrize(
    "lines, kinds, line, pattern",
    [
        (["f,x,y", "a.png,1,2", "b.png,1", "c.png,0,3"], None, 3, "has 2 columns but the header has 3"),
        (["f,x", "a.png,1", "a.png,0"], None, 3, "listed again .first on line 2"),
        (["f,x", "a.png,1", "b.png,0", "c.png,maybe", "d.png,1"], None, 4, r"'x' \(binary\): 'maybe' is not"),
        (["f,x", "a.png,1", "b.png,yes"], {"x": "continuous"}, 3, "'yes' is not a number"),
        (["f,x", "a.png,1", "b.png,-1", "c.png,0"], {"x": "binary"}, 4, "0 in a column of -1/1 labels"),
        (["f,x", "a.png,1", "b.png,2"], {"x": "binary"}, 3, "'2' is not 0 or 1"),
        (["f,x", "a.png,1.5", "b.png,inf"], None, 3, "not a finite number"),
    ],
)
def test_bad_label_rows_name_file_and_line(tmp_path, lines, kinds, line, pattern):
    root = make_folder(tmp_path / "bad", lines, images=["a.png", "b.png", "c.png", "d.png"][: len(lines) - 1])
    with pytest.raises(DataError, match=pattern) as caught:
        load_image_folder(root, kinds=kinds)
    message = str(caught.value)
    assert f"attributes.csv:{line}:" in message and "\n" not in message and "skip_bad=True" in message


def test_corrupt_and_missing_images(tmp_path):
    root = make_folder(tmp_path / "c", ["f,x", "a.png,1", "broken.png,0"], images=["a.png"])
    (root / "broken.png").write_text("this is not a png")
    with pytest.raises(DataError, match=r"attributes.csv:3: image .*broken.png cannot be read"):
        load_image_folder(root)
    (root / "broken.png").unlink()
    with pytest.raises(DataError, match=r"attributes.csv:3: names image .*broken.png, which does not exist"):
        load_image_folder(root)


def test_unlabeled_images_are_an_error(tmp_path):
    root = make_folder(tmp_path / "u", ["f,x", "a.png,1", "b.png,0"])
    write_png(root / "extra1.png")
    write_png(root / "extra2.jpg")
    (root / "notes.txt").write_text("not an image, not counted")
    pattern = r"2 image file\(s\) have no row in .*attributes.csv .first: .*extra1.png"
    with pytest.raises(DataError, match=pattern):
        load_image_folder(root)


def test_skip_bad_skips_and_reports_once(tmp_path):
    lines = ["f,x,y", "a.png,1,0.5", "b.png,0", "c.png,0,1.5", "d.png,1,2.5", "e.png,oops,1", "gone.png,1,1"]
    root = make_folder(tmp_path / "s", lines, images=["a.png", "b.png", "c.png", "d.png", "e.png"])
    (root / "c.png").write_bytes(b"\x89PNG broken")
    write_png(root / "stray.png")
    with pytest.warns(SkippedRowsWarning) as record:
        data = load_image_folder(root, skip_bad=True)
    messages = [str(w.message) for w in record]
    assert len(messages) == 2
    assert messages[0].startswith("ignored 1 image file(s) have no row") and "stray.png" in messages[0]
    assert messages[1].startswith("skipped 4 of 6 rows with bad input (first: ")
    assert "attributes.csv:3: has 2 columns" in messages[1]
    assert data.attributes.tolist() == [[1.0, 0.5], [1.0, 2.5]]
    assert data.data[:, 0, 0, 0].tolist() == [colour(0)[0], colour(3)[0]]
    assert data.spec["skip_bad"] is True
    (root / "a.png").write_text("x")
    (root / "d.png").write_text("x")
    with pytest.warns(SkippedRowsWarning), pytest.raises(DataError, match="no usable rows"):
        load_image_folder(root, skip_bad=True)


def test_header_problems(tmp_path):
    root = tmp_path / "h"
    root.mkdir()
    for text, pattern in [("", "empty"), ("f;x;y\na.png;1;2\n", "separate columns with commas"),
                          ("f,x,x\n", "'x' appears twice"), ("f,x,\n", "column 3 of the header has no"),
                          ("f,x\na.png,\nb.png,\n", "column 'x' has no values")]:
        (root / "attributes.csv").write_text(text)
        with pytest.raises(DataError, match=pattern):
            load_image_folder(root)
    with pytest.raises(ConfigError, match="unknown option.*splitt.*valid options: labels"):
        load_image_folder(root, splitt="train")


def test_exif_rotation_is_applied(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    (root / "attributes.csv").write_text("f,x\nphone.jpg,1\n")
    image = np.zeros((4, 8, 3), np.uint8)  # 8 wide, 4 high, white left half
    image[:, :4] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.fromarray(image).save(root / "phone.jpg", exif=exif, quality=100)
    data = load_image_folder(root)
    assert data.data.shape == (1, 3, 8, 4)
    assert data.data[0, :, :3].float().mean() > 200 and data.data[0, :, 5:].float().mean() < 50  # white on top


def test_whole_numbers_with_few_values_are_classes_and_each_kind_is_said(tmp_path, caplog):
    lines = ["f,digit,count,smiling,hair"]
    lines += [f"{i}.png,{i % 10},{i},{i % 2},{'ab'[i % 2]}" for i in range(24)]
    with caplog.at_level(logging.INFO, logger="condgen.data"):
        data = load_image_folder(make_folder(tmp_path / "f", lines))
    assert [(a.name, a.kind) for a in data.schema] == [("digit", "categorical"), ("count", "continuous"),
                                                        ("smiling", "binary"), ("hair", "categorical")]
    assert data.schema["digit"].categories == tuple("0123456789")
    assert caplog.messages == [
        "attribute digit: categorical, 10 classes (inferred from whole numbers 0–9, 10 distinct; override with "
        "--kind digit=continuous)",
        "attribute count: continuous, mean 11.5, std 7.07 (inferred from numbers, 24 distinct; override with "
        "--kind count=categorical)",  # more than 20 distinct whole numbers: a quantity
        "attribute smiling: binary, 50% positive (inferred from values 0/1; override with --kind smiling=categorical)",
        "attribute hair: categorical, 2 classes (inferred from text values; override with --kind hair=binary)",
    ]


def test_a_stray_value_in_a_binary_looking_column_is_said_with_its_line(tmp_path):
    lines = ["f,smiling"] + [f"{i}.png,{2 if i == 5 else i % 2}" for i in range(30)]
    root = make_folder(tmp_path / "f", lines)
    with pytest.warns(UserWarning, match=r"attributes.csv:7: column 'smiling' holds only 0/1 but for 1 value\(s\) "
                                         r"such as 2, so it is categorical, not binary; fix the data, or use --kind "
                                         "smiling=binary"):
        data = load_image_folder(root)
    assert data.schema["smiling"].categories == ("0", "1", "2")
    with pytest.warns(SkippedRowsWarning, match="attributes.csv:7: column 'smiling' .binary.: '2' is not 0 or 1"):
        binary = load_image_folder(root, kinds={"smiling": "binary"}, skip_bad=True)
    assert len(binary) == 29 and binary.schema["smiling"].kind == "binary"
