"""Views (view, reshape, transposes, expand, squeeze, narrow, select, indexing, ...) never copy.

Every view is checked four ways: values equal NumPy's for the same op; shape, stride() and
storage_offset() equal PyTorch's (when installed); the view shares its base's storage; and
writing through the view changes exactly the base elements NumPy says it covers.
"""
import warnings

import numpy as np
import pytest

import clgrad

try:
    import torch
except ImportError:       # PyTorch is an optional reference; NumPy always is one
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is the reference here")


def _storage(t):
    return t.untyped_storage().data_ptr()


def _make(shape, rng):
    """The same float32 data as a clgrad tensor, a NumPy array and (maybe) a torch tensor."""
    data = rng.uniform(-5, 5, shape).astype(np.float32)
    return clgrad.tensor(data), data, None if torch is None else torch.tensor(data)


def _covered(np_op, shape):
    """Flat indices (into the base) of the elements `np_op`'s view covers, in view order."""
    return np.asarray(np_op(np.arange(int(np.prod(shape))).reshape(shape)))


def check_view(op, np_op, shape, rng, write=True, add=True, exact_strides=True):
    x, a, tx = _make(shape, rng)
    v = op(x)
    assert _storage(v) == _storage(x), "a view must share its base's storage"
    np.testing.assert_array_equal(v.numpy(), np_op(a))
    if tx is not None:
        tv = op(tx)
        assert tuple(v.shape) == tuple(tv.shape)
        assert v.storage_offset() == tv.storage_offset()
        assert v.is_contiguous() == tv.is_contiguous()
        if exact_strides:
            assert v.stride() == tv.stride()
        else:      # size-1 dims' strides are free; the others must agree
            assert [s for s, n in zip(v.stride(), v.shape) if n != 1] == \
                [s for s, n in zip(tv.stride(), tv.shape) if n != 1]
    covered = _covered(np_op, shape)
    if write:
        v.fill_(1000.0)
        want = a.copy().reshape(-1)
        want[covered.reshape(-1)] = 1000.0
        np.testing.assert_array_equal(x.numpy().reshape(-1), want)
    if add:
        before = x.numpy().copy().reshape(-1)
        v.add_(1)
        want = before.copy()
        want[covered.reshape(-1)] += 1       # each covered element exactly once
        np.testing.assert_array_equal(x.numpy().reshape(-1), want)


