"""Joins, splits and rearrangements against PyTorch on the same data.

`same(fn, *arrays)` runs `fn(lib, *tensors)` with lib = clgrad and lib = torch on tensors made
from the same NumPy arrays and compares the results (dtype, shape, values); the other tensor
test files of issue 3 (indexing, scans, sorting) use it too.
"""
import numpy as np
import pytest
from conftest import ALL_DTYPES, TOLERANCE, random_array, torch

import clgrad

pytestmark = pytest.mark.skipif(torch is None, reason="PyTorch is the reference here")


def _to(lib, a):
    if isinstance(a, np.ndarray):
        return clgrad.tensor(a) if lib is clgrad else torch.from_numpy(a.copy())
    if isinstance(a, (list, tuple)) and a and isinstance(a[0], np.ndarray):
        return type(a)(_to(lib, x) for x in a)
    return a


def compare(got, want, exact=False):
    """Assert a clgrad result equals a torch result (recursing into tuples and lists)."""
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want), (got, want)
        for g, w in zip(got, want):
            compare(g, w, exact)
        return
    if not isinstance(want, torch.Tensor):
        assert got == want
        return
    assert isinstance(got, clgrad.Tensor), type(got)
    assert got.dtype.name == str(want.dtype).replace("torch.", ""), (got.dtype, want.dtype)
    assert tuple(got.shape) == tuple(want.shape), (got.shape, want.shape)
    rtol, atol = (0, 0) if exact else TOLERANCE.get(got.dtype.name, (0, 0))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=rtol, atol=atol, equal_nan=True)


def same(fn, *arrays, exact=False):
    """fn(clgrad, ...) == fn(torch, ...) on the same data; returns the clgrad result."""
    got = fn(clgrad, *[_to(clgrad, a) for a in arrays])
    compare(got, fn(torch, *[_to(torch, a) for a in arrays]), exact)
    return got


def data(shape, dtype, rng):
    return random_array(shape, dtype, rng)


DTYPES = pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)


@DTYPES
def test_cat_dtypes_and_layouts(dtype, rng):
    a, b = data((3, 5), dtype, rng), data((10, 4), dtype, rng)
    same(lambda lib, x, y: lib.cat([x, y.t()[:, ::2]], 0), a, b)
    same(lambda lib, x, y: lib.cat((x.t(), y[::2]), dim=-1), a, b)


CATS = [
    ("dim1", [(2, 3), (2, 0), (2, 5)], 1),
    ("neg", [(2, 3, 4), (2, 3, 1)], -1),
    ("legacy_empty_skipped", [(2, 3), (0,), (1, 3)], 0),
    ("all_empty_1d", [(0,), (0,)], 0),
    ("one", [(7,)], 0),
    ("empty_rows", [(0, 3), (2, 3)], 0),
]


@pytest.mark.parametrize("name, shapes, dim", CATS, ids=[c[0] for c in CATS])
def test_cat_shapes(name, shapes, dim, rng):
    arrays = [data(s, clgrad.float32, rng) for s in shapes]
    same(lambda lib, xs: lib.cat(xs, dim), arrays)
    same(lambda lib, xs: lib.concat(xs, dim=dim), arrays)
    same(lambda lib, xs: lib.concatenate(xs, dim), arrays)


def test_cat_promotes_and_out(rng):
    a = data((2, 3), clgrad.int8, rng)
    b = data((1, 3), clgrad.uint8, rng)
    c = data((2, 3), clgrad.float64, rng)
    same(lambda lib, x, y: lib.cat([x, y]), a, b)
    same(lambda lib, x, y, z: lib.cat([x, y, z]), a, b, c)
    same(lambda lib, x, y: lib.cat([x, y], out=lib.zeros(3, 3, dtype=lib.int16)), a, b)
    with pytest.warns(UserWarning, match="resized"):
        same(lambda lib, x, y: lib.cat([x, y], out=lib.zeros(2, 2, dtype=lib.int16)), a, b)
    with pytest.raises(RuntimeError, match="can't be cast"):
        clgrad.cat([clgrad.tensor(c)], out=clgrad.zeros(2, 3, dtype=clgrad.int64))


@pytest.mark.parametrize("parts", [
    lambda x: (x[2:], x[:2]),
    lambda x: (x,),
    lambda x: (x[:1], x[3:]),
    lambda x: (x[1:3].view(2, 1).t().reshape(2),) * 2,
])
def test_cat_out_overlapping_an_input_raises(parts):
    x = clgrad.arange(4.0)
    with pytest.raises(RuntimeError, match="refer to a single memory location"):
        clgrad.cat(parts(x), out=x)
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0]
    y = torch.arange(4.0)
    with pytest.raises(RuntimeError, match="refer to a single memory location"):
        torch.cat(parts(y), out=y)


