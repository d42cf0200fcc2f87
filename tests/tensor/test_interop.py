"""Host interop: numpy()/__array__ sharing, item/tolist, Python number protocols, repr, casts,
moves between devices, copy_, clone, Size and data_ptr."""
import numpy as np
import pytest
from conftest import ALL_DTYPES, random_array, supported

import clgrad

try:
    import torch
except ImportError:       # PyTorch is an optional reference; NumPy always is one
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is the reference here")
needs_gpu = pytest.mark.skipif(clgrad.runtime.gpu_count() == 0,
                               reason="no OpenCL GPU device (the 'cuda' device)")


def _storage(t):
    return t.untyped_storage().data_ptr()


# -- numpy() / __array__ -------------------------------------------------------------------
def test_numpy_shares_memory_on_the_cpu_device():
    x = clgrad.arange(12, dtype=clgrad.float32).view(3, 4)
    a = x.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32 and a.shape == (3, 4)
    a[0, 0] = 100
    assert x[0, 0].item() == 100
    x.add_(1)
    assert a[0, 0] == 101 and a[2, 3] == 12


def test_numpy_of_a_view_has_matching_strides_and_shares():
    x = clgrad.arange(24, dtype=clgrad.int32).view(4, 6)
    v = x.t()[1:5:2]
    a = v.numpy()
    np.testing.assert_array_equal(a, np.arange(24, dtype=np.int32).reshape(4, 6).T[1:5:2])
    assert a.strides == tuple(s * 4 for s in v.stride())
    a[...] = -1
    assert (x.numpy()[:, 1:5:2] == -1).all()


def test_numpy_on_requires_grad_tensor_raises():
    x = clgrad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"requires grad.*detach\(\)\.numpy\(\)"):
        x.numpy()
    np.testing.assert_array_equal(x.detach().numpy(), np.ones(3, np.float32))
    np.testing.assert_array_equal(x.numpy(force=True), np.ones(3, np.float32))
    if torch is not None:
        with pytest.raises(RuntimeError):
            torch.ones(3, requires_grad=True).numpy()


def test_array_protocol():
    x = clgrad.arange(6).view(2, 3)
    a = np.asarray(x)
    assert a.dtype == np.int64
    np.testing.assert_array_equal(a, np.arange(6).reshape(2, 3))
    f = np.asarray(x, dtype=np.float64)
    assert f.dtype == np.float64
    copied = np.array(x)
    copied[0, 0] = 9
    assert x[0, 0].item() == 0
    np.testing.assert_array_equal(np.add(x, 1), np.arange(1, 7).reshape(2, 3))


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
def test_numpy_dtype_roundtrip(dtype, rng):
    if not supported(dtype):
        pytest.skip(f"the device has no {dtype.name}")
    a = random_array((3, 5), dtype, rng)
    t = clgrad.tensor(a)
    assert t.numpy().dtype == dtype.np
    np.testing.assert_array_equal(t.numpy(), a)
    np.testing.assert_array_equal(t.t().numpy(), a.T)


# -- item / tolist ----------------------------------------------------------------------------
@pytest.mark.parametrize("value, kind", [(3, int), (-2.5, float), (True, bool), (0, int)])
def test_item_returns_python_scalars(value, kind):
    t = clgrad.tensor([value])
    got = t.item()
    assert type(got) is kind and got == value
    assert type(t[0].item()) is kind


def test_item_of_viewed_element_reads_the_right_element():
    x = clgrad.arange(20).view(4, 5)
    assert x[2, 3].item() == 13
    assert x.t()[4, 1].item() == 9
    assert x[1:2, 2:3].item() == 7
    assert clgrad.tensor([[1.5]], dtype=clgrad.float64).item() == 1.5


def test_item_on_many_elements_raises():
    with pytest.raises(RuntimeError, match="a Tensor with 6 elements cannot be converted to "
                                           "Scalar"):
        clgrad.zeros(2, 3).item()
    with pytest.raises(RuntimeError, match="0 elements"):
        clgrad.zeros(0).item()


def test_tolist_matches_numpy_for_layouts_and_dtypes():
    x = clgrad.arange(24).view(2, 3, 4)
    for v in (x, x.permute(2, 0, 1), x[:, ::2, 1:], x[1], x[0, 0, 0], x[:0]):
        want = np.asarray(v.numpy()).tolist()
        assert v.tolist() == want
    assert clgrad.tensor([1.5, 2.5])[1].tolist() == 2.5
    assert clgrad.tensor([True, False]).tolist() == [True, False]
    assert type(clgrad.tensor([1.5]).tolist()[0]) is float
    assert clgrad.tensor(2.5).tolist() == 2.5


