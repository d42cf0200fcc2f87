"""Convolution, pooling and unfold/fold as torch.nn.functional, all written in im2col/col2im.

A convolution is the im2col columns of its input times the weight matrix (one batched matmul
over the groups), a transposed convolution is the weight matrix times the input folded back
with col2im, and a pooling layer reduces im2col's window dim. The 1-d forms are the 2-d ones
over a height of 1. Autograd derives every gradient from those pieces (im2col and col2im are
each other's derivative), so the backward of a convolution is two matmuls and one col2im.
"""
from __future__ import annotations

import operator

import numpy as np

import clgrad

from ..autograd.rules_window import Convolution, col2im, im2col, max_pool
from ..tensor import Tensor
from ..tensor.dtype import torch_name
from ..tensor.window import grid

# Host-built constants, per (device, dtype, geometry): avg-pool divisors, adaptive-pool
# averaging matrices, F.pad's gather indices.
_CONSTANTS: dict = {}


def host_constant(key, make):
    """make()'s result, built once per `key` (the cache is emptied past 256 entries)."""
    found = _CONSTANTS.get(key)
    if found is None:
        if len(_CONSTANTS) > 256:
            _CONSTANTS.clear()
        found = _CONSTANTS[key] = make()
    return found


# -- argument checks ---------------------------------------------------------------------------
def _tuple(value, n: int, name: str, op: str) -> tuple:
    """`value` as an n-tuple of ints (an int, or anything with __index__, repeats), with
    PyTorch's error otherwise."""
    if isinstance(value, str):
        raise TypeError(f"{op}(): argument '{name}' must be tuple of ints, not str")
    if hasattr(value, "__index__"):
        return (operator.index(value),) * n
    value = tuple(operator.index(v) if hasattr(v, "__index__") else v for v in value)
    if len(value) == 1:
        return value * n
    if len(value) != n or not all(isinstance(v, int) for v in value):
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} "
                           f"values to match the {op} dimensions, but got {name}="
                           f"{list(value)}")
    return value


