"""Tensor: (storage, shape, strides, offset, dtype) plus views and host interop.

Ops are not written here: elementwise methods are installed from their one definition in
ops.py, indexing lives in indexing.py, factories in creation.py.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..runtime.device import Device, cpu_device
from ..runtime.device import device as resolve_device
from . import dtype as dt
from . import elementwise
from .format import format_tensor
from .shape import (
    Size,
    contiguous_strides,
    dense_strides,
    infer_shape,
    is_contiguous,
    normalize_dim,
    numel,
    view_strides,
)
from .storage import HostView, Storage, VersionCounter


class Tensor:
    """A strided view of a device Storage. Views share storage and never copy."""

    __slots__ = (
        "__weakref__",
        "_base",
        "_contig",
        "_grad",
        "_grad_accumulator",
        "_hooks",
        "_made_without_grad",
        "_numel",
        "_offset",
        "_output_nr",
        "_requires_grad",
        "_retains_grad",
        "_shape",
        "_storage",
        "_stride",
        "_vc",
        "_view_version",
        "dtype",
        "grad_fn",
    )
    __array_priority__ = 1000       # NumPy scalars on the left defer to Tensor's operators

    # -- construction ----------------------------------------------------------------------
    def __new__(cls, *args, dtype=None, device=None):
        """`Tensor(2, 3)` is uninitialised float32; `Tensor([1, 2])` copies data as float32."""
        from .creation import empty, tensor
        if not args:
            return empty(0, dtype=dtype, device=device)
        if len(args) == 1 and isinstance(args[0], Size):
            return empty(args[0], dtype=dtype, device=device)
        if not all(isinstance(a, int) for a in args):
            if len(args) != 1:
                raise TypeError("Tensor() takes sizes or a single data argument")
            return tensor(args[0], dtype=dtype or dt.get_default_dtype(), device=device)
        return empty(*args, dtype=dtype, device=device)

    @staticmethod
    def _make(storage, shape, stride, offset, dtype_, count=None, contig=None):
        """A tensor over `storage`; `count` (numel) and `contig` when the caller knows them."""
        t = object.__new__(Tensor)
        t._storage = storage
        t._vc = storage.vc           # version counter: the storage's own, or .data's
        t._shape = shape
        t._stride = stride
        t._offset = offset
        t.dtype = dtype_
        t._numel = numel(shape) if count is None else count
        t._contig = is_contiguous(shape, stride) if contig is None else contig
        t._requires_grad = False
        t._grad = t.grad_fn = t._grad_accumulator = t._hooks = t._base = None
        t._view_version = 0
        t._made_without_grad = False
        t._output_nr = 0
        t._retains_grad = False
        return t

    @staticmethod
    def _empty(shape, dtype_, device):
        """A new contiguous tensor (the per-op output path: keep it lean)."""
        layout = _LAYOUTS.get(shape)
        if layout is None:
            if len(_LAYOUTS) > 4096:
                _LAYOUTS.clear()
            layout = _LAYOUTS[shape] = (Size(shape), contiguous_strides(shape), numel(shape))
        if dtype_.extension:
            device.require_extension(dtype_.extension, dtype_.name)
        return Tensor._make(Storage(device, layout[2] * dtype_.itemsize), layout[0], layout[1],
                            0, dtype_, layout[2], True)

    def _view(self, shape, stride, offset=None) -> Tensor:
        """A view of self's storage; `_base` is the tensor whose storage it is (as PyTorch)."""
        t = Tensor._make(self._storage, Size(shape), tuple(stride),
                         self._offset if offset is None else offset, self.dtype)
        t._base = self._base if self._base is not None else self
        t._vc = self._vc
        t._view_version = self._vc.version         # autograd: was the base written since?
        # autograd: a view of a tensor requiring grad made under no_grad may not be written
        # in place with grad on (PyTorch forbids it: the history would be ambiguous)
        t._made_without_grad = self._requires_grad and not grad_enabled()
        return t

    # -- metadata --------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return self._shape

    def size(self, dim=None):
        if dim is None:
            return self._shape
        return self._shape[normalize_dim(dim, len(self._shape))]

    def stride(self, dim=None):
        if dim is None:
            return self._stride
        return self._stride[normalize_dim(dim, len(self._shape))]

    def storage_offset(self) -> int:
        return self._offset

    def dim(self) -> int:
        return len(self._shape)

    ndimension = dim

    @property
    def ndim(self) -> int:
        return len(self._shape)

    def numel(self) -> int:
        return self._numel

    nelement = numel

    def element_size(self) -> int:
        return self.dtype.itemsize

    def is_contiguous(self, memory_format=None) -> bool:
        return self._contig

    @property
    def device(self):
        return self._storage.device

    @property
    def is_cuda(self) -> bool:
        return self._storage.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self._storage.device.type == "cpu"

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def data_ptr(self) -> int:
        """Address-like identity of the first element (equal for views sharing it)."""
        return self._storage.data_ptr() + self._offset * self.dtype.itemsize

    @property
    def _version(self) -> int:
        """Autograd's version counter: in-place writes through this tensor, its views, its
        detach()es and its source (not through `.data`, which has its own counter)."""
        return self._vc.version

    def _written(self) -> None:
        """Count an in-place write into this tensor (bumps its version counter)."""
        vc = self._vc
        vc.version += 1
        if vc is not self._storage.vc:   # through .data: caches keyed on the storage's
            self._storage.untracked += 1     # version must still see the write

    def untyped_storage(self) -> Storage:
        return self._storage

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self):
        """The accumulated gradient (leaves, and non-leaves after retain_grad())."""
        if self.grad_fn is not None and not self._retains_grad and self._grad is None:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. "
                "Its .grad attribute won't be populated during autograd.backward(). If you "
                "indeed want the .grad field to be populated for a non-leaf Tensor, use "
                ".retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor by "
                "mistake, make sure you access the leaf Tensor instead.", UserWarning,
                stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if value is self:
                raise RuntimeError("can't assign Variable as its own grad")
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad "
                                f"of type {type(value).__name__}")
            if value._shape != self._shape:
                raise RuntimeError(f"assigned grad has data of a different size: "
                                   f"{list(value._shape)} vs {list(self._shape)}")
            if value.dtype is not self.dtype:
                raise RuntimeError(f"assigned grad has data of a different type: "
                                   f"{value.dtype.name} vs {self.dtype.name}")
            if value._storage.device is not self._storage.device:
                raise RuntimeError(f"assigned grad has data located on a different device: "
                                   f"{value.device} vs {self.device}")
        self._grad = value

    # -- views -------------------------------------------------------------------------------
    def view(self, *shape) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], dt.dtype):
            raise NotImplementedError("view(dtype) (reinterpreting bytes) is not implemented")
        shape = infer_shape(_shape_arg(shape), self._numel)
        strides = view_strides(self._shape, self._stride, shape)
        if strides is None:
            raise RuntimeError(
                f"view size is not compatible with input tensor's size and stride (at least "
                f"one dimension spans across two contiguous subspaces): cannot view shape "
                f"{list(self._shape)} with strides {list(self._stride)} as {list(shape)}. "
                "Use .reshape(...) instead.")
        return self._view(shape, strides)

    def view_as(self, other) -> Tensor:
        return self.view(other._shape)

    def reshape(self, *shape) -> Tensor:
        shape = infer_shape(_shape_arg(shape), self._numel)
        strides = view_strides(self._shape, self._stride, shape)
        if strides is None:
            return self.contiguous().view(shape)
        return self._view(shape, strides)

    def reshape_as(self, other) -> Tensor:
        return self.reshape(other._shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        nd = len(self._shape)
        if nd == 0:
            return self.reshape(1)
        start, end = normalize_dim(start_dim, nd), normalize_dim(end_dim, nd)
        if start > end:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        if start == end:
            return self                   # nothing flattened: the tensor itself (PyTorch)
        shape = self._shape[:start] + (numel(self._shape[start:end + 1]),) + self._shape[end + 1:]
        return self.reshape(shape)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        nd = len(self._shape)
        d0, d1 = normalize_dim(dim0, nd), normalize_dim(dim1, nd)
        shape, stride = list(self._shape), list(self._stride)
        if nd:
            shape[d0], shape[d1] = shape[d1], shape[d0]
            stride[d0], stride[d1] = stride[d1], stride[d0]
        return self._view(shape, stride)

    swapaxes = swapdims = transpose

    def t(self) -> Tensor:
        if len(self._shape) > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{len(self._shape)}D")
        return self.transpose(0, -1) if len(self._shape) == 2 else self


    @grad.deleter
    def grad(self) -> None:
        self._grad = None

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(len(self._shape))))

    @property
    def mT(self) -> Tensor:
        if len(self._shape) < 2:
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of "
                               f"matrices. Got {len(self._shape)}-D tensor.")
        return self.transpose(-2, -1)

    def permute(self, *dims) -> Tensor:
        dims = _shape_arg(dims)
        nd = len(self._shape)
        if len(dims) != nd:
            raise RuntimeError(f"permute(): number of dims don't match in permute: the tensor "
                               f"has {nd} dims but {len(dims)} were given ({list(dims)})")
        dims = [normalize_dim(d, nd) for d in dims]
        if len(set(dims)) != nd:
            raise RuntimeError(f"permute(): duplicate dims are not allowed: {list(dims)}")
        return self._view([self._shape[d] for d in dims], [self._stride[d] for d in dims])

    def expand(self, *sizes) -> Tensor:
        sizes = _shape_arg(sizes)
        nd, extra = len(self._shape), len(sizes) - len(self._shape)
        if extra < 0:
            raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be "
                               f"greater or equal to the number of dimensions in the tensor "
                               f"({nd})")
        shape, stride = [], []
        for i, size in enumerate(sizes):
            if i < extra:
                if size < 0:
                    raise RuntimeError(f"expand: the expanded size {size} is not allowed in "
                                       f"a leading, non-existing dimension {i}")
                shape.append(size)
                stride.append(0)
                continue
            old, old_stride = self._shape[i - extra], self._stride[i - extra]
            if size == -1 or size == old:
                shape.append(old)
                stride.append(old_stride)
            elif old == 1 and size >= 0:
                shape.append(size)
                stride.append(0)
            else:
                raise RuntimeError(
                    f"The expanded size of the tensor ({size}) must match the existing size "
                    f"({old}) at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  "
                    f"Tensor sizes: {list(self._shape)}")
        return self._view(shape, stride)

    def expand_as(self, other) -> Tensor:
        return self.expand(other._shape)

    def squeeze(self, dim=None) -> Tensor:
        nd = len(self._shape)
        if dim is None:
            dims = {i for i, s in enumerate(self._shape) if s == 1}
        else:
            dims = dim if isinstance(dim, (tuple, list)) else (dim,)
            dims = {d for d in (normalize_dim(d, nd) for d in dims)
                    if nd and self._shape[d] == 1}
        keep = [i for i in range(nd) if i not in dims]
        return self._view([self._shape[i] for i in keep], [self._stride[i] for i in keep])

    def unsqueeze(self, dim: int) -> Tensor:
        nd = len(self._shape)
        d = normalize_dim(dim, nd + 1)
        shape, stride = list(self._shape), list(self._stride)
        new_stride = shape[d] * stride[d] if d < nd else 1
        shape.insert(d, 1)
        stride.insert(d, new_stride)
        return self._view(shape, stride)

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        nd = len(self._shape)
        if nd == 0:
            raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
        d = normalize_dim(dim, nd)
        size = self._shape[d]
        if not -size <= start <= size:
            raise IndexError(f"start out of range (expected to be in range of [{-size}, "
                             f"{size}], but got {start})")
        start = start + size if start < 0 else start
        if length < 0 or start + length > size:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                               f"({size}).")
        shape = list(self._shape)
        shape[d] = length
        return self._view(shape, self._stride, self._offset + start * self._stride[d])

    def select(self, dim: int, index: int) -> Tensor:
        nd = len(self._shape)
        if nd == 0:
            raise IndexError("select() cannot be applied to a 0-dim tensor.")
        d = normalize_dim(dim, nd)
        size = self._shape[d]
        if not -size <= index < size:
            raise IndexError(f"index {index} is out of bounds for dimension {d} with size "
                             f"{size}")
        index = index + size if index < 0 else index
        return self._view(self._shape[:d] + self._shape[d + 1:],
                          self._stride[:d] + self._stride[d + 1:],
                          self._offset + index * self._stride[d])

    def unbind(self, dim: int = 0) -> tuple:
        if not self._shape:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        d = normalize_dim(dim, len(self._shape))
        return tuple(self.select(d, i) for i in range(self._shape[d]))

    def detach(self) -> Tensor:
        """A view sharing storage and version counter, cut from the autograd graph."""
        return self._alias()

    def _alias(self) -> Tensor:
        """A new tensor over the same elements and version counter, with no autograd state
        (detach's core; autograd's saved outputs are kept as these)."""
        t = Tensor._make(self._storage, self._shape, self._stride, self._offset, self.dtype,
                         self._numel, self._contig)
        t._vc = self._vc
        return t

    def detach_(self) -> Tensor:
        if self._base is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self) -> Tensor:
        """detach() with a version counter of its own, as PyTorch: in-place writes through
        it are not seen by autograd's checks (backward then uses the new values)."""
        t = self._alias()
        t._vc = VersionCounter()
        return t

    @data.setter
    def data(self, value: Tensor) -> None:
        """Make this tensor use `value`'s storage and layout (its autograd state stays)."""
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, not {type(value).__name__}")
        if self._requires_grad and not value.dtype.is_floating_point:
            raise RuntimeError("data set to a tensor that requires gradients must be floating "
                               "point or complex dtype")
        self._storage, self._shape, self._stride = value._storage, value._shape, value._stride
        self._offset, self.dtype, self._numel = value._offset, value.dtype, value._numel
        self._contig = value._contig
        # it keeps its version counter (PyTorch's set_data), shared with its earlier views

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if not isinstance(requires_grad, bool):
            raise TypeError(f"requires_grad_(): argument 'requires_grad' (position 1) must be "
                            f"bool, not {type(requires_grad).__name__}")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                               "you want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients, "
                               f"not {self.dtype.name}")
        self._requires_grad = requires_grad
        return self

    @property
    def requires_grad(self) -> bool:
        """Whether autograd records ops on this tensor (set it on leaves only)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise RuntimeError("requires_grad must be a bool")  # noqa: TRY004 (PyTorch's)
        if not (value and self.grad_fn is not None):
            self.requires_grad_(value)

    @property
    def retains_grad(self) -> bool:
        """Whether retain_grad() was called on this non-leaf tensor."""
        return self._retains_grad

    # -- copies ------------------------------------------------------------------------------
    def contiguous(self, memory_format=None) -> Tensor:
        return self if self._contig else elementwise.run(_ops().copy, (self,))

    def clone(self, memory_format=None) -> Tensor:
        """A copy with its own storage; a dense permuted layout keeps its strides."""
        strides = dense_strides(self._shape, self._stride) if self._numel else None
        if strides is None or self._contig:
            return elementwise.run(_ops().copy, (self,))
        out = Tensor._make(Storage(self.device, self._numel * self.dtype.itemsize),
                           self._shape, strides, 0, self.dtype)
        return elementwise.run(_ops().copy, (self,), out=out)

    def copy_(self, src, non_blocking: bool = False) -> Tensor:
        """Copy `src` (tensor or number, broadcast to self's shape, any device) into self."""
        if isinstance(src, Tensor) and src._storage.device is not self._storage.device:
            src = src.to(self._storage.device)
        if isinstance(src, Tensor) and src._shape != self._shape:
            src = src.expand(self._shape)
        if isinstance(src, Tensor) or self._numel:
            elementwise.run(_ops().copy, (src,), out=self, unsafe=True)
        return self

    def to(self, *args, **kwargs) -> Tensor:
        """to(device), to(dtype), to(device, dtype), to(tensor); copy=True forces a copy."""
        device, dtype_, copy = parse_to(args, kwargs)
        dtype_ = dtype_ or self.dtype
        device = self._storage.device if device is None else resolve_device(device)
        if device is self._storage.device:
            if dtype_ is self.dtype and not copy:
                return self
            return elementwise.run(_ops().copy, (self,), result_dtype=dtype_)
        moved = Tensor._from_host(self._host_array(), device)
        return moved.to(dtype_) if dtype_ is not self.dtype else moved

    def cpu(self) -> Tensor:
        return self.to(cpu_device())

    def cuda(self, device=None, non_blocking: bool = False) -> Tensor:
        if device is None:
            device = "cuda"
        elif isinstance(device, int):
            device = f"cuda:{device}"
        return self.to(device)

    def type(self, dtype_=None):
        if dtype_ is None:
            return f"clgrad.{self.dtype.name}"
        return self.to(dtype_)

    # -- host interop ------------------------------------------------------------------------
    @staticmethod
    def _from_host(array: np.ndarray, device) -> Tensor:
        array = np.asarray(array, order="C")
        t = Tensor._empty(array.shape, dt.from_numpy_dtype(array.dtype), device)
        t._storage.write(0, array)
        return t

    def _host_array(self) -> np.ndarray:
        """A host copy of the elements (NumPy array of the tensor's shape)."""
        if self._storage.device.kind == "cpu" and not self._storage.device.is_simulator:
            return np.array(self._host_view(share=False))
        src = self if self._contig else self.contiguous()
        itemsize = self.dtype.itemsize
        raw = src._storage.read(src._offset * itemsize, self._numel * itemsize)
        return raw.view(self.dtype.np).reshape(self._shape)

    def _host_view(self, share: bool = True) -> np.ndarray:
        """The elements through the mapped storage; `share`: NumPy keeps this view."""
        return np.asarray(HostView(self._storage, self.dtype.np, self._shape, self._stride,
                                   self._offset, share))

    def numpy(self, force: bool = False) -> np.ndarray:
        """The elements as a NumPy array sharing memory (CPU device); `force` copies."""
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        device = self._storage.device
        if device.kind != "cpu" or device.is_simulator:
            if force:
                return self._host_array()
            raise TypeError(f"can't convert {device} device type tensor to numpy. Use "
                            "Tensor.cpu() to copy the tensor to host memory first.")
        return self._host_view()

    def __array__(self, dtype=None, copy=None):
        array = self.numpy() if copy is not True else self._host_array()
        return array if dtype is None else array.astype(dtype, copy=False)

    def item(self):
        if self._numel != 1:
            raise RuntimeError(f"a Tensor with {self._numel} elements cannot be converted "
                               "to Scalar")
        raw = self._storage.read(self._offset * self.dtype.itemsize, self.dtype.itemsize)
        return raw.view(self.dtype.np)[0].item()

    def tolist(self):
        return self._host_array().tolist()

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of a 0-d tensor")
        return self._shape[0]

    def __iter__(self):
        if not self._shape:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self._numel != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._numel} values is "
                               "ambiguous")
        return bool(self.item())

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def __index__(self) -> int:
        if self.dtype.category != dt.INT or self._numel != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def _scalar(self, kind: str):
        if self._numel != 1:
            raise ValueError(f"only one element tensors can be converted to Python scalars "
                            f"(to {kind}); this tensor has {self._numel} elements")
        return self.item()

    def __repr__(self) -> str:
        device = self._storage.device
        suffixes = []
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn=<{type(self.grad_fn).__name__}>")
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        return format_tensor(self._host_array(), self.dtype.name,
                             device=None if device.type == "cpu" else str(device),
                             suffixes=suffixes)

    __str__ = __repr__

    def __hash__(self) -> int:
        return id(self)

    def __deepcopy__(self, memo) -> Tensor:
        copied = self.clone()
        copied._requires_grad = self.requires_grad
        memo[id(self)] = copied
        return copied

    def __reduce__(self):
        raise TypeError("clgrad tensors cannot be pickled (unpickling runs code from the file); "
                        "copy them with clone() or copy.deepcopy()")


