"""Derivatives of the shape, join and indexing ops (cat, split, flip, gather, scatter, ...).

Every backward is written in differentiable public ops, so create_graph=True differentiates
it again; the pairs close on themselves (gather <-> scatter_add, index_select <-> index_add,
x[index] <-> writing into zeros at index). Where an index repeats, gradients accumulate, as
in PyTorch. Registered into ops.RULES by name with the `rule` decorator; binding.py imports
this module before it wraps the public API (so this `__getitem__` replaces ops.Index).
"""
from __future__ import annotations

import itertools
import math
import numbers

from ..tensor.creation import zeros
from ..tensor.indexing import _normalize, index_put_, setitem
from ..tensor.shape import broadcast_shapes, normalize_dim
from ..tensor.tensor import Tensor
from .function import Function
from .grad_mode import is_grad_enabled
from .ops import RULES, Rule, rule


def _arg(args, kwargs, position: int, name: str, default):
    """An option given by position (after the input) or by keyword."""
    return args[position] if len(args) > position else kwargs.get(name, default)


def _zeros(shape, like: Tensor) -> Tensor:
    return zeros(shape, dtype=like.dtype, device=like.device)


_SAVED = object()      # where an index tuple held a tensor (kept by save_for_backward)


def _save_index(ctx, items: tuple, advanced: bool = False) -> None:
    """Keep an index tuple (`advanced`: holding tensors, lists or masks) for backward; its
    tensors through save_for_backward, so that an in-place change to them raises there."""
    ctx.advanced = advanced
    ctx.items = tuple(_SAVED if isinstance(i, Tensor) else i for i in items)
    ctx.save_for_backward(*(i for i in items if isinstance(i, Tensor)))


def _load_index(ctx) -> tuple:
    tensors = iter(ctx.saved_tensors)
    return tuple(next(tensors) if i is _SAVED else i for i in ctx.items)


class _Embed(Function):
    """`g` written into zeros of `shape` at `items` (summed where an advanced index repeats
    itself): the derivative of x[items], whose own derivative is gg[items]."""

    @staticmethod
    def forward(ctx, g, shape, items, advanced):
        _save_index(ctx, items)
        out = _zeros(shape, g)
        if advanced:
            index_put_(out, items, g, True)
        else:
            setitem(out, items, g)
        return out

    @staticmethod
    def backward(ctx, gg):
        return gg[_load_index(ctx)], None, None, None


def _cat(tensors, dim: int) -> Tensor:
    """clgrad.cat, recorded through Cat when a gradient needs it (binding.wrap looks only at
    positional Tensor arguments, not at the tensors inside cat's list)."""
    from ..tensor.joins import cat
    if is_grad_enabled() and any(t.requires_grad for t in tensors):
        return Cat.call(cat, (list(tensors), dim), {})
    return cat(tensors, dim)


class _Positional(Rule):
    """Rules with tensor arguments that may come by keyword (src=, values=, ...): moved to
    their positions so that they are recorded (nodes record positional arguments only)."""

    params = ()            # the names of the arguments after the input, in order

    @classmethod
    def call(cls, raw, args, kwargs):
        args, kwargs = list(args), dict(kwargs)
        for name in cls.params[len(args) - 1:]:
            if name not in kwargs:
                break
            args.append(kwargs.pop(name))
        return super().call(raw, tuple(args), kwargs)


# -- joins and splits -------------------------------------------------------------------------
@rule("cat", "concat", "concatenate")
class Cat(Rule):
    """cat and the joins built on it: the gradient is split back into the inputs' pieces.
    The tensors of the list are recorded as the node's inputs."""

    skips_empty = True      # cat skips 1-D empty inputs, whatever the other inputs' rank

    @classmethod
    def call(cls, raw, args, kwargs):
        tensors, *rest = args
        if isinstance(tensors, Tensor):          # not a list: the op raises PyTorch's error
            return super().call(raw, args, kwargs)
        if rest:
            kwargs = {**kwargs, "dim": rest[0]}
        return super().call(lambda *ts, **kw: raw(list(ts), **kw), tuple(tensors), kwargs)

    @staticmethod
    def join_dim(out: Tensor, dim: int) -> int:
        return normalize_dim(dim, out.dim())

    @classmethod
    def save(cls, ctx, out, *tensors, dim=0, **_):
        d = ctx.dim = cls.join_dim(out, dim)
        ctx.shapes = [t._shape for t in tensors]
        ctx.sizes = [t._shape[d] if t.dim() == out.dim() else                   # same rank
                     0 if cls.skips_empty and t._shape == (0,) else 1 for t in tensors]

    @staticmethod
    def backward(ctx, g):
        pieces = g.split(ctx.sizes, ctx.dim)
        return tuple(p.reshape(shape) for p, shape in zip(pieces, ctx.shapes))


