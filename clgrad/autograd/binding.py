"""Wiring autograd into the public API: wrapped ops, Tensor.backward/register_hook/retain_grad,
and clgrad.autograd.backward / grad."""
from __future__ import annotations

import numbers

import numpy as np

from ..tensor.tensor import Tensor
from . import rules_math, rules_shape  # noqa: F401  (they register their rules)
from .engine import run_backward
from .function import wants_grad
from .grad_mode import is_grad_enabled
from .inplace import inplace
from .ops import RULES, wrap


# -- wrapping the public ops ----------------------------------------------------------------
def refuse(raw, name):
    """An op with no derivative yet: runs, unless a gradient would be needed."""
    def op(*args, **kwargs):
        out = raw(*args, **kwargs)
        if is_grad_enabled() and wants_grad(args, kwargs) and _differentiable(out):
            raise NotImplementedError(
                f"the derivative of {name} is not implemented yet (an input requires grad); "
                "wrap the call in clgrad.no_grad() or detach() the input")
        return out
    op.__name__ = getattr(raw, "__name__", name)
    op.__doc__ = raw.__doc__
    return op


def _differentiable(out) -> bool:
    if isinstance(out, Tensor):
        return out.dtype.is_floating_point
    if isinstance(out, (tuple, list)):
        return any(_differentiable(o) for o in out)
    return False


# Factories and generator state take no differentiable input: never wrapped.
_NOT_OPS = frozenset({
    "Generator", "arange", "as_tensor", "default_generator", "empty", "empty_like", "eye",
    "from_numpy", "full", "full_like", "initial_seed", "linspace", "manual_seed", "ones",
    "ones_like", "rand", "rand_like", "randint", "randint_like", "randn", "randn_like", "seed",
    "tensor", "zeros", "zeros_like"})
# Tensor-only methods that produce tensors from self (views, copies, casts).
_METHODS = ("view", "view_as", "reshape", "reshape_as", "flatten", "transpose", "swapaxes",
            "swapdims", "t", "permute", "expand", "expand_as", "squeeze", "unsqueeze", "narrow",
            "select", "unbind", "clone", "contiguous", "to", "float", "double", "half", "type",
            "cpu", "cuda",
            "repeat", "__getitem__")
_NOT_GUARDED = frozenset({"requires_grad_", "detach_"})
_REFLECTED = {"__radd__": "add", "__rsub__": "sub", "__rmul__": "mul", "__rtruediv__": "div",
              "__rpow__": "pow", "__rmod__": "remainder", "__rfloordiv__": "floor_divide"}
_OPERATORS = {"__add__": "add", "__sub__": "sub", "__mul__": "mul", "__truediv__": "div",
              "__pow__": "pow", "__matmul__": "matmul", "__neg__": "neg", "__abs__": "abs",
              "__mod__": "remainder", "__floordiv__": "floor_divide"}
_NUMBER = (Tensor, numbers.Number, np.number, np.bool_)


def install(namespace: dict) -> None:
    """Replace the public functions in `namespace` and Tensor's methods by recorded forms."""
    from ..tensor import tensor as tensor_module
    tensor_module.grad_enabled = is_grad_enabled
    for name, fn in list(namespace.items()):
        if name in _NOT_OPS or not callable(fn):
            continue
        namespace[name] = _public(fn, name)
    for name in sorted(set(namespace) | set(_METHODS)):
        raw = Tensor.__dict__.get(name)
        if raw is not None and name not in _NOT_OPS and callable(raw):
            setattr(Tensor, name, _public(raw, name, method=True))
    for name, value in list(Tensor.__dict__.items()):
        if (name.endswith("_") and not name.startswith("_") and name not in _NOT_GUARDED
                and callable(value)) or (name.startswith("__i") and name.endswith("__")
                                         and name not in ("__init__", "__iter__", "__index__",
                                                          "__init_subclass__")):
            setattr(Tensor, name, _inplace(value, name))
    Tensor.__setitem__ = _inplace(Tensor.__dict__["__setitem__"], "__setitem__")
    for name, op in _OPERATORS.items():
        setattr(Tensor, name, _public(Tensor.__dict__[name], op))
    for name, op in _REFLECTED.items():
        own = RULES.get(name)            # a reflected op with its own name (__rsub__)
        setattr(Tensor, name, _reflected(wrap(namespace[op].__wrapped__, own) if own
                                         else namespace[op]))
    Tensor.__rmatmul__ = lambda self, other: (namespace["matmul"](other, self)
                                              if isinstance(other, Tensor) else NotImplemented)
    Tensor.backward = backward_method
    Tensor.register_hook = register_hook
    Tensor.retain_grad = retain_grad


