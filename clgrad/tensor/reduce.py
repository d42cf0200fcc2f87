"""Reductions (sum, mean, max, var, norm, logsumexp, softmax, ...), each defined once.

Every reduction is a `reduction.Spec` (combine, accumulator dtype, map/post expressions) run
by the reduce engine; composites (var, logsumexp, softmax) are a reduction whose MAP reads a
per-output value from a first reduction (the mean, the max) plus at most one elementwise
kernel. `install()` builds the functions and Tensor methods from these definitions.
"""
from __future__ import annotations

import math
import numbers
import warnings

from . import dtype as dt
from . import reduction, results
from .elementwise import Op, resize_out, run
from .shape import Size, contiguous_strides, normalize_dim
from .tensor import Tensor

reduction.Tensor = Tensor
Spec = reduction.spec          # memoised: one Spec per distinct reduction


# -- dims and output shapes ---------------------------------------------------------------
def _dims(x: Tensor, dim, empty_is_all: bool = True) -> tuple:
    """Normalised reduced dims; None (or an empty list, except for all/any) means every dim."""
    nd = len(x._shape)
    if dim is None or (empty_is_all and isinstance(dim, (tuple, list)) and not dim):
        return tuple(range(nd))
    if isinstance(dim, (tuple, list)):
        dims = [normalize_dim(d, nd) for d in dim]
        for d in dims:
            if dims.count(d) > 1:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    else:
        dims = [normalize_dim(dim, nd)]
    return tuple(sorted(dims)) if nd else ()


def _finish(x: Tensor, dims: tuple, keepdim: bool, result: Tensor) -> Tensor:
    if keepdim and dims:
        shape = tuple(1 if d in dims else s for d, s in enumerate(x._shape))
        if result._contig:           # a fresh result: the same storage under its kept dims
            return Tensor._make(result._storage, Size(shape), contiguous_strides(shape),
                                result._offset, result.dtype)
        return result.view(shape)
    return result


def _check_keepdim(keepdim) -> None:
    if not isinstance(keepdim, bool):
        raise TypeError(f"argument 'keepdim' must be bool, not {type(keepdim).__name__}")


def _nonempty(x: Tensor, dims: tuple, name: str, dim_given: bool) -> None:
    """max/min/arg*: an empty reduction has no value (PyTorch raises)."""
    if not x._numel:
        if not dim_given and name.startswith("arg"):
            raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                             "input.numel() == 0.")
        if not dim_given:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' "
                               "argument.")
        for d in dims:
            if x._shape[d] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero "
                                 "size.")


_SAME_DTYPE = ("Expected the dtype for input and out to match, but got {res} for input's dtype "
               "and {out} for out's dtype.")
_OUT_DTYPE = "Expected out tensor to have dtype {res}, but got {out} instead"


def _out(result: Tensor, out, exact: str | None = None):
    """Write `result` into a user's out= tensor (resized as PyTorch does).

    `exact`: the message when out's dtype must equal the result's; otherwise out may be of
    any dtype the result casts to without leaving its category (PyTorch's can_cast)."""
    if out is None:
        return result
    names = {"res": dt.torch_name(result.dtype), "out": dt.torch_name(out.dtype)}
    if exact is not None and out.dtype is not result.dtype:
        raise RuntimeError(exact.format(**names))
    if not dt.can_cast(result.dtype, out.dtype):
        raise RuntimeError("result type {res} can't be cast to the desired output type "
                           "{out}".format(**names))
    if out._shape != result._shape:
        resize_out(out, result._shape, stacklevel=4)
    return out.copy_(result)


def _simple(x, dim, keepdim, spec, aux=None, empty_is_all=True):
    dims = _dims(x, dim, empty_is_all)
    values, _ = reduction.reduce(x, dims, spec, aux)
    return _finish(x, dims, keepdim, values)


# -- sums ---------------------------------------------------------------------------------
def _sum_types(x: Tensor, dtype):
    """(compute, out) dtypes: integer and bool sums accumulate in int64, as PyTorch; an out=
    tensor's dtype acts as `dtype` (each element is cast to it first)."""
    if dtype is not None:
        return dtype, dtype
    if x.dtype.category != dt.FLOAT:
        return dt.int64, dt.int64
    return x.dtype, x.dtype


def _acc(d: dt.dtype) -> dt.dtype:
    return dt.float32 if d is dt.float16 else d


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """Sum over `dim` (int, tuple or None for all); float sums are compensated (Kahan)."""
    _check_keepdim(keepdim)
    ct, res = _sum_types(input, dtype if out is None or dtype else out.dtype)
    spec = Spec("sum", ct, _acc(ct), res, kahan=True)
    return _out(_simple(input, dim, keepdim, spec), out)


