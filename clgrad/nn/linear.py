"""Linear, Bilinear and the shape-only layers: Identity, Flatten, Unflatten."""
from __future__ import annotations

import math

from ..autograd import no_grad
from ..tensor import Tensor
from ..tensor.creation import empty
from ..tensor.shape import normalize_dim
from . import functional as F
from .module import Module
from .parameter import Parameter


def weight_and_bias(module: Module, shape: tuple, bias: int | None, device, dtype) -> None:
    """Register an uninitialised `weight` of `shape` and a `bias` of `bias` elements (None:
    bias is None), as Linear, Bilinear and the convolutions do."""
    module.weight = Parameter(empty(shape, device=device, dtype=dtype))
    if bias is not None:
        module.bias = Parameter(empty(bias, device=device, dtype=dtype))
    else:
        module.register_parameter("bias", None)


def uniform_fan_in(module: Module, fan_in: int) -> None:
    """Fill weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (0 for no inputs)."""
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    with no_grad():
        if module.weight.numel():
            module.weight.uniform_(-bound, bound)
        if module.bias is not None and module.bias.numel():
            module.bias.uniform_(-bound, bound)


class Identity(Module):
    """Returns its input; accepts and ignores any constructor arguments (as PyTorch)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """y = x @ weight.T + bias over the last dimension of x (any leading dimensions)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        weight_and_bias(self, (out_features, in_features), out_features if bias else None,
                        device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's init: kaiming_uniform_(a=sqrt(5)) for weight, which is
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for bias."""
        uniform_fan_in(self, self.in_features)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """y = x1^T A x2 + b: y[..., o] = x1 @ weight[o] @ x2 + bias[o] (F.bilinear)."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        weight_and_bias(self, (out_features, in1_features, in2_features),
                        out_features if bias else None, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's init: U(-1/sqrt(in1_features), 1/sqrt(in1_features)) for weight and
        bias."""
        uniform_fan_in(self, self.in1_features)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Flatten(Module):
    """Flattens dimensions start_dim..end_dim into one (Tensor.flatten)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Splits dimension `dim` into `unflattened_size` (one entry may be -1)."""

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        if not isinstance(dim, int):
            raise TypeError(f"invalid argument type for dim parameter: {type(dim).__name__}")
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError("unflattened_size must be tuple or list, but found type "
                            f"{type(unflattened_size).__name__}")
        for idx, elem in enumerate(unflattened_size):
            if not isinstance(elem, int):
                raise TypeError(f"unflattened_size must be tuple of ints, but found element "
                                f"of type {type(elem).__name__} at pos {idx}")
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        shape = tuple(input.shape)
        d = normalize_dim(self.dim, len(shape))
        sizes = list(self.unflattened_size)
        if sizes.count(-1) > 1:
            raise RuntimeError("unflatten: only one dimension can be inferred")
        known = math.prod(s for s in sizes if s != -1)
        if -1 in sizes:
            if known == 0 or shape[d] % known:
                raise RuntimeError(f"unflatten: Provided sizes {list(self.unflattened_size)} "
                                   f"don't multiply up to the size of dim {self.dim} "
                                   f"({shape[d]}) in the input tensor")
            sizes[sizes.index(-1)] = shape[d] // known
        elif known != shape[d]:
            raise RuntimeError(f"unflatten: Provided sizes {list(self.unflattened_size)} don't "
                               f"multiply up to the size of dim {self.dim} ({shape[d]}) in the "
                               "input tensor")
        return input.reshape(shape[:d] + tuple(sizes) + shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
