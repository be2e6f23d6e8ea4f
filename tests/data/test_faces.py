"""The procedural ``faces`` set: determinism, layout, attribute statistics, cache and visibility."""

import time

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from condgen.data import load_dataset
from condgen.data.cache import cache_path
from condgen.data.faces import FACE_SCHEMA, GENERATOR_VERSION, load_faces, sample_face_parameters
from condgen.errors import ConfigError

BINARY = ["male", "smiling", "eyeglasses", "beard", "hat", "bangs"]


def test_same_seed_gives_identical_bytes_and_another_seed_differs():
    first = load_faces(n=48, size=32, seed=5, cache=False)
    again = load_faces(n=48, size=32, seed=5, cache=False)
    other = load_faces(n=48, size=32, seed=6, cache=False)
    assert torch.equal(first.data, again.data) and torch.equal(first.attributes, again.attributes)
    assert not torch.equal(first.data, other.data)
    assert not torch.equal(first.attributes, other.attributes)


@pytest.mark.parametrize("size", [32, 64])
def test_layout_dtypes_ranges_and_spec(size):
    faces = load_faces(n=40, size=size, seed=0, cache=False)
    assert faces.data.dtype == torch.uint8 and faces.data.shape == (40, 3, size, size)
    assert faces.attributes.dtype == torch.float32 and faces.attributes.shape == (40, 8)
    assert faces.spec == {"name": "faces", "n": 40, "size": size, "seed": 0, "modality": "images"}
    values = faces.attributes
    for name in BINARY:
        assert set(values[:, FACE_SCHEMA.index(name)].tolist()) <= {0.0, 1.0}
    yaw, skin = values[:, FACE_SCHEMA.index("yaw")], values[:, FACE_SCHEMA.index("skin_tone")]
    assert yaw.min() >= -1 and yaw.max() <= 1 and skin.min() >= 0 and skin.max() <= 1
    # Pictures use the whole range, not a washed-out band.
    assert faces.data.float().std() > 40 and faces.data.max() > 200 and faces.data.min() < 30


def test_schema_names_kinds_and_fitted_statistics():
    faces = load_faces(n=200, size=32, seed=1, cache=False)
    assert faces.schema.names == BINARY + ["yaw", "skin_tone"]
    assert [a.kind for a in faces.schema] == ["binary"] * 6 + ["continuous"] * 2
    assert all(a.description for a in faces.schema)
    male = faces.schema["male"]
    assert male.positive_rate == pytest.approx(float(faces.attributes[:, 0].mean()))
    assert faces.schema["yaw"].std == pytest.approx(float(faces.attributes[:, 6].std()), rel=1e-4)


def test_attribute_rates_and_correlations_look_like_celeba():
    p = sample_face_parameters(20000, np.random.default_rng(0))
    for name in BINARY:
        assert 0.15 <= p[name].mean() <= 0.85, name
    male = p["male"]
    assert p["beard"][~male].mean() < 0.02 and 0.35 <= p["beard"][male].mean() <= 0.45
    assert p["bangs"][~male].mean() > 2 * p["bangs"][male].mean()
    assert p["long_hair"][~male].mean() > 0.7 > 0.15 > p["long_hair"][male].mean()
    # Smiling, eyeglasses and hat are independent of sex: rates within sampling noise.
    for name in ["smiling", "eyeglasses", "hat"]:
        assert abs(p[name][male].mean() - p[name][~male].mean()) < 0.03, name
    # Nuisance colours keep their promised brightness distance from the skin.
    luma = np.array([0.299, 0.587, 0.114])
    skin = p["skin"] @ luma
    assert np.min(np.abs(p["background_a"] @ luma - skin)) > 0.2
    assert np.min(np.abs(p["hair"] @ luma - skin)) > 0.15


def test_cache_hit_returns_identical_data_faster(monkeypatch, tmp_path):
    monkeypatch.setenv("CONDGEN_CACHE", str(tmp_path))
    start = time.perf_counter()
    built = load_faces(n=1500, size=32, seed=2)
    build_seconds = time.perf_counter() - start
    key = {"n": 1500, "size": 32, "seed": 2, "version": GENERATOR_VERSION}
    path = cache_path("faces", key)
    assert path.parent == tmp_path and path.suffix == ".npz" and path.exists()
    with np.load(path, allow_pickle=False) as stored:
        assert stored["images"].dtype == np.uint8 and stored["attributes"].dtype == np.float32
    start = time.perf_counter()
    cached = load_faces(n=1500, size=32, seed=2)
    load_seconds = time.perf_counter() - start
    assert torch.equal(built.data, cached.data) and torch.equal(built.attributes, cached.attributes)
    assert load_seconds < build_seconds / 3
    assert not list(tmp_path.glob("*.tmp"))  # written atomically, no leftovers


def test_unreadable_cache_file_is_rebuilt(monkeypatch, tmp_path):
    monkeypatch.setenv("CONDGEN_CACHE", str(tmp_path))
    path = cache_path("faces", {"n": 8, "size": 32, "seed": 0, "version": GENERATOR_VERSION})
    path.write_bytes(b"not a zip file")
    faces = load_faces(n=8, size=32, seed=0)
    assert torch.equal(faces.data, load_faces(n=8, size=32, seed=0, cache=False).data)
    with np.load(path, allow_pickle=False) as stored:
        assert stored["images"].shape == (8, 3, 32, 32)


@pytest.mark.parametrize("size", [8, 15, 1000, 32.5, "32"])
def test_invalid_size_is_a_clear_config_error(size):
    with pytest.raises(ConfigError, match="size"):
        load_faces(n=4, size=size, cache=False)


def test_invalid_count_and_unknown_option_are_config_errors():
    with pytest.raises(ConfigError, match="n must be"):
        load_faces(n=0, cache=False)
    with pytest.raises(ConfigError, match="colour"):
        load_faces(n=4, colour="blue")


def test_registry_builds_faces_from_its_name():
    faces = load_dataset("faces", n=12, size=32, seed=3, cache=False)
    assert faces.spec == {"name": "faces", "n": 12, "size": 32, "seed": 3, "modality": "images"}
    assert torch.equal(faces.data, load_faces(n=12, size=32, seed=3, cache=False).data)


def test_every_binary_attribute_is_visible_to_a_linear_model_on_raw_pixels():
    faces = load_faces(n=2000, size=32, seed=11, cache=False)
    pixels = faces.data.reshape(len(faces), -1).float().numpy() / 255.0
    pixels -= pixels[:1500].mean(axis=0)
    for name in BINARY:
        labels = faces.attributes[:, faces.schema.index(name)].numpy()
        model = LogisticRegression(C=0.01, max_iter=100, tol=1e-3).fit(pixels[:1500], labels[:1500])
        accuracy = model.score(pixels[1500:], labels[1500:])
        assert accuracy >= 0.85, f"{name}: held-out accuracy {accuracy:.3f}"
