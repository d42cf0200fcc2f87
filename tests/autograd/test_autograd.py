"""Autograd (clgrad/autograd): gradients against finite differences and PyTorch, and
PyTorch's semantics for backward, grad mode, hooks and custom Functions."""
from __future__ import annotations

import gc
import math
import warnings

import numpy as np
import pytest

import clgrad
from clgrad.autograd import Function, gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
F64 = clgrad.float64


def _leaf(shape, rng, positive=False, transpose=False):
    a = rng.standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    x = clgrad.tensor(a, dtype=F64)
    if transpose:
        x = clgrad.tensor(np.ascontiguousarray(a.T), dtype=F64).t()
    return x.requires_grad_()


UNARY = ["neg", "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "relu",
         "abs", "square", "reciprocal", "log1p", "expm1", "clone"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_gradients(name, rng):
    x = _leaf((3, 4), rng, positive=name in ("log", "sqrt", "rsqrt", "reciprocal", "log1p"),
              transpose=True)
    assert gradcheck(lambda t: getattr(clgrad, name, None)(t) if hasattr(clgrad, name)
                     else getattr(t, name)(), (x,))


@pytest.mark.parametrize("expr", [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b,
    lambda a, b: clgrad.add(a, b, alpha=2.5), lambda a, b: clgrad.sub(a, b, alpha=-3),
    lambda a, b: a.pow(b), lambda a, b: a ** 2, lambda a, b: 2 ** b, lambda a, b: 3 - a,
    lambda a, b: 1 / a, lambda a, b: a @ b.t(), lambda a, b: a.mm(b.t()),
    lambda a, b: clgrad.where(a > b, a, b), lambda a, b: a.clamp(-0.5, 0.5),
])
def test_binary_gradients_with_broadcasting(expr, rng):
    a = _leaf((3, 4), rng, positive=True)
    b = _leaf((1, 4), rng, positive=True) if expr.__code__.co_code else None
    if "@" in str(expr) or "mm" in expr.__code__.co_names:
        b = _leaf((5, 4), rng)
    assert gradcheck(expr, (a, b))


@pytest.mark.parametrize("fn", [
    lambda x: x.sum(), lambda x: x.sum(0), lambda x: x.sum((0, 1), keepdim=True),
    lambda x: x.mean(), lambda x: x.mean(-1, keepdim=True), lambda x: x.softmax(1),
    lambda x: x.log_softmax(0), lambda x: x.logsumexp(1), lambda x: x.logsumexp(0, True),
    lambda x: x.contiguous().view(6, 2), lambda x: x.reshape(-1), lambda x: x.t(), lambda x: x.T,
    lambda x: x.permute(1, 0), lambda x: x.transpose(0, 1), lambda x: x.unsqueeze(1),
    lambda x: x[None].squeeze(0), lambda x: x.expand(2, 3, 4), lambda x: x[1:, ::2],
    lambda x: x[1], lambda x: x.flatten(), lambda x: x.to(F64) * x.double(),
    lambda x: x.contiguous(), lambda x: x.matmul(x.t()), lambda x: x[0].matmul(x.t()),
    lambda x: x.matmul(x[0]), lambda x: x[0].matmul(x[1]),
])
def test_reduction_view_and_matmul_gradients(fn, rng):
    assert gradcheck(fn, (_leaf((3, 4), rng, transpose=True),))


@pytest.mark.parametrize("fn", [
    lambda x: x.amax(), lambda x: x.amin(1), lambda x: x.amax((0, 1), keepdim=True),
    lambda x: x.max(), lambda x: x.min(), lambda x: x.max(1).values,
    lambda x: x.min(0, keepdim=True)[0], lambda x: clgrad.max(x, x * 0.5 + 0.3),
    lambda x: x.var(), lambda x: x.var(1), lambda x: x.std(0, keepdim=True),
    lambda x: x.std(unbiased=False), lambda x: x.var(1, correction=0),
])
def test_extreme_and_statistics_gradients(fn, rng):
    assert gradcheck(fn, (_leaf((3, 4), rng, transpose=True),))


def test_ties_share_the_gradient_as_pytorch():
    data = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    for fn in (lambda x: x.amax(), lambda x: x.max(), lambda x: x.amin(1),
               lambda x: x.max(1).values, lambda x: x.min(dim=1)[0]):
        ours = clgrad.tensor(data, requires_grad=True)
        ref = torch.tensor(data, requires_grad=True)
        fn(ours).sum().backward()
        fn(ref).sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), ref.grad.numpy())
    values, indices = clgrad.tensor(data, requires_grad=True).max(1)
    assert type(values.grad_fn).__name__ == "MaxBackward0" and not indices.requires_grad


@pytest.mark.parametrize("fn", [lambda x: (x * x).sum(), lambda x: x.exp().mean(),
                                lambda x: x.tanh().softmax(1), lambda x: x.matmul(x.t())])