_LAYOUTS: dict = {}      # shape -> (Size, contiguous strides, numel) for new tensors


def grad_enabled() -> bool:
    """Whether autograd records ops; autograd replaces this (the tensor layer has no grad
    mode of its own)."""
    return True


def _shape_arg(args) -> tuple:
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    for s in args:
        if not isinstance(s, int) or isinstance(s, bool):
            raise TypeError(f"shape must be a sequence of ints, got {type(s).__name__} {s!r}")
    return tuple(args)


def parse_to(args, kwargs):
    """(device, dtype, copy) from to()'s arguments, for Tensor.to and Module.to."""
    device = kwargs.pop("device", None)
    dtype_ = kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, dt.dtype):
            dtype_ = a
        elif isinstance(a, Tensor):
            device, dtype_ = a._storage.device, a.dtype
        elif isinstance(a, (str, Device)):
            device = a
        elif isinstance(a, bool):
            copy = a
        else:
            raise TypeError(f"to() received an invalid argument {a!r} of type "
                            f"{type(a).__name__}: expected a dtype, device or tensor")
    if dtype_ is not None and not isinstance(dtype_, dt.dtype):
        raise TypeError(f"to(): dtype must be a clgrad.dtype, got {dtype_!r}")
    return device, dtype_, copy


def _ops():
    from . import ops
    return ops


elementwise.Tensor = Tensor
