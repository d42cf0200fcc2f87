"""Matrix products (tensor/linalg.py, kernels/matmul.cl) against NumPy, errors as PyTorch's.

`check(fn, ref, *arrays)` runs `fn(clgrad, *tensors)` and `ref(*arrays)` (NumPy) on the same
data and compares values and dtype. Sizes are chosen to be multiples of no tile (1, 3, 17,
129, and a few 1000s); layouts cover transposed, sliced, offset, batched and broadcast
operands. Error messages are PyTorch's, copied from torch 2.13.
"""
from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import FLOAT_DTYPES, INT_DTYPES, random_array, supported

import clgrad
from clgrad import Tensor

F32, F64 = clgrad.float32, clgrad.float64
RTOL = {"float32": 1e-4, "float64": 1e-11, "float16": 1e-2}


def _t(a):
    return clgrad.tensor(a) if isinstance(a, np.ndarray) else a


def check(fn, ref, *arrays, dtype=None):
    """fn(clgrad, *tensors) against ref(*arrays); float results relative to |a|@|b| scale."""
    got = fn(clgrad, *[_t(a) for a in arrays])
    want = np.asarray(ref(*[a.astype(np.float64) if a.dtype.kind == "f" else a
                            for a in arrays]))
    assert isinstance(got, Tensor)
    assert tuple(got.shape) == want.shape, f"shape {tuple(got.shape)} != {want.shape}"
    name = (dtype or got.dtype).name
    if got.dtype.is_floating_point:
        scale = np.abs(ref(*[np.abs(a).astype(np.float64) for a in arrays])) + np.abs(want)
        err = np.abs(got.numpy().astype(np.float64) - want)
        assert np.all(err <= RTOL[name] * (scale + 1)), f"max error {err.max()}"
    else:
        np.testing.assert_array_equal(got.numpy(), want.astype(got.dtype.np))
    return got


def data(shape, dtype=F32, seed=0):
    return random_array(shape, dtype, np.random.default_rng(seed))


# -- mm: sizes, dtypes, layouts -----------------------------------------------------------------
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (3, 17, 129), (129, 3, 17), (17, 129, 3),
                                   (33, 65, 47), (7, 1000, 5)])
def test_mm_sizes(m, k, n):
    check(lambda lib, a, b: lib.mm(a, b), np.matmul, data((m, k)), data((k, n), seed=1))


def test_mm_large():
    check(lambda lib, a, b: a @ b, np.matmul, data((1000, 129)), data((129, 1000), seed=1))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + INT_DTYPES, ids=lambda d: d.name)
def test_mm_dtypes(dtype):
    if not supported(dtype):
        pytest.skip(f"{dtype.name} unsupported on this device")
    got = check(lambda lib, a, b: a.mm(b), np.matmul, data((5, 17), dtype),
                data((17, 3), dtype, 1))
    assert got.dtype is dtype


def test_mm_int8_wraps_like_pytorch():
    a = np.full((2, 300), 1, np.int8)
    got = clgrad.tensor(a) @ clgrad.tensor(a.T.copy())
    assert got.tolist() == [[44, 44], [44, 44]]        # 300 mod 256, as torch.mm gives


def test_mm_float16_needs_extension(device):
    if device.fp16:
        check(lambda lib, a, b: a @ b, np.matmul, data((5, 17), clgrad.float16),
              data((17, 3), clgrad.float16, 1))
    else:
        with pytest.raises(TypeError, match="cl_khr_fp16"):
            clgrad.ones(2, 2, dtype=clgrad.float16)


LAYOUTS = {
    "contiguous": lambda x: x,
    "transposed": lambda x: x.t().contiguous().t(),
    "sliced": lambda x: clgrad.zeros(x.shape[0] * 2 + 1, x.shape[1] * 3 + 2)
    .narrow(0, 1, x.shape[0] * 2)[::2, 2:2 + x.shape[1] * 3:3].copy_(x),
}


@pytest.mark.parametrize("la", LAYOUTS)
@pytest.mark.parametrize("lb", LAYOUTS)
def test_mm_layouts(la, lb):
    a, b = data((19, 33)), data((33, 21), seed=1)
    x, y = LAYOUTS[la](clgrad.tensor(a)), LAYOUTS[lb](clgrad.tensor(b))
    assert (la == "contiguous") == x.is_contiguous()
    got = clgrad.mm(x, y).numpy()
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)


