"""Derivatives of the built-in ops, each written once next to what its forward saves.

A rule is a Function whose forward is the raw tensor-layer op (function, method or
operator, whichever the user called) and whose backward is written in differentiable ops,
so create_graph=True differentiates it again. binding.py wraps every public op with its
rule (or, for ops without one yet, with a refusal when a gradient would be needed).
"""
from __future__ import annotations

import math

from ..tensor.ops import grad_op
from ..tensor.tensor import Tensor
from .function import Function, _record, wants_grad
from .grad_mode import _set, is_grad_enabled


class Rule(Function):
    """A built-in op's derivative: `save(ctx, out, *args, **kwargs)` keeps what backward
    needs; `backward(ctx, grad)` returns the gradients of the leading positional arguments
    (the rest, options such as dims, get None)."""

    _backward_suffix = "0"
    _pad_grads = True
    _returns_self = False      # the op may hand back its input itself (to, contiguous): as is

    @staticmethod
    def save(ctx, out, *args, **kwargs) -> None:
        pass

    @classmethod
    def call(cls, raw, args, kwargs):
        if kwargs.get("out") is not None:
            raise RuntimeError(f"{cls.__name__.lower()}(): functions with out=... arguments "
                               "don't support automatic differentiation, but one of the "
                               "arguments requires grad.")
        ctx = cls._node_class()
        ctx.needs_input_grad = tuple([isinstance(a, Tensor) and a._requires_grad for a in args])
        _set(False)
        try:
            out = raw(*args, **kwargs)
            if cls._returns_self and out is args[0]:
                return out
            cls.save(ctx, out, *args, **kwargs)
        finally:
            _set(True)
        return _record(ctx, args, out)


RULES: dict = {}


def wrap(raw, cls):
    """The public form of an op: recorded through `cls` when a gradient is needed."""
    def op(*args, **kwargs):
        if is_grad_enabled() and wants_grad(args, kwargs):
            return cls.call(raw, args, kwargs)
        return raw(*args, **kwargs)
    op.__name__ = getattr(raw, "__name__", "op")
    op.__doc__ = raw.__doc__
    op.__wrapped__ = raw
    return op


def rule(*names):
    def register(cls):
        for name in names:
            RULES[name] = cls
        return cls
    return register


class Overloaded(Rule):
    """Rules whose grad_fn PyTorch names by overload: `_overload(args, kwargs)` gives the
    node name of a call's overload (None: the class's own), and the call is recorded
    through a twin class of that name, made on first use (sum(x, dim) is SumBackward1)."""

    _twins = None            # per subclass: node name -> twin
    _is_twin = False

    @staticmethod
    def _overload(args, kwargs):
        """The node name of the call's overload; None for the class's own."""

    @classmethod
    def call(cls, raw, args, kwargs):
        if not cls._is_twin:
            name = cls._overload(args, kwargs)
            if name is not None:
                twin = cls._twins.get(name)
                if twin is None:
                    twin = cls._twins[name] = type(cls.__name__, (cls,), {
                        "_node_name": name, "_is_twin": True, "__module__": cls.__module__})
                return twin.call(raw, args, kwargs)
        return super().call(raw, args, kwargs)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._twins = {}


class _DimOverloaded(Overloaded):
    """Reductions: <Name>Backward1 when given dims (PyTorch's dim overload)."""

    @classmethod
    def _overload(cls, args, kwargs):
        if len(args) > 1 or "dim" in kwargs:     # dims given, even dim=None
            return cls.__name__ + "Backward1"
        return None


class _Saving(Rule):
    """Rules whose backward needs the leading positional inputs (tensors or numbers)."""

    @staticmethod
    def save(ctx, out, *args, **kwargs):
        ctx.save_for_backward(*args)


# -- elementwise ------------------------------------------------------------------------------
@rule("add")
class Add(Rule):
    @staticmethod
    def save(ctx, out, a, b, alpha=1, **_):
        ctx.alpha = alpha

    @staticmethod
    def backward(ctx, g):
        return g, (g if ctx.alpha == 1 else g * ctx.alpha)


