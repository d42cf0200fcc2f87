"""sort / argsort / topk against PyTorch: stable order, NaN, every row length, layouts."""
import numpy as np
import pytest
from conftest import ALL_DTYPES, torch
from test_joins import data, same

import clgrad

pytestmark = pytest.mark.skipif(torch is None, reason="PyTorch is the reference here")


def sort(lib, t, **kwargs):
    result = lib.sort(t, **kwargs)
    return tuple(result)


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
def test_dtypes_stable(dtype, rng):
    x = data((4, 13), dtype, rng)             # few distinct values: many ties
    same(lambda lib, t: sort(lib, t, dim=1, stable=True), x)
    same(lambda lib, t: sort(lib, t.t(), dim=0, descending=True, stable=True), x)
    same(lambda lib, t: lib.argsort(t, dim=-1, stable=True), x)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 8, 31, 100, 1031])
def test_row_lengths(n, rng):
    x = data((3, n), clgrad.int32, rng)
    same(lambda lib, t: sort(lib, t, stable=True), x)
    same(lambda lib, t: sort(lib, t, dim=-1, descending=True, stable=True), x)
    y = rng.permutation(n * 3).reshape(3, n).astype(np.float64)    # distinct keys
    same(lambda lib, t: sort(lib, t), y)
    same(lambda lib, t: lib.argsort(t, descending=True), y)


def test_nan_and_signed_zero(rng):
    x = np.array([[1.0, np.nan, -np.inf, 0.0, -0.0, np.nan, np.inf, -2.0]], np.float32)
    same(lambda lib, t: sort(lib, t, stable=True), x)
    same(lambda lib, t: sort(lib, t, descending=True, stable=True), x)
    same(lambda lib, t: tuple(lib.topk(t, 3)), x)
    same(lambda lib, t: lib.topk(t, 3, largest=False).values, x)    # 0.0 / -0.0 tie


@pytest.mark.parametrize("shape, dim", [((), 0), ((), -1), ((5, 0), 0), ((2, 3, 7), 1),
                                        ((2, 3, 7), 0), ((1, 9), 0)])
def test_shapes(shape, dim, rng):
    x = rng.permutation(max(int(np.prod(shape)), 1))[:int(np.prod(shape))].reshape(shape)
    same(lambda lib, t: sort(lib, t, dim=dim), x.astype(np.float32))
    same(lambda lib, t: lib.argsort(t, dim=dim, descending=True), x)


def test_strided_and_expanded(rng):
    x = data((6, 10, 5), clgrad.float32, rng)
    same(lambda lib, t: sort(lib, t[::2, 1::3].transpose(0, 2), dim=1, stable=True), x)
    same(lambda lib, t: sort(lib, t[:, :1, 0].expand(6, 4), dim=0, stable=True), x)
    result = clgrad.sort(clgrad.tensor(x), dim=1)
    assert type(result).__name__ == "sort" and result.values.is_contiguous()


@pytest.mark.parametrize("k, dim, largest", [(1, -1, True), (3, -1, False), (7, 1, True),
                                             (0, 0, True), (5, 0, False)])
def test_topk(k, dim, largest, rng):
    x = rng.permutation(35).reshape(5, 7).astype(np.int64)          # distinct: fixed indices
    got = same(lambda lib, t: tuple(lib.topk(t, k, dim=dim, largest=largest)), x)
    same(lambda lib, t: tuple(t.t().topk(k, dim=1 - dim % 2, largest=largest)), x)
    assert type(clgrad.topk(clgrad.tensor(x), k, dim)).__name__ == "topk" and len(got) == 2


def test_topk_ties_values_match(rng):
    x = data((4, 50), clgrad.int8, rng)
    values, indices = clgrad.topk(clgrad.tensor(x), 10)
    want = torch.topk(torch.from_numpy(x), 10)
    np.testing.assert_array_equal(values.numpy(), want.values.numpy())
    np.testing.assert_array_equal(np.take_along_axis(x, indices.numpy(), 1), values.numpy())


def test_errors():
    with pytest.raises(RuntimeError, match="k out of range"):
        clgrad.topk(clgrad.zeros(3), 4)
    with pytest.raises(IndexError, match="Dimension out of range"):
        clgrad.sort(clgrad.zeros(3), dim=1)


@pytest.mark.parametrize("op", ["sort", "topk"])
def test_out_is_resized_and_written(op, rng):
    x = data((3, 5), clgrad.float32, rng)
    args = (2,) if op == "topk" else ()
    for size in (0, 7):
        def call(lib, t, size=size):
            out = (lib.zeros(size), lib.zeros(size, dtype=lib.int64))
            result = getattr(lib, op)(t, *args, out=out)
            assert result.values is out[0] and result.indices is out[1]
            return out
        if size:
            with pytest.warns(UserWarning, match="resized"):
                same(call, x)
        else:
            same(call, x)


@pytest.mark.parametrize("op", ["sort", "topk"])
@pytest.mark.parametrize("out", [
    lambda lib: (lib.empty(0, dtype=lib.float64), lib.empty(0, dtype=lib.int64)),
    lambda lib: (lib.empty(0), lib.empty(0, dtype=lib.int32)),
    lambda lib: lib.empty(0),
    lambda lib: (lib.empty(0), lib.empty(0, dtype=lib.int64), lib.empty(0)),
])
def test_out_errors_as_torch(op, out):
    args = (2,) if op == "topk" else ()
    a = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], np.float32)
    with pytest.raises(Exception) as want:
        getattr(torch, op)(torch.tensor(a), *args, out=out(torch))
    with pytest.raises(want.type) as got:
        getattr(clgrad, op)(clgrad.tensor(a), *args, out=out(clgrad))
    if want.type is RuntimeError:
        assert str(got.value) == str(want.value).splitlines()[0]
