"""cross_entropy for (N, C) logits and class indices as one autograd Function over the fused
kernels of tensor/loss.py: one launch forward (plus the reduction), one backward, instead of
the ~20 of log_softmax + gather + weighting and their derivatives."""
from __future__ import annotations

from ..tensor import loss as fused
from ..tensor.creation import arange
from .function import Function
from .grad_mode import is_grad_enabled


class CrossEntropy(Function):
    """The derivative is scale * w[target] * (softmax(x) - onehot(target)) per row, scale
    being the incoming gradient (divided by the summed weights for 'mean'); written in
    differentiable ops when the backward is itself recorded (create_graph)."""

    _backward_suffix = "0"

    @staticmethod
    def forward(ctx, input, target, weight, ignore_index, reduction):
        loss, rw, lse = fused.cross_entropy_rows(input, target, weight, ignore_index)
        ctx.save_for_backward(input, target, rw, lse)
        ctx.reduction, ctx.total, ctx.ignore = reduction, None, ignore_index
        if reduction == "none":
            return loss
        if reduction == "sum":
            return loss.sum()
        ctx.total = rw.sum()
        return loss.sum() / ctx.total

    @staticmethod
    def backward(ctx, g):
        x, target, rw, lse = ctx.saved_tensors
        scale = g if ctx.total is None else g / ctx.total
        if not is_grad_enabled():
            grad = fused.cross_entropy_grad(x, target, rw, lse, scale, ctx.ignore)
            return grad, None, None, None, None
        classes = arange(x.shape[1], device=x.device)
        onehot = (classes == target.unsqueeze(1)).to(x.dtype)
        row = scale.unsqueeze(1) if scale.dim() else scale
        grad = row * rw.unsqueeze(1) * (x.softmax(1) - onehot)
        return grad.masked_fill((target == ctx.ignore).unsqueeze(1), 0), None, None, None, None