def test_second_derivatives(fn, rng):
    assert gradgradcheck(fn, (_leaf((2, 3), rng),))


def test_two_layer_net_matches_pytorch(rng):
    """The tutorial's net: forward, loss, backward; every gradient as PyTorch's."""
    data = [rng.standard_normal(s) for s in ((16, 10), (10, 7), (7, 3), (16, 3))]
    ours = [clgrad.tensor(a, dtype=F64) for a in data]
    ref = [torch.tensor(a) for a in data]
    for group in (ours, ref):
        group[1].requires_grad_()
        group[2].requires_grad_()
    for lib, (x, w1, w2, y) in ((clgrad, ours), (torch, ref)):
        loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
        loss.backward()
    for a, b in zip(ours[1:3], ref[1:3]):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10)


# -- semantics ----------------------------------------------------------------------------
def test_grad_accumulates_and_non_scalar_needs_gradient():
    x = clgrad.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    y = x * 2
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        y.backward()
    y.backward(clgrad.tensor([1.0, 0.5]))
    assert x.grad.tolist() == [8.0, 7.0]


def test_second_backward_needs_retain_graph():
    x = clgrad.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_leaf_flags_grad_fn_names_and_next_functions():
    x = clgrad.ones(2, requires_grad=True)
    y = x * 2 + 1
    assert x.is_leaf and not y.is_leaf and y.requires_grad
    assert type(y.grad_fn).__name__ == "AddBackward0"
    (mul, _), _ = y.grad_fn.next_functions
    assert type(mul).__name__ == "MulBackward0"
    assert type(mul.next_functions[0][0]).__name__ == "AccumulateGrad"
    assert "grad_fn=<AddBackward0>" in repr(y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert y.grad is None
    assert any("not a leaf Tensor" in str(w.message) for w in caught)


def test_grad_mode_context_managers_and_decorators():
    x = clgrad.ones(2, requires_grad=True)
    with clgrad.no_grad():
        assert not (x * 2).requires_grad
        with clgrad.enable_grad():
            assert (x * 2).requires_grad
    assert clgrad.is_grad_enabled()

    @clgrad.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad
    clgrad.set_grad_enabled(False)
    assert not clgrad.is_grad_enabled()
    clgrad.set_grad_enabled(True)
    with clgrad.set_grad_enabled(False):
        assert not (x + 1).requires_grad
    with clgrad.inference_mode():
        assert not (x + 1).requires_grad
    assert (x + 1).requires_grad


def test_requires_grad_flags():
    x = clgrad.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf"):
        (x * 2).requires_grad_(False)
    with pytest.raises(RuntimeError, match="floating point"):
        clgrad.ones(2, dtype=clgrad.int64).requires_grad_()
    assert not x.requires_grad_(False).requires_grad


def test_detach_and_data_share_storage_without_history():
    x = clgrad.ones(3, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None
    assert d.untyped_storage() is y.untyped_storage()
    assert not x.data.requires_grad


def test_inplace_on_leaf_requiring_grad_raises_unless_no_grad():
    w = clgrad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.add_(1)
    with clgrad.no_grad():
        w.sub_(0.5)
    assert w.tolist() == [0.5, 0.5, 0.5] and w.requires_grad


def test_index_assignment_is_guarded_like_other_inplace_ops():
    w = clgrad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w[0] = 5.0
    assert w.tolist() == [1.0, 1.0, 1.0]
    with clgrad.no_grad():
        w[0] = 5.0
    assert w.tolist() == [5.0, 1.0, 1.0]


def test_mixed_dtype_gradients_come_back_in_each_input_dtype():
    a = clgrad.ones(2, requires_grad=True)
    b = clgrad.ones(2, dtype=F64, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype is clgrad.float32 and b.grad.dtype is F64


def test_modified_saved_tensor_is_detected_at_backward():
    x = clgrad.ones(3, requires_grad=True)
    y = x.exp()
    z = (y * y).sum()
    with clgrad.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()


def test_hooks_and_retain_grad():
    x = clgrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    handle = y.register_hook(lambda g: g * 10)
    x.register_hook(lambda g: g + 1)
    y.sum().backward()
    assert y.grad.tolist() == [10.0, 10.0]     # retain_grad sees the hooked gradient
    assert x.grad.tolist() == [31.0, 31.0]
    handle.remove()


def test_autograd_grad_and_allow_unused():
    x = clgrad.tensor([1.0, 2.0], requires_grad=True)
    z = clgrad.tensor([3.0], requires_grad=True)
    y = (x ** 3).sum()
    (gx,) = clgrad.autograd.grad(y, x, create_graph=True)
    assert gx.tolist() == [3.0, 12.0] and x.grad is None
    (ggx,) = clgrad.autograd.grad(gx.sum(), x)
    assert ggx.tolist() == [6.0, 12.0]
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        clgrad.autograd.grad((x * 2).sum(), [x, z])
    assert clgrad.autograd.grad((x * 2).sum(), [x, z], allow_unused=True)[1] is None


def test_long_chain_is_iterative():
    x = clgrad.ones(1, requires_grad=True)
    y = x
    for _ in range(10000):
        y = y + 1
    y.sum().backward()
    assert x.grad.item() == 1.0


def test_cast_gradient_comes_back_in_the_input_dtype():
    x = clgrad.ones(3, dtype=F64, requires_grad=True)
    (x.float() * 2).sum().backward()
    assert x.grad.dtype is F64 and x.grad.tolist() == [2.0, 2.0, 2.0]


def test_graph_does_not_keep_tensors_alive():
    before = clgrad.memory_stats()
    for _ in range(50):
        x = clgrad.ones(1000, requires_grad=True)
        (x.exp() * x).sum().backward()
    del x
    gc.disable()                  # refcounting alone must free the graph (no cycles)
    try:
        assert clgrad.memory_stats()["bytes_in_use"] <= before["bytes_in_use"] + 16 * 1024
    finally:
        gc.enable()


def test_op_without_derivative_refuses_rather_than_dropping_it():
    from clgrad.autograd.binding import refuse
    x = clgrad.ones(3, requires_grad=True)
    twice = refuse(lambda t: t.detach() * 2, "twice")
    with pytest.raises(NotImplementedError, match="derivative of twice"):
        twice(x)
    with clgrad.no_grad():
        assert twice(x).tolist() == [2, 2, 2]
    assert not (x > 0).requires_grad          # non-differentiable results just run


# -- custom Functions -----------------------------------------------------------------------
class Exp(Function):
    @staticmethod
    def forward(ctx, x, scale):
        y = x.exp() * scale
        ctx.save_for_backward(y)
        ctx.scale = scale
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        assert ctx.needs_input_grad == (True, False)
        return g * y, None


def test_custom_function(rng):
    x = _leaf((4,), rng)
    assert gradcheck(lambda t: Exp.apply(t, 2.0), (x,))
    y = Exp.apply(x, 2.0)
    assert type(y.grad_fn).__name__ == "ExpBackward"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(x.detach().numpy()))


def test_custom_function_wrong_gradient_count_and_non_differentiable():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    class Sort(Function):
        @staticmethod
        def forward(ctx, x):
            idx = clgrad.argsort(x)
            mask = x > 0
            ctx.mark_non_differentiable(mask)
            return x * 1, mask, idx

        @staticmethod
        def backward(ctx, g, g_mask, g_idx):
            return g

    x = clgrad.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(x).sum().backward()
    y, mask, idx = Sort.apply(x)
    assert y.requires_grad and not mask.requires_grad and not idx.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    assert math.isfinite(x.grad.sum().item())


def _method(name):
    return lambda x, y: getattr(x, name)()


SECOND_ORDER = {
    **{name: _method(name) for name in UNARY
       if name not in ("relu", "abs")},          # kinks: second derivative 0 but not smooth
    "add": lambda x, y: clgrad.add(x, y, alpha=2), "sub": lambda x, y: x - y * 3,
    "mul": lambda x, y: x * y, "div": lambda x, y: x / y, "pow": lambda x, y: x.pow(y),
    "pow scalar": lambda x, y: x ** 3, "rpow": lambda x, y: 2 ** x,
    "where": lambda x, y: clgrad.where(x > y, x * x, y), "clamp": lambda x, y: x.clamp(0.6, 1.2),
    "sum": lambda x, y: (x * y).sum(1), "mean": lambda x, y: (x * x).mean(0, keepdim=True),
    "softmax": lambda x, y: x.softmax(1), "log_softmax": lambda x, y: x.log_softmax(0),
    "logsumexp": lambda x, y: x.logsumexp(1), "amax": lambda x, y: (x * y).amax(1),
    "max dim": lambda x, y: (x * x).max(0).values, "var": lambda x, y: x.var(1),
    "std": lambda x, y: x.std(), "mm": lambda x, y: x.mm(y.t()),
    "matmul": lambda x, y: x.matmul(y.t()) * x.sum(), "views": lambda x, y:
        (x.t().reshape(-1).unsqueeze(0).expand(2, 12) * y.flatten()).sum(0),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_derivatives_of_every_builtin_rule(name, rng):
    positive = name in ("log", "sqrt", "rsqrt", "reciprocal", "log1p", "pow", "div", "rpow")
    x = _leaf((3, 4), rng, positive=True, transpose=True) if positive else _leaf((3, 4), rng)
    y = _leaf((3, 4), rng, positive=True)
    assert gradgradcheck(SECOND_ORDER[name], (x, y))
