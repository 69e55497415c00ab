"""Reading a CSV table: separator, header row, label column, numeric features, labels.

What is decided, and said in a note when it was not plain:

* separator: ``,``; a first line with no comma but ``;`` or tabs is read with that one;
* header: row 1 is a header when it has a field that is not a number in a column whose
  other rows are numbers (or, for a one-row file, any field that is not a number), and
  when it is exactly ``0, 1, ..., k-1`` (k >= 3; pandas' names for unnamed columns).
  Otherwise row 1 is data: the columns are unnamed and the label is the last one;
* the label column: the one named ``label`` (any case), else ``labels``, ``target`` or
  ``class``; two such columns are an error; with none, the only column holding text (in
  the first rows), else the last column (with a note);
* a first column without a name holding 0..n-1 or 1..n (pandas' index) is dropped;
* labels: all numbers (whole numbers, kept as int) or all text (kept as str).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stablenet.errors import DataError

#: names of a label column, in order of preference (compared without case)
LABEL_NAMES = ("label", "labels", "target", "class")
_INDEX_NAMES = ("", "unnamed: 0")
_SNIFF_ROWS = 50


@dataclass
class Table:
    """The cells of a CSV file: ``header`` (None when row 1 is data), ``rows`` of strings
    with their ``lines`` in the file, the ``delimiter`` and notes on what was decided."""

    path: Path
    header: list[str] | None
    rows: list[list[str]]
    lines: list[int]
    delimiter: str = ","
    notes: list[str] = field(default_factory=list)

    @property
    def n_columns(self) -> int:
        return len(self.header) if self.header is not None else len(self.rows[0])

    def name(self, col: int) -> str:
        return self.header[col] if self.header is not None else f"column {col + 1}"


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _delimiter(path: Path, first: str) -> tuple[str, list[str]]:
    if "," in first or not first.strip():
        return ",", []
    for sep, word in ((";", "semicolons"), ("\t", "tabs")):
        if sep in first:
            return sep, [f"{path}: the fields are separated by {word}, not commas (the expected "
                         f"CSV separator); read with {word}"]
    return ",", []


def _raw_rows(path: Path) -> tuple[list[list[str]], list[int], str, list[str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            sep, notes = _delimiter(path, f.readline())
            f.seek(0)
            reader = csv.reader(f, delimiter=sep)
            rows, lines = [], []
            for row in reader:
                if any(cell.strip() for cell in row):  # blank lines are skipped
                    rows.append([cell.strip() for cell in row])
                    lines.append(reader.line_num)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected a CSV file") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason}); save the table as UTF-8") from None
    except csv.Error as e:
        raise DataError(f"{path}: malformed CSV ({e})") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read file ({e.strerror or e})") from None
    return rows, lines, sep, notes


def _numeric_columns(rows: list[list[str]], width: int) -> list[bool]:
    """Per column: are all its cells in the (first few) rows numbers?"""
    sample = [r for r in rows[:_SNIFF_ROWS] if len(r) == width]
    return [bool(sample) and all(is_number(r[c]) for r in sample) for c in range(width)]


def _has_header(first: list[str], rest: list[list[str]]) -> bool:
    k = len(first)
    if k >= 3 and first == [str(i) for i in range(k)]:
        return True
    words = [c for c in range(k) if first[c] and not is_number(first[c])]
    if not rest:
        return bool(words)
    numeric = _numeric_columns(rest, k)
    return any(numeric[c] for c in words)


def read_table(path: str | Path) -> Table:
    """Read the cells of a CSV file, deciding the separator and whether row 1 is a header."""
    path = Path(path)
    rows, lines, sep, notes = _raw_rows(path)
    if not rows:
        raise DataError(f"{path}: empty file; expected a header row, then data rows")
    if _has_header(rows[0], rows[1:]):
        table = Table(path, rows[0], rows[1:], lines[1:], sep, notes)
    else:
        notes.append(
            f"{path}: row 1 holds data, not column names (no header row); it is read as data, "
            "and the last column is the label (add a header row with a 'label' column to "
            "choose another)"
        )
        table = Table(path, None, rows, lines, sep, notes)
    what = "the header" if table.header is not None else "the first row"
    for row, line in zip(table.rows, table.lines, strict=True):
        if len(row) != table.n_columns:
            raise DataError(
                f"{path}, line {line}: {len(row)} fields, but {what} has {table.n_columns}; "
                "every row needs one value per column"
            )
    if not table.rows:
        raise DataError(f"{path}: no data rows after the header")
    return table


def _matches(header: list[str], name: str) -> list[int]:
    exact = [i for i, h in enumerate(header) if h == name]
    return exact or [i for i, h in enumerate(header) if h.lower() == name.lower()]


def _one(table: Table, found: list[int], name: str) -> int:
    if len(found) > 1:
        cols = " and ".join(f"{i + 1} ({table.header[i]!r})" for i in found)
        raise DataError(
            f"{table.path}: columns {cols} are both named {name!r}; rename one so that the "
            "label column is unambiguous"
        )
    return found[0]


def label_column(table: Table, label: str | None) -> tuple[int, list[str]]:
    """The index of the label column (see the module docstring) and a note if guessed."""
    if table.header is None:
        if label is not None:
            raise DataError(
                f"{table.path}: the table has no header row, so no column is named {label!r}; "
                "add a header row naming the columns"
            )
        return table.n_columns - 1, []
    if label is not None:
        found = _matches(table.header, label)
        if not found:
            raise DataError(
                f"{table.path}: no column named {label!r}; columns are {table.header}. "
                "Pass label=<name of the label column>"
            )
        return _one(table, found, label), []
    for name in LABEL_NAMES:
        found = [i for i, h in enumerate(table.header) if h.lower() == name]
        if found:
            return _one(table, found, name), []
    text = [c for c, numeric in enumerate(_numeric_columns(table.rows, table.n_columns))
            if not numeric]
    if len(text) == 1:  # features are numbers, so the one text column holds the labels
        return text[0], [f"{table.path}: no column is named label, target or class; the only "
                         f"column of text, {table.header[text[0]]!r}, is used as the label "
                         "(name the label column 'label' to choose another)"]
    last = table.n_columns - 1
    return last, [f"{table.path}: no column is named label, target or class; the last column "
                  f"{table.header[last]!r} is used as the label (name the label column 'label' "
                  "to choose another)"]


def index_column(table: Table, label_col: int) -> list[str]:
    """Drop a first column that is pandas' row index (unnamed, 0..n-1 or 1..n); notes."""
    if table.header is None or label_col == 0 or table.header[0].lower() not in _INDEX_NAMES:
        return []
    values = [r[0] for r in table.rows]
    n = len(values)
    if values not in ([str(i) for i in range(n)], [str(i) for i in range(1, n + 1)]):
        return []
    table.header = table.header[1:]
    table.rows = [r[1:] for r in table.rows]
    return [f"{table.path}: the first column has no name and holds the row numbers (a pandas "
            "index); it is dropped, not used as a feature"]


