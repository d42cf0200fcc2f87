"""Derivatives of the sliding-window ops (im2col, col2im, max pooling) and their recorded
forms.

im2col and col2im are each other's adjoint, so each backward is the other op and every order
of derivative of convolution and average pooling (written in these two, matmul and
reductions) follows. Max pooling's gradient goes to the index each window picked
(scatter_add, whose own derivative is a gather).
"""
from __future__ import annotations

from ..tensor import window
from .function import Function
from .grad_mode import is_grad_enabled
from .ops import Rule, wrap


class Im2Col(Rule):
    @staticmethod
    def save(ctx, out, input, kernel, dilation, padding, stride, blocks, fill=0, matrix=False):
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
        return planes.scatter_add_(1, where.view(n * c, -1), g.reshape(n * c, -1)).view(ctx.shape)


class Convolution(Function):
    """conv1d/conv2d: im2col + matmul forward (window.convolution); the backward is one
    (N, OC) -> (OC, N) transpose of the gradient, then one matmul per input gradient (weight:
    against the saved columns; input: then col2im) and a row sum for the bias.

    Its own derivative rather than the one autograd composes from im2col and matmul: that
    one runs batched per-image products and a reduction over the batch, 2-4x slower on pocl
    (measured on the digits CNN's layers)."""

    _backward_suffix = "0"

    @staticmethod
    def forward(ctx, input, weight, bias, stride, padding, dilation, groups, blocks):
        out, cols = window.convolution(input, weight, bias, stride, padding, dilation,
                                       groups, blocks)
        ctx.cols = cols if ctx.needs_input_grad[1] else None     # for the weight gradient
        ctx.geometry = (dilation, padding, stride, blocks)
        ctx.groups = groups
        ctx.save_for_backward(input, weight)
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        dilation, padding, stride, blocks = ctx.geometry
        groups, kernel = ctx.groups, tuple(w.shape[2:])
        n, oc = g.shape[0], g.shape[1]
        length = blocks[0] * blocks[1]
        gt = g.reshape(n, oc, length).transpose(0, 1).contiguous()       # (OC, N, L)
        g3 = gt.view(groups, oc // groups, n * length)
        w3 = w.reshape(groups, oc // groups, -1)
        grads = [None] * 8
        if ctx.needs_input_grad[0]:
            gcols = w3.transpose(1, 2).matmul(g3).view(w3.shape[2] * groups, n, length)
            gcols = gcols.transpose(0, 1)
            grads[0] = col2im(gcols, tuple(x.shape[2:]), kernel, dilation, padding, stride,
                              blocks)
        if ctx.needs_input_grad[1]:
            cols = im2col(x, kernel, dilation, padding, stride, blocks, 0, True) if (
                is_grad_enabled()) else ctx.cols                 # recorded for create_graph
            rows = cols.shape[1]
            cols3 = cols.transpose(0, 1).reshape(groups, rows // groups, n * length)
            grads[1] = g3.matmul(cols3.transpose(1, 2)).view(w.shape)
        if ctx.needs_input_grad[2]:
            grads[2] = gt.view(oc, -1).sum(1)
        return tuple(grads)


im2col = wrap(window.im2col, Im2Col)
col2im = wrap(window.col2im, Col2Im)
max_pool = wrap(window.max_pool, MaxPool2DWithIndices)