def test_transposed_operands_are_not_copied(monkeypatch):
    a, b = data((17, 9)), data((9, 12), seed=1)
    x = clgrad.tensor(a.T.copy()).t()        # (17, 9) view with strides (1, 17)
    y = clgrad.tensor(b.T.copy()).t()
    batched = clgrad.tensor(np.stack([a, a])).transpose(1, 2)

    def refuse(self, memory_format=None):
        raise AssertionError("matmul copied an operand")
    monkeypatch.setattr(Tensor, "contiguous", refuse)
    monkeypatch.setattr(Tensor, "clone", refuse)
    want = a.astype(np.float64) @ b
    for got in (x @ y, clgrad.mm(x, y), clgrad.matmul(x.unsqueeze(0), y)[0],
                clgrad.einsum("ij,jk->ik", x, y)):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(clgrad.bmm(batched.transpose(1, 2), batched).numpy()[0],
                               a.astype(np.float64) @ a.T, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("m,k,n", [(0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0)])
def test_mm_empty(m, k, n):
    got = check(lambda lib, a, b: a @ b, np.matmul, data((m, k)), data((k, n)))
    if k == 0:
        assert np.all(got.numpy() == 0)
    check(lambda lib, c, a, b: lib.addmm(c, a, b, beta=2), lambda c, a, b: 2 * c + a @ b,
          data((m, n)), data((m, k)), data((k, n)))


# -- matmul broadcasting, bmm, mv, dot ----------------------------------------------------------
@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((3,), (3, 5)), ((4, 3), (3,)),
                                   ((2, 4, 3), (3,)), ((3,), (2, 3, 5)), ((2, 4, 3), (3, 5)),
                                   ((4, 3), (2, 3, 5)), ((2, 1, 4, 3), (5, 3, 2)),
                                   ((1, 4, 3), (6, 3, 5)), ((2, 3, 1, 4, 3), (3, 1, 3, 2))])
def test_matmul_broadcasting(sa, sb):
    check(lambda lib, a, b: lib.matmul(a, b), np.matmul, data(sa), data(sb, seed=1))


def test_matmul_broadcast_batch_not_collapsible():
    a = clgrad.tensor(data((3, 4, 5, 6))).transpose(0, 1)       # batch dims (4, 3) permuted
    b = clgrad.tensor(data((4, 1, 6, 2), seed=1))
    want = np.matmul(a.numpy().astype(np.float64), b.numpy())
    np.testing.assert_allclose((a @ b).numpy(), want, rtol=1e-4, atol=1e-4)


