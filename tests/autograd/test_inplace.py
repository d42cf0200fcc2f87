"""In-place ops under autograd: recorded on the tensor they modify, views rebase their base's
history (CopySlices), saved tensors are version-checked; each against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import clgrad

torch = pytest.importorskip("torch")


def _pair(rng, shape=(4, 5)):
    a = rng.standard_normal(shape)
    return (clgrad.tensor(a, dtype=clgrad.float64, requires_grad=True),
            torch.tensor(a, dtype=torch.float64, requires_grad=True))


def _same(program, rng, shapes=((4, 5),)):
    """Run program(lib, *leaves) -> loss in clgrad and torch; compare loss and grads."""
    pairs = [_pair(rng, s) for s in shapes]
    ours = program(clgrad, *[p[0] for p in pairs])
    theirs = program(torch, *[p[1] for p in pairs])
    ours.backward()
    theirs.backward()
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-10)
    for c, t in pairs:
        assert (c.grad is None) == (t.grad is None)
        if t.grad is not None:
            np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


PROGRAMS = {
    "add_": lambda lib, x: (x * 2).add_(x).sum(),
    "mul_ needs old self": lambda lib, x: ((x * 1.5).mul_(x) * x).sum(),
    "exp_ then use": lambda lib, x: (x * 1).exp_().pow(2).sum(),
    "iadd operator": lambda lib, x: _iadd(x * 3, x.sin()).sum(),
    "chain of in-place": lambda lib, x: (x + 0).mul_(2).sub_(x).div_(3).tanh_().sum(),
    "clamp_": lambda lib, x: (x * 2).clamp_(-1, 1).pow(2).sum(),
    "copy_ from leaf": lambda lib, x: (lib.zeros(4, 5, dtype=lib.float64).copy_(x * 3)).sum(),
    "fill_ cuts the history": lambda lib, x: ((x * 2).fill_(3.0) * x).sum(),
    "zero_": lambda lib, x: ((y := x * 2).zero_() + y * x).sum(),
    "view row mul_": lambda lib, x: _row(x * 1, 1, lambda v: v.mul_(3)).pow(2).sum(),
    "view slice add_ leaf arg": lambda lib, x: _slice_add(lib, x),
    "view of view": lambda lib, x: _view_of_view(x),
    "transposed view": lambda lib, x: _transposed(x),
    "setitem value": lambda lib, x: _setitem(lib, x),
    "setitem mask": lambda lib, x: _setitem_mask(x),
    "setitem index tensor": lambda lib, x: _setitem_index(lib, x),
    "view then base use": lambda lib, x: _view_then_base(x),
    "base in-place, older view used": lambda lib, x: _base_then_view(x),
}


def _base_then_view(x):
    y = x * 1
    v = y[1:3].t()                 # made before the base changes
    y.mul_(x.cos())
    return (v * v).sum() + y.sum()


def _iadd(y, z):
    y += z
    return y


def _row(y, i, op):
    op(y[i])
    return y


def _slice_add(lib, x):
    y = lib.ones(4, 5, dtype=lib.float64)       # no history: the in-place op gives it one
    y[1:3, ::2].add_(x[0, :3] * 2)
    return (y * y).sum()


def _view_of_view(x):
    y = x * 1
    y.t()[1:3][0].mul_(-2)
    return (y ** 3).sum()


def _transposed(x):
    y = (x + 1).t()
    y[:, 2].exp_()
    return (y * y.sum(0)).sum()


def _setitem(lib, x):
    y = x * 2
    y[1, 1:4] = x[0, :3].sin()
    y[2] = 0.5
    return (y * y).sum()


def _setitem_mask(x):
    y = x * 3
    y[x > 0] = 0
    return (y * x).sum()


def _setitem_index(lib, x):
    y = x.pow(2)
    y[lib.tensor([0, 2, 3])] = x[1] * 4
    return y.sum()


def _view_then_base(x):
    y = x * 1
    v = y[:, 1]
    v.mul_(x[:, 0])
    return (y * x).sum() + v.sum()


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_inplace_gradients_match_pytorch(name, rng):
    _same(PROGRAMS[name], rng)


def test_inplace_records_grad_fn_and_bumps_version():
    x = clgrad.ones(3, requires_grad=True)
    y = x * 2
    before = y._version
    y.add_(1)
    assert y._version == before + 1
    assert y.grad_fn.name() == "AddBackward0" and not y.is_leaf
    v = y[1:]
    v.mul_(2)
    assert y.grad_fn.name() == "CopySlices"
    assert v.grad_fn.name() == "AsStridedBackward0"
    assert v._base is y


def test_inplace_on_leaf_and_view_of_leaf_raise():
    x = clgrad.ones(3, requires_grad=True)
    before = x.detach().numpy().copy()
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.mul_(2)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
        x[1:].mul_(2)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x[0] = 5
    np.testing.assert_array_equal(x.detach().numpy(), before)
    with clgrad.no_grad():
        x.mul_(2)
        x[0] = 5
    np.testing.assert_array_equal(x.detach().numpy(), [5, 2, 2])


def test_modified_saved_output_raises_version_error():
    x = clgrad.ones(3, requires_grad=True)
    y = x.exp()           # saves its output
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_with_create_graph(rng):
    def second(lib, x):
        y = x * 1
        y.mul_(x)                               # x**2
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        return (g * g).sum()                    # sum 4 x**2: gradient 8 x
    _same(second, rng)


def test_inplace_without_grad_stays_fast_path():
    x = clgrad.ones(3)
    y = x.add_(1)
    assert y is x and x.grad_fn is None and not x.requires_grad


def test_fresh_gradient_is_taken_but_never_one_someone_holds():
    x = clgrad.ones(4, 3)
    w = clgrad.ones(3, 2, requires_grad=True)
    kept = []
    h = x.mm(w)
    h.register_hook(lambda g: kept.append(g))
    (h * 2).sum().backward()
    (x.mm(w) * 2).sum().backward()               # accumulates into w.grad in place
    np.testing.assert_array_equal(kept[0].numpy(), np.full((4, 2), 2.0))
    np.testing.assert_array_equal(w.grad.numpy(), np.full((3, 2), 16.0))
    b = clgrad.zeros(2, requires_grad=True)
    leaf_hook = []
    b.register_hook(lambda g: leaf_hook.append(g))
    (x.mm(w.detach()) + b).sum().backward()
    b.grad.add_(1)
    np.testing.assert_array_equal(leaf_hook[0].numpy(), [4.0, 4.0])


def test_no_op_casts_return_the_tensor_itself():
    w = clgrad.ones(2, requires_grad=True)
    assert w.cpu() is w and w.to("cpu") is w and w.float() is w and w.contiguous() is w
    assert w.double().grad_fn.name() == "ToCopyBackward0"


def test_masked_fill_broadcasts_its_input_and_its_gradient_sums_back():
    ours = clgrad.zeros(3, 1, requires_grad=True)
    theirs = torch.zeros(3, 1, requires_grad=True)
    for lib, x in ((clgrad, ours), (torch, theirs)):
        y = x.masked_fill(lib.tensor([[True, False]]), 2.0)
        assert tuple(y.shape) == (3, 2)
        (y * lib.arange(6.0).reshape(3, 2)).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_implicit_root_gradient_survives_a_hook_writing_into_it():
    x = clgrad.tensor([2.0], requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: g.mul_(5))       # writes into the implicit gradient
    y.sum().backward()
    (x * 3).sum().backward()                   # a fresh implicit 1 again
    np.testing.assert_array_equal(x.grad.numpy(), [15.0 + 3.0])


REVIEW = {
    "in-place on a view taking another view": lambda lib, x: _two_views(x),
    "in-place on a view taking its own alias": lambda lib, x: _alias_views(x),
    "in-place reading a result of the tensor it writes": lambda lib, x: _self_view_arg(x),
}


def _two_views(x):
    y = x * 1
    a, b = y[0], y[1]
    a.add_(b)
    b.mul_(2)
    return b.sum() + (y * y).sum()


def _alias_views(x):
    y = x * 1
    a, a2 = y[0:2], y[0:2]
    a.add_(a2)
    return a2.sum() * 3 + y.sum()


def _self_view_arg(x):
    y = x * 1
    y[1:].mul_(y[:1].exp())               # reads a function of the region before it
    return (y * y).sum()


@pytest.mark.parametrize("name", sorted(REVIEW))
def test_inplace_with_views_as_arguments(name, rng):
    _same(REVIEW[name], rng)


@pytest.mark.parametrize("op", ["clone", "neg", "exp", "sqrt", "tanh", "sigmoid", "sin",
                                "abs", "square", "log", "reciprocal", "expm1"])
def test_writing_into_input_or_output_the_rule_does_not_read_is_no_error(op):
    for lib in (clgrad, torch):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = getattr(x * 1, op)()
        needed = {"exp": "out", "sqrt": "out", "tanh": "out", "sigmoid": "out",
                  "reciprocal": "out", "expm1": "out"}.get(op, "x")
        if needed == "x":
            y[0] = 5.0                      # the output is not read by the derivative
        (y * 2).sum().backward()


def test_assigned_value_with_leading_unit_dims_gets_its_gradient():
    grads = []
    for lib in (clgrad, torch):
        x = lib.zeros(2, 3)
        v = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x[0] = v.view(1, 3)
        (x * lib.arange(6.0).view(2, 3)).sum().backward()
        grads.append(v.grad.tolist())
    assert grads[0] == grads[1]


def test_resized_out_counts_as_a_write_for_saved_tensors():
    w = clgrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    o = clgrad.ones(3)
    y = (w * o).sum()
    version = o._version
    with pytest.warns(UserWarning, match="resized"):
        clgrad.add(clgrad.tensor([[5.0, 6.0, 7.0]]), clgrad.tensor([[5.0, 6.0, 7.0]]), out=o)
    assert o._version > version
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_view_made_under_no_grad_refuses_a_recorded_inplace_op():
    for lib in (clgrad, torch):
        x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        t = lib.tensor([2.0, 3.0], requires_grad=True)
        y = x * 1
        with lib.no_grad():
            v = y[1:3]
        with pytest.raises(RuntimeError, match="created in no_grad mode"):
            v.mul_(t)
        with lib.no_grad():
            v.mul_(2)                              # both inside no_grad: fine


@pytest.mark.parametrize("split", [lambda t: t.split(2), lambda t: t.unbind(0),
                                   lambda t: t.chunk(2)])
def test_outputs_of_multi_view_ops_refuse_inplace(split):
    for lib in (clgrad, torch):
        x = lib.ones(4, 3, requires_grad=True)
        parts = split(x * 1)
        with pytest.raises(RuntimeError, match="returns multiple views"):
            parts[1].mul_(2)
