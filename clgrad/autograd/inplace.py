"""In-place ops under autograd, as PyTorch records them.

`x.op_(...)` on a tensor that takes part in a graph is recorded with the derivative of the
out-of-place `op`: the raw op writes into x, and the node sees x's old value through a
snapshot that carries x's old history. x's grad_fn becomes that node. When x is a view, its
base's history is rebased too: the base's grad_fn becomes `CopySlices` (the gradient of the
written region goes to the op, the rest to the base's old history) and the view's becomes an
`AsStridedBackward0` of the new base, so gradients through the base stay right.
"""
from __future__ import annotations

import numpy as np

from ..tensor.tensor import Tensor
from . import function
from .function import AccumulateGrad, Node, edge, wants_grad
from .grad_mode import _set, is_grad_enabled
from .ops import Rule, rule

LEAF = "a leaf Variable that requires grad is being used in an in-place operation."
VIEW_OF_LEAF = "a view of a leaf Variable that requires grad is being used in an in-place " \
               "operation."
NO_GRAD_VIEW = ("A view was created in no_grad mode and is being modified inplace with grad "
                "mode enabled. Given that this use case is ambiguous and error-prone, it is "
                "forbidden. You can clarify your code by moving both the view and the inplace "
                "either both inside the no_grad block (if you don't want the inplace to be "
                "tracked) or both outside (if you want the inplace to be tracked).")


def inplace(raw, name: str, cls):
    """The public form of in-place method `name`; `cls` is its derivative rule (or None)."""
    def method(self, *args, **kwargs):
        if not is_grad_enabled():
            return raw(self, *args, **kwargs)
        if not (self._requires_grad or wants_grad(args, kwargs)):
            return raw(self, *args, **kwargs)
        if self.requires_grad and self.grad_fn is None:
            raise RuntimeError(LEAF)
        base = self._base
        if base is not None and (base._requires_grad and base.grad_fn is None
                                 or _views_a_leaf(self)):
            raise RuntimeError(VIEW_OF_LEAF)
        if self._made_without_grad:
            raise RuntimeError(NO_GRAD_VIEW)
        if base is not None and self.grad_fn is not None and self.grad_fn.n_outputs > 1:
            raise RuntimeError(f"Output {self._output_nr} of {self.grad_fn.name()} is a view "
                               "and is being modified inplace. This view is the output of a "
                               "function that returns multiple views. Such functions do not "
                               "allow the output views to be modified inplace. You should "
                               "replace the inplace operation by an out-of-place one.")
        if not self.dtype.is_floating_point:
            return raw(self, *args, **kwargs)
        if cls is None:
            raise NotImplementedError(f"the derivative of {name} is not implemented yet (an "
                                      "input requires grad); wrap the call in "
                                      "clgrad.no_grad() or use the out-of-place form")
        old = _snapshot(self)
        args = tuple(old if a is self else _unshared_arg(a, self) for a in args)
        kwargs = {k: _unshared_arg(a, self) for k, a in kwargs.items()}

        def write(_old, *rest, **kw):
            raw(self, *rest, **kw)
            return self
        cls.call(write, (old,) + args, kwargs)
        if base is not None:
            _rebase(self, base)
        return self
    method.__name__ = name
    return method


def _views_a_leaf(view: Tensor) -> bool:
    """Whether `view`'s chain of view nodes ends at a leaf that requires grad and shares its
    storage (a leaf that is itself a view of a tensor not requiring grad)."""
    node = view.grad_fn
    for _ in range(16):
        if isinstance(node, AccumulateGrad):
            return node.variable._storage is view._storage
        if node is None or not node.next_functions:
            return False
        node = node.next_functions[0][0]
    return False


def _unshared_arg(a, target: Tensor):
    """An argument that shares `target`'s storage (x.mul_(x.view(4))) as a snapshot: the
    derivative must see its value from before the write."""
    if isinstance(a, Tensor) and a._storage is target._storage:
        return _snapshot(a)
    return a


def _snapshot(t: Tensor) -> Tensor:
    """A copy of t's current value that stands for t in the graph (same history)."""
    if t._base is not None and t._vc.version != t._view_version:
        refresh_view(t)                   # a view whose base changed: read the current one
    _set(False)
    try:
        old = t.clone()
    finally:
        _set(True)
    old.grad_fn, old._output_nr, old._requires_grad = t.grad_fn, t._output_nr, t.requires_grad
    return old


# -- views: CopySlices ------------------------------------------------------------------------
def _rebase(view: Tensor, base: Tensor) -> None:
    """After an in-place op on `view`, route gradients through `base` (PyTorch's rebase)."""
    positions = _positions(view, base)
    view._view_version = view._vc.version     # its grad_fn is the op just recorded
    copy = CopySlices(base, view, positions)
    base.grad_fn, base._output_nr, base._requires_grad = copy, 0, True
    view.grad_fn, view._output_nr = AsStridedBackward0(base, view, positions, (copy, 0)), 0
    view._view_version = view._vc.version


