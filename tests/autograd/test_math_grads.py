"""Derivatives of the math ops in clgrad/autograd/rules_math.py: finite differences (first and
second order) and PyTorch's gradients on the same data, including ties, zeros and bounds."""
from __future__ import annotations

import math

import numpy as np
import pytest

import clgrad
from clgrad.autograd import gradcheck, gradgradcheck
from clgrad.autograd.ops import RULES

torch = pytest.importorskip("torch")
F64 = clgrad.float64
INF = math.inf


def _leaf(a, strided=False):
    """A float64 leaf holding `a`; `strided`: a non-contiguous view (every other column)."""
    a = np.asarray(a, dtype=np.float64)
    if not strided or a.ndim == 0:
        return clgrad.tensor(a, dtype=F64).requires_grad_()
    wide = np.repeat(a, 2, axis=-1)
    x = clgrad.tensor(wide, dtype=F64)[..., ::2]
    assert not x.is_contiguous()
    return x.requires_grad_()


def _outputs(out) -> tuple:
    return (out,) if isinstance(out, (clgrad.Tensor, torch.Tensor)) else tuple(out)


def check(fn, *arrays, second=True, strided=(0,), rng=None):
    """fn(lib, *tensors) in clgrad: gradcheck (and gradgradcheck when `second`), with the
    inputs numbered in `strided` non-contiguous; then forward and input gradients as
    PyTorch's for the same random output gradient."""
    ours = [_leaf(a, i in strided) for i, a in enumerate(arrays)]
    assert gradcheck(lambda *ts: fn(clgrad, *ts), ours)
    if second:
        assert gradgradcheck(lambda *ts: fn(clgrad, *ts), ours)
    same_as_torch(fn, *arrays, rng=rng or np.random.default_rng(0))


def same_as_torch(fn, *arrays, rng, rtol=1e-10):
    """Forward values and the gradients of sum(out * w) for random w, against PyTorch."""
    ours = [_leaf(a) for a in arrays]
    ref = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    outs, ref_outs = _outputs(fn(clgrad, *ours)), _outputs(fn(torch, *ref))
    loss, ref_loss = 0, 0
    for o, r in zip(outs, ref_outs):
        np.testing.assert_allclose(o.detach().numpy(), r.detach().numpy(), rtol=rtol)
        w = rng.standard_normal(tuple(r.shape))
        loss = loss + (o * clgrad.tensor(w, dtype=F64)).sum()
        ref_loss = ref_loss + (r * torch.tensor(w)).sum()
    loss.backward()
    ref_loss.backward()
    for x, r in zip(ours, ref):
        want = np.zeros(tuple(r.shape)) if r.grad is None else r.grad.numpy()
        got = np.zeros(tuple(x.shape)) if x.grad is None else x.grad.numpy()
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-12)


def _uniform(rng, shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, shape)


# -- elementwise ------------------------------------------------------------------------------
UNARY = [("exp2", -2, 2), ("log2", 0.5, 3), ("log10", 0.5, 3), ("sinh", -2, 2),
         ("cosh", -2, 2), ("tan", -1.2, 1.2), ("asin", -0.9, 0.9), ("acos", -0.9, 0.9),
         ("atan", -3, 3), ("erf", -2, 2), ("absolute", 0.2, 2), ("negative", -2, 2)]


@pytest.mark.parametrize("name, low, high", UNARY)
def test_unary(name, low, high, rng):
    check(lambda lib, x: getattr(lib, name)(x), _uniform(rng, (3, 5), low, high))
    check(lambda lib, x: getattr(x, name)(), _uniform(rng, (5,), low, high), second=False)


@pytest.mark.parametrize("fn, node", [
    (lambda lib, x: lib.sign(x), "SignBackward0"), (lambda lib, x: x.ceil(), "CeilBackward0"),
    (lambda lib, x: lib.floor(x), "FloorBackward0"), (lambda lib, x: x.trunc(), "TruncBackward0"),
    (lambda lib, x: lib.round(x), "RoundBackward0"),
    (lambda lib, x: x.round(decimals=1), "RoundBackward0"),
])
def test_piecewise_constant_ops_have_zero_gradient(fn, node, rng):
    check(fn, _uniform(rng, (3, 5), -3, 3))
    x = _leaf(_uniform(rng, (4,)))
    out = fn(clgrad, x)
    assert type(out.grad_fn).__name__ == node
    out.sum().backward()
    assert x.grad.tolist() == [0.0] * 4