# name, shape, op (works on clgrad and torch tensors), NumPy equivalent, writable with add_
VIEWS = [
    ("view", (2, 3, 4), lambda t: t.view(6, 4), lambda a: a.reshape(6, 4)),
    ("view-1", (2, 3, 4), lambda t: t.view(-1), lambda a: a.reshape(-1)),
    ("view-1mid", (2, 3, 4), lambda t: t.view(2, -1, 2), lambda a: a.reshape(2, -1, 2)),
    ("view_tuple", (2, 3, 4), lambda t: t.view((4, 6)), lambda a: a.reshape(4, 6)),
    ("view_on_slice", (4, 6), lambda t: t[1:3].view(3, 4), lambda a: a[1:3].reshape(3, 4)),
    ("view_split_transposed", (4, 6), lambda t: t.t().view(3, 2, 4),
     lambda a: a.T.reshape(3, 2, 4)),
    ("view_as", (2, 3, 4), lambda t: t.view_as(t.new_zeros(4, 6)), lambda a: a.reshape(4, 6)),
    ("reshape", (2, 3, 4), lambda t: t.reshape(3, 8), lambda a: a.reshape(3, 8)),
    ("reshape-1", (2, 3, 4), lambda t: t.reshape(-1, 3), lambda a: a.reshape(-1, 3)),
    ("reshape_noncontig_viewable", (4, 6), lambda t: t[:, ::2].reshape(2, 2, 3),
     lambda a: a[:, ::2].reshape(2, 2, 3)),
    ("t", (3, 5), lambda t: t.t(), lambda a: a.T),
    ("t_1d", (5,), lambda t: t.t(), lambda a: a),
    ("T", (3, 5), lambda t: t.T, lambda a: a.T),
    ("mT", (2, 3, 4), lambda t: t.mT, lambda a: np.swapaxes(a, -1, -2)),
    ("transpose", (2, 3, 4), lambda t: t.transpose(0, 2), lambda a: np.swapaxes(a, 0, 2)),
    ("transpose_neg", (2, 3, 4), lambda t: t.transpose(-1, 1), lambda a: np.swapaxes(a, -1, 1)),
    ("transpose_same", (2, 3), lambda t: t.transpose(1, 1), lambda a: a),
    ("swapaxes", (2, 3, 4), lambda t: t.swapaxes(0, 1), lambda a: np.swapaxes(a, 0, 1)),
    ("permute", (2, 3, 4), lambda t: t.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1)),
    ("permute_tuple_neg", (2, 3, 4), lambda t: t.permute((-1, -3, -2)),
     lambda a: a.transpose(2, 0, 1)),
    ("permute_of_slice", (4, 5, 6), lambda t: t[::2, 1:, ::3].permute(1, 2, 0),
     lambda a: a[::2, 1:, ::3].transpose(1, 2, 0)),
    ("squeeze_all", (1, 3, 1, 4), lambda t: t.squeeze(), lambda a: a.squeeze()),
    ("squeeze_dim", (1, 3, 1, 4), lambda t: t.squeeze(2), lambda a: a.squeeze(2)),
    ("squeeze_neg", (1, 3, 1, 4), lambda t: t.squeeze(-4), lambda a: a.squeeze(0)),
    ("squeeze_non1", (1, 3, 1, 4), lambda t: t.squeeze(1), lambda a: a),
    ("squeeze_tuple", (1, 3, 1, 4), lambda t: t.squeeze((0, 2)), lambda a: a.squeeze((0, 2))),
    ("squeeze_tuple_mixed", (1, 3, 1, 4), lambda t: t.squeeze((1, 2)), lambda a: a.squeeze(2)),
    ("unsqueeze0", (3, 4), lambda t: t.unsqueeze(0), lambda a: a[None]),
    ("unsqueeze_mid", (3, 4), lambda t: t.unsqueeze(1), lambda a: a[:, None]),
    ("unsqueeze_end", (3, 4), lambda t: t.unsqueeze(2), lambda a: a[..., None]),
    ("unsqueeze-1", (3, 4), lambda t: t.unsqueeze(-1), lambda a: a[..., None]),
    ("unsqueeze-3", (3, 4), lambda t: t.unsqueeze(-3), lambda a: a[None]),
    ("unsqueeze_transposed", (2, 3, 4), lambda t: t.transpose(0, 2).unsqueeze(1),
     lambda a: np.swapaxes(a, 0, 2)[:, None]),
    ("unsqueeze_strided", (4, 6), lambda t: t[:, ::2].unsqueeze(2), lambda a: a[:, ::2, None]),
    ("flatten", (2, 3, 4), lambda t: t.flatten(), lambda a: a.reshape(-1)),
    ("flatten_range", (2, 3, 4, 5), lambda t: t.flatten(1, 2), lambda a: a.reshape(2, 12, 5)),
    ("flatten_neg", (2, 3, 4), lambda t: t.flatten(-2), lambda a: a.reshape(2, 12)),
    ("flatten_single", (2, 3, 4), lambda t: t.flatten(1, 1), lambda a: a),
    ("flatten_transposed_part", (2, 3, 4), lambda t: t.permute(2, 0, 1).flatten(1),
     lambda a: a.transpose(2, 0, 1).reshape(4, 6)),
    ("narrow", (5, 6), lambda t: t.narrow(1, 2, 3), lambda a: a[:, 2:5]),
    ("narrow_negstart", (5, 6), lambda t: t.narrow(0, -3, 2), lambda a: a[2:4]),
    ("narrow_empty", (5, 6), lambda t: t.narrow(0, 5, 0), lambda a: a[5:5]),
    ("narrow_of_t", (5, 6), lambda t: t.t().narrow(1, 1, 3), lambda a: a.T[:, 1:4]),
    ("select", (3, 4, 5), lambda t: t.select(1, 2), lambda a: a[:, 2]),
    ("select_neg", (3, 4, 5), lambda t: t.select(-1, -2), lambda a: a[..., -2]),
    ("detach", (3, 4), lambda t: t.detach(), lambda a: a),
    ("data", (3, 4), lambda t: t.data, lambda a: a),
    ("chain", (4, 6, 2), lambda t: t.permute(2, 0, 1)[1, ::2].unsqueeze(0).transpose(1, 2),
     lambda a: np.swapaxes(a.transpose(2, 0, 1)[1, ::2][None], 1, 2)),
]


