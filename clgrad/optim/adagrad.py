"""Adagrad, with learning-rate decay."""
from __future__ import annotations

from ..tensor import Tensor
from .optimizer import Optimizer, fused_update, next_step, state_buffer


class Adagrad(Optimizer):
    """PyTorch's Adagrad: one fused kernel per parameter and step.

    State per parameter, created at construction as torch does: 'step' (a Python float,
    0.0) and 'sum' (filled with the constructor's `initial_accumulator_value`: as in torch, a
    group's own value is not used for the parameters given here, only for groups added later
    with `add_param_group`, whose state is created on their first step). Step k uses the
    learning rate lr / (1 + (k - 1) * lr_decay).
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError("Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
                    "fused": fused}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, initial_accumulator_value)

    def _init_state(self, p: Tensor, initial_accumulator_value: float) -> None:
        state = self.state[p]
        state["step"] = 0.0
        state["sum"] = state_buffer(p, initial_accumulator_value)

    def _update_group(self, group: dict) -> None:
        lr, lr_decay, weight_decay = group["lr"], group["lr_decay"], group["weight_decay"]
        flags = (bool(group["maximize"]), weight_decay != 0)
        for p, grad, state in self._with_grad(group):
            if len(state) == 0:         # added by add_param_group after construction
                self._init_state(p, group["initial_accumulator_value"])
            step = next_step(state)
            clr = lr / (1 + (step - 1) * lr_decay)
            scalars = [-clr, weight_decay, group["eps"]]
            fused_update("adagrad", flags, p, grad, [state["sum"]], scalars)
