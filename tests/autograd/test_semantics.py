"""Autograd semantics against PyTorch: requires_grad and leaves, backward/grad, higher-order
gradients, grad mode, detach/.data, version counters, hooks, custom Functions, gradcheck and
the engine's memory behaviour.

Most tests take `lib` and run the same snippet in clgrad and in PyTorch, so every assertion
is checked against PyTorch's own behaviour; where clgrad differs, its case is a strict xfail
whose reason states the difference.
"""
from __future__ import annotations

import gc
import importlib
import math
import threading
import warnings
import weakref
from types import SimpleNamespace

import numpy as np
import pytest

import clgrad

torch = pytest.importorskip("torch")

API = {
    clgrad: SimpleNamespace(once_differentiable=clgrad.autograd.once_differentiable,
                            GradcheckError=clgrad.autograd.GradcheckError),
    torch: SimpleNamespace(once_differentiable=torch.autograd.function.once_differentiable,
                           GradcheckError=importlib.import_module(
                               "torch.autograd.gradcheck").GradcheckError),
}
INPLACE_MSG = "a leaf Variable that requires grad is being used in an in-place operation."
MODIFIED_MSG = ("one of the variables needed for gradient computation has been modified by an "
                "inplace operation")


def libs(clgrad_xfail: str | None = None):
    """Run the test once with clgrad and once with PyTorch (the reference)."""
    marks = [pytest.mark.xfail(strict=True, reason=clgrad_xfail)] if clgrad_xfail else []
    return pytest.mark.parametrize("lib", [pytest.param(clgrad, id="clgrad", marks=marks),
                                           pytest.param(torch, id="torch")])


def f64(lib, data, requires_grad=True):
    return lib.tensor(data, dtype=lib.float64, requires_grad=requires_grad)


def values(t) -> np.ndarray:
    return t.detach().numpy()


def version(t):
    """The tensor's version counter, or None where clgrad has none (the check is skipped)."""
    return getattr(t, "_version", None)


# PyTorch warns that backward(create_graph=True) makes a parameter <-> .grad cycle
torch_cycle_warning = pytest.mark.filterwarnings(
    "ignore:Using backward\\(\\) with create_graph=True:UserWarning")


# -- requires_grad, is_leaf, grad, grad_fn ------------------------------------------------------
FACTORIES = {
    "tensor": lambda lib: lib.tensor([1.0, 2.0], requires_grad=True),
    "zeros": lambda lib: lib.zeros(2, 3, requires_grad=True),
    "ones": lambda lib: lib.ones((2,), requires_grad=True),
    "full": lambda lib: lib.full((2,), 3.0, requires_grad=True),
    "empty": lambda lib: lib.empty(2, requires_grad=True),
    "randn": lambda lib: lib.randn(2, 2, requires_grad=True),
    "rand": lambda lib: lib.rand(3, requires_grad=True),
    "zeros_like": lambda lib: lib.zeros_like(lib.ones(2), requires_grad=True),
    "ones_like": lambda lib: lib.ones_like(lib.ones(2), requires_grad=True),
    "arange": lambda lib: lib.arange(3.0, requires_grad=True),
    "linspace": lambda lib: lib.linspace(0, 1, 5, requires_grad=True),
    "eye": lambda lib: lib.eye(2, requires_grad=True),
}


@pytest.mark.parametrize("factory", FACTORIES.values(), ids=FACTORIES.keys())
@libs()
def test_factories_take_requires_grad(lib, factory):
    t = factory(lib)
    assert t.requires_grad and t.is_leaf and t.grad_fn is None and t.grad is None
    (t * 2).sum().backward()
    assert values(t.grad).tolist() == np.full(tuple(t.shape), 2.0).tolist()


@libs()
def test_integer_tensors_cannot_require_grad(lib):
    with pytest.raises(RuntimeError, match="floating point"):
        lib.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        lib.zeros(2, dtype=lib.int64, requires_grad=True)


@libs()
def test_integer_requires_grad_attribute_raises(lib):
    t = lib.ones(2, dtype=lib.int64)
    with pytest.raises(RuntimeError, match="floating point"):
        t.requires_grad = True


@libs()
def test_requires_grad_attribute_and_method(lib):
    x = lib.ones(2)
    assert not x.requires_grad and x.is_leaf
    x.requires_grad = True
    assert (x * 2).requires_grad and x.is_leaf
    assert x.requires_grad_(False) is x and not x.requires_grad
    assert not (x * 2).requires_grad
    assert x.requires_grad_() is x and x.requires_grad          # the default is True
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        x.requires_grad_(False).sum().backward()


@libs()
def test_requires_grad_attribute_on_non_leaf_raises(lib):
    y = lib.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf variables"):
        y.requires_grad = False


@libs()
def test_requires_grad_propagates_from_any_input_and_edges_name_the_leaves(lib):
    x = lib.ones(3, requires_grad=True)
    c = lib.ones(3)
    y, z = x + c, x * 2
    assert y.requires_grad and not y.is_leaf and not (c * 2).requires_grad
    (acc, nr), (none, _) = y.grad_fn.next_functions
    assert type(acc).__name__ == "AccumulateGrad" and nr == 0 and none is None
    assert acc.variable is x and acc.next_functions == ()
    assert z.grad_fn.next_functions[0][0] is acc             # one accumulator per leaf
    assert z.grad_fn.next_functions[1] == (None, 0)          # the Python scalar has no edge
    w = y * z
    assert [type(n).__name__ for n, _ in w.grad_fn.next_functions] == ["AddBackward0",
                                                                       "MulBackward0"]