def test_cat_out_sharing_storage_without_dense_overlap(rng):
    # Disjoint parts of one storage are fine; strided ones that may overlap are read first.
    same(lambda lib, t: (lib.cat([t[4:]], out=t[:2]), t)[1], np.arange(6, dtype=np.float32))
    same(lambda lib, t: (lib.cat([t[::2]], out=t[:3]), t)[1], np.arange(6, dtype=np.float32))
    same(lambda lib, t: (lib.cat([t[::2]], out=t[1::2]), t)[1], np.arange(6, dtype=np.float32))


@pytest.mark.parametrize("tensors, match", [
    (lambda: [clgrad.zeros(2, 3), clgrad.zeros(2, 4)], "Sizes of tensors must match except in dimension 0"),
    (lambda: [clgrad.zeros(2, 3), clgrad.zeros(3)], "same number of dimensions"),
    (lambda: [clgrad.tensor(1.0)], "zero-dimensional"),
])
def test_cat_errors(tensors, match):
    with pytest.raises(RuntimeError, match=match):
        clgrad.cat(tensors(), 0)


@pytest.mark.parametrize("name, error", [("cat", ValueError), ("concat", ValueError),
                                         ("stack", RuntimeError), ("hstack", RuntimeError),
                                         ("vstack", RuntimeError)])
def test_join_of_empty_list_raises_pytorchs_type(name, error):
    for lib in (clgrad, torch):
        with pytest.raises(error, match="non-empty"):
            getattr(lib, name)([])


def test_split_size_zero_and_flip_duplicates_name_the_value():
    x = clgrad.zeros(5, 2)
    with pytest.raises(RuntimeError, match="dimension size of 5"):
        clgrad.split(x, 0)
    assert [p.shape[0] for p in clgrad.split(clgrad.zeros(0), 0)] == [0]
    with pytest.raises(RuntimeError, match="dim 1 appears multiple times"):
        clgrad.flip(x, (1, -1))


def test_cat_not_a_list():
    with pytest.raises(TypeError, match="tuple or list"):
        clgrad.cat(clgrad.zeros(3))


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_stack(dim, rng):
    arrays = [data((3, 4), clgrad.float32, rng) for _ in range(3)]
    same(lambda lib, xs: lib.stack(xs, dim), arrays)
    same(lambda lib, xs: lib.stack([x.t().t() for x in xs], dim=dim), arrays)


def test_stack_errors():
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        clgrad.stack([clgrad.zeros(2), clgrad.zeros(3)])


def test_hstack_vstack(rng):
    a, b = data((3,), clgrad.int32, rng), data((4,), clgrad.int32, rng)
    m, n = data((2, 3), clgrad.float32, rng), data((2, 1), clgrad.float32, rng)
    same(lambda lib, x, y: lib.hstack([x, y]), a, b)
    same(lambda lib, x, y: lib.hstack((x, y)), m, n)
    same(lambda lib, x, y: lib.vstack([x, x]), a, b)
    same(lambda lib, x, y: lib.vstack([x, y.expand(2, 3)]), m, n)


@pytest.mark.parametrize("arg, dim", [(2, 0), (3, 1), (1, -1), (7, 0), ([1, 0, 4], 0),
                                      ((2, 3), 1), (5, 1)])
def test_split_views(arg, dim, rng):
    x = data((5, 5), clgrad.float32, rng)
    parts = same(lambda lib, t: lib.split(t, arg, dim), x)
    same(lambda lib, t: t.t().split(arg, dim), x)
    base = clgrad.tensor(x)
    for p in base.split(arg, dim):
        assert p.untyped_storage().data_ptr() == base.untyped_storage().data_ptr()
    assert len(parts) == len(torch.split(torch.from_numpy(x), arg, dim))


@pytest.mark.parametrize("arg", [2, 0, [0]])
def test_split_empty_dim(arg):
    same(lambda lib, t: lib.split(t, arg), np.zeros((0, 2), np.float32))
    same(lambda lib, t: t.t().split(arg, 1), np.zeros((0, 2), np.float32))


def test_split_errors():
    with pytest.raises(RuntimeError, match="sum exactly to 5"):
        clgrad.zeros(5).split([2, 2])


@pytest.mark.parametrize("n, chunks", [(5, 3), (5, 2), (6, 3), (1, 4), (0, 3), (13, 5)])
def test_chunk(n, chunks, rng):
    x = data((n, 3), clgrad.float32, rng)
    same(lambda lib, t: lib.chunk(t, chunks), x)
    same(lambda lib, t: t.t().chunk(chunks, dim=-1), x)


@pytest.mark.parametrize("arg", [3, 4, 1, [1, 4], [2, -1], [0, 7, 3], (3, 3)])
def test_tensor_split(arg, rng):
    x = data((6, 2), clgrad.float32, rng)
    same(lambda lib, t: lib.tensor_split(t, arg), x)
    same(lambda lib, t: t.t().tensor_split(arg, dim=1), x)


@DTYPES
def test_flip_dtypes(dtype, rng):
    x = data((3, 4, 5), dtype, rng)
    same(lambda lib, t: lib.flip(t, [0, 2]), x)
    same(lambda lib, t: t.transpose(0, 2)[::2].flip(-1), x)


