"""Shape and stride arithmetic of clgrad/tensor/shape.py: pure Python, no device needed.

PyTorch (when installed) is the reference for strides, contiguity and broadcasting; NumPy
always is one for broadcasting.
"""
import itertools

import numpy as np
import pytest

import clgrad
from clgrad.tensor.shape import (
    Size,
    broadcast_shapes,
    broadcast_strides,
    collapse,
    contiguous_strides,
    infer_shape,
    is_contiguous,
    normalize_dim,
    numel,
    parse_size,
    view_strides,
)

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is the reference here")


# -- Size ----------------------------------------------------------------------------------
def test_size_is_a_tuple_with_torch_like_repr():
    s = Size([2, 3])
    assert isinstance(s, tuple)
    assert s == (2, 3) and s == Size((2, 3))
    assert repr(s) == "clgrad.Size([2, 3])"
    assert repr(Size([])) == "clgrad.Size([])"
    assert clgrad.Size is Size


def test_size_slicing_indexing_numel_and_concatenation():
    s = Size([2, 3, 4])
    assert isinstance(s[1:], Size) and s[1:] == (3, 4)
    assert s[-1] == 4 and type(s[-1]) is int
    assert s.numel() == 24 and Size([]).numel() == 1 and Size([3, 0]).numel() == 0
    joined = s + (5,)
    assert isinstance(joined, Size) and joined == (2, 3, 4, 5)
    assert isinstance(s + [6], Size)


@needs_torch
def test_size_repr_matches_torch():
    for dims in ([], [0], [2, 3], [1, 1, 7]):
        assert repr(Size(dims)) == repr(torch.Size(dims)).replace("torch.", "clgrad.")