def sum_dims(x: Tensor, dims: tuple) -> Tensor:
    """x summed over `dims` (sorted, normalised; x floating): the output has the kept dims
    only. No argument handling: autograd's broadcast reduction calls it per backward."""
    spec = Spec("sum", x.dtype, _acc(x.dtype), x.dtype, kahan=True)
    return reduction.reduce(x, dims, spec)[0]


def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """Product over `dim` (one int, or None for all)."""
    if isinstance(dim, (tuple, list)):
        raise TypeError("prod(): argument 'dim' must be int, not "
                        f"{type(dim).__name__}")
    _check_keepdim(keepdim)
    ct, res = _sum_types(input, dtype if out is None or dtype else out.dtype)
    return _out(_simple(input, dim, keepdim, Spec("prod", ct, _acc(ct), res)), out)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """Mean over `dim`; needs a floating input or a floating `dtype`."""
    _check_keepdim(keepdim)
    if dtype is None and out is not None and out.dtype.category == dt.FLOAT:
        dtype = out.dtype
    res = dtype or input.dtype
    if res.category != dt.FLOAT:
        which = "Optional dtype" if dtype is not None else "Input dtype"
        raise RuntimeError(f"mean(): could not infer output dtype. {which} must be either a "
                           f"floating point or complex dtype. Got: {dt.torch_name(res)}")
    dims = _dims(input, dim)
    spec = Spec("sum", res, _acc(res), res, post="r / count", kahan=True,
                count=_count(input, dims))
    values, _ = reduction.reduce(input, dims, spec)
    return _out(_finish(input, dims, keepdim, values), out)


def _count(x: Tensor, dims: tuple) -> int:
    n = 1
    for d in dims:
        n *= x._shape[d]
    return n




# -- extremes -----------------------------------------------------------------------------
def _extreme_spec(x: Tensor, combine: str) -> Spec:
    return Spec(combine, x.dtype, _acc(x.dtype), x.dtype)


def amax(input: Tensor, dim=(), keepdim: bool = False, *, out=None) -> Tensor:
    """Largest element over `dim` (all dims by default); NaN propagates."""
    return _amaxmin(input, dim, keepdim, "max", out)


def amin(input: Tensor, dim=(), keepdim: bool = False, *, out=None) -> Tensor:
    """Smallest element over `dim` (all dims by default); NaN propagates."""
    return _amaxmin(input, dim, keepdim, "min", out)


def _amaxmin(x, dim, keepdim, combine, out):
    _check_keepdim(keepdim)
    dims = _dims(x, dim)
    _nonempty(x, dims, "a" + combine, bool(dim) or dim == 0)
    values = reduction.reduce(x, dims, _extreme_spec(x, combine))[0]
    return _out(_finish(x, dims, keepdim, values), out, _SAME_DTYPE)


def _arg(x: Tensor, dim, keepdim, combine: str):
    """(values, indices) of the largest/smallest element along one dim, or over all."""
    name = combine
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{name}(): argument 'dim' must be int, not {type(dim).__name__}")
    if x.dtype is dt.bool_ and combine.startswith("arg"):
        raise RuntimeError(f"{combine}(): does not support bool input")
    dims = _dims(x, dim)
    _nonempty(x, dims, name, dim is not None)
    plain = combine.removeprefix("arg")
    spec = Spec("arg" + plain, x.dtype, _acc(x.dtype), x.dtype)
    values, indices = reduction.reduce(x, dims, spec)
    if dim is None and keepdim:
        shape = (1,) * len(x._shape)
        return values.view(shape), indices.view(shape)
    return _finish(x, dims, keepdim, values), _finish(x, dims, keepdim, indices)


def argmax(input: Tensor, dim=None, keepdim: bool = False, *, out=None) -> Tensor:
    """Index of the first largest element (over the flattened tensor when dim is None)."""
    _check_keepdim(keepdim)
    return _out(_arg(input, dim, keepdim, "argmax")[1], out, _OUT_DTYPE)


def argmin(input: Tensor, dim=None, keepdim: bool = False, *, out=None) -> Tensor:
    """Index of the first smallest element (over the flattened tensor when dim is None)."""
    _check_keepdim(keepdim)
    return _out(_arg(input, dim, keepdim, "argmin")[1], out, _OUT_DTYPE)


