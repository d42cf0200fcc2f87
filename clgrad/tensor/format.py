"""Text formatting of tensors, matching PyTorch's ``repr(tensor)`` layout.

This module is pure Python + NumPy.  It reproduces the way PyTorch renders a
tensor (``tensor([...], dtype=..., ...)``): choice of integer / fixed / scientific
notation, precision, summarization with ``...``, line wrapping at ``linewidth``,
indentation of nested dimensions and the placement of trailing ``key=value``
suffixes.  Dtypes are printed as ``clgrad.<name>`` instead of ``torch.<name>``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["format_tensor", "get_printoptions", "set_printoptions"]

_DEFAULT_FLOAT_DTYPE = "float32"
_FLOAT_DTYPES = frozenset({"float16", "float32", "float64"})
_INT_DTYPES = frozenset({"uint8", "int8", "int16", "int32", "int64"})
_ALL_DTYPES = _FLOAT_DTYPES | _INT_DTYPES | {"bool"}
# Dtypes that are never spelled out for a non-empty tensor.
_IMPLICIT_DTYPES = frozenset({_DEFAULT_FLOAT_DTYPE, "int64", "bool"})

_PREFIX = "tensor("

_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


_OPTIONS = _PrintOptions()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None) -> None:
    """Set the global print options, with the semantics of ``torch.set_printoptions``.

    ``profile`` ("default", "short" or "full") is applied first, then any explicit
    option overrides it.  Unknown profiles are ignored.  ``sci_mode`` is always
    assigned, so omitting it resets it to ``None`` (automatic choice).
    """
    for name, value in _PROFILES.get(profile, {}).items():
        setattr(_OPTIONS, name, value)
    explicit = {"precision": precision, "threshold": threshold,
                "edgeitems": edgeitems, "linewidth": linewidth}
    for name, value in explicit.items():
        if value is not None:
            setattr(_OPTIONS, name, value)
    _OPTIONS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """Return the current print options as a dict usable as ``set_printoptions(**d)``."""
    return dataclasses.asdict(_OPTIONS)


class _ElementFormatter:
    """Formats single elements with a common width, like PyTorch's formatter."""

    def __init__(self, sample: np.ndarray, is_float: bool, opts: _PrintOptions) -> None:
        self.is_float = is_float
        self.precision = opts.precision
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        if is_float:
            self._inspect_floats(sample, opts.sci_mode)
        else:
            lengths = [len(str(value)) for value in sample.ravel().tolist()]
            self.width = max([1] + lengths)

    def _inspect_floats(self, sample: np.ndarray, sci_option: bool | None) -> None:
        values = sample.astype(np.float64).ravel()
        values = values[np.isfinite(values) & (values != 0)]
        if values.size == 0:
            return
        magnitudes = np.abs(values)
        smallest = float(magnitudes.min())
        largest = float(magnitudes.max())
        self.int_mode = bool(np.all(values == np.ceil(values)))
        if sci_option is None:
            self.sci_mode = (largest / smallest > 1000.0 or largest > 1.0e8
                             or smallest < 1.0e-4)
        else:
            self.sci_mode = sci_option
        self.width = max([1] + [self._width_of(value) for value in values.tolist()])

    def _width_of(self, value: float) -> int:
        if self.sci_mode:
            return len(f"{value:.{self.precision}e}")
        if self.int_mode:
            return len(f"{value:.0f}") + 1
        return len(f"{value:.{self.precision}f}")

    def format(self, value: Any) -> str:
        """Render one Python scalar, right-aligned to the common width."""
        if not self.is_float:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.width}.{self.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}"
            if not (math.isinf(value) or math.isnan(value)):
                text += "."
        else:
            text = f"{value:.{self.precision}f}"
        return text.rjust(self.width)


def _edge_indices(size: int, edgeitems: int) -> list[int]:
    return list(range(edgeitems)) + list(range(size - edgeitems, size))


def _summarized_sample(arr: np.ndarray, edgeitems: int) -> np.ndarray:
    """Keep only the elements that a summarized print shows."""
    if arr.ndim == 0:
        return arr
    if not edgeitems:
        # PyTorch keeps the whole vector for 1-d input (``t[-0:]`` is ``t``).
        return arr if arr.ndim == 1 else arr[(slice(0, 0),) * arr.ndim]
    for axis, size in enumerate(arr.shape):
        if size > 2 * edgeitems:
            arr = np.take(arr, _edge_indices(size, edgeitems), axis=axis)
    return arr