# -- numel / contiguous_strides ----------------------------------------------------------
@pytest.mark.parametrize("shape", [(), (0,), (5,), (2, 3), (2, 0, 3), (1, 1, 4), (3, 1, 2, 5)])
def test_numel_and_contiguous_strides_match_numpy(shape):
    assert numel(shape) == int(np.prod(shape, dtype=np.int64))
    array = np.empty(shape, np.float32)
    if array.size:          # NumPy uses the same strides as PyTorch for non-empty arrays
        assert contiguous_strides(shape) == tuple(s // 4 for s in array.strides)


@needs_torch
@pytest.mark.parametrize("shape", [(), (0,), (5,), (2, 3), (2, 0, 3), (0, 4), (3, 1, 2, 5)])
def test_contiguous_strides_match_torch(shape):
    assert contiguous_strides(shape) == torch.empty(shape).stride()


# -- parse_size ----------------------------------------------------------------------------
def test_parse_size_accepts_ints_tuples_lists_and_numpy_ints():
    assert parse_size((2, 3)) == (2, 3)
    assert parse_size(((2, 3),)) == (2, 3)
    assert parse_size(([2, 3],)) == (2, 3)
    assert parse_size(()) == ()
    assert parse_size(((),)) == ()
    assert parse_size((np.int64(4), 1)) == (4, 1)
    assert all(type(s) is int for s in parse_size((np.int32(2),)))


def test_parse_size_rejects_negative_dims_naming_them():
    with pytest.raises(RuntimeError, match=r"negative dimension -3.*\[2, -3\]"):
        parse_size((2, -3))


@pytest.mark.parametrize("bad", [(2.0,), ((2, True),), ("3",), ((2, None),)])
def test_parse_size_rejects_non_ints(bad):
    with pytest.raises(TypeError, match="tuple of ints"):
        parse_size(bad)


# -- normalize_dim -------------------------------------------------------------------------
@pytest.mark.parametrize("ndim", [1, 2, 4])
def test_normalize_dim_maps_every_valid_dim(ndim):
    assert [normalize_dim(d, ndim) for d in range(-ndim, ndim)] == \
        list(range(ndim)) + list(range(ndim))


def test_normalize_dim_on_0d_accepts_0_and_minus_1():
    assert normalize_dim(0, 0) == 0
    assert normalize_dim(-1, 0) == 0


@pytest.mark.parametrize("dim, ndim, lo, hi", [(3, 3, -3, 2), (-4, 3, -3, 2), (1, 0, -1, 0),
                                               (-2, 0, -1, 0), (5, 1, -1, 0)])
def test_normalize_dim_out_of_range_is_an_index_error_naming_the_range(dim, ndim, lo, hi):
    with pytest.raises(IndexError, match=rf"Dimension out of range \(expected to be in range "
                                         rf"of \[{lo}, {hi}\], but got {dim}\)"):
        normalize_dim(dim, ndim)


@pytest.mark.parametrize("dim", [True, 1.0, "0", None])
def test_normalize_dim_rejects_non_int(dim):
    with pytest.raises(TypeError, match="dim must be an int"):
        normalize_dim(dim, 3)


@needs_torch
def test_normalize_dim_errors_agree_with_torch():
    t = torch.zeros(2, 3, 4)
    for dim in (-4, 3, 7):
        with pytest.raises(IndexError) as want:
            t.size(dim)
        with pytest.raises(IndexError) as got:
            normalize_dim(dim, 3)
        assert str(got.value) == str(want.value)


# -- broadcast_shapes ----------------------------------------------------------------------
BROADCASTABLE = [
    [(2, 3), (3,)], [(2, 1), (1, 4)], [(), (5,)], [(), ()], [(0,), (1,)], [(4, 1, 3), (5, 1)],
    [(1,), (0, 3)], [(2, 3, 4), (3, 1), (1, 1, 4)], [(7,)], [(1, 1), (1,)], [(0, 1), (1, 5)],
]


@pytest.mark.parametrize("shapes", BROADCASTABLE, ids=str)
def test_broadcast_shapes_matches_numpy(shapes):
    assert broadcast_shapes(*shapes) == np.broadcast_shapes(*shapes)


@needs_torch
@pytest.mark.parametrize("shapes", BROADCASTABLE, ids=str)
def test_broadcast_shapes_matches_torch(shapes):
    assert broadcast_shapes(*shapes) == tuple(torch.broadcast_shapes(*shapes))


@pytest.mark.parametrize("shapes", [[(2, 3), (4,)], [(2, 1), (3, 2)], [(0,), (2,)],
                                    [(3,), (1,), (2,)]], ids=str)
def test_broadcast_shapes_error_names_sizes_and_shapes(shapes):
    with pytest.raises(RuntimeError, match=r"must match the size of tensor b") as info:
        broadcast_shapes(*shapes)
    assert all(str(list(s)) in str(info.value) for s in shapes)
    with pytest.raises(ValueError):         # NumPy agrees they do not broadcast
        np.broadcast_shapes(*shapes)


def test_public_broadcast_shapes_returns_size():
    got = clgrad.broadcast_shapes((2, 1), [4])
    assert isinstance(got, Size) and got == (2, 4)


# -- broadcast_strides ---------------------------------------------------------------------
@pytest.mark.parametrize("shape, target", [((3, 1), (2, 3, 4)), ((1,), (5,)), ((), (2, 2)),
                                           ((2, 3), (2, 3)), ((1, 3), (1, 3))])
def test_broadcast_strides_match_numpy_broadcast_to(shape, target):
    strides = contiguous_strides(shape)
    want = np.broadcast_to(np.empty(shape, np.int8), target).strides
    got = broadcast_strides(shape, strides, target)
    # NumPy gives size-1 target dims stride 0 too when broadcast; compare where it matters
    assert all(g == w for g, w, n in zip(got, want, target) if n != 1)


# -- infer_shape -----------------------------------------------------------------------------
@pytest.mark.parametrize("shape, total, want", [
    ((-1,), 24, (24,)), ((2, -1), 24, (2, 12)), ((-1, 4, 3), 24, (2, 4, 3)), ((), 1, ()),
    ((1, -1, 1), 5, (1, 5, 1)), ((-1,), 0, (0,)), ((0, 3), 0, (0, 3)), ((2, 3), 6, (2, 3)),
])
def test_infer_shape(shape, total, want):
    assert infer_shape(shape, total) == want


@pytest.mark.parametrize("shape, total, pattern", [
    ((-1, -1), 24, "only one dimension can be inferred"),
    ((5, 5), 24, r"shape '\[5, 5\]' is invalid for input of size 24"),
    ((5, -1), 24, r"shape '\[5, -1\]' is invalid for input of size 24"),
    ((-2, 12), 24, "invalid shape dimension -2"),
    ((0, -1), 24, r"invalid for input of size 24"),
    ((0, -1), 0, r"\[0, -1\]"),
])
def test_infer_shape_errors(shape, total, pattern):
    with pytest.raises(RuntimeError, match=pattern):
        infer_shape(shape, total)


# -- is_contiguous ---------------------------------------------------------------------------
CONTIGUITY = [
    ((2, 3), (3, 1)), ((2, 3), (1, 2)), ((2, 1, 3), (3, 99, 1)), ((1,), (5,)), ((), ()),
    ((4,), (2,)), ((2, 3), (4, 1)), ((3, 1), (1, 1)), ((2, 2), (0, 1)), ((1, 1, 1), (7, 8, 9)),
]


@pytest.mark.parametrize("shape, strides", CONTIGUITY, ids=str)
def test_is_contiguous_cases(shape, strides):
    want = np.lib.stride_tricks.as_strided(np.empty(64, np.int8), shape, strides).flags.c_contiguous
    assert is_contiguous(shape, strides) == want


@needs_torch
@pytest.mark.parametrize("shape, strides", CONTIGUITY + [((0, 3), (3, 1)), ((2, 0), (1, 2))],
                         ids=str)
def test_is_contiguous_matches_torch(shape, strides):
    want = torch.empty(64).as_strided(shape, strides).is_contiguous()
    assert is_contiguous(shape, strides) == want


@pytest.mark.parametrize("shape, strides", [((0, 3), (7, 7)), ((0, 3), (1, 4))])
def test_is_contiguous_is_true_for_any_empty_tensor(shape, strides):
    assert is_contiguous(shape, strides)


# -- view_strides ----------------------------------------------------------------------------
@pytest.mark.parametrize("old_shape, old_strides, new_shape, want", [
    ((2, 3, 4), (12, 4, 1), (24,), (1,)),
    ((2, 3, 4), (12, 4, 1), (6, 4), (4, 1)),
    ((2, 3, 4), (12, 4, 1), (2, 1, 12), (12, 12, 1)),
    ((4, 3), (1, 4), (12,), None),                   # a transposed matrix cannot flatten
    ((4, 3), (1, 4), (2, 2, 3), (2, 1, 4)),          # but its leading dim can split
    ((4, 3), (1, 4), (4, 3, 1), (1, 4, 4)),
    ((2, 3), (6, 1), (6,), None),                    # rows of a wider matrix
    ((2, 3), (6, 1), (2, 3, 1), (6, 1, 1)),
    ((2, 3), (0, 1), (6,), None),                    # expanded dims cannot merge
    ((2, 3), (0, 1), (2, 1, 3), (0, 3, 1)),
    ((3, 0), (1, 1), (0, 5), (5, 1)),
])
def test_view_strides_cases(old_shape, old_strides, new_shape, want):
    assert view_strides(old_shape, old_strides, new_shape) == want


def _factorizations(n, max_dims=4):
    out = set()

    def rec(rest, current):
        if rest == 1:
            out.add(tuple(current))
        if len(current) == max_dims:
            return
        for f in range(1, rest + 1):
            if rest % f == 0:
                rec(rest // f, current + [f])
    rec(n, [])
    return sorted(out)


def _torch_layouts():
    """Views of several bases (permuted, sliced, expanded): the inputs view() meets."""
    for base_shape in [(2, 3, 4), (4, 1, 6), (1, 6, 1, 4), (6, 4), (5,), (2, 2, 2, 3)]:
        base = torch.arange(int(np.prod(base_shape))).view(base_shape)
        yield base
        for perm in itertools.permutations(range(base.dim())):
            yield base.permute(perm)
        if base.dim() >= 2:
            yield base[:, ::2]
            yield base[..., :1]
        yield base.unsqueeze(1).expand(base.shape[0], 3, *base.shape[1:])


@needs_torch
def test_view_strides_agree_with_torch_view_on_every_factorization():
    checked = 0
    for v in _torch_layouts():
        for new_shape in _factorizations(v.numel()):
            try:
                want = v.view(new_shape).stride()
            except RuntimeError:
                want = None
            got = view_strides(tuple(v.shape), v.stride(), new_shape)
            checked += 1
            assert got == want, (tuple(v.shape), v.stride(), new_shape)
    assert checked > 1000


def test_view_strides_of_0d_tensor():
    assert view_strides((), (), ()) == ()
    assert view_strides((), (), (1,)) == (1,)
    assert view_strides((), (), (1, 1)) == (1, 1)


def test_view_strides_to_0d_from_one_element():
    assert view_strides((1,), (1,), ()) == ()
    assert view_strides((1, 1), (5, 7), ()) == ()


# -- collapse --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, strides, want_shape, want_strides", [
    ((2, 3, 4), [(12, 4, 1), (12, 4, 1)], (24,), [(1,), (1,)]),
    ((2, 3, 4), [(12, 4, 1), (0, 4, 1)], (2, 12), [(12, 1), (0, 1)]),
    ((2, 3, 4), [(1, 2, 6), (12, 4, 1)], (2, 3, 4), [(1, 2, 6), (12, 4, 1)]),
    ((2, 1, 3), [(3, 99, 1)], (6,), [(1,)]),
    ((1, 1), [(1, 1)], (), [()]),
    ((), [(), ()], (), [(), ()]),
    ((4, 5), [(10, 2)], (20,), [(2,)]),                 # a strided run still merges
    ((4, 5), [(5, 1), (1, 4)], (4, 5), [(5, 1), (1, 4)]),
])
def test_collapse_cases(shape, strides, want_shape, want_strides):
    assert collapse(shape, strides) == (want_shape, want_strides)


