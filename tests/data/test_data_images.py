"""Image arrays in an .npz: layout (channels-last, [N, H, W]); one 8-bit scale for both splits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stablenet.data import DataWarning, load_npz
from stablenet.errors import DataError


def save(tmp_path, x_train, x_val, **extra):
    p = tmp_path / "img.npz"
    n, m = len(x_train), len(x_val)
    np.savez(p, x_train=x_train, y_train=np.arange(n) % 2, x_val=x_val, y_val=np.arange(m) % 2,
             **extra)
    return p


@pytest.mark.parametrize("channels", [3, 1])
def test_channels_last_is_transposed(tmp_path, channels):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(6, 5, 7, channels), dtype=np.uint8)
    with pytest.warns(DataWarning, match=f"channels-last; transposed to \\[N, {channels}, 5, 7\\]"):
        s = load_npz(save(tmp_path, x, x[:2]))
    assert s.input_shape == (channels, 5, 7)
    expect = torch.from_numpy(x.astype(np.float32) / 255).permute(0, 3, 1, 2)
    assert torch.equal(s.x_train, expect)  # x[n, c, h, w] == stored[n, h, w, c] / 255


def test_channels_first_is_left_alone_and_uint8_hw_gets_a_channel(tmp_path):
    x = np.zeros((4, 3, 8, 8), np.float32)
    assert load_npz(save(tmp_path, x, x[:2])).input_shape == (3, 8, 8)
    g = np.full((4, 6, 6), 51, np.uint8)
    with pytest.warns(DataWarning, match=r"single-channel images \[N, 1, H, W\]"):
        s = load_npz(save(tmp_path, g, g[:2]))
    assert s.input_shape == (1, 6, 6) and torch.allclose(s.x_val, torch.full((2, 1, 6, 6), 0.2))
    with pytest.raises(DataError, match=r"x\[:, None\]"):
        load_npz(save(tmp_path, g.astype(np.float32), g[:2].astype(np.float32)))


def test_float_0_255_with_uint8_scales_both(tmp_path):
    x8 = np.full((2, 1, 4, 4), 255, np.uint8)
    xf = np.full((4, 1, 4, 4), 255.0, np.float32)
    with pytest.warns(DataWarning, match="both divided by 255"):
        s = load_npz(save(tmp_path, xf, x8))
    assert float(s.x_train.max()) == 1.0 and float(s.x_val.max()) == 1.0
    assert s.input_scaling == "uint8/255"
    unit = np.full((4, 1, 4, 4), 1.0, np.float32)
    with pytest.warns(DataWarning, match="divided by 255 to match"):
        s = load_npz(save(tmp_path, unit, x8))  # floats already in [0, 1]: only x_val scaled
    assert float(s.x_train.max()) == 1.0 and float(s.x_val.max()) == 1.0
    with pytest.raises(DataError, match=r"x_val is uint8 .* x_train is float\d+ with values in "
                       r"\[-1, 1\]; store both splits on the same scale"):
        load_npz(save(tmp_path, np.where(np.arange(4)[:, None, None, None] % 2, -unit, unit), x8))


def test_keras_style_test_keys_are_the_validation_split(tmp_path):
    p = tmp_path / "mnist.npz"
    x = np.zeros((4, 28, 28), np.uint8)
    np.savez(p, x_train=x, y_train=[0, 1, 0, 1], x_test=x[:2], y_test=[1, 0])
    with pytest.warns(DataWarning, match="x_test / y_test used as the validation split"):
        s = load_npz(p)
    assert (s.n_train, s.n_val, s.input_shape) == (4, 2, (1, 28, 28))
