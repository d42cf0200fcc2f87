"""Advanced indexing, gather/scatter, masks and nonzero against PyTorch on the same data."""
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ALL_DTYPES, torch
from test_joins import data, same

import clgrad

pytestmark = pytest.mark.skipif(torch is None, reason="PyTorch is the reference here")
DTYPES = pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)


def ix(values, dtype=np.int64):
    return np.asarray(values, dtype=dtype)


# (name, index builder (lib, x) -> index): read with x[index], write with x[index] = value
READS = [
    ("list", lambda lib, x: [0, 2, -1]),
    ("tensor_2d", lambda lib, x: lib.tensor([[1, 0], [3, 3]])),
    ("int32", lambda lib, x: lib.tensor([1, 2], dtype=lib.int32)),
    ("second_dim", lambda lib, x: (slice(None), [4, 0, 4])),
    ("two_adjacent", lambda lib, x: (slice(None), [0, 1], [2, 3])),
    ("two_separated", lambda lib, x: ([0, 1], slice(None), [2, -3])),
    ("broadcast", lambda lib, x: (lib.tensor([[0], [2]]), slice(1, None, 2), lib.tensor([1, 2]))),
    ("int_and_list", lambda lib, x: (0, slice(None), [1, 2])),
    ("none_separates", lambda lib, x: (None, [0, 1], None, [1, 2])),
    ("ellipsis", lambda lib, x: (Ellipsis, [2, 0])),
    ("mask_full", lambda lib, x: x > 0),
    ("mask_leading", lambda lib, x: x.sum(-1) > 0 if hasattr(x, "sum") and False else
     (x[..., 0] > 0)),
    ("mask_middle", lambda lib, x: (slice(None), x[0, :, 0, ...] > 0)),
    ("mask_list", lambda lib, x: [True, False, True, True]),
    ("bool_true", lambda lib, x: True),
    ("bool_false", lambda lib, x: (slice(None), False)),
    ("empty_list", lambda lib, x: []),
    ("empty_mask", lambda lib, x: x < -100),
    ("byte_mask", lambda lib, x: (x[:, 0, 0] > 0).to(lib.uint8)),
]


@pytest.mark.parametrize("name, index", READS, ids=[r[0] for r in READS])
def test_getitem(name, index, rng):
    x = data((4, 5, 6), clgrad.float32, rng)
    same(lambda lib, t: t[index(lib, t)], x)
    y = data((6, 5, 8), clgrad.float32, rng)

    def strided(lib, t):
        v = t.permute(2, 1, 0)[::2]
        return v[index(lib, v)]
    same(strided, y)


WRITES = [r for r in READS if r[0] != "byte_mask"]      # PyTorch refuses byte masks here


@pytest.mark.parametrize("name, index", WRITES, ids=[r[0] for r in WRITES])
def test_setitem(name, index, rng):
    x = data((4, 5, 6), clgrad.float32, rng)
    same(lambda lib, t: (t.__setitem__(index(lib, t), -7.5), t)[1], x)
    same(lambda lib, t: (t.__setitem__(index(lib, t), lib.tensor(2.5)), t)[1], x)
    y = data((6, 5, 8), clgrad.float32, rng)

    def strided(lib, t):
        v = t.permute(2, 1, 0)[::2]
        v[index(lib, v)] = 1.5
        return t
    same(strided, y)

    def tensor_value(lib, t):
        shape = t[index(lib, t)].shape
        t[index(lib, t)] = lib.arange(shape[-1] if shape else 1, dtype=t.dtype) \
            if shape else lib.tensor(3.0)
        return t
    same(tensor_value, x)


@DTYPES
def test_dtypes(dtype, rng):
    x = data((5, 4), dtype, rng)
    v = data((3, 4), dtype, rng)
    same(lambda lib, t: t[[4, 0, 2]], x)
    same(lambda lib, t, u: (t.__setitem__(([1, 3, 0],), u), t)[1], x, v)
    same(lambda lib, t: t[t.to(lib.bool)], x)
    same(lambda lib, t: lib.index_select(t, 1, lib.tensor([3, 3, 0])), x)
    same(lambda lib, t: lib.gather(t, 0, lib.tensor([[4, 0, 1, 1]])), x)
    same(lambda lib, t: t.scatter(1, lib.tensor([[2, 0]]), 1), x)
    same(lambda lib, t: lib.take(t, lib.tensor([19, 0, -1])), x)
    same(lambda lib, t: t.masked_fill(t.to(lib.bool), 1), x)
    same(lambda lib, t: lib.masked_select(t, t.to(lib.bool)), x)
    same(lambda lib, t: lib.nonzero(t), x)
    same(lambda lib, t, u: t.index_put_((lib.tensor([1, 1, 0]),), u, accumulate=True), x, v)
    same(lambda lib, t, u: lib.scatter_add(t, 0, lib.tensor([[1, 0, 1, 1], [1, 2, 2, 1]]),
                                           u), x, v)


