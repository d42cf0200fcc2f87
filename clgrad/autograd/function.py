"""Graph nodes and `Function`: an op's forward and derivative, defined once.

A `Function` subclass gives `forward(ctx, *args)` (run without recording) and
`backward(ctx, *grads)` (one gradient per forward argument; None for non-tensors). `apply`
runs forward and, when grad mode is on and an input requires grad, makes `ctx` the outputs'
`grad_fn`: a `Node` named `<Function>Backward` that holds the input edges, saved tensors and
their versions. Built-in ops (autograd/ops.py) are Functions too.
"""
from __future__ import annotations

import functools
import weakref

from ..tensor.tensor import Tensor
from .grad_mode import _set, is_grad_enabled

FREED = ("Trying to backward through the graph a second time (or directly access saved "
         "tensors after they have already been freed). Saved intermediate values of the graph "
         "are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if "
         "you need to backward through the graph a second time or if you need to access saved "
         "tensors after calling backward.")


class Node:
    """A recorded op: PyTorch's grad_fn (and a custom Function's ctx)."""

    # Defaults as class attributes: a node sets only what differs (it is made per op call).
    next_functions = ()          # per forward argument: (node or None, output number)
    needs_input_grad = ()
    _meta = ()                   # per forward argument: (shape, dtype), or None
    _saved = ()
    _saved_outputs = None        # saved index -> output number, for outputs saved
    _versions = ()
    _freed = False
    _single_use = False          # runs once without retain_graph even if it saved nothing
    _custom = False              # a custom Function's node: its ctx use and results checked
    _in_forward = False
    _pre_hooks = None            # output number -> [hook(grad) -> grad or None]
    _non_differentiable = ()
    _dirty = ()
    materialize_grads = True
    n_outputs = 1
    _output_meta = ()

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    # -- the ctx API ----------------------------------------------------------------------
    def save_for_backward(self, *tensors) -> None:
        if self._custom:
            for i, t in enumerate(tensors):
                if t is not None and not isinstance(t, Tensor):
                    raise TypeError(f"save_for_backward can only save variables, but argument "
                                    f"{i} is of type {type(t).__name__}")
        self._saved = tensors
        self._versions = tuple(t._vc.version if isinstance(t, Tensor) else None
                               for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self._freed:
            raise RuntimeError(FREED)
        if self._in_forward:
            return ()
        for t, version in zip(self._saved, self._versions):
            if isinstance(t, Tensor) and t._vc.version != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [clgrad.{t.dtype.name} {list(t._shape)}], "
                    f"which is used by {self.name()}, is at version {t._vc.version}; "
                    f"expected version {version} instead. Hint: the backtrace further above "
                    "shows the operation that failed to compute its gradient.")
        if self._saved_outputs is None:
            return self._saved
        saved = list(self._saved)
        for i, nr in self._saved_outputs.items():     # outputs come back with their history
            t = saved[i]
            saved[i] = t = t._alias()
            t.grad_fn, t._output_nr, t._requires_grad = self, nr, True
        return tuple(saved)

    def mark_dirty(self, *tensors) -> None:
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise RuntimeError(f"mark_dirty can only accept variables, but argument {i} is "  # noqa: TRY004
                                   f"of type {type(t).__name__}")
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value

    # -- what the engine calls ------------------------------------------------------------
    def apply(self, *grads) -> tuple:
        raise NotImplementedError

    def release(self) -> None:
        """Free the saved tensors (after a backward without retain_graph). A node that held
        tensors (saved, or kept as attributes) can't run again; one that held none can, as in
        PyTorch."""
        self._freed = self._single_use or bool(self._saved) or any(
            isinstance(v, Tensor) for v in vars(self).values())
        self._saved = ()

    def register_prehook(self, output_nr: int, hook) -> None:
        if self._pre_hooks is None:
            self._pre_hooks = {}
        self._pre_hooks.setdefault(output_nr, []).append(hook)


class AccumulateGrad(Node):
    """The end of every path to a leaf: adds the incoming gradient to `variable.grad`."""

    def __init__(self, variable: Tensor):
        self.variable = variable

    def apply(self, *grads) -> tuple:
        raise AssertionError("AccumulateGrad is run by the engine")


def edge(t: Tensor) -> tuple:
    """(node, output number) through which a gradient reaches `t`."""
    if t._base is not None and t._vc.version != t._view_version:
        refresh_view(t)
    if t.grad_fn is not None:
        return t.grad_fn, t._output_nr
    ref = t._grad_accumulator
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(t)
        t._grad_accumulator = weakref.ref(node)
    return node, 0


def refresh_view(t: Tensor) -> None:
    """Set by inplace.py: give a view whose base was written in place since the view's
    grad_fn was set a grad_fn that reads the base's current history."""


def wants_grad(args, kwargs) -> bool:
    """Whether a tensor argument (positional, in a list such as cat's, or by keyword)
    requires grad."""
    for a in args:
        if isinstance(a, Tensor):
            if a._requires_grad:
                return True
        elif isinstance(a, (list, tuple)):
            for b in a:
                if isinstance(b, Tensor) and b._requires_grad:
                    return True
    if kwargs:
        for a in kwargs.values():
            if isinstance(a, Tensor) and a._requires_grad:
                return True
    return False


class _FunctionNode(Node):
    """The grad_fn of a Function's outputs: backward is the Function's."""

    _function = None

    def apply(self, *grads) -> tuple:
        result = self._function.backward(self, *grads)
        result = result if isinstance(result, tuple) else (result,)
        missing = len(self.next_functions) - len(result)
        if self._function._pad_grads and missing > 0:    # built-ins: trailing args get None
            result += (None,) * missing
        return result


