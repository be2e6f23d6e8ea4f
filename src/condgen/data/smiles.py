"""SMILES strings: an atom-level tokenizer, its vocabulary, and readers for ``.smi`` / ``.csv`` files.

Tokens are chemically meaningful units, not characters: two-letter atoms (``Cl``, ``Br``), whole
bracket atoms (``[nH]``, ``[C@@H]``, ``[O-]``), two-digit ring closures (``%10``), bonds, branches
and one-digit ring closures. Joining the tokens of a SMILES gives back the SMILES exactly, so
``decode(encode(s)) == s`` for every string the tokenizer accepts.

A :class:`Vocabulary` maps tokens to ids; ids 0-3 are always the special tokens pad, bos, eos and
unk. It is saved as JSON inside model artifacts (:meth:`Vocabulary.to_dict`).
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from condgen.errors import DataError

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIAL_TOKENS = (PAD, BOS, EOS, UNK)
VOCABULARY_FORMAT = 1

# Order matters: bracket atoms first (they contain letters and digits), then two-letter atoms
# before their one-letter prefixes (Br before B, Cl before C).
SMILES_TOKEN_PATTERN = re.compile(
    r"(\[[^\[\]]+\]|Br|Cl|B|C|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|/|:|~|@|\?|>|\*|\$|%\d{2}|\d)"
)


def tokenize(smiles: str) -> list[str]:
    """Split a SMILES into atom-level tokens; ``"".join(tokenize(s)) == s``.

    Raises:
        DataError: a character that belongs to no token (e.g. ``"C&C"`` or an unclosed ``[``).
    """
    tokens = SMILES_TOKEN_PATTERN.findall(smiles)
    if sum(len(t) for t in tokens) != len(smiles):
        position = _first_uncovered(smiles, tokens)
        raise DataError(
            f"cannot tokenize SMILES {smiles!r}: unexpected text at position {position} "
            f"({smiles[position:position + 5]!r}); check the string"
        )
    return tokens


def _first_uncovered(smiles: str, tokens: Sequence[str]) -> int:
    position = 0
    for match in SMILES_TOKEN_PATTERN.finditer(smiles):
        if match.start() != position:
            return position
        position = match.end()
    return position


@dataclass(frozen=True)
class Vocabulary:
    """Token ↔ id map for SMILES; ids 0, 1, 2, 3 are ``<pad>``, ``<bos>``, ``<eos>``, ``<unk>``.

    Attributes:
        tokens: every token, position = id, the four special tokens first.
    """

    tokens: tuple[str, ...]

    def __post_init__(self) -> None:
        if tuple(self.tokens[:4]) != SPECIAL_TOKENS:
            raise DataError(f"a SMILES vocabulary must start with {SPECIAL_TOKENS}, got {self.tokens[:4]}")
        if len(set(self.tokens)) != len(self.tokens):
            raise DataError("a SMILES vocabulary lists a token twice")
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(self.tokens)})

    # -- building and saving ------------------------------------------------------------------------
    @classmethod
    def build(cls, smiles_list: Iterable[str], min_count: int = 1) -> Vocabulary:
        """Vocabulary of every token seen at least ``min_count`` times, sorted for reproducibility."""
        counts: Counter[str] = Counter()
        for smiles in smiles_list:
            counts.update(tokenize(smiles))
        kept = sorted(t for t, c in counts.items() if c >= min_count)
        return cls(SPECIAL_TOKENS + tuple(kept))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, stored in model artifacts."""
        return {"format": VOCABULARY_FORMAT, "tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocabulary:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(data, dict) or data.get("format") != VOCABULARY_FORMAT or "tokens" not in data:
            raise DataError(f"not a SMILES vocabulary (format {VOCABULARY_FORMAT}): keys {sorted(data)[:5]}")
        return cls(tuple(str(t) for t in data["tokens"]))

    # -- ids ----------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def bos_id(self) -> int:
        return 1

    @property
    def eos_id(self) -> int:
        return 2

    @property
    def unk_id(self) -> int:
        return 3

    def encode(self, smiles: str, add_bos: bool = False, add_eos: bool = False,
               allow_unknown: bool = False) -> list[int]:
        """Token ids of ``smiles``, optionally framed by ``<bos>`` / ``<eos>``.

        Raises:
            DataError: a token the vocabulary does not hold, unless ``allow_unknown`` (then ``<unk>``;
                such a string no longer decodes to itself).
        """
        ids = [self.bos_id] if add_bos else []
        for token in tokenize(smiles):
            index = self._index.get(token)  # type: ignore[attr-defined]
            if index is None:
                if not allow_unknown:
                    raise DataError(
                        f"SMILES {smiles!r} holds the token {token!r}, which is not in the vocabulary "
                        f"({len(self) - 4} tokens); rebuild the vocabulary on data that contains it"
                    )
                index = self.unk_id
            ids.append(index)
        if add_eos:
            ids.append(self.eos_id)
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """SMILES of an id sequence: skips ``<pad>``/``<bos>``, stops at ``<eos>``, ``<unk>`` → ``"?"``.

        ``"?"`` makes a string with an unknown token an invalid SMILES rather than a wrong molecule.
        """
        pieces = []
        for raw in ids:
            index = int(raw)
            if index == self.eos_id:
                break
            if index in (self.pad_id, self.bos_id):
                continue
            if index == self.unk_id:
                pieces.append("?")
            elif 0 <= index < len(self.tokens):
                pieces.append(self.tokens[index])
            else:
                raise DataError(f"token id {index} is outside the vocabulary (0..{len(self) - 1})")
        return "".join(pieces)

    def encode_batch(self, smiles_list: Sequence[str], max_length: int | None = None) -> np.ndarray:
        """Padded ids ``int64 [N, L]``, each row ``<bos> tokens <eos> <pad>…``.

        ``L`` is the longest row, or ``max_length``; a longer SMILES is an error (never cut silently).
        """
        rows = [self.encode(s, add_bos=True, add_eos=True) for s in smiles_list]
        length = max((len(r) for r in rows), default=2) if max_length is None else max_length
        batch = np.full((len(rows), length), self.pad_id, dtype=np.int64)
        for i, row in enumerate(rows):
            if len(row) > length:
                raise DataError(
                    f"SMILES {smiles_list[i]!r} needs {len(row)} tokens with <bos>/<eos>, "
                    f"more than max_length={length}; raise max_length"
                )
            batch[i, : len(row)] = row
        return batch

    def decode_batch(self, ids: np.ndarray) -> list[str]:
        """:meth:`decode` of every row of ``ids [N, L]``."""
        return [self.decode(row) for row in np.asarray(ids)]


# -- files --------------------------------------------------------------------------------------------
def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _file_kind(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    kind = suffixes[-1] if suffixes else ""
    if kind not in (".smi", ".csv", ".txt"):
        found = kind or "no suffix"
        raise DataError(f"{path}: expected a .smi, .txt or .csv file (optionally .gz), got {found!r}")
    return ".csv" if kind == ".csv" else ".smi"


def is_smiles_file(path: str | Path) -> bool:
    """True for an existing ``.smi`` / ``.txt`` file, or a ``.csv`` whose header names a SMILES column
    (optionally ``.gz``): what :func:`read_smiles_file` reads without a ``column``."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        kind = _file_kind(path)
    except DataError:
        return False
    if kind != ".csv":
        return True
    with _open_text(path) as handle:
        header = handle.readline()
    return "smiles" in [h.strip().lower() for h in header.split(",")]


def _read_smi(path: Path, comments: bool = True) -> list[tuple[int, str]]:
    """(line number, SMILES) of a ``.smi`` file: first whitespace-separated token per line; with
    ``comments``, lines starting with ``#`` are skipped (no valid SMILES starts with a bond)."""
    rows = []
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields or (comments and fields[0].startswith("#")):
                continue
            if number == 1 and fields[0].lower() == "smiles":  # a header line
                continue
            rows.append((number, fields[0]))
    return rows


def _read_csv(path: Path, column: str | None) -> list[tuple[int, str]]:
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: the file is empty; expected a CSV with a SMILES column")
        header = [h.strip() for h in header]
        if column is not None:
            if column not in header:
                raise DataError(f"{path}: no column {column!r}; the columns are {header}")
            index = header.index(column)
        else:
            matches = [i for i, h in enumerate(header) if h.lower() == "smiles"]
            if not matches:
                raise DataError(f"{path}: no SMILES column (looked for 'SMILES'/'smiles'); the columns are "
                                f"{header}; pass column=NAME")
            index = matches[0]
        # line numbers assume one record per line, true of SMILES files (no quoted newlines)
        return [(number, row[index].strip()) for number, row in enumerate(reader, start=2)
                if len(row) > index and row[index].strip()]


def read_smiles_file(path: str | Path, column: str | None = None, skip_invalid: bool = True,
                     validate: bool = True, comments: bool = True) -> list[str]:
    """SMILES strings of a ``.smi`` / ``.txt`` (one per line, an optional name after it) or ``.csv`` file.

    ``.gz``-compressed files are read too. A ``.csv`` needs a column named ``SMILES``/``smiles``, or
    ``column``. With ``validate``, strings RDKit cannot parse are skipped (``skip_invalid``, reported
    once in one line as a :class:`~condgen.data.readers.SkippedRowsWarning`) or raise DataError naming
    the file and line. ``comments=False`` keeps ``.smi`` lines starting with ``#`` (generated files,
    where every line counts, invalid ones too).

    Raises:
        DataError: missing file, unknown suffix, no SMILES column, or (``skip_invalid=False``) an
            invalid SMILES.
    """
    from condgen.data.readers import SkippedRowsWarning

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: SMILES file not found")
    try:
        rows = _read_csv(path, column) if _file_kind(path) == ".csv" else _read_smi(path, comments)
    except (UnicodeDecodeError, OSError, csv.Error) as error:
        raise DataError(f"{path}: cannot read it as text ({error})") from None
    if not validate:
        return [smiles for _, smiles in rows]
    from rdkit import Chem, rdBase

    kept, first_bad, n_bad = [], "", 0
    with rdBase.BlockLogs():  # RDKit would print one error line per invalid string
        for number, smiles in rows:
            if Chem.MolFromSmiles(smiles) is not None:
                kept.append(smiles)
                continue
            if not skip_invalid:
                raise DataError(f"{path}:{number}: invalid SMILES {smiles!r} (RDKit cannot parse it); fix it "
                                f"or read with skip_invalid=True")
            n_bad += 1
            first_bad = first_bad or f"{path}:{number}: {smiles!r}"
    if n_bad:
        warnings.warn(f"skipped {n_bad} of {len(rows)} SMILES that RDKit cannot parse (first: {first_bad})",
                      SkippedRowsWarning, stacklevel=2)
    return kept
