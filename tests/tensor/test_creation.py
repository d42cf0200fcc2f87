"""Factories (tensor, as_tensor, from_numpy, empty/zeros/ones/full, arange, linspace, eye, *_like,
new_*) and the Philox random stream, against NumPy, PyTorch and a pure-NumPy Philox4x32-10."""
import re
import warnings

import numpy as np
import pytest
from conftest import FLOAT_DTYPES, supported

import clgrad

try:
    import torch
except ImportError:       # PyTorch is an optional reference; NumPy always is one
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is the reference here")


def _name(dtype):
    """'float32' for clgrad.float32 or torch.float32."""
    return str(dtype).split(".")[-1]


def _storage(t):
    return t.untyped_storage().data_ptr()


def _skip_unsupported(dtype):
    if not supported(dtype):
        pytest.skip(f"the device has no {dtype.name}")


# -- tensor(): dtype inference and copies -----------------------------------------------
INFERENCE = [
    ("floats", [1.0, 2.0], "float32"), ("ints", [[1, 2], [3, 4]], "int64"),
    ("bools", [True, False], "bool"), ("int_float", [1, 2.5], "float32"),
    ("bool_int", [True, 2], "int64"), ("bool_float", [[True], [1.5]], "float32"),
    ("negative_ints", [-3, 7], "int64"), ("nested3", [[[1.0]], [[2.0]]], "float32"),
    ("tuple", (1, 2, 3), "int64"), ("empty", [], "float32"), ("empty_nested", [[], []], "float32"),
]


@pytest.mark.parametrize("name, data, want", INFERENCE, ids=[i[0] for i in INFERENCE])
def test_tensor_infers_dtype_like_torch(name, data, want):
    t = clgrad.tensor(data)
    assert t.dtype.name == want
    np.testing.assert_array_equal(t.numpy(), np.array(data, dtype=t.dtype.np))
    assert t.shape == np.array(data).shape
    if torch is not None:
        assert _name(torch.tensor(data).dtype) == want


@pytest.mark.parametrize("np_dtype", [np.float64, np.float32, np.float16, np.int64, np.int32,
                                      np.int16, np.int8, np.uint8, np.bool_])
def test_tensor_from_numpy_array_keeps_dtype_and_copies(np_dtype, rng):
    want = getattr(clgrad, np.dtype(np_dtype).name if np_dtype is not np.bool_ else "bool")
    _skip_unsupported(want)
    low = 0 if np.dtype(np_dtype).kind == "u" else -50
    a = (rng.uniform(low, 50, (3, 4)) if np_dtype is not np.bool_
         else rng.random((3, 4)) < 0.5).astype(np_dtype)
    t = clgrad.tensor(a)
    assert t.dtype is want and t.shape == a.shape
    np.testing.assert_array_equal(t.numpy(), a)
    before = a.copy()
    t.fill_(1)
    np.testing.assert_array_equal(a, before)       # tensor() copies


def test_tensor_from_noncontiguous_and_negative_stride_numpy(rng):
    a = rng.uniform(size=(5, 6)).astype(np.float32)
    for view in (a.T, a[::2, 1::3], a[::-1], a[:, ::-2]):
        np.testing.assert_array_equal(clgrad.tensor(view).numpy(), view)


@pytest.mark.parametrize("dtype", [clgrad.float64, clgrad.int32, clgrad.int8, clgrad.uint8,
                                   clgrad.bool, clgrad.int16, clgrad.float32, clgrad.int64])
def test_tensor_with_explicit_dtype_converts_like_torch(dtype):
    _skip_unsupported(dtype)
    data = [[0.0, 1.7, -1.7], [2.5, 100.2, 0.5]]
    if dtype is clgrad.uint8:
        data = [[0.0, 1.7, 1.2], [2.5, 100.2, 0.5]]
    t = clgrad.tensor(data, dtype=dtype)
    assert t.dtype is dtype
    want = np.array(data).astype(dtype.np)      # truncation toward zero, like torch
    np.testing.assert_array_equal(t.numpy(), want)
    if torch is not None:
        np.testing.assert_array_equal(
            t.numpy(), torch.tensor(data, dtype=getattr(torch, dtype.name)).numpy())


@pytest.mark.parametrize("value, dtype", [(3, "int64"), (2.5, "float32"), (True, "bool"),
                                          (np.float32(1.5), "float32"),
                                          (np.array(4.0), "float64")],
                         ids=["int", "float", "bool", "np_scalar", "np_0d_array"])
def test_tensor_of_scalar_is_0d(value, dtype):
    t = clgrad.tensor(value)
    assert t.shape == () and t.dim() == 0
    assert t.dtype.name == dtype
    assert t.item() == value
    assert t.tolist() == value


@pytest.mark.parametrize("value, dtype", [(np.float64(1.5), "float64"), (np.int32(1), "int32"),
                                          (np.int16(-2), "int16")])
def test_tensor_of_numpy_scalar_keeps_dtype(value, dtype):
    assert clgrad.tensor(value).dtype.name == dtype
    if torch is not None:
        assert _name(torch.tensor(value).dtype) == dtype


def test_tensor_from_tensor_copies_and_warns():
    src = clgrad.tensor([1.0, 2.0])
    with pytest.warns(UserWarning, match=r"clone\(\)\.detach\(\)"):
        t = clgrad.tensor(src)
    assert _storage(t) != _storage(src)
    t.fill_(5)
    assert src.tolist() == [1.0, 2.0]
    with pytest.warns(UserWarning):
        d = clgrad.tensor(src, dtype=clgrad.int64)
    assert d.dtype is clgrad.int64 and d.tolist() == [1, 2]


