"""``stablenet predict`` and the label / data cases of ``stablenet train`` on a user's files:
the right answer with a note, or exit 2 with a message naming the problem."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from cli_assert import expect_error

TRAIN = ["--depth", "2", "--T", "1", "--epochs", "20", "--no-plots"]


@pytest.fixture
def flowers(tmp_path):
    """A CSV with text labels in a column called Species (not last, capitalised)."""
    rng = np.random.default_rng(0)
    names = ["setosa", "versicolor", "virginica"]
    rows = ["length,Species,weight"]
    for i in range(90):
        k = i % 3
        rows.append(f"{k * 2 + rng.normal(0, 0.2):.3f},{names[k]},{rng.normal(1e3, 50):.1f}")
    path = tmp_path / "flowers.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_train_then_predict_in_the_users_labels(cli, tmp_path, flowers):
    r = cli("train", "--dataset", flowers, *TRAIN, "--out", tmp_path / "run")
    assert r.code == 0, r.err
    assert "the only column of text, 'Species', is used as the label" in r.err
    r = cli("predict", tmp_path / "run", flowers, "--out", tmp_path / "p.csv")
    assert r.code == 0, r.err
    assert "predicted 90 examples (setosa: " in r.out and "accuracy" in r.out
    rows = list(csv.reader((tmp_path / "p.csv").open()))
    assert rows[0] == ["predicted", "p_setosa", "p_versicolor", "p_virginica", "label"]
    assert len(rows) == 91 and {r[0] for r in rows[1:]} <= {"setosa", "versicolor", "virginica"}
    accuracy = np.mean([r[0] == r[-1] for r in rows[1:]])
    assert f"accuracy {accuracy:.4f}" in r.out


def test_predict_refusals(cli, tmp_path, flowers):
    r = cli("train", "--dataset", flowers, *TRAIN, "--quiet", "--out", tmp_path / "run")
    assert r.code == 0
    expect_error(cli("predict", tmp_path / "nowhere", flowers, "--out", tmp_path / "p.csv"),
                 "does not exist")
    expect_error(cli("predict", tmp_path / "run", flowers, "--out", tmp_path), "is a directory")
    expect_error(cli("predict", tmp_path / "run", flowers, "--out", flowers), "input data file")
    expect_error(cli("predict", tmp_path / "run", flowers, "--out", tmp_path / "no/p.csv"),
                 "does not exist")
    other = tmp_path / "other.csv"
    other.write_text("size,Species\n1,setosa\n")
    expect_error(cli("predict", tmp_path / "run", other, "--out", tmp_path / "p.csv"),
                 "no column named 'length'")


def write(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


def rows(labels):
    return "a,b,label\n" + "".join(f"{i},{i % 3},{v}\n" for i, v in enumerate(labels))


@pytest.mark.parametrize("labels, fragments", [
    ([0] * 20, ["only class 0", "at least two classes"]),
    ([0, 1, 0.5, 1] * 5, ["label '0.5' is not a class index", "whole numbers"]),
    ([0, 1] * 9 + ["x", 1], ["mixes numbers", "text"]),
])
def test_bad_labels_exit_2(cli, tmp_path, labels, fragments):
    path = write(tmp_path, rows(labels))
    expect_error(cli("train", "--dataset", path, *TRAIN, "--out", tmp_path / "o"), *fragments)


def test_validation_class_never_in_training_exits_2(cli, tmp_path):
    for seed in range(20):  # a seed whose validation split holds the single row of class 7
        labels = [0, 1] * 10 + [7]
        r = cli("train", "--dataset", write(tmp_path, rows(labels)), "--seed", seed, *TRAIN,
                "--out", tmp_path / f"o{seed}")
        if r.code != 0:
            break
    expect_error(r, "class(es) 7 occur in the validation split", "never in the training split",
                 "add rows of it")


def test_limit_train_one_exits_2(cli, tmp_path, tiny_npz):
    expect_error(cli("train", "--dataset", tiny_npz, "--limit-train", "1", *TRAIN,
                     "--out", tmp_path / "o"), "only class", "limit_train=1")


def test_standardize_flag_and_run_verdict(cli, tmp_path, flowers):
    r = cli("train", "--dataset", flowers, *TRAIN, "--standardize", "none", "--epochs", "2",
            "--out", tmp_path / "raw")
    assert r.code == 0, r.err
    import stablenet

    model = stablenet.load(tmp_path / "raw" / "model.pt")
    assert model.config["standardize"] == "none"
    r = cli("train", "--dataset", flowers, "--standardize", "zscore", "--out", tmp_path / "z")
    assert r.code == 2 and "--standardize" in r.err


def test_data_notes_are_one_line_warnings(cli, tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("a;b;Label\n" + "".join(f"{i};{i % 4};{i % 2}\n" for i in range(30)))
    r = cli("train", "--dataset", path, *TRAIN, "--quiet", "--out", tmp_path / "o")
    assert r.code == 0, r.err
    assert "stablenet: warning:" in r.err and "separated by semicolons" in r.err


def test_a_run_at_chance_says_so(cli, tmp_path):
    """Constant features: every example gets the same prediction, so validation accuracy
    cannot exceed chance, whatever the weights."""
    path = tmp_path / "flat.csv"
    path.write_text("a,b,label\n" + "".join(f"1,2,{i % 2}\n" for i in range(40)))
    r = cli("train", "--dataset", path, "--depth", "2", "--T", "1", "--epochs", "2",
            "--no-plots", "--out", tmp_path / "o")
    assert r.code == 0, r.err
    assert "note: validation accuracy" in r.out and "near chance (0.500" in r.out
    assert "constant in the training split" in r.err
