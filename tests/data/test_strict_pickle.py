"""The strict allow-list unpickler: data comes back, anything that could run code is refused unrun."""

import os
import pickle
from collections import Counter

import numpy as np
import pytest

from condgen.data.strict_pickle import strict_load_npz, strict_loads
from condgen.errors import DataError


class _TouchesAFile:
    """What an attacker would put in a statistics file: unpickling it runs ``os.system``."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return os.system, (f"touch {self.target}",)


def test_data_of_the_moses_kind_round_trips(tmp_path, write_moses_style_npz):
    stats = {"FCD": {"mu": np.arange(3, dtype=np.float32), "sigma": np.eye(3)},
             "SNN": {"fps": np.array([[0, 1], [1, 1]], dtype=np.uint8)},
             "Frag": {"frag": Counter({"C": 2, "[1*]C": 1})}, "logP": {"values": [1.5, -2.0]},
             "other": (1, "two", True, None, b"\x00\xff")}
    path = tmp_path / "stats.npz"
    write_moses_style_npz(path, stats)
    loaded = strict_load_npz(path)["stats"]
    assert loaded["FCD"]["mu"].dtype == np.float32
    np.testing.assert_array_equal(loaded["FCD"]["sigma"], np.eye(3))
    np.testing.assert_array_equal(loaded["SNN"]["fps"], stats["SNN"]["fps"])
    assert isinstance(loaded["Frag"]["frag"], Counter) and loaded["Frag"]["frag"] == stats["Frag"]["frag"]
    assert loaded["logP"]["values"] == [1.5, -2.0] and loaded["other"] == stats["other"]


def test_plain_arrays_in_an_npz_are_read_without_pickle(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, a=np.arange(6).reshape(2, 3), b=np.asfortranarray(np.ones((2, 2))))
    loaded = strict_load_npz(path)
    np.testing.assert_array_equal(loaded["a"], np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(loaded["b"], np.ones((2, 2)))


def test_a_malicious_pickle_is_refused_and_nothing_runs(tmp_path, write_moses_style_npz):
    target = tmp_path / "pwned"
    path = tmp_path / "test_stats.npz"
    write_moses_style_npz(path, {"FCD": _TouchesAFile(target)})
    with pytest.raises(DataError) as refused:
        strict_load_npz(path)
    message = str(refused.value)
    assert "\n" not in message and str(path) in message
    assert f"refused to unpickle global {os.system.__module__}.system" in message
    assert not target.exists()


@pytest.mark.parametrize("payload", [
    (eval, ("1",)), (getattr, (Counter, "update")), (pickle.loads, (b"",)), (np.load, ("x",)),
])
def test_every_global_outside_the_allow_list_is_refused(payload):
    class Reduces:
        def __reduce__(self):
            return payload

    with pytest.raises(DataError, match="refused to unpickle global"):
        strict_loads(pickle.dumps(Reduces(), protocol=2), "file.npz")


def test_codecs_other_than_latin1_are_refused():
    import _codecs

    class Encodes:
        def __reduce__(self):
            return _codecs.encode, ("x", "rot13")

    with pytest.raises(DataError, match="rot13"):
        strict_loads(pickle.dumps(Encodes(), protocol=2), "file.npz")


def test_a_pickle_cannot_patch_the_classes_it_may_use():
    """BUILD with a (None, {name: value}) state sets attributes on whatever object is on the stack: with a
    plain unpickler these hand-written opcodes leave ``collections.Counter.update`` None process-wide."""
    payload = (b"\x80\x02ccollections\nCounter\nq\x00N}q\x01X\x06\x00\x00\x00updateq\x02N"
               b"s\x86q\x03b.")
    try:
        strict_loads(payload, "file.npz")
    except DataError:
        pass
    assert Counter({"a": 1}) + Counter({"a": 1}) == Counter({"a": 2})
    counts = Counter()
    counts.update(["x"])
    assert counts == Counter({"x": 1})


def test_a_corrupt_file_is_a_one_line_error(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="broken.npz"):
        strict_load_npz(path)
