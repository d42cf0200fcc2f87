"""Reductions (tensor/reduce.py, tensor/reduction.py, kernels/reduce.cl) against PyTorch.

`check(fn, array)` runs `fn(lib, x)` with lib=clgrad and lib=torch on the same data in the same
layout and compares values, dtypes and shapes (named tuples field by field). Layouts cover
contiguous, transposed, step-sliced and expanded inputs, and sizes cover the engine's
strategies: short rows (loop mode), long inner rows (group mode), long outer dims and whole
tensors (split into parts and reduced twice).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, random_array

import clgrad

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning")

F32, F64, BOOL, I64 = clgrad.float32, clgrad.float64, clgrad.bool, clgrad.int64
NAN, INF = math.nan, math.inf
TOL = {"float32": {"rtol": 2e-5, "atol": 2e-5}, "float64": {"rtol": 1e-12, "atol": 1e-12}}


def _layout(array: np.ndarray, layout: str):
    """The same data as (clgrad, torch) tensors in `layout`."""
    x, t = clgrad.tensor(array), torch.from_numpy(array.copy())
    if layout == "t":
        return x.t(), t.t()
    if layout == "step":
        return x[::2, 1::3], t[::2, 1::3]
    if layout == "expand":
        return x[:1].expand(5, -1), t[:1].expand(5, -1)
    return x, t


def _compare(got, want, **tol):
    if isinstance(want, tuple):
        assert type(got).__name__ == type(want).__name__
        for g, w in zip(got, want):
            _compare(g, w, **tol)
        return
    assert isinstance(got, clgrad.Tensor)
    assert got.dtype.name == str(want.dtype).removeprefix("torch."), (got.dtype, want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    want = want.numpy()
    if got.dtype.is_floating_point:
        tol = tol or TOL[got.dtype.name]
        np.testing.assert_allclose(got.numpy(), want, equal_nan=True, **tol)
    else:
        np.testing.assert_array_equal(got.numpy(), want)


def check(fn, array, layout="c", **tol):
    x, t = _layout(array, layout)
    _compare(fn(clgrad, x), fn(torch, t), **tol)


# -- every reduction, every dtype it accepts ------------------------------------------------
SUMS = {
    "sum": lambda L, x, d: L.sum(x, d), "sum_keep": lambda L, x, d: x.sum(d, keepdim=True),
    "prod": lambda L, x, d: L.prod(x, d),
    "all": lambda L, x, d: L.all(x, d), "any": lambda L, x, d: x.any(d),
    "amax": lambda L, x, d: L.amax(x, d), "amin": lambda L, x, d: x.amin(d, keepdim=True),
    "max": lambda L, x, d: L.max(x, d), "min": lambda L, x, d: x.min(d, True),
    "argmax": lambda L, x, d: L.argmax(x, d), "argmin": lambda L, x, d: x.argmin(d),
}
FLOAT_ONLY = {
    "mean": lambda L, x, d: L.mean(x, d), "var": lambda L, x, d: L.var(x, d),
    "std": lambda L, x, d: x.std(d, correction=0), "norm": lambda L, x, d: L.norm(x, 2, d),
    "norm1": lambda L, x, d: x.norm(1, d), "norminf": lambda L, x, d: x.norm(INF, d),
    "logsumexp": lambda L, x, d: L.logsumexp(x, d),
    "softmax": lambda L, x, d: L.softmax(x, d), "log_softmax": lambda L, x, d: x.log_softmax(d),
}


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("name", SUMS)
def test_every_dtype(name, dtype, rng):
    if dtype is BOOL and name in ("argmax", "argmin"):
        pytest.skip("PyTorch refuses bool arg*: tested in test_errors")
    low, high = (-2, 2) if name == "prod" else (-5, 5)
    array = random_array((7, 13), dtype, rng, low, high)
    check(lambda L, x: SUMS[name](L, x, 1), array)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("name", FLOAT_ONLY)
def test_float_reductions(name, dtype, rng):
    array = random_array((7, 13), dtype, rng)
    check(lambda L, x: FLOAT_ONLY[name](L, x, 1), array)
    check(lambda L, x: FLOAT_ONLY[name](L, x, 0), array)


# -- layouts, dims and sizes: every strategy of the engine ---------------------------------
ALL = {**SUMS, **FLOAT_ONLY}
SHAPES = [(1, 1), (3, 5), (17, 1), (1, 1031), (129, 257), (5, 20011), (20011, 5)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", ["sum", "argmax", "max", "var", "amin", "log_softmax"])
def test_sizes_and_dims(name, dim, shape, rng):
    array = random_array(shape, F32, rng)
    check(lambda L, x: ALL[name](L, x, dim), array)


@pytest.mark.parametrize("layout", ["t", "step", "expand"])
@pytest.mark.parametrize("dim", [0, 1, None])
@pytest.mark.parametrize("name", ["sum", "mean", "argmin", "max", "std", "all", "prod"])
def test_non_contiguous(name, dim, layout, rng):
    if dim is None and name in ("max", "std", "softmax"):
        fn = {"max": lambda L, x: L.max(x), "std": lambda L, x: L.std(x)}[name]
    elif dim is None:
        fn = {"sum": lambda L, x: L.sum(x), "mean": lambda L, x: x.mean(),
              "argmin": lambda L, x: x.argmin(), "all": lambda L, x: L.all(x),
              "prod": lambda L, x: L.prod(x)}[name]
    else:
        fn = lambda L, x: ALL[name](L, x, dim)
    array = random_array((12, 31), F64, rng, -1.5, 1.5)
    check(fn, array, layout)


@pytest.mark.parametrize("dims", [(0,), (1,), (2,), (0, 2), (1, 2), (0, 1, 2), (-1, 0), ()])
@pytest.mark.parametrize("keepdim", [False, True])
def test_dim_tuples_over_a_permuted_3d_input(dims, keepdim, rng):
    array = random_array((6, 7, 9), F32, rng)
    x, t = clgrad.tensor(array).permute(2, 0, 1), torch.from_numpy(array).permute(2, 0, 1)
    fns = [lambda L, x: L.sum(x, dims, keepdim), lambda L, x: x.mean(dims, keepdim),
           lambda L, x: L.amax(x, dims, keepdim), lambda L, x: x.any(dims, keepdim),
           lambda L, x: L.var(x, dims, keepdim=keepdim)]
    if dims or keepdim:       # PyTorch's logsumexp(x, ()) fails on its own output shape
        fns.append(lambda L, x: L.logsumexp(x, dims, keepdim))
    for fn in fns:
        _compare(fn(clgrad, x), fn(torch, t))


def test_whole_tensor_forms(rng):
    array = random_array((11, 23), F32, rng)
    for fn in (lambda L, x: x.sum(), lambda L, x: L.mean(x), lambda L, x: x.max(),
               lambda L, x: L.min(x), lambda L, x: x.argmax(), lambda L, x: x.argmin(),
               lambda L, x: x.argmax(keepdim=True), lambda L, x: L.norm(x),
               lambda L, x: x.var(), lambda L, x: x.std(unbiased=False),
               lambda L, x: L.var(x, 1, False), lambda L, x: L.var_mean(x, 1),
               lambda L, x: L.std_mean(x), lambda L, x: x.prod(), lambda L, x: x.amax(),
               lambda L, x: x.norm(0), lambda L, x: x.norm(3.5, 1), lambda L, x: x.norm(-INF),
               lambda L, x: L.max(x, 0, keepdim=True), lambda L, x: L.max(x, x.flip(0))):
        check(fn, array)


def test_zero_dim_inputs():
    for fn in (lambda L, x: x.sum(), lambda L, x: x.sum(0), lambda L, x: x.sum(-1, True),
               lambda L, x: x.max(0), lambda L, x: x.argmax(), lambda L, x: x.mean(),
               lambda L, x: x.softmax(0), lambda L, x: x.logsumexp(0)):
        check(fn, np.array(2.5, np.float32))


def test_empty_inputs():
    array = np.zeros((3, 0), np.float32)
    for fn in (lambda L, x: x.sum(), lambda L, x: x.sum(1), lambda L, x: x.prod(1),
               lambda L, x: x.mean(1), lambda L, x: x.all(1), lambda L, x: x.any(),
               lambda L, x: x.amax(0), lambda L, x: x.max(0), lambda L, x: x.argmin(0),
               lambda L, x: x.logsumexp(1), lambda L, x: x.softmax(1), lambda L, x: x.norm(),
               lambda L, x: x.sum(0)):
        check(fn, array)


# -- dtype rules ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", INT_DTYPES + [BOOL], ids=str)
def test_integer_sums_accumulate_in_int64(dtype, rng):
    array = random_array((300,), dtype, rng, 100, 127)
    check(lambda L, x: x.sum(), array)
    check(lambda L, x: L.sum(x, 0, dtype=L.int16), array)
    check(lambda L, x: x.prod(dtype=L.float64), array, rtol=1e-12, atol=0)
    check(lambda L, x: x.mean(dtype=L.float32), array)


def test_large_int_sum_is_exact():
    array = np.full(1 << 20, 2**40 + 3, np.int64)
    assert clgrad.tensor(array).sum().item() == int(array.astype(object).sum())


def test_float_sum_dtype_argument(rng):
    array = random_array((5, 9), F32, rng)
    check(lambda L, x: x.sum(1, dtype=L.float64), array, rtol=1e-6, atol=1e-6)
    check(lambda L, x: x.sum(1, dtype=L.int32), array)
    check(lambda L, x: L.logsumexp(x.to(L.int64), 1), array)


# -- accuracy: float32 sums no worse than pairwise summation -------------------------------
@pytest.mark.parametrize("shape,dim", [((1 << 22,), None), ((3, 1 << 20), 1),
                                       ((1 << 20, 3), 0), ((1 << 21,), 0)])
def test_float32_sum_accuracy_against_float64(shape, dim, rng):
    array = (rng.random(shape) * 10).astype(np.float32)    # all positive: errors add up
    exact = array.astype(np.float64).sum(axis=dim)
    got = clgrad.tensor(array).sum(dim).numpy().astype(np.float64)
    pairwise = np.asarray(torch.from_numpy(array).sum(dim).numpy(), np.float64)
    err = np.max(np.abs(got - exact) / exact)
    assert err <= max(np.max(np.abs(pairwise - exact) / exact), 2 ** -24)
    assert err < 1e-6


def test_mean_and_var_accuracy_on_offset_data(rng):
    array = (1e4 + rng.standard_normal(1 << 20)).astype(np.float32)
    x = clgrad.tensor(array)
    assert abs(x.mean().item() - array.astype(np.float64).mean()) < 1e-3
    assert abs(x.var().item() - array.astype(np.float64).var(ddof=1)) < 1e-3


# -- NaN, infinities and ties ---------------------------------------------------------------
def test_nan_and_ties_follow_pytorch():
    rows = np.array([[1, NAN, 3, NAN], [2, 5, 5, 1], [INF, -INF, INF, 0], [7, 7, 7, 7]],
                    np.float32)
    for fn in (lambda L, x: x.max(1), lambda L, x: x.min(1), lambda L, x: x.argmax(1),
               lambda L, x: x.argmin(0), lambda L, x: x.amax(1), lambda L, x: x.argmax(),
               lambda L, x: x.sum(1), lambda L, x: x.logsumexp(1), lambda L, x: x.prod(1),
               lambda L, x: x.softmax(1), lambda L, x: x.norm(INF, 1), lambda L, x: x.max(0)):
        check(fn, rows)


def test_argmax_first_occurrence_in_a_long_row():
    array = np.zeros(100003, np.float32)
    array[[5000, 77777, 99999]] = 3
    x = clgrad.tensor(array)
    assert x.argmax().item() == 5000
    assert clgrad.tensor(-array).argmin().item() == 5000
    assert x.reshape(1, -1).t().max(0).indices.item() == 5000


def test_logsumexp_with_infinities():
    rows = np.array([[-INF, -INF], [INF, 1], [INF, -INF], [1000, 1000]], np.float32)
    check(lambda L, x: x.logsumexp(1), rows)


def test_softmax_rows_sum_to_one_and_match(rng):
    array = random_array((33, 70), F32, rng, -50, 50)
    check(lambda L, x: L.softmax(x, -1), array, rtol=1e-5, atol=1e-7)
    check(lambda L, x: L.softmax(x, 0, dtype=L.float64), array, rtol=1e-5, atol=1e-7)
    check(lambda L, x: L.log_softmax(x.t(), 1), array, rtol=1e-5, atol=1e-5)


def test_big_sum_uses_two_passes_and_stays_right(rng):
    array = random_array((1 << 21,), F32, rng)
    check(lambda L, x: x.sum(), array, rtol=1e-5, atol=1e-3)
    check(lambda L, x: x.amax(), array)
    check(lambda L, x: x.argmin(), array)
    check(lambda L, x: x.reshape(-1, 4).sum(0), array, rtol=1e-5, atol=1e-3)


def test_out_argument(rng):
    array = random_array((4, 6), F32, rng)
    x = clgrad.tensor(array)
    out = clgrad.empty(4)
    assert clgrad.sum(x, 1, out=out) is out
    np.testing.assert_allclose(out.numpy(), array.sum(1), rtol=1e-5)
    values, indices = clgrad.empty(0), clgrad.empty(0, dtype=I64)
    clgrad.max(x, 0, out=(values, indices))
    np.testing.assert_array_equal(indices.numpy(), array.argmax(0))


# -- errors ---------------------------------------------------------------------------------
ERRORS = [
    (lambda L, x: x.sum(2), IndexError, "Dimension out of range"),
    (lambda L, x: x.sum((0, 0)), RuntimeError, "dim 0 appears multiple times"),
    (lambda L, x: x.long().mean(), RuntimeError, "mean(): could not infer output dtype"),
    (lambda L, x: x.mean(dtype=L.int64), RuntimeError, "Optional dtype must be"),
    (lambda L, x: x.long().var(), RuntimeError, "std and var only support floating point"),
    (lambda L, x: x.long().norm(), RuntimeError, "Expected a floating point"),
    (lambda L, x: x.bool().argmax(), RuntimeError, "does not support bool"),
    (lambda L, x: x[:, :0].max(), RuntimeError, "Expected reduction dim to be specified"),
    (lambda L, x: x[:, :0].max(1), IndexError, "Expected reduction dim 1 to have non-zero"),
    (lambda L, x: x[:, :0].amax(1), IndexError, "Expected reduction dim 1 to have non-zero"),
    (lambda L, x: x[:, :0].argmax(), (IndexError, RuntimeError), "Expected reduction dim"),
    (lambda L, x: x.long().softmax(0), NotImplementedError, "not implemented for 'Long'"),
    (lambda L, x: x.sum(0, 1), TypeError, "keepdim"),
]


@pytest.mark.parametrize("fn,exc,message", ERRORS)
def test_errors_match_pytorch(fn, exc, message):
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    x, t = clgrad.tensor(array), torch.from_numpy(array.copy())
    with pytest.raises(exc, match=message.replace("(", r"\(").replace(")", r"\)")):
        fn(clgrad, x)
    with pytest.raises(exc):
        fn(torch, t)
    np.testing.assert_array_equal(x.numpy(), array)


def test_var_with_too_few_elements_warns_and_gives_nan():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = clgrad.tensor([1.0]).var()
    assert math.isnan(value.item())
    assert any("degrees of freedom" in str(w.message) for w in caught)