GRAD_FN_NAMES = {
    # names that depend on the overload, and ops PyTorch implements through another
    "pow-tensor": lambda x, w: x.pow(x), "pow-number-base": lambda x, w: 2 ** x,
    "max-all": lambda x, w: x.max(), "max-dim": lambda x, w: x.max(0)[0],
    "min-all": lambda x, w: x.min(), "maximum": lambda x, w: x.max(x * 2),
    "minimum": lambda x, w: x.min(x * 2), "sum-dim": lambda x, w: x.sum(dim=1),
    "prod-all": lambda x, w: x.prod(), "prod-dim": lambda x, w: x.prod(0),
    "clamp-numbers": lambda x, w: x.clamp(0, 1), "clamp-min-only": lambda x, w: x.clamp(min=0),
    "clamp-tensors": lambda x, w: x.clamp(x - 1, x + 1), "clip": lambda x, w: x.clip(0, 1),
    "clamp_min": lambda x, w: x.clamp_min(0), "clamp_max": lambda x, w: x.clamp_max(0),
    "clamp_min-tensor": lambda x, w: x.clamp_min(x * 0), "sum-dim-none": lambda x, w: x.sum(dim=None),
    "mean-dim-none": lambda x, w: x.mean(dim=None),
    "narrow": lambda x, w: x.narrow(1, 0, 2), "contiguous": lambda x, w: x.t().contiguous(),
    "where-method": lambda x, w: x.where(x > 0, x * 2), "norm": lambda x, w: x.norm(),
    "square": lambda x, w: x.square(), "logsumexp": lambda x, w: x.logsumexp(0),
    "outer": lambda x, w: x[0].outer(x[1]),
    "add": lambda x, w: x + 1, "sub": lambda x, w: x - w[:, 0], "mul": lambda x, w: x * x,
    "div": lambda x, w: x / 2, "neg": lambda x, w: -x, "pow": lambda x, w: x ** 2,
    "exp": lambda x, w: x.exp(), "log": lambda x, w: x.log(), "tanh": lambda x, w: x.tanh(),
    "relu": lambda x, w: x.relu(), "sigmoid": lambda x, w: x.sigmoid(),
    "sum": lambda x, w: x.sum(), "mean": lambda x, w: x.mean(), "t": lambda x, w: x.t(),
    "view": lambda x, w: x.view(12), "permute": lambda x, w: x.permute(1, 0),
    "unsqueeze": lambda x, w: x.unsqueeze(0), "expand": lambda x, w: x.expand(2, 3, 4),
    "clone": lambda x, w: x.clone(), "softmax": lambda x, w: x.softmax(1),
    "where": lambda x, w: clgrad.where(x > 0, x, x * 2) if isinstance(x, clgrad.Tensor)
    else torch.where(x > 0, x, x * 2),
}


@pytest.mark.parametrize("fn", GRAD_FN_NAMES.values(), ids=GRAD_FN_NAMES.keys())
def test_grad_fn_names_match_pytorch(fn):
    names = []
    for lib in (clgrad, torch):
        x = lib.ones(3, 4, dtype=lib.float64, requires_grad=True)
        w = lib.ones(4, 2, dtype=lib.float64, requires_grad=True)
        names.append(type(fn(x, w).grad_fn).__name__)
    assert names[0] == names[1]


def test_grad_fn_names_of_matmul_indexing_and_casts_match_pytorch():
    fns = [lambda x, w: x @ w, lambda x, w: x[0], lambda x, w: x[1:], lambda x, w: x.sum(0),
           lambda x, w: x.reshape(12), lambda x, w: x.float(), lambda x, w: 1 - x,
           lambda x, w: x[:, 1], lambda x, w: x[0, ::2], lambda x, w: x.mean(dim=1),
           lambda x, w: x.sum(), lambda x, w: x.unsqueeze(0), lambda x, w: x - 1]
    names = {}
    for lib in (clgrad, torch):
        x = lib.ones(3, 4, dtype=lib.float64, requires_grad=True)
        w = lib.ones(4, 2, dtype=lib.float64, requires_grad=True)
        names[lib] = [type(fn(x, w).grad_fn).__name__ for fn in fns]
    assert names[clgrad] == names[torch]


@libs()
def test_grad_is_none_until_first_backward_then_accumulates_in_place(lib):
    x = f64(lib, [1.0, 2.0])
    assert x.grad is None
    (x * x).sum().backward()
    first = x.grad
    assert values(first).tolist() == [2.0, 4.0] and not first.requires_grad
    (x * x).sum().backward()
    (x * 3).sum().backward()
    assert x.grad is first and values(x.grad).tolist() == [7.0, 11.0]
    x.grad = None
    (x * 3).sum().backward()
    assert values(x.grad).tolist() == [3.0, 3.0]


@libs()
def test_grad_of_non_leaf_is_none_with_a_user_warning_unless_retained(lib):
    x = f64(lib, [1.0, 2.0])
    y = x * 3
    (y * y).sum().backward(retain_graph=True)
    with pytest.warns(UserWarning, match="not a leaf Tensor.*retain_grad"):
        assert y.grad is None
    y.retain_grad()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert y.grad is None                     # retained but no backward since then
        (y * y).sum().backward(retain_graph=True)
        assert values(y.grad).tolist() == [6.0, 12.0]
        (y * y).sum().backward()
        assert values(y.grad).tolist() == [12.0, 24.0]      # accumulates like a leaf's
    x.retain_grad()                                         # on a leaf: nothing to do
    with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has "
                                           "requires_grad=False"):
        lib.ones(2).retain_grad()