def refresh_view(view: Tensor) -> None:
    """The base of `view` was written in place after the view's grad_fn was set (through
    the base itself or another view): unless the view's own chain of view nodes already
    reads the base's current history, give it one that does (as PyTorch regenerates it)."""
    view._view_version = view._vc.version
    base = view._base
    if base.grad_fn is None:
        return
    node = view.grad_fn
    for _ in range(16):
        if node is None or node is base.grad_fn:
            break
        node = node.next_functions[0][0] if node.next_functions else None
    if node is not base.grad_fn:
        view.grad_fn = AsStridedBackward0(base, view, _positions(view, base), edge(base))
        view._output_nr, view._requires_grad = 0, True


function.refresh_view = refresh_view


def _positions(view: Tensor, base: Tensor) -> np.ndarray:
    """For each element of `view`, its flat index in `base` (both over one storage)."""
    itemsize = base.dtype.itemsize
    cells = np.full(base._storage.nbytes // itemsize, -1, dtype=np.int64)
    lay = np.lib.stride_tricks.as_strided
    lay(cells[base._offset:], base._shape, [s * 8 for s in base._stride],
        writeable=True)[...] = np.arange(base._numel).reshape(base._shape)
    found = lay(cells[view._offset:], view._shape, [s * 8 for s in view._stride],
                writeable=False).copy()
    if (found < 0).any():
        raise NotImplementedError("an in-place op on a view reaching storage outside its base "
                                  "is not supported by autograd")
    return found


class _Rebased(Node):
    """A node built by _rebase: shapes and dtypes of its inputs and output are known."""

    def _shapes(self, inputs, out: Tensor) -> None:
        self._meta = tuple((t._shape, t.dtype) for t in inputs)
        self._output_meta = ((out._shape, out.dtype, out._storage.device),)
        self.needs_input_grad = tuple(t.requires_grad for t in inputs)


class CopySlices(_Rebased):
    """The base after an in-place op on its view: the view's region comes from the op."""

    _single_use = True

    def __init__(self, base: Tensor, view: Tensor, positions: np.ndarray):
        from ..tensor.creation import ones
        self.next_functions = (edge(base) if base.requires_grad else (None, 0),
                               (view.grad_fn, view._output_nr))
        self._shapes((base, view), base)
        device = base._storage.device
        self.index = Tensor._from_host(positions, device)
        keep = np.ones(base._numel, dtype=np.float64)
        keep[positions.reshape(-1)] = 0
        self.keep = ones(base._shape, dtype=base.dtype, device=device) if keep.all() else \
            Tensor._from_host(keep.reshape(base._shape), device).to(base.dtype)

    def apply(self, g):
        return (g * self.keep if self.needs_input_grad[0] else None,
                g.reshape(-1)[self.index])


class AsStridedBackward0(_Rebased):
    """A view read out of its (rebased) base: its gradient lands on its positions."""

    _single_use = True

    def __init__(self, base: Tensor, view: Tensor, positions: np.ndarray, source: tuple):
        self.next_functions = (source,)
        self._shapes((base,), view)
        self.index = Tensor._from_host(positions.reshape(-1), base._storage.device)
        self.numel = base._numel

    def apply(self, g):
        from ..tensor.creation import zeros
        shape, dtype = self._meta[0]
        flat = zeros(self.numel, dtype=dtype, device=g.device)
        return (flat.index_put((self.index,), g.reshape(-1), accumulate=True).reshape(shape),)


# -- in-place ops with no out-of-place twin ---------------------------------------------------
@rule("copy_")
class Copy(Rule):
    @staticmethod
    def save(ctx, out, x, src, *args, **kwargs):
        ctx.device = src.device if isinstance(src, Tensor) else None

    @staticmethod
    def backward(ctx, g):
        return None, (g.to(ctx.device) if ctx.device is not None else None)


@rule("fill_", "zero_", "normal_", "uniform_")
class Overwrite(Rule):
    """Ops that replace every element: only a 0-d tensor fill value gets a gradient."""

    @staticmethod
    def backward(ctx, g):
        value = len(ctx.needs_input_grad) > 1 and ctx.needs_input_grad[1]
        return (None, g.sum()) if value else (None,)


@rule("eq_", "ne_", "not_equal_", "lt_", "less_", "le_", "less_equal_", "gt_", "greater_",
      "ge_", "greater_equal_", "logical_and_", "logical_or_", "logical_xor_", "logical_not_")
class Constant(Rule):
    """In-place comparisons on floats: the result is piecewise constant, its gradient zero."""

    @staticmethod
    def backward(ctx, g):
        return ()


@rule("__setitem__")
class SetItem(Rule):
    _single_use = True           # PyTorch's CopySlices: a second backward raises

    @staticmethod
    def save(ctx, out, x, index, value):
        ctx.index = index
        ctx.value_shape = value._shape if isinstance(value, Tensor) else None

    @staticmethod
    def backward(ctx, g):
        from ..tensor.creation import ones_like
        keep = ones_like(g)
        keep[ctx.index] = 0
        return (g * keep if ctx.needs_input_grad[0] else None, None,
                _to_value(g[ctx.index], ctx.value_shape) if ctx.needs_input_grad[2] else None)


def _to_value(g: Tensor, shape) -> Tensor:
    """The gradient of an assigned value, given leading size-1 dims the indexed region
    lacks (x[0] = v.view(1, 3)); the engine sums any broadcast dims away."""
    extra = len(shape) - len(g._shape) if shape is not None else 0
    return g.reshape((1,) * extra + tuple(g._shape)) if extra > 0 else g