# -- Python protocols ----------------------------------------------------------------------
def test_len_and_iter():
    x = clgrad.arange(6).view(3, 2)
    assert len(x) == 3 and len(x.t()) == 2 and len(clgrad.zeros(0, 4)) == 0
    rows = list(x)
    assert [r.tolist() for r in rows] == [[0, 1], [2, 3], [4, 5]]
    assert all(_storage(r) == _storage(x) for r in rows)
    assert [v.item() for v in clgrad.arange(3)] == [0, 1, 2]


def test_len_and_iter_of_0d_tensor_raise_type_error():
    s = clgrad.arange(3)[1]
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(s)
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(s)
    if torch is not None:
        with pytest.raises(TypeError):
            len(torch.tensor(1))


def test_bool():
    assert bool(clgrad.tensor([1.5])) is True
    assert bool(clgrad.tensor([0.0])) is False
    assert bool(clgrad.tensor([[True]])) is True
    assert not clgrad.tensor([0])
    for t in (clgrad.zeros(2), clgrad.zeros(0)):
        with pytest.raises(RuntimeError, match="ambiguous"):
            bool(t)


def test_float_int_index():
    assert float(clgrad.tensor([2.5])) == 2.5
    assert float(clgrad.tensor([True])) == 1.0
    assert int(clgrad.tensor([-2.7])) == -2
    assert int(clgrad.tensor([[7]], dtype=clgrad.int8)) == 7
    n = clgrad.tensor(3)
    assert list(range(n)) == [0, 1, 2]
    assert [10, 20, 30, 40][clgrad.arange(4)[2]] == 30
    assert "abcdef"[clgrad.tensor(1, dtype=clgrad.uint8):clgrad.tensor(3)] == "bc"
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        range(clgrad.tensor(3.0))
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        range(clgrad.tensor([1, 2]))


@pytest.mark.parametrize("convert", [float, int], ids=["float", "int"])
def test_float_int_of_many_elements_raise_value_error(convert):
    with pytest.raises(ValueError, match="only one element tensors can be converted to Python "
                                         "scalars"):
        convert(clgrad.zeros(3))
    if torch is not None:
        with pytest.raises(ValueError):
            convert(torch.zeros(3))


# -- repr ----------------------------------------------------------------------------------------
REPRS = [
    ("float", lambda lib: lib.tensor([[1.5, -2.25, 3.0], [4.0, 5.5, -6.125]])),
    ("int", lambda lib: lib.tensor([[1, -20, 300], [4, 5, 6]])),
    ("bool", lambda lib: lib.tensor([True, False, True])),
    ("float64", lambda lib: lib.tensor([1.5, 2.0, 1e-3], dtype=lib.float64)),
    ("int32", lambda lib: lib.tensor([1, 2], dtype=lib.int32)),
    ("uint8", lambda lib: lib.tensor([0, 255], dtype=lib.uint8)),
    ("0d", lambda lib: lib.tensor([2.5, 3.5])[1]),
    ("0d_int", lambda lib: lib.tensor([7, 8])[0]),
    ("0d_tensor", lambda lib: lib.tensor(2.5)),
    ("empty", lambda lib: lib.zeros(0)),
    ("empty2d", lambda lib: lib.zeros(0, 3)),
    ("empty_int", lambda lib: lib.zeros(2, 0, dtype=lib.int64)),
    ("requires_grad", lambda lib: lib.tensor([1.0, 2.5], requires_grad=True)),
    ("requires_grad_f64", lambda lib: lib.tensor([1.0, 2.5], dtype=lib.float64,
                                                 requires_grad=True)),
    ("transposed", lambda lib: lib.arange(6.0).view(2, 3).t()),
    ("big", lambda lib: lib.arange(2000.0).view(40, 50)),
    ("sci", lambda lib: lib.tensor([1e-8, 1.0, 1e8])),
    ("nonfinite", lambda lib: lib.tensor([float("inf"), float("nan"), -1.0])),
    ("3d", lambda lib: lib.arange(24).view(2, 3, 4)),
    ("0d_bool", lambda lib: lib.tensor(True)),
    ("0d_int8", lambda lib: lib.tensor(-3, dtype=lib.int8)),
    ("0d_float64", lambda lib: lib.tensor(2.5, dtype=lib.float64)),
    ("0d_requires_grad", lambda lib: lib.tensor(1.0, requires_grad=True)),
    ("0d_nan", lambda lib: lib.tensor(float("nan"))),
    ("negative_zero", lambda lib: lib.tensor([-0.0, 0.0])),
    ("big_int64", lambda lib: lib.tensor([2**62, -5])),
    ("empty_bool", lambda lib: lib.zeros(0, dtype=lib.bool)),
    ("empty_3d_float64", lambda lib: lib.zeros(3, 0, 2, dtype=lib.float64)),
    ("expanded", lambda lib: lib.tensor([1.0, 2.0])[0].expand(3)),
    ("size1_dims", lambda lib: lib.ones(2, 1, 3, dtype=lib.int16)),
]


