"""Regressions found in review of the reductions, matmul, indexing, joins, scans and sorting.

Each test asserts PyTorch 2.13's behaviour for an edge case that clgrad once got wrong (empty
reduced dims, out= dtype rules, aliasing outputs, dtype/shape checks before index writes).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import clgrad

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning")


def _np(t):
    return t.numpy()


# -- reductions ------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["sum", "mean", "prod", "var", "logsumexp"])
@pytest.mark.parametrize("shape, dim", [((0, 64), 0), ((64, 0), 1)])
def test_reduce_over_empty_dim_with_wide_kept_dim(op, shape, dim):
    want = getattr(torch, op)(torch.zeros(shape), dim)
    got = getattr(clgrad, op)(clgrad.zeros(shape), dim)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(_np(got), want.numpy())


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_unary_out_is_written(op):
    a = np.array([[1.0, 5.0], [-2.0, 3.0]], np.float32)
    out = clgrad.empty(0)
    getattr(clgrad, op)(clgrad.tensor(a), out=out)
    want = getattr(torch, op)(torch.tensor(a))
    assert tuple(out.shape) == ()
    assert out.item() == want.item()


def test_mean_out_integer_dtype_raises():
    out = clgrad.full((2,), 7, dtype=clgrad.int64)
    with pytest.raises(RuntimeError):
        clgrad.mean(clgrad.tensor([[0.6, 0.6], [1.7, 1.9]]), 1, out=out)
    assert out.tolist() == [7, 7]


def test_amax_out_dtype_mismatch_raises():
    out = clgrad.zeros(2, dtype=clgrad.float64)
    with pytest.raises(RuntimeError):
        clgrad.amax(clgrad.tensor([[0.5, 1.5], [2.5, -1.0]]), 1, out=out)
    assert out.tolist() == [0.0, 0.0]


def test_sum_out_integer_dtype_casts_elements_first():
    a = np.array([[0.6, 0.6, 0.6], [1.7, -0.2, 0.0]], np.float32)
    want = torch.sum(torch.tensor(a), 1, out=torch.empty(2, dtype=torch.int32))
    got = clgrad.sum(clgrad.tensor(a), 1, out=clgrad.empty(2, dtype=clgrad.int32))
    assert got.tolist() == want.tolist() == [0, 1]


def test_argmax_empty_without_dim_raises_index_error():
    with pytest.raises(IndexError):
        clgrad.zeros(0, 3).argmax()


def test_argmax_dim_tuple_is_type_error():
    with pytest.raises(TypeError):
        clgrad.tensor([[1.0, 2.0]]).argmax(dim=())


# -- matmul ----------------------------------------------------------------------------------
@pytest.mark.parametrize("sa, sb", [((0, 2, 3), (3, 4)), ((2, 3), (0, 3, 4))])
def test_matmul_empty_batch_with_matrix(sa, sb):
    want = torch.matmul(torch.zeros(sa), torch.zeros(sb))
    got = clgrad.matmul(clgrad.zeros(*sa), clgrad.zeros(*sb))
    assert tuple(got.shape) == tuple(want.shape) == (0, 2, 4)


# -- indexing / scatter family: missing dtype and shape checks that leave data changed ----------
def test_index_put_dtype_mismatch_raises():
    x = clgrad.zeros(4)
    with pytest.raises(RuntimeError):
        x.index_put_((clgrad.tensor([0, 2]),), clgrad.tensor([1.0, 2.0], dtype=clgrad.float64))
    assert x.tolist() == [0.0] * 4


def test_setitem_advanced_dtype_mismatch_raises():
    x = clgrad.zeros(3, 2, dtype=clgrad.int32)
    with pytest.raises(RuntimeError):
        x[[0, 2]] = clgrad.full((2, 2), 2.5, dtype=clgrad.float64)
    assert x.tolist() == [[0, 0]] * 3


@pytest.mark.parametrize("op", ["scatter_", "scatter_add_"])
def test_scatter_src_dtype_mismatch_raises(op):
    x = clgrad.zeros(2, 4)
    src = clgrad.ones(2, 2, dtype=clgrad.float64)
    with pytest.raises(RuntimeError):
        getattr(x, op)(1, clgrad.tensor([[0, 3], [1, 1]]), src)
    assert _np(x).sum() == 0


@pytest.mark.parametrize("op", ["index_copy_", "index_add_"])
def test_index_copy_add_dtype_mismatch_raises(op):
    x = clgrad.zeros(3, 4)
    with pytest.raises(RuntimeError):
        getattr(x, op)(1, clgrad.tensor([0, 2]), clgrad.ones(3, 2, dtype=clgrad.float64))
    assert _np(x).sum() == 0


@pytest.mark.parametrize("op", ["index_copy_", "index_add_"])
@pytest.mark.parametrize("source_shape", [(1, 2), (2,)])
def test_index_copy_add_source_shape_checked(op, source_shape):
    x = clgrad.zeros(3, 4)
    with pytest.raises((RuntimeError, IndexError)):
        getattr(x, op)(1, clgrad.tensor([0, 2]), clgrad.ones(*source_shape))
    assert _np(x).sum() == 0


# -- joins -----------------------------------------------------------------------------------
def test_cat_out_aliasing_an_input():
    x = clgrad.arange(4.0)
    with pytest.raises(RuntimeError):
        clgrad.cat((x[2:], x[:2]), out=x)
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("size", [2, 0])
def test_split_empty_dim_gives_one_piece(size):
    want = torch.zeros(0, 2).split(size)
    got = clgrad.zeros(0, 2).split(size)
    assert [tuple(t.shape) for t in got] == [tuple(t.shape) for t in want] == [(0, 2)]


def test_flip_zero_dim():
    assert clgrad.tensor(2.0).flip(0).item() == torch.tensor(2.0).flip(0).item() == 2.0


@pytest.mark.parametrize("op", ["flip", "tile"])
def test_flip_tile_method_varargs(op):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    args = (0, 1) if op == "flip" else (2, 2)
    want = getattr(torch.tensor(a), op)(*args)
    got = getattr(clgrad.tensor(a), op)(*args)
    np.testing.assert_array_equal(_np(got), want.numpy())


# -- sorting ---------------------------------------------------------------------------------
def test_topk_out_is_written():
    a = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], np.float32)
    values, indices = clgrad.zeros(2, 2), clgrad.zeros(2, 2, dtype=clgrad.int64)
    clgrad.topk(clgrad.tensor(a), 2, out=(values, indices))
    want = torch.topk(torch.tensor(a), 2)
    np.testing.assert_array_equal(_np(values), want.values.numpy())
    np.testing.assert_array_equal(_np(indices), want.indices.numpy())


def test_sort_out_is_resized():
    a = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], np.float32)
    values, indices = clgrad.empty(0), clgrad.empty(0, dtype=clgrad.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clgrad.sort(clgrad.tensor(a), out=(values, indices))
    want = torch.sort(torch.tensor(a))
    np.testing.assert_array_equal(_np(values), want.values.numpy())
    np.testing.assert_array_equal(_np(indices), want.indices.numpy())