@pytest.mark.parametrize("name, shape, op, np_op", VIEWS, ids=[v[0] for v in VIEWS])
def test_view_shares_storage_matches_numpy_and_torch(name, shape, op, np_op, rng):
    check_view(op, np_op, shape, rng)


# expanded views: writing one base element through several view elements; fill only
EXPANDS = [
    ("expand", (3, 1), lambda t: t.expand(3, 4), lambda a: np.broadcast_to(a, (3, 4))),
    ("expand-1", (3, 1), lambda t: t.expand(-1, 4), lambda a: np.broadcast_to(a, (3, 4))),
    ("expand_new_dims", (3, 1), lambda t: t.expand(2, 3, 5),
     lambda a: np.broadcast_to(a, (2, 3, 5))),
    ("expand_same", (3, 4), lambda t: t.expand(3, 4), lambda a: a),
    ("expand_tuple", (1,), lambda t: t.expand((2, 2)), lambda a: np.broadcast_to(a, (2, 2))),
    ("expand_as", (1, 4), lambda t: t.expand_as(t.new_zeros(3, 4)),
     lambda a: np.broadcast_to(a, (3, 4))),
    ("expand_transposed", (1, 3), lambda t: t.t().expand(3, 2),
     lambda a: np.broadcast_to(a.T, (3, 2))),
]


@pytest.mark.parametrize("name, shape, op, np_op", EXPANDS, ids=[v[0] for v in EXPANDS])
def test_expand_is_a_view(name, shape, op, np_op, rng):
    check_view(op, np_op, shape, rng, add=False)


def test_inplace_op_on_expanded_view_raises():
    x = clgrad.zeros(3)
    with pytest.raises(RuntimeError, match="memory location"):
        x.expand(2, 3).add_(1)
    np.testing.assert_array_equal(x.numpy(), np.zeros(3, np.float32))


# -- basic indexing ------------------------------------------------------------------------
INDEXES = [
    0, -1, 2, (1, 2), (-1, -2), slice(None), slice(1, 3), slice(None, None, 2),
    slice(1, None, 3), slice(-3, None), slice(10, 20), slice(-10, 2), slice(3, 1),
    (slice(None), 1), (Ellipsis, 1), (Ellipsis,), (1, Ellipsis), (Ellipsis, slice(None, None, 2)),
    (slice(None), slice(1, 4, 2), 0), (1, slice(None), -1), (slice(0, 0),), (2, 3, 4),
]
NONE_INDEXES = [None, (None, 1), (Ellipsis, None), (slice(None), None, 2), (None, Ellipsis, None),
                (1, None, slice(None, None, 2), None)]


def _ids(items):
    return [str(i).replace(" ", "") for i in items]


@pytest.mark.parametrize("index", INDEXES, ids=_ids(INDEXES))
def test_basic_indexing_is_a_view(index, rng):
    check_view(lambda t: t[index], lambda a: a[index], (4, 5, 6), rng)


@pytest.mark.parametrize("index", INDEXES[:8], ids=_ids(INDEXES[:8]))
def test_basic_indexing_of_a_transposed_tensor(index, rng):
    check_view(lambda t: t.permute(2, 0, 1)[index], lambda a: a.transpose(2, 0, 1)[index],
               (4, 5, 6), rng)


@pytest.mark.parametrize("index", NONE_INDEXES, ids=_ids(NONE_INDEXES))
def test_indexing_with_none_is_a_view(index, rng):
    check_view(lambda t: t[index], lambda a: a[index], (4, 5, 6), rng, exact_strides=False)


@needs_torch
@pytest.mark.parametrize("index", NONE_INDEXES, ids=_ids(NONE_INDEXES))
def test_indexing_with_none_strides_match_torch(index):
    x, tx = clgrad.zeros(4, 5, 6), torch.zeros(4, 5, 6)
    assert x[index].stride() == tx[index].stride()


def test_integer_tensor_index_acts_like_an_int(rng):
    x, a, _ = _make((4, 3), rng)
    v = x[clgrad.tensor([2])[0]]
    np.testing.assert_array_equal(v.numpy(), a[2])
    assert _storage(v) == _storage(x)