BINARY = [
    lambda lib, a, b: lib.multiply(a, b), lambda lib, a, b: a.multiply(b),
    lambda lib, a, b: lib.subtract(a, b, alpha=2.5), lambda lib, a, b: lib.divide(a, b),
    lambda lib, a, b: lib.true_divide(a, b), lambda lib, a, b: a.divide(b),
    lambda lib, a, b: lib.atan2(a, b), lambda lib, a, b: lib.arctan2(b, a),
    lambda lib, a, b: lib.maximum(a, b), lambda lib, a, b: b.minimum(a),
    lambda lib, a, b: lib.fmod(a, b), lambda lib, a, b: lib.remainder(a, -b),
    lambda lib, a, b: a.fmod(1.5) + b, lambda lib, a, b: lib.remainder(a, 0.7) * b,
    lambda lib, a, b: lib.div(a, b, rounding_mode="floor") + a * b,
    lambda lib, a, b: a.div(b, rounding_mode="trunc") + a * b,
]


@pytest.mark.parametrize("fn", BINARY)
def test_binary_with_broadcasting(fn, rng):
    a, b = _uniform(rng, (3, 5), -3, 3), _uniform(rng, (5,), 0.5, 2)
    check(fn, a, b)
    check(fn, b[:3, None] * np.ones((3, 4)), np.abs(a[:1, :4]) + 0.5, strided=(1,),
          second=False)


@pytest.mark.parametrize("fn", [
    lambda lib, x, s, t: lib.addcmul(x, s, t), lambda lib, x, s, t: lib.addcmul(x, s, t, value=-2),
    lambda lib, x, s, t: x.addcmul(s, t, value=0.5), lambda lib, x, s, t: lib.addcdiv(x, s, t),
    lambda lib, x, s, t: x.addcdiv(s, t, value=3),
])
def test_addcmul_addcdiv(fn, rng):
    check(fn, _uniform(rng, (5,)), _uniform(rng, (3, 5)), _uniform(rng, (3, 1), 0.5, 2))


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_ties_split_the_gradient_as_pytorch(name, rng):
    a = np.array([[1.0, 2.0, 3.0, np.nan], [4.0, -1.0, 0.0, 2.0]])
    b = np.array([[1.0, 0.0, 3.0, 1.0], [5.0, -1.0, 1.0, np.nan]])
    same_as_torch(lambda lib, x, y: getattr(lib, name)(x, y), a, b, rng=rng)
    same_as_torch(lambda lib, x, y: getattr(lib, name)(x, y), a, b[0], rng=rng)


def test_div_with_rounding_mode_has_zero_gradients():
    a, b = _leaf([1.5, -2.5, 3.0]), _leaf([0.7, 1.1, -2.0])
    clgrad.div(a, b, rounding_mode="floor").sum().backward()
    assert a.grad.tolist() == b.grad.tolist() == [0.0] * 3


def test_floor_divide_records_but_its_backward_raises_as_pytorch():
    for lib in (clgrad, torch):
        a = lib.tensor([1.5, -2.5], dtype=lib.float64, requires_grad=True)
        out = lib.floor_divide(a, 0.7)
        assert out.requires_grad
        with pytest.raises(RuntimeError, match="derivative for aten::floor_divide is not "
                                               "implemented"):
            out.sum().backward()


# -- clamp with tensor bounds ----------------------------------------------------------------
CLAMPS = [
    lambda lib, x, lo, hi: lib.clamp(x, lo, hi), lambda lib, x, lo, hi: x.clamp(min=lo, max=hi),
    lambda lib, x, lo, hi: lib.clip(x, lo, max=hi), lambda lib, x, lo, hi: x.clamp(lo) * hi,
    lambda lib, x, lo, hi: lib.clamp(x, max=hi) * lo, lambda lib, x, lo, hi: x.clamp_min(lo) * hi,
    lambda lib, x, lo, hi: lib.clamp_max(x, hi) + lo, lambda lib, x, lo, hi: x.clamp(-0.5, 0.5),
]


@pytest.mark.parametrize("fn", CLAMPS)
def test_clamp_with_tensor_bounds(fn, rng):
    x, lo, hi = _uniform(rng, (3, 5)), _uniform(rng, (5,), -1, 0), _uniform(rng, (3, 1), 0, 1)
    check(fn, x, lo, hi)
    crossed = _uniform(rng, (3, 5), 0.2, 1)          # min > max: everything is max
    check(fn, x, crossed, -crossed, second=False)