class FunctionMeta(type):
    """Gives every Function subclass its node class, named `<Name>Backward<suffix>` or, for
    built-ins PyTorch names otherwise, its own `_node_name` (not inherited)."""

    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        suffix = getattr(cls, "_backward_suffix", "")
        node_name = namespace.get("_node_name") or f"{name}Backward{suffix}"
        cls._node_class = type(node_name, (_FunctionNode,),
                               {"_function": cls, "__module__": cls.__module__,
                                "_single_use": getattr(cls, "_single_use", False),
                                "_custom": not getattr(cls, "_pad_grads", False)})


class Function(metaclass=FunctionMeta):
    """An op with a hand-written derivative: subclass with static forward and backward."""

    _pad_grads = False    # a custom backward must return one gradient per argument

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward "
                                  "mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = cls._node_class()
        # as PyTorch: whether each input requires grad, grad mode or not
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        record = is_grad_enabled() and any(ctx.needs_input_grad)
        prev = is_grad_enabled()
        _set(False)
        ctx._in_forward = True            # saved_tensors is empty until forward returns
        try:
            outputs = cls.forward(ctx, *args, **kwargs)
        finally:
            _set(prev)
            ctx._in_forward = False
        if not record:
            return outputs
        return _record(ctx, args, outputs)


_NO_EDGE = (None, 0)


def _record(ctx: Node, args, outputs):
    """Make `ctx` the grad_fn of `outputs` (a tensor or a tuple of them)."""
    edges, meta = [], []
    for a in args:
        if isinstance(a, Tensor):
            edges.append(edge(a) if a._requires_grad else _NO_EDGE)
            meta.append((a._shape, a.dtype))
        else:
            edges.append(_NO_EDGE)
            meta.append(None)
    ctx.next_functions, ctx._meta = tuple(edges), tuple(meta)
    if type(outputs) is Tensor and not ctx._dirty and not ctx._non_differentiable:
        return _record_one(ctx, args, outputs)
    single = not isinstance(outputs, tuple)
    outs = (outputs,) if single else outputs
    ctx.n_outputs = len(outs)
    ctx._output_meta = tuple((o._shape, o.dtype, o._storage.device) if isinstance(o, Tensor)
                             else None for o in outs)
    dirty = ctx._dirty
    if any(not any(d is o for o in outs) for d in dirty):
        raise RuntimeError("Some elements marked as dirty during the forward method were not "
                           "returned as output. The inputs that are modified inplace must all "
                           "be outputs of the Function.")
    result = []
    for i, out in enumerate(outs):
        if isinstance(out, Tensor):
            out._made_without_grad = False
            if any(out is d for d in dirty):
                if out.grad_fn is None and out.requires_grad and out.is_leaf:
                    raise RuntimeError("a leaf Variable that requires grad is being used in "
                                       "an in-place operation.")
            elif any(out is a for a in args):
                out = out.detach()        # an input returned as-is: a new view of it
            if any(out is n for n in ctx._non_differentiable) or not out.dtype.is_floating_point:
                out._requires_grad = False
            else:
                out.grad_fn, out._output_nr, out._requires_grad = ctx, i, True
        result.append(out)
    if ctx._saved:
        _unlink_saved_outputs(ctx, result)
    if single:
        return result[0]
    return type(outputs)(*result) if hasattr(outputs, "_fields") else tuple(result)


def _record_one(ctx: Node, args, out: Tensor) -> Tensor:
    """_record for the common case: one output, nothing marked dirty or non-differentiable."""
    for a in args:
        if out is a:
            out = out.detach()            # an input returned as-is: a new view of it
            break
    ctx._output_meta = ((out._shape, out.dtype, out._storage.device),)
    out._made_without_grad = False       # its raw op ran with grad off: recorded all the same
    if out.dtype.is_floating_point:
        out.grad_fn, out._output_nr, out._requires_grad = ctx, 0, True
        if ctx._saved:
            _unlink_saved_outputs(ctx, (out,))
    else:
        out._requires_grad = False
    return out


def _unlink_saved_outputs(ctx: Node, outputs) -> None:
    """Keep a saved output as a plain alias of its storage, not as the tensor whose grad_fn
    is ctx: otherwise output -> grad_fn -> saved output is a cycle, and a dead output's
    buffer would wait for the cycle collector (saved_tensors rebuilds the link)."""
    saved = list(ctx._saved)
    for i, t in enumerate(saved):
        for nr, out in enumerate(outputs):
            if t is out and out.grad_fn is ctx:
                saved[i] = t._alias()
                if ctx._saved_outputs is None:
                    ctx._saved_outputs = {}
                ctx._saved_outputs[i] = nr
    ctx._saved = tuple(saved)


def once_differentiable(backward):
    """Mark a backward as not differentiable itself: it runs without recording, and when a
    double backward is being recorded its results raise if it is differentiated."""
    @functools.wraps(backward)
    def run(ctx, *grads):
        prev = is_grad_enabled()
        _set(False)
        try:
            result = backward(ctx, *grads)
        finally:
            _set(prev)
        recorded = [g for g in grads if isinstance(g, Tensor) and g.requires_grad]
        if not (prev and recorded):
            return result
        single = not isinstance(result, tuple)
        marked = tuple(DelayedError.apply(r, *recorded) if isinstance(r, Tensor) else r
                       for r in ((result,) if single else result))
        return marked[0] if single else marked
    return run


class DelayedError(Function):
    """Stands for a once_differentiable backward's result in a recorded double backward."""

    @staticmethod
    def forward(ctx, result, *grads):
        return result.detach()

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError("trying to differentiate twice a function that was marked with "
                           "@once_differentiable")