@pytest.mark.parametrize("np_dtype", [np.uint16, np.uint32, np.uint64, np.complex64,
                                      np.complex128])
def test_unsupported_numpy_dtype_is_a_type_error_naming_it(np_dtype):
    a = np.zeros(3, np_dtype)
    name = np.dtype(np_dtype).name
    for make in (clgrad.tensor, clgrad.from_numpy, clgrad.as_tensor):
        with pytest.raises(TypeError, match=name):
            make(a)


def test_unsupported_python_data_is_an_error():
    with pytest.raises(TypeError):
        clgrad.tensor(["a", "b"])
    with pytest.raises((TypeError, RuntimeError)):
        clgrad.tensor([1 + 2j])
    with pytest.raises((TypeError, RuntimeError)):
        clgrad.tensor(None)


@pytest.mark.parametrize("data", [[[1, 2], [3]], [[1.0], [2.0, 3.0]], [[[1, 2]], [[3]]]],
                         ids=["short_row", "long_row", "inner"])
def test_ragged_list_is_a_value_error(data):
    with pytest.raises(ValueError):
        clgrad.tensor(data)
    if torch is not None:
        with pytest.raises(ValueError):
            torch.tensor(data)


def test_int_beyond_uint64_overflows_with_an_error():
    with pytest.raises((RuntimeError, ValueError, OverflowError), match="[Oo]verflow"):
        clgrad.tensor([2**64])


@pytest.mark.parametrize("data", [[2**63], [-1, 2**63], [[1], [2**63]], [(-(2**63) - 1), 0]],
                         ids=["uint64_range", "mixed_sign", "nested", "below_int64"])
def test_int_beyond_int64_overflows_with_an_error(data):
    with pytest.raises((RuntimeError, ValueError, OverflowError), match="[Oo]verflow"):
        clgrad.tensor(data)


@pytest.mark.parametrize("data", [[1.5, 2**63], [[1], [2.0**70]], [np.float32(1), 2**64]])
def test_big_ints_beside_a_float_become_floats_like_torch(data):
    t = clgrad.tensor(data)
    assert t.dtype is clgrad.float32
    np.testing.assert_allclose(t.numpy(), np.array(data, np.float64).astype(np.float32))


def test_tensor_requires_grad():
    t = clgrad.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf
    with pytest.raises(RuntimeError, match="floating point"):
        clgrad.tensor([1, 2], requires_grad=True)


def test_tensor_constructor_class_forms():
    a = clgrad.Tensor(2, 3)
    assert a.shape == (2, 3) and a.dtype is clgrad.float32
    b = clgrad.Tensor([1, 2])
    assert b.dtype is clgrad.float32 and b.tolist() == [1.0, 2.0]


# -- as_tensor / from_numpy: sharing ------------------------------------------------------
def test_as_tensor_shares_numpy_memory_when_dtype_matches():
    a = np.arange(4, dtype=np.float32)
    t = clgrad.as_tensor(a)
    t.add_(1)
    np.testing.assert_array_equal(a, [1, 2, 3, 4])
    a[0] = 50
    assert t.tolist()[0] == 50


def test_as_tensor_copies_when_dtype_differs_or_data_is_a_list():
    a = np.arange(4, dtype=np.float32)
    t = clgrad.as_tensor(a, dtype=clgrad.float64)
    assert t.dtype is clgrad.float64
    t.add_(1)
    np.testing.assert_array_equal(a, [0, 1, 2, 3])
    assert clgrad.as_tensor([1, 2]).tolist() == [1, 2]


def test_as_tensor_of_tensor_is_the_same_tensor_unless_converted():
    x = clgrad.arange(3)
    assert clgrad.as_tensor(x) is x
    y = clgrad.as_tensor(x, dtype=clgrad.float32)
    assert y.dtype is clgrad.float32 and y.tolist() == [0.0, 1.0, 2.0]


def test_from_numpy_shares_memory_both_ways():
    a = np.arange(6, dtype=np.float32)
    t = clgrad.from_numpy(a)
    assert t.dtype is clgrad.float32 and t.shape == (6,)
    t.add_(1)
    np.testing.assert_array_equal(a, np.arange(1, 7))
    a[0] = 5
    assert t.tolist()[0] == 5.0
    t[2:4] = 0
    np.testing.assert_array_equal(a[2:4], [0, 0])


