"""dtypes and PyTorch's type-promotion rules (pure Python, no device needed)."""
from __future__ import annotations

import builtins
import math

import numpy as np

BOOL, INT, FLOAT = 0, 1, 2      # categories, ordered as PyTorch promotes across them


class dtype:
    """A tensor element type: its NumPy twin, its OpenCL C storage and compute types."""

    __slots__ = (
        "category",
        "ctype",
        "extension",
        "is_floating_point",
        "is_signed",
        "itemsize",
        "name",
        "np",
        "opmath",
    )

    def __init__(self, name: str, np_type, ctype: str, category: int, opmath: str | None = None,
                 extension: str | None = None):
        self.name = name
        self.np = np.dtype(np_type)
        self.ctype = ctype
        self.opmath = opmath or ctype       # the C type arithmetic runs in
        self.itemsize = self.np.itemsize
        self.category = category
        self.is_floating_point = category == FLOAT
        self.is_signed = name not in ("bool", "uint8")
        self.extension = extension          # OpenCL extension the device must have

    def __repr__(self) -> str:
        return f"clgrad.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))


bool_ = dtype("bool", np.bool_, "uchar", BOOL)
uint8 = dtype("uint8", np.uint8, "uchar", INT)
int8 = dtype("int8", np.int8, "char", INT)
int16 = dtype("int16", np.int16, "short", INT)
int32 = dtype("int32", np.int32, "int", INT)
int64 = dtype("int64", np.int64, "long", INT)
float16 = dtype("float16", np.float16, "half", FLOAT, opmath="float", extension="cl_khr_fp16")
float32 = dtype("float32", np.float32, "float", FLOAT)
float64 = dtype("float64", np.float64, "double", FLOAT, extension="cl_khr_fp64")

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_NAMES = {d.name: d for d in ALL}
_FROM_NP = {d.np: d for d in ALL}
_INT_ORDER = (bool_, uint8, int8, int16, int32, int64)
_FLOAT_RANK = {float16: 0, float32: 1, float64: 2}
_default_float = float32
_type_caches: list = []     # promotion memos that depend on the default float dtype


def register_cache(cache: dict) -> dict:
    """Register a memo to be cleared when the default dtype changes."""
    _type_caches.append(cache)
    return cache


def _by_name(name: str) -> dtype:
    return _NAMES[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The clgrad dtype of a NumPy dtype; TypeError for types clgrad does not have."""
    try:
        return _FROM_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{np.dtype(np_dtype).name}. The only "
            "supported types are: float64, float32, float16, int64, int32, int16, int8, "
            "uint8, and bool.") from None


def check_argument(value, op: str) -> None:
    """TypeError unless `value` (a factory's `dtype=`) is None or a clgrad dtype."""
    if value is not None and not isinstance(value, dtype):
        raise TypeError(f"{op}(): argument 'dtype' must be clgrad.dtype, not "
                        f"{type(value).__name__} ({value!r})")


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d: dtype) -> None:
    global _default_float
    if d not in (float16, float32, float64):
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d
    for cache in _type_caches:
        cache.clear()


def promote_types(a: dtype, b: dtype) -> dtype:
    """PyTorch's promote_types: within ints NumPy's lattice; int with float gives the float."""
    if a is b:
        return a
    if a.category == FLOAT or b.category == FLOAT:
        if a.category != FLOAT:
            return b
        if b.category != FLOAT:
            return a
        return a if _FLOAT_RANK[a] >= _FLOAT_RANK[b] else b
    return _FROM_NP[np.promote_types(a.np, b.np)]


def scalar_dtype(value) -> dtype:
    """The dtype PyTorch gives a Python scalar: bool, int64 or the default float."""
    if isinstance(value, (builtins.bool, np.bool_)):
        return bool_
    if isinstance(value, (int, np.integer)):
        return int64
    if isinstance(value, (float, np.floating)):
        return _default_float
    raise TypeError(f"expected a tensor or a Python number, got {type(value).__name__}")


def _combine(higher: dtype | None, lower: dtype | None) -> dtype | None:
    """PyTorch's category rule: a lower-priority operand only counts in a higher category."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.category == FLOAT:
        return higher
    if higher is bool_ or lower.category == FLOAT:
        return promote_types(higher, lower)
    return higher


def result_type(dims, zero_dims, scalars) -> dtype:
    """torch.result_type over tensors with dims, 0-d tensors and Python scalars (dtypes)."""
    groups = []
    for group in (dims, zero_dims, scalars):
        result = None
        for d in group:
            result = d if result is None else promote_types(result, d)
        groups.append(result)
    return _combine(groups[0], _combine(groups[1], groups[2]))


def can_cast(src: dtype, dst: dtype) -> builtins.bool:
    """PyTorch's can_cast for in-place/out= results: never to a lower category."""
    return src.category <= dst.category


def check_scalar_fits(value, d: dtype) -> None:
    """Raise if `value` overflows `d` (PyTorch's check in clamp, where and fill)."""
    if d is bool_ or isinstance(value, (builtins.bool, np.bool_)):
        return
    if d.category == INT:
        info = np.iinfo(d.np)
        fits = math.isfinite(value) and info.min <= value <= info.max
    else:
        fits = not math.isfinite(value) or abs(value) <= float(np.finfo(d.np).max)
    if not fits:
        raise RuntimeError(f"value {value} cannot be converted to type {d.name} without overflow")


def wrap_int(value: int, d: dtype) -> int:
    """`value` wrapped into integer dtype `d` (two's complement), as C casts do."""
    bits = 8 * d.itemsize
    if d.is_signed:
        return (value + (1 << (bits - 1))) % (1 << bits) - (1 << (bits - 1))
    return value % (1 << bits)


_FLOAT_MAX = {float16: float(np.finfo(np.float16).max),
              float32: float(np.finfo(np.float32).max)}


def to_float(value: float, d: dtype) -> float:
    """`value` for a float kernel argument of `d`: beyond its range it becomes +-inf."""
    limit = _FLOAT_MAX.get(d)
    if limit is not None and abs(value) > limit and math.isfinite(value):
        return math.copysign(math.inf, value)
    return value


_TORCH_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool"}


def torch_name(d: dtype) -> str:
    """The scalar-type name PyTorch's error messages use (Float, Long, ...)."""
    return _TORCH_NAMES[d.name]