def test_bmm_and_expanded_batch():
    check(lambda lib, a, b: lib.bmm(a, b), np.matmul, data((5, 3, 17)), data((5, 17, 4), seed=1))
    b = data((1, 17, 4), seed=1)
    x = clgrad.tensor(data((5, 3, 17)))
    got = x.bmm(clgrad.tensor(b).expand(5, 17, 4))             # batch stride 0
    np.testing.assert_allclose(got.numpy(), np.matmul(x.numpy().astype(np.float64), b),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("m,k", [(1, 1), (17, 129), (129, 3), (0, 3), (3, 0)])
def test_mv(m, k):
    check(lambda lib, a, v: lib.mv(a, v), np.matmul, data((m, k)), data((k,), seed=1))
    check(lambda lib, a, v: a.t().mv(v[::2]), lambda a, v: a.T @ v[::2], data((2 * k, m)),
          data((4 * k,), seed=1))


@pytest.mark.parametrize("n", [0, 1, 17, 1000])
def test_dot(n):
    got = check(lambda lib, a, b: a.dot(b), np.dot, data((n,)), data((n,), seed=1))
    assert got.shape == ()
    check(lambda lib, a, b: lib.dot(a[::3], b[1::3]), lambda a, b: np.dot(a[::3], b[1::3]),
          data((3 * n,)), data((3 * n + 1,), seed=1))


def test_dot_int():
    check(lambda lib, a, b: lib.dot(a, b), np.dot, data((7,), clgrad.int32),
          data((7,), clgrad.int32, 1))


# -- addmm / baddbmm ------------------------------------------------------------------------------
@pytest.mark.parametrize("cshape", [(3, 5), (5,), (1, 5), (3, 1), ()])
def test_addmm_broadcast_input(cshape):
    check(lambda lib, c, a, b: lib.addmm(c, a, b, beta=0.5, alpha=-2),
          lambda c, a, b: 0.5 * c - 2 * (a @ b), data(cshape), data((3, 17)),
          data((17, 5), seed=1))


def test_addmm_beta_zero_ignores_nan():
    c = np.full((3, 5), np.nan, np.float32)
    got = clgrad.addmm(clgrad.tensor(c), clgrad.ones(3, 4), clgrad.ones(4, 5), beta=0)
    assert np.all(got.numpy() == 4)
    got = clgrad.tensor(c).addmm_(clgrad.ones(3, 4), clgrad.ones(4, 5), beta=0, alpha=0.5)
    assert np.all(got.numpy() == 2)


def test_addmm_int_scalars_truncate_like_pytorch():
    c = clgrad.ones(2, 4, dtype=clgrad.int64)
    got = clgrad.addmm(c, clgrad.ones(2, 3, dtype=clgrad.int64),
                       clgrad.ones(3, 4, dtype=clgrad.int64), alpha=1.5, beta=2.7)
    assert got.tolist() == [[5] * 4] * 2


def test_addmm_inplace_and_aliasing():
    a = data((6, 6))
    x = clgrad.tensor(a)
    y = x.addmm_(x, x.t(), alpha=2)                        # reads x while writing it
    assert y is x
    np.testing.assert_allclose(x.numpy(), a + 2 * (a.astype(np.float64) @ a.T), rtol=1e-4,
                               atol=1e-4)
    x = clgrad.tensor(a)
    clgrad.mm(x, x, out=x)
    np.testing.assert_allclose(x.numpy(), a.astype(np.float64) @ a, rtol=1e-4, atol=1e-4)


def test_baddbmm():
    check(lambda lib, c, a, b: lib.baddbmm(c, a, b, beta=2, alpha=0.5),
          lambda c, a, b: 2 * c + 0.5 * np.matmul(a, b), data((1, 5)), data((4, 3, 17)),
          data((4, 17, 5), seed=1))
    c, a, b = data((4, 3, 5)), data((4, 3, 17)), data((4, 17, 5), seed=1)
    x = clgrad.tensor(c)
    assert x.baddbmm_(clgrad.tensor(a), clgrad.tensor(b), beta=0) is x
    np.testing.assert_allclose(x.numpy(), np.matmul(a.astype(np.float64), b), rtol=1e-4,
                               atol=1e-4)


# -- outer, einsum --------------------------------------------------------------------------------
def test_outer_promotes():
    got = check(lambda lib, a, b: lib.outer(a, b), np.outer, data((4,), clgrad.int64),
                data((3,)))
    assert got.dtype is F32
    got = clgrad.outer(clgrad.tensor([True, False]), clgrad.tensor([True, True]))
    assert got.dtype is clgrad.bool and got.tolist() == [[True, True], [False, False]]


EINSUM = [("ij,jk->ik", [(3, 17), (17, 5)]), ("ij,jk", [(3, 4), (4, 5)]),
          ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("bij,bkj->bik", [(2, 3, 4), (2, 5, 4)]),
          ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]), ("i,i->", [(7,), (7,)]),
          ("i,j->ij", [(3,), (4,)]), ("ij,j->i", [(3, 4), (4,)]), ("ij,ij->i", [(3, 4), (3, 4)]),
          ("ij->ji", [(3, 4)]), ("ij->", [(3, 4)]), ("ijk->kj", [(2, 3, 4)]),
          ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]), ("ij,kj->", [(3, 4), (5, 4)]),
          ("ba,ac", [(2, 3), (3, 4)]), ("i,i,i->", [(5,), (5,), (5,)]),
          ("ij,jk->ik", [(3, 1), (4, 5)])]