def test_grad_style_mask_assignment(rng):
    grad, inp = data((7, 3), clgrad.float32, rng), data((7, 3), clgrad.float32, rng)
    same(lambda lib, g, x: (g.__setitem__(x < 0, 0), g)[1], grad, inp)
    same(lambda lib, g, x: (g.__setitem__(x.t() < 0, 0), g)[1], grad.T.copy(), inp)


def test_index_put_and_accumulate(rng):
    x = data((4, 3), clgrad.float64, rng)
    same(lambda lib, t: t.index_put_((lib.tensor([0, 0, 3]), lib.tensor([1, 1, 2])),
                                     lib.tensor(1.5, dtype=t.dtype), accumulate=True), x)
    same(lambda lib, t: lib.index_put(t, (lib.tensor([[2], [1]]),), lib.ones(
        2, 5, 3, dtype=t.dtype)[:, :1], accumulate=False), x)
    same(lambda lib, t: t.index_put((lib.tensor([1, 1, 1]),), lib.ones(3, dtype=t.dtype),
                                    accumulate=True), x)


def test_index_select_forms(rng):
    x = data((4, 7), clgrad.int32, rng)
    idx = ix([6, 0, 0, 3])
    same(lambda lib, t, i: t.index_select(-1, i), x, idx)
    same(lambda lib, t, i: lib.index_select(t.t(), 0, i[:2].to(lib.int32)), x, idx)
    same(lambda lib, t, i: lib.index_select(t[0, 0], 0, i[1:2]), x, idx)
    same(lambda lib, t, i: lib.index_select(t, 0, i[:0]), x, idx)
    same(lambda lib, t, i: lib.index_select(t, 1, i, out=lib.empty(0, dtype=lib.int32)), x, idx)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather_scatter_layouts(dim, rng):
    x = data((5, 6), clgrad.float32, rng)
    index = rng.integers(0, 3, (3, 4))
    src = data((4, 7), clgrad.float32, rng)
    same(lambda lib, t, i: lib.gather(t.t()[1:, ::2], dim, i[:2, :3]), x, index)
    same(lambda lib, t, i: t.gather(dim, i.t()[:3, :2]), x, index)
    same(lambda lib, t, i, s: t.scatter_(dim, i[:2, :3], s), x, index, src)
    same(lambda lib, t, i, s: lib.scatter(t.t(), dim, i[:2], s.t()), x, index, src)
    same(lambda lib, t, i, s: t.scatter_add_(dim, i[:3, :3], s[:, ::2]), x, index, src)
    same(lambda lib, t, i: t.scatter(dim, i[:1].expand(3, 4), 2.5), x, index)


def test_gather_scatter_0d_and_empty(rng):
    x = np.array(3.5, np.float32)
    same(lambda lib, t: lib.gather(t, 0, lib.tensor(0)), x)
    same(lambda lib, t: t.scatter(0, lib.tensor(0), lib.tensor(1.5)), x)
    y = data((3, 4), clgrad.float32, rng)
    same(lambda lib, t: lib.gather(t, 1, lib.zeros(3, 0, dtype=lib.int64)), y)
    same(lambda lib, t: t.scatter_add(0, lib.zeros(0, 4, dtype=lib.int64), t), y)


def test_scatter_add_duplicates_int_types(rng):
    for dtype in (clgrad.int8, clgrad.uint8, clgrad.int16, clgrad.bool):
        x = data((3, 4), dtype, rng)
        index = np.zeros((6, 4), np.int64)
        same(lambda lib, t, i: t.scatter_add(0, i, t.repeat(2, 1)), x, index)


