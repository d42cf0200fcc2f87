"""nn.Bilinear and F.bilinear against torch: values and gradients on the same data (float32
and float64, with and without bias, batch dims, non-contiguous inputs), gradcheck, the
module's parameters, init, repr, and torch's errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import clgrad
import clgrad.nn.functional as F
from clgrad.autograd import gradcheck

torch = pytest.importorskip("torch")
TOL = {"float32": (1e-5, 1e-5), "float64": (1e-12, 1e-12)}


def _pairs(rng, dtype, *shapes):
    """For each shape, the same random data as a clgrad and a torch leaf requiring grad."""
    out = []
    for shape in shapes:
        a = rng.standard_normal(shape).astype(dtype.np)
        out.append((clgrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)))
    return out


def _bilinear(*args):
    lib = clgrad if isinstance(args[0], clgrad.Tensor) else torch
    return lib.nn.functional.bilinear(*args)


def _compare(fn, pairs, dtype):
    """fn(*tensors) in clgrad and torch: same value and same gradients of a weighted sum."""
    rtol, atol = TOL[dtype.name]
    out = fn(*[p[0] for p in pairs])
    ref = fn(*[p[1] for p in pairs])
    assert out.dtype is dtype and out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol,
                               atol=atol)
    seed = np.linspace(-1, 1, max(out.numel(), 1))[:out.numel()].reshape(out.shape)
    (out * clgrad.tensor(seed.astype(dtype.np))).sum().backward()
    (ref * torch.tensor(seed.astype(dtype.np))).sum().backward()
    for i, (ours, theirs) in enumerate(pairs):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=rtol,
                                   atol=atol, err_msg=f"grad of operand {i}")


@pytest.mark.parametrize("dtype", [clgrad.float32, clgrad.float64], ids=str)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("lead", [(), (7,), (2, 3), (0,), (2, 0, 3)], ids=str)
def test_forward_and_grad(rng, dtype, bias, lead):
    pairs = _pairs(rng, dtype, lead + (5,), lead + (4,), (3, 5, 4), (3,))
    _compare(_bilinear, pairs if bias else pairs[:3], dtype)


@pytest.mark.parametrize("dtype", [clgrad.float32, clgrad.float64], ids=str)
def test_non_contiguous(rng, dtype):
    """Transposed and strided inputs and a permuted weight give torch's values and grads."""
    pairs = _pairs(rng, dtype, (5, 6), (6, 8), (4, 3, 5), (3,))

    def call(x1, x2, w, b):
        a, c = x1.t(), x2[:, ::2]
        assert not a.is_contiguous() and not c.is_contiguous()
        return _bilinear(a, c, w.permute(1, 2, 0), b)
    _compare(call, pairs, dtype)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_gradcheck(rng, bias):
    args = [clgrad.tensor(rng.standard_normal(s), requires_grad=True)
            for s in [(2, 3, 4), (2, 3, 2), (3, 4, 2), (3,)]]
    assert gradcheck(F.bilinear, args if bias else args[:3])


def test_top_level_and_aliases():
    assert clgrad.bilinear is F.bilinear
    assert hasattr(torch, "bilinear")


@pytest.mark.parametrize("dtype", [clgrad.float32, clgrad.float64], ids=str)
def test_module(rng, dtype):
    m = clgrad.nn.Bilinear(5, 4, 3, dtype=dtype)
    assert list(m.state_dict()) == ["weight", "bias"]
    assert m.weight.shape == (3, 5, 4) and m.bias.shape == (3,)
    assert m.weight.dtype is dtype and m.weight.requires_grad
    bound = 1 / math.sqrt(5)
    for p in (m.weight, m.bias):
        assert np.abs(p.detach().numpy()).max() <= bound
    assert m.weight.detach().numpy().std() > bound / 3        # U(-b, b) has std b / sqrt(3)
    x1 = clgrad.tensor(rng.standard_normal((2, 6, 5)).astype(dtype.np))
    x2 = clgrad.tensor(rng.standard_normal((2, 6, 4)).astype(dtype.np))
    ref = torch.nn.functional.bilinear(*[torch.tensor(t.detach().numpy())
                                         for t in (x1, x2, m.weight, m.bias)])
    rtol, atol = TOL[dtype.name]
    np.testing.assert_allclose(m(x1, x2).detach().numpy(), ref.numpy(), rtol=rtol, atol=atol)
    m(x1, x2).sum().backward()
    assert m.weight.grad.shape == (3, 5, 4) and m.bias.grad.shape == (3,)


def test_module_without_bias_and_repr():
    m = clgrad.nn.Bilinear(5, 4, 3, bias=False)
    assert m.bias is None and list(m.state_dict()) == ["weight"]
    for kwargs in ({}, {"bias": False}):
        ours = repr(clgrad.nn.Bilinear(2, 3, 4, **kwargs))
        assert ours == repr(torch.nn.Bilinear(2, 3, 4, **kwargs))
    assert clgrad.nn.Bilinear(0, 2, 3).weight.shape == (3, 0, 2)


def _error(lib, shapes, dtypes):
    args = [None if s is None else lib.zeros(s, dtype=getattr(lib, d))
            for s, d in zip(shapes, dtypes)]
    with pytest.raises(Exception) as info:
        lib.nn.functional.bilinear(*args)
    return info.type, str(info.value)


F32 = ("float32",) * 4
ERRORS = {
    "ndim": ([(2, 3), (2, 1, 4), (5, 3, 4), (5,)], F32),
    "batch": ([(2, 3), (3, 4), (5, 3, 4), (5,)], F32),
    "in1": ([(2, 4), (2, 4), (5, 3, 4), (5,)], F32),
    "in2": ([(2, 3), (2, 5), (5, 3, 4), (5,)], F32),
    "bias": ([(2, 3), (2, 4), (5, 3, 4), (4,)], F32),
    "bias_2d": ([(2, 3), (2, 4), (5, 3, 4), (1, 5)], F32),
    "scalar_input": ([(), (), (5, 3, 4), (5,)], F32),
    "scalar_bias": ([(2, 3), (2, 4), (5, 3, 4), ()], F32),
    "dtype": ([(2, 3), (2, 4), (5, 3, 4), (5,)], ("float64", "float32", "float32", "float32")),
    "dtype_bias": ([(2, 3), (2, 4), (5, 3, 4), (5,)], ("float32",) * 3 + ("float64",)),
    "dtype_no_bias": ([(2, 3), (2, 4), (5, 3, 4), None], ("float32", "float64", "float32", "")),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_match_torch(case):
    shapes, dtypes = ERRORS[case]
    assert _error(clgrad, shapes, dtypes) == _error(torch, shapes, dtypes)


@pytest.mark.parametrize("shape", [(5, 3), (5, 3, 4, 1)], ids=str)
def test_weight_not_3d(shape):
    """torch fails on such a weight from inside its kernel; clgrad names the problem, with
    torch's exception type (IndexError below 3 dims, RuntimeError above)."""
    error = IndexError if len(shape) < 3 else RuntimeError
    with pytest.raises(error):
        torch.nn.functional.bilinear(torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(shape))
    with pytest.raises(error, match=r"bilinear\(\): weight must be 3-D"):
        F.bilinear(clgrad.zeros(2, 3), clgrad.zeros(2, 4), clgrad.zeros(shape))