@pytest.mark.parametrize("eq,shapes", EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum(eq, shapes):
    arrays = [data(s, seed=i) for i, s in enumerate(shapes)]
    check(lambda lib, *ts: lib.einsum(eq, *ts), lambda *xs: np.einsum(eq, *xs), *arrays)


def test_einsum_list_and_permute_view():
    x = clgrad.tensor(data((3, 4)))
    assert clgrad.einsum("ij->ji", [x]).data_ptr() == x.data_ptr()


# -- out= -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn,shapes", [
    (lambda lib, a, b, out: lib.mm(a, b, out=out), [(3, 4), (4, 5)]),
    (lambda lib, a, b, out: lib.matmul(a, b, out=out), [(2, 3, 4), (4, 5)]),
    (lambda lib, a, b, out: lib.bmm(a, b, out=out), [(2, 3, 4), (2, 4, 5)]),
    (lambda lib, a, b, out: lib.mv(a, b, out=out), [(3, 4), (4,)]),
    (lambda lib, a, b, out: lib.dot(a, b, out=out), [(4,), (4,)]),
    (lambda lib, a, b, out: lib.outer(a, b, out=out), [(4,), (5,)]),
])
def test_out(fn, shapes):
    a, b = data(shapes[0]), data(shapes[1], seed=1)
    want = fn(SimpleNamespace(mm=_np_out, matmul=_np_out, bmm=_np_out, mv=_np_out,
                              dot=_np_out, outer=lambda x, y, out: np.outer(x, y)), a, b, None)
    out = clgrad.empty(0)
    got = fn(clgrad, clgrad.tensor(a), clgrad.tensor(b), out)
    assert got is out and tuple(out.shape) == want.shape
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-4, atol=1e-4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn(clgrad, clgrad.tensor(a), clgrad.tensor(b), clgrad.empty(7, 7))
    assert any("resized" in str(w.message) for w in caught)


def _np_out(a, b, out):
    return np.matmul(a.astype(np.float64), b)


def test_out_strided_and_addmm_out():
    out = clgrad.zeros(5, 3).t()                             # (3, 5) written through strides
    clgrad.addmm(clgrad.ones(5), clgrad.ones(3, 4), clgrad.ones(4, 5), out=out)
    assert out.tolist() == [[5.0] * 5] * 3
    out = clgrad.empty(2, 3, 5)
    clgrad.baddbmm(clgrad.ones(3, 5), clgrad.ones(2, 3, 4), clgrad.ones(2, 4, 5), out=out)
    assert np.all(out.numpy() == 5)


# -- errors, as PyTorch words them; inputs unchanged --------------------------------------------
def _f(*shape, dtype=F32):
    return clgrad.ones(*shape, dtype=dtype)


