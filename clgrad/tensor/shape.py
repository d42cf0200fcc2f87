"""Shape and stride arithmetic: pure Python, no device, testable on its own."""
from __future__ import annotations

from numbers import Integral


class Size(tuple):
    """The shape of a tensor: a tuple of ints (like torch.Size)."""

    def __repr__(self) -> str:
        return f"clgrad.Size([{', '.join(str(s) for s in self)}])"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        result = tuple.__getitem__(self, item)
        return Size(result) if isinstance(item, slice) else result

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))


# Keywords of PyTorch's factories with nothing to choose here (one layout, no pinned memory):
# accepted and ignored. Any other unexpected keyword is a TypeError, as in PyTorch.
IGNORED_OPTIONS = frozenset({"layout", "pin_memory", "memory_format"})


def check_options(name: str, options: dict) -> None:
    """Refuse keyword arguments factory `name` does not take (PyTorch's TypeError)."""
    for key in options:
        if key not in IGNORED_OPTIONS:
            raise TypeError(f"{name}() got an unexpected keyword argument '{key}'")


def check_requires_grad(value) -> None:
    """A factory's requires_grad: a bool (None means False), as PyTorch parses it."""
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"argument 'requires_grad' must be bool, not {type(value).__name__}")


def factory_size(name: str, size: tuple, options: dict) -> tuple:
    """The shape of `name`(2, 3), `name`((2, 3)) or `name`(size=(2, 3)); the remaining
    keywords in `options` are checked by check_options."""
    if "size" in options:
        options = dict(options)
        given = options.pop("size")
        if size:
            raise TypeError(f"{name}() got multiple values for argument 'size'")
        if not isinstance(given, (tuple, list)):
            raise TypeError(f"{name}(): argument 'size' must be tuple of ints, not "
                            f"{type(given).__name__}")
        size = (given,)
    elif not size:
        raise TypeError(f'{name}() missing 1 required positional arguments: "size"')
    check_options(name, options)
    return parse_size(size)


def parse_size(args, name: str = "size") -> tuple:
    """Sizes given as ints or as one sequence, checked like PyTorch (no negative dims)."""
    if len(args) == 1 and not isinstance(args[0], Integral):
        args = args[0]
        if not isinstance(args, (tuple, list)):
            raise TypeError(f"{name} must be a tuple of ints, not {type(args).__name__}")
    shape = []
    for s in args:
        if not isinstance(s, Integral) or isinstance(s, bool):
            raise TypeError(f"{name} must be a tuple of ints, but got an element of type "
                            f"{type(s).__name__}: {s!r}")
        shape.append(int(s))
    if any(s < 0 for s in shape):
        bad = next(s for s in shape if s < 0)
        raise RuntimeError(f"Trying to create tensor with negative dimension {bad}: {shape}")
    return tuple(shape)


def numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def contiguous_strides(shape) -> tuple:
    strides = []
    step = 1
    for s in reversed(shape):
        strides.append(step)
        step *= max(s, 1)
    return tuple(reversed(strides))


def is_contiguous(shape, strides) -> bool:
    if 0 in shape:
        return True          # PyTorch: a tensor without elements is contiguous
    expected = 1
    for size, stride in zip(reversed(shape), reversed(strides)):
        if size == 0:
            return True
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True


def dense_strides(shape, strides):
    """`strides` if the layout is a permuted contiguous one (dense, non-overlapping), else None.

    Such a layout can be copied as it is (PyTorch's preserve_format); any other is made
    contiguous.
    """
    dims = sorted((i for i, s in enumerate(shape) if s != 1), key=lambda i: -strides[i])
    expected = 1
    for i in reversed(dims):
        if strides[i] != expected:
            return None
        expected *= shape[i]
    return tuple(strides)


def normalize_dim(dim: int, ndim: int) -> int:
    """A dim in [-ndim, ndim) as a non-negative index (0-d tensors accept -1 and 0)."""
    if not isinstance(dim, Integral) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-bound}, {bound - 1}], but got {dim})")
    return dim + bound if dim < 0 else dim


def broadcast_shapes(*shapes) -> tuple:
    """NumPy/PyTorch broadcasting of several shapes; RuntimeError naming them if impossible."""
    ndim = max(len(s) for s in shapes)
    result = [1] * ndim
    for shape in shapes:
        offset = ndim - len(shape)
        for i, size in enumerate(shape):
            current = result[offset + i]
            if current == 1:
                result[offset + i] = size
            elif size != 1 and size != current:
                raise RuntimeError(
                    f"The size of tensor a ({current}) must match the size of tensor b "
                    f"({size}) at non-singleton dimension {offset + i}; shapes "
                    f"{' and '.join(str(list(s)) for s in shapes)} cannot be broadcast")
    return tuple(result)


def broadcast_strides(shape, strides, target) -> tuple:
    """Strides that view (shape, strides) as `target` (0 along broadcast dims)."""
    offset = len(target) - len(shape)
    out = [0] * len(target)
    for i, (size, stride) in enumerate(zip(shape, strides)):
        out[offset + i] = 0 if size == 1 and target[offset + i] != 1 else stride
    return tuple(out)


def infer_shape(shape, total: int) -> tuple:
    """Resolve one -1 in `shape` for a tensor of `total` elements, as view/reshape do."""
    shape = list(shape)
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if any(s < -1 for s in shape):
        raise RuntimeError(f"invalid shape dimension {min(shape)}")
    known = numel(s for s in shape if s != -1)
    if unknown:
        if known == 0 or total % known:
            raise RuntimeError(f"shape '{shape}' is invalid for input of size {total}")
        shape[unknown[0]] = total // known
    elif known != total:
        raise RuntimeError(f"shape '{shape}' is invalid for input of size {total}")
    return tuple(shape)


def view_strides(old_shape, old_strides, new_shape):
    """Strides for viewing (old_shape, old_strides) as new_shape without a copy, or None.

    Splits the old dims into chunks that are contiguous in memory; each chunk can be
    reshaped freely, but a new dim may not span two chunks.
    """
    if numel(old_shape) == 0 or not old_shape:
        return contiguous_strides(new_shape)
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base = old_strides[-1] if old_strides else 1
    tensor_numel = 1
    view_numel = 1
    for d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[d]
        if d == 0 or (old_shape[d - 1] != 1 and
                      old_strides[d - 1] != tensor_numel * chunk_base):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * chunk_base
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if d > 0:
                chunk_base = old_strides[d - 1]
                tensor_numel = 1
                view_numel = 1
    if view_d != -1:
        return None
    return tuple(new_strides)


def collapse(shape, stride_lists):
    """Merge dims that every operand walks contiguously; drop size-1 dims.

    Returns (shape, [strides per operand]) with as few dims as possible, so the kernel's
    index arithmetic runs over 1-2 dims in the common cases.
    """
    dims = [i for i, s in enumerate(shape) if s != 1]
    if not dims:
        return (), [() for _ in stride_lists]
    out_shape = [shape[dims[0]]]
    out_strides = [[st[dims[0]]] for st in stride_lists]
    for i in dims[1:]:
        size = shape[i]
        if all(o[-1] == st[i] * size for o, st in zip(out_strides, stride_lists)):
            out_shape[-1] *= size
            for o, st in zip(out_strides, stride_lists):
                o[-1] = st[i]
        else:
            out_shape.append(size)
            for o, st in zip(out_strides, stride_lists):
                o.append(st[i])
    return tuple(out_shape), [tuple(o) for o in out_strides]
