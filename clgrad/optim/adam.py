"""Adam and AdamW (decoupled weight decay), with AMSGrad."""
from __future__ import annotations

from .optimizer import Optimizer, fused_update, next_step, state_buffer


class Adam(Optimizer):
    """PyTorch's Adam: one fused kernel per parameter and step.

    State per parameter: 'step' (a Python float), 'exp_avg', 'exp_avg_sq' and, with
    amsgrad, 'max_exp_avg_sq'. `decoupled_weight_decay=True` is AdamW.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not (isinstance(betas[0], float) and isinstance(betas[1], float)):
            raise ValueError("betas must be either both floats or both Tensors")  # noqa: TRY004
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        amsgrad = bool(group["amsgrad"])
        decoupled = bool(group["decoupled_weight_decay"])
        flags = (bool(group["maximize"]), weight_decay != 0, amsgrad, decoupled)
        for p, grad, state in self._with_grad(group):
            if len(state) == 0:
                state["step"] = 0.0
                state["exp_avg"] = state_buffer(p, 0)
                state["exp_avg_sq"] = state_buffer(p, 0)
                if amsgrad:
                    state["max_exp_avg_sq"] = state_buffer(p, 0)
            step = next_step(state)
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            step_size = lr / bias_correction1
            scalars = [1 - lr * weight_decay, weight_decay, 1 - beta1, beta2, 1 - beta2,
                       -step_size, bias_correction2 ** 0.5, eps]
            buffers = [state["exp_avg"], state["exp_avg_sq"]]
            # without amsgrad the kernel ignores its max_exp_avg_sq argument
            buffers.append(state["max_exp_avg_sq"] if amsgrad else state["exp_avg_sq"])
            fused_update("adam", flags, p, grad, buffers, scalars)


class AdamW(Adam):
    """Adam with decoupled weight decay (PyTorch's AdamW: weight_decay defaults to 1e-2)."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

