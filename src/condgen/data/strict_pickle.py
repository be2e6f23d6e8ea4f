"""Read a third-party pickle that holds only data, refusing anything that could run code.

condgen never pickles; it reads one kind of foreign pickle, the MOSES wheel's precomputed statistics
(``test_stats.npz``: an ``.npz`` whose single member is a pickled dict of numpy arrays, float lists and
``collections.Counter``s). A pickle names the callables it wants invoked as "globals"; this reader
admits only the few that rebuild such data — numpy array and dtype reconstruction, ``Counter``, the
plain builtin containers and numbers, and ``_codecs.encode`` restricted to the latin-1 text that
protocol 2 uses for bytes — and refuses every other global (``os.system``, ``builtins.eval``, ...)
before it is looked up, so nothing in a malicious file runs.
"""

from __future__ import annotations

import builtins
import collections
import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from condgen.errors import DataError

#: Protocol 2 pickles ``bytes`` as ``_codecs.encode(text, "latin1")``; no other codec is admitted. The name
#: is compared as a string, never looked up (a codec lookup imports modules).
_LATIN1_NAMES = frozenset({"latin1", "latin_1", "latin-1", "iso-8859-1", "iso8859-1", "l1"})


def _latin1_encode(text: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    if not isinstance(text, str) or not isinstance(encoding, str) or encoding.lower() not in _LATIN1_NAMES:
        raise pickle.UnpicklingError(f"_codecs.encode with codec {encoding!r} is not admitted")
    return text.encode("latin1", "strict")


def _counter(*args: Any) -> collections.Counter:
    """``Counter(*args)``. The pickle gets this function, not the class: a BUILD opcode sets attributes on
    the object it is given, and must not be able to patch ``collections.Counter`` for the whole process."""
    return collections.Counter(*args)


def _numpy_core(name: str) -> Any:
    """``numpy.core.multiarray.<name>`` as numpy 2 names it (``numpy._core``), or numpy 1's."""
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy 1
        from numpy.core import multiarray
    return getattr(multiarray, name)


#: (module, name) → what the pickle gets instead of importing it; the whole allow-list.
_ALLOWED: dict[tuple[str, str], Any] = {
    **{(module, name): (lambda name=name: _numpy_core(name))
       for module in ("numpy.core.multiarray", "numpy._core.multiarray") for name in ("_reconstruct", "scalar")},
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("collections", "Counter"): lambda: _counter,
    ("_codecs", "encode"): lambda: _latin1_encode,
    **{("builtins", name): (lambda name=name: getattr(builtins, name))
       for name in ("dict", "list", "tuple", "str", "int", "float", "bool")},
}


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle asked for a callable outside the allow-list (``module.name`` in ``args[0]``)."""


class StrictUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` admits only the data-rebuilding globals of :data:`_ALLOWED`."""

    def find_class(self, module: str, name: str) -> Any:
        make = _ALLOWED.get((module, name))
        if make is None:
            raise RefusedGlobal(f"{module}.{name}")
        return make()


def strict_loads(data: bytes, source: str) -> Any:
    """Unpickle ``data`` with :class:`StrictUnpickler`; ``source`` names the file in the error.

    Raises:
        DataError: the pickle asks for a refused global, or is malformed.
    """
    try:
        return StrictUnpickler(io.BytesIO(data)).load()
    except RefusedGlobal as refused:
        raise DataError(f"{source}: refused to unpickle global {refused.args[0]} (only numpy arrays, "
                        "numbers, strings, lists, dicts and Counters are read)") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise DataError(f"{source}: not a readable data pickle ({type(error).__name__}: {error})") from None


def strict_load_npz(path: Path) -> dict[str, Any]:
    """Every member of an ``.npz`` (``np.savez``), object arrays unpickled strictly: name → array or object.

    An object array's pickle is read with :func:`strict_loads`; a 0-d object array (how
    ``np.savez(stats=dict)`` stores a dict) comes back as the object itself.

    Raises:
        DataError: unreadable zip or ``.npy`` member, or a pickle with a refused global (names ``path``).
    """
    from numpy.lib import format as npy_format

    members: dict[str, Any] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                source = f"{path}[{member}]"
                with archive.open(member) as handle:
                    version = npy_format.read_magic(handle)
                    header = (npy_format.read_array_header_1_0 if version == (1, 0)
                              else npy_format.read_array_header_2_0)
                    shape, fortran_order, dtype = header(handle)
                    if dtype.hasobject:
                        value = strict_loads(handle.read(), source)
                        if shape == () and isinstance(value, np.ndarray) and value.shape == ():
                            value = value.item()
                    else:
                        value = np.frombuffer(handle.read(), dtype=dtype).reshape(
                            shape, order="F" if fortran_order else "C")
                members[member.removesuffix(".npy")] = value
    except (OSError, zipfile.BadZipFile, ValueError) as error:
        raise DataError(f"{path}: not a readable .npz ({error})") from None
    return members
