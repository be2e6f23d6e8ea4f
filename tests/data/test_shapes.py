"""The dSprites-like ``shapes`` set: determinism, layout, factor ranges, and that factors are visible."""

import numpy as np
import pytest
import torch

from condgen.data import load_dataset
from condgen.data.shapes import COLORS, SHAPES, heart_distance, load_shapes
from condgen.errors import ConfigError


def test_same_seed_gives_identical_bytes_and_another_seed_differs():
    first = load_shapes(n=64, size=32, seed=1, cache=False)
    assert torch.equal(first.data, load_shapes(n=64, size=32, seed=1, cache=False).data)
    assert not torch.equal(first.data, load_shapes(n=64, size=32, seed=2, cache=False).data)


@pytest.mark.parametrize("size", [32, 64])
def test_layout_schema_and_factor_ranges(size):
    shapes = load_shapes(n=300, size=size, seed=0, cache=False)
    assert shapes.data.dtype == torch.uint8 and shapes.data.shape == (300, 3, size, size)
    assert shapes.spec == {"name": "shapes", "n": 300, "size": size, "seed": 0, "modality": "images"}
    assert shapes.schema.names == ["shape", "scale", "rotation", "x", "y", "color"]
    assert [a.kind for a in shapes.schema] == ["categorical"] + ["continuous"] * 4 + ["categorical"]
    assert shapes.schema["shape"].categories == SHAPES and shapes.schema["color"].categories == COLORS
    a = shapes.attributes.numpy()
    assert set(a[:, 0]) == {0, 1, 2} and set(a[:, 5]) == {0, 1, 2, 3, 4}
    assert 0.5 <= a[:, 1].min() and a[:, 1].max() <= 1.0
    assert 0.0 <= a[:, 2].min() and a[:, 2].max() < 2 * np.pi
    assert 0.0 <= a[:, 3:5].min() and a[:, 3:5].max() <= 1.0


def test_object_is_where_x_and_y_say_and_as_big_as_scale_says():
    shapes = load_shapes(n=200, size=32, seed=3, cache=False)
    brightness = shapes.data.float().max(dim=1).values  # [N, 32, 32]
    mask = brightness > 100  # the object; the background stays below ~40
    rows, cols = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    area = mask.sum(dim=(1, 2)).float()
    centre_x = (mask * cols).sum(dim=(1, 2)) / area
    centre_y = (mask * rows).sum(dim=(1, 2)) / area
    x, y, scale = shapes.attributes[:, 3], shapes.attributes[:, 4], shapes.attributes[:, 1]
    expected_x = ((2 * x - 1) * 0.58 + 1) * 16 - 0.5  # image units → pixel index
    expected_y = ((2 * y - 1) * 0.58 + 1) * 16 - 0.5
    assert (centre_x - expected_x).abs().mean() < 0.6 and (centre_y - expected_y).abs().mean() < 0.8
    # Area grows with the square of the scale.
    correlation = np.corrcoef(area.numpy(), scale.numpy() ** 2)[0, 1]
    assert correlation > 0.85


def test_colour_attribute_matches_the_object_colour():
    shapes = load_shapes(n=200, size=32, seed=4, cache=False)
    pixels = shapes.data.float()
    mask = (pixels.max(dim=1).values > 100).unsqueeze(1)
    mean_rgb = (pixels * mask).sum(dim=(2, 3)) / mask.sum(dim=(2, 3))
    color = shapes.attributes[:, 5].long()
    dominant = mean_rgb.argmax(dim=1)
    assert (dominant[color == 0] == 0).all() and (dominant[color == 1] == 1).all()
    assert (dominant[color == 2] == 2).all()
    assert (mean_rgb[color == 4].min(dim=1).values > 180).all()  # white: every channel bright


def test_heart_distance_has_its_tip_below_and_lobes_above():
    assert heart_distance(np.array(0.0), np.array(0.5)) == pytest.approx(0.0, abs=1e-9)  # the tip
    assert heart_distance(np.array(0.0), np.array(0.0)) < 0  # inside
    assert heart_distance(np.array(0.25), np.array(-0.25)) < 0  # inside a lobe
    assert heart_distance(np.array(0.0), np.array(-0.55)) > 0  # in the notch between the lobes
    assert heart_distance(np.array(0.0), np.array(1.0)) == pytest.approx(0.5)


def test_cache_and_registry_and_errors(monkeypatch, tmp_path):
    monkeypatch.setenv("CONDGEN_CACHE", str(tmp_path))
    built = load_dataset("shapes", n=50, size=32, seed=7)
    assert len(list(tmp_path.glob("shapes-*.npz"))) == 1
    assert torch.equal(built.data, load_shapes(n=50, size=32, seed=7).data)
    with pytest.raises(ConfigError, match="size"):
        load_shapes(n=4, size=12)
    with pytest.raises(ConfigError, match="unknown option"):
        load_shapes(n=4, colours=3)