# -- backward and autograd.grad ------------------------------------------------------------------
@libs()
def test_backward_gradient_argument_and_its_errors(lib):
    x = f64(lib, [1.0, 2.0, 3.0])
    y = x * x
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar "
                                           "outputs"):
        lib.autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="Mismatch in shape: grad_output\\[0\\] has a shape "
                                           "of .*\\[2\\].* and output\\[0\\] has a shape of "
                                           ".*\\[3\\]"):
        y.backward(lib.ones(2, dtype=lib.float64))
    y.backward(f64(lib, [1.0, 0.0, -1.0], requires_grad=False))
    assert values(x.grad).tolist() == [2.0, 0.0, -6.0]
    s = (x * 2).sum()
    s.backward(lib.tensor(0.5, dtype=lib.float64))          # a 0-d gradient for a scalar
    assert values(x.grad).tolist() == [3.0, 1.0, -5.0]


@libs()
def test_backward_of_a_tensor_without_history_raises(lib):
    x = lib.ones(2)
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and "
                                           "does not have a grad_fn"):
        x.sum().backward()
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        lib.autograd.grad(x.sum(), [lib.ones(2, requires_grad=True)])
    w = lib.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="One of the differentiated Tensors does not require "
                                           "grad"):
        lib.autograd.grad((w * 2).sum(), [w, x])


@torch_cycle_warning
@libs()
def test_retain_graph_and_freed_buffers(lib):
    x = f64(lib, [1.0, 2.0])
    y = (x.exp() * x).sum()
    for _ in range(3):
        y.backward(retain_graph=True)
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time.*"
                                           "retain_graph=True"):
        y.backward()
    z = (x.sin() * x).sum()
    lib.autograd.grad(z, x)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        lib.autograd.grad(z, x)
    q = (x ** 3).sum()
    q.backward(create_graph=True)                 # retain_graph defaults to create_graph
    q.backward()


@libs()
def test_backward_inputs_accumulates_only_into_those(lib):
    x = f64(lib, [1.0, 2.0])
    w = f64(lib, [3.0, 4.0])
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None and values(w.grad).tolist() == [1.0, 2.0]
    (x * w).sum().backward(inputs=x)              # a single tensor is accepted
    assert values(x.grad).tolist() == [3.0, 4.0] and values(w.grad).tolist() == [1.0, 2.0]
    with pytest.raises(RuntimeError, match="'?`?inputs`?'? argument to `?backward\\(\\)`? "
                                           "cannot be empty"):
        (x * 2).sum().backward(inputs=[])


@libs()
def test_backward_inputs_may_name_a_non_leaf(lib):
    x = f64(lib, [1.0, 2.0])
    y = x * 2
    (y * y).sum().backward(inputs=[y])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert y.grad is not None and values(y.grad).tolist() == [4.0, 8.0]
    assert x.grad is None


@libs()
def test_autograd_backward_sums_over_several_roots(lib):
    x = f64(lib, [1.0, 2.0])
    lib.autograd.backward([(x * 2).sum(), (x * x).sum()])
    assert values(x.grad).tolist() == [4.0, 6.0]
    x.grad = None
    lib.autograd.backward([x * 2, x * 3], [lib.ones(2, dtype=lib.float64),
                                           lib.full((2,), 2.0, dtype=lib.float64)])
    assert values(x.grad).tolist() == [8.0, 8.0]
    x.grad = None
    lib.autograd.backward((x ** 2).sum(), inputs=[x])
    assert values(x.grad).tolist() == [2.0, 4.0]


@libs()
def test_autograd_grad_returns_gradients_without_accumulating(lib):
    x = f64(lib, [1.0, 2.0])
    w = f64(lib, [3.0, 4.0])
    unused = f64(lib, [5.0])
    y = x * w
    gx, gw = lib.autograd.grad(y, [x, w], grad_outputs=lib.ones(2, dtype=lib.float64) * 2,
                               retain_graph=True)
    assert values(gx).tolist() == [6.0, 8.0] and values(gw).tolist() == [2.0, 4.0]
    assert x.grad is None and w.grad is None and not gx.requires_grad
    (gy,) = lib.autograd.grad(y.sum(), y, retain_graph=True)     # w.r.t. a non-leaf
    assert values(gy).tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph. Set "
                                           "allow_unused=True if this is the desired "
                                           "behavior."):
        lib.autograd.grad(y.sum(), [x, unused], retain_graph=True)
    result = lib.autograd.grad(y.sum(), [unused, x], allow_unused=True, retain_graph=True)
    assert isinstance(result, tuple) and result[0] is None
    assert values(result[1]).tolist() == [3.0, 4.0]
    gu, _ = lib.autograd.grad(y.sum(), [unused, x], materialize_grads=True)
    assert values(gu).tolist() == [0.0]


# -- higher-order gradients ----------------------------------------------------------------------
@libs()
def test_derivatives_of_a_cube_up_to_third_order(lib):
    x = f64(lib, [1.0, 2.0, -3.0])
    (g,) = lib.autograd.grad((x ** 3).sum(), x, create_graph=True)
    assert g.requires_grad and values(g).tolist() == [3.0, 12.0, 27.0]
    (gg,) = lib.autograd.grad(g.sum(), x, create_graph=True)
    assert values(gg).tolist() == [6.0, 12.0, -18.0]
    (ggg,) = lib.autograd.grad(gg.sum(), x)
    assert values(ggg).tolist() == [6.0, 6.0, 6.0]


@libs()
def test_second_derivative_of_sin_times_exp(lib):
    data = np.array([-1.0, 0.0, 0.5, 2.0])
    x = f64(lib, data)
    (g,) = lib.autograd.grad((x.sin() * x.exp()).sum(), x, create_graph=True)
    np.testing.assert_allclose(values(g), np.exp(data) * (np.sin(data) + np.cos(data)),
                               rtol=1e-12)
    (gg,) = lib.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(values(gg), 2 * np.exp(data) * np.cos(data), rtol=1e-12,
                               atol=1e-15)


@torch_cycle_warning
@libs()
def test_backward_with_create_graph_gives_a_differentiable_grad(lib):
    x = f64(lib, [1.0, 2.0])
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.grad_fn is not None
    x.grad = None
    g.sum().backward()
    assert values(x.grad).tolist() == [6.0, 12.0]