def _max_min(name: str, tuple_type, elementwise: str):
    """max / min: whole tensor, along a dim (values, indices), or of two tensors."""
    def function(input, dim=None, keepdim=False, *, out=None):
        if isinstance(dim, Tensor):
            from . import ops
            return run(ops.OPS[elementwise], (input, dim), out)
        if dim is None:
            if keepdim:
                raise TypeError(f"{name}() received an invalid combination of arguments: "
                                "keepdim needs dim")
            dims = _dims(input, None)
            _nonempty(input, dims, name, False)
            return _out(reduction.reduce(input, dims, _extreme_spec(input, name))[0], out)
        if not isinstance(dim, numbers.Integral):
            raise TypeError(f"{name}(): argument 'dim' must be int, not {type(dim).__name__}")
        _check_keepdim(keepdim)
        values, indices = _arg(input, dim, keepdim, name)
        result = tuple_type(values, indices)
        if out is not None:
            _out(values, out[0], _SAME_DTYPE)
            _out(indices, out[1], _OUT_DTYPE)
            return tuple_type(*out)
        return result
    function.__name__ = name
    function.__doc__ = (f"{name}(input): the {name} element; {name}(input, dim, keepdim) -> "
                        f"(values, indices); {name}(input, other): elementwise "
                        f"{elementwise}.")
    return function


max = _max_min("max", results.max, "maximum")
min = _max_min("min", results.min, "minimum")


# -- logic --------------------------------------------------------------------------------
def _logic(name: str, combine: str):
    def function(input, dim=None, keepdim=False, *, out=None):
        _check_keepdim(keepdim)
        res = dt.uint8 if input.dtype is dt.uint8 else dt.bool_
        if out is not None and out.dtype not in (dt.bool_, dt.uint8):
            raise RuntimeError(f"{name} only supports bool tensor for result, got: "
                               f"{dt.torch_name(out.dtype)}")
        spec = Spec(combine, input.dtype, dt.uint8, res, map="x != 0")
        return _out(_simple(input, dim, keepdim, spec, empty_is_all=False), out)
    function.__name__ = name
    function.__doc__ = f"Whether {name} elements over `dim` are nonzero (bool result)."
    return function


all = _logic("all", "and")
any = _logic("any", "or")


# -- statistics ---------------------------------------------------------------------------
def _var_args(name, dim, unbiased, correction, keepdim):
    """PyTorch's overloads: var(x, unbiased), var(x, dim, unbiased, keepdim),
    var(x, dim, *, correction, keepdim)."""
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{name}: can't specify both unbiased and correction")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    _check_keepdim(keepdim)
    return dim, correction


def _var(name, input, dim, unbiased, keepdim, correction, root):
    dim, correction = _var_args(name, dim, unbiased, correction, keepdim)
    if input.dtype.category != dt.FLOAT:
        raise RuntimeError("std and var only support floating point and complex dtypes")
    dims = _dims(input, dim)
    n = _count(input, dims)
    ct = input.dtype
    mean_spec = Spec("sum", ct, _acc(ct), _acc(ct), post="r / count", kahan=True, count=n)
    mean_values, _ = reduction.reduce(input, dims, mean_spec)
    dof = n - correction
    if dof <= 0:
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly "
                      "less than the reduction factor (input numel divided by output numel).",
                      UserWarning, stacklevel=3)
    post = "sqrt(r / count)" if root else "r / count"
    spec = Spec("sum", ct, _acc(ct), ct, map="(x - aux) * (x - aux)", post=post, kahan=True,
                count=dof if dof > 0 else 0)  # noqa: FURB136 (max is shadowed)
    values, _ = reduction.reduce(input, dims, spec, aux=mean_values)
    mean_out = mean_values if ct is _acc(ct) else mean_values.to(ct)
    return _finish(input, dims, keepdim, values), _finish(input, dims, keepdim, mean_out)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    """Variance over `dim` with Bessel's `correction` (1 unless unbiased=False)."""
    return _out(_var("var", input, dim, unbiased, keepdim, correction, False)[0], out)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    """Standard deviation over `dim` with Bessel's `correction`."""
    return _out(_var("std", input, dim, unbiased, keepdim, correction, True)[0], out)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var, mean) over `dim` in one call."""
    return _var("var_mean", input, dim, unbiased, keepdim, correction, False)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean) over `dim` in one call."""
    return _var("std_mean", input, dim, unbiased, keepdim, correction, True)


