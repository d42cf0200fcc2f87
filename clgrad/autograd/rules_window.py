"""Derivatives of the sliding-window ops (im2col, col2im, max pooling) and their recorded
forms.

im2col and col2im are each other's adjoint, so each backward is the other op and every order
of derivative of convolution and average pooling (written in these two, matmul and
reductions) follows. Max pooling's gradient goes to the index each window picked
(scatter_add, whose own derivative is a gather).
"""
from __future__ import annotations

from ..tensor import window
from .ops import Rule, wrap


class Im2Col(Rule):
    @staticmethod
    def save(ctx, out, input, kernel, dilation, padding, stride, blocks, fill=0):
        ctx.geometry = (tuple(input._shape[2:]), kernel, dilation, padding, stride, blocks)

    @staticmethod
    def backward(ctx, g):
        return col2im(g, *ctx.geometry)


class Col2Im(Rule):
    @staticmethod
    def save(ctx, out, cols, size, kernel, dilation, padding, stride, blocks):
        ctx.geometry = (kernel, dilation, padding, stride, blocks)

    @staticmethod
    def backward(ctx, g):
        return im2col(g, *ctx.geometry)


class MaxPool2DWithIndices(Rule):
    @staticmethod
    def save(ctx, out, input, *_):
        ctx.shape = input._shape
        ctx.save_for_backward(out[1])
        ctx.mark_non_differentiable(out[1])

    @staticmethod
    def backward(ctx, g, _):
        (where,) = ctx.saved_tensors
        n, c, h, w = ctx.shape
        planes = g.new_zeros((n * c, h * w))
        return planes.scatter_add(1, where.view(n * c, -1), g.reshape(n * c, -1)).view(ctx.shape)


im2col = wrap(window.im2col, Im2Col)
col2im = wrap(window.col2im, Col2Im)
max_pool = wrap(window.max_pool, MaxPool2DWithIndices)