@pytest.mark.parametrize("shape, dims", [((7,), (0,)), ((3, 1, 4), (1,)), ((0, 3), [0, 1]),
                                         ((), []), ((2, 3), ())])
def test_flip_shapes(shape, dims, rng):
    same(lambda lib, t: lib.flip(t, dims), data(shape, clgrad.float32, rng))


@pytest.mark.parametrize("dims", [[0], [-1], ()])
def test_flip_0d(dims):
    same(lambda lib, t: lib.flip(t, dims), np.array(2.5, np.float32))
    same(lambda lib, t: t.flip(*dims) if dims else t.flip(()), np.array(2.5, np.float32))


@pytest.mark.parametrize("op, args", [("flip", (0, 1)), ("flip", ([1],)), ("flip", (-1,)),
                                      ("tile", (2, 2)), ("tile", (3,)), ("tile", ((2, 1, 2),))])
def test_flip_tile_methods_take_varargs(op, args, rng):
    x = data((2, 3), clgrad.float32, rng)
    same(lambda lib, t: getattr(t, op)(*args), x)
    dims = args[0] if len(args) == 1 else args
    if not isinstance(dims, int):
        same(lambda lib, t: getattr(t, op)(dims=dims), x)


def test_flip_lr_ud(rng):
    x = data((3, 4, 2), clgrad.int16, rng)
    same(lambda lib, t: lib.fliplr(t), x)
    same(lambda lib, t: lib.flipud(t.transpose(0, 1)), x)
    with pytest.raises(RuntimeError, match=">= 2-d"):
        clgrad.fliplr(clgrad.zeros(3))
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        clgrad.flip(clgrad.zeros(3, 3), [0, -2])


@pytest.mark.parametrize("shifts, dims", [(2, None), (-3, None), (1, 0), ((1, -2), (0, 1)),
                                          (7, 1), ((2, 2), (1, 1)), (0, 0), (13, None)])
def test_roll(shifts, dims, rng):
    x = data((4, 5), clgrad.float64, rng)
    same(lambda lib, t: lib.roll(t, shifts, dims), x)
    same(lambda lib, t: t.t().roll(shifts, dims), x)


def test_roll_empty_and_dtypes(rng):
    same(lambda lib, t: lib.roll(t, 3, 1), data((0, 4), clgrad.uint8, rng))
    same(lambda lib, t: lib.roll(t, 1), data((3, 2), clgrad.bool, rng))


@DTYPES
def test_repeat_dtypes(dtype, rng):
    same(lambda lib, t: t.repeat(2, 1, 3), data((3, 2), dtype, rng))


@pytest.mark.parametrize("shape, sizes", [((3,), (4,)), ((2, 3), (1, 1)), ((2, 3), (0, 2)),
                                          ((), (3, 2)), ((2, 1), (2, 3, 4)), ((0,), (3,))])
def test_repeat_shapes(shape, sizes, rng):
    x = data(shape, clgrad.float32, rng)
    same(lambda lib, t: t.repeat(*sizes), x)
    same(lambda lib, t: t.repeat(sizes), x)


def test_repeat_noncontiguous_and_errors(rng):
    x = data((3, 4), clgrad.int64, rng)
    same(lambda lib, t: t.t()[::2].repeat(2, 2), x)
    same(lambda lib, t: t[:1].expand(3, 4).repeat(1, 2), x)
    with pytest.raises(RuntimeError, match="can not be smaller"):
        clgrad.zeros(2, 2).repeat(2)


@pytest.mark.parametrize("dims", [(2,), (2, 1), (1, 2, 2), (3,)])
def test_tile(dims, rng):
    same(lambda lib, t: lib.tile(t, dims), data((2, 3), clgrad.float32, rng))
    same(lambda lib, t: t.tile(dims), data((2, 3), clgrad.float32, rng))


@DTYPES
def test_tril_triu_dtypes(dtype, rng):
    x = data((2, 4, 5), dtype, rng)
    for d in (0, 2, -1):
        same(lambda lib, t, d=d: lib.tril(t, d), x)
        same(lambda lib, t, d=d: lib.triu(t, diagonal=d), x)


@pytest.mark.parametrize("shape", [(5, 3), (3, 7), (1, 1), (0, 3), (2, 3, 0, 2)])
def test_tril_triu_shapes(shape, rng):
    x = data(shape, clgrad.float32, rng)
    for d in (-2, 0, 1, 9):
        same(lambda lib, t, d=d: t.tril(d), x)
        same(lambda lib, t, d=d: t.triu(d), x)


def test_tril_triu_inplace_and_strided(rng):
    x = data((4, 5, 3), clgrad.float32, rng)
    same(lambda lib, t: t.transpose(0, 2).tril_(1), x)
    y = same(lambda lib, t: (t[:, ::2].triu_(-1), t)[1], x)
    assert y.shape == (4, 5, 3)
    same(lambda lib, t: lib.triu(t.transpose(1, 2), out=lib.empty(4, 3, 5)), x)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        clgrad.tril(clgrad.zeros(3))
