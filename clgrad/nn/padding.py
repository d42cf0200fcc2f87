"""F.pad: constant padding (negative widths crop) and reflect / replicate / circular padding
of the last 1-3 dims, as torch.nn.functional.pad.

Constant padding fills a new tensor and copies the input into it (two launches; autograd
records the copy); the other modes gather each padded dim once with a host-built index
(index_select, whose gradient adds back into the source positions).
"""
from __future__ import annotations

import numpy as np

import clgrad

from ..tensor import Tensor
from ..tensor.indexing import mark_valid
from .windows import host_constant

_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last len(pad) // 2 dims of `input`: pad = (left of the last dim, right of the
    last dim, left of the one before, ...)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"pad(): argument 'input' must be Tensor, not {type(input).__name__}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError(f"Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pad)} and input of "
                           f"dimension {input.dim()}")
    if mode not in _MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    pairs = [(input.dim() - 1 - k, pad[2 * k], pad[2 * k + 1]) for k in range(len(pad) // 2)]
    if mode == "constant":
        return _constant(input, pairs, 0 if value is None else value)
    if value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument.")
    _check_non_constant(input, len(pad))
    out = input
    for d, before, after in pairs:
        _check_width(input, d, before, after, mode, pad)
        out = out.index_select(d, _index(out.device, mode, out.shape[d], before, after))
    return out


def _constant(input: Tensor, pairs, value) -> Tensor:
    shape = list(input.shape)
    src, dst = [slice(None)] * input.dim(), [slice(None)] * input.dim()
    for d, before, after in pairs:
        size = shape[d] + before + after
        if size < 0 or (shape[d] + min(before, 0) + min(after, 0)) < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        src[d] = slice(max(-before, 0), shape[d] - max(-after, 0))
        dst[d] = slice(max(before, 0), size - max(after, 0))
        shape[d] = size
    out = clgrad.full(shape, value, dtype=input.dtype, device=input.device)
    out[tuple(dst)] = input[tuple(src)]
    return out


def _check_non_constant(input: Tensor, length: int) -> None:
    dims = {2: (2, 3), 4: (3, 4), 6: (4, 5)}.get(length)
    if dims is None or input.dim() not in dims:
        raise NotImplementedError(
            f"Padding size {length} is not supported for {input.dim()}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def _check_width(input: Tensor, d: int, before: int, after: int, mode: str, pad) -> None:
    size = input.shape[d]
    if mode == "reflect" and (before >= size or after >= size):
        raise RuntimeError(f"Argument #{2 + len(pad)}: Padding size should be less than the "
                           f"corresponding input dimension, but got: padding ({before}, "
                           f"{after}) at dimension {d} of input {list(input.shape)}")
    if mode == "circular" and (before > size or after > size):
        raise RuntimeError("Padding value causes wrapping around more than once.")
    if mode == "replicate" and size == 0:
        raise RuntimeError(f"Expected the padded dimension {d} of input {list(input.shape)} to "
                           "be non-empty")
    if size + min(before, 0) + min(after, 0) <= 0 or size + before + after <= 0:
        raise RuntimeError(f"input tensor {list(input.shape)} with padding {list(pad)} leaves "
                           f"nothing of dimension {d} (size {size}) to pad from")
    if input.dtype.name == "bool":
        raise NotImplementedError(f'"{mode}_pad" not implemented for \'Bool\'')


def _index(device, mode: str, size: int, before: int, after: int) -> Tensor:
    """Which input position each output position of one padded dim reads."""
    def make():
        at = np.arange(-before, size + after)
        if mode == "reflect":
            at = np.abs(at)
            at = np.where(at >= size, 2 * (size - 1) - at, at)
        elif mode == "replicate":
            at = np.clip(at, 0, size - 1)
        else:                   # PyTorch crops first, then wraps within what is left
            low = max(-before, 0)
            at = low + (at - low) % (size - low - max(-after, 0))
        index = clgrad.tensor(at.astype(np.int64), device=device)
        mark_valid(index, size)     # built here, never written: index_select need not check
        return index
    return host_constant(("pad", device, mode, size, before, after), make)