@needs_torch
@pytest.mark.parametrize("name, make", REPRS, ids=[r[0] for r in REPRS])
def test_repr_and_str_match_torch(name, make):
    t = make(clgrad)
    want = repr(make(torch)).replace("torch.", "clgrad.")
    assert repr(t) == want
    assert str(t) == want


def test_dtype_and_device_reprs():
    assert repr(clgrad.float32) == "clgrad.float32" and repr(clgrad.bool) == "clgrad.bool"
    assert repr(clgrad.zeros(1).device) == "device(type='cpu')"
    assert str(clgrad.zeros(1).device) == "cpu"
    assert clgrad.zeros(1).type() == "clgrad.float32"


# -- casts -----------------------------------------------------------------------------------------
CASTS = [("float", "float32"), ("double", "float64"), ("long", "int64"), ("int", "int32"),
         ("short", "int16"), ("char", "int8"), ("byte", "uint8"), ("bool", "bool")]


@pytest.mark.parametrize("method, name", CASTS, ids=[c[0] for c in CASTS])
def test_cast_methods_convert_like_numpy(method, name):
    data = np.array([[0.0, 1.7, -1.7], [2.5, 0.4, 100.9]], np.float32)
    if name == "uint8":
        data = np.abs(data)
    t = getattr(clgrad.tensor(data), method)()
    assert t.dtype.name == name
    np.testing.assert_array_equal(t.numpy(), data.astype(getattr(clgrad, name).np))
    if torch is not None:
        np.testing.assert_array_equal(t.numpy(), getattr(torch.tensor(data), method)().numpy())


def test_to_dtype_forms():
    x = clgrad.tensor([1.7, -1.7])
    assert x.to(clgrad.int32).tolist() == [1, -1]
    assert x.to(dtype=clgrad.float64).dtype is clgrad.float64
    assert x.to(x) is x
    assert x.to(clgrad.arange(2)).dtype is clgrad.int64
    assert x.to("cpu", clgrad.int64).tolist() == [1, -1]
    assert x.type(clgrad.int16).dtype is clgrad.int16
    i = clgrad.tensor([0, 3, -2])
    assert i.float().tolist() == [0.0, 3.0, -2.0]
    assert i.bool().tolist() == [False, True, True]
    assert clgrad.tensor([True, False]).long().tolist() == [1, 0]


def test_to_same_dtype_and_device_is_a_no_op_unless_copy():
    x = clgrad.arange(4.0)
    assert x.to(clgrad.float32) is x and x.float() is x
    assert x.to("cpu") is x and x.cpu() is x and x.to(x.device) is x
    c = x.to(clgrad.float32, copy=True)
    assert c is not x and _storage(c) != _storage(x) and c.tolist() == x.tolist()


def test_to_rejects_bad_arguments():
    x = clgrad.zeros(2)
    with pytest.raises(TypeError, match="invalid argument"):
        x.to(3.5)
    with pytest.raises(TypeError, match="unexpected keyword"):
        x.to(clgrad.float64, bogus=1)
    if torch is not None:
        with pytest.raises(TypeError, match="dtype"):
            x.to(torch.float64)


def test_half():
    x = clgrad.tensor([1.5, 2.0])
    if supported(clgrad.float16):
        h = x.half()
        assert h.dtype is clgrad.float16 and h.tolist() == [1.5, 2.0]
    else:
        with pytest.raises(TypeError, match="cl_khr_fp16"):
            x.half()
        with pytest.raises(TypeError, match="cl_khr_fp16"):
            clgrad.zeros(2, dtype=clgrad.float16)


