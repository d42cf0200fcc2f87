"""gradcheck / gradgradcheck: analytical gradients against central finite differences.

Like PyTorch's: inputs that require grad should be float64; the numerical Jacobian perturbs
one input element at a time by +-eps, the analytical one backpropagates a one-hot gradient
per output element, and the two must agree within atol + rtol * |numerical|.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..tensor.tensor import Tensor
from .binding import grad


class GradcheckError(RuntimeError):
    """Raised by gradcheck when the analytical and numerical Jacobians differ."""


def _check_inputs(inputs) -> None:
    """PyTorch's checks: some input requires grad, and those that do are double precision
    (a warning: single precision differences will likely fail)."""
    wanted = [(i, x) for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not wanted:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of them have requires_grad=True.")
    for i, x in wanted:
        if x.dtype.name != "float64":
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          "point or complex. This check will likely fail if all the inputs are "
                          "not of double precision floating point or complex. ", UserWarning,
                          stacklevel=3)


def _outputs(func, inputs) -> tuple:
    out = func(*inputs)
    return (out,) if isinstance(out, Tensor) else tuple(o for o in out if isinstance(o, Tensor))


def _numerical(func, inputs, i, eps) -> list:
    """d(outputs)/d(inputs[i]) by central differences: one (n_out, n_in) array per output."""
    x = inputs[i]
    base = x.detach().numpy(force=True).astype(np.float64)
    flat = base.reshape(-1)
    cols = []
    for k in range(flat.size):
        values = []
        for step in (eps, -eps):
            pert = flat.copy()
            pert[k] += step
            moved = Tensor._from_host(pert.reshape(base.shape), x.device).to(x.dtype)
            args = list(inputs)
            args[i] = moved.requires_grad_(x.requires_grad)   # func may differentiate itself
            values.append([o.detach().numpy(force=True).astype(np.float64).reshape(-1)
                           for o in _outputs(func, args)])
        cols.append([(p - m) / (2 * eps) for p, m in zip(*values)])
    n_out = len(cols[0]) if cols else len(_outputs(func, inputs))
    return [np.stack([c[o] for c in cols], axis=1) if cols else np.zeros((0, 0))
            for o in range(n_out)]


def _analytical(outputs, inputs, i, create_graph=False) -> list:
    """d(outputs)/d(inputs[i]) row by row (one backward per output element)."""
    from ..tensor.creation import zeros_like
    x = inputs[i]
    rows = []
    for out in outputs:
        jac = np.zeros((out.numel(), x.numel()))
        if out.requires_grad:
            for r in range(out.numel()):
                onehot = zeros_like(out).reshape(-1)
                onehot[r] = 1
                (g,) = grad(out, x, onehot.reshape(out.shape), retain_graph=True,
                            allow_unused=True)
                if g is not None:
                    jac[r] = g.detach().numpy(force=True).reshape(-1)
        rows.append(jac)
    return rows


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **_ignored) -> bool:
    """Check func's gradients with respect to every input that requires grad."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    _check_inputs(inputs)
    outputs = _outputs(func, inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            continue
        numerical = _numerical(func, inputs, i, eps)
        analytical = _analytical(outputs, inputs, i)
        for o, (a, n) in enumerate(zip(analytical, numerical)):
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                if raise_exception:
                    raise GradcheckError(
                        f"Jacobian mismatch for output {o} with respect to input {i},\n"
                        f"numerical:{n}\nanalytical:{a}\n")
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, **_ignored) -> bool:
    """gradcheck of the function (inputs, grad_outputs) -> d(func)/d(inputs) . grad_outputs."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    outputs = _outputs(func, inputs)
    if grad_outputs is None:
        from ..tensor.random import randn
        grad_outputs = tuple(randn(o.shape, dtype=o.dtype, device=o.device).requires_grad_()
                             for o in outputs)
    grad_outputs = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
    n = len(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]

    def first_derivative(*args):
        xs, gs = args[:n], args[n:]
        outs = _outputs(func, xs)
        grads = grad(outs, [xs[i] for i in diff], gs, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)
    return gradcheck(first_derivative, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
