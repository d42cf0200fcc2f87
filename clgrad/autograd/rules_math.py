"""Derivatives of the remaining math ops: more elementwise functions, scans, products and
norms, and the matmul family beyond mm/matmul.

Registered into ops.RULES by name with the `rule` decorator; binding.py imports this module
after ops.py and before it wraps the public API, so a rule here may replace one of ops.py's
(div with rounding_mode, clamp with tensor bounds). Every backward is written in
differentiable public ops, so create_graph=True differentiates it again; the formulas and
their values at ties, zeros and bounds follow PyTorch's derivatives.yaml.
"""
from __future__ import annotations

import math

from ..tensor import dtype as dt
from ..tensor import functions as _api  # the public ops (wrapped by binding.install)
from ..tensor.creation import arange, eye, zeros_like
from ..tensor.einsum import _parse
from ..tensor.shape import broadcast_shapes
from ..tensor.tensor import Tensor
from .function import Function
from .grad_mode import is_grad_enabled
from .ops import (
    RULES,
    Overloaded,
    Rule,
    Var,
    _DimOverloaded,
    _keep,
    _Saving,
    _unary,
    mat2_grad,
    rule,
)
from .ops import Div as _TrueDiv

for _alias, _name in (("absolute", "abs"), ("negative", "neg"), ("multiply", "mul"),
                      ("subtract", "sub")):
    RULES[_alias] = RULES[_name]


def _where(cond, a, b):
    """The public (differentiable) where(cond, a, b)."""
    return _api["where"](cond, a, b)


def _scale(t, s):
    return t if s == 1 else t * s


def _needed(ctx, *grads):
    """`grads` (callables) evaluated only for the inputs that need a gradient."""
    return tuple(f() if need else None for f, need in zip(grads, ctx.needs_input_grad))


# -- elementwise ------------------------------------------------------------------------------
_LN2, _LN10 = math.log(2.0), math.log(10.0)
_unary("exp2", lambda x, out: out * _LN2, "out")
_unary("log2", lambda x, out: (x * _LN2).reciprocal(), "x")
_unary("log10", lambda x, out: (x * _LN10).reciprocal(), "x")
_unary("sinh", lambda x, out: x.cosh(), "x")
_unary("cosh", lambda x, out: x.sinh(), "x")
_unary("tan", lambda x, out: 1 + out * out, "out")
_unary("asin", lambda x, out: (1 - x * x).rsqrt(), "x")
_unary("acos", lambda x, out: -(1 - x * x).rsqrt(), "x")
_unary("atan", lambda x, out: (1 + x * x).reciprocal(), "x")
_unary("erf", lambda x, out: (-x * x).exp() * (2 / math.sqrt(math.pi)), "x")


class _Flat(Rule):
    """Piecewise-constant ops: a zero gradient (not g * 0, which would keep inf/NaN)."""

    @staticmethod
    def backward(ctx, g):
        return zeros_like(g)


for _name in ("sign", "ceil", "floor", "round", "trunc"):
    RULES[_name] = type(_name.capitalize(), (_Flat,), {"__module__": __name__})


@rule("div", "divide", "true_divide")
class Div(_TrueDiv):
    """True division as ops.Div; with rounding_mode='trunc'/'floor' zero gradients."""

    @staticmethod
    def save(ctx, out, a, b, rounding_mode=None, **_):
        ctx.rounded = rounding_mode is not None
        ctx.save_for_backward(a, b)

    @staticmethod
    def backward(ctx, g):
        if not ctx.rounded:
            return _TrueDiv.backward(ctx, g)
        return _needed(ctx, lambda: zeros_like(g), lambda: zeros_like(g))


@rule("floor_divide")
class FloorDivide(Rule):
    """Recorded, but differentiating through it raises, as in PyTorch."""

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")


@rule("fmod")
class Fmod(_Saving):
    """a - b * trunc(a / b): gradient 1 for a, -trunc(a / b) for b."""

    rounding = "trunc"

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        mode = ctx._function.rounding
        return _needed(ctx, lambda: g,
                       lambda: -g * _api["div"](a, b, rounding_mode=mode))


RULES["remainder"] = type("Remainder", (Fmod,), {"__module__": __name__, "rounding": "floor"})


@rule("atan2", "arctan2")
class Atan2(_Saving):
    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        share = g / (a * a + b * b)
        return _needed(ctx, lambda: share * b, lambda: -share * a)