def test_take_masked_and_index_family(rng):
    x = data((4, 5), clgrad.float32, rng)
    same(lambda lib, t: t.t().take(lib.tensor([[0, 7], [-1, 19]])), x)
    same(lambda lib, t: lib.masked_fill(t, t[0] > 0, lib.tensor(9.0)), x)
    same(lambda lib, t: t.t().masked_fill_(t.t() > 1, -1), x)
    same(lambda lib, t: lib.masked_select(t, t[:, :1] > 0), x)
    same(lambda lib, t: lib.masked_select(t[0], t > 0), x)
    same(lambda lib, t: t.index_fill_(1, lib.tensor([0, 3]), -2), x)
    same(lambda lib, t: t.index_fill(0, lib.tensor([1]), lib.tensor(4.0)), x)
    same(lambda lib, t: t.index_copy_(0, lib.tensor([3, 0]), t[:2] * 2), x)
    same(lambda lib, t: t.index_add_(1, lib.tensor([1, 1, 4]), t[:, :3] * 1, alpha=2), x)
    same(lambda lib, t: t.index_add(0, lib.tensor([2, 2]), t[:2]), x)


@pytest.mark.parametrize("shape", [(), (0,), (7,), (3, 0), (4, 5), (2, 3, 5)])
def test_nonzero_and_where(shape, rng):
    x = np.asarray(data(shape, clgrad.int16, rng) * (rng.random(shape) < 0.4))
    same(lambda lib, t: lib.nonzero(t), x)
    same(lambda lib, t: t.nonzero(as_tuple=True), x)
    same(lambda lib, t: lib.where(t != 0), x)
    same(lambda lib, t: lib.argwhere(t), x)


def test_nonzero_long_and_strided(rng):
    x = (rng.random((3, 40_000)) < 0.3).astype(np.float32)
    same(lambda lib, t: lib.nonzero(t.t()), x)
    same(lambda lib, t: t[:, ::7].nonzero(as_tuple=True), x)
    same(lambda lib, t: t[t > 0.5].shape, x)


OUT_OF_RANGE = [
    ("getitem", lambda t: t[[0, 7]], "index 7 is out of bounds for dimension 0 with size 5"),
    ("getitem_neg", lambda t: t[:, [-5]], ("index -5 is out of bounds for dimension 1 with "
                                          "size 4")),
    ("setitem", lambda t: t.__setitem__((slice(None), [1, 4]), 1.0), "index 4 is out of"),
    ("index_put", lambda t: t.index_put_((clgrad.tensor([9]),), clgrad.tensor(1.0), True),
     "index 9 is out of bounds"),
    ("index_select", lambda t: t.index_select(0, clgrad.tensor([5])), "index 5"),
    ("gather", lambda t: t.gather(1, clgrad.tensor([[4]])), ("index 4 is out of bounds for "
                                                           "dimension 1 with size 4")),
    ("scatter", lambda t: t.scatter_(1, clgrad.tensor([[0, 4]]), 1.0), "index 4"),
    ("scatter_add", lambda t: t.scatter_add_(0, clgrad.tensor([[0, 8]]), t), "index 8"),
    ("take", lambda t: t.take(clgrad.tensor([20])), ("index 20 is out of bounds for dimension "
                                                    "0 with size 20")),
    ("index_add", lambda t: t.index_add_(1, clgrad.tensor([0, -1]), t[:, :2]), "index -1"),
    ("gather_negative", lambda t: t.gather(0, clgrad.tensor([[-1]])), "index -1"),
]


@pytest.mark.parametrize("name, op, match", OUT_OF_RANGE, ids=[o[0] for o in OUT_OF_RANGE])
def test_out_of_range_leaves_data_untouched(name, op, match, rng):
    a = data((5, 4), clgrad.float32, rng)
    x = clgrad.tensor(a)
    with pytest.raises(IndexError, match=match):
        op(x)
    np.testing.assert_array_equal(x.numpy(), a)
    assert x[[1]].shape == (1, 4)           # the flag was reset: the next op works


