"""RMSprop, with momentum and the centered variant."""
from __future__ import annotations

from .adam import _step_value, _zeros
from .optimizer import Optimizer, fused_update


class RMSprop(Optimizer):
    """PyTorch's RMSprop: one fused kernel per parameter and step.

    State per parameter: 'step' (a Python float), 'square_avg', with momentum
    'momentum_buffer' and, when centered, 'grad_avg' (all zero-initialised).
    `maximize` is keyword-only here: torch's positional `capturable` and `foreach`, which
    precede it, are not accepted.
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False) -> None:
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
                    "centered": centered, "weight_decay": weight_decay, "maximize": maximize}
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        alpha, momentum, weight_decay = group["alpha"], group["momentum"], group["weight_decay"]
        centered = bool(group["centered"])
        flags = (bool(group["maximize"]), weight_decay != 0, momentum > 0, centered)
        scalars = [-group["lr"], weight_decay, alpha, 1 - alpha, group["eps"], momentum]
        for p in group["params"]:
            grad = p._grad
            if grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = 0.0
                state["square_avg"] = _zeros(p)
                if momentum > 0:
                    state["momentum_buffer"] = _zeros(p)
                if centered:
                    state["grad_avg"] = _zeros(p)
            state["step"] = _step_value(state["step"]) + 1
            square_avg = state["square_avg"]
            # a variant that is off ignores its buffer argument: pass square_avg instead
            buffers = [square_avg,
                       state["grad_avg"] if centered else square_avg,
                       state["momentum_buffer"] if momentum > 0 else square_avg]
            fused_update("rmsprop", flags, p, grad, buffers, scalars)