ERRORS = [
    (lambda: clgrad.mm(_f(2, 3), _f(4, 5)), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    (lambda: clgrad.mm(_f(2, 3), _f(3, 4, dtype=F64)), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    (lambda: clgrad.mm(_f(3), _f(3, 4)), RuntimeError, "self must be a matrix"),
    (lambda: clgrad.mm(_f(2, 3), _f(3)), RuntimeError, "mat2 must be a matrix"),
    (lambda: clgrad.mm(_f(2, 3, dtype=clgrad.bool), _f(3, 4, dtype=clgrad.bool)),
     NotImplementedError, "\"addmm_impl_cpu_\" not implemented for 'Bool'"),
    (lambda: clgrad.mm(_f(2, 3), 3), TypeError, "must be Tensor, not int"),
    (lambda: clgrad.bmm(_f(2, 3), _f(2, 3)), RuntimeError, "batch1 must be a 3D tensor"),
    (lambda: clgrad.bmm(_f(2, 2, 3), _f(2, 3)), RuntimeError, "batch2 must be a 3D tensor"),
    (lambda: clgrad.bmm(_f(2, 2, 3), _f(2, 4, 5)), RuntimeError, (r"Expected size for first "
     r"two dimensions of batch2 tensor to be: \[2, 3\] but got: \[2, 4\]\.")),
    (lambda: clgrad.bmm(_f(2, 2, 3), _f(2, 3, 5, dtype=F64)), RuntimeError,
     "expected scalar type Float but found Double"),
    (lambda: clgrad.matmul(clgrad.tensor(1.0), _f(2, 3)), RuntimeError,
     "both arguments to matmul need to be at least 1D, but they are 0D and 2D"),
    (lambda: _f(2, 3) @ _f(4), RuntimeError, (r"size mismatch, got input \(2\), mat \(2x3\), "
     r"vec \(4\)")),
    (lambda: _f(3) @ _f(4, 5), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(1x3 and 4x5\)"),
    (lambda: _f(2, 2, 3) @ _f(4, 5), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(4x3 and 4x5\)"),
    (lambda: _f(2, 2, 3) @ _f(3, 3, 5), RuntimeError,
     (r"The size of tensor a \(2\) must match the size of tensor b \(3\) at non-singleton "
     "dimension 0")),
    (lambda: _f(3) @ _f(3, dtype=F64), RuntimeError,
     "dot : expected both vectors to have same dtype, but found Float and Double"),
    (lambda: clgrad.mv(_f(2, 3), _f(3, dtype=F64)), RuntimeError,
     "addmv input tensors must have the same dtype, but got Double, Float, and Double"),
    (lambda: clgrad.mv(_f(2, 3), _f(2, 3)), RuntimeError,
     "vector \\+ matrix @ vector expected, got 1, 2, 2"),
    (lambda: clgrad.dot(_f(2, 3), _f(2, 3)), RuntimeError,
     "1D tensors expected, but got 2D and 2D tensors"),
    (lambda: clgrad.dot(_f(3), _f(4)), RuntimeError, (r"inconsistent tensor size, expected "
     r"tensor \[3\] and src \[4\] to have the same number of elements, but got 3 and 4 "
     "elements respectively")),
    (lambda: clgrad.dot(_f(3, dtype=clgrad.bool), _f(3, dtype=clgrad.bool)),
     NotImplementedError, "\"dot\" not implemented for 'Bool'"),
    (lambda: clgrad.addmm(_f(3, 3), _f(2, 3), _f(3, 4)), RuntimeError,
     (r"The expanded size of the tensor \(\d\) must match the existing size \(3\) at "
     r"non-singleton dimension \d.  Target sizes: \[2, 4\].  Tensor sizes: \[3, 3\]")),
    (lambda: clgrad.addmm(_f(2, 4, dtype=F64), _f(2, 3), _f(3, 4)), RuntimeError,
     "self and mat2 must have the same dtype, but got Double and Float"),
    (lambda: clgrad.addmm(_f(2, 4), _f(3), _f(3, 4)), RuntimeError,
     "mat1 must be a matrix, got 1-D tensor"),
    (lambda: _f(4).addmm_(_f(2, 3), _f(3, 4)), RuntimeError, (r"Bad in-place call: input "
     r"tensor size \[4\] and output tensor size \[2, 4\] should match")),
    (lambda: clgrad.baddbmm(_f(2, 4, dtype=F64), _f(2, 2, 3), _f(2, 3, 4)), RuntimeError,
     "Input dtypes must be the same, got: input double, batch1: float, batch2: float"),
    (lambda: clgrad.baddbmm(_f(2, 4), _f(2, 2, 3), _f(2, 4, 4)), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor"),
    (lambda: clgrad.outer(_f(3, 2), _f(2)), RuntimeError,
     "outer: Expected 1-D argument self, but got 2-D"),
    (lambda: clgrad.mm(_f(2, 3), _f(3, 4), out=_f(2, 4, dtype=F64)), RuntimeError,
     "Expected out tensor to have dtype float, but got double instead"),
    (lambda: clgrad.dot(_f(3), _f(3), out=_f(1, dtype=F64)), RuntimeError,
     "result dtype Double does not match input dtype Float"),
    (lambda: clgrad.einsum("ij,jk->ik", _f(2, 3), _f(3, 4, dtype=F64)), RuntimeError,
     "expected scalar type Float but found Double"),
    (lambda: clgrad.einsum("ij,jk->ik", _f(2, 3), _f(4, 5)), RuntimeError,
     ("einsum\\(\\): subscript j has size 4 for operand 1 which does not broadcast with "
     "previously seen size 3")),
    (lambda: clgrad.einsum("ij,jk->ik", _f(2, 3)), RuntimeError,
     "fewer operands were provided than specified in the equation"),
    (lambda: clgrad.einsum("ij,jk->il", _f(2, 3), _f(3, 4)), RuntimeError,
     "output subscript l does not appear in the equation for any input operand"),
    (lambda: clgrad.einsum("ijk,jk->ik", _f(2, 3), _f(3, 4)), RuntimeError,
     (r"the number of subscripts in the equation \(3\) does not match the number of "
     r"dimensions \(2\) for operand 0 and no ellipsis was given")),
    (lambda: clgrad.einsum("ii->i", _f(3, 3)), NotImplementedError, "diagonals"),
]


@pytest.mark.parametrize("call,exc,message", ERRORS)
def test_errors(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_inputs_unchanged_after_error():
    a, b = clgrad.tensor(data((2, 3))), clgrad.tensor(data((4, 5)))
    before = (a.numpy().copy(), b.numpy().copy(), a._storage.version)
    c = clgrad.tensor(data((4,)))
    with pytest.raises(RuntimeError):
        c.addmm_(a, b)
    with pytest.raises(RuntimeError):
        clgrad.mm(a, b, out=c)
    np.testing.assert_array_equal(a.numpy(), before[0])
    np.testing.assert_array_equal(b.numpy(), before[1])
    assert a._storage.version == before[2] and tuple(c.shape) == (4,)


def test_device_mismatch_names_both_devices():
    a = _f(2, 3)
    other = SimpleNamespace(__str__=None)
    fake = a.detach()
    fake._storage = SimpleNamespace(device=_FakeDevice(), shared=False, version=0,
                                    vc=SimpleNamespace(version=0))
    with pytest.raises(RuntimeError, match=r"same device, but found at least two devices, "
                                           r"cpu and opencl:9"):
        clgrad.mm(a, fake.t())
    del other


class _FakeDevice:
    def __str__(self):
        return "opencl:9"


def test_rmatmul_and_methods():
    a, b = clgrad.tensor(data((3, 4))), clgrad.tensor(data((4, 2), seed=1))
    np.testing.assert_allclose(b.__rmatmul__(a).numpy(), (a @ b).numpy())
    assert a.__matmul__(3) is NotImplemented
    for name in ("mm", "bmm", "matmul", "mv", "dot", "addmm", "addmm_", "baddbmm",
                 "baddbmm_", "outer"):
        assert callable(getattr(Tensor, name))
    assert math.isclose(clgrad.ones(3).dot(clgrad.ones(3)).item(), 3.0)


# -- mv and dot stream through the reduce engine (a binary sum of products) -----------------
@pytest.mark.parametrize("layout", ["rows", "transposed", "strided"])
@pytest.mark.parametrize("dtype", [clgrad.float32, clgrad.float64, clgrad.int32], ids=str)
def test_mv_long_rows_every_layout(layout, dtype):
    rng = np.random.default_rng(7)
    a = random_array((67, 1031), dtype, rng)
    v = random_array((2062,), dtype, rng)
    x, vec = clgrad.tensor(a), clgrad.tensor(v)[::2]
    want = a.astype(np.float64) @ v[::2].astype(np.float64)
    if layout == "transposed":
        x = clgrad.tensor(np.ascontiguousarray(a.T)).t()
    elif layout == "strided":
        x = clgrad.tensor(np.repeat(a, 2, axis=1))[:, ::2]
    got = x.mv(vec)
    assert got.dtype is dtype
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5 if dtype is F32 else 1e-12)


@pytest.mark.parametrize("n", [1, 17, 100003, 1 << 20])
def test_dot_long_vectors_are_accurate(n):
    rng = np.random.default_rng(n)
    a, b = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    got = clgrad.tensor(a).dot(clgrad.tensor(b)).item()
    exact = a.astype(np.float64) @ b.astype(np.float64)
    assert abs(got - exact) <= 1e-6 * exact + 1e-6
    strided = clgrad.tensor(np.repeat(a, 2))[::2].dot(clgrad.tensor(b))
    assert abs(strided.item() - exact) <= 1e-6 * exact + 1e-6
