"""How a CSV table is read: label column (any case), header or not, separator, index column."""

from __future__ import annotations

import pytest
import torch

from stablenet.data import DataWarning, load_csv
from stablenet.data.table import read_table
from stablenet.errors import DataError


def write(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def rows(n=10, sep=",", label=lambda i: i % 2):
    """Row i: i, 10 i, label(i); column 0 identifies the row."""
    return "".join(f"{i}{sep}{10 * i}{sep}{label(i)}\n" for i in range(n))


def row_ids(split):
    return sorted(torch.cat([split.x_train, split.x_val])[:, 0].long().tolist())


@pytest.mark.parametrize("name", ["Label", "LABEL", "label", "target", "Class"])
def test_label_column_found_in_any_case_and_position(tmp_path, name):
    p = write(tmp_path, f"{name},a,b\n" + "".join(f"{i % 2},{i},{10 * i}\n" for i in range(10)))
    s = load_csv(p)
    assert s.label_name == name and s.feature_names == ("a", "b")
    y = torch.cat([s.y_train, s.y_val])
    x = torch.cat([s.x_train, s.x_val])
    assert torch.equal(y, x[:, 0].long() % 2)  # the label is column 1, not the last one


def test_two_label_columns_are_refused(tmp_path):
    p = write(tmp_path, "label,a,label\n" + rows())
    with pytest.raises(DataError, match="columns 1 \\('label'\\) and 3 \\('label'\\) are both"):
        load_csv(p)
    with pytest.raises(DataError, match=r"\('label'\) and 3 \('LABEL'\)"):
        load_csv(write(tmp_path, "label,a,LABEL\n" + rows(), "b.csv"))


def test_header_less_table_keeps_its_first_row(tmp_path):
    p = write(tmp_path, rows(10))
    with pytest.warns(DataWarning, match="row 1 holds data"):
        s = load_csv(p)
    assert s.n_train + s.n_val == 10 and row_ids(s) == list(range(10))
    assert s.feature_names is None and s.label_name is None
    text = write(tmp_path, "".join(f"{i},{i * 0.5},{'ab'[i % 2]}\n" for i in range(8)), "s.csv")
    with pytest.warns(DataWarning, match="row 1 holds data"):
        s = load_csv(text)  # row 1 has text only in the label column: still data
    assert s.n_train + s.n_val == 8 and s.classes == ("a", "b")
    with pytest.raises(DataError, match="no header row, so no column is named 'y'"):
        load_csv(p, label="y")


def test_header_decisions(tmp_path):
    assert read_table(write(tmp_path, "0,1,2\n" + rows(3))).header == ["0", "1", "2"]  # pandas
    assert read_table(write(tmp_path, "0,1\n5,6\n")).header is None  # 2 columns: data
    with pytest.raises(DataError, match="no data rows after the header"):
        read_table(write(tmp_path, "a,b\n"))  # one row, not numbers: a header
    assert read_table(write(tmp_path, "x1,x2,y\n1,2,u\n")).header == ["x1", "x2", "y"]
    assert read_table(write(tmp_path, "1,2,u\n3,4,v\n")).header is None


@pytest.mark.parametrize("sep, word", [(";", "semicolons"), ("\t", "tabs")])
def test_other_separators_are_read_with_a_note(tmp_path, sep, word):
    p = write(tmp_path, sep.join(["a", "b", "label"]) + "\n" + rows(10, sep))
    with pytest.warns(DataWarning, match=f"separated by {word}, not commas"):
        s = load_csv(p)
    assert s.n_features == 2 and row_ids(s) == list(range(10))


def test_decimal_commas_get_a_hint(tmp_path):
    p = write(tmp_path, "a;b;label\n1,5;2;0\n2,5;3;1\n3,5;1;0\n")
    with pytest.raises(DataError, match="'1,5' is not a number; decimal commas"):
        load_csv(p)


def test_pandas_index_column_is_dropped(tmp_path):
    p = write(tmp_path, ",a,b,label\n" + "".join(f"{i},{i},{i * 3},{i % 2}\n" for i in range(9)))
    with pytest.warns(DataWarning, match="row numbers"):
        s = load_csv(p)
    assert s.feature_names == ("a", "b") and s.n_features == 2
    kept = write(tmp_path, ",a,label\n" + "".join(f"{7 - i},{i},{i % 2}\n" for i in range(8)))
    assert load_csv(kept).n_features == 2  # not 0..n-1: an unnamed feature, kept
