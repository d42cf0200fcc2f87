"""Parameter: a leaf Tensor that a Module registers as one of its parameters."""
from __future__ import annotations

from ..tensor import Tensor

_FIELDS = tuple(s for s in Tensor.__slots__ if s != "__weakref__")


class Parameter(Tensor):
    """A Tensor sharing `data`'s storage that is a leaf requiring grad (unless told not to).

    Modules register a Parameter assigned as an attribute; ops on it return plain Tensors.
    """

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from ..tensor.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): data must be a Tensor, not {type(data).__name__}")
        detached = data.detach()
        param = object.__new__(cls)
        for field in _FIELDS:
            object.__setattr__(param, field, getattr(detached, field))
        param.requires_grad_(requires_grad)
        return param

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        copied = type(self)(self.detach().clone(), self.requires_grad)
        memo[id(self)] = copied
        return copied