@rule("maximum")
class Maximum(_Saving):
    """Ties split the gradient in halves; a NaN sends it to both inputs (as PyTorch)."""

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _split(ctx, g, a, b, a < b, b < a)


@rule("minimum")
class Minimum(_Saving):
    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _split(ctx, g, a, b, b < a, a < b)


def _split(ctx, g, a, b, a_loses, b_loses):
    half = _where(a == b, g / 2, g)
    zero = g.new_zeros(())
    return _needed(ctx, lambda: _where(a_loses, zero, half), lambda: _where(b_loses, zero, half))


@rule("addcmul")
class Addcmul(Rule):
    @staticmethod
    def save(ctx, out, x, t1, t2, *, value=1, **_):
        ctx.value = value
        ctx.save_for_backward(t1, t2)

    @staticmethod
    def backward(ctx, g):
        t1, t2 = ctx.saved_tensors
        return _needed(ctx, lambda: g, lambda: _scale(g * t2, ctx.value),
                       lambda: _scale(g * t1, ctx.value))


@rule("addcdiv")
class Addcdiv(Addcmul):
    @staticmethod
    def backward(ctx, g):
        t1, t2 = ctx.saved_tensors
        return _needed(ctx, lambda: g, lambda: _scale(g / t2, ctx.value),
                       lambda: _scale(-g * t1 / (t2 * t2), ctx.value))


@rule("clamp", "clip")
class Clamp(Overloaded):
    """Gradient to the input inside [min, max], to a tensor bound where it was selected;
    with min > max everything equals max and it gets the gradient (PyTorch's rule).
    PyTorch's names: ClampBackward1 with number bounds, ClampBackward0 with tensors."""

    bounds = ("min", "max")
    _backward_suffix = "1"

    @staticmethod
    def _overload(args, kwargs):
        return "ClampBackward0" if any(isinstance(b, Tensor) for b in args[1:]) else None

    @classmethod
    def call(cls, raw, args, kwargs):
        """Bounds given by keyword become positional, so tensor bounds get their edges."""
        names = cls.bounds
        rest = list(args[1:]) + [None] * (len(names) + 1 - len(args))
        kwargs = dict(kwargs)
        for i, name in enumerate(names):
            if name in kwargs:
                rest[i] = kwargs.pop(name)
        return super().call(raw, (args[0], *rest), kwargs)

    @staticmethod
    def save(ctx, out, x, *bounds, **_):
        named = dict(zip(ctx._function.bounds, bounds))
        ctx.save_for_backward(x, named.get("min"), named.get("max"))

    @staticmethod
    def backward(ctx, g):
        x, lo, hi = ctx.saved_tensors
        if lo is None or hi is None:
            inside = x >= lo if hi is None else x <= hi
        else:
            inside = (x >= lo) & (x <= hi)
        wins = {"min": lambda: x < lo if hi is None else (x < lo) & (lo < hi),
                "max": lambda: x > hi if lo is None else (x > hi) | (hi < lo)}
        zero = g.new_zeros(())
        return _needed(ctx, lambda: _where(inside, g, zero),
                       *[lambda n=n: _where(wins[n](), g, zero) for n in ctx._function.bounds])


class _OneBound(Clamp):
    """clamp_min/clamp_max: <Name>Backward0 with a number, <Name>Backward1 with a tensor."""

    _backward_suffix = "0"

    @classmethod
    def _overload(cls, args, kwargs):
        return cls.__name__ + "Backward1" if isinstance(args[1], Tensor) else None


RULES["clamp_min"] = type("ClampMin", (_OneBound,), {"__module__": __name__, "bounds": ("min",)})
RULES["clamp_max"] = type("ClampMax", (_OneBound,), {"__module__": __name__, "bounds": ("max",)})


# -- products, scans, norms, statistics --------------------------------------------------------
class _ReverseCumsum(Function):
    """cumsum from the end along `dim`: cumsum's adjoint (and cumsum is its adjoint)."""

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return x.flip([dim]).cumsum(dim).flip([dim])

    @staticmethod
    def backward(ctx, g):
        return g.cumsum(ctx.dim), None


def _omitting(x, d):
    """x with dim `d` moved last and a new dim before it: [..., i, j] is x_j, or 1 at j == i
    (so its product over the last dim omits each element in turn; O(n^2) memory)."""
    xt = x.transpose(d, -1)
    diagonal = eye(xt.shape[-1], dtype=dt.bool_, device=x.device)
    return _where(diagonal, 1.0, xt.unsqueeze(-2))


