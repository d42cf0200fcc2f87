"""Derivatives of the shape, join and indexing ops (clgrad/autograd/rules_shape.py):
gradcheck in float64 on odd shapes (non-contiguous inputs, broadcasting), gradgradcheck, and
accumulation over repeated indices against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import clgrad
from clgrad.autograd import gradcheck, gradgradcheck
from clgrad.autograd.ops import RULES
from clgrad.tensor import joins

torch = pytest.importorskip("torch")
F64 = clgrad.float64
JOINS = ("cat", "concat", "concatenate", "stack", "hstack", "vstack")


def _joins_see_list_tensors() -> bool:
    x = clgrad.zeros(1, requires_grad=True)
    try:
        return clgrad.cat([x]).requires_grad
    except NotImplementedError:
        return False


@pytest.fixture(autouse=True)
def list_arguments(monkeypatch):
    """cat & co. recorded through their rules when a tensor of the list requires grad:
    binding.wrap looks at positional Tensor arguments only, not inside lists (reported).
    Does nothing once binding dispatches them itself."""
    if _joins_see_list_tensors():
        return
    for name in JOINS:
        raw, cls = joins.FUNCTIONS[name], RULES[name]

        def op(tensors, *args, raw=raw, cls=cls, **kwargs):
            if clgrad.is_grad_enabled() and any(t.requires_grad for t in tensors):
                return cls.call(raw, (tensors,) + args, kwargs)
            return raw(tensors, *args, **kwargs)
        monkeypatch.setattr(clgrad, name, op)


def _leaf(shape, rng, strided=False):
    """A float64 leaf of random values; `strided`: a non-contiguous (transposed) view."""
    a = rng.standard_normal(shape)
    if not strided:
        return clgrad.tensor(a, dtype=F64).requires_grad_()
    order = tuple(reversed(range(len(shape))))
    x = clgrad.tensor(np.ascontiguousarray(a.transpose(order)), dtype=F64).permute(order)
    assert not x.is_contiguous()
    return x.requires_grad_()


def _long(values):
    return clgrad.tensor(values, dtype=clgrad.int64)


ROWS = _long([2, 0, 2, 1])                       # repeats 2
COLS = _long([[0, 2, 2], [1, 1, 0], [3, 0, 3]])  # gather/scatter_add index, repeats
PERM = _long([[0, 2, 1], [3, 1, 0], [2, 3, 1]])  # unique per row: scatter's writes
MASK = clgrad.tensor([[True, False, True, True], [False, False, True, False],
                      [True, True, False, False]])

# (input shapes, function): the first input is a non-contiguous view.
CASES = {
    "cat": ([(3, 2), (3, 4)], lambda a, b: clgrad.cat([a, b], 1)),
    "cat_skips_empty": ([(2, 3)], lambda a: clgrad.cat([clgrad.zeros(0, dtype=F64), a, a])),
    "concat": ([(2, 3), (1, 3)], lambda a, b: clgrad.concat((a, b), dim=-2)),
    "concatenate": ([(2, 3), (2, 1)], lambda a, b: clgrad.concatenate([b, a, b], -1)),
    "stack": ([(2, 3), (2, 3)], lambda a, b: clgrad.stack([a, b], 1)),
    "stack_last": ([(2, 3), (2, 3)], lambda a, b: clgrad.stack((a, b, a), dim=-1)),
    "hstack": ([(2, 3), (2, 1)], lambda a, b: clgrad.hstack([a, b])),
    "hstack_1d": ([(3,), ()], lambda a, b: clgrad.hstack([a, b])),
    "vstack": ([(2, 3), (3,)], lambda a, b: clgrad.vstack([a, b])),
    "split": ([(5, 3)], lambda x: x.split(2)),
    "split_sizes": ([(5, 3)], lambda x: clgrad.split(x, [1, 2], dim=1)),
    "chunk": ([(3, 5)], lambda x: x.chunk(3, 1)),
    "tensor_split": ([(5, 3)], lambda x: x.tensor_split(3)),
    "tensor_split_indices": ([(3, 5)], lambda x: clgrad.tensor_split(x, [1, 4], dim=1)),
    "tensor_split_overlap": ([(5, 2)], lambda x: x.tensor_split([3, 1])),
    "tensor_split_keyword": ([(2, 5)], lambda x: x.tensor_split(indices_or_sections=[4, 2],
                                                                dim=1)),
    "unbind": ([(3, 4)], lambda x: x.unbind(1)),
    "narrow": ([(3, 5)], lambda x: x.narrow(1, 1, 3)),
    "narrow_negative": ([(5, 3)], lambda x: x.narrow(0, -3, 2)),
    "select": ([(3, 5)], lambda x: x.select(1, -2)),
    "flip": ([(3, 4)], lambda x: x.flip(0, 1)),
    "flip_function": ([(3, 2, 2)], lambda x: clgrad.flip(x, [1])),
    "fliplr": ([(3, 4)], lambda x: x.fliplr()),
    "flipud": ([(3, 4)], lambda x: clgrad.flipud(x)),
    "roll": ([(3, 4)], lambda x: x.roll(5)),
    "roll_dims": ([(3, 4)], lambda x: clgrad.roll(x, (1, -1), (0, 1))),
    "repeat": ([(2, 3)], lambda x: x.repeat(2, 1, 2)),
    "tile": ([(3, 2)], lambda x: x.tile((2,))),
    "tile_function": ([(2, 3)], lambda x: clgrad.tile(x, (2, 1, 1))),
    "tril": ([(3, 4)], lambda x: x.tril()),
    "triu": ([(2, 3, 3)], lambda x: clgrad.triu(x, 1)),
    "tril_negative": ([(4, 3)], lambda x: x.tril(diagonal=-1)),
    "gather": ([(3, 4)], lambda x: x.gather(1, COLS)),
    "gather_smaller": ([(4, 3)], lambda x: clgrad.gather(x, 0, COLS[:2, :2].t())),
    "scatter": ([(3, 4), (3, 3)], lambda x, s: x.scatter(1, PERM, s)),
    "scatter_kwarg": ([(3, 4), (3, 3)], lambda x, s: clgrad.scatter(x, 1, PERM, src=s)),
    "scatter_value": ([(3, 4)], lambda x: x.scatter(1, PERM, value=2.5)),
    "scatter_add": ([(3, 4), (3, 3)], lambda x, s: x.scatter_add(1, COLS, s)),
    "index_select": ([(4, 3)], lambda x: x.index_select(0, ROWS)),
    "index_select_dim1": ([(2, 3)], lambda x: clgrad.index_select(x, 1, ROWS)),
    "index_add": ([(3, 4), (4, 3)], lambda x, s: x.index_add(0, ROWS[:3], s.t())),
    "index_add_alpha": ([(3, 4), (3, 4)], lambda x, s: x.index_add(1, ROWS, s, alpha=2.0)),
    "index_copy": ([(4, 3), (3, 3)], lambda x, s: x.index_copy(0, _long([3, 0, 1]), s)),
    "index_fill": ([(3, 4)], lambda x: x.index_fill(1, ROWS, -1.0)),
    "index_fill_tensor": ([(3, 4), ()], lambda x, v: x.index_fill(1, ROWS, v)),
    "index_put": ([(4, 3), (3,)], lambda x, v: x.index_put((_long([3, 0]),), v)),
    "index_put_accumulate": ([(4, 3), (4, 3)],
                             lambda x, v: clgrad.index_put(x, (ROWS,), v, accumulate=True)),
    "index_put_pairs": ([(3, 4), (4,)], lambda x, v: x.index_put((ROWS[:3], ROWS[1:]), v[:3],
                                                                  True)),
    "masked_fill": ([(3, 4)], lambda x: x.masked_fill(MASK, 0.5)),
    "masked_fill_broadcast": ([(3, 4), ()], lambda x, v: x.masked_fill(MASK[:1], v)),
    "masked_select": ([(3, 4)], lambda x: x.masked_select(MASK)),
    "masked_select_broadcast": ([(4, 1)], lambda x: clgrad.masked_select(x, MASK[0])),
    "take": ([(3, 4)], lambda x: x.take(_long([[0, -1, 5], [5, 11, 0]]))),
    "sort": ([(3, 4)], lambda x: x.sort(1).values),
    "sort_descending": ([(4, 3)], lambda x: clgrad.sort(x, 0, descending=True)[0]),
    "topk": ([(3, 4)], lambda x: x.topk(2).values),
    "topk_smallest": ([(4, 3)], lambda x: clgrad.topk(x, 2, dim=0, largest=False)[0]),
    "getitem_basic": ([(3, 4)], lambda x: x[1:, ::2]),
    "getitem_none_ellipsis": ([(3, 4)], lambda x: x[None, 1, ..., :2]),
    "getitem_int_tensor": ([(4, 3)], lambda x: x[ROWS]),
    "getitem_list": ([(4, 3)], lambda x: x[[0, 2, 0]]),
    "getitem_columns": ([(3, 4)], lambda x: x[:, [1, 1, 0]]),
    "getitem_pairs": ([(3, 4)], lambda x: x[ROWS[:3], ROWS[1:]]),
    "getitem_2d_index": ([(3, 4)], lambda x: x[..., COLS]),
    "getitem_mixed": ([(3, 4, 2)], lambda x: x[1:, [0, 3, 0], None]),
    "getitem_split_dims": ([(3, 2, 4)], lambda x: x[[0, 2], :, [3, 3]]),
    "getitem_mask": ([(3, 4)], lambda x: x[MASK]),
    "getitem_row_mask": ([(3, 4)], lambda x: x[[True, False, True]]),
    "getitem_scalar_mask": ([(2, 3)], lambda x: x[True]),
}


@pytest.mark.parametrize("name", CASES)
def test_gradcheck(name, rng):
    shapes, fn = CASES[name]
    inputs = [_leaf(s, rng, strided=i == 0 and len(s) > 1 and min(s) > 1) for i, s in enumerate(shapes)]
    assert gradcheck(fn, inputs)


@pytest.mark.parametrize("name", ["cat", "stack", "split", "gather", "scatter_add",
                                  "index_select", "index_put", "getitem_pairs", "getitem_mask",
                                  "getitem_basic", "narrow", "flip", "masked_fill_broadcast",
                                  "take", "sort", "tensor_split_overlap"])
def test_gradgradcheck(name, rng):
    shapes, fn = CASES[name]
    inputs = [_leaf(s, rng) for s in shapes]
    assert gradgradcheck(fn, inputs)


# The same data into clgrad and PyTorch; repeated indices must add up.
REPEATS = [
    lambda m, x: x.gather(1, m.tensor([[0, 0, 0], [3, 1, 3], [2, 2, 2]])),
    lambda m, x: x.index_select(0, m.tensor([2, 2, 0, 2])),
    lambda m, x: x.index_select(1, m.tensor([3, 0, 3])),
    lambda m, x: x[m.tensor([1, 1, 0, 1])],
    lambda m, x: x[[2, 0, 2], [1, 1, 1]],
    lambda m, x: x[:, [3, 3]],
    lambda m, x: x.take(m.tensor([1, 1, -11, 4])),
    lambda m, x: x.masked_select(m.tensor([True, False, True, False])),
    lambda m, x: m.index_put(x, (m.tensor([0, 0, 2]),), x[1, :] * 2, accumulate=True),
    lambda m, x: x.scatter_add(0, m.tensor([[0, 1, 0, 0]]), x[2:] * 3),
    lambda m, x: x.repeat(2, 1),
    lambda m, x: m.stack([x, x * 2], 2).sort(0).values,
]


@pytest.mark.parametrize("fn", REPEATS)
def test_repeated_indices_accumulate_as_pytorch(fn, rng):
    data, weight = rng.standard_normal((3, 4)), rng.standard_normal((24,))
    grads = []
    for m in (clgrad, torch):
        x = m.tensor(data, requires_grad=True)
        y = fn(m, x)
        w = m.tensor(weight[:y.numel()]).reshape(y.shape)
        (y * w).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-12)


def test_index_tensors_and_indices_get_no_gradient(rng):
    x = _leaf((3, 4), rng)
    index = _long([[0, 1], [2, 2], [3, 0]])
    y = x.gather(1, index)
    assert y.grad_fn.next_functions[2] == (None, 0)
    values, indices = x.sort(1)
    assert type(values.grad_fn).__name__ == "SortBackward0" and not indices.requires_grad
    assert not x.topk(2).indices.requires_grad
    (y.sum() + values.sum()).backward()
    assert index.grad is None and not index.requires_grad
    np.testing.assert_allclose(x.grad.numpy().sum(1), [6.0, 6.0, 6.0])


def test_saved_index_modified_in_place_is_detected(rng):
    x = _leaf((3, 4), rng)
    index = _long([0, 2])
    y = x[index]
    index.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_tensor_value_arguments_get_gradients_by_keyword_too(rng):
    x, src, v = _leaf((3, 4), rng), _leaf((3, 3), rng), _leaf((), rng)
    (x.scatter(1, PERM, src=src).sum() + x.masked_fill(MASK, value=v).sum()).backward()
    np.testing.assert_allclose(src.grad.numpy(), np.ones((3, 3)))
    np.testing.assert_allclose(v.grad.numpy(), MASK.numpy().sum())
    np.testing.assert_allclose(x.grad.numpy(), 2.0 - PERM_WRITTEN - MASK.numpy())


PERM_WRITTEN = np.array([[1, 1, 1, 0], [1, 1, 0, 1], [0, 1, 1, 1]])


def test_getitem_rule_replaces_the_basic_only_one():
    assert RULES["__getitem__"].__module__ == "clgrad.autograd.rules_shape"
    x = clgrad.ones(3, 4, dtype=F64, requires_grad=True)
    assert type(x[[0, 0]].grad_fn).__name__ == "IndexBackward0"


def test_join_of_a_tensor_instead_of_a_list_raises_as_pytorch(rng):
    with pytest.raises(TypeError, match="must be a tuple or list of Tensors, not Tensor"):
        clgrad.cat(_leaf((2, 3), rng))


def test_fill_value_gradients_count_each_position_once_as_pytorch(rng):
    data, weight = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    grads = []
    for m in (clgrad, torch):
        v = m.tensor(0.5, dtype=m.float64, requires_grad=True)
        x, w = m.tensor(data), m.tensor(weight)
        mask = m.tensor([[True], [False], [True]])
        y = x.index_fill(1, m.tensor([1, 1, 3]), v) + x.masked_fill(mask, v) * 2
        (y * w).sum().backward()
        grads.append(v.grad.item())
    assert grads[0] == pytest.approx(grads[1], rel=1e-12)