@rule("sub")
class Sub(Rule):
    @staticmethod
    def save(ctx, out, a, b, alpha=1, **_):
        ctx.alpha = alpha

    @staticmethod
    def backward(ctx, g):
        if not ctx.needs_input_grad[1]:
            return g, None
        return g, -g if ctx.alpha == 1 else g * -ctx.alpha


# 1 - x: PyTorch's RsubBackward1 (the Tensor.__rsub__ operator)
RULES["__rsub__"] = type("Rsub", (Sub,), {"_backward_suffix": "1", "__module__": __name__})


@rule("mul")
class Mul(_Saving):
    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g * b if ctx.needs_input_grad[0] else None,
                g * a if ctx.needs_input_grad[1] else None)


@rule("div")
class Div(Rule):
    @staticmethod
    def save(ctx, out, a, b, rounding_mode=None, **_):
        if rounding_mode is not None:
            raise NotImplementedError("the derivative of div with rounding_mode is not "
                                      "implemented (it is zero almost everywhere)")
        ctx.save_for_backward(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g / b if ctx.needs_input_grad[0] else None
        gb = -g * a / (b * b) if ctx.needs_input_grad[1] else None
        return ga, gb


@rule("pow")
class Pow(Overloaded):
    @staticmethod
    def _overload(args, kwargs):
        """pow(Tensor, Tensor) is PowBackward1, pow(Number, Tensor) PowBackward2."""
        if not args:
            return None
        if not isinstance(args[0], Tensor):
            return "PowBackward2"
        exponent = args[1] if len(args) > 1 else kwargs.get("exponent")
        return "PowBackward1" if isinstance(exponent, Tensor) else None

    @staticmethod
    def save(ctx, out, a, b, **_):
        ctx.save_for_backward(a, b, out if ctx.needs_input_grad[1] else None)

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            if isinstance(b, Tensor):
                ga = g * b * a.pow(b - 1)
            elif not is_grad_enabled():                  # one launch when not recorded
                ga = grad_op("pow_grad", g, a, b)
            else:
                ga = g * (0.0 * a if b == 0 else b * a.pow(b - 1))
        if ctx.needs_input_grad[1]:
            base = a if isinstance(a, Tensor) else math.log(a)
            log_a = base.log() if isinstance(a, Tensor) else base
            gb = g * out * log_a
        return ga, gb


def _unary(name, derivative, uses, fused=None, node_name=None):
    """A one-input rule whose derivative is `derivative(x, out) * grad`; `uses` says which
    of x and out it reads ("x", "out", both or neither): only those are saved, so writing
    into the other later is no error (as PyTorch). `fused` names the one-launch form of the
    product over (grad, out) in tensor.ops.GRADS; `node_name` PyTorch's grad_fn name where
    it is not <Name>Backward0."""
    def save(ctx, out, x, *args, **kwargs):
        ctx.save_for_backward(x if "x" in uses else None, out if "out" in uses else None)

    def backward(ctx, g):
        x, out = ctx.saved_tensors
        if fused is not None and not is_grad_enabled():
            return grad_op(fused, g, out)
        return g * derivative(x, out)
    cls = type(name.capitalize(), (Rule,), {"save": staticmethod(save),
                                            "backward": staticmethod(backward),
                                            "_node_name": node_name,
                                            "__module__": __name__})
    RULES[name] = cls
    return cls


_unary("neg", lambda x, out: -1.0, "")
_unary("exp", lambda x, out: out, "out")
_unary("log", lambda x, out: x.reciprocal(), "x")
_unary("sqrt", lambda x, out: 0.5 / out, "out")
_unary("rsqrt", lambda x, out: -0.5 * out * out * out, "out")
_unary("sin", lambda x, out: x.cos(), "x")
_unary("cos", lambda x, out: -x.sin(), "x")
_unary("tanh", lambda x, out: 1 - out * out, "out", "tanh_grad")
_unary("sigmoid", lambda x, out: out * (1 - out), "out", "sigmoid_grad")
_unary("relu", lambda x, out: (out > 0).to(out.dtype), "out", "relu_grad")
_unary("abs", lambda x, out: x.sign(), "x")
_unary("square", lambda x, out: 2 * x, "x", node_name="PowBackward0")
_unary("reciprocal", lambda x, out: -out * out, "out")
_unary("log1p", lambda x, out: (1 + x).reciprocal(), "x")
_unary("expm1", lambda x, out: out + 1, "out")
_unary("clone", lambda x, out: 1.0, "")
_unary("contiguous", lambda x, out: 1.0, "", node_name="CloneBackward0")._returns_self = True


@rule("where")
class Where(Rule):
    @staticmethod
    def save(ctx, out, cond, a=None, b=None, **_):
        ctx.save_for_backward(cond)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        zero = g.new_zeros(())
        return (None, g.where(cond, zero) if ctx.needs_input_grad[1] else None,
                zero.where(cond, g) if ctx.needs_input_grad[2] else None)


@rule("Tensor.where")
class WhereMethod(Rule):
    """x.where(condition, y): where(condition, x, y) with self first."""

    _node_name = "WhereBackward0"

    @staticmethod
    def save(ctx, out, x, cond, other=None, **_):
        ctx.save_for_backward(cond)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        zero = g.new_zeros(())
        return (g.where(cond, zero) if ctx.needs_input_grad[0] else None, None,
                zero.where(cond, g) if ctx.needs_input_grad[2] else None)


# -- reductions -----------------------------------------------------------------------------
def _keep(g, shape, dim, keepdim):
    """The gradient of a reduction over `dim`, with the reduced dims back as size 1."""
    if keepdim or dim is None or not shape:
        return g               # dim None: a 0-d g (or all-ones shape) broadcasts as it is
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    dims = sorted(d % len(shape) for d in dims) if dims else range(len(shape))
    for d in dims:
        g = g.unsqueeze(d)
    return g


@rule("sum")
class Sum(_DimOverloaded):
    @staticmethod
    def save(ctx, out, x, dim=None, keepdim=False, **_):
        ctx.shape, ctx.dim, ctx.keepdim = x._shape, dim, keepdim

    @staticmethod
    def backward(ctx, g):
        return _keep(g, ctx.shape, ctx.dim, ctx.keepdim).expand(ctx.shape)


@rule("mean")
class Mean(_DimOverloaded):
    @staticmethod
    def save(ctx, out, x, dim=None, keepdim=False, **_):
        ctx.shape, ctx.dim, ctx.keepdim = x._shape, dim, keepdim
        ctx.count = max(x._numel // max(out._numel, 1), 1) if x._numel else 1

    @staticmethod
    def backward(ctx, g):
        g = _keep(g, ctx.shape, ctx.dim, ctx.keepdim) / ctx.count
        return g.expand(ctx.shape)


class _FromOutput(Rule):
    """Rules along `dim` whose backward needs only the forward's output."""

    @staticmethod
    def save(ctx, out, x, dim=None, dtype=None):
        ctx.dim = dim
        ctx.save_for_backward(out)


@rule("softmax")
class Softmax(_FromOutput):
    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g - (g * y).sum(ctx.dim, keepdim=True))


@rule("log_softmax")
class LogSoftmax(_FromOutput):
    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g - y.exp() * g.sum(ctx.dim, keepdim=True)


@rule("logsumexp")
class LogSumExp(Rule):
    _node_name = "LogsumexpBackward0"

    @staticmethod
    def save(ctx, out, x, dim, keepdim=False, **_):
        ctx.dim, ctx.keepdim = dim, keepdim
        ctx.save_for_backward(x, out)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        shape = x._shape
        return _keep(g, shape, ctx.dim, ctx.keepdim) * \
            (x - _keep(out, shape, ctx.dim, ctx.keepdim)).exp()


def _spread(x, out, g, dim, keepdim):
    """Gradient of amax/amin-like reductions: shared evenly among the tied elements."""
    shape = x._shape
    mask = (x == _keep(out, shape, dim, keepdim)).to(g.dtype)
    count = mask.sum(dim if dim is not None else tuple(range(len(shape))), keepdim=True)
    return _keep(g, shape, dim, keepdim) * mask / count


@rule("amax")
class Amax(Rule):
    @staticmethod
    def save(ctx, out, x, dim=(), keepdim=False, **_):
        ctx.dim = None if dim == () or dim == [] else dim
        ctx.keepdim = keepdim
        ctx.save_for_backward(x, out)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        return _spread(x, out, g, ctx.dim, ctx.keepdim)


RULES["amin"] = type("Amin", (Amax,), {"__module__": __name__})


@rule("max")
class Max(Overloaded):
    """max/min of everything (ties share the gradient), along a dim (the gradient goes to
    the index returned), or of two tensors (elementwise; ties split it)."""

    @classmethod
    def _overload(cls, args, kwargs):
        """max(x) is MaxBackward1, max(x, dim) MaxBackward0, max(x, y) MaximumBackward0."""
        if len(args) == 1 and not kwargs:
            return cls.__name__ + "Backward1"
        if len(args) > 1 and isinstance(args[1], Tensor):
            return cls.__name__ + "imumBackward0"
        return None

    @staticmethod
    def save(ctx, out, x, dim=None, keepdim=False, **_):
        ctx.other = isinstance(dim, Tensor)
        if ctx.other:
            ctx.save_for_backward(x, dim, out)
            return
        ctx.dim, ctx.keepdim = dim, keepdim
        ctx.save_for_backward(x, out if dim is None else out[1])
        if dim is not None:
            ctx.mark_non_differentiable(out[1])

    @staticmethod
    def backward(ctx, g, *rest):
        if ctx.other:
            a, b, out = ctx.saved_tensors
            ta, tb = (a == out).to(g.dtype), (b == out).to(g.dtype)
            share = g / (ta + tb)
            return share * ta, share * tb
        x, saved = ctx.saved_tensors
        if ctx.dim is None:
            return _spread(x, saved, g, None, False)
        from ..tensor.creation import arange
        d = ctx.dim % max(len(x._shape), 1)
        positions = arange(x._shape[d] if x._shape else 1, device=x.device)
        positions = positions.reshape([-1] + [1] * (len(x._shape) - d - 1))
        hit = (positions == _keep(saved, x._shape, ctx.dim, ctx.keepdim)).to(g.dtype)
        return _keep(g, x._shape, ctx.dim, ctx.keepdim) * hit


RULES["min"] = type("Min", (Max,), {"__module__": __name__})


@rule("var")
class Var(Rule):
    @staticmethod
    def save(ctx, out, x, dim=None, unbiased=None, keepdim=False, *, correction=None, **_):
        if isinstance(dim, bool):
            unbiased, dim = dim, None
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        n = x._numel // max(out._numel, 1) if x._numel else 0
        ctx.dim, ctx.keepdim, ctx.dof = dim, keepdim, max(n - correction, 0)
        ctx.root = type(ctx).__name__.startswith("Std")
        ctx.save_for_backward(x, out)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        shape = x._shape
        centred = x - x.mean(ctx.dim, keepdim=True)
        grad = _keep(g, shape, ctx.dim, ctx.keepdim) * centred * \
            (2.0 / ctx.dof if ctx.dof else math.inf)             # no dof: NaN, as PyTorch
        if ctx.root:
            std = _keep(out, shape, ctx.dim, ctx.keepdim)
            grad = (grad / (2 * std)).masked_fill(std == 0, 0)   # constant input: 0
        return grad


RULES["std"] = type("Std", (Var,), {"__module__": __name__})


# -- matmul ---------------------------------------------------------------------------------
def mat2_grad(a, g, b):
    """a^T @ g, the gradient of a @ b with respect to the matrix b, laid out like b: for a
    transposed b (x @ W.T) it is computed as (g^T @ a)^T, so W's gradient comes out
    contiguous and needs no copy (PyTorch's mm_mat2_backward)."""
    if b.dim() == 2 and b._stride[0] == 1 and b._stride[1] != 1:
        return g.transpose(-1, -2).matmul(a).transpose(-1, -2)
    return a.transpose(-1, -2).matmul(g)


@rule("mm")
class Mm(_Saving):
    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g.mm(b.t()) if ctx.needs_input_grad[0] else None,
                mat2_grad(a, g, b) if ctx.needs_input_grad[1] else None)


