"""The backward engine: iterative, dependency-counted, freeing what it has used.

`run_backward` walks the graph from the roots without recursion (a 10,000-op chain is fine),
counts how many edges lead into each node, and runs a node once all its incoming gradients
are summed. Gradients are reduced to each input's shape here, once, not in every
derivative (broadcasting). Saved tensors are freed as each node finishes unless
`retain_graph`. `inputs` given: gradients are captured for those tensors only (autograd.grad)
or accumulated into those leaves only (backward(inputs=...)).
"""
from __future__ import annotations

import sys

from ..tensor.elementwise import run
from ..tensor.ops import OPS
from ..tensor.reduce import sum_dims
from ..tensor.shape import Size, contiguous_strides, dense_strides
from ..tensor.storage import Storage
from ..tensor.tensor import Tensor
from .function import AccumulateGrad, edge
from .grad_mode import _set, is_grad_enabled


def run_backward(roots, grads, retain_graph: bool, create_graph: bool, inputs=None,
                 capture: bool = False):
    """Propagate `grads` from `roots`; return captured grads for `inputs` if `capture`."""
    starts = [edge(t) for t in roots]
    deps = _dependencies([node for node, _ in starts])
    buffers: dict = {}
    for (node, nr), g in zip(starts, grads):
        _add(buffers, node, nr, g)
    targets = None
    if inputs is not None:
        targets = {}
        for i, t in enumerate(inputs):
            targets.setdefault(edge(t), []).append(i)
    captured = [None] * (len(inputs) if inputs is not None else 0)
    ready = [node for node, _ in starts if deps.get(node, 0) == 0]
    ready = list(dict.fromkeys(ready))
    prev = is_grad_enabled()
    _set(create_graph)
    try:
        while ready:
            node = ready.pop()
            node_grads = buffers.pop(node, None) or [None] * node.n_outputs
            node_grads = _pre_hooks(node, node_grads)
            leaf = isinstance(node, AccumulateGrad)
            if leaf and node.variable._hooks:
                node_grads[0] = _leaf_hooks(node.variable, node_grads[0])
            if targets is not None:
                for nr, g in enumerate(node_grads):
                    for i in targets.get((node, nr), ()):
                        if capture:
                            captured[i] = g
                        elif not leaf:                 # backward(inputs=[non-leaf])
                            _accumulate(inputs[i], g, create_graph)
            if leaf:
                if not capture and (targets is None or (node, 0) in targets) and \
                        node.variable._requires_grad:       # not since requires_grad_(False)
                    _accumulate(node.variable, node_grads[0], create_graph)
                continue
            _propagate(node, _apply(node, node_grads), buffers, deps, ready)
            if not retain_graph:
                node.release()
    finally:
        _set(prev)
    return captured


def _propagate(node, grads, buffers: dict, deps: dict, ready: list) -> None:
    """Hand node's input gradients to the nodes they belong to; queue the ones complete."""
    for (nxt, nr), g in zip(node.next_functions, grads):
        if nxt is None:
            continue
        if g is not None:
            _add(buffers, nxt, nr, g)
        deps[nxt] -= 1
        if deps[nxt] == 0:
            ready.append(nxt)


def _dependencies(starts) -> dict:
    """Number of edges into each node reachable from `starts` (iterative DFS)."""
    deps: dict = {}
    seen = set(starts)
    stack = list(starts)
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps


def _add(buffers: dict, node, nr: int, g: Tensor) -> None:
    slots = buffers.get(node)
    if slots is None:
        slots = buffers[node] = [None] * node.n_outputs
    slots[nr] = g if slots[nr] is None else slots[nr] + g


def _retains(hook) -> bool:
    return getattr(hook, "retains_grad", False)


def _pre_hooks(node, grads: list) -> list:
    """Tensor hooks (register_hook, retain_grad) on the node's outputs, in order."""
    if node._pre_hooks is None:
        return grads
    grads = list(grads)
    for nr, hooks in node._pre_hooks.items():
        for hook in sorted(hooks, key=_retains):    # retain_grad sees the hooked gradient
            if grads[nr] is None:
                continue
            grads[nr] = _hooked(hook, grads[nr], hook(grads[nr]))
    return grads