def _vector_str(arr: np.ndarray, indent: int, summarize: bool,
                fmt: _ElementFormatter, opts: _PrintOptions) -> str:
    edge = opts.edgeitems
    per_line = max(1, math.floor((opts.linewidth - indent) / (fmt.width + 2)))
    if summarize and not edge:
        items = ["..."]
    elif summarize and arr.shape[0] > 2 * edge:
        items = ([fmt.format(v) for v in arr[:edge].tolist()] + [" ..."]
                 + [fmt.format(v) for v in arr[-edge:].tolist()])
    else:
        items = [fmt.format(v) for v in arr.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(arr: np.ndarray, indent: int, summarize: bool,
                fmt: _ElementFormatter, opts: _PrintOptions) -> str:
    if arr.ndim == 0:
        return fmt.format(arr.item())
    if arr.ndim == 1:
        return _vector_str(arr, indent, summarize, fmt, opts)
    size, edge = arr.shape[0], opts.edgeitems

    def sub(i: int) -> str:
        return _nested_str(arr[i], indent + 1, summarize, fmt, opts)

    if summarize and size > 2 * edge:
        parts = ([sub(i) for i in range(edge)] + ["..."]
                 + [sub(i) for i in range(size - edge, size)])
    else:
        parts = [sub(i) for i in range(size)]
    separator = "," + "\n" * (arr.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(parts) + "]"


def _body_str(arr: np.ndarray, dtype: str, indent: int, opts: _PrintOptions) -> str:
    summarize = arr.size > opts.threshold
    sample = _summarized_sample(arr, opts.edgeitems) if summarize else arr
    fmt = _ElementFormatter(sample, dtype in _FLOAT_DTYPES, opts)
    return _nested_str(arr, indent, summarize, fmt, opts)


def _layout_len(suffix: str) -> int:
    """Length of ``suffix`` as PyTorch sees it, i.e. spelled with ``torch.``.

    Measuring ``clgrad.`` as ``torch.`` keeps line-wrap decisions identical to
    PyTorch's, so the output equals PyTorch's with the module name swapped.
    """
    return len(suffix) - suffix.count("clgrad.") * (len("clgrad.") - len("torch."))


def _add_suffixes(text: str, suffixes: Iterable[str], indent: int, linewidth: int) -> str:
    """Append ``, key=value`` parts, moving a part to a new line if it would overflow."""
    pieces = [text]
    # Same measure as PyTorch: the last line's length plus two.
    line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        suffix_len = _layout_len(suffix)
        if line_len + suffix_len + 2 > linewidth:
            pieces.append(",\n" + " " * indent + suffix)
            line_len = indent + suffix_len
        else:
            pieces.append(", " + suffix)
            line_len += suffix_len + 2
    pieces.append(")")
    return "".join(pieces)


def _shows_device(device: str | None) -> bool:
    return device is not None and device.split(":")[0] != "cpu"


def format_tensor(values: np.ndarray, dtype: str, *, device: str | None = None,
                  suffixes: Iterable[str] = ()) -> str:
    """Format a tensor exactly as PyTorch's ``repr`` would, with ``clgrad.`` dtypes.

    ``values`` holds the tensor's data in its shape (host NumPy array), ``dtype``
    is the clgrad dtype name, ``device`` is None (or "cpu") for the CPU device or
    e.g. "cuda:0", and ``suffixes`` are extra preformatted "key=value" strings
    appended after the device / size / dtype ones.
    """
    if dtype not in _ALL_DTYPES:
        raise ValueError(f"unsupported dtype name: {dtype!r}")
    arr = np.asarray(values).astype(np.dtype(dtype), copy=False)
    opts = dataclasses.replace(_OPTIONS)
    indent = len(_PREFIX)
    extra = [f"device='{device}'"] if _shows_device(device) else []
    if arr.size == 0:
        body = "[]"
        if arr.ndim != 1:
            extra.append(f"size={tuple(arr.shape)}")
        if dtype != _DEFAULT_FLOAT_DTYPE:
            extra.append(f"dtype=clgrad.{dtype}")
    else:
        if not opts.edgeitems:
            extra.append(f"size={tuple(arr.shape)}")
        if dtype not in _IMPLICIT_DTYPES:
            extra.append(f"dtype=clgrad.{dtype}")
        body = _body_str(arr, dtype, indent, opts)
    extra.extend(suffixes)
    return _add_suffixes(_PREFIX + body, extra, indent, opts.linewidth)