def test_clamp_ties_and_crossed_bounds_as_pytorch(rng):
    x = np.array([[-1.0, 0.0, 0.5, 1.0, 2.0], [3.0, -3.0, 0.2, 0.2, 0.7]])
    lo = np.array([[0.0, 0.0, 0.0, 1.0, 3.0], [1.0, 1.0, 0.2, 0.5, 0.7]])
    hi = np.array([[1.0, 1.0, 0.5, 1.0, 1.0], [2.0, -1.0, 0.1, 0.2, 0.7]])
    for fn in CLAMPS[:7]:
        same_as_torch(fn, x, lo, hi, rng=rng)
    same_as_torch(lambda lib, t: t.clamp(1.0, -1.0), x, rng=rng)
    same_as_torch(lambda lib, t: t.clamp(0.2, 1.0), x, rng=rng)


# -- products, scans, norms, statistics --------------------------------------------------------
REDUCTIONS = [
    (lambda lib, x: x.prod(), True), (lambda lib, x: lib.prod(x, 1), True),
    (lambda lib, x: x.prod(-1, keepdim=True), False), (lambda lib, x: x.prod(0), False),
    (lambda lib, x: lib.cumsum(x, 1), True), (lambda lib, x: x.cumsum(dim=0), False),
    (lambda lib, x: lib.cumprod(x, 1), True), (lambda lib, x: x.cumprod(-2), False),
    (lambda lib, x: x.norm(), True), (lambda lib, x: lib.norm(x, 2, 1), True),
    (lambda lib, x: x.norm("fro", (0, 1), keepdim=True), False),
    (lambda lib, x: x.norm(1, 0), True), (lambda lib, x: x.norm(3, 1), True),
    (lambda lib, x: x.norm(1.5), False), (lambda lib, x: x.norm(0.5, 1), False),
    (lambda lib, x: x.norm(-1.5, 1), False), (lambda lib, x: x.norm(INF), False),
    (lambda lib, x: x.norm(-INF, 1, True), False), (lambda lib, x: x.norm(0, 1), False),
    (lambda lib, x: lib.std_mean(x, 1), True), (lambda lib, x: lib.var_mean(x), True),
    (lambda lib, x: lib.std_mean(x, 0, keepdim=True, correction=0), False),
    (lambda lib, x: lib.var_mean(x, 1, unbiased=False), False),
    (lambda lib, x: lib.logsumexp(x, 1), True),
]


@pytest.mark.parametrize("fn, second", REDUCTIONS)
def test_reductions_and_scans(fn, second, rng):
    x = _uniform(rng, (3, 5), 0.5, 1.5) * rng.choice([-1.0, 1.0], (3, 5))
    check(fn, x, second=second)


@pytest.mark.parametrize("fn", [
    lambda lib, x: x.prod(), lambda lib, x: x.prod(1), lambda lib, x: x.prod(0, True),
    lambda lib, x: x.cumprod(1), lambda lib, x: lib.cumprod(x, 0),
])
def test_prod_and_cumprod_with_zeros_as_pytorch(fn, rng):
    x = _uniform(rng, (4, 5), 0.5, 1.5)
    x[0, 2] = 0.0                                   # one zero in a row
    x[1, 0] = x[1, 3] = 0.0                         # two zeros
    x[2, 4] = 0.0                                   # a zero at the end
    x[3, 1] = x[2, 1] = 0.0                         # zeros in one column
    same_as_torch(fn, x, rng=rng)
    one = _uniform(rng, (5,), 0.5, 1.5)
    one[3] = 0.0
    same_as_torch(fn, one[None], rng=rng)
    same_as_torch(fn, np.zeros((2, 3)), rng=rng)


@pytest.mark.parametrize("fn", [lambda x: x.prod(1), lambda x: x.prod(),
                                lambda x: x.cumprod(1)])
def test_second_derivative_of_products_at_zeros(fn, rng):
    x = _uniform(rng, (2, 4), 0.5, 1.5)
    x[0, 1] = 0.0
    x[1, 0] = x[1, 2] = 0.0
    assert gradgradcheck(fn, (_leaf(x),))


@pytest.mark.parametrize("p", [2, "fro", 1, 3, 1.5, 0.5, -2, INF, -INF, 0])
def test_norm_at_zero_as_pytorch(p, rng):
    x = _uniform(rng, (3, 4))
    x[1] = 0.0
    x[2, 1] = 0.0
    same_as_torch(lambda lib, t: t.norm(p, 1), x, rng=rng)
    if p not in (-2, -INF):        # p < 0 over everything: the zero makes the norm 0
        same_as_torch(lambda lib, t: lib.norm(t[1], p), x, rng=rng)