def test_unbind_gives_views(rng):
    x, a, tx = _make((3, 4), rng)
    for dim in (0, 1, -1):
        parts = x.unbind(dim)
        assert isinstance(parts, tuple) and len(parts) == a.shape[dim]
        for i, p in enumerate(parts):
            np.testing.assert_array_equal(p.numpy(), np.take(a, i, axis=dim))
            assert _storage(p) == _storage(x)
            if tx is not None:
                tp = tx.unbind(dim)[i]
                assert (p.stride(), p.storage_offset()) == (tp.stride(), tp.storage_offset())
    x.unbind(1)[2].fill_(-7)
    assert (x.numpy()[:, 2] == -7).all()


def test_detach_shares_storage_and_drops_requires_grad():
    x = clgrad.ones(2, 3, requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    assert _storage(d) == _storage(x)


# -- reshape: a view when possible, a copy only when it must ----------------------------
RESHAPES = [
    ("contiguous", lambda t: t.reshape(6, 4)),
    ("flatten_contiguous", lambda t: t.reshape(-1)),
    ("transposed_flatten", lambda t: t.transpose(0, 1).reshape(-1)),
    ("transposed_split", lambda t: t.permute(2, 0, 1).reshape(2, 2, 2, 3)),
    ("transposed_merge", lambda t: t.permute(2, 0, 1).reshape(4, 6)),
    ("strided_rows", lambda t: t[:, ::2].reshape(-1)),
    ("strided_split_last", lambda t: t[:, :, ::2].reshape(2, 3, 2, 1)),
    ("expanded", lambda t: t[:, :1].expand(2, 5, 4).reshape(10, 4)),
    ("expanded_keep", lambda t: t[:, :1].expand(2, 5, 4).reshape(2, 5, 2, 2)),
    ("flatten_transposed", lambda t: t.transpose(1, 2).flatten()),
]


@pytest.mark.parametrize("name, op", RESHAPES, ids=[r[0] for r in RESHAPES])
def test_reshape_copies_exactly_when_torch_does(name, op, rng):
    x, _, tx = _make((2, 3, 4), rng)
    r = op(x)
    shares = _storage(r) == _storage(x)
    if tx is not None:
        tr = op(tx)
        np.testing.assert_array_equal(r.numpy(), tr.numpy())
        assert shares == (tr.untyped_storage().data_ptr() == tx.untyped_storage().data_ptr())
        if shares:
            assert (r.stride(), r.storage_offset()) == (tr.stride(), tr.storage_offset())
    r.fill_(99.0)
    assert (x.numpy() == 99.0).any() == shares, "a copy must not write through; a view must"


def test_reshape_of_contiguous_shares_and_of_transposed_copies():
    x = clgrad.arange(12).view(3, 4)
    r = x.reshape(4, 3)
    assert _storage(r) == _storage(x) and r.data_ptr() == x.data_ptr()
    c = x.t().reshape(12)
    assert _storage(c) != _storage(x)
    assert c.tolist() == np.arange(12).reshape(3, 4).T.reshape(-1).tolist()
    assert c.is_contiguous()


@pytest.mark.parametrize("op", [lambda t: t.view(-1), lambda t: t.view(1), lambda t: t.reshape(1),
                                lambda t: t.reshape(1, 1), lambda t: t.flatten()],
                         ids=["view-1", "view1", "reshape1", "reshape11", "flatten"])
def test_0d_tensor_views_as_one_element(op):
    x = clgrad.arange(5)[3]
    assert x.dim() == 0
    v = op(x)
    assert v.numel() == 1 and v.dim() >= 1
    assert v.tolist() in ([3], [[3]])
    assert _storage(v) == _storage(x)


def test_one_element_tensor_views_as_0d():
    x = clgrad.arange(5)[3:4]
    v = x.view(())
    assert v.shape == () and v.item() == 3 and v.storage_offset() == 3


# -- contiguity --------------------------------------------------------------------------------
LAYOUTS = [
    ("base", lambda t: t), ("t", lambda t: t.transpose(0, 2)), ("rows", lambda t: t[1:]),
    ("cols", lambda t: t[:, 1:]), ("step", lambda t: t[..., ::2]), ("one_row", lambda t: t[:, 1:2]),
    ("expanded", lambda t: t[:, :1].expand(2, 3, 4)), ("unsq", lambda t: t.unsqueeze(1)),
    ("sel", lambda t: t[:, :, 1]), ("size1_odd", lambda t: t[:1, :, :1]),
]


@pytest.mark.parametrize("name, op", LAYOUTS, ids=[x[0] for x in LAYOUTS])
def test_is_contiguous_and_contiguous(name, op, rng):
    x, _, tx = _make((2, 3, 4), rng)
    v = op(x)
    if tx is not None:
        assert v.is_contiguous() == op(tx).is_contiguous()
    c = v.contiguous()
    assert c.is_contiguous()
    np.testing.assert_array_equal(c.numpy(), v.numpy())
    if v.is_contiguous():
        assert c is v
    else:
        assert _storage(c) != _storage(x)
        c.fill_(123.0)
        assert not (x.numpy() == 123.0).any()


@needs_torch
def test_empty_view_is_contiguous():
    assert clgrad.zeros(3, 4).t()[:0].is_contiguous() == torch.zeros(3, 4).t()[:0].is_contiguous()


# -- index assignment ----------------------------------------------------------------------
SETITEMS = [
    ("column_scalar", (slice(None), 1), lambda rng: 0.0),
    ("rows_tensor", slice(1, 3), lambda rng: rng.uniform(-1, 1, (2, 5)).astype(np.float32)),
    ("broadcast_row", (slice(None), slice(1, 3)),
     lambda rng: rng.uniform(-1, 1, (2,)).astype(np.float32)),
    ("broadcast_col", (slice(None, None, 2),), lambda rng: np.float32([[5.0]])),
    ("ellipsis_scalar", Ellipsis, lambda rng: 3.5),
    ("int_scalar", (2, 3), lambda rng: -2),
    ("int_row_int_value", 0, lambda rng: np.arange(5)),
    ("leading_ones", 1, lambda rng: np.ones((1, 1, 5), np.float32)),
    ("none_index", (slice(None), None, 2), lambda rng: np.float32([9.0])),
    ("empty_slice", slice(2, 2), lambda rng: 1.0),
    ("step_slice", (slice(None), slice(None, None, 2)),
     lambda rng: rng.uniform(-1, 1, (4, 3)).astype(np.float32)),
]


@pytest.mark.parametrize("name, index, value", SETITEMS, ids=[s[0] for s in SETITEMS])
def test_setitem_matches_numpy(name, index, value, rng):
    x, a, _ = _make((4, 5), rng)
    v = value(rng)
    x[index] = clgrad.tensor(v) if isinstance(v, np.ndarray) else v
    want = a.copy()
    want[index] = v
    np.testing.assert_array_equal(x.numpy(), want)


@pytest.mark.parametrize("name, index, value", SETITEMS, ids=[s[0] for s in SETITEMS])
def test_setitem_on_noncontiguous_tensor_writes_through_to_base(name, index, value, rng):
    base, a, _ = _make((5, 4), rng)
    x = base.t()                                  # (4, 5), non-contiguous
    assert not x.is_contiguous()
    v = value(rng)
    x[index] = clgrad.tensor(v) if isinstance(v, np.ndarray) else v
    want = a.copy()
    want.T[index] = v
    np.testing.assert_array_equal(base.numpy(), want)


def test_setitem_every_other_row_of_transposed_tensor():
    base = clgrad.arange(20).view(4, 5)
    x = base.t()
    x[::2] = clgrad.full((3, 4), -1)
    want = np.arange(20).reshape(4, 5)
    want.T[::2] = -1
    np.testing.assert_array_equal(base.numpy(), want)


def test_setitem_converts_dtype_like_torch():
    x = clgrad.zeros(3, dtype=clgrad.int64)
    x[:] = clgrad.tensor([1.9, -1.9, 2.5])
    assert x.tolist() == [1, -1, 2]
    x[0] = 2.7
    assert x.tolist() == [2, -1, 2]
    b = clgrad.tensor([True, True])
    b[0] = False
    assert b.tolist() == [False, True]


def test_setitem_0d_with_ellipsis():
    x = clgrad.tensor([5.0, 6.0])
    z = x[1]
    z[...] = 3
    assert x.tolist() == [5.0, 3.0]


def test_setitem_shape_mismatch_names_shapes_and_leaves_target_unchanged():
    x = clgrad.zeros(3, 4)
    with pytest.raises(RuntimeError, match=r"\[3\].*\[2, 4\]"):
        x[0:2] = clgrad.ones(3)
    assert (x.numpy() == 0).all()


def test_setitem_from_overlapping_view_is_safe():
    x = clgrad.arange(10000)
    try:
        x[1:] = x[:-1]
    except RuntimeError as exc:
        assert "memory location" in str(exc)
        np.testing.assert_array_equal(x.numpy(), np.arange(10000))
    else:
        want = np.arange(10000)
        want[1:] = want[:-1]
        np.testing.assert_array_equal(x.numpy(), want)


# -- errors: PyTorch's exception type, a message naming what is wrong, input unchanged ------
ERRORS = [
    ("view_noncontig", lambda t: t.t().view(-1), RuntimeError,
     r"view size is not compatible.*\[4, 3\].*\[1, 4\].*\[12\].*reshape", (3, 4)),
    ("view_bad_numel", lambda t: t.view(5, 5), RuntimeError,
     r"shape '\[5, 5\]' is invalid for input of size 24", (2, 3, 4)),
    ("reshape_bad_numel", lambda t: t.reshape(7, -1), RuntimeError,
     r"shape '\[7, -1\]' is invalid for input of size 24", (2, 3, 4)),
    ("view_two_-1", lambda t: t.view(-1, -1), RuntimeError, "only one dimension can be inferred",
     (2, 3, 4)),
    ("view_neg_dim", lambda t: t.view(-2, 12), RuntimeError, "invalid shape dimension -2",
     (2, 3, 4)),
    ("expand_mismatch", lambda t: t.expand(3, 3, 4), RuntimeError,
     (r"expanded size of the tensor \(3\) must match the existing size \(2\) at "
      r"non-singleton dimension 0"), (2, 3, 4)),
    ("expand_fewer", lambda t: t.expand(3, 4), RuntimeError,
     (r"number of sizes provided \(2\) must be greater or equal to the number of dimensions "
      r"in the tensor \(3\)"), (2, 3, 4)),
    ("expand_neg_lead", lambda t: t.expand(-1, 2, 3, 4), RuntimeError,
     r"-1.*leading, non-existing dimension 0", (2, 3, 4)),
    ("permute_count", lambda t: t.permute(0, 1), RuntimeError, r"3 dims but 2", (2, 3, 4)),
    ("permute_dup", lambda t: t.permute(0, 1, 1), RuntimeError, "duplicate dims", (2, 3, 4)),
    ("permute_range", lambda t: t.permute(0, 1, 3), IndexError,
     r"Dimension out of range \(expected to be in range of \[-3, 2\], but got 3\)", (2, 3, 4)),
    ("transpose_range", lambda t: t.transpose(0, 3), IndexError,
     r"Dimension out of range \(expected to be in range of \[-3, 2\], but got 3\)", (2, 3, 4)),
    ("squeeze_range", lambda t: t.squeeze(-4), IndexError, r"Dimension out of range.*-4",
     (2, 3, 4)),
    ("unsqueeze_range", lambda t: t.unsqueeze(4), IndexError,
     r"Dimension out of range \(expected to be in range of \[-4, 3\], but got 4\)", (2, 3, 4)),
    ("size_range", lambda t: t.size(3), IndexError, r"Dimension out of range.*3", (2, 3, 4)),
    ("select_range", lambda t: t.select(1, 3), IndexError,
     r"index 3 is out of bounds for dimension 1 with size 3", (2, 3, 4)),
    ("flatten_order", lambda t: t.flatten(2, 1), RuntimeError,
     "start_dim cannot come after end_dim", (2, 3, 4)),
    ("index_range", lambda t: t[2], IndexError,
     r"index 2 is out of bounds for dimension 0 with size 2", (2, 3, 4)),
    ("index_range_neg", lambda t: t[:, -4], IndexError,
     r"index -4 is out of bounds for dimension 1 with size 3", (2, 3, 4)),
    ("index_range_last", lambda t: t[0, 0, 4], IndexError,
     r"index 4 is out of bounds for dimension 2 with size 4", (2, 3, 4)),
    ("too_many", lambda t: t[0, 0, 0, 0], IndexError, "too many indices for tensor of dimension 3",
     (2, 3, 4)),
    ("step_zero", lambda t: t[::0], ValueError, "step", (2, 3, 4)),
    ("step_negative", lambda t: t[::-1], ValueError, "step must be greater than zero", (2, 3, 4)),
    ("t_3d", lambda t: t.t(), RuntimeError,
     r"t\(\) expects a tensor with <= 2 dimensions, but self is 3D", (2, 3, 4)),
    ("mT_1d", lambda t: t.mT, RuntimeError, "Got 1-D tensor", (4,)),
    ("narrow_length", lambda t: t.narrow(0, 1, 5), RuntimeError,
     r"start \(1\) \+ length \(5\) exceeds dimension size \(2\)", (2, 3, 4)),
    ("narrow_start", lambda t: t.narrow(1, 4, 0), IndexError,
     r"start out of range \(expected to be in range of \[-3, 3\], but got 4\)", (2, 3, 4)),
    ("index_float", lambda t: t[1.5], IndexError, "only integers, slices", (2, 3, 4)),
    ("select_0d", lambda t: t[0].select(0, 0), IndexError, "0-dim", (3,)),
    ("narrow_0d", lambda t: t[0].narrow(0, 0, 1), RuntimeError, "0-dim", (3,)),
]


@pytest.mark.parametrize("name, op, exc, pattern, shape", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch_and_leave_input_unchanged(name, op, exc, pattern, shape, rng):
    x, a, tx = _make(shape, rng)
    meta = (x.shape, x.stride(), x.storage_offset())
    with pytest.raises(exc, match=pattern):
        op(x)
    assert (x.shape, x.stride(), x.storage_offset()) == meta
    np.testing.assert_array_equal(x.numpy(), a)
    if tx is not None:
        with pytest.raises(exc):
            op(tx)


ADVANCED = [("list", lambda t: t[[0, 1]]), ("long_tensor", lambda t: t[clgrad.tensor([0, 1])]),
            ("bool_mask", lambda t: t[t > 0]), ("bool", lambda t: t[True]),
            ("tuple_with_list", lambda t: t[:, [0, 2]])]


@pytest.mark.parametrize("name, op", ADVANCED, ids=[a[0] for a in ADVANCED])
def test_advanced_indexing_copies_where_basic_indexing_views(name, op, rng):
    """Advanced indices (tests in test_indexing.py) give a copy: writing to it leaves x."""
    x, a, _ = _make((3, 4), rng)
    result = op(x)
    assert result.untyped_storage() is not x.untyped_storage()
    result.fill_(100.0)
    np.testing.assert_array_equal(x.numpy(), a)


def test_unbind_0d_error_names_the_dimension():
    with pytest.raises(IndexError, match="[Dd]imension"):
        clgrad.arange(3)[0].unbind()


# -- out= of another shape: PyTorch's resize_ keeps the storage and offset -------------------
OUT_RESIZES = {
    "add": lambda lib, out: lib.add(lib.ones(2, 2), lib.ones(2, 2), out=out),
    "add-grows": lambda lib, out: lib.add(lib.ones(8), lib.ones(8), out=out),
    "mm": lambda lib, out: lib.mm(lib.ones(2, 3), lib.ones(3, 2), out=out),
    "sum": lambda lib, out: lib.sum(lib.ones(2, 3), 0, out=out),
    "cat": lambda lib, out: lib.cat([lib.ones(2), lib.ones(3)], out=out),
    "factory": lambda lib, out: lib.ones(5, out=out),
}


@pytest.mark.parametrize("view", ["column", "last-row"])
@pytest.mark.parametrize("name", OUT_RESIZES)
def test_out_of_another_shape_is_resized_within_its_storage(name, view):
    """A view given as out= is resized in place in its base's storage (which grows when too
    small), so the base sees the result, as in PyTorch."""
    torch = pytest.importorskip("torch")
    got = {}
    for lib in (clgrad, torch):
        base = lib.arange(16.0).reshape(4, 4)
        out = base[:, 1] if view == "column" else base[3]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            OUT_RESIZES[name](lib, out)
        got[lib] = (out.tolist(), base.tolist(), out.stride(), out.storage_offset())
    assert got[clgrad] == got[torch]


def test_out_backed_by_numpy_cannot_grow():
    out = clgrad.from_numpy(np.zeros(2, np.float32))
    with pytest.raises(RuntimeError, match="Trying to resize storage that is not resizable"):
        clgrad.add(clgrad.ones(5), 1, out=out)


def test_flatten_with_nothing_to_flatten_returns_the_tensor_itself():
    x, y = clgrad.ones(3), clgrad.ones(2, 3, requires_grad=True)
    assert x.flatten() is x and y.flatten(1) is y and x.flatten().detach_() is x
    assert y.flatten().shape == (6,)