def _offsets(shape, strides):
    """Memory offset of every element in row-major logical order."""
    if not shape:
        return np.zeros(1, np.int64)
    grids = np.indices(shape).reshape(len(shape), -1)
    return (grids * np.array(strides, np.int64)[:, None]).sum(0)


@pytest.mark.parametrize("seed", range(20))
def test_collapse_preserves_every_element_offset(seed):
    """Random layouts: the collapsed walk visits the same offsets in the same order."""
    rng = np.random.default_rng(seed)
    nd = int(rng.integers(1, 5))
    shape = tuple(int(s) for s in rng.integers(1, 4, nd))
    operands = []
    for _ in range(int(rng.integers(1, 4))):
        kind = rng.integers(0, 3)
        if kind == 0:
            strides = contiguous_strides(shape)
        elif kind == 1:
            perm = rng.permutation(nd)
            permuted = contiguous_strides(tuple(shape[p] for p in perm))
            strides = tuple(int(permuted[list(perm).index(d)]) for d in range(nd))
        else:
            strides = tuple(0 if rng.random() < 0.3 else int(s)
                            for s in contiguous_strides(shape))
        operands.append(tuple(strides))
    cshape, cstrides = collapse(shape, operands)
    assert numel(cshape) == numel(shape)
    assert len(cshape) <= len(shape)
    for original, collapsed in zip(operands, cstrides):
        np.testing.assert_array_equal(_offsets(cshape, collapsed), _offsets(shape, original))
