"""Convolution layers (Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d) and Fold/Unfold."""
from __future__ import annotations

import math

from ..autograd import no_grad
from ..tensor import Tensor
from . import init
from . import windows as W
from .linear import weight_and_bias
from .module import Module
from .padding import pad

_PADDING_MODES = {"zeros", "reflect", "replicate", "circular"}


def _ntuple(value, n: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


class _ConvNd(Module):
    """What every convolution shares: PyTorch's checks, parameters, initialisation, repr."""

    _dims = 2
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, padding,
                 dilation, output_padding, groups: int, bias: bool, padding_mode: str,
                 device=None, dtype=None) -> None:
        super().__init__()
        _check_arguments(type(self).__name__, in_channels, out_channels, stride, padding,
                         groups, padding_mode, self.transposed, self._dims)
        n = self._dims
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = _ntuple(kernel_size, n), _ntuple(stride, n)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, n)
        self.dilation, self.output_padding = _ntuple(dilation, n), _ntuple(output_padding, n)
        self.padding_mode = padding_mode
        shape = ((in_channels, out_channels // groups) if self.transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        weight_and_bias(self, shape, out_channels if bias else None, device, dtype)
        self.reset_parameters()

    def _conv_input(self, input: Tensor):
        """(input, padding) for the convolution: with a padding_mode other than 'zeros' the
        input padded by F.pad (PyTorch's _reversed_padding_repeated_twice) and no padding."""
        if self.padding_mode == "zeros":
            return input, self.padding
        widths = []
        for k, d, p in reversed(list(zip(self.kernel_size, self.dilation, _ntuple(
                0 if self.padding == "valid" else self.padding, self._dims)))):
            if self.padding == "same":
                total = d * (k - 1)
                widths += [total // 2, total - total // 2]
            else:
                widths += [p, p]
        return pad(input, widths, mode=self.padding_mode), 0

    def reset_parameters(self) -> None:
        """PyTorch's init: kaiming_uniform_(a=sqrt(5)) for weight, which is
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            with no_grad():
                self.bias.uniform_(-bound, bound)

    def extra_repr(self) -> str:
        n = self._dims
        parts = [f"{self.in_channels}, {self.out_channels}",
                 f"kernel_size={self.kernel_size}", f"stride={self.stride}"]
        if self.padding != (0,) * n:
            parts.append(f"padding={self.padding}")
        if self.dilation != (1,) * n:
            parts.append(f"dilation={self.dilation}")
        if self.output_padding != (0,) * n:
            parts.append(f"output_padding={self.output_padding}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if self.bias is None:
            parts.append("bias=False")
        if self.padding_mode != "zeros":
            parts.append(f"padding_mode={self.padding_mode}")
        return ", ".join(parts)


def _check_arguments(name, in_channels, out_channels, stride, padding, groups, padding_mode,
                     transposed: bool, dims: int) -> None:
    """PyTorch's constructor checks, in its order and words."""
    if groups <= 0:
        raise ValueError("groups must be a positive integer")
    if in_channels % groups != 0:
        raise ValueError("in_channels must be divisible by groups")
    if out_channels % groups != 0:
        raise ValueError("out_channels must be divisible by groups")
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                             "{'valid', 'same'}")
        if padding == "same" and any(s != 1 for s in _ntuple(stride, dims)):
            raise ValueError("padding='same' is not supported for strided convolutions")
    if padding_mode not in _PADDING_MODES:
        raise ValueError("padding_mode must be one of {'zeros', 'replicate', 'reflect', "
                         f"'circular'}}, but got padding_mode='{padding_mode}'")
    if transposed and padding_mode != "zeros":
        raise ValueError(f'Only "zeros" padding mode is supported for {name}')


class _Conv(_ConvNd):
    """Conv1d/Conv2d: PyTorch's constructor; forward is `_function` (F.conv1d/conv2d)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, 0,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        input, padding = self._conv_input(input)
        return self._function(input, self.weight, self.bias, self.stride, padding,
                              self.dilation, self.groups)


class Conv1d(_Conv):
    """1-d convolution over (N, C_in, L) or (C_in, L) input."""

    _dims = 1
    _function = staticmethod(W.conv1d)


class Conv2d(_Conv):
    """2-d convolution over (N, C_in, H, W) or (C_in, H, W) input."""

    _function = staticmethod(W.conv2d)


class _ConvTransposeNd(_ConvNd):
    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         output_padding, groups, bias, padding_mode, device, dtype)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        return self._function(input, self.weight, self.bias, self.stride, self.padding,
                              self._output_padding(input, output_size), self.groups,
                              self.dilation)

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """output_padding, or the one that makes the output `output_size` (PyTorch's rule)."""
        if output_size is None:
            return self.output_padding
        n = self._dims
        output_size = list(output_size)
        if len(output_size) in (n + 1, n + 2):
            output_size = output_size[-n:]
        if len(output_size) != n:
            raise ValueError(f"ConvTranspose{n}D: for {input.dim()}D input, output_size must "
                             f"have {n} or {n + 2} elements (got {len(output_size)})")
        least = [(input.shape[d - n] - 1) * self.stride[d] - 2 * self.padding[d]
                 + self.dilation[d] * (self.kernel_size[d] - 1) + 1 for d in range(n)]
        for d in range(n):
            if not least[d] <= output_size[d] <= least[d] + self.stride[d] - 1:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes "
                                 f"range from {least} to "
                                 f"{[s + t - 1 for s, t in zip(least, self.stride)]} "
                                 f"(for an input of {list(input.shape[-n:])})")
        return tuple(o - s for o, s in zip(output_size, least))


class ConvTranspose1d(_ConvTransposeNd):
    """1-d transposed convolution (conv1d's gradient with respect to its input)."""

    _dims = 1
    _function = staticmethod(W.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """2-d transposed convolution (conv2d's gradient with respect to its input)."""

    _function = staticmethod(W.conv_transpose2d)


class Unfold(Module):
    """Sliding local blocks of a batched image as columns (F.unfold)."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return W.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Module):
    """Columns of sliding blocks summed back into an image (F.fold, unfold's adjoint)."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.output_size, self.kernel_size, self.dilation = output_size, kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return W.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")