def _leaf_hooks(t: Tensor, g):
    """A leaf's register_hook hooks, in order (for .grad and for autograd.grad alike)."""
    if g is None:
        return g
    for hook in t._hooks:
        g = _hooked(hook, g, hook(g))
    return g


def _hooked(hook, g: Tensor, result):
    """The gradient after `hook` returned `result` (None: unchanged), checked as PyTorch:
    a hook may change the values, not the size, dtype or device."""
    if result is None:
        return g
    if not isinstance(result, Tensor):
        raise TypeError(f"expected Variable, but hook returned '{type(result).__name__}'")
    name = getattr(hook, "__name__", type(hook).__name__)
    if result._shape != g._shape:
        raise RuntimeError(f"hook '{name}' has changed the size of value")
    if result.dtype is not g.dtype or result._storage.device is not g._storage.device:
        raise RuntimeError(f"hook '{name}' has changed the type of value (was {g.type()} on "
                           f"{g.device} got {result.type()} on {result.device})")
    return result


def _apply(node, grads: list) -> tuple:
    """Run node's backward; check and reduce each input gradient to the input's shape."""
    if node._freed:
        from .function import FREED
        raise RuntimeError(FREED)
    if node.materialize_grads and any(g is None for g in grads):
        grads = [g if g is not None or node._output_meta[nr] is None   # non-tensor output
                 else _zeros_for(node, nr) for nr, g in enumerate(grads)]
    result = node.apply(*grads)
    n = len(node.next_functions)
    if len(result) > n and all(g is None for g in result[n:]):
        result = result[:n]               # trailing Nones for nothing: PyTorch drops them
    if len(result) != n:
        raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                           f"(expected {n}, got {len(result)})")
    if node._custom:
        _check_custom(node, result)
    out = []
    for i, (g, meta) in enumerate(zip(result, node._meta)):
        if g is not None and meta is not None:
            shape, dtype = meta
            if g._shape != shape:
                g = _sum_to(g, shape, node, i)
            if g.dtype is not dtype:              # mixed-dtype ops: back to the input's
                g = g.to(dtype)
        out.append(g)
    return out


def _check_custom(node, result) -> None:
    """A custom Function's backward returns a tensor or None per input, None for the
    non-tensor ones (built-in rules may return anything for those: it is dropped)."""
    for i, (g, meta) in enumerate(zip(result, node._meta)):
        if g is None:
            continue
        if not isinstance(g, Tensor):
            kind = type(g)
            what = kind.__name__ if kind.__module__ == "builtins" else \
                f"{kind.__module__}.{kind.__name__}"
            raise RuntimeError(f"expected Variable or None (got {what})")  # noqa: TRY004
        if meta is None:
            raise RuntimeError(f"function {node.name()} returned a gradient different than None "
                               f"at position {i + 1}, but the corresponding forward input was "
                               "not a Variable")


def _zeros_for(node, nr):
    shape, dtype, device = node._output_meta[nr]
    from ..tensor.creation import zeros
    return zeros(shape, dtype=dtype, device=device)


def _sum_to(g: Tensor, shape, node, i: int) -> Tensor:
    """Sum a broadcast gradient back to `shape`; anything else is the function's error."""
    lead = len(g._shape) - len(shape)
    dims = tuple(range(lead)) + tuple(
        lead + d for d, s in enumerate(shape) if s == 1 and g._shape[lead + d] != 1)
    ok = lead >= 0 and all(s == g._shape[lead + d] or s == 1 for d, s in enumerate(shape))
    if not ok:
        raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index {i} "
                           f"- got {list(g._shape)} but expected shape compatible with "
                           f"{list(shape)}")
    if not dims:
        return g.reshape(shape)
    if is_grad_enabled() or not g.dtype.is_floating_point:   # create_graph: differentiable
        return g.sum(dims, keepdim=True).reshape(shape)
    # A fresh tensor of its own (not a view), so accumulation may take it as it is.
    summed = sum_dims(g, dims)
    return Tensor._make(summed._storage, Size(shape), contiguous_strides(shape), 0, g.dtype)