def test_double_needs_fp64():
    x = clgrad.tensor([1.5])
    if supported(clgrad.float64):
        assert x.double().dtype is clgrad.float64
    else:
        with pytest.raises(TypeError, match="cl_khr_fp64"):
            x.double()


# -- devices: to(device), cpu(), cuda() ------------------------------------------------------
def test_device_attributes():
    x = clgrad.zeros(2)
    assert x.device == clgrad.device("cpu") and x.device == "cpu"
    assert x.is_cpu and not x.is_cuda
    assert x.to("cpu:0") is x


def test_cuda_without_a_gpu_raises_naming_the_device():
    if clgrad.runtime.gpu_count():
        pytest.skip("a GPU device exists")
    with pytest.raises(RuntimeError, match="cuda"):
        clgrad.zeros(2).cuda()
    with pytest.raises(RuntimeError, match="cuda"):
        clgrad.zeros(2, device="cuda")


@needs_gpu
def test_cuda_roundtrip():
    x = clgrad.arange(10).view(2, 5)
    g = x.cuda()
    assert g.is_cuda and str(g.device) == "cuda:0" and g.device != x.device
    assert g.tolist() == x.tolist()
    back = (g.t() + 1).cpu()
    assert back.is_cpu and back.tolist() == (np.arange(10).reshape(2, 5).T + 1).tolist()
    assert x.to("cuda", clgrad.float32).dtype is clgrad.float32
    with pytest.raises(TypeError, match=r"cpu\(\)"):
        g.numpy()
    with pytest.raises(RuntimeError, match="same device"):
        g + x
    y = clgrad.zeros(2, 5, device="cuda")
    y.copy_(x)
    assert y.tolist() == x.tolist()
    s = clgrad.arange(4)[2].cuda()
    assert s.shape == () and s.item() == 2


# -- copy_ ----------------------------------------------------------------------------------------
def test_copy_same_shape_returns_self_and_keeps_storage():
    dst = clgrad.zeros(2, 3)
    storage = _storage(dst)
    out = dst.copy_(clgrad.arange(6.0).view(2, 3))
    assert out is dst and _storage(dst) == storage
    assert dst.tolist() == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.parametrize("src_shape", [(3,), (1, 3), (2, 1), (1,), ()], ids=str)
def test_copy_broadcasts_source(src_shape, rng):
    src = rng.uniform(size=src_shape).astype(np.float32)
    dst = clgrad.zeros(2, 3)
    dst.copy_(clgrad.tensor(src) if src_shape else clgrad.tensor([float(src)])[0])
    np.testing.assert_array_equal(dst.numpy(), np.broadcast_to(src, (2, 3)))


@pytest.mark.parametrize("src_dtype, dst_dtype", [(clgrad.float32, clgrad.int64),
                                                  (clgrad.int64, clgrad.float32),
                                                  (clgrad.bool, clgrad.float32),
                                                  (clgrad.float32, clgrad.bool),
                                                  (clgrad.int32, clgrad.uint8),
                                                  (clgrad.float64, clgrad.float32)],
                         ids=lambda d: d.name)
def test_copy_converts_dtype(src_dtype, dst_dtype):
    data = np.array([0.0, 1.7, -1.2, 3.0, 200.6])
    if dst_dtype is clgrad.uint8:
        data = np.abs(data)
    src = clgrad.tensor(data.astype(src_dtype.np))
    dst = clgrad.empty(5, dtype=dst_dtype)
    dst.copy_(src)
    assert dst.dtype is dst_dtype
    np.testing.assert_array_equal(dst.numpy(), data.astype(src_dtype.np).astype(dst_dtype.np))


def test_copy_between_noncontiguous_layouts():
    base = clgrad.zeros(4, 6)
    dst = base.t()[::2]                                   # (3, 4), strided
    src = clgrad.arange(24.0).view(4, 6)[:, 1::2].t()     # (3, 4), strided differently
    dst.copy_(src)
    want = np.zeros((4, 6), np.float32)
    want.T[::2] = np.arange(24.0).reshape(4, 6)[:, 1::2].T
    np.testing.assert_array_equal(base.numpy(), want)


def test_copy_shape_errors_name_shapes_and_leave_target_unchanged():
    dst = clgrad.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"\(3\).*\(2\)|\[2, 3\].*\[2\]"):
        dst.copy_(clgrad.arange(2.0))
    with pytest.raises(RuntimeError):
        clgrad.zeros(3).copy_(clgrad.zeros(2, 3))
    assert (dst.numpy() == 0).all()


