"""clgrad.autograd: define-by-run reverse-mode differentiation with PyTorch's semantics.

Ops record a graph of `Node`s (grad_fn) as they run when grad mode is on and an input
requires grad; `backward`/`grad` walk it iteratively (engine.py). Built-in ops get their
derivatives from ops.py; users add theirs with `Function`.
"""
from .binding import backward, grad, install
from .function import Function, Node, once_differentiable
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = [
    "Function",
    "GradcheckError",
    "Node",
    "backward",
    "enable_grad",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "install",
    "is_grad_enabled",
    "no_grad",
    "once_differentiable",
    "set_grad_enabled",
]