def _batched(input: Tensor, spatial: int, op: str):
    """(input as (N, C, H, W), whether it was unbatched) for a `spatial`-d op."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.dim() not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) "
                           f"input to {op}, but got input of size: {list(input.shape)}")
    unbatched = input.dim() == spatial + 1
    x = input.unsqueeze(0) if unbatched else input
    return (x.unsqueeze(2) if spatial == 1 else x), unbatched


def _result(out: Tensor, spatial: int, unbatched: bool) -> Tensor:
    if spatial == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def _check_geometry(stride, padding, dilation) -> None:
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")


# -- convolution -------------------------------------------------------------------------------
def _conv_padding(padding, size, kernel, dilation, stride, spatial: int, op: str):
    """(padding before, windows) per dim for padding = ints, 'valid' or 'same' (extra 'same'
    padding goes after, where windows past the input read zeros)."""
    if padding == "valid":
        padding = 0
    if padding == "same":
        if any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        _check_geometry(stride, (0,) * spatial, dilation)
        before = tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation))
        return before, tuple(size)
    if isinstance(padding, str):
        raise RuntimeError(f"Invalid padding string: '{padding}'")  # noqa: TRY004 (torch's)
    padding = _tuple(padding, spatial, "padding", "convolution")
    _check_geometry(stride, padding, dilation)
    padded = [s + 2 * p for s, p in zip(size, padding)]
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if any(p < s for p, s in zip(padded, span)):
        raise RuntimeError(f"Calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, span))}). Kernel size can't be greater "
                           "than actual input size")
    return padding, tuple(grid(*a) for a in zip(size, kernel, dilation, padding, stride))


def _check_conv(input: Tensor, x: Tensor, weight: Tensor, bias, groups: int, spatial: int,
                op: str) -> None:
    if not isinstance(weight, Tensor):
        raise TypeError(f"{op}(): argument 'weight' must be Tensor, not "
                        f"{type(weight).__name__}")
    if weight.dim() != spatial + 2:
        raise RuntimeError(f"weight should have at least three dimensions, got weight of size "
                           f"{list(weight.shape)}" if weight.dim() < 3 else
                           f"Expected {weight.dim()}-dimensional input for {weight.dim()}-"
                           f"dimensional weight {list(weight.shape)}, but got {input.dim()}-"
                           f"dimensional input of size {list(input.shape)} instead")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if x.dtype != weight.dtype:
        raise RuntimeError(f"expected scalar type {torch_name(x.dtype)} "
                           f"but found {torch_name(weight.dtype)}")
    if x.device is not weight.device:
        raise RuntimeError(f"Input type and weight type should be on the same device, but got "
                           f"input on {x.device} and weight on {weight.device}")
    if bias is not None and bias.dtype != x.dtype:
        raise RuntimeError(f"Input type ({x.dtype.ctype}) and bias type ({bias.dtype.ctype}) "
                           "should be the same")


def _check_channels(x, weight, bias, groups, out_channels, in_channels) -> None:
    w = list(weight.shape)
    if weight.shape[0] == 0:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least 1 at "
                           f"dimension 0, but got weight of size {w} instead")
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by "
                           f"{groups} at dimension 0, but got weight of size [{w}] instead")
    if x.shape[1] != in_channels:
        raise RuntimeError(f"Given groups={groups}, weight of size {w}, expected input"
                           f"{list(x.shape)} to have {in_channels} channels, but got "
                           f"{x.shape[1]} channels instead")
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != out_channels):
        raise RuntimeError(f"Given weight of size {w}, expected bias to be 1-dimensional with "
                           f"{out_channels} elements, but got bias of size {list(bias.shape)} "
                           "instead")


def _conv(input, weight, bias, stride, padding, dilation, groups, spatial: int) -> Tensor:
    op = f"conv{spatial}d"
    x, unbatched = _batched(input, spatial, op)
    _check_conv(input, x, weight, bias, groups, spatial, op)
    _check_channels(x, weight, bias, groups, weight.shape[0], weight.shape[1] * groups)
    w = weight.unsqueeze(2) if spatial == 1 else weight
    kernel = tuple(w.shape[2:])
    stride = (1,) * (2 - spatial) + _tuple(stride, spatial, "stride", "convolution")
    dilation = (1,) * (2 - spatial) + _tuple(dilation, spatial, "dilation", "convolution")
    if not isinstance(padding, str):
        padding = (0,) * (2 - spatial) + _tuple(padding, spatial, "padding", "convolution")
    padding, blocks = _conv_padding(padding, x.shape[2:], kernel, dilation, stride, 2, op)
    out = Convolution.apply(x, w, bias, stride, padding, dilation, groups, blocks)
    return _result(out, spatial, unbatched)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-d convolution (cross-correlation) of (N, C, L) or (C, L) input."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-d convolution (cross-correlation) of (N, C, H, W) or (C, H, W) input."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2)


def _transposed_size(size, kernel, stride, padding, output_padding, dilation) -> tuple:
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ >= s and op_ >= d:
            raise RuntimeError(
                "output padding must be smaller than either stride or dilation, but got "
                f"output_padding_height: {output_padding[0]} output_padding_width: "
                f"{output_padding[1]} stride_height: {stride[0]} stride_width: {stride[1]} "
                f"dilation_height: {dilation[0]} dilation_width: {dilation[1]}")
    out = tuple((i - 1) * s - 2 * p + d * (k - 1) + o + 1 for i, k, s, p, o, d in
                zip(size, kernel, stride, padding, output_padding, dilation))
    if any(o <= 0 for o in out):
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, size))}). "
                           f"Calculated output size per channel: "
                           f"({' x '.join(map(str, out))}). Output size is too small")
    return out


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation,
                    spatial: int) -> Tensor:
    op = f"conv_transpose{spatial}d"
    if isinstance(padding, str):
        raise TypeError(f"{op}(): argument 'padding' must be tuple of ints, not str")
    x, unbatched = _batched(input, spatial, op)
    _check_conv(input, x, weight, bias, groups, spatial, op)
    _check_channels(x, weight, bias, groups, weight.shape[1] * groups, weight.shape[0])
    w = weight.unsqueeze(2) if spatial == 1 else weight
    lead = (0,) * (2 - spatial)
    geometry = [(1,) * (2 - spatial) + _tuple(stride, spatial, "stride", "convolution"),
                lead + _tuple(padding, spatial, "padding", "convolution"),
                lead + _tuple(output_padding, spatial, "output_padding", "convolution"),
                (1,) * (2 - spatial) + _tuple(dilation, spatial, "dilation", "convolution")]
    stride, padding, output_padding, dilation = geometry
    _check_geometry(stride, padding, dilation)
    kernel = tuple(w.shape[2:])
    size = _transposed_size(x.shape[2:], kernel, stride, padding, output_padding, dilation)
    n, c, h, wd = x.shape
    oc = w.shape[1] * groups
    wt = w.reshape(groups, c // groups, -1).transpose(1, 2)     # (g, OC/g * KK, C/g)
    cols = wt.matmul(x.reshape(n, groups, c // groups, h * wd)).reshape(
        n, oc * kernel[0] * kernel[1], h * wd)
    out = col2im(cols, size, kernel, dilation, padding, stride, (h, wd))
    if bias is not None:
        out = out + bias.view(oc, 1, 1)
    return _result(out, spatial, unbatched)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-d transposed convolution (the gradient of conv1d with respect to its input)."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 1)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-d transposed convolution (the gradient of conv2d with respect to its input)."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 2)


# -- unfold / fold -----------------------------------------------------------------------------
def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """The sliding local blocks of a (N, C, H, W) or (C, H, W) input as columns:
    (N, C * prod(kernel_size), L)."""
    if isinstance(input, Tensor) and input.dim() < 3:      # PyTorch's type, a clearer message
        raise IndexError(f"unfold(): expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got "
                         f"size {list(input.shape)}")
    x, unbatched = _batched(input, 2, "unfold")
    kernel, dilation, padding, stride = (
        _tuple(v, 2, name, "im2col") for v, name in
        ((kernel_size, "kernel_size"), (dilation, "dilation"), (padding, "padding"),
         (stride, "stride")))
    _check_geometry(stride, padding, dilation)
    blocks = tuple(grid(*a) for a in zip(x.shape[2:], kernel, dilation, padding, stride))
    if any(b <= 0 for b in blocks):
        raise RuntimeError(f"Given input with spatial size ({x.shape[2]}, {x.shape[3]}), "
                           f"kernel_size={kernel}, dilation={dilation}, padding={padding}, "
                           f"calculated shape of the array of sliding blocks as {blocks}, "
                           "but its components must be at least one.")
    out = im2col(x, kernel, dilation, padding, stride, blocks)
    return out.squeeze(0) if unbatched else out


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """The adjoint of unfold: sums the columns of (N, C * prod(kernel_size), L) or
    (C * prod(kernel_size), L) into a (N, C, *output_size) tensor."""
    if not isinstance(input, Tensor):
        raise TypeError(f"fold(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                           f"batch size and non-zero dimensions for input, but got: "
                           f"{list(input.shape)}")
    size, kernel, dilation, padding, stride = (
        _tuple(v, 2, name, "col2im") for v, name in
        ((output_size, "output_size"), (kernel_size, "kernel_size"), (dilation, "dilation"),
         (padding, "padding"), (stride, "stride")))
    _check_geometry(stride, padding, dilation)
    cols = input.unsqueeze(0) if input.dim() == 2 else input
    blocks = tuple(grid(*a) for a in zip(size, kernel, dilation, padding, stride))
    kk = kernel[0] * kernel[1]
    if cols.shape[1] % kk:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size, but got input.size(1)={cols.shape[1]} "
                           f"and kernel_size={kernel}")
    if cols.shape[2] != blocks[0] * blocks[1]:
        raise RuntimeError(
            f"Given output_size={size}, kernel_size={kernel}, dilation={dilation}, "
            f"padding={padding}, stride={stride}, expected size of input's dimension 2 to "
            f"match the calculated number of sliding blocks {blocks[0]} * {blocks[1]} = "
            f"{blocks[0] * blocks[1]}, but got input.size(2)={cols.shape[2]}.")
    out = col2im(cols, size, kernel, dilation, padding, stride, blocks)
    return out.squeeze(0) if input.dim() == 2 else out


# -- pooling -----------------------------------------------------------------------------------
def _pool_geometry(input: Tensor, x: Tensor, kernel_size, stride, padding, dilation,
                   ceil_mode: bool, spatial: int, op: str):
    """(kernel, stride, padding, dilation, blocks) as (H, W) pairs, checked as PyTorch does."""
    lead, one = (0,) * (2 - spatial), (1,) * (2 - spatial)
    kernel = one + _tuple(kernel_size, spatial, "kernel_size", op)
    stride = kernel if stride is None or stride == () or stride == [] else (
        one + _tuple(stride, spatial, "stride", op))
    padding = lead + _tuple(padding, spatial, "padding", op)
    dilation = one + _tuple(dilation, spatial, "dilation", op)
    if any(s <= 0 for s in stride):
        raise RuntimeError("stride should not be zero")
    for what, values in (("kernel size", kernel), ("dilation", dilation)):
        if any(v <= 0 for v in values):
            short = "k" if what == "kernel size" else "dilation"
            raise RuntimeError(f"{what} should be greater than zero, but got {short}H: "
                               f"{values[0]} {short}W: {values[1]}")
    if op == "max_pool1d" and padding[1] > kernel[1] // 2:
        raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but "
                           f"got padding={padding[1]} and kernel_size={kernel[1]}")
    for k, p, d in zip(kernel, padding, dilation):
        if p < 0 or 2 * p > d * (k - 1) + 1:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    if any(p > k // 2 for k, p in zip(kernel, padding)):      # max pooling with dilation
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but "
                           f"got padW = {padding[1]}, padH = {padding[0]}, kW = {kernel[1]}, "
                           f"kH = {kernel[0]}")
    if 0 in tuple(x.shape[1:]):
        shown = list(x.shape if op == "avg_pool1d" else input.shape)
        raise RuntimeError(f"{'max_pool1d: ' if op == 'max_pool1d' else ''}Expected "
                           f"{'2D or 3D' if op == 'max_pool1d' else '3D or 4D'} (batch mode) "
                           f"tensor with optional 0 dim batch size for input, but got:{shown}")
    blocks = tuple(grid(*a, ceil_mode) for a in zip(x.shape[2:], kernel, dilation, padding,
                                                     stride))
    if any(b <= 0 for b in blocks):
        size = "x".join(map(str, x.shape[1:]))
        raise RuntimeError(f"Given input size: ({size}). Calculated output size: "
                           f"({x.shape[1]}x{'x'.join(map(str, blocks))}). Output size is too "
                           "small")
    return kernel, stride, padding, dilation, blocks


def _windows(x: Tensor, geometry, fill) -> Tensor:
    """(N*C, KH*KW, OH*OW): the pooling windows of every channel as columns."""
    kernel, stride, padding, dilation, blocks = geometry
    planes = x.reshape(-1, 1, *x.shape[2:])
    return im2col(planes, kernel, dilation, padding, stride, blocks, fill)


def _lowest(dtype) -> float:
    if dtype.is_floating_point:
        return -float("inf")
    return 0 if dtype is clgrad.bool else int(np.iinfo(dtype.np).min)


def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
              spatial: int):
    op = f"max_pool{spatial}d"
    x, unbatched = _batched(input, spatial, op)
    geometry = _pool_geometry(input, x, kernel_size, stride, padding, dilation, ceil_mode,
                              spatial, op)
    kernel, stride, padding, dilation, blocks = geometry
    values, where = max_pool(x, kernel, dilation, padding, stride, blocks, _lowest(x.dtype))
    values, where = (_result(t, spatial, unbatched) for t in (values, where))
    return (values, where) if return_indices else values


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """The maximum of each window along the last dim; indices into it if asked."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     1)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """The maximum of each window over the last two dims; flat H*W indices if asked."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     2)


