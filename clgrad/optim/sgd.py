"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay."""
from __future__ import annotations

from .optimizer import Optimizer, fused_update, state_buffer


class SGD(Optimizer):
    """PyTorch's SGD: one fused kernel per parameter and step.

    With momentum the state of each parameter holds 'momentum_buffer', initialised to the
    first (weight-decayed, sign-adjusted) gradient.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        momentum = group["momentum"]
        weight_decay = group["weight_decay"]
        flags = (bool(group["maximize"]), weight_decay != 0, momentum != 0,
                 bool(group["nesterov"]))
        scalars = [-group["lr"], weight_decay, momentum, 1 - group["dampening"]]
        for p, grad, state in self._with_grad(group):
            buf = state.get("momentum_buffer") if momentum != 0 else None
            first = momentum != 0 and buf is None
            if first:
                buf = state_buffer(p)
            # without momentum the kernel ignores its buffer argument: pass the parameter
            buffers = [buf if buf is not None else p]
            fused_update("sgd", flags, p, grad, buffers, scalars + [int(first)])
            if momentum != 0:
                state["momentum_buffer"] = buf

