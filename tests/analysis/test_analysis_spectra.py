"""spectra(): eigenvalues against matrices with known spectra and direct transcriptions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import stablenet
from stablenet.analysis import spectra
from stablenet.analysis.linalg import arnoldi_eigvals
from stablenet.analysis.network import analysis_copy, iterate_states

# Example 1 of Haber & Ruthotto 2018
K_PLUS = [[2.0, -2.0], [0.0, 2.0]]
K_MINUS = [[-2.0, 0.0], [2.0, -2.0]]
K_ZERO = [[0.0, -1.0], [1.0, 0.0]]


def sort_c(z: torch.Tensor) -> torch.Tensor:
    """Sort complex values by (real, imag), rounded so ties compare equal."""
    z = z.flatten().to(torch.complex128)
    key = torch.round(z.real * 1e6) * 1e7 + torch.round(z.imag * 1e6)
    return z[torch.argsort(key)]


def constant(K, depth: int) -> torch.Tensor:
    return torch.tensor(K).expand(depth, 2, 2).clone()


@pytest.mark.parametrize(("K", "expected"), [
    (K_PLUS, [2, 2]), (K_MINUS, [-2, -2]), (K_ZERO, [-1j, 1j]),
])
def test_example1_weight_spectra(K, expected):
    block = stablenet.ResNet(2, 10, 1.0, init=constant(K, 10))  # N = 10, h = 0.1, tanh, b = 0
    spec = spectra(block)
    assert spec.weights.shape == (10, 2) and spec.exact
    for j in range(10):
        torch.testing.assert_close(sort_c(spec.weights[j]), sort_c(torch.tensor(expected)),
                                   atol=1e-6, rtol=0)


def test_example1_data_jacobian_is_diag_sigma_prime_times_K():
    K = torch.tensor(K_ZERO, dtype=torch.float64)
    block = stablenet.ResNet(2, 10, 1.0, init=constant(K_ZERO, 10))
    x = torch.tensor([[0.1, 0.1], [-0.1, -0.1], [0.0, 0.5]])
    spec = spectra(block, x)
    ys = analysis_copy(block)(x.double(), return_trajectory=True)
    for j in range(10):
        for s in range(3):
            D = torch.diag(1 - torch.tanh(K @ ys[j, s]) ** 2)  # b = 0
            torch.testing.assert_close(sort_c(spec.data[j, s]), sort_c(torch.linalg.eigvals(D @ K)))


def test_antisymmetric_real_part_is_minus_gamma_over_2(float64):
    gamma = 0.3
    block = stablenet.AntisymmetricResNet(5, 3, 1.0, gamma=gamma)
    spec = spectra(block)
    expected = torch.full((3, 5), -gamma / 2, dtype=torch.float64)
    torch.testing.assert_close(spec.weights.real, expected)
    for j in range(3):
        K = block.K[j].detach()
        skew = torch.linalg.eigvals(0.5 * (K - K.T))
        torch.testing.assert_close(sort_c(spec.weights[j].imag), sort_c(skew.imag))


def test_gradient_hamiltonian_leapfrog_spectra_from_singular_values(float64):
    torch.manual_seed(0)
    init = torch.randn(4, 3, 3)
    sv = torch.linalg.svdvals(init)  # [4, 3]
    parabolic = spectra(stablenet.ParabolicResNet(3, 4, 1.0, init=init))
    torch.testing.assert_close(sort_c(parabolic.weights.real), sort_c(-(sv ** 2)))
    torch.testing.assert_close(parabolic.weights.imag, torch.zeros(4, 3, dtype=torch.float64))
    imaginary = torch.cat([1j * sv, -1j * sv], dim=1)
    for net in (stablenet.HamiltonianNet, stablenet.LeapfrogNet):
        spec = spectra(net(3, 4, 1.0, init=init))
        system = spec.system()
        for j in range(4):
            torch.testing.assert_close(sort_c(system[j]), sort_c(imaginary[j]), atol=1e-9, rtol=0)


def test_hamiltonian_data_jacobian_matches_transcription_and_is_imaginary(float64):
    torch.manual_seed(1)
    block = stablenet.HamiltonianNet(3, 5, 2.0, bias="feature")
    with torch.no_grad():
        block.b.normal_()
    x = torch.randn(4, 3)
    spec = spectra(block, x)
    K, b = block.K.detach(), block.b.detach()
    h, y, z = block.h, x.clone(), torch.zeros_like(x)
    for j in range(5):  # docs/theory.md 3.3, column form transposed to rows
        for s in range(4):
            Dz = torch.diag(1 - torch.tanh(K[j] @ z[s] + b[j]) ** 2)
            Dy = torch.diag(1 - torch.tanh(K[j].T @ y[s] + b[j]) ** 2)
            zero = torch.zeros(3, 3)
            J = torch.cat([torch.cat([zero, Dz @ K[j]], 1), torch.cat([-Dy @ K[j].T, zero], 1)])
            torch.testing.assert_close(sort_c(spec.data[j, s]), sort_c(torch.linalg.eigvals(J)))
        z = z - h * torch.tanh(y @ K[j] + b[j])
        y = y + h * torch.tanh(z @ K[j].T + b[j])
    assert spec.data.real.abs().max() < 1e-9  # purely imaginary for any K


def conv_matrix(kernel: torch.Tensor, C: int, H: int) -> torch.Tensor:
    """The matrix of y -> conv2d(y, kernel, padding=1) on C x H x H images (by columns)."""
    eye = torch.eye(C * H * H, dtype=kernel.dtype).reshape(-1, C, H, H)
    return F.conv2d(eye, kernel, padding=1).reshape(C * H * H, -1).T


def test_conv_weight_spectrum_matches_materialised_convolution(float64):
    torch.manual_seed(2)
    block = stablenet.ConvResNet(2, 2, 1.0)
    spec = spectra(block, image_size=5)
    assert spec.exact and spec.weights.shape == (2, 50)
    for j in range(2):
        A = conv_matrix(block.K[j].detach(), 2, 5)
        torch.testing.assert_close(sort_c(spec.weights[j]), sort_c(torch.linalg.eigvals(A)))


@pytest.mark.parametrize("net", [stablenet.ConvResNet, stablenet.ConvLeapfrogNet])
def test_conv_arnoldi_extreme_eigenvalues_match_exact(float64, net):
    torch.manual_seed(3)
    block = net(2, 2, 1.0)
    x = torch.randn(1, 2, 10, 10)  # m = 200
    exact = spectra(block, x)
    approx = spectra(block, x, exact_max=100, arnoldi_steps=60)
    assert exact.exact and not approx.exact and approx.weights.shape == (2, 60)
    for source in ("weights", "data"):
        e, a = exact.system(source), approx.system(source)
        torch.testing.assert_close(a.abs().max(dim=1).values, e.abs().max(dim=1).values,
                                   rtol=1e-3, atol=0)
        torch.testing.assert_close(a.real.max(dim=1).values, e.real.max(dim=1).values,
                                   rtol=0, atol=2e-3)


def test_arnoldi_full_krylov_space_is_exact(float64):
    A = torch.randn(30, 30, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    ritz = arnoldi_eigvals(lambda v: A @ v, 30, A, steps=30)
    torch.testing.assert_close(sort_c(ritz), sort_c(torch.linalg.eigvals(A)), atol=1e-8, rtol=0)


def test_model_spectra_one_per_block_and_states_match_forward(float64):
    model = stablenet.build_model("leapfrog", (1, 6, 6), 3, width=[2, 3], depth=3, T=1.0)
    x = torch.randn(2, 1, 6, 6)
    specs = spectra(model, x, samples=2)
    assert [s.data.shape for s in specs] == [(3, 2, 72), (3, 2, 27)]  # 2x6x6 then 3x3x3
    block = analysis_copy(model.blocks[0])
    y0 = torch.randn(2, 2, 6, 6)
    ours = torch.stack([block.integrator.output(s) for s in iterate_states(block, y0)])
    torch.testing.assert_close(ours, block(y0, return_trajectory=True))


def test_rejects_a_module_without_blocks():
    with pytest.raises(TypeError, match="StableBlock"):
        spectra(torch.nn.Linear(2, 2))
