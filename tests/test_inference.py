"""stablenet.predict: the user's labels round-trip through training, saving and prediction;
inputs are matched to the model (columns by name, layout, 8-bit scale) or refused."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

import stablenet
from stablenet.data import DataWarning, write_idx
from stablenet.errors import CheckpointError, DataError
from stablenet.train import TrainConfig, train

pytestmark = pytest.mark.filterwarnings("ignore::stablenet.data.DataWarning")
FAST = dict(depth=2, T=1.0, epochs=30, seed=0, lr=0.05)


def table(path, labels, header="u,v,species", order=(0, 1, 2)):
    """Rows (u, v, label) with label = labels[k] for the class k that u falls in."""
    rng = np.random.default_rng(1)
    k = np.arange(90) % len(labels)
    u, v = k * 3.0 + rng.normal(0, 0.3, 90), rng.normal(500, 100, 90)
    cells = [(f"{u[i]:.4f}", f"{v[i]:.2f}", str(labels[k[i]])) for i in range(90)]
    lines = [",".join(header.split(",")[j] for j in order)] if header else []
    lines += [",".join(c[j] for j in order) for c in cells]
    path.write_text("\n".join(lines) + "\n")
    return path, [labels[j] for j in k]


@pytest.mark.parametrize("labels", [["setosa", "versicolor", "virginica"], [1, 2, 5]])
def test_labels_round_trip_through_training_saving_and_predict(tmp_path, labels):
    path, truth = table(tmp_path / "t.csv", labels)
    result = train(TrainConfig(dataset=str(path), **FAST), tmp_path / "run")
    assert result.model.config["data_info"]["classes"] == sorted(labels)
    pred = stablenet.predict(tmp_path / "run", path)  # a run directory and a CSV file
    assert pred.classes == sorted(labels) and pred.true == truth
    assert set(pred.labels) <= set(labels) and pred.accuracy >= 0.9
    model = stablenet.load(tmp_path / "run" / "model.pt")
    x = torch.tensor([[float(r[0]), float(r[1])] for r in
                      list(csv.reader(path.open()))[1:]])
    with torch.no_grad():
        expect = torch.softmax(model(x).double(), 1)
    assert torch.allclose(pred.probabilities, expect, atol=1e-12)
    assert pred.labels == [sorted(labels)[k] for k in expect.argmax(1).tolist()]
    out = pred.to_csv(tmp_path / "p.csv")
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["predicted", *(f"p_{c}" for c in sorted(labels)), "label"]
    assert [r[0] for r in rows[1:]] == [str(v) for v in pred.labels]
    assert [r[-1] for r in rows[1:]] == [str(v) for v in truth]
    sums = [sum(float(p) for p in r[1:-1]) for r in rows[1:]]
    assert max(abs(s - 1) for s in sums) < 1e-5


def test_columns_matched_by_name_and_refused_when_missing(tmp_path):
    path, _ = table(tmp_path / "t.csv", ["a", "b"])
    train(TrainConfig(dataset=str(path), **FAST), tmp_path / "run")
    reference = stablenet.predict(tmp_path / "run", path)
    moved, _ = table(tmp_path / "m.csv", ["a", "b"], order=(2, 1, 0))
    head, *body = moved.read_text().splitlines()
    moved.write_text("\n".join([head + ",id"] + [f"{r},{i}" for i, r in enumerate(body)]) + "\n")
    with pytest.warns(DataWarning, match="'id' not used by the model"):
        again = stablenet.predict(tmp_path / "run", moved)
    assert torch.equal(again.probabilities, reference.probabilities)
    bare, _ = table(tmp_path / "b.csv", ["a", "b"], header="u,w,species")
    with pytest.raises(DataError, match=r"no column named 'v'; the model was trained on the "
                       r"columns \['u', 'v'\]"):
        stablenet.predict(tmp_path / "run", bare)
    nolabels = tmp_path / "n.csv"
    nolabels.write_text("v,u\n500,0.1\n400,3.2\n")
    p = stablenet.predict(tmp_path / "run", nolabels)
    assert p.true is None and p.accuracy is None and len(p.labels) == 2


def test_npz_labels_five_and_six_predicted_as_five_and_six(tmp_path):
    rng = np.random.default_rng(0)
    y = np.arange(80) % 2 + 5
    x = np.c_[(y - 5.5) * 4 + rng.normal(0, 0.5, 80), rng.normal(size=80)]
    np.savez(tmp_path / "d.npz", x_train=x[:60], y_train=y[:60], x_val=x[60:], y_val=y[60:])
    with pytest.warns(DataWarning, match="5 -> 0, 6 -> 1"):
        result = train(TrainConfig(dataset=str(tmp_path / "d.npz"), **FAST))
    assert result.model.config["num_classes"] == 2
    pred = stablenet.predict(result.model, x[60:])  # a module and an array
    assert pred.classes == [5, 6] and pred.true is None
    assert np.mean(np.array(pred.labels) == y[60:]) >= 0.9
    np.savez(tmp_path / "test.npz", x_test=x[60:], y_test=y[60:])
    on_file = stablenet.predict(result.model, tmp_path / "test.npz")
    assert on_file.true == y[60:].tolist() and on_file.labels == pred.labels


def image_model(scaling):
    torch.manual_seed(0)
    return stablenet.build_model("hamiltonian", (1, 8, 8), 3, width=[4], depth=1, T=1.0,
                                 data_info={"classes": ["a", "b", "c"],
                                            "input_scaling": scaling}).eval()


def test_idx_images_and_their_scale(tmp_path):
    model = image_model("uint8/255")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 8, 8), dtype=np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 2, 0, 9], np.uint8))
    pred = stablenet.predict(model, tmp_path)  # a folder holding the test images
    with torch.no_grad():
        expect = torch.softmax(model(torch.from_numpy(images / 255.0).float()[:, None]).double(),
                               1)
    assert torch.allclose(pred.probabilities, expect, atol=1e-12)
    assert pred.true == ["0", "1", "2", "0", "9"]  # compared with the text classes as text
    assert pred.accuracy is None  # no label is one of the classes a, b, c
    with pytest.warns(DataWarning, match="divided by 255"):
        floats = stablenet.predict(model, images.astype(np.float32)[..., None])  # [N, H, W, 1]
    assert torch.allclose(floats.probabilities, expect, atol=1e-6)
    with pytest.raises(DataError, match=r"values in \[-1, 1\], but the model takes images"):
        stablenet.predict(model, np.linspace(-1, 1, 5 * 64).reshape(5, 1, 8, 8))
    with pytest.raises(DataError, match="trained on float images"):
        stablenet.predict(image_model(None), images)
    with pytest.raises(DataError, match=r"shape \[5, 8\], but the model takes \[N, 1, 8, 8\]"):
        stablenet.predict(model, np.zeros((5, 8)))


def test_missing_model_and_data(tmp_path):
    with pytest.raises(CheckpointError, match="has no model.pt"):
        stablenet.predict(tmp_path, np.zeros((1, 2)))
    with pytest.raises(DataError, match="file not found"):
        stablenet.predict(image_model(None), tmp_path / "none.csv")


def test_npz_model_predicts_a_table_by_position_or_label_name(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    y = (x[:, 0] > 0).astype(int)
    np.savez(tmp_path / "d.npz", x_train=x[:30], y_train=y[:30], x_val=x[30:], y_val=y[30:])
    model = train(TrainConfig(dataset=str(tmp_path / "d.npz"), **FAST)).model
    reference = stablenet.predict(model, x)
    t = tmp_path / "t.csv"
    t.write_text("label,p,q\n" + "".join(f"{y[i]},{float(x[i, 0])!r},{float(x[i, 1])!r}\n"
                                          for i in range(40)))
    on_table = stablenet.predict(model, t)  # no names in the model: the label column by name
    assert on_table.true == y.tolist()
    assert torch.allclose(on_table.probabilities, reference.probabilities, atol=1e-6)