@pytest.mark.parametrize("p", [INF, -INF])
def test_norm_inf_ties_share_the_gradient_as_pytorch(p, rng):
    x = np.array([[1.0, -3.0, 3.0, 0.5], [2.0, 2.0, -2.0, 0.0], [-1.0, 1.0, 1.5, 1.0]])
    same_as_torch(lambda lib, t: t.norm(p, 1), x, rng=rng)
    same_as_torch(lambda lib, t: lib.norm(t[::2], p), x, rng=rng)


def test_std_mean_of_a_constant_as_pytorch(rng):
    x = np.full((2, 3), 1.5)
    same_as_torch(lambda lib, t: lib.std_mean(t, 1)[1], x, rng=rng)
    same_as_torch(lambda lib, t: lib.std_mean(t, 1), x, rng=rng)


# -- the matmul family ---------------------------------------------------------------------
MATMULS = [
    (lambda lib, a, b: lib.bmm(a, b), [(2, 3, 4), (2, 4, 3)]),
    (lambda lib, a, b: a.bmm(b), [(3, 2, 1), (3, 1, 4)]),
    (lambda lib, a, v: lib.mv(a, v), [(4, 5), (5,)]),
    (lambda lib, a, b: lib.dot(a, b), [(7,), (7,)]),
    (lambda lib, a, b: lib.outer(a, b), [(4,), (5,)]),
    (lambda lib, c, a, b: lib.addmm(c, a, b), [(3, 4), (3, 5), (5, 4)]),
    (lambda lib, c, a, b: c.addmm(a, b, beta=0.5, alpha=-2), [(4,), (3, 5), (5, 4)]),
    (lambda lib, c, a, b: lib.baddbmm(c, a, b, beta=2, alpha=0.5), [(1, 3, 2), (2, 3, 4),
                                                                   (2, 4, 2)]),
    (lambda lib, c, a, b: lib.baddbmm(c, a, b), [(2, 3, 2), (2, 3, 4), (2, 4, 2)]),
]


@pytest.mark.parametrize("fn, shapes", MATMULS)
def test_matmul_family(fn, shapes, rng):
    check(fn, *[_uniform(rng, s) for s in shapes], strided=(1,))


EINSUMS = [
    ("ij,jk->ik", [(3, 4), (4, 2)]), ("bij,bjk->bik", [(2, 3, 2), (2, 2, 3)]),
    ("i,i->", [(5,), (5,)]), ("ij->", [(3, 4)]), ("ij->ji", [(3, 4)]), ("ij->j", [(3, 4)]),
    ("ij,jk", [(3, 4), (4, 2)]), ("ij,kj", [(3, 4), (2, 4)]), ("bi,bi->b", [(3, 4), (3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 3)]), ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]),
    ("i...,i->...", [(3, 2, 2), (3,)]), ("ij,ij->i", [(3, 4), (3, 1)]),
    ("ik,jl->ijkl", [(2, 3), (2, 2)]), ("ijk,j->ik", [(2, 3, 2), (3,)]),
]


@pytest.mark.parametrize("equation, shapes", EINSUMS)
def test_einsum(equation, shapes, rng):
    check(lambda lib, *ts: lib.einsum(equation, *ts), *[_uniform(rng, s) for s in shapes],
          second=len(shapes) < 3)


def test_every_math_op_has_a_rule():
    names = ["absolute", "negative", "multiply", "subtract", "divide", "true_divide", "acos", "asin", "atan", "atan2", "arctan2", "sinh", "cosh", "tan", "erf", "exp2", "log2", "log10", "maximum", "minimum", "addcmul", "addcdiv", "fmod", "remainder", "sign", "ceil", "floor", "round", "trunc", "floor_divide", "div", "clamp", "clamp_min", "clamp_max", "clip", "prod", "norm", "cumsum", "cumprod", "std_mean", "var_mean", "bmm", "mv", "dot", "outer", "addmm", "baddbmm", "einsum"]
    assert [n for n in names if n not in RULES] == []
    assert RULES["multiply"] is RULES["mul"] and RULES["divide"] is RULES["div"]


def test_einsum_with_a_list_of_operands(rng):
    a, b = _uniform(rng, (3, 4)), _uniform(rng, (4, 2))
    same_as_torch(lambda lib, x, y: lib.einsum("ij,jk->ik", [x, y]), a, b, rng=rng)