def _hvp(lib, a, v, xs):
    x = f64(lib, xs)
    A = f64(lib, a, requires_grad=False)
    f = ((A @ x).tanh() * x.exp()).sum() + (x ** 4).sum()
    (g,) = lib.autograd.grad(f, x, create_graph=True)
    (hv,) = lib.autograd.grad((g * f64(lib, v, requires_grad=False)).sum(), x)
    return values(hv)


def test_hessian_vector_product_matches_pytorch(rng):
    a, v, xs = rng.standard_normal((4, 4)), rng.standard_normal(4), rng.standard_normal(4)
    np.testing.assert_allclose(_hvp(clgrad, a, v, xs), _hvp(torch, a, v, xs), rtol=1e-10,
                               atol=1e-12)


def _gradient_penalty(lib, data):
    x, w = f64(lib, data[0], requires_grad=False), f64(lib, data[1])
    loss = (x @ w).sigmoid().sum()
    (g,) = lib.autograd.grad(loss, w, create_graph=True)
    total = loss + (g * g).sum().sqrt()           # the loss plus the gradient's norm
    total.backward()
    return values(w.grad)


def test_grad_of_grad_norm_matches_pytorch(rng):
    data = rng.standard_normal((5, 3)), rng.standard_normal((3, 2))
    np.testing.assert_allclose(_gradient_penalty(clgrad, data), _gradient_penalty(torch, data),
                               rtol=1e-10, atol=1e-12)


# -- grad mode ---------------------------------------------------------------------------------
@libs()
def test_grad_mode_nesting_and_results(lib):
    x = lib.ones(2, requires_grad=True)
    assert lib.is_grad_enabled() is True
    with lib.no_grad():
        y = x * 2
        assert lib.is_grad_enabled() is False
        with lib.enable_grad():
            assert (x * 2).requires_grad
            with lib.no_grad():
                assert not (x * 2).requires_grad
            with lib.set_grad_enabled(True):
                assert lib.is_grad_enabled()
            assert lib.is_grad_enabled()
        assert not lib.is_grad_enabled()
        with lib.inference_mode(False):
            pass
    assert lib.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert not (y * 3).requires_grad
    with lib.inference_mode():
        assert not lib.is_grad_enabled() and not (x + 1).requires_grad
    with lib.inference_mode(False):
        assert lib.is_grad_enabled() and (x + 1).requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


@libs()
def test_grad_mode_decorators_keep_the_function_and_restore_the_mode(lib):
    x = lib.ones(2, requires_grad=True)

    @lib.no_grad()
    def double(t):
        """Doubles."""
        return t * 2

    @lib.enable_grad()
    def tracked(t):
        return t * 2

    @lib.set_grad_enabled(False)
    def untracked(t):
        return t * 2

    @lib.inference_mode()
    def inferred(t):
        return t * 2

    @lib.no_grad()
    def fails():
        raise ValueError("boom")

    assert lib.is_grad_enabled()                  # decorating with set_grad_enabled: no switch
    assert double.__name__ == "double" and double.__doc__ == "Doubles."
    assert tracked.__name__ == "tracked" and inferred.__name__ == "inferred"
    assert not double(x).requires_grad and not untracked(x).requires_grad
    assert not inferred(x).requires_grad and lib.is_grad_enabled()
    with lib.no_grad():
        assert tracked(x).requires_grad and not lib.is_grad_enabled()
    with pytest.raises(ValueError, match="boom"):
        fails()
    assert lib.is_grad_enabled()
    with pytest.raises(ValueError, match="boom"), lib.no_grad():
        raise ValueError("boom")
    assert lib.is_grad_enabled()


@libs()
def test_grad_mode_bare_decorators(lib):
    x = lib.ones(2, requires_grad=True)

    @lib.no_grad
    def double(t):
        return t * 2

    @lib.enable_grad
    def tracked(t):
        return t * 2

    assert double.__name__ == "double" and not double(x).requires_grad
    with lib.no_grad():
        assert tracked(x).requires_grad


@libs()
def test_grad_mode_is_per_thread(lib):
    seen = []
    with lib.no_grad():
        thread = threading.Thread(target=lambda: seen.append(lib.is_grad_enabled()))
        thread.start()
        thread.join()
    assert seen == [True]


# -- detach, detach_, .data, requires_grad_(False) -----------------------------------------------
@libs()
def test_detach_shares_storage_both_ways(lib):
    x = f64(lib, [1.0, 2.0, 3.0])
    d = x.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    assert d.data_ptr() == x.data_ptr()
    before = version(x)
    d.add_(1)                                     # allowed: d does not require grad
    assert values(x).tolist() == [2.0, 3.0, 4.0]
    if before is not None:
        assert version(x) == before + 1 and version(d) == version(x)    # one counter
    with lib.no_grad():
        x.mul_(2)
    assert values(d).tolist() == [4.0, 6.0, 8.0]
    y = x * 2
    dy = y.detach()
    assert not dy.requires_grad and y.requires_grad and y.grad_fn is not None


@libs()
def test_detach_in_place_cuts_a_non_leaf_from_its_graph(lib):
    x = lib.ones(2, requires_grad=True)
    y = x * 2
    assert y.detach_() is y
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert not (y * 3).requires_grad and values(y).tolist() == [2.0, 2.0]


@libs()
def test_data_shares_storage_and_is_not_tracked(lib):
    x = f64(lib, [1.0, 2.0])
    d = x.data
    assert not d.requires_grad and d.is_leaf and d.data_ptr() == x.data_ptr()
    x.data.mul_(3)                                # no leaf error: .data is outside autograd
    assert values(x).tolist() == [3.0, 6.0] and x.requires_grad and x.is_leaf
    assert not (x.data * 2).requires_grad
    (x * x).sum().backward()
    assert values(x.grad).tolist() == [6.0, 12.0]