@rule("matmul")
class Matmul(_Saving):
    @classmethod
    def call(cls, raw, args, kwargs):
        """Two matrices: recorded as mm (PyTorch's MmBackward0)."""
        if len(args) == 2 and all(isinstance(a, Tensor) and len(a._shape) == 2 for a in args):
            return Mm.call(raw, args, kwargs)
        return super().call(raw, args, kwargs)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        if a.dim() == 1 and b.dim() == 1:                     # a dot product
            return (g * b if ctx.needs_input_grad[0] else None,
                    g * a if ctx.needs_input_grad[1] else None)
        a2 = a.unsqueeze(0) if a.dim() == 1 else a
        b2 = b.unsqueeze(-1) if b.dim() == 1 else b
        g2 = g
        if a.dim() == 1:
            g2 = g2.unsqueeze(-2)
        if b.dim() == 1:
            g2 = g2.unsqueeze(-1)
        ga = g2.matmul(b2.transpose(-1, -2)) if ctx.needs_input_grad[0] else None
        gb = a2.transpose(-1, -2).matmul(g2) if ctx.needs_input_grad[1] else None
        if ga is not None and a.dim() == 1:
            ga = ga.squeeze(-2)
        if gb is not None and b.dim() == 1:
            gb = gb.squeeze(-1)
        return ga, gb


