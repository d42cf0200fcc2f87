"""RMSprop, with momentum and the centered variant."""
from __future__ import annotations

from .optimizer import Optimizer, fused_update, next_step, state_buffer


class RMSprop(Optimizer):
    """PyTorch's RMSprop: one fused kernel per parameter and step.

    State per parameter: 'step' (a Python float), 'square_avg', with momentum
    'momentum_buffer' and, when centered, 'grad_avg' (all zero-initialised).
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay,
                    "capturable": capturable, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        alpha, momentum, weight_decay = group["alpha"], group["momentum"], group["weight_decay"]
        centered = bool(group["centered"])
        flags = (bool(group["maximize"]), weight_decay != 0, momentum > 0, centered)
        scalars = [-group["lr"], weight_decay, alpha, 1 - alpha, group["eps"], momentum]
        for p, grad, state in self._with_grad(group):
            if len(state) == 0:
                state["step"] = 0.0
                state["square_avg"] = state_buffer(p, 0)
                if momentum > 0:
                    state["momentum_buffer"] = state_buffer(p, 0)
                if centered:
                    state["grad_avg"] = state_buffer(p, 0)
            next_step(state)
            square_avg = state["square_avg"]
            # a variant that is off ignores its buffer argument: pass square_avg instead
            buffers = [square_avg,
                       state["grad_avg"] if centered else square_avg,
                       state["momentum_buffer"] if momentum > 0 else square_avg]
            fused_update("rmsprop", flags, p, grad, buffers, scalars)