def _counts(size, kernel, stride, padding, blocks, include_pad: bool) -> np.ndarray:
    """How many positions of each window along one dim PyTorch's avg pool divides by."""
    start = np.arange(blocks) * stride - padding
    end = np.minimum(start + kernel, size + padding)
    if include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def _divisor(x: Tensor, geometry, include_pad: bool):
    """The avg-pool divisor of every window: a number when they all agree, else a cached
    (OH*OW) tensor."""
    kernel, stride, padding, _, blocks = geometry

    def make():
        counts = np.outer(*[_counts(*a, include_pad) for a in
                            zip(x.shape[2:], kernel, stride, padding, blocks)]).reshape(-1)
        if (counts == counts[0]).all():
            return int(counts[0])
        return clgrad.tensor(counts, dtype=x.dtype, device=x.device)
    return host_constant((x.device, x.dtype, tuple(x.shape[2:]), geometry, include_pad), make)


def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, spatial: int):
    op = f"avg_pool{spatial}d"
    x, unbatched = _batched(input, spatial, op)
    geometry = _pool_geometry(input, x, kernel_size, stride, padding, 1, ceil_mode, spatial,
                              op)
    windows = _windows(x, geometry, 0)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    divisor = divisor_override or _divisor(x, geometry, count_include_pad)
    if isinstance(divisor, int) and divisor == windows.shape[1] and x.dtype.is_floating_point:
        out = windows.mean(1)
    elif x.dtype.is_floating_point:
        out = windows.sum(1) / divisor
    else:
        out = windows.sum(1).div(divisor, rounding_mode="trunc").to(x.dtype)
    return _result(out.view(*x.shape[:2], *geometry[4]), spatial, unbatched)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """The mean of each window along the last dim."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None,
                     1)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """The mean of each window over the last two dims (or its sum / divisor_override)."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 2)