@libs()
def test_data_assignment_swaps_the_data(lib):
    x = f64(lib, [1.0, 2.0])
    x.data = lib.zeros(2, dtype=lib.float64)
    assert values(x).tolist() == [0.0, 0.0] and x.requires_grad and x.is_leaf


@libs()
def test_data_inplace_is_invisible_to_the_version_check(lib):
    x = f64(lib, [0.0, 1.0])
    y = x.exp()
    z = (y * y).sum()
    before = version(y)
    y.data.add_(1)
    if before is not None:
        assert version(y) == before
    z.backward()
    np.testing.assert_allclose(values(x.grad), 2 * (np.exp([0.0, 1.0]) + 1) ** 2)




@libs()
def test_new_tensors_start_at_version_zero(lib):
    assert version(lib.tensor([1.0, 2.0])) == 0
    assert version(lib.from_numpy(np.ones(2))) == 0
    assert version(lib.zeros(2)) == version(lib.randn(2)) == version(lib.randint(3, (2,))) == 0

@libs()
def test_data_has_its_own_version_counter_and_detach_shares_it(lib):
    x = f64(lib, [0.0, 1.0], requires_grad=False)
    d, e = x.data, x.detach()
    assert version(d) == 0
    d.add_(1)
    d[0:1].mul_(2)                        # a view of .data counts in .data's counter
    assert (version(x), version(d)) == (0, 2)
    e.add_(1)                             # detach() shares x's counter
    assert (version(x), version(e), version(d)) == (1, 1, 2)
    x.add_(1)
    assert (version(x), version(d)) == (2, 2)
    np.testing.assert_allclose(values(x), [4.0, 4.0])


@libs()
def test_saved_data_tensor_is_version_checked_on_its_own_counter(lib):
    w = f64(lib, [1.0, 2.0]).requires_grad_()
    d = f64(lib, [3.0, 4.0]).data
    y = (w * d).sum()                     # saves d
    d.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()

# -- in-place ops and the version counter ---------------------------------------------------------
@libs()
def test_version_counter_counts_inplace_ops(lib):
    x = lib.ones(3)
    if version(x) is None:
        pytest.skip("clgrad tensors have no _version")
    v = version(x)
    x.add_(1)
    x.mul_(2)
    x[0] = 5.0
    x += 1
    assert version(x) == v + 4
    (x * 2).sum()                                 # out-of-place ops do not count
    assert version(x) == v + 4


@libs()
def test_modified_saved_input_without_grad_is_detected(lib):
    a = f64(lib, [1.0, 2.0], requires_grad=False)
    w = f64(lib, [3.0, 4.0])
    z = (a * w).sum()                             # MulBackward saves a for w's gradient
    a.add_(1)
    with pytest.raises(RuntimeError, match=MODIFIED_MSG + ".*is at version \\d+; expected "
                                           "version \\d+ instead"):
        z.backward()


@libs()
def test_modified_saved_output_through_detach_is_detected(lib):
    x = f64(lib, [0.0, 1.0])
    y = x + 1
    z = y.sum() * 2                               # nothing saved y: the change is harmless
    y.detach().add_(1)
    z.backward()
    assert values(x.grad).tolist() == [2.0, 2.0]
    s = x.exp()                                   # ExpBackward saves its result s
    t = s.sum() + (s * s).sum()
    s.detach().add_(1)                            # detach() shares s's version counter
    with pytest.raises(RuntimeError, match=MODIFIED_MSG):
        t.backward()


@libs()
def test_saved_leaf_modified_under_no_grad_is_detected(lib):
    w = f64(lib, [1.0, 2.0])
    z = (w * w).sum()
    with lib.no_grad():
        w.mul_(2)
    with pytest.raises(RuntimeError, match=MODIFIED_MSG):
        z.backward()
    v = f64(lib, [1.0, 2.0])
    z = (v + 1).sum()                             # add saves nothing: the change is harmless
    with lib.no_grad():
        v.mul_(2)
    z.backward()
    assert values(v.grad).tolist() == [1.0, 1.0]


INPLACE = {
    "add_": lambda t: t.add_(1), "mul_": lambda t: t.mul_(2), "zero_": lambda t: t.zero_(),
    "fill_": lambda t: t.fill_(2.0), "copy_": lambda t: t.copy_(t.detach() * 0),
    "clamp_": lambda t: t.clamp_(0, 0.5), "exp_": lambda t: t.exp_(),
    "iadd": lambda t: t.__iadd__(1), "imul": lambda t: t.__imul__(2),
    "setitem": lambda t: t.__setitem__(0, 3.0),
}


@pytest.mark.parametrize("op", INPLACE.values(), ids=INPLACE.keys())
@libs()
def test_inplace_on_a_leaf_requiring_grad(lib, op):
    x = lib.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad is being used in "
                                           "an in-place operation"):
        op(x)
    assert values(x).tolist() == [1.0, 1.0, 1.0]
    before = version(x)
    with lib.no_grad():
        op(x)
    assert values(x).tolist() != [1.0, 1.0, 1.0]
    assert x.requires_grad and x.is_leaf and x.grad_fn is None
    if before is not None:
        assert version(x) > before


# -- hooks ----------------------------------------------------------------------------------------
@libs()
def test_leaf_hooks_replace_keep_chain_and_remove(lib):
    x = f64(lib, [1.0, 2.0])
    seen = []
    h1 = x.register_hook(lambda g: g * 2)
    h2 = x.register_hook(lambda g: seen.append(values(g).tolist()))   # returns None: keeps g
    (x * 3).sum().backward()
    assert seen == [[6.0, 6.0]] and values(x.grad).tolist() == [6.0, 6.0]
    h1.remove()
    h1.remove()                                   # a second remove is harmless
    x.grad = None
    (x * 3).sum().backward()
    assert seen[-1] == [3.0, 3.0] and values(x.grad).tolist() == [3.0, 3.0]
    h2.remove()
    (x * 3).sum().backward()
    assert len(seen) == 2