# -- views ----------------------------------------------------------------------------------
class _Reshaping(Rule):
    """Views whose gradient is the incoming gradient reshaped back to the input."""

    @staticmethod
    def save(ctx, out, x, *args, **kwargs):
        ctx.shape = x._shape

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape)


# PyTorch's names: a reshape that is a view is ViewBackward0 (flatten, *_as too).
_View = type("View", (_Reshaping,), {"__module__": __name__})
for _name in ("view", "reshape", "view_as", "reshape_as"):
    RULES[_name] = _View
# flatten with nothing to flatten returns the tensor itself, as in PyTorch
RULES["flatten"] = type("View", (_View,), {"_returns_self": True, "__module__": __name__})
for _name in ("squeeze", "unsqueeze"):
    RULES[_name] = type(_name.capitalize(), (_Reshaping,), {"__module__": __name__})


@rule("transpose", "swapaxes", "swapdims")
class Transpose(Rule):
    @staticmethod
    def save(ctx, out, x, d0, d1):
        ctx.dims = (d0, d1)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(*ctx.dims), None, None


@rule("t")
class T(Rule):
    @staticmethod
    def backward(ctx, g):
        return (g.t(),)


@rule("permute")
class Permute(Rule):
    @staticmethod
    def save(ctx, out, x, *dims):
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        nd = len(x._shape)
        order = [d % nd for d in dims]
        ctx.inverse = [order.index(i) for i in range(nd)]

    @staticmethod
    def backward(ctx, g):
        return g.permute(*ctx.inverse)