@pytest.mark.parametrize("op, error, match", [
    (lambda t: t[clgrad.tensor([1.0])], IndexError, "must be long, int, byte or bool"),
    (lambda t: t[clgrad.tensor([1], dtype=clgrad.int16)], IndexError, "must be long"),
    (lambda t: t[clgrad.zeros(2, dtype=clgrad.bool)], IndexError, "shape of the mask"),
    (lambda t: t[[0, 1], [[0], [1], [2]], [0, 1]], IndexError, "too many indices"),
    (lambda t: t[[0, 1], [0, 1, 2]], IndexError, "could not be broadcast"),
    (lambda t: t.__setitem__([0, 1], clgrad.ones(3)), RuntimeError, "shape mismatch"),
    (lambda t: t.gather(0, clgrad.tensor([1])), RuntimeError, "same number of dimensions"),
    (lambda t: t.index_select(0, clgrad.tensor([[1]])), IndexError, "supposed to be a vector"),
    (lambda t: t.masked_fill(clgrad.ones(5, 4), 1), RuntimeError, "boolean masks"),
    (lambda t: t.masked_fill(t > 0, clgrad.ones(2)), RuntimeError, "0-dimensional value"),
    (lambda t: t.scatter_(0, clgrad.tensor([[0]]), t, reduce="add"), NotImplementedError,
     "reduce"),
    (lambda t: t.index_fill_(0, clgrad.tensor([1.0]), 0), IndexError, "int64 for index"),
    (lambda t: t.index_fill(0, clgrad.tensor([1], dtype=clgrad.int32), 0), IndexError,
     "int64 for index, got int32"),
])
def test_errors(op, error, match, rng):
    a = data((5, 4), clgrad.float32, rng)
    x = clgrad.tensor(a)
    with pytest.raises(error, match=match):
        op(x)
    np.testing.assert_array_equal(x.numpy(), a)


def _second_device():
    cpu = clgrad.runtime.cpu_device()
    return next((d for d in clgrad.runtime.all_devices() if d is not cpu and
                 not d.is_simulator and d.problem() is None), None)


@pytest.mark.parametrize("op", [
    lambda t, i: t.gather(1, i.view(1, 2)), lambda t, i: t.index_select(0, i),
    lambda t, i: t.index_fill_(0, i, 1.0), lambda t, i: t.index_add_(0, i, t[:2]),
    lambda t, i: t.index_copy_(0, i, t[:2]), lambda t, i: t.scatter_(1, i.view(1, 2), 1.0),
    lambda t, i: t.take(i), lambda t, i: t.masked_select(i.view(1, 2) > 0),
], ids=["gather", "index_select", "index_fill_", "index_add_", "index_copy_", "scatter_",
        "take", "masked_select"])
def test_index_on_another_device_raises(op, rng):
    """These used to hang pocl (a kernel given buffers of two contexts)."""
    other = _second_device()
    if other is None:
        pytest.skip("one usable OpenCL device: no second device to mix with")
    a = data((5, 4), clgrad.float32, rng)
    x = clgrad.tensor(a)
    with pytest.raises(RuntimeError, match=f"same device.*cpu and {other}"):
        op(x, clgrad.tensor([0, 1], device=other))
    np.testing.assert_array_equal(x.numpy(), a)


# Writes whose value PyTorch refuses (dtype or shape): same exception type and message, and
# nothing written.
REFUSED = [
    lambda lib, x: x.index_put_((lib.tensor([0, 2]),), lib.ones(2, 4, dtype=lib.float64)),
    lambda lib, x: x.index_put_((lib.tensor([0, 2]),), lib.ones(4, dtype=lib.int64), True),
    lambda lib, x: x.__setitem__([0, 2], lib.tensor(2.5, dtype=lib.float64)),
    lambda lib, x: x.__setitem__(x[:, 0] > 0, lib.ones(4, dtype=lib.float64)),
    lambda lib, x: x.scatter_(1, lib.tensor([[0, 3]]), lib.ones(1, 2, dtype=lib.float64)),
    lambda lib, x: x.scatter_add_(1, lib.tensor([[0, 3]]), lib.ones(1, 2, dtype=lib.int32)),
    lambda lib, x: x.index_copy_(1, lib.tensor([0, 2]), lib.ones(5, 2, dtype=lib.float64)),
    lambda lib, x: x.index_add_(1, lib.tensor([0, 2]), lib.ones(5, 2, dtype=lib.float64)),
    lambda lib, x: x.index_copy_(1, lib.tensor([0, 2]), lib.ones(1, 2)),
    lambda lib, x: x.index_copy_(1, lib.tensor([0, 2]), lib.ones(2)),
    lambda lib, x: x.index_copy_(1, lib.tensor([0, 2]), lib.ones(5, 3)),
    lambda lib, x: x.index_copy_(0, lib.tensor([0, 2]), lib.tensor(1.0)),
    lambda lib, x: x.index_copy_(0, lib.tensor([1], dtype=lib.int32), lib.ones(1, 4)),
    lambda lib, x: x.index_copy_(0, lib.tensor([[1]]), lib.ones(1, 4)),
    lambda lib, x: x.index_copy_(0, [1], lib.ones(1, 4)),
    lambda lib, x: x[0].index_copy_(0, lib.tensor([0]), lib.ones(1, 1)),
    lambda lib, x: x.index_add_(1, lib.tensor([0, 2]), lib.ones(1, 2)),
    lambda lib, x: x.index_add_(1, lib.tensor([0, 2]), lib.ones(2)),
    lambda lib, x: x.index_add_(1, lib.tensor([0, 2]), lib.ones(5, 3)),
    lambda lib, x: x.index_add_(0, lib.tensor([0, 2]), lib.tensor(1.0)),
    lambda lib, x: x[0, 0].index_add_(0, lib.tensor([0]), lib.ones(1)),
    lambda lib, x: x.index_add_(0, lib.tensor([0]), 1.0),
]


