"""Every elementwise op, defined once; functions, methods, in-place and operators derive from it.

An op is a row of C expressions (float / int / bool inputs) and how its dtype is derived
(see elementwise.Op). `install()` builds `clgrad.<name>(..., out=None)`, `Tensor.<name>`,
`Tensor.<name>_` and the Python operators from these rows.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import dtype as dt
from .elementwise import Op, run
from .tensor import Tensor

_NO_BOOL_SUB = ("Subtraction, the `-` operator, with a bool tensor is not supported. If you "
                "are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
_NO_BOOL_NEG = ("Negation, the `-` operator, on a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
_MAX = "(isnan(a0) || isnan(a1)) ? a0 + a1 : (a0 > a1 ? a0 : a1)"
_NAN_BOUND = "isnan(a1) ? a1 : "
_MIN = "(isnan(a0) || isnan(a1)) ? a0 + a1 : (a0 < a1 ? a0 : a1)"
_CLAMP = "(a0 < a1 ? a1 : a0) > a2 ? a2 : (a0 < a1 ? a1 : a0)"
_SIGN = "(0 < a0) - (a0 < 0)"

# The vector path (elementwise.cl's `vw`) of sin/cos/tan takes only vectors whose lanes are
# all below 1e4 in magnitude, others go element by element: measured on pocl 3.1, its float
# vector sin/cos/tan return ~0.01 for tiny inputs that share a vector with huge ones (with
# every lane below 1e6 they agree with the scalar builtins). fmod stays scalar: pocl's
# double vector fmod hangs on some inputs.
_BOUNDED = "all(fabs(a0) < 1e4f)"
_VECTOR = {"sin": _BOUNDED, "cos": _BOUNDED, "tan": _BOUNDED}

# name, arity, result, float expr, int expr, bool expr, helpers, bool error
_TABLE = [
    Op("add", 2, "same", "a0 + a1", "a0 + a1", "a0 | a1"),
    Op("sub", 2, "same", "a0 - a1", "a0 - a1", bool_error=_NO_BOOL_SUB),
    Op("mul", 2, "same", "a0 * a1", "a0 * a1", "a0 & a1"),
    Op("div", 2, "float", "a0 / a1"),
    Op("div_trunc", 2, "same", "trunc(a0 / a1)", "a1 == 0 ? 0 : (IS_MINUS_ONE(a1) ? -a0 : a0 / a1)"),
    Op("floor_divide", 2, "same", "floordiv_float(a0, a1)", "floordiv_int(a0, a1)",
       helpers=("floordiv_float", "floordiv_int")),
    Op("remainder", 2, "same", "remainder_float(a0, a1)", "remainder_int(a0, a1)",
       helpers=("remainder_float", "remainder_int")),
    Op("fmod", 2, "same", "fmod(a0, a1)", "(a1 == 0 || IS_MINUS_ONE(a1)) ? 0 : a0 % a1"),
    Op("pow", 2, "same", "pow_float(a0, a1)", "pow_int(a0, a1)",
       helpers=("pow_float", "pow_int")),
    Op("atan2", 2, "float", "atan2(a0, a1)", vector=True),
    Op("maximum", 2, "same", _MAX, "a0 > a1 ? a0 : a1", "a0 | a1"),
    Op("minimum", 2, "same", _MIN, "a0 < a1 ? a0 : a1", "a0 & a1"),
    Op("clamp", 3, "same", f"(isnan(a1) || isnan(a2)) ? a1 + a2 : {_CLAMP}", _CLAMP, _CLAMP,
       strict_scalars=True),
    Op("clamp_min", 2, "same", _NAN_BOUND + "(a0 < a1 ? a1 : a0)", "a0 < a1 ? a1 : a0",
       "a0 | a1", strict_scalars=True),
    Op("clamp_max", 2, "same", _NAN_BOUND + "(a0 > a1 ? a1 : a0)", "a0 > a1 ? a1 : a0",
       "a0 & a1", strict_scalars=True),
    Op("where", 3, "same", "a0 != 0 ? a1 : a2", "a0 != 0 ? a1 : a2", "a0 != 0 ? a1 : a2",
       strict_scalars=True),
    Op("addcmul", 4, "same", "a0 + a3 * a1 * a2", "a0 + a3 * a1 * a2"),
    Op("addcdiv", 4, "float", "a0 + a3 * a1 / a2"),
    Op("logical_and", 2, "bool", "a0 && a1", "a0 && a1", "a0 && a1"),
    Op("logical_or", 2, "bool", "a0 || a1", "a0 || a1", "a0 || a1"),
    Op("logical_xor", 2, "bool", "(a0 != 0) != (a1 != 0)", "(a0 != 0) != (a1 != 0)",
       "(a0 != 0) != (a1 != 0)"),
    Op("bitwise_and", 2, "same", None, "a0 & a1", "a0 & a1"),
    Op("bitwise_or", 2, "same", None, "a0 | a1", "a0 | a1"),
    Op("bitwise_xor", 2, "same", None, "a0 ^ a1", "a0 ^ a1"),
    Op("copy", 1, "same", "a0", "a0", "a0", strict_scalars=True),
    Op("neg", 1, "same", "-a0", "-a0", bool_error=_NO_BOOL_NEG),
    Op("abs", 1, "same", "fabs(a0)", "a0 < 0 ? -a0 : a0", "a0"),
    Op("sign", 1, "same", _SIGN, _SIGN, "a0"),
    Op("relu", 1, "same", "a0 < 0 ? 0 : a0", "a0 < 0 ? 0 : a0"),
    Op("floor", 1, "same", "floor(a0)", "a0", "a0"),
    Op("ceil", 1, "same", "ceil(a0)", "a0", "a0"),
    Op("round", 1, "same", "rint(a0)", "a0", "a0"),
    Op("trunc", 1, "same", "trunc(a0)", "a0", "a0"),
    Op("square", 1, "same", "a0 * a0", "a0 * a0", bool_as=dt.int64),   # pow(x, 2): bool -> int64
    Op("logical_not", 1, "bool", "!a0", "!a0", "!a0"),
    Op("bitwise_not", 1, "same", None, "~a0", "!a0"),
    Op("reciprocal", 1, "float", "1 / a0"),
    Op("sigmoid", 1, "float", "1 / (1 + exp(-a0))"),
] + [Op(name, 2, "bool", *[f"a0 {c} a1"] * 3) for name, c in (
    ("eq", "=="), ("ne", "!="), ("lt", "<"), ("le", "<="), ("gt", ">"), ("ge", ">="))
] + [Op(name, 1, "float", f"{name}(a0)", vector=_VECTOR.get(name, True)) for name in (
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos",
    "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "erf")]

OPS = {op.name: op for op in _TABLE}

# Derivative formulas that autograd runs as one launch when a backward is not itself being
# recorded (not public: autograd/ops.py uses the composite form under create_graph).
GRADS = {op.name: op for op in (
    Op("pow_grad", 3, "float", "a2 == 0 ? 0 : a0 * a2 * pow_float(a1, a2 - 1)",
       helpers=("pow_float",)),
    Op("relu_grad", 2, "same", "a1 > 0 ? a0 : 0"),
    Op("tanh_grad", 2, "float", "a0 * (1 - a1 * a1)"),
    Op("sigmoid_grad", 2, "float", "a0 * a1 * (1 - a1)"),
)}


def grad_op(name: str, *operands) -> Tensor:
    """Run the derivative formula GRADS[name] on `operands` (gradient first)."""
    return run(GRADS[name], operands)
copy = OPS["copy"]
NUMBER = (Tensor, numbers.Number, np.number, np.bool_)
_INT_ZERO_CHECK = ("floor_divide", "remainder", "fmod", "div_trunc")

ALIASES = {"subtract": "sub", "multiply": "mul", "divide": "div", "true_divide": "div",
           "negative": "neg", "absolute": "abs", "greater": "gt", "greater_equal": "ge",
           "less": "lt", "less_equal": "le", "not_equal": "ne", "clip": "clamp",
           "arctan2": "atan2"}
_OPERATORS = {  # op: (operator, reflected operator, in-place operator)
    "add": ("__add__", "__radd__", "__iadd__"), "sub": ("__sub__", "__rsub__", "__isub__"),
    "mul": ("__mul__", "__rmul__", "__imul__"), "div": ("__truediv__", "__rtruediv__",
                                                        "__itruediv__"),
    "floor_divide": ("__floordiv__", "__rfloordiv__", "__ifloordiv__"),
    "remainder": ("__mod__", "__rmod__", "__imod__"), "pow": ("__pow__", "__rpow__", "__ipow__"),
    "bitwise_and": ("__and__", "__rand__", "__iand__"),
    "bitwise_or": ("__or__", "__ror__", "__ior__"),
    "bitwise_xor": ("__xor__", "__rxor__", "__ixor__"),
    "eq": ("__eq__", None, None), "ne": ("__ne__", None, None), "lt": ("__lt__", None, None),
    "le": ("__le__", None, None), "gt": ("__gt__", None, None), "ge": ("__ge__", None, None),
}


_BOOL_SUB_BOTH = ("Subtraction, the `-` operator, with two bool tensors is not supported. Use "
                  "the `^` or `logical_xor()` operator instead.")


def _check_args(op: Op, args) -> None:
    """Value checks PyTorch makes before launching (zero divisors, negative powers, bools)."""
    if op.name == "sub":
        bools = [isinstance(x, bool) or (isinstance(x, Tensor) and x.dtype is dt.bool_)
                 for x in args]
        if all(bools):
            raise RuntimeError(_BOOL_SUB_BOTH)
        if any(bools):
            raise RuntimeError(_NO_BOOL_SUB)
    if op.name in _INT_ZERO_CHECK or op.name == "pow":
        a, b = args
        if isinstance(a, Tensor) and not isinstance(b, Tensor) and \
                a.dtype.category != dt.FLOAT and not isinstance(b, float):
            if op.name == "pow" and b < 0:
                raise RuntimeError("Integers to negative integer powers are not allowed.")
            if op.name != "pow" and b == 0:
                raise RuntimeError("ZeroDivisionError")
        if op.name != "pow" and isinstance(b, Tensor) and _int_result(args) and _has_zero(b):
            raise RuntimeError("ZeroDivisionError")
    if not any(isinstance(x, Tensor) for x in args):
        raise TypeError(f"{op.name}(): expected at least one Tensor argument, got "
                        f"{', '.join(type(x).__name__ for x in args)}")


def _int_result(args) -> bool:
    """Whether a division runs in an integer type (bool / bool is an error raised later)."""
    categories = {dt.FLOAT if isinstance(x, (float, np.floating)) else
                  dt.BOOL if isinstance(x, (bool, np.bool_)) else
                  x.dtype.category if isinstance(x, Tensor) else dt.INT for x in args}
    return dt.FLOAT not in categories and categories != {dt.BOOL}


def _has_zero(divisor: Tensor) -> bool:
    """Whether an integer divisor holds a zero (one reduction and a read, as PyTorch checks)."""
    from .reduce import all as all_nonzero
    return divisor._numel > 0 and not all_nonzero(divisor).item()


_CHECKED = frozenset(OPS[name] for name in _INT_ZERO_CHECK + ("pow", "sub"))


def _apply(op: Op, args, out=None):
    if op in _CHECKED or not isinstance(args[0], Tensor):
        _check_args(op, args)
    return run(op, args, out)


def _function(op: Op):
    def function(*args, out=None):
        if len(args) != op.arity:
            raise TypeError(f"{op.name}() takes {op.arity} positional argument(s) but "
                            f"{len(args)} were given")
        return _apply(op, args, out)
    function.__name__ = function.__qualname__ = op.name
    function.__doc__ = f"Elementwise {op.name} with broadcasting and type promotion " \
                      f"(like torch.{op.name}); `out=` writes into an existing tensor."
    return function


def _method(op: Op):
    def method(self, *args):
        return _apply(op, (self,) + args)
    method.__name__ = op.name
    return method


def _inplace(op: Op):
    def method(self, *args):
        return _apply(op, (self,) + args, out=self)
    method.__name__ = op.name + "_"
    return method


def _operator(op: Op, reflected: bool = False):
    if reflected:
        def method(self, other):
            if not isinstance(other, NUMBER):
                return NotImplemented
            return _apply(op, (other, self))
    else:
        def method(self, other):
            if not isinstance(other, NUMBER):
                return NotImplemented
            return _apply(op, (self, other))
    return method


def _invert(self):
    if self.dtype.is_floating_point:
        raise TypeError(f"~ (operator.invert) is only implemented on integer and Boolean-type "
                        f"tensors, not on {self.dtype.name}")
    return run(OPS["bitwise_not"], (self,))


def install(namespace: dict) -> None:
    """Define the functions in `namespace` and the methods/operators on Tensor."""
    for op in _TABLE:
        if op.name in ("copy", "div_trunc", "clamp_min", "clamp_max", "clamp", "where",
                       "addcmul", "addcdiv"):
            continue
        namespace[op.name] = _function(op)
        setattr(Tensor, op.name, _method(op))
        setattr(Tensor, op.name + "_", _inplace(op))
    for name, (forward, reflected, inplace) in _OPERATORS.items():
        op = OPS[name]
        setattr(Tensor, forward, _operator(op))
        if reflected:
            setattr(Tensor, reflected, _operator(op, reflected=True))
            setattr(Tensor, inplace, _inplace(op))
    for alias, name in ALIASES.items():
        if name in namespace:
            namespace[alias] = namespace[name]
            setattr(Tensor, alias, getattr(Tensor, name))
            setattr(Tensor, alias + "_", getattr(Tensor, name + "_"))
    Tensor.__neg__ = _method(OPS["neg"])
    Tensor.__abs__ = _method(OPS["abs"])
    Tensor.__invert__ = _invert
    Tensor.__pos__ = lambda self: self


# -- ops with extra arguments, written in terms of the rows above ---------------------------
def _check_alpha(input, other, alpha) -> None:
    if isinstance(alpha, float) and all(
            not isinstance(x, Tensor) or x.dtype.category != dt.FLOAT for x in (input, other)):
        raise RuntimeError(f"For integral input tensors, argument alpha must not be a floating "
                           f"point number (got alpha={alpha})")


def add(input, other, *, alpha=1, out=None):
    """input + alpha * other."""
    if alpha != 1:
        _check_alpha(input, other, alpha)
    return _apply(OPS["add"], (input, other if alpha == 1 else other * alpha), out)


def sub(input, other, *, alpha=1, out=None):
    """input - alpha * other."""
    if alpha != 1:
        _check_alpha(input, other, alpha)
    return _apply(OPS["sub"], (input, other if alpha == 1 else other * alpha), out)


def div(input, other, *, rounding_mode=None, out=None):
    """True division, or rounded with rounding_mode='trunc' / 'floor'."""
    names = {None: "div", "trunc": "div_trunc", "floor": "floor_divide"}
    if rounding_mode not in names:
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                         f"but found '{rounding_mode}'")
    return _apply(OPS[names[rounding_mode]], (input, other), out)


def clamp(input, min=None, max=None, *, out=None):
    """Clamp into [min, max]; either bound may be None, a number or a tensor."""
    if min is None and max is None:
        raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
    if max is None:
        return _apply(OPS["clamp_min"], (input, min), out)
    if min is None:
        return _apply(OPS["clamp_max"], (input, max), out)
    return _apply(OPS["clamp"], (input, min, max), out)


def where(condition, input=None, other=None, *, out=None):
    """Elements of `input` where `condition` is True, else of `other`."""
    if input is None and other is None:
        from .indexing import nonzero  # where(condition) is nonzero(as_tuple=True)
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor) or condition.dtype is not dt.bool_:
        got = condition.dtype.name if isinstance(condition, Tensor) else type(condition).__name__
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got {got}")
    return run(OPS["where"], (condition, input, other), out)


def addcmul(input, tensor1, tensor2, *, value=1, out=None):
    """input + value * tensor1 * tensor2 in one kernel (one pass over memory)."""
    if all(not isinstance(x, Tensor) or x.dtype.category != dt.FLOAT
           for x in (input, tensor1, tensor2)):
        value = int(value)             # value does not promote integer inputs (PyTorch)
    return run(OPS["addcmul"], (input, tensor1, tensor2, value), out)


def addcdiv(input, tensor1, tensor2, *, value=1, out=None):
    """input + value * tensor1 / tensor2 in one kernel; integer inputs are refused."""
    for t in (tensor1, tensor2):
        if isinstance(t, Tensor) and not t.dtype.is_floating_point:
            raise RuntimeError("Integer division with addcdiv is no longer supported; use "
                               "floating-point tensor1 and tensor2 (got "
                               f"{tensor1.dtype.name} and {tensor2.dtype.name})")
    return run(OPS["addcdiv"], (input, tensor1, tensor2, value), out)


def round(input, *, decimals=0, out=None):
    """Round half to even; with `decimals`, at that many decimal places (as PyTorch)."""
    if decimals == 0:
        return _apply(OPS["round"], (input,), out)
    scale = 10.0 ** decimals
    return _apply(OPS["round"], (input * scale,), out).div_(scale)


def clamp_min(input, min, *, out=None):
    return clamp(input, min, None, out=out)


def clamp_max(input, max, *, out=None):
    return clamp(input, None, max, out=out)


EXTRA = {"add": add, "sub": sub, "div": div, "clamp": clamp, "clamp_min": clamp_min,
         "clamp_max": clamp_max, "where": where, "round": round, "addcmul": addcmul,
         "addcdiv": addcdiv}
_CASTS = {"float": dt.float32, "double": dt.float64, "half": dt.float16, "long": dt.int64,
          "int": dt.int32, "short": dt.int16, "char": dt.int8, "byte": dt.uint8,
          "bool": dt.bool_}


def install_extra(namespace: dict) -> None:
    """Functions and methods with extra arguments, plus the casting methods."""
    namespace.update(EXTRA)
    namespace.update(subtract=sub, divide=div, true_divide=div, clip=clamp)
    for name, function in EXTRA.items():
        if name == "where":
            setattr(Tensor, name, lambda self, condition, other: where(condition, self, other))
            continue
        setattr(Tensor, name, _method_of(function))
        setattr(Tensor, name + "_", _inplace_of(function))
    for name in ("clip", "subtract", "divide", "true_divide"):
        setattr(Tensor, name, getattr(Tensor, namespace[name].__name__))
        setattr(Tensor, name + "_", getattr(Tensor, namespace[name].__name__ + "_"))
    for name, target in _CASTS.items():
        setattr(Tensor, name, _cast_method(target))


def _method_of(function):
    def method(self, *args, **kwargs):
        return function(self, *args, **kwargs)
    method.__name__ = function.__name__
    return method


def _inplace_of(function):
    def method(self, *args, **kwargs):
        return function(self, *args, **kwargs, out=self)
    method.__name__ = function.__name__ + "_"
    return method


def _cast_method(target):
    def method(self, memory_format=None):
        return self.to(target)
    method.__name__ = target.name
    return method