@rule("expand", "expand_as")
class Expand(Rule):
    @staticmethod
    def save(ctx, out, x, *args):
        ctx.shape = x._shape

    @staticmethod
    def backward(ctx, g):          # the engine sums the broadcast dims back
        return g


@rule("__getitem__")
class Index(Rule):
    @staticmethod
    def save(ctx, out, x, index):
        items = index if isinstance(index, tuple) else (index,)
        if any(isinstance(i, (Tensor, list, bool)) for i in items):
            raise NotImplementedError("the derivative of advanced indexing (tensors, lists or "
                                      "masks as indices) is not implemented yet")
        ctx.shape, ctx.dtype, ctx.device, ctx.index = x._shape, x.dtype, x.device, index

    @staticmethod
    def backward(ctx, g):
        from ..tensor.creation import zeros
        grad = zeros(ctx.shape, dtype=ctx.dtype, device=ctx.device)
        grad[ctx.index] = g
        return grad, None


@rule("to", "float", "double", "half", "type", "cpu", "cuda")
class ToCopy(Rule):
    """Casts and device moves: the gradient goes back to the input's dtype and device."""

    _returns_self = True

    @staticmethod
    def save(ctx, out, x, *args, **kwargs):
        ctx.dtype, ctx.device = x.dtype, x.device
        if not out.dtype.is_floating_point:
            ctx.mark_non_differentiable(out)

    @staticmethod
    def backward(ctx, g):
        return g.to(ctx.device).to(ctx.dtype)