def _public(raw, name, method=False):
    """`raw` wrapped with its rule: a method's own ("Tensor.<name>") where its arguments
    differ from the function's, else the one rule of `name`."""
    cls = (method and RULES.get("Tensor." + name)) or RULES.get(name)
    return wrap(raw, cls) if cls is not None else refuse(raw, name)


def _reflected(function):
    def method(self, other):
        if not isinstance(other, _NUMBER):
            return NotImplemented
        return function(other, self)
    return method


_INPLACE_OPERATORS = {"__iadd__": "add", "__isub__": "sub", "__imul__": "mul",
                      "__itruediv__": "div", "__ipow__": "pow", "__ifloordiv__": "floor_divide",
                      "__imod__": "remainder"}


def _inplace(raw, name):
    """In-place ops record the derivative of their out-of-place twin (inplace.py)."""
    twin = _INPLACE_OPERATORS.get(name, name[:-1])
    return inplace(raw, name, RULES.get(name) or RULES.get(twin))


# -- backward entry points ---------------------------------------------------------------------
def _roots(tensors, grads, create_graph):
    """The roots and their starting gradients, checked as PyTorch checks them."""
    tensors = (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)
    for t in tensors:
        if not isinstance(t, Tensor):
            raise AssertionError("Expected output to be a Tensor")  # noqa: TRY004 (PyTorch's)
    if grads is None:
        grads = (None,) * len(tensors)
    grads = (grads,) if isinstance(grads, Tensor) else tuple(grads)
    for g in grads:
        if g is not None and not isinstance(g, Tensor):
            raise TypeError(f"gradients can be either Tensors or None, but got "
                            f"{type(g).__name__}")
    if len(grads) != len(tensors):
        raise RuntimeError(f"got {len(tensors)} tensors and {len(grads)} gradients")
    out = []
    for t, g in zip(tensors, grads):
        if not t.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn")
        if g is None:
            if t._numel != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            from ..tensor.creation import ones
            g = ones(t._shape, dtype=t.dtype, device=t.device)
        elif g._shape != t._shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of "
                               f"{list(g._shape)} and output[0] has a shape of "
                               f"{list(t._shape)}.")
        out.append(g.detach() if g.requires_grad and not create_graph else g)
    return tensors, out


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaves) into the leaves' .grad (clgrad.autograd.backward)."""
    tensors, grads = _roots(tensors, grad_tensors, create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = _inputs(inputs)
        if not inputs:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
        for t in inputs:
            if not t.requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
    run_backward(tensors, grads, retain_graph, create_graph, inputs)


def _inputs(inputs) -> tuple:
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    for t in inputs:
        if not isinstance(t, Tensor):
            raise RuntimeError(f"all inputs have to be Tensors or GradientEdges, but got "  # noqa: TRY004
                               f"{type(t).__name__}")
    return inputs


def backward_method(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """Compute the gradient of this tensor with respect to the graph's leaves."""
    backward(self, gradient, retain_graph, create_graph, inputs)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, materialize_grads=False):
    """The gradients of `outputs` with respect to `inputs`, returned (not accumulated)."""
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    outputs, grads = _roots(outputs, grad_outputs, create_graph)
    inputs = _inputs(inputs)
    if not inputs:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors does not require grad "
                               f"(input {i})")
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outputs, grads, retain_graph, create_graph, inputs, capture=True)
    for i, g in enumerate(result):
        if g is None and materialize_grads:
            from ..tensor.creation import zeros_like
            result[i] = zeros_like(inputs[i])
        elif g is None and not allow_unused:
            raise RuntimeError("One of the differentiated Tensors appears to not have been "
                               "used in the graph. Set allow_unused=True if this is the "
                               "desired behavior.")
    return tuple(result)


def register_hook(self, hook):
    """Call hook(grad) when this tensor's gradient is computed; a returned tensor replaces
    the gradient. Returns a handle with remove()."""
    if not self.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if self.grad_fn is None:
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _Handle(self._hooks, hook)
    self.grad_fn.register_prehook(self._output_nr, hook)
    return _Handle(self.grad_fn._pre_hooks[self._output_nr], hook)


def retain_grad(self) -> None:
    """Keep this non-leaf tensor's gradient in .grad after backward."""
    if not self.requires_grad:
        raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
    if self.grad_fn is None or self._retains_grad:
        return
    self._retains_grad = True
    import weakref
    ref = weakref.ref(self)

    def keep(g):
        t = ref()
        if t is not None:
            t._grad = g.detach().clone() if t._grad is None else t._grad + g.detach()
    keep.retains_grad = True                     # the engine runs it after the other hooks
    self.grad_fn.register_prehook(self._output_nr, keep)


class _Handle:
    """What register_hook returns: remove() unregisters the hook."""

    def __init__(self, hooks: list, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)