@libs()
def test_non_leaf_hook_changes_what_flows_upstream_and_runs_once(lib):
    x = f64(lib, [1.0, 2.0])
    y = x * 3
    calls = []

    def hook(g):
        calls.append(values(g).tolist())
        return g * 0.5
    handle = y.register_hook(hook)
    (y * y + y).sum().backward(retain_graph=True)         # y used twice: one call, summed grad
    assert calls == [[7.0, 13.0]]
    np.testing.assert_allclose(values(x.grad), [10.5, 19.5])
    handle.remove()
    x.grad = None
    (y * y + y).sum().backward()
    assert len(calls) == 1 and values(x.grad).tolist() == [21.0, 39.0]


@libs()
def test_register_hook_needs_requires_grad(lib):
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't "
                                           "require gradient"):
        lib.ones(2).register_hook(lambda g: g)


@libs()
def test_leaf_hooks_run_for_autograd_grad(lib):
    x = f64(lib, [1.0, 2.0])
    x.register_hook(lambda g: g * 2)
    (g,) = lib.autograd.grad((x * 3).sum(), x)
    assert values(g).tolist() == [6.0, 6.0]


@libs()
def test_non_leaf_hooks_run_for_autograd_grad(lib):
    x = f64(lib, [1.0, 2.0])
    y = x * 3
    y.register_hook(lambda g: g * 2)
    (gx,) = lib.autograd.grad(y.sum(), x, retain_graph=True)
    (gy,) = lib.autograd.grad(y.sum(), y)
    assert values(gx).tolist() == [6.0, 6.0] and values(gy).tolist() == [2.0, 2.0]


@libs()
def test_retain_grad_sees_the_hooked_gradient_whatever_the_order(lib):
    x = f64(lib, [1.0, 2.0])
    y = x * 3
    y.retain_grad()
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    assert values(y.grad).tolist() == [10.0, 10.0] and values(x.grad).tolist() == [30.0, 30.0]


@libs()
def test_retain_grad_after_a_hook_sees_the_hooked_gradient(lib):
    x = f64(lib, [1.0, 2.0])
    y = x * 3
    y.register_hook(lambda g: g * 10)
    y.retain_grad()
    y.sum().backward()
    assert values(y.grad).tolist() == [10.0, 10.0] and values(x.grad).tolist() == [30.0, 30.0]


# -- custom Functions -----------------------------------------------------------------------------
def cube(lib, wrong_second_order=False, wrong_first_order=False):
    """x**3 as a Function whose backward is differentiable (it uses recorded ops)."""
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            if wrong_second_order:
                x = x.detach()
            scale = 3.3 if wrong_first_order else 3.0
            return g * scale * x * x
    return Cube


@libs()
def test_function_save_for_backward_needs_input_grad_and_non_tensor_args(lib):
    seen = {}

    class ScaledMul(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, scale):
            ctx.save_for_backward(a, b)
            ctx.scale = scale
            return a * b * scale

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            seen["needs"] = tuple(ctx.needs_input_grad)
            return (g * b * ctx.scale if ctx.needs_input_grad[0] else None,
                    g * a * ctx.scale if ctx.needs_input_grad[1] else None, None)

    a = f64(lib, [1.0, 2.0])
    b = f64(lib, [3.0, 4.0], requires_grad=False)
    y = ScaledMul.apply(a, b, 2.0)
    assert type(y.grad_fn).__name__ == "ScaledMulBackward" and y.requires_grad
    y.sum().backward()
    assert seen["needs"] == (True, False, False) and values(a.grad).tolist() == [6.0, 8.0]
    plain = ScaledMul.apply(b, b, 2.0)
    assert not plain.requires_grad and plain.grad_fn is None
    with lib.no_grad():
        assert ScaledMul.apply(a, b, 2.0).grad_fn is None


@libs()
def test_function_with_differentiable_backward_supports_double_backward(lib):
    x = f64(lib, [1.0, -2.0])
    (g,) = lib.autograd.grad(cube(lib).apply(x).sum(), x, create_graph=True)
    assert values(g).tolist() == [3.0, 12.0]
    (gg,) = lib.autograd.grad(g.sum(), x)
    assert values(gg).tolist() == [6.0, -12.0]


