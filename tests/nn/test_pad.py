"""F.pad against torch.nn.functional.pad: every mode, negative (cropping) widths, 1-3 padded
dims, values and gradients; gradcheck; PyTorch's errors."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_same_error

import clgrad
import clgrad.nn.functional as F
from clgrad.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

CASES = [  # shape, pad, mode, value
    ((2, 3), (1, 2), "constant", None),
    ((1, 2, 3), (-1, 1), "constant", None),
    ((1, 2, 3), (1, 1, 1, 0), "constant", 5.0),
    ((2, 3, 4, 5), (1, 0, -1, 2, 0, 1), "constant", -2.0),
    ((1, 2, 5), (2, 3), "reflect", None),
    ((2, 3, 4), (1, 2, 2, 1), "reflect", None),
    ((1, 2, 3), (-1, 1), "reflect", None),
    ((2, 3), (4, 0), "replicate", None),
    ((1, 2, 3, 4), (2, 1, 0, 3), "replicate", None),
    ((1, 2, 3, 4, 2), (1, 1, 2, 0, 1, 2), "replicate", None),
    ((1, 2, 5), (2, 3), "circular", None),
    ((2, 2, 3, 4), (1, 4, 3, 2), "circular", None),
    ((1, 1, 5), (1, -2), "circular", None),                  # crop, then wrap what is left
    ((1, 4, 5), (-1, 2, 1, -1), "circular", None),
]


@pytest.mark.parametrize("shape,pad,mode,value", CASES)
def test_matches_torch(shape, pad, mode, value):
    x = np.random.default_rng(3).standard_normal(shape)
    xo, xt = clgrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = F.pad(xo, pad, mode=mode, value=value)
    ref = TF.pad(xt, pad, mode=mode, value=value)
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    g = np.random.default_rng(4).standard_normal(tuple(ref.shape))
    (out * clgrad.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), atol=1e-12)


def test_non_contiguous_and_integers():
    x = np.arange(24).reshape(2, 3, 4)
    ours = F.pad(clgrad.tensor(x).transpose(1, 2), (1, 2), mode="reflect")
    ref = TF.pad(torch.tensor(x).transpose(1, 2), (1, 2), mode="reflect")
    np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    ours = F.pad(clgrad.tensor(x), (2, 1, 1, 1), value=7)
    np.testing.assert_array_equal(ours.numpy(), TF.pad(torch.tensor(x), (2, 1, 1, 1),
                                                       value=7).numpy())


def test_gradcheck():
    x = clgrad.tensor(np.random.default_rng(5).standard_normal((2, 3, 4)), requires_grad=True)
    for mode in ("constant", "reflect", "replicate", "circular"):
        fn = lambda x, m=mode: F.pad(x, (2, 1, 1, 2), mode=m)
        assert gradcheck(fn, (x,))
        assert gradgradcheck(fn, (x,))


ERRORS = [
    lambda f, t: f.pad(t.ones(1, 2, 3), (1,)),
    lambda f, t: f.pad(t.ones(1, 2, 3), (1, 1), mode="foo"),
    lambda f, t: f.pad(t.ones(3), (1, 1), mode="reflect"),
    lambda f, t: f.pad(t.ones(1, 2, 3), (1, 1, 1, 1, 1, 1, 1, 1)),
    lambda f, t: f.pad(t.ones(1, 2, 3), (3, 3), mode="reflect"),
    lambda f, t: f.pad(t.ones(1, 2, 3), (4, 0), mode="circular"),
    lambda f, t: f.pad(t.ones(2, 3, 4), (1, 2, 3, 1), mode="reflect"),
    lambda f, t: f.pad(t.ones(1, 2, 3), (-4, 0)),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(case):
    assert_same_error(ERRORS[case], (F, clgrad), (TF, torch))
