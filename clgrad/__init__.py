"""clgrad: a PyTorch-style tensor library whose every op is a templated OpenCL kernel.

`import clgrad as torch` runs the PyTorch subset clgrad covers on any OpenCL device; the
default device comes from CLGRAD_DEVICE (cpu, gpu, opencl:N or a device-name substring).
No OpenCL work happens at import: the default device opens on first use.
"""
from . import autograd, cuda, nn, optim, runtime, utils
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .nn.functional import (
    adaptive_avg_pool1d,
    avg_pool1d,
    bilinear,
    conv1d,
    conv2d,
    conv_transpose1d,
    conv_transpose2d,
    max_pool1d,
    max_pool2d,
)
from .runtime import OutOfMemoryError, memory_stats
from .runtime.device import device, set_default_device
from .serialization import SerializationError, load, save
from .tensor import (
    Size,
    Tensor,
    functions,
    get_default_dtype,
    promote_types,
    set_default_dtype,
)
from .tensor.dtype import bool_ as bool
from .tensor.dtype import dtype, float16, float32, float64, int8, int16, int32, int64, uint8
from .tensor.format import get_printoptions, set_printoptions

__version__ = "0.1.0"

autograd.install(functions)
globals().update(functions)

half = float16
float = float32
double = float64
short = int16
int = int32
long = int64
del functions


def is_tensor(obj) -> "bool":
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> "int":
    return input.numel()


def result_type(tensor1, tensor2) -> dtype:
    """The dtype an op on these two operands returns (PyTorch's promotion rules)."""
    from .tensor.dtype import result_type as _result_type
    from .tensor.dtype import scalar_dtype
    groups = ([], [], [])
    for x in (tensor1, tensor2):
        if isinstance(x, Tensor):
            groups[0 if x.dim() else 1].append(x.dtype)
        else:
            groups[2].append(scalar_dtype(x))
    return _result_type(*groups)


def is_floating_point(input: Tensor) -> "bool":
    return input.is_floating_point()


def broadcast_shapes(*shapes) -> Size:
    from .tensor.shape import broadcast_shapes as _broadcast
    return Size(_broadcast(*[tuple(s) for s in shapes]))