# -- clone -------------------------------------------------------------------------------------
def test_clone_is_independent():
    x = clgrad.arange(6.0).view(2, 3)
    c = x.clone()
    assert _storage(c) != _storage(x) and c.tolist() == x.tolist() and c.dtype is x.dtype
    c.fill_(-1)
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]]
    v = x[:, 1:].clone()
    assert v.tolist() == [[1, 2], [4, 5]] and v.storage_offset() == 0
    assert clgrad.zeros(0, 2).clone().shape == (0, 2)
    assert x[1, 2].clone().item() == 5.0


@needs_torch
def test_clone_preserves_strides_of_dense_input_like_torch():
    x, tx = clgrad.arange(12.).reshape(3, 4).t(), torch.arange(12.).reshape(3, 4).t()
    assert x.clone().stride() == tx.clone().stride()
    assert x.clone().tolist() == tx.tolist()
    y = clgrad.arange(24.).reshape(2, 3, 4).permute(2, 0, 1)
    ty = torch.arange(24.).reshape(2, 3, 4).permute(2, 0, 1)
    assert y.clone().stride() == ty.clone().stride() and y.clone().tolist() == ty.tolist()
    z, tz = clgrad.arange(24.).reshape(4, 6)[:, ::2], torch.arange(24.).reshape(4, 6)[:, ::2]
    assert z.clone().stride() == tz.clone().stride() and z.clone().tolist() == tz.tolist()


# -- metadata and data_ptr --------------------------------------------------------------------
def test_metadata():
    x = clgrad.zeros(2, 3, 4, dtype=clgrad.int16)
    assert isinstance(x.shape, clgrad.Size) and isinstance(x.size(), clgrad.Size)
    assert repr(x.shape) == "clgrad.Size([2, 3, 4])"
    assert x.size(1) == 3 and x.size(-1) == 4 and x.stride(0) == 12 and x.stride(-2) == 4
    assert x.dim() == x.ndim == x.ndimension() == 3
    assert x.numel() == x.nelement() == 24 == clgrad.numel(x)
    assert x.element_size() == 2
    assert not x.is_floating_point() and clgrad.zeros(1).is_floating_point()
    assert clgrad.is_tensor(x) and not clgrad.is_tensor(np.zeros(1))


def test_data_ptr_identity_for_views_starting_at_the_same_element():
    x = clgrad.zeros(4, 6)
    same = [x, x[0], x[:, 0], x.view(-1), x.t(), x[:1], x[..., :2], x.detach(), x.unsqueeze(0),
            x.narrow(1, 0, 3), x.expand(2, 4, 6), x[0, 0]]
    assert {v.data_ptr() for v in same} == {x.data_ptr()}
    assert x[1].data_ptr() == x.data_ptr() + 6 * 4
    assert x[:, 2].data_ptr() == x.data_ptr() + 2 * 4
    assert x[3, 5].data_ptr() == x.data_ptr() + 23 * 4
    assert x.clone().data_ptr() != x.data_ptr()
    assert clgrad.zeros(4, 6).data_ptr() != x.data_ptr()
    if torch is not None:
        t = torch.zeros(4, 6)
        assert t[1].data_ptr() - t.data_ptr() == x[1].data_ptr() - x.data_ptr()


def test_tensors_are_not_picklable():
    import pickle
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(clgrad.zeros(2))


def test_deepcopy_copies_data_and_requires_grad():
    import copy
    x = clgrad.arange(4.).requires_grad_()
    y = copy.deepcopy(x)
    assert y.tolist() == [0, 1, 2, 3] and y.requires_grad
    assert y.untyped_storage() is not x.untyped_storage()


def test_reading_to_host_does_not_make_later_ops_synchronous():
    """repr/tolist copy out; only numpy() views make the storage NumPy-shared."""
    x = clgrad.ones(4)
    repr(x), x.tolist()
    assert not x.untyped_storage().shared
    x.numpy()
    assert x.untyped_storage().shared


def test_tensor_constructor_forms():
    assert clgrad.Tensor().shape == (0,)
    assert clgrad.Tensor(clgrad.Size([2, 3])).shape == (2, 3)
    assert clgrad.Tensor(2, 3).dtype is clgrad.float32
    assert clgrad.Tensor([1, 2]).tolist() == [1.0, 2.0]