@rule("stack")
class Stack(Cat):
    skips_empty = False


@rule("hstack")
class Hstack(Stack):
    @staticmethod
    def join_dim(out: Tensor, dim: int) -> int:
        return 0 if out.dim() == 1 else 1


@rule("vstack")
class Vstack(Stack):
    @staticmethod
    def join_dim(out: Tensor, dim: int) -> int:
        return 0


@rule("split", "chunk")
class Split(Rule):
    """Views along a dim: the outputs' gradients joined back with cat, or each put where its
    piece came from when the pieces do not follow each other (tensor_split([3, 1]))."""

    dim_at = 1            # the position of `dim` after the input

    @classmethod
    def save(cls, ctx, out, x, *args, **kwargs):
        d = normalize_dim(_arg(args, kwargs, cls.dim_at, "dim", 0), x.dim())
        ctx.dim, ctx.shape, ctx.squeezed = d, x._shape, cls.dim_at == 0
        lengths = [1 if ctx.squeezed else o._shape[d] for o in out]
        split = _arg(args, kwargs, 0, "indices_or_sections", None)
        ctx.pieces = list(zip(cls.starts(x._shape[d], lengths, split), lengths))

    @staticmethod
    def starts(size: int, lengths: list, split) -> list:
        """Where each piece starts along the dim (pieces follow each other)."""
        return list(itertools.accumulate([0] + lengths[:-1]))

    @staticmethod
    def backward(ctx, *grads):
        d = ctx.dim
        if ctx.squeezed:
            grads = [g.unsqueeze(d) for g in grads]
        starts = list(itertools.accumulate([0] + [n for _, n in ctx.pieces[:-1]]))
        if [s for s, _ in ctx.pieces] == starts and sum(n for _, n in ctx.pieces) == \
                ctx.shape[d]:
            return _cat(grads, d)
        placed = [_Embed.apply(g, ctx.shape, (slice(None),) * d + (slice(s, s + n),), False)
                  for g, (s, n) in zip(grads, ctx.pieces)]
        return sum(placed[1:], placed[0])


@rule("tensor_split")
class TensorSplit(Split):
    @staticmethod
    def starts(size: int, lengths: list, split) -> list:
        split = split.tolist() if isinstance(split, Tensor) else split
        if isinstance(split, numbers.Integral):
            return Split.starts(size, lengths, split)
        return [0] + [min(max(int(i) + size if i < 0 else int(i), 0), size) for i in split]


@rule("unbind")
class Unbind(Split):
    dim_at = 0


# -- views placed back into zeros ------------------------------------------------------------
class _Placed(Rule):
    """Indexing whose gradient is g written into zeros of the input's shape where the
    output was read (summed over repeated advanced indices)."""

    @staticmethod
    def backward(ctx, g):
        return _Embed.apply(g, ctx.shape, _load_index(ctx), ctx.advanced)


@rule("__getitem__")
class Index(_Placed):
    """x[index], basic (a view) or advanced (integer tensors or lists, masks); replaces
    ops.Index, which refuses advanced indices."""

    @staticmethod
    def save(ctx, out, x, index):
        ctx.shape = x._shape
        _save_index(ctx, *_normalize(x, index))

    @classmethod
    def call(cls, raw, args, kwargs):
        """x[int] and x[slice] are recorded as PyTorch names them (Select, Slice)."""
        if cls is Index and len(args) == 2:
            kind = _basic_kind(args[1])
            if kind is not None:
                return kind.call(raw, args, kwargs)
        return super().call(raw, args, kwargs)


def _basic_kind(index):
    """Select or Slice for an index of ints and slices, named after its last real step as
    PyTorch records it (x[0], x[:, 1] select; x[1:], x[0, ::2] slice); else None."""
    items = index if isinstance(index, tuple) else (index,)
    last = None
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (numbers.Integral, slice)):
            return None
        if item != slice(None):
            last = item
    if last is None:
        return None
    return _SliceIndex if isinstance(last, slice) else _SelectIndex