@pytest.mark.parametrize("op", REFUSED, ids=range(len(REFUSED)))
def test_refused_values_raise_as_torch(op, rng):
    a = data((5, 4), clgrad.float32, rng)
    with pytest.raises(Exception) as want:
        op(torch, torch.tensor(a))
    x = clgrad.tensor(a)
    with pytest.raises(want.type) as got:
        op(clgrad, x)
    assert str(got.value).splitlines()[0] == str(want.value).splitlines()[0]
    np.testing.assert_array_equal(x.numpy(), a)


def test_values_cast_where_torch_casts(rng):
    x = data((3, 4), clgrad.int32, rng)
    same(lambda lib, t: (t.__setitem__([0, 2], 2.5), t)[1], x)                  # a number
    same(lambda lib, t: (t.__setitem__(1, lib.full((4,), 7.5, dtype=lib.float64)), t)[1], x)
    same(lambda lib, t: (t.__setitem__(t > 0, lib.tensor(9.5, dtype=lib.float64)), t)[1], x)
    same(lambda lib, t: t.scatter_(1, lib.tensor([[3, 0]]), 4.5), x)
    same(lambda lib, t: t.index_copy_(0, lib.tensor(1), lib.ones(1, 4, dtype=t.dtype)), x)
    same(lambda lib, t: t[0, 0].index_add_(0, lib.tensor([0]), lib.tensor(3, dtype=t.dtype)), x)


def test_index_sharing_self_is_read_before_the_write():
    """PyTorch refuses an index that overlaps the written tensor; clgrad copies it first and
    gives what PyTorch gives for a cloned index."""
    a = np.array([[1, 0, 1, 0], [0, 1, 0, 1]], np.int64)
    src = np.arange(5, 13).reshape(2, 4)
    for op in ("scatter_", "scatter_add_"):
        want = getattr(torch.tensor(a), op)(0, torch.tensor(a[:1]), torch.tensor(src[:1]))
        x = clgrad.tensor(a)
        getattr(x, op)(0, x[:1], clgrad.tensor(src[:1]))
        np.testing.assert_array_equal(x.numpy(), want.numpy())
        want = getattr(torch.tensor(a), op)(1, torch.tensor(a), torch.tensor(src))
        x = clgrad.tensor(a)
        getattr(x, op)(1, x, clgrad.tensor(src))
        np.testing.assert_array_equal(x.numpy(), want.numpy())


_RACE_SCRIPT = """
import clgrad
x = clgrad.full((3,), 1.5)
x.index_add_(0, clgrad.tensor([0, 1, 0, 0, 2, 0]), clgrad.arange(1.0, 7.0))
y = clgrad.zeros(4, dtype=clgrad.float64)
y.index_put_((clgrad.tensor([3, 3, 0, 3]),), clgrad.ones(4, dtype=clgrad.float64), True)
print(x.numpy(force=True).tolist(), y.numpy(force=True).tolist())
"""


def test_float_atomic_add_has_no_data_race():
    """Oclgrind's race detector finds no plain load racing with the atomic add's cmpxchg."""
    from clgrad.runtime.device import all_devices
    if not any(d.is_simulator for d in all_devices()):
        pytest.skip("Oclgrind is not installed")
    env = dict(os.environ, CLGRAD_DEVICE="oclgrind", OCLGRIND_DATA_RACES="1")
    run = subprocess.run([sys.executable, "-c", _RACE_SCRIPT], env=env, capture_output=True,
                         text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert "race" not in run.stderr.lower(), run.stderr
    assert run.stdout.strip() == "[15.5, 3.5, 6.5] [1.0, 0.0, 0.0, 3.0]"