def _products_but_one(x, d):
    """prod of x along `d` without each element, in x's shape, exact with zeros."""
    if is_grad_enabled():        # differentiable again (create_graph): the O(n^2) form
        return _omitting(x, d).prod(-1).transpose(d, -1)
    zero = x == 0
    others = zero.sum(d, keepdim=True) - zero.to(dt.int64)    # zeros among the others
    y = _where(zero, 1.0, x)
    return _where(others == 0, y.prod(d, keepdim=True) / y, 0.0)


@rule("prod")
class Prod(_DimOverloaded):
    @staticmethod
    def save(ctx, out, x, dim=None, keepdim=False, **_):
        ctx.dim, ctx.keepdim = dim, keepdim
        ctx.save_for_backward(x, out)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        shape = x._shape
        if not shape:
            return g
        g = _keep(g, shape, ctx.dim, ctx.keepdim)
        if not (x == 0).any().item():
            return g * _keep(out, shape, ctx.dim, ctx.keepdim) / x
        if ctx.dim is None:
            return g * _products_but_one(x.reshape(-1), 0).reshape(shape)
        return g * _products_but_one(x, ctx.dim)


@rule("cumsum")
class Cumsum(Rule):
    @staticmethod
    def save(ctx, out, x, dim, **_):
        ctx.dim = dim if x._shape else None

    @staticmethod
    def backward(ctx, g):
        return g if ctx.dim is None else _ReverseCumsum.apply(g, ctx.dim)


@rule("cumprod")
class Cumprod(Rule):
    """Without zeros reverse_cumsum(g * out) / x; with zeros PyTorch's O(n) form, or the
    O(n^2) exact one when the gradient is itself differentiated."""

    @staticmethod
    def save(ctx, out, x, dim, **_):
        ctx.dim = dim % x.dim() if x._shape else None
        ctx.save_for_backward(x, out)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        d = ctx.dim
        if d is None or x._shape[d] == 1:
            return g
        if not (x == 0).any().item():
            return _ReverseCumsum.apply(g * out, d) / x
        if is_grad_enabled():
            n = x._shape[d]
            at = arange(n, device=x.device)
            later = at.unsqueeze(0) >= at.unsqueeze(1)         # [i, k]: k >= i
            terms = _omitting(x, d).cumprod(-1) * g.transpose(d, -1).unsqueeze(-2)
            return _where(later, terms, 0.0).sum(-1).transpose(d, -1)
        return _cumprod_with_zeros(x, out, g, d)


def _cumprod_with_zeros(x, out, g, d):
    """Before the first zero: reverse_cumsum(g * out) / x up to it; at it: the sum of g
    times the cumprod with that zero read as 1, up to the next zero; after it: 0."""
    zero = x == 0
    seen = zero.cumsum(d)
    before, first = seen == 0, zero & (seen == 1)
    head = _ReverseCumsum.apply(_where(before, g * out, 0.0), d) / _where(before, x, 1.0)
    at_first = _where(seen == 1, g * _where(first, 1.0, x).cumprod(d), 0.0).sum(d, True)
    return _where(before, head, _where(first, at_first, 0.0))


@rule("norm")
class Norm(Rule):
    _node_name = "LinalgVectorNormBackward0"

    @staticmethod
    def save(ctx, out, x, p="fro", dim=None, keepdim=False, **_):
        ctx.p = 2.0 if p == "fro" else float(p)
        ctx.dim, ctx.keepdim = dim, keepdim
        ctx.save_for_backward(x, out)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        p, shape = ctx.p, x._shape
        g, norm = (_keep(t, shape, ctx.dim, ctx.keepdim) for t in (g, out))
        if p == 0:
            return zeros_like(x)
        if p == 1:
            return x.sign() * g
        if math.isinf(p):            # shared among the elements at the max (min) |x|, or NaN
            size = x.abs()
            hit = ((size == norm) | size.ne(size)).to(g.dtype)
            dims = ctx.dim if ctx.dim is not None else tuple(range(len(shape)))
            return x.sign() * hit * (g / hit.sum(dims, keepdim=True))
        scaled = x if p == 2 else x.sign() * x.abs().pow(p - 1)
        if p < 1:
            scaled = _where(x == 0, 0.0, scaled)
        flat = norm == 0             # the zero vector (or a zero under p < 0): gradient 0
        return scaled * _where(flat, 0.0, g / _where(flat, 1.0, norm).pow(p - 1))