def _parse_float(table: Table, text: str, line: int, col: int) -> float:
    where = f"{table.path}, line {line}, column {table.name(col)!r}"
    try:
        value = float(text)
    except ValueError:
        hint = ""
        if table.delimiter != "," and "," in text:
            hint = "; decimal commas are not supported, write 1.5 rather than 1,5"
        raise DataError(f"{where}: {text[:40]!r} is not a number{hint}") from None
    if not np.isfinite(value):
        raise DataError(f"{where}: non-finite value {text!r}")
    return value


def features(table: Table, cols: list[int]) -> np.ndarray:
    """The columns ``cols`` as float64 ``[N, len(cols)]``; DataError naming a bad cell."""
    return np.array(
        [[_parse_float(table, row[c], line, c) for c in cols]
         for row, line in zip(table.rows, table.lines, strict=True)],
        dtype=np.float64,
    ).reshape(len(table.rows), len(cols))


def _label_number(table: Table, text: str, line: int, col: int) -> int:
    try:
        value: float = int(text)
    except ValueError:
        value = _parse_float(table, text, line, col)
    if value != round(value) or abs(value) > 2**62:
        raise DataError(
            f"{table.path}, line {line}, column {table.name(col)!r}: label {text[:40]!r} is not a "
            "class index; numeric labels must be whole numbers (class ids), or text class names"
        )
    return int(value)


def labels(table: Table, col: int) -> np.ndarray:
    """The label column: int64 when every label is a number, else str; DataError for an
    empty label or a mix of numbers and text."""
    cells = [row[col] for row in table.rows]
    for text, line in zip(cells, table.lines, strict=True):
        if not text:
            raise DataError(f"{table.path}, line {line}: the label ({table.name(col)!r}) is "
                            "empty; every row needs a label")
    numeric = [is_number(t) for t in cells]
    if all(numeric):
        return np.array([_label_number(table, t, ln, col) for t, ln in
                         zip(cells, table.lines, strict=True)], dtype=np.int64)
    if any(numeric):
        i, j = numeric.index(True), numeric.index(False)
        raise DataError(
            f"{table.path}: the label column {table.name(col)!r} mixes numbers (line "
            f"{table.lines[i]}: {cells[i][:20]!r}) and text (line {table.lines[j]}: "
            f"{cells[j][:20]!r}); use one kind of label"
        )
    return np.array(cells, dtype=str)