@pytest.mark.parametrize("view", ["cols", "transposed", "offset", "rows_step"])
def test_from_numpy_of_noncontiguous_array_shares_memory(view):
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    a = {"cols": base[:, ::2], "transposed": base.T, "offset": base[1:, 2:],
         "rows_step": base[::3]}[view]
    t = clgrad.from_numpy(a)
    assert t.shape == a.shape and t.dtype is clgrad.float64
    assert t.stride() == tuple(s // a.itemsize for s in a.strides)
    np.testing.assert_array_equal(t.numpy(), a)
    if torch is not None:
        assert t.stride() == torch.from_numpy(a).stride()
    before = base.copy()
    t.mul_(-1)
    want = before.copy()
    {"cols": want[:, ::2], "transposed": want.T, "offset": want[1:, 2:],
     "rows_step": want[::3]}[view][...] *= -1
    np.testing.assert_array_equal(base, want)


@pytest.mark.parametrize("a", [np.arange(4)[::-1], np.arange(12).reshape(3, 4)[:, ::-1]],
                         ids=["1d", "2d"])
def test_from_numpy_negative_strides_is_a_value_error(a):
    with pytest.raises(ValueError, match="negative"):
        clgrad.from_numpy(a)


def test_from_numpy_requires_an_array_and_keeps_dtypes():
    with pytest.raises(TypeError, match="ndarray"):
        clgrad.from_numpy([1, 2])
    for np_dtype in (np.int32, np.int8, np.uint8, np.bool_, np.int64, np.float32):
        t = clgrad.from_numpy(np.zeros(2, np_dtype))
        assert t.dtype.np == np.dtype(np_dtype)


def test_from_numpy_of_read_only_array_warns():
    a = np.arange(3.0)
    a.flags.writeable = False
    with pytest.warns(UserWarning, match="not writable"):
        clgrad.from_numpy(a)


def test_from_numpy_of_empty_and_0d_arrays():
    assert clgrad.from_numpy(np.zeros((0, 3), np.float32)).shape == (0, 3)
    t = clgrad.from_numpy(np.array(2.5))
    assert t.shape == () and t.item() == 2.5


# -- empty / zeros / ones / full -----------------------------------------------------------
SIZES = [((2, 3), (2, 3)), (((2, 3),), (2, 3)), (([4],), (4,)), (((),), ()),
         ((0, 5), (0, 5)), ((1, 1, 1), (1, 1, 1))]


@pytest.mark.parametrize("args, shape", SIZES, ids=str)
@pytest.mark.parametrize("factory", ["empty", "zeros", "ones"])
def test_factories_accept_size_forms(factory, args, shape):
    t = getattr(clgrad, factory)(*args)
    assert t.shape == shape and isinstance(t.shape, clgrad.Size)
    assert t.dtype is clgrad.float32 and t.is_contiguous()
    if factory != "empty":
        np.testing.assert_array_equal(t.numpy(), np.full(shape, factory == "ones", np.float32))
    if torch is not None:
        assert tuple(getattr(torch, factory)(*args).shape) == shape


@pytest.mark.parametrize("dtype", [clgrad.bool, clgrad.uint8, clgrad.int8, clgrad.int16,
                                   clgrad.int32, clgrad.int64, clgrad.float32, clgrad.float64])
def test_zeros_ones_full_with_dtype_and_device(dtype):
    _skip_unsupported(dtype)
    for device in (None, "cpu", clgrad.device("cpu")):
        z = clgrad.zeros(2, 3, dtype=dtype, device=device)
        o = clgrad.ones((2, 3), dtype=dtype, device=device)
        f = clgrad.full((2, 3), 7, dtype=dtype, device=device)
        e = clgrad.empty(2, 3, dtype=dtype, device=device)
        for t in (z, o, f, e):
            assert t.dtype is dtype and t.shape == (2, 3) and t.device == clgrad.device("cpu")
        np.testing.assert_array_equal(z.numpy(), np.zeros((2, 3), dtype.np))
        np.testing.assert_array_equal(o.numpy(), np.ones((2, 3), dtype.np))
        np.testing.assert_array_equal(f.numpy(), np.full((2, 3), 7).astype(dtype.np))


@pytest.mark.parametrize("value, want", [(3, "int64"), (2.5, "float32"), (True, "bool"),
                                         (-1, "int64")])
def test_full_infers_dtype_from_fill_value(value, want):
    t = clgrad.full((2, 2), value)
    assert t.dtype.name == want
    assert t.tolist() == [[value] * 2] * 2
    if torch is not None:
        assert _name(torch.full((2, 2), value).dtype) == want


def test_full_with_int_size_and_float_into_int_dtype():
    assert clgrad.full(3, 1.5).tolist() == [1.5] * 3
    assert clgrad.full((2,), 2.7, dtype=clgrad.int32).tolist() == [2, 2]


@pytest.mark.parametrize("make", [
    lambda: clgrad.empty(2, -1), lambda: clgrad.zeros(-1), lambda: clgrad.ones(3, -2),
    lambda: clgrad.full((2, -3), 1.0), lambda: clgrad.rand(-1), lambda: clgrad.randn(2, -2),
    lambda: clgrad.randint(5, (-1,)), lambda: clgrad.zeros(2).new_zeros(-1),
], ids=["empty", "zeros", "ones", "full", "rand", "randn", "randint", "new_zeros"])
def test_negative_size_is_a_runtime_error_naming_it(make):
    with pytest.raises(RuntimeError, match=r"negative dimension -\d"):
        make()


@pytest.mark.parametrize("make", [
    lambda **kw: clgrad.zeros(2, **kw), lambda **kw: clgrad.ones(2, **kw),
    lambda **kw: clgrad.empty(2, **kw), lambda **kw: clgrad.full((2,), 1.0, **kw),
    lambda **kw: clgrad.arange(3.0, **kw), lambda **kw: clgrad.linspace(0, 1, 3, **kw),
    lambda **kw: clgrad.eye(2, **kw), lambda **kw: clgrad.rand(2, **kw),
    lambda **kw: clgrad.randn(2, **kw), lambda **kw: clgrad.tensor([1.0], **kw),
], ids=["zeros", "ones", "empty", "full", "arange", "linspace", "eye", "rand", "randn", "tensor"])
def test_requires_grad_on_float_works_and_on_int_raises(make):
    t = make(requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.dtype.is_floating_point
    with pytest.raises(RuntimeError, match="floating.point"):
        make(requires_grad=True, dtype=clgrad.int64)


# -- arange ----------------------------------------------------------------------------------
ARANGES = [(5,), (2, 9), (2, 9, 3), (9, 2, -3), (-4, 4, 3), (0,), (3, 3), (0, 1, 0.1),
           (0, 0.3, 0.1), (-1, 1, 0.1), (1, 2.5, 0.5), (10, 0, -0.7), (-3, 3.3, 0.33),
           (1e-3, 1, 1e-3), (0.0, 10), (5.5,), (0, 20000, 0.3), (-2.5, 2.5, 1)]


def _np_arange(args, dtype):
    """NumPy reference: values computed in float64 (PyTorch's accumulate type), then cast."""
    start, end, step = (0, args[0], 1) if len(args) == 1 else (*args, 1)[:3]
    n = int(np.ceil((end - start) / step))
    return (start + np.arange(max(n, 0), dtype=np.float64) * step).astype(dtype)


@pytest.mark.parametrize("args", ARANGES, ids=str)
def test_arange_matches_torch(args):
    t = clgrad.arange(*args)
    is_float = any(isinstance(a, float) for a in args)
    assert t.dtype is (clgrad.float32 if is_float else clgrad.int64)
    want = _np_arange(args, t.dtype.np)
    assert t.shape == want.shape
    np.testing.assert_allclose(t.numpy(), want, rtol=1e-6, atol=1e-7)
    if torch is not None:
        w = torch.arange(*args)
        assert t.shape == tuple(w.shape), "lengths must agree with torch.arange"
        np.testing.assert_allclose(t.numpy(), w.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [clgrad.float64, clgrad.int32, clgrad.int16, clgrad.float32])
def test_arange_with_dtype(dtype):
    _skip_unsupported(dtype)
    t = clgrad.arange(-3, 17, 2, dtype=dtype)
    assert t.dtype is dtype
    np.testing.assert_array_equal(t.numpy(), np.arange(-3, 17, 2).astype(dtype.np))
    if dtype is clgrad.float64:
        f = clgrad.arange(0, 1, 0.1, dtype=dtype)
        np.testing.assert_allclose(f.numpy(), np.arange(10) * 0.1, rtol=1e-15, atol=1e-16)


def test_arange_accepts_0d_tensors():
    t = clgrad.arange(clgrad.arange(5)[2], 7)
    assert t.tolist() == [2, 3, 4, 5, 6]


@pytest.mark.parametrize("args, pattern", [((0, 5, 0), "step must be nonzero"),
                                           ((0, 5, -1), "inconsistent with step sign"),
                                           ((5, 0), "inconsistent with step sign"),
                                           ((0, float("inf")), "unsupported range")],
                         ids=["step0", "negative_step_up", "positive_step_down", "inf"])
def test_arange_errors(args, pattern):
    with pytest.raises(RuntimeError, match=pattern):
        clgrad.arange(*args)
    if torch is not None:
        with pytest.raises(RuntimeError):
            torch.arange(*args)


def test_arange_integer_dtype_with_fractional_arguments():
    with pytest.raises((RuntimeError, ValueError), match="step must be nonzero"):
        clgrad.arange(0, 1, 0.1, dtype=clgrad.int64)
    assert clgrad.arange(0.5, 5, 1.5, dtype=clgrad.int64).tolist() == [0, 1, 2, 3, 4]


# -- linspace --------------------------------------------------------------------------------
LINSPACES = [(0, 1, 0), (3, 1, 1), (-1, 1, 2), (0, 1, 3), (0, 1, 4), (0, 1, 5), (-2, 7, 10),
             (3, -1, 7), (0, 1, 100), (1e5, 1e5 + 1, 11), (2.5, 2.5, 4), (0, 10, 101)]


@pytest.mark.parametrize("args", LINSPACES, ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: d.name)
def test_linspace_matches_numpy_and_torch(args, dtype):
    _skip_unsupported(dtype)
    t = clgrad.linspace(*args, dtype=dtype)
    assert t.dtype is dtype and t.shape == (args[2],)
    tol = {"float32": 2e-7, "float64": 1e-15}[dtype.name]
    want = np.linspace(*args)
    np.testing.assert_allclose(t.numpy(), want, rtol=tol, atol=tol * max(1.0, abs(want).max(
        initial=0)))
    if args[2]:
        assert t.numpy()[0] == np.asarray(args[0], dtype.np)       # endpoints are exact
        if args[2] > 1:
            assert t.numpy()[-1] == np.asarray(args[1], dtype.np)
    if torch is not None:
        w = torch.linspace(*args, dtype=getattr(torch, dtype.name)).numpy()
        np.testing.assert_allclose(t.numpy(), w, rtol=tol, atol=tol * max(1.0, abs(w).max(
            initial=0)))


def test_linspace_default_and_int_dtype():
    assert clgrad.linspace(0, 1, 5).dtype is clgrad.float32
    t = clgrad.linspace(0, 10, 4, dtype=clgrad.int64)
    assert t.dtype is clgrad.int64 and t.tolist() == [0, 3, 6, 10]
    if torch is not None:
        assert torch.linspace(0, 10, 4, dtype=torch.int64).tolist() == t.tolist()


def test_linspace_negative_steps_is_an_error():
    with pytest.raises(RuntimeError, match="non-negative"):
        clgrad.linspace(0, 1, -1)


# -- eye ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [(3,), (2, 3), (4, 2), (0,), (1, 5), (3, 0)], ids=str)
def test_eye(args):
    t = clgrad.eye(*args)
    assert t.dtype is clgrad.float32
    np.testing.assert_array_equal(t.numpy(), np.eye(*args, dtype=np.float32))
    i = clgrad.eye(*args, dtype=clgrad.int32)
    np.testing.assert_array_equal(i.numpy(), np.eye(*args, dtype=np.int32))
    b = clgrad.eye(*args, dtype=clgrad.bool)
    np.testing.assert_array_equal(b.numpy(), np.eye(*args, dtype=bool))


def test_eye_negative_is_an_error():
    with pytest.raises(RuntimeError, match="n must be greater or equal to 0, got -1"):
        clgrad.eye(-1)
    with pytest.raises(RuntimeError, match="m must be greater or equal to 0, got -2"):
        clgrad.eye(2, -2)


# -- *_like and new_* --------------------------------------------------------------------------
def test_like_factories_follow_input_and_overrides():
    src = clgrad.zeros(4, 6, dtype=clgrad.int32)[:, ::2]          # non-contiguous input
    for name, args, value in [("zeros_like", (), 0), ("ones_like", (), 1),
                              ("full_like", (2.7,), 2), ("empty_like", (), None)]:
        f = getattr(clgrad, name)
        t = f(src, *args)
        assert t.shape == (4, 3) and t.dtype is clgrad.int32 and t.device == src.device
        if value is not None:
            assert (t.numpy() == value).all()
        d = f(src, *args, dtype=clgrad.float64, device="cpu")
        assert d.dtype is clgrad.float64 and d.device == clgrad.device("cpu")
        g = f(src, *args, dtype=clgrad.float32, requires_grad=True)
        assert g.requires_grad


def test_random_like_factories():
    src = clgrad.zeros(3, 5, dtype=clgrad.float64)
    r = clgrad.rand_like(src)
    assert r.shape == (3, 5) and r.dtype is clgrad.float64
    assert ((r.numpy() >= 0) & (r.numpy() < 1)).all()
    n = clgrad.randn_like(src, dtype=clgrad.float32)
    assert n.dtype is clgrad.float32 and n.shape == (3, 5)
    i = clgrad.randint_like(clgrad.zeros(50, dtype=clgrad.int32), 3, 6)
    assert i.dtype is clgrad.int32 and set(i.tolist()) <= {3, 4, 5}
    j = clgrad.randint_like(clgrad.zeros(50, dtype=clgrad.int64), 4)
    assert set(j.tolist()) <= {0, 1, 2, 3}


def test_new_factories_inherit_dtype_and_device():
    src = clgrad.zeros(2, dtype=clgrad.int32)
    cases = [(src.new_zeros(3, 2), (3, 2), 0), (src.new_ones((2, 2)), (2, 2), 1),
             (src.new_full((2,), 1.5), (2,), 1), (src.new_empty(4), (4,), None),
             (src.new_tensor([1.5, 2.0]), (2,), [1, 2])]
    for t, shape, value in cases:
        assert t.dtype is clgrad.int32 and t.shape == shape and t.device == src.device
        if value is not None:
            assert (t.numpy() == np.asarray(value)).all()
    f = src.new_zeros(2, dtype=clgrad.float64, device="cpu")
    assert f.dtype is clgrad.float64
    g = src.new_tensor([1, 2], dtype=clgrad.float32, requires_grad=True)
    assert g.dtype is clgrad.float32 and g.requires_grad
    h = src.new_ones(2, dtype=clgrad.float32, requires_grad=True)
    assert h.requires_grad
    if torch is not None:
        ts = torch.zeros(2, dtype=torch.int32)
        assert ts.new_full((2,), 1.5).tolist() == cases[2][0].tolist()
        assert ts.new_tensor([1.5, 2.0]).tolist() == cases[4][0].tolist()


def test_new_tensor_copies_a_tensor():
    src = clgrad.arange(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        t = src.new_tensor(src)
    assert _storage(t) != _storage(src) and t.tolist() == [0, 1, 2]


# -- random: the Philox4x32-10 stream --------------------------------------------------------
_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_LO = np.uint64(0xFFFFFFFF)


def philox4x32_10(seed, offset, n):
    """Reference Philox4x32-10 of counters offset..offset+n-1 (lo/hi in words 0/1) and key seed."""
    c = np.arange(n, dtype=np.uint64) + np.uint64(offset)
    x0, x1 = c & _LO, c >> np.uint64(32)
    x2 = x3 = np.zeros(n, np.uint64)
    k0, k1 = seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF
    for _ in range(10):
        p0, p1 = _M0 * x0, _M1 * x2                  # 32x32 -> 64 bits: exact in uint64
        hi0, lo0, hi1, lo1 = p0 >> np.uint64(32), p0 & _LO, p1 >> np.uint64(32), p1 & _LO
        x0, x1, x2, x3 = hi1 ^ x1 ^ np.uint64(k0), lo1, hi0 ^ x3 ^ np.uint64(k1), lo0
        k0, k1 = (k0 + _W0) & 0xFFFFFFFF, (k1 + _W1) & 0xFFFFFFFF
    return [w.astype(np.uint32) for w in (x0, x1, x2, x3)]


def _uniform32(r0):
    return (r0 >> 8).astype(np.float32) * np.float32(2.0**-24)


def test_reference_philox_matches_random123_known_answers():
    """The reference itself, against Random123's published philox4x32_10 test vectors."""
    assert [int(w[0]) for w in philox4x32_10(0, 0, 1)] == \
        [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]


@pytest.mark.parametrize("seed", [0, 1, 42, 2**32 + 7, 2**63 + 12345, 2**64 - 1])
def test_rand_float32_is_the_philox_stream(seed):
    clgrad.manual_seed(seed)
    got = clgrad.rand(1000).numpy()
    np.testing.assert_array_equal(got, _uniform32(philox4x32_10(seed, 0, 1000)[0]))


def test_consecutive_calls_continue_the_stream():
    clgrad.manual_seed(7)
    first = clgrad.rand(300).numpy()
    second = clgrad.rand(5, 7).numpy()
    third = clgrad.rand(1).numpy()
    stream = _uniform32(philox4x32_10(7, 0, 336)[0])
    np.testing.assert_array_equal(first, stream[:300])
    np.testing.assert_array_equal(second.reshape(-1), stream[300:335])
    np.testing.assert_array_equal(third, stream[335:])
    assert clgrad.default_generator.get_state() == (7, 336)


def test_rand_float64_uses_53_bits_of_two_words():
    clgrad.manual_seed(3)
    got = clgrad.rand(200, dtype=clgrad.float64).numpy()
    r0, r1, _, _ = philox4x32_10(3, 0, 200)
    bits = ((r0 >> 5).astype(np.uint64) << np.uint64(26)) | (r1 >> 6).astype(np.uint64)
    np.testing.assert_array_equal(got, bits.astype(np.float64) * 2.0**-53)


def test_randint_is_the_philox_stream():
    clgrad.manual_seed(11)
    got = clgrad.randint(-5, 7, (400,)).numpy()
    r0, r1, _, _ = philox4x32_10(11, 0, 400)
    bits = (r0.astype(np.uint64) << np.uint64(32)) | r1.astype(np.uint64)
    np.testing.assert_array_equal(got, -5 + (bits % np.uint64(12)).astype(np.int64))


def test_randn_is_box_muller_of_the_philox_stream():
    clgrad.manual_seed(5)
    got = clgrad.randn(500, dtype=clgrad.float64).numpy()
    r0, r1, r2, r3 = philox4x32_10(5, 0, 500)

    def unit(hi, lo):
        return (((hi >> 5).astype(np.uint64) << np.uint64(26)) |
                (lo >> 6).astype(np.uint64)).astype(np.float64) * 2.0**-53
    want = np.sqrt(-2 * np.log(1 - unit(r0, r1))) * np.cos(2 * np.pi * unit(r2, r3))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_uniform_on_noncontiguous_view_fills_only_the_view_in_logical_order():
    base = clgrad.zeros(6, 8)
    view = base.t()[1::3, ::2]                      # (3, 3), strided both ways
    clgrad.manual_seed(9)
    view.uniform_(2, 3)
    want = np.zeros((6, 8), np.float32)
    want.T[1::3, ::2] = (2 + (3 - 2) * _uniform32(philox4x32_10(9, 0, 9)[0])).reshape(3, 3)
    np.testing.assert_allclose(base.numpy(), want, rtol=1e-7)
    assert (base.numpy()[want == 0] == 0).all()


def test_normal_on_noncontiguous_view_fills_only_the_view():
    base = clgrad.zeros(50, 40)
    view = base[::2, 10:30]
    view.normal_(5.0, 0.5)
    mask = np.zeros((50, 40), bool)
    mask[::2, 10:30] = True
    values = base.numpy()
    assert (values[~mask] == 0).all()
    assert abs(values[mask].mean() - 5.0) < 0.05 and abs(values[mask].std() - 0.5) < 0.05


def test_manual_seed_reproducible_and_seeds_differ():
    clgrad.manual_seed(1234)
    a = clgrad.rand(64).numpy()
    b = clgrad.randn(8, 8).numpy()
    c = clgrad.randint(0, 100, (64,)).numpy()
    clgrad.manual_seed(1234)
    np.testing.assert_array_equal(clgrad.rand(64).numpy(), a)
    np.testing.assert_array_equal(clgrad.randn(8, 8).numpy(), b)
    np.testing.assert_array_equal(clgrad.randint(0, 100, (64,)).numpy(), c)
    clgrad.manual_seed(1235)
    assert not np.array_equal(clgrad.rand(64).numpy(), a)
    assert clgrad.initial_seed() == 1235


def test_separate_generator_does_not_touch_the_default_stream():
    clgrad.manual_seed(21)
    g = clgrad.Generator().manual_seed(21)
    mine = clgrad.rand(10, generator=g).numpy()
    default = clgrad.rand(10).numpy()
    np.testing.assert_array_equal(mine, default)
    assert g.get_state() == (21, 10) and clgrad.default_generator.get_state() == (21, 10)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: d.name)
def test_rand_is_in_unit_interval(dtype):
    _skip_unsupported(dtype)
    u = clgrad.rand(100_000, dtype=dtype).numpy()
    assert u.dtype == dtype.np
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.01 and len(np.unique(u)) > 99_000


def test_randn_moments():
    clgrad.manual_seed(0)
    x = clgrad.randn(100_000).numpy()
    assert x.dtype == np.float32 and np.isfinite(x).all()
    assert abs(x.mean()) < 0.015 and abs(x.std() - 1) < 0.015
    assert abs((np.abs(x) < 1).mean() - 0.6827) < 0.01


@pytest.mark.parametrize("args, kwargs, low, high, dtype", [
    ((10, (10_000,)), {}, 0, 10, clgrad.int64),
    ((3, 10, (100, 100)), {}, 3, 10, clgrad.int64),
    ((-4, 4, (10_000,)), {"dtype": clgrad.int32}, -4, 4, clgrad.int32),
    ((0, 2, (1000,)), {"dtype": clgrad.uint8}, 0, 2, clgrad.uint8),
    ((-3, 3, (1000,)), {"dtype": clgrad.float32}, -3, 3, clgrad.float32),
], ids=["high", "low_high", "int32", "uint8", "float"])
def test_randint_range_and_dtype(args, kwargs, low, high, dtype):
    t = clgrad.randint(*args, **kwargs)
    assert t.dtype is dtype and t.shape == args[-1]
    values = t.numpy()
    assert values.min() == low and values.max() == high - 1
    assert set(np.unique(values).tolist()) == set(range(low, high))


@pytest.mark.parametrize("make", [lambda: clgrad.rand(2, dtype=clgrad.int64),
                                  lambda: clgrad.randn(2, dtype=clgrad.int32),
                                  lambda: clgrad.zeros(2, dtype=clgrad.int64).uniform_(),
                                  lambda: clgrad.zeros(2, dtype=clgrad.bool).normal_()],
                         ids=["rand", "randn", "uniform_", "normal_"])
def test_float_distributions_on_int_dtype_raise(make):
    with pytest.raises(RuntimeError, match="int64|int32|bool"):
        make()


def test_random_argument_errors():
    with pytest.raises(RuntimeError, match="from=3 >= to=3"):
        clgrad.randint(3, 3, (2,))
    with pytest.raises(RuntimeError, match="from=2.0 > to=1.0"):
        clgrad.zeros(2).uniform_(2.0, 1.0)
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        clgrad.zeros(2).normal_(0, -1)
    with pytest.raises(TypeError, match="int"):
        clgrad.manual_seed(1.5)
    with pytest.raises(TypeError):
        clgrad.randint(5)


def test_random_fills_of_empty_tensors_do_not_advance_the_stream():
    clgrad.manual_seed(2)
    assert clgrad.rand(0, 3).shape == (0, 3)
    assert clgrad.default_generator.get_state() == (2, 0)


@pytest.mark.parametrize("args", [(0, 1, float("nan")), (0, float("inf"), 1)], ids=str)
def test_arange_non_finite_arguments_raise(args):
    with pytest.raises(RuntimeError, match="unsupported range"):
        clgrad.arange(*args)


def test_tensor_of_none_raises_type_error():
    with pytest.raises(TypeError, match="NoneType"):
        clgrad.tensor(None)


@pytest.mark.parametrize("make, error, match", [
    (lambda lib: lib.tensor([1, 300], dtype=lib.uint8), RuntimeError, "300 .*uint8"),
    (lambda lib: lib.tensor([[1], [2**40]], dtype=lib.int32), RuntimeError, "1099511627776"),
    (lambda lib: lib.tensor([float("nan")], dtype=lib.int64), RuntimeError, "nan .*int64"),
    (lambda lib: lib.tensor([2**63]), ValueError, "9223372036854775808"),
    (lambda lib: lib.arange(2**63), RuntimeError, "9223372036854775808"),
    (lambda lib: lib.arange(0, 1e20, 1), RuntimeError, "overflow"),
    (lambda lib: lib.empty(2**62), RuntimeError, "overflow"),
    (lambda lib: lib.zeros(3, dtype="float32"), TypeError, "dtype.*str"),
    (lambda lib: lib.linspace(0, 1, 2.5), TypeError, "steps.*float"),
    (lambda lib: lib.randint(0, 300, (2,), dtype=lib.uint8), RuntimeError, "299.*uint8"),
    (lambda lib: lib.randint(-1, 2, (2,), dtype=lib.uint8), RuntimeError, "-1.*uint8"),
    (lambda lib: lib.randint(0, 3, (2,), dtype=lib.bool), RuntimeError, "2.*bool"),
    (lambda lib: lib.randint(0, 2**63, (2,)), ValueError, "9223372036854775808"),
    (lambda lib: lib.rand(2, dtype=lib.int64), NotImplementedError, "int64"),
    (lambda lib: lib.manual_seed(2**64), ValueError, "18446744073709551616"),
], ids=["uint8-300", "int32-2**40", "nan-int", "int64-2**63", "arange-2**63",
        "arange-1e20-elements", "empty-2**64-bytes", "dtype-str", "linspace-float-steps",
        "randint-high", "randint-low", "randint-bool", "randint-2**63", "rand-int",
        "seed-2**64"])
def test_out_of_range_arguments_raise_as_torch(make, error, match):
    """The exception type PyTorch raises, and a message naming the offending value."""
    with pytest.raises(error, match=match):
        make(clgrad)
    if torch is not None:
        with pytest.raises(error):
            make(torch)


def test_values_torch_accepts_still_convert():
    assert clgrad.tensor([1, -1, -255], dtype=clgrad.uint8).tolist() == [1, 255, 1]
    assert clgrad.tensor([1.5, -2.5], dtype=clgrad.int32).tolist() == [1, -2]
    assert clgrad.tensor([True, False], dtype=clgrad.int8).tolist() == [1, 0]
    assert clgrad.arange(-2**63, -2**63 + 2).tolist() == [-2**63, -2**63 + 1]
    assert set(clgrad.randint(0, 256, (64,), dtype=clgrad.uint8).tolist()) <= set(range(256))
    clgrad.manual_seed(-1)
    clgrad.manual_seed(2**64 - 1)


@pytest.mark.parametrize("make", [
    lambda t, out: t.arange(1000, 1004, out=out),
    lambda t, out: t.zeros(3, out=out),
    lambda t, out: t.ones(2, 2, out=out),
    lambda t, out: t.full((2, 3), 7, out=out),
    lambda t, out: t.linspace(0, 1, 5, out=out),
    lambda t, out: t.eye(3, out=out),
])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_factories_write_out(make, dtype):
    torch = pytest.importorskip("torch")
    ours = clgrad.zeros(2, dtype=getattr(clgrad, dtype))
    theirs = torch.zeros(2, dtype=getattr(torch, dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = make(clgrad, ours)
        make(torch, theirs)
    assert got is ours and got.dtype == ours.dtype
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_factory_out_dtype_mismatch():
    with pytest.raises(RuntimeError,
                       match=r"dtype Long does not match dtype of out parameter \(Float\)"):
        clgrad.zeros(2, dtype=clgrad.int64, out=clgrad.zeros(2))


def test_factory_out_defaults_and_requires_grad():
    out = clgrad.ones(2, dtype=clgrad.int64)
    assert clgrad.zeros(2, dtype=None, out=out) is out and out.tolist() == [0, 0]
    leaf = clgrad.empty(3)
    clgrad.ones(3, out=leaf, requires_grad=True)
    assert leaf.is_leaf and leaf.requires_grad and leaf.grad_fn is None


# -- factory arguments: size= and unexpected keywords, as PyTorch parses them ---------------
@pytest.mark.parametrize("call, shape", [
    ("zeros(size=(2, 3))", (2, 3)), ("ones(size=[2])", (2,)), ("empty(size=(0, 4))", (0, 4)),
    ("rand(size=(2,))", (2,)), ("randn(size=(1, 2))", (1, 2)), ("zeros(())", ()),
    ("ones([])", ()), ("zeros(2, layout=None, pin_memory=False)", (2,)),
    ("ones(2).new_zeros(size=(3,))", (3,)), ("empty_like(ones(2), memory_format=None)", (2,)),
])
def test_factories_take_size_as_a_keyword(call, shape):
    assert tuple(eval(call, vars(clgrad)).shape) == shape


@pytest.mark.parametrize("call, message", [
    ("zeros()", 'missing 1 required positional arguments: "size"'),
    ("rand()", 'missing 1 required positional arguments: "size"'),
    ("zeros(2, size=(3,))", "got multiple values for argument 'size'"),
    ("zeros(size=None)", "must be tuple of ints"), ("zeros(size=2)", "must be tuple of ints"),
    ("zeros(2, requires_grad=1)", "'requires_grad' must be bool"),
    ("rand(2, requires_grad=1)", "'requires_grad' must be bool"),
    ("ones(2, foo=1)", "got an unexpected keyword argument 'foo'"),
    ("randn(2, sizes=3)", "got an unexpected keyword argument 'sizes'"),
    ("zeros_like(ones(2), bar=1)", "got an unexpected keyword argument 'bar'"),
    ("full((2,), 3.0, device=None, dtypes=None)", "got an unexpected keyword argument 'dtypes'"),
    ("arange(3, foo=2)", "foo"), ("linspace(0, 1, 3, foo=2)", "foo"),
    ("eye(2, foo=2)", "foo"), ("randint(3, (2,), x=1)", "'x'"),
    ("rand_like(ones(2), x=1)", "'x'"), ("randint_like(ones(2), 3, x=1)", "'x'"),
])
def test_factories_refuse_unknown_keywords_like_torch(call, message):
    """A misspelt keyword used to be ignored silently (zeros(size=(2, 3)) gave a 0-d
    tensor); PyTorch raises TypeError, and so does clgrad."""
    with pytest.raises(TypeError, match=re.escape(message)):
        eval(call, vars(clgrad))


@pytest.mark.parametrize("data", [[1.5, None], [None], [[1], None]])
def test_none_in_data_is_refused_like_torch(data):
    with pytest.raises(RuntimeError, match="Could not infer dtype of NoneType"):
        clgrad.tensor(data)


@pytest.mark.parametrize("data", [[-1, 2**63], [2**64], [[1], [2**63]]])
def test_big_ints_with_a_float_dtype_become_floats(data):
    t = clgrad.tensor(data, dtype=clgrad.float64)
    np.testing.assert_array_equal(t.numpy(), np.array(data, np.float64))


@pytest.mark.parametrize("call, shape", [
    ("full_like(ones(2), fill_value=3.0)", (2,)), ("randint(low=0, high=5, size=(3,))", (3,)),
    ("randint(high=5, size=(3,))", (3,)), ("randint(2, high=5, size=(3,))", (3,)),
    ("rand(3, out=zeros(3))", (3,)), ("randn(2, out=None)", (2,)),
    ("randint(0, 5, (4,), out=zeros(4, dtype=int64))", (4,)),
])
def test_factory_keywords_torch_accepts(call, shape):
    assert tuple(eval(call, vars(clgrad)).shape) == shape


def test_random_factories_write_into_out():
    out = clgrad.zeros(1000)
    assert clgrad.rand(1000, out=out) is out and out.numpy().min() > 0