def _engine_refs() -> int:
    """References to a gradient inside _unshared when only the engine holds it (node_grads
    slot, the call's arguments, getrefcount's), measured along the same call path."""
    def accumulate(_t, g, _create):
        return unshared(g)

    def unshared(g):
        return sys.getrefcount(g)
    slot = [object()]
    return accumulate(None, slot[0], False)


_ENGINE_REFS = _engine_refs()


def _accumulate(t: Tensor, g: Tensor, create_graph: bool) -> None:
    """Add `g` into t.grad (a fresh dense tensor the first time; out of place when the
    backward is itself being recorded)."""
    if g is None:
        return
    if t._grad is None:
        # .grad gets dense storage of its own (later add_ must not reach a shared g): a
        # fresh gradient nobody else holds is taken as it is, anything else is copied.
        fresh = not create_graph and _unshared(g)
        if not fresh and not create_graph and g._base is not None:
            whole = _unshared_alias(g)             # (g^T @ x)^T seen through two transposes
            if whole is not None:
                g, fresh = whole, True
        if g._requires_grad and not create_graph:
            g = g.detach()
        # .grad is laid out like the parameter (PyTorch's layout contract): its strides for a
        # dense one, row-major otherwise. A transposed view's gradient (x @ W.T) is not kept
        # transposed, so optimizers read it in place.
        strides = _grad_strides(t)
        if fresh and g._stride != strides and any(
                n > 1 and a != b for n, a, b in zip(g._shape, g._stride, strides)):
            fresh = False
        if fresh:
            t._grad = g
        elif create_graph:
            t._grad = g.clone()
        else:
            out = Tensor._make(Storage(g._storage.device, t._numel * g.dtype.itemsize),
                               t._shape, strides, 0, g.dtype)
            t._grad = run(OPS["copy"], (g,), out=out, unsafe=True)
    elif create_graph:
        t._grad = t._grad + g
    else:
        run(OPS["add"], (t._grad, g), out=t._grad)      # t.grad += g: nothing to record


def _grad_strides(t: Tensor) -> tuple:
    """The strides t.grad gets: t's own where t is dense (a permuted contiguous layout),
    contiguous ones otherwise."""
    if t._contig:
        return t._stride
    return dense_strides(t._shape, t._stride) or contiguous_strides(t._shape)


def _unshared_alias(g: Tensor):
    """The base of view `g` when `g` is all of it (same shape, strides and offset: a double
    transpose) and only the engine holds either, so the base may be taken as the gradient;
    else None. The base is referenced by g._base, `base` and getrefcount's argument; the
    storage by both tensors, `st` and the argument."""
    base, st = g._base, g._storage
    if (base._shape != g._shape or base._stride != g._stride or base._offset != g._offset
            or base._base is not None or base._requires_grad):
        return None
    if (g._contig and g._offset == 0 and not st.shared
            and g._numel * g.dtype.itemsize == st.nbytes
            and sys.getrefcount(g) <= _ENGINE_REFS and sys.getrefcount(base) <= 3
            and sys.getrefcount(st) <= 4):
        return base
    return None


def _unshared(g: Tensor) -> bool:
    """Whether `g` owns all of its storage and only the engine refers to it (the caller's
    list slot and argument, and this call's; the storage: g, `st` and getrefcount's):
    PyTorch's test for stealing a gradient."""
    st = g._storage
    return (g._contig and g._offset == 0 and g._base is None and not st.shared
            and g._numel * g.dtype.itemsize == st.nbytes
            and sys.getrefcount(g) <= _ENGINE_REFS and sys.getrefcount(st) <= 3)
