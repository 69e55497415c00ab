"""Device tests: on CUDA every block, memory mode and model computes what it computes on CPU.

Each case builds the module on CPU in float64, copies it to the GPU, runs the same forward
+ backward (loss = <P, output>, P a fixed random tensor) on both devices, and compares
outputs and every gradient (parameters and input). float64 keeps the comparison tight:
the GPU kernels (cuBLAS, cuDNN) sum in a different order, so only rounding may differ.
The whole module is skipped where CUDA is absent; ``benchmarks/gpu_check.sh`` runs it.
"""

from __future__ import annotations

import copy

import pytest
import torch

import stablenet as sn
from stablenet.schemes import CONV_BLOCKS, DENSE_BLOCKS

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

F64 = torch.float64
TOL = dict(rtol=1e-9, atol=1e-11)


def forward_backward(module, x, P, **kw):
    """(output, grads of parameters in order, grad of x) of loss = <P, module(x)>."""
    module.zero_grad(set_to_none=True)
    x = x.detach().clone().requires_grad_()
    out = module(x, **kw)
    (out * P).sum().backward()
    return out.detach(), [p.grad for p in module.parameters()], x.grad


def assert_same_on_cuda(module, x, **kw):
    gen = torch.Generator().manual_seed(1)
    P = torch.randn(module(x, **kw).shape, generator=gen, dtype=F64)
    ref = forward_backward(module, x, P, **kw)
    gpu = copy.deepcopy(module).cuda()
    got = forward_backward(gpu, x.cuda(), P.cuda(), **kw)
    assert got[0].is_cuda and all(g.is_cuda for g in got[1])
    torch.testing.assert_close(got[0].cpu(), ref[0], **TOL)
    for g, r in zip(got[1], ref[1], strict=True):
        torch.testing.assert_close(g.cpu(), r, **TOL)
    torch.testing.assert_close(got[2].cpu(), ref[2], **TOL)


def make_block(scheme, conv, bias, **kw):
    torch.manual_seed(0)
    blocks = CONV_BLOCKS if conv else DENSE_BLOCKS
    block = blocks[scheme](3, 6, 1.5, bias=bias, **kw).to(F64)
    with torch.no_grad():
        block.b.normal_(0.0, 0.3)
    x = torch.randn((4, 3, 5, 5) if conv else (8, 3), dtype=F64)
    return block, x


@pytest.mark.parametrize("bias", ["scalar", "feature"])
@pytest.mark.parametrize("conv", [False, True], ids=["dense", "conv"])
@pytest.mark.parametrize("scheme", list(DENSE_BLOCKS))
def test_cuda_block_matches_cpu(scheme, conv, bias):
    block, x = make_block(scheme, conv, bias)
    assert_same_on_cuda(block, x)


@pytest.mark.parametrize("scheme", list(DENSE_BLOCKS))
def test_cuda_trajectory_matches_cpu(scheme):
    block, x = make_block(scheme, False, "feature")
    assert_same_on_cuda(block, x, return_trajectory=True)


@pytest.mark.parametrize("memory", ["reversible", "checkpoint"])
@pytest.mark.parametrize("conv", [False, True], ids=["dense", "conv"])
@pytest.mark.parametrize("scheme", ["hamiltonian", "leapfrog"])
def test_cuda_memory_modes_match_cpu(scheme, conv, memory):
    block, x = make_block(scheme, conv, "feature", memory=memory)
    assert_same_on_cuda(block, x)


@pytest.mark.parametrize("scheme", list(DENSE_BLOCKS))
def test_cuda_dense_model_matches_cpu(scheme):
    torch.manual_seed(0)
    model = sn.build_model(scheme, (2,), 3, width=4, depth=5, T=2.0).to(F64)
    assert_same_on_cuda(model, torch.randn(16, 2, dtype=F64))


@pytest.mark.parametrize("scheme", ["resnet", "hamiltonian", "parabolic"])
def test_cuda_image_model_matches_cpu(scheme):
    torch.manual_seed(0)
    model = sn.build_model(scheme, (1, 8, 8), 4, width=[2, 4], depth=2, T=1.0).to(F64)
    assert_same_on_cuda(model, torch.randn(6, 1, 8, 8, dtype=F64))


def test_cuda_float32_block_close_to_cpu():
    """The benchmarks' dtype: float32 on the GPU (TF32 off) agrees to float32 rounding."""
    block, x = make_block("hamiltonian", True, "scalar")
    block, x = block.float(), x.float()
    old = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        ref = block(x)
        got = copy.deepcopy(block).cuda()(x.cuda()).cpu()
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.filterwarnings("ignore:block 0:RuntimeWarning")  # the defaults' h = 1.25 warning
def test_cuda_training_matches_cpu(tmp_path):
    """The trainer on the GPU (data, batches, Adam, regularisers, best-model selection)
    follows the CPU run step for step in float64; the model it saves loads on the CPU."""
    from stablenet.train import TrainConfig, train

    cfg = dict(dataset="ellipses", arch="hamiltonian", optimizer="adam", epochs=2,
               batch_size=50, limit_train=200, limit_val=100, dtype="float64", seed=3)
    cpu = train(TrainConfig(**cfg, device="cpu"))
    gpu = train(TrainConfig(**cfg, device="cuda"), tmp_path / "run")
    assert next(gpu.model.parameters()).is_cuda
    ref = cpu.model.state_dict()
    got = gpu.model.state_dict()
    assert got.keys() == ref.keys()
    for key in ref:
        torch.testing.assert_close(got[key].cpu(), ref[key], rtol=1e-7, atol=1e-9)
    assert gpu.metrics["final_loss"] == pytest.approx(cpu.metrics["final_loss"], rel=1e-7)
    loaded = sn.load(tmp_path / "run" / "model.pt")
    for key, value in loaded.state_dict().items():
        assert value.device.type == "cpu"
        torch.testing.assert_close(value, ref[key], rtol=1e-7, atol=1e-9)