@rule("var_mean")
class VarMean(Var):
    """(var or std, mean): one gradient per output; std == 0 gives 0, as PyTorch."""

    @staticmethod
    def save(ctx, out, x, *args, **kwargs):
        Var.save(ctx, out[0], x, *args, **kwargs)
        ctx.count = x._numel // max(out[1]._numel, 1)

    @staticmethod
    def backward(ctx, g, g_mean):
        x, out = ctx.saved_tensors
        keep = (lambda t: _keep(t, x._shape, ctx.dim, ctx.keepdim))
        g = keep(g)
        if ctx.root:
            std = keep(out)
            g = _where(std == 0, 0.0, g / (2 * _where(std == 0, 1.0, std)))
        scale = 2.0 / ctx.dof if ctx.dof else math.inf
        return g * (x - x.mean(ctx.dim, keepdim=True)) * scale + keep(g_mean) / ctx.count


RULES["std_mean"] = type("StdMean", (VarMean,), {"__module__": __name__})


# -- the matmul family ---------------------------------------------------------------------
@rule("bmm")
class Bmm(_Saving):
    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _needed(ctx, lambda: g.bmm(b.transpose(1, 2)), lambda: a.transpose(1, 2).bmm(g))


@rule("mv")
class Mv(_Saving):
    @staticmethod
    def backward(ctx, g):
        a, v = ctx.saved_tensors
        return _needed(ctx, lambda: g.outer(v), lambda: a.t().mv(g))


@rule("dot")
class Dot(_Saving):
    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _needed(ctx, lambda: g * b, lambda: g * a)


@rule("outer")
class Outer(_Saving):
    _node_name = "MulBackward0"           # PyTorch's outer is a broadcast mul

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _needed(ctx, lambda: g.mv(_as(b, g)), lambda: g.t().mv(_as(a, g)))


def _as(t, like):
    return t if t.dtype is like.dtype else t.to(like.dtype)


@rule("addmm")
class Addmm(Rule):
    """beta * input + alpha * (a @ b), for matrices (addmm) and batches (baddbmm)."""

    @staticmethod
    def save(ctx, out, c, a, b, *, beta=1, alpha=1, **_):
        ctx.beta, ctx.alpha = beta, alpha
        ctx.save_for_backward(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _needed(ctx, lambda: _scale(g, ctx.beta),
                       lambda: _scale(g.matmul(b.transpose(-1, -2)), ctx.alpha),
                       lambda: _scale(mat2_grad(a, g, b), ctx.alpha))


RULES["baddbmm"] = type("Baddbmm", (Addmm,), {"__module__": __name__})


@rule("einsum")
class Einsum(Rule):
    """Each operand's gradient is the einsum of the output gradient with the other
    operands; its subscripts that appear nowhere else were summed out: broadcast back."""

    @classmethod
    def call(cls, raw, args, kwargs):
        """einsum(equation, [a, b]) is recorded as einsum(equation, a, b)."""
        if len(args) == 2 and isinstance(args[1], (list, tuple)):
            args = (args[0], *args[1])
        return super().call(raw, args, kwargs)

    @staticmethod
    def save(ctx, out, equation, *operands):
        ctx.terms, ctx.rhs = _parse(equation, operands)
        ctx.save_for_backward(*operands)

    @staticmethod
    def backward(ctx, g):
        operands = ctx.saved_tensors
        grads = [None]
        for k, (x, term) in enumerate(zip(operands, ctx.terms)):
            if not ctx.needs_input_grad[k + 1]:
                grads.append(None)
                continue
            others = [i for i in range(len(operands)) if i != k]
            known = ctx.rhs + "".join(ctx.terms[i] for i in others)
            kept = "".join(c for c in term if c in known)
            equation = ",".join([ctx.rhs] + [ctx.terms[i] for i in others]) + "->" + kept
            grad = _api["einsum"](equation, g, *[operands[i] for i in others])
            for i, c in enumerate(term):
                if c not in kept:
                    grad = grad.unsqueeze(i)
            grads.append(grad.expand(*broadcast_shapes(grad._shape, x._shape)))
        return tuple(grads)