def _averaging(size: int, out: int, device, dtype) -> Tensor:
    """The (out, size) matrix whose row i averages PyTorch's adaptive window i."""
    def make():
        matrix = np.zeros((out, size))
        for i in range(out):
            start, end = i * size // out, -(-(i + 1) * size // out)
            matrix[i, start:end] = 1.0 / (end - start)
        return clgrad.tensor(matrix, dtype=dtype, device=device)
    return host_constant(("adaptive", device, dtype, size, out), make)


def _adaptive_size(output_size, size: tuple, op: str) -> tuple:
    """PyTorch's output_size (an int, or one per dim where None keeps that dim)."""
    spatial = len(size)
    wanted = (output_size,) * spatial if isinstance(output_size, int) else tuple(output_size)
    if len(wanted) != spatial:
        raise RuntimeError(f"{op}: output_size must be {spatial}" if spatial == 2 else
                           f"{op}() argument 'output_size' should contain one int (got "
                           f"{len(wanted)})")
    out = tuple(s if o is None else o for s, o in zip(size, wanted))
    if any(o < 0 for o in out):
        raise RuntimeError(f"{op}: elements of output_size must be greater than or equal to "
                           f"0 but received {{{', '.join(map(str, out))}}}")
    return out


def _adaptive_avg_pool(input, output_size, spatial: int) -> Tensor:
    op = f"adaptive_avg_pool{spatial}d"
    x, unbatched = _batched(input, spatial, op)
    size = tuple(x.shape[2:])
    out = (1,) * (2 - spatial) + _adaptive_size(output_size, size[2 - spatial:], op)
    empty = [d for d in range(1, input.dim()) if input.shape[d] == 0]
    if empty:
        raise RuntimeError(f"{op}(): Expected input to have non-zero size for non-batch "
                           f"dimensions, but input has sizes {list(input.shape)} with "
                           f"dimension {empty[0]} being empty")
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f'"{op}" not implemented for '
                                  f"'{torch_name(x.dtype)}'")
    if out == (1, 1):
        y = x.mean((2, 3), keepdim=True)
    elif size[0] % max(out[0], 1) == 0 and size[1] % max(out[1], 1) == 0 and all(out):
        k = (size[0] // out[0], size[1] // out[1])
        y = _windows(x, (k, k, (0, 0), (1, 1), out), 0).mean(1).view(*x.shape[:2], *out)
    else:
        rows, cols = (_averaging(s, o, x.device, x.dtype) for s, o in zip(size, out))
        y = rows.matmul(x).matmul(cols.t())
    return _result(y, spatial, unbatched)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling to `output_size` windows along the last dim."""
    return _adaptive_avg_pool(input, output_size, 1)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to an `output_size` grid of windows over the last two dims (None in
    it keeps that dim's size)."""
    return _adaptive_avg_pool(input, output_size, 2)