def norm(input, p="fro", dim=None, keepdim=False, *, dtype=None, out=None):
    """Vector p-norm over `dim` (p = 2/'fro', 1, inf, -inf, 0 or any float)."""
    _check_keepdim(keepdim)
    x = input if dtype is None else input.to(dtype)
    if x.dtype.category != dt.FLOAT:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor "
                           f"as input. Got {dt.torch_name(x.dtype)}")
    if p == "nuc":
        raise NotImplementedError("norm(p='nuc') (the nuclear norm, which needs an SVD) is "
                                  "not implemented")
    if p == "fro":
        p = 2
    if not isinstance(p, numbers.Real):
        raise RuntimeError(f"norm(): unsupported p={p!r}")  # noqa: TRY004 (PyTorch's type)
    ct, acc = x.dtype, _acc(x.dtype)
    if math.isinf(p):
        dims = _dims(x, dim)
        combine = "max" if p > 0 else "min"
        if p < 0 or x._numel == 0:
            _nonempty(x, dims, "linalg.vector_norm", True)
        spec = Spec(combine, ct, acc, ct, map="fabs(x)")
    elif p == 0:
        spec = Spec("sum", ct, acc, ct, map="(x != 0)")
    elif p == 1:
        spec = Spec("sum", ct, acc, ct, map="fabs(x)", kahan=True)
    elif p == 2:
        spec = Spec("sum", ct, acc, ct, map="x * x", post="sqrt(r)", kahan=True)
    else:
        spec = Spec("sum", ct, acc, ct, map=f"pow(fabs(x), ({acc.ctype}){float(p)!r})",
                    post=f"pow(r, ({acc.ctype}){1 / float(p)!r})", kahan=True)
    return _out(_simple(x, dim, keepdim, spec), out, _OUT_DTYPE)


# -- exponentials -------------------------------------------------------------------------
_SAFE = "(isinf(aux) ? 0 : aux)"


def logsumexp(input: Tensor, dim, keepdim: bool = False, *, out=None) -> Tensor:
    """log(sum(exp(x))) over `dim`, shifted by the max so it never overflows."""
    _check_keepdim(keepdim)
    if out is not None and out.dtype.category != dt.FLOAT:
        raise RuntimeError("logsumexp(): Expected floating point type for result tensor, but "
                           f"got: {dt.torch_name(out.dtype)}")
    x = input if input.dtype.category == dt.FLOAT else input.to(dt.get_default_dtype())
    dims = _dims(x, dim)
    if x._numel == 0:
        return _out(_finish(x, dims, keepdim, reduction.reduce(
            x, dims, Spec("sum", x.dtype, _acc(x.dtype), x.dtype, post="log(r)"))[0]), out)
    shift, _ = reduction.reduce(x, dims, Spec("max", x.dtype, _acc(x.dtype), _acc(x.dtype)))
    spec = Spec("sum", x.dtype, _acc(x.dtype), x.dtype, map=f"exp(x - {_SAFE})",
                post=f"log(r) + {_SAFE}", kahan=True)
    values, _ = reduction.reduce(x, dims, spec, aux=shift)
    return _out(_finish(x, dims, keepdim, values), out)


_SOFTMAX = Op("softmax", 3, "float", "exp(a0 - a1) / a2")
_LOG_SOFTMAX = Op("log_softmax", 3, "float", "a0 - a1 - log(a2)")


def _softmax(name: str, op: Op, input: Tensor, dim, dtype) -> Tensor:
    if dim is None:
        raise TypeError(f"{name}() missing required argument 'dim' (PyTorch's implicit dim "
                        "choice is deprecated)")
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise TypeError(f"{name}(): argument 'dim' must be int, not {type(dim).__name__}")
    x = input if dtype is None else input.to(dtype)
    if x.dtype.category != dt.FLOAT:
        raise NotImplementedError(f'"{name}_lastdim_kernel_impl" not implemented for '
                                  f"'{dt.torch_name(x.dtype)}'")
    dims = _dims(x, dim)
    if x._numel == 0:
        return x.clone()
    acc = _acc(x.dtype)
    shift, _ = reduction.reduce(x, dims, Spec("max", x.dtype, acc, acc))
    total, _ = reduction.reduce(x, dims, Spec("sum", x.dtype, acc, acc, map="exp(x - aux)",
                                              kahan=True), aux=shift)
    keep = tuple(1 if d in dims else s for d, s in enumerate(x._shape))
    return run(op, (x, shift.view(keep), total.view(keep)), result_dtype=x.dtype)


def softmax(input: Tensor, dim=None, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim`, computed from x - max."""
    return _softmax("softmax", _SOFTMAX, input, dim, dtype)


def log_softmax(input: Tensor, dim=None, dtype=None) -> Tensor:
    """x - logsumexp(x) along `dim`."""
    return _softmax("log_softmax", _LOG_SOFTMAX, input, dim, dtype)


FUNCTIONS = {f.__name__: f for f in (
    sum, prod, mean, amax, amin, argmax, argmin, max, min, all, any, var, std, var_mean,
    std_mean, norm, logsumexp, softmax, log_softmax)}
_NOT_METHODS = ("var_mean", "std_mean")


def install(namespace: dict) -> None:
    """Define the reductions in `namespace` and as Tensor methods."""
    namespace.update(FUNCTIONS)
    for name, function in FUNCTIONS.items():
        if name not in _NOT_METHODS:
            setattr(Tensor, name, function)