@libs()
def test_function_mark_dirty_returns_the_modified_input(lib):
    class AddOne(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    a = f64(lib, [1.0, 2.0])
    b = a * 2
    before = version(b)
    c = AddOne.apply(b)
    assert c is b and type(c.grad_fn).__name__ == "AddOneBackward"
    assert values(c).tolist() == [3.0, 5.0]
    if before is not None:
        assert version(b) > before
    (c * c).sum().backward()
    assert values(a.grad).tolist() == [12.0, 20.0]
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        AddOne.apply(f64(lib, [1.0]))


@libs()
def test_function_mark_non_differentiable_and_materialized_grads(lib):
    got = {}

    class SplitSign(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            doubled = x * 2
            ctx.mark_non_differentiable(doubled)
            return x * 1, doubled

        @staticmethod
        def backward(ctx, g, g_doubled):
            got["g_doubled"] = values(g_doubled).tolist()
            return g

    x = f64(lib, [1.0, 2.0])
    y, doubled = SplitSign.apply(x)
    assert y.requires_grad and not doubled.requires_grad and doubled.grad_fn is None
    y.sum().backward()
    assert got["g_doubled"] == [0.0, 0.0] and values(x.grad).tolist() == [1.0, 1.0]


@libs()
def test_function_set_materialize_grads(lib):
    got = []

    def make(materialize):
        class Two(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(materialize)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, g1, g2):
                got.append((g1 is None, g2 is None))
                total = 0
                if g1 is not None:
                    total = total + g1 * 2
                if g2 is not None:
                    total = total + g2 * 3
                return total
        return Two

    x = f64(lib, [1.0, 2.0])
    make(False).apply(x)[0].sum().backward()
    make(False).apply(x)[1].sum().backward()
    make(True).apply(x)[1].sum().backward()
    assert got == [(False, True), (True, False), (False, False)]
    assert values(x.grad).tolist() == [8.0, 8.0]


@libs()
def test_function_with_several_outputs(lib):
    class SinCos(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin(), x.cos()

        @staticmethod
        def backward(ctx, gs, gc_):
            (x,) = ctx.saved_tensors
            return gs * x.cos() - gc_ * x.sin()

    data = np.array([0.3, -1.2])
    x = f64(lib, data)
    s, c = SinCos.apply(x)
    assert s.grad_fn is c.grad_fn
    (s * 2 + c * c).sum().backward()
    np.testing.assert_allclose(values(x.grad), 2 * np.cos(data) - 2 * np.cos(data) *
                               np.sin(data), rtol=1e-12)


@libs()
def test_once_differentiable_first_order(lib):
    once = API[lib].once_differentiable

    class Exp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        @once
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            assert not lib.is_grad_enabled()
            return g * y

    assert Exp.backward.__name__ == "backward"
    x = f64(lib, [0.0, 1.0])
    Exp.apply(x).sum().backward()
    np.testing.assert_allclose(values(x.grad), np.exp([0.0, 1.0]))
    (g,) = lib.autograd.grad(Exp.apply(x).sum(), x, create_graph=True)
    assert not g.requires_grad                    # no differentiable input to the backward


@libs()
def test_once_differentiable_refuses_a_double_backward(lib):
    once = API[lib].once_differentiable

    class Exp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        @once
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    x = f64(lib, [0.0, 1.0])
    v = f64(lib, [1.0, 1.0])
    (g,) = lib.autograd.grad(Exp.apply(x), x, v, create_graph=True)
    assert g.requires_grad
    with pytest.raises(RuntimeError, match="trying to differentiate twice a function that was "
                                           "marked with @once_differentiable"):
        g.sum().backward()


@libs()
def test_function_wrong_gradient_count_or_shape(lib):
    def make(result):
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, factor):
                return x * factor

            @staticmethod
            def backward(ctx, g):
                return result(g)
        return Bad

    x = f64(lib, [1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="function BadBackward returned an incorrect number "
                                           "of gradients \\(expected 2, got 1\\)"):
        make(lambda g: g).apply(x, 2.0).sum().backward()
    with pytest.raises(RuntimeError, match="Function BadBackward returned an invalid gradient "
                                           "at index 0 - got \\[1\\] but expected shape "
                                           "compatible with \\[3\\]"):
        make(lambda g: (g[:1], None)).apply(x, 2.0).sum().backward()
    make(lambda g: (g.reshape(1, 3), None)).apply(x, 2.0).sum().backward()
    assert values(x.grad).tolist() == [1.0, 1.0, 1.0]     # broadcastable: summed to [3]


@libs()
def test_exception_in_backward_restores_grad_mode(lib):
    class Fails(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            raise ValueError("no derivative")

    x = lib.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="no derivative"):
        Fails.apply(x).sum().backward()
    assert lib.is_grad_enabled()
    with pytest.raises(ValueError, match="no derivative"):
        lib.autograd.grad(Fails.apply(x).sum(), x, create_graph=True)
    assert lib.is_grad_enabled()


# -- integer and bool results --------------------------------------------------------------------
INTEGER_RESULTS = {
    "argmax": lambda x: x.argmax(), "argmin": lambda x: x.argmin(1),
    "argsort": lambda x: x.argsort(1), "gt": lambda x: x > 0, "eq": lambda x: x.eq(x),
    "ne": lambda x: x.ne(1.0), "long": lambda x: x.long(), "int": lambda x: x.int(),
    "bool": lambda x: x.bool(), "to": lambda x: x.to(x.long().dtype),
    "max_indices": lambda x: x.max(1)[1], "count": lambda x: (x > 0).sum(),
}


@pytest.mark.parametrize("fn", INTEGER_RESULTS.values(), ids=INTEGER_RESULTS.keys())
@libs()
def test_integer_and_bool_results_are_not_differentiable(lib, fn, rng):
    x = f64(lib, rng.standard_normal((3, 4)))
    out = fn(x)
    assert not out.dtype.is_floating_point
    assert not out.requires_grad and out.grad_fn is None and out.is_leaf


@libs()
def test_a_mask_cast_back_to_float_carries_no_gradient(lib):
    x = f64(lib, [-1.0, 2.0, 3.0])
    mask = (x > 0).to(lib.float64)
    assert not mask.requires_grad
    (x * mask).sum().backward()
    assert values(x.grad).tolist() == [0.0, 1.0, 1.0]


# -- gradcheck / gradgradcheck ----------------------------------------------------------------
@libs()
def test_gradcheck_passes_correct_and_rejects_wrong_backward(lib, rng):
    error = API[lib].GradcheckError
    assert issubclass(error, RuntimeError)
    x = f64(lib, rng.standard_normal(4))
    good, wrong = cube(lib), cube(lib, wrong_first_order=True)
    assert lib.autograd.gradcheck(good.apply, (x,), eps=1e-6, atol=1e-5, rtol=1e-3,
                                  raise_exception=True) is True
    assert lib.autograd.gradcheck(lambda t: (t.sin() * t).sum(), (x,)) is True
    with pytest.raises(error):
        lib.autograd.gradcheck(wrong.apply, (x,))
    assert lib.autograd.gradcheck(wrong.apply, (x,), raise_exception=False) is False
    # a 10% error passes only with a tolerance that forgives it
    assert lib.autograd.gradcheck(wrong.apply, (x,), atol=0.0, rtol=0.2) is True


@libs()
def test_gradgradcheck_checks_the_second_derivative(lib, rng):
    error = API[lib].GradcheckError
    x = f64(lib, rng.standard_normal(3))
    assert lib.autograd.gradgradcheck(cube(lib).apply, (x,)) is True
    bad = cube(lib, wrong_second_order=True)
    assert lib.autograd.gradcheck(bad.apply, (x,)) is True          # first order is right
    with pytest.raises(error):
        lib.autograd.gradgradcheck(bad.apply, (x,))
    assert lib.autograd.gradgradcheck(bad.apply, (x,), raise_exception=False) is False


# -- the engine ------------------------------------------------------------------------------------
@libs()
def test_long_multiplicative_chain(lib):
    x = lib.ones(1, dtype=lib.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(values(x.grad), [1.0001 ** 10_000], rtol=1e-9)


@libs()
def test_long_chain_reusing_the_leaf(lib):
    x = lib.ones(2, dtype=lib.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y + x
    y.sum().backward()
    assert values(x.grad).tolist() == [10_001.0, 10_001.0]


@libs()
def test_diamond_graph_sums_both_paths(lib):
    x = f64(lib, [2.0])
    y = x * x
    z = y.exp() + y * 3 + y
    z.sum().backward()
    np.testing.assert_allclose(values(x.grad), [2 * 2.0 * (math.exp(4.0) + 4)], rtol=1e-12)


@libs()
def test_saved_tensors_are_freed_after_backward_unless_retained(lib):
    x = f64(lib, [0.0, 1.0])
    for retain in (True, False):
        y = x.exp()
        z = (y * y).sum()
        ref = weakref.ref(y)
        del y
        gc.collect()
        assert ref() is not None                  # the graph still needs it
        z.backward(retain_graph=retain)
        gc.collect()
        assert (ref() is not None) is retain
        del z


@libs()
def test_graph_does_not_keep_unsaved_intermediates_alive(lib):
    x = f64(lib, [0.0, 1.0])
    y = x * 2
    z = y.sum()                                   # sum saves no tensor
    ref = weakref.ref(y)
    y.retain_grad()                               # retain_grad must not hold y either
    del y
    assert ref() is None
    z.backward()
    assert values(x.grad).tolist() == [2.0, 2.0]


def test_dead_outputs_free_the_whole_graph():
    x = clgrad.ones(3, requires_grad=True)
    y = x.exp()
    z = (y * y).sin().sum()
    refs = [weakref.ref(y), weakref.ref(z.grad_fn), weakref.ref(z.grad_fn.next_functions[0][0])]
    del y, z
    gc.collect()
    assert [r() for r in refs] == [None, None, None]


def test_dead_outputs_are_freed_without_the_cycle_collector():
    x = clgrad.ones(3, requires_grad=True)
    gc.collect()
    gc.disable()
    try:
        y = x.exp()
        refs = [weakref.ref(y), weakref.ref(y.grad_fn)]
        del y
        assert [r() for r in refs] == [None, None]
    finally:
        gc.enable()


def test_training_loop_keeps_device_memory_flat(rng):
    """10,000 steps of fitting a tiny linear model: bytes in use the same at step 100 and at
    the end, and the loss goes down."""
    x = clgrad.tensor(rng.standard_normal((8, 3)), dtype=clgrad.float32)
    y = x @ clgrad.tensor([[1.0], [-2.0], [0.5]]) + 0.25
    w = clgrad.zeros(3, 1, requires_grad=True)
    b = clgrad.zeros(1, requires_grad=True)
    in_use = {}
    for step in range(1, 10_001):
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        with clgrad.no_grad():
            w -= 0.05 * w.grad
            b -= 0.05 * b.grad
        w.grad.zero_()
        b.grad.zero_()
        if step == 1:
            first = loss.item()
        if step in (100, 10_000):
            in_use[step] = clgrad.memory_stats()["bytes_in_use"]
    assert in_use[100] == in_use[10_000], in_use
    assert loss.item() < 1e-6 < first


# -- review regressions ------------------------------------------------------------------------
@libs()
def test_data_assignment_keeps_the_version_counter_of_earlier_views(lib):
    """nn.Module.to()/float() assign param.data: a graph that saved a view of the parameter
    must still see a later in-place update (PyTorch's set_data keeps the counter)."""
    lin = lib.nn.Linear(3, 1)
    x = lib.ones(2, 3, requires_grad=True)
    y = lin(x).sum()                      # saves weight.t(), a view
    lin.float()
    with lib.no_grad():
        lin.weight.mul_(3)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


@pytest.mark.parametrize("index", ["tensor", "slice"])
@libs()
def test_second_backward_through_an_index_assignment_raises(lib, index):
    x = lib.ones(4, 3, requires_grad=True)
    y = x + 0
    y[lib.tensor([0, 2]) if index == "tensor" else slice(1, 3)] = 0.0
    z = y.sum()
    z.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        z.backward()


@libs()
def test_no_grad_generator_passes_throw_and_close_through(lib):
    log = []

    @lib.no_grad()
    def gen():
        try:
            while True:
                try:
                    yield lib.is_grad_enabled()
                except ValueError:
                    log.append(("caught", lib.is_grad_enabled()))
        finally:
            log.append(("finally", lib.is_grad_enabled()))
    it = gen()
    assert next(it) is False
    assert it.throw(ValueError()) is False
    it.close()
    assert log == [("caught", False), ("finally", False)] and lib.is_grad_enabled()