_SelectIndex = type("Select", (Index,), {"__module__": __name__})
_SliceIndex = type("Slice", (Index,), {"__module__": __name__})


@rule("narrow")
class Narrow(_Placed):
    _node_name = "SliceBackward0"         # PyTorch's narrow is a slice

    @staticmethod
    def save(ctx, out, x, dim, start, length):
        d = normalize_dim(dim, x.dim())
        start = start + x._shape[d] if start < 0 else start
        ctx.shape = x._shape
        _save_index(ctx, (slice(None),) * d + (slice(start, start + length),))


@rule("select")
class Select(_Placed):
    @staticmethod
    def save(ctx, out, x, dim, index):
        ctx.shape = x._shape
        _save_index(ctx, (slice(None),) * normalize_dim(dim, x.dim()) + (index,))


@rule("take")
class Take(Rule):
    @staticmethod
    def save(ctx, out, x, index):
        ctx.shape = x._shape
        ctx.save_for_backward(index)

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        flat = _Embed.apply(g.reshape(-1), (math.prod(ctx.shape),), (index.reshape(-1),), True)
        return flat.reshape(ctx.shape)


@rule("masked_select")
class MaskedSelect(Rule):
    @staticmethod
    def save(ctx, out, x, mask, **_):
        ctx.shape = broadcast_shapes(x._shape, mask._shape)
        ctx.save_for_backward(mask)

    @staticmethod
    def backward(ctx, g):            # the engine sums a broadcast input's gradient back
        (mask,) = ctx.saved_tensors
        return _Embed.apply(g, ctx.shape, (mask.expand(ctx.shape),), True)


# -- permutations and masks equal to their own transpose ---------------------------------------
class _SelfAdjoint(Rule):
    """Linear ops that are their own transpose (flips, triangles): the gradient is the same
    op, with the same options, applied to g."""

    method = ""

    @staticmethod
    def save(ctx, out, x, *args, **kwargs):
        ctx.args, ctx.kwargs = args, kwargs

    @staticmethod
    def backward(ctx, g):
        return getattr(g, ctx._function.method)(*ctx.args, **ctx.kwargs)


for _name in ("flip", "fliplr", "flipud", "tril", "triu"):
    RULES[_name] = type(_name.capitalize(), (_SelfAdjoint,),
                        {"method": _name, "__module__": __name__})


@rule("roll")
class Roll(Rule):
    @staticmethod
    def save(ctx, out, x, shifts, dims=None):
        shifts = [shifts] if isinstance(shifts, numbers.Integral) else list(shifts)
        ctx.shifts, ctx.dims = [-s for s in shifts], dims

    @staticmethod
    def backward(ctx, g):
        return g.roll(ctx.shifts, ctx.dims)


@rule("repeat", "tile")
class Repeat(Rule):
    """repeat/tile: the gradient viewed as (r0, s0, r1, s1, ...) summed over the repeats."""

    @staticmethod
    def save(ctx, out, x, *sizes, **kwargs):
        sizes = kwargs.get("dims", sizes)
        if len(sizes) == 1 and not isinstance(sizes[0], numbers.Integral):
            sizes = sizes[0]
        sizes = (sizes,) if isinstance(sizes, numbers.Integral) else tuple(sizes)
        sizes = (1,) * (x.dim() - len(sizes)) + sizes          # tile pads with ones
        shape = (1,) * (len(sizes) - x.dim()) + x._shape
        ctx.pairs = [v for r, s in zip(sizes, shape) for v in (r, s)]
        ctx.shape = x._shape

    @staticmethod
    def backward(ctx, g):
        repeats = tuple(range(0, len(ctx.pairs), 2))
        return g.reshape(ctx.pairs).sum(repeats).reshape(ctx.shape)


# -- gather and scatter -----------------------------------------------------------------------
@rule("gather")
class Gather(Rule):
    """Reads along `dim` at an index: the gradient is added into zeros at the same index by
    the op's adjoint (scatter_add for gather, index_add for index_select)."""

    adjoint = "scatter_add"

    @staticmethod
    def save(ctx, out, x, dim, index, **_):
        ctx.dim, ctx.shape = dim, x._shape
        ctx.save_for_backward(index)

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors      # in place into fresh zeros: no copy of them
        return getattr(_zeros(ctx.shape, g), ctx._function.adjoint + "_")(ctx.dim, index, g)


@rule("scatter")
class Scatter(_Positional):
    """scatter (src tensor or value) and scatter_add: written positions get no gradient
    from the input (scatter), src gets g gathered at the index."""

    params = ("dim", "index", "src")
    accumulates = False

    @staticmethod
    def save(ctx, out, x, dim, index, src=None, **_):
        ctx.dim = dim
        ctx.save_for_backward(index)

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        gx = gsrc = None
        if ctx.needs_input_grad[0]:
            gx = g if ctx._function.accumulates else g.scatter(ctx.dim, index, 0.0)
        if len(ctx.needs_input_grad) > 3 and ctx.needs_input_grad[3]:
            gsrc = g.gather(ctx.dim, index)
        return (gx, None, None, gsrc)[:len(ctx.needs_input_grad)]


RULES["scatter_add"] = type("ScatterAdd", (Scatter,), {"accumulates": True,
                                                       "__module__": __name__})


# -- the index_* family -----------------------------------------------------------------------
RULES["index_select"] = type("IndexSelect", (Gather,), {"adjoint": "index_add",
                                                         "__module__": __name__})


@rule("index_add")
class IndexAdd(_Positional):
    """index_add/index_copy/index_fill(input, dim, index, source or value): the input's
    overwritten slices get no gradient (copy, fill); source gets g selected at the index
    (times alpha); a 0-d value tensor gets the sum of g over the filled slices."""

    params = ("dim", "index", "source")
    kind = "add"

    @staticmethod
    def save(ctx, out, x, dim, index, source, *, alpha=1):
        ctx.dim, ctx.alpha = dim, alpha
        ctx.save_for_backward(index)

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        kind, needs = ctx._function.kind, ctx.needs_input_grad
        kept = g if kind == "add" else g.index_fill(ctx.dim, index, 0)
        gsrc = None
        if needs[3] and kind == "fill":
            gsrc = (g - kept).sum()
        elif needs[3]:
            gsrc = g.index_select(ctx.dim, index)
            gsrc = gsrc if ctx.alpha == 1 else gsrc * ctx.alpha
        return kept if needs[0] else None, None, None, gsrc


for _kind, _param in (("copy", "source"), ("fill", "value")):
    RULES[f"index_{_kind}"] = type(f"Index{_kind.capitalize()}", (IndexAdd,), {
        "kind": _kind, "params": ("dim", "index", _param), "__module__": __name__})


@rule("index_put")
class IndexPut(_Positional):
    """Out-of-place index_put: the input's gradient is g (accumulate) or g with the written
    positions zeroed; values get g read at the indices."""

    params = ("indices", "values", "accumulate")

    @staticmethod
    def save(ctx, out, x, indices, values, accumulate=False):
        ctx.accumulate = accumulate
        _save_index(ctx, tuple(indices))

    @staticmethod
    def backward(ctx, g):
        items = _load_index(ctx)
        gx = gv = None
        if ctx.needs_input_grad[0]:
            gx = g if ctx.accumulate else g.index_put(items, _zeros((), g))
        if ctx.needs_input_grad[2]:
            gv = g[items]
        return gx, None, gv


@rule("masked_fill")
class MaskedFill(_Positional):
    """The filled positions get no gradient from the input; a 0-d value tensor gets the
    sum of g over them."""

    params = ("mask", "value")

    @staticmethod
    def save(ctx, out, x, mask, value):
        ctx.save_for_backward(mask)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        kept = g.masked_fill(mask, 0.0)
        needs = ctx.needs_input_grad
        gv = (g - kept).sum() if needs[2] else None
        return kept if needs[0] else None, None, gv


# -- sorting ---------------------------------------------------------------------------------
@rule("sort")
class Sort(Rule):
    """sort/topk values: g scattered back to the positions the values came from."""

    dim_at = 0

    @classmethod
    def save(cls, ctx, out, x, *args, **kwargs):
        ctx.dim, ctx.shape = _arg(args, kwargs, cls.dim_at, "dim", -1), x._shape
        ctx.save_for_backward(out[1])
        ctx.mark_non_differentiable(out[1])

    @staticmethod
    def backward(ctx, g, *_):
        (indices,) = ctx.saved_tensors
        return _zeros(ctx.shape, g).scatter(ctx.dim, indices, g)


@rule("topk")
class Topk(Sort):
    dim_at = 1
