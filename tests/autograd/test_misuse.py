"""Misuse of the autograd API against PyTorch: bad arguments to backward/grad, hooks that
return the wrong thing, bad .grad/.requires_grad/.data assignments, in-place writes autograd
must refuse, custom Functions that break the ctx contract, gradcheck and grad-mode misuse.

Every case runs the same snippet in clgrad and in PyTorch. Errors: clgrad must raise PyTorch's
exception type with PyTorch's message (SAME_ERRORS) or, where the message names the library or
is worded differently, with a key fragment of it (SIMILAR_ERRORS). Misuse PyTorch accepts (or
only warns about): clgrad must do what PyTorch does. Where clgrad differs today, its case is a
strict xfail whose reason says what clgrad does and what PyTorch does.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
from conftest import assert_same_error

import clgrad

torch = pytest.importorskip("torch")

MODIFIED_MSG = ("one of the variables needed for gradient computation has been modified by an "
                "inplace operation")


class Case(NamedTuple):
    run: Callable                 # run(lib): the misuse
    error: type | None = None     # SIMILAR_ERRORS: the exception type both raise
    match: str = ""               # SIMILAR_ERRORS: a regex both messages match
    differs: str | None = None    # what clgrad does vs what PyTorch does: a strict xfail


SAME_ERRORS: dict[str, Case] = {}
SIMILAR_ERRORS: dict[str, Case] = {}


def same_error(differs: str | None = None):
    """Register the decorated run(lib) as raising PyTorch's exception type and message."""
    def register(run):
        SAME_ERRORS[run.__name__] = Case(run, differs=differs)
        return run
    return register


def similar_error(error: type, match: str, differs: str | None = None):
    """Register the decorated run(lib) as raising `error` with a message matching `match`."""
    def register(run):
        SIMILAR_ERRORS[run.__name__] = Case(run, error, match, differs)
        return run
    return register


def _xfail(reason: str | None) -> list:
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


def libs(clgrad_xfail: str | None = None):
    """Run the test once with clgrad and once with PyTorch (the reference)."""
    return pytest.mark.parametrize("lib", [
        pytest.param(clgrad, id="clgrad", marks=_xfail(clgrad_xfail)),
        pytest.param(torch, id="torch")])


def f64(lib, data, requires_grad=True):
    return lib.tensor(data, dtype=lib.float64, requires_grad=requires_grad)


def values(t) -> list:
    return t.detach().numpy().tolist()


def function(lib, forward, backward):
    """A custom autograd.Function named Bad (its graph node: BadBackward)."""
    return type("Bad", (lib.autograd.Function,),
                {"forward": staticmethod(forward), "backward": staticmethod(backward)})


def doubling(lib, backward):
    """Bad.apply(x) = x * 2 with the given (possibly wrong) backward."""
    return function(lib, lambda ctx, a: a * 2, backward)


def backward_through(lib, bad, *args):
    """bad.apply(x, *args).sum().backward() for x = [1, 2]; x.grad."""
    x = f64(lib, [1.0, 2.0])
    bad.apply(x, *args).sum().backward()
    return x.grad


def saving(lib, *extra):
    """A Function x * 2 whose forward saves (x, *extra) and whose backward reads them."""
    def forward(ctx, a):
        ctx.save_for_backward(a, *extra)
        return a * 2

    def backward(ctx, g):
        assert len(ctx.saved_tensors) == 1 + len(extra)    # reading them checks versions
        return g * 2
    return function(lib, forward, backward)


def marking_dirty(lib, dirty, returned):
    """A Function that adds 1 to dirty(a) in place, marks it dirty and returns returned(a, m)."""
    def forward(ctx, a):
        m = dirty(a)
        if isinstance(m, type(a)):
            m.add_(1)
        ctx.mark_dirty(m)
        return returned(a, m)
    return function(lib, forward, lambda ctx, g: g)


def hooked(lib, hook, leaf: bool):
    """Backward through x * 2 with `hook` on x (leaf) or on x * 2; x.grad."""
    x = f64(lib, [1.0, 2.0])
    y = x * 2
    (x if leaf else y).register_hook(hook)
    y.sum().backward()
    return x.grad


def modified_after(lib, make, write):
    """Backward through out = make(t), t = x * 1, after write(t, out) wrote into something a
    derivative saved."""
    t = f64(lib, [1.0, 2.0]) * 1
    out = make(t)
    write(t, out)
    out.sum().backward()


def made_in_inference_mode(lib):
    with lib.inference_mode():
        return lib.ones(2, dtype=lib.float64)


# -- errors with PyTorch's type and message: backward and autograd.grad --------------------------
@same_error()
def backward_twice(lib):
    x = f64(lib, [1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    y.backward()


@same_error()
def backward_without_requires_grad(lib):
    lib.ones(2).sum().backward()


@same_error()
def backward_of_an_integer_tensor(lib):
    lib.ones(2, dtype=lib.int64).sum().backward()


@same_error()
def backward_of_a_non_scalar_without_gradient(lib):
    (f64(lib, [1.0, 2.0]) * 2).backward()


@same_error()
def backward_of_a_grad(lib):
    x = f64(lib, [1.0, 2.0])
    (x * x).sum().backward()
    x.grad.sum().backward()


@same_error()
def grad_twice(lib):
    x = f64(lib, [1.0, 2.0])
    y = (x * x).sum()
    lib.autograd.grad(y, x)
    lib.autograd.grad(y, x)


@same_error()
def grad_of_a_grad_without_create_graph(lib):
    x = f64(lib, [1.0, 2.0])
    (g,) = lib.autograd.grad((x * x).sum(), x)
    lib.autograd.grad(g.sum(), x)


@same_error()
def grad_of_an_integer_output(lib):
    x = f64(lib, [1.0, 2.0])
    lib.autograd.grad(x.argmax(), x)


@same_error()
def grad_none_grad_output_for_a_non_scalar(lib):
    x = f64(lib, [1.0, 2.0])
    lib.autograd.grad(x * 2, [x], grad_outputs=[None])


@same_error()
def grad_outputs_a_number(lib):
    lib.autograd.grad(1.0, [f64(lib, [1.0])])


@same_error()
def grad_outputs_none(lib):
    lib.autograd.grad(None, [f64(lib, [1.0])])


@same_error()
def grad_fewer_grad_outputs_than_outputs(lib):
    x = f64(lib, [1.0, 2.0])
    lib.autograd.grad([x * 2, x * 3], [x], grad_outputs=[lib.ones(2, dtype=lib.float64)])


@same_error()
def grad_materialize_grads_with_allow_unused_false(lib):
    x, unused = f64(lib, [1.0]), f64(lib, [1.0])
    lib.autograd.grad((x * 2).sum(), [unused], allow_unused=False, materialize_grads=True)


@same_error()
def grad_empty_inputs(lib):
    lib.autograd.grad((f64(lib, [1.0]) * 2).sum(), [])


# -- ... hooks ------------------------------------------------------------------------------------
@same_error()
def hook_on_a_tensor_not_requiring_grad(lib):
    lib.ones(2).register_hook(lambda g: g)


@same_error()
def hook_not_callable(lib):
    hooked(lib, 3, leaf=True)


@same_error()
def hook_raising(lib):
    hooked(lib, lambda g: {}["hooked"], leaf=False)


@same_error()
def hook_resizing_a_leaf_grad(lib):
    hooked(lib, lambda g: g[:1], leaf=True)


@same_error()
def hook_resizing_a_non_leaf_grad(lib):
    hooked(lib, lambda g: g[:1], leaf=False)


@same_error()
def hook_reshaping_a_non_leaf_grad_to_a_broadcastable_shape(lib):
    hooked(lib, lambda g: g.reshape(1, 2), leaf=False)


@same_error()
def hook_returning_a_number(lib):
    hooked(lib, lambda g: 3.0, leaf=False)


@same_error()
def hook_returning_a_list_on_a_leaf(lib):
    hooked(lib, lambda g: [1.0, 1.0], leaf=True)


@similar_error(RuntimeError, r"hook '<lambda>' has changed the type of value")
def hook_changing_the_dtype_of_a_non_leaf_grad(lib):
    hooked(lib, lambda g: g.float(), leaf=False)


@similar_error(RuntimeError, r"hook '<lambda>' has changed the type of value")
def hook_changing_the_dtype_of_a_leaf_grad(lib):
    hooked(lib, lambda g: g.float(), leaf=True)


# -- ... requires_grad, .grad, .data, detach_, in-place writes ------------------------------------
@same_error()
def retain_grad_without_requires_grad(lib):
    lib.ones(2).retain_grad()


@same_error()
def requires_grad_false_on_a_non_leaf(lib):
    (f64(lib, [1.0]) * 2).requires_grad_(False)


@same_error()
def requires_grad_set_to_an_int(lib):
    f64(lib, [1.0], requires_grad=False).requires_grad = 1


@same_error()
def grad_set_to_an_int(lib):
    f64(lib, [1.0]).grad = 1


@same_error()
def grad_set_to_a_list(lib):
    f64(lib, [1.0]).grad = [1.0]


@same_error()
def grad_set_to_the_tensor_itself(lib):
    x = f64(lib, [1.0])
    x.grad = x


@same_error()
def data_set_to_an_integer_tensor(lib):
    f64(lib, [1.0, 2.0]).data = lib.ones(2, dtype=lib.int64)


@similar_error(RuntimeError, r"Can't detach views in-place\. Use detach\(\) instead\.")
def detach__on_a_view_of_a_non_leaf(lib):
    (f64(lib, [1.0, 2.0]) * 2)[0:1].detach_()


@similar_error(RuntimeError, r"Can't detach views in-place\. Use detach\(\) instead\.")
def detach__on_a_view_of_a_leaf(lib):
    f64(lib, [1.0, 2.0])[0:1].detach_()


@same_error()
def numpy_of_a_tensor_requiring_grad(lib):
    f64(lib, [1.0]).numpy()


@same_error()
def inplace_on_a_leaf(lib):
    f64(lib, [1.0, 2.0]).add_(1)


@same_error()
def inplace_on_a_view_of_a_leaf(lib):
    f64(lib, [1.0, 2.0])[0:1].mul_(2)


@same_error()
def inplace_on_a_leaf_under_enable_grad_inside_no_grad(lib):
    x = f64(lib, [1.0, 2.0])
    with lib.no_grad(), lib.enable_grad():
        x.mul_(2)


@same_error()
def out_a_leaf_requiring_grad(lib):
    lib.add(lib.ones(2, dtype=lib.float64), 1, out=f64(lib, [1.0, 2.0]))


@same_error()
def out_with_an_input_requiring_grad(lib):
    lib.add(f64(lib, [1.0, 2.0]), 1, out=lib.zeros(2, dtype=lib.float64))


# -- ... custom Functions -------------------------------------------------------------------------
@same_error()
def function_returning_too_few_gradients(lib):
    bad = function(lib, lambda ctx, a, b: a * b, lambda ctx, g: g)
    backward_through(lib, bad, f64(lib, [3.0]))


@same_error()
def function_returning_too_many_gradients(lib):
    backward_through(lib, doubling(lib, lambda ctx, g: (g, g)))


@same_error()
def function_returning_a_0_d_gradient_for_a_1_d_input(lib):
    backward_through(lib, doubling(lib, lambda ctx, g: g.sum()))


@same_error()
def function_returning_a_gradient_of_another_shape(lib):
    backward_through(lib, doubling(lib, lambda ctx, g: lib.ones(3, dtype=lib.float64)))


@same_error()
def function_returning_a_gradient_for_a_non_tensor_input(lib):
    bad = function(lib, lambda ctx, a, k: a * k, lambda ctx, g: (g, g))
    backward_through(lib, bad, 2.0)


@same_error()
def function_returning_a_list_as_gradient(lib):
    backward_through(lib, doubling(lib, lambda ctx, g: [g]))


@same_error()
def function_returning_a_number_as_gradient(lib):
    backward_through(lib, doubling(lib, lambda ctx, g: 2.0))


@same_error()
def function_returning_an_ndarray_as_gradient(lib):
    backward_through(lib, doubling(lib, lambda ctx, g: np.ones(2)))


@same_error()
def function_backward_taking_fewer_grads_than_outputs(lib):
    x = f64(lib, [1.0])
    a, b = function(lib, lambda ctx, a: (a * 2, a * 3), lambda ctx, g: g).apply(x)
    (a + b).sum().backward()


@same_error()
def function_without_forward(lib):
    type("Bad", (lib.autograd.Function,), {}).apply(f64(lib, [1.0]))


@same_error()
def function_without_backward(lib):
    bad = type("Bad", (lib.autograd.Function,), {"forward": staticmethod(lambda ctx, a: a * 2)})
    backward_through(lib, bad)


@same_error()
def function_saved_tensors_after_backward(lib):
    y = saving(lib).apply(f64(lib, [1.0]))
    y.sum().backward()
    return y.grad_fn.saved_tensors


@same_error()
def function_save_for_backward_of_a_number(lib):
    saving(lib, 3.0).apply(f64(lib, [1.0]))


@same_error()
def function_save_for_backward_of_a_list(lib):
    saving(lib, [1.0]).apply(f64(lib, [1.0]))


@same_error()
def function_mark_dirty_of_an_input_not_returned(lib):
    marking_dirty(lib, lambda a: a, lambda a, m: a * 2).apply(f64(lib, [1.0]) * 1)


# -- ... gradcheck, grad mode --------------------------------------------------------------------
@same_error()
def gradcheck_with_no_input_requiring_grad(lib):
    lib.autograd.gradcheck(lambda t: t * 2, (f64(lib, [1.0], requires_grad=False),))


@same_error()
def no_grad_used_without_parentheses(lib):
    with lib.no_grad:
        pass


@same_error()
def set_grad_enabled_without_a_mode(lib):
    lib.set_grad_enabled()


@pytest.mark.parametrize("case", [pytest.param(c, id=name.replace("_", "-"),
                                               marks=_xfail(c.differs))
                                  for name, c in SAME_ERRORS.items()])
def test_same_error_as_pytorch(case):
    assert_same_error(case.run, (clgrad,), (torch,))


# -- errors of PyTorch's type whose messages share a fragment ------------------------------------
def mismatch(grad_shape: str, output_shape: str) -> str:
    """The gradient/output shape mismatch (PyTorch prints torch.Size([...]))."""
    return (rf"Mismatch in shape: grad_output\[0\] has a shape of .*{grad_shape}.* and "
            rf"output\[0\] has a shape of .*{output_shape}")


@similar_error(RuntimeError, mismatch(r"\[2\]", r"\[3\]"))
def backward_gradient_of_another_shape(lib):
    (f64(lib, [1.0, 2.0, 3.0]) * 2).backward(lib.ones(2, dtype=lib.float64))


@similar_error(RuntimeError, mismatch(r"\[1\]", r"\[\]"))
def backward_1_d_gradient_for_a_0_d_output(lib):
    (f64(lib, [1.0]) * 2).sum().backward(lib.ones(1, dtype=lib.float64))


@similar_error(RuntimeError, mismatch(r"\[2\]", r"\[1, 2\]"))
def backward_broadcastable_gradient(lib):
    (f64(lib, [[1.0, 2.0]]) * 2).backward(lib.ones(2, dtype=lib.float64))


@similar_error(TypeError, "'float' object is not iterable")
def backward_gradient_a_number(lib):
    (f64(lib, [1.0]) * 2).sum().backward(2.0)


@similar_error(TypeError, "gradients can be either Tensors or None, but got float")
def backward_gradient_a_list_of_numbers(lib):
    (f64(lib, [1.0, 2.0]) * 2).backward([1.0, 1.0])


@similar_error(TypeError, "gradients can be either Tensors or None")
def backward_gradient_an_ndarray(lib):
    (f64(lib, [1.0, 2.0]) * 2).backward(np.ones(2))


@similar_error(RuntimeError, "requires_grad=False")
def backward_inputs_not_requiring_grad(lib):
    x, c = f64(lib, [1.0]), f64(lib, [2.0], requires_grad=False)
    (x * c).sum().backward(inputs=[c])


@similar_error(RuntimeError, "all inputs have to be Tensors")
def backward_inputs_holding_a_number(lib):
    (f64(lib, [1.0]) * 2).sum().backward(inputs=[1.0])


@similar_error(RuntimeError, "One of the differentiated Tensors does not require grad")
def grad_input_not_requiring_grad(lib):
    x, c = f64(lib, [1.0]), f64(lib, [2.0], requires_grad=False)
    lib.autograd.grad((x * c).sum(), [c])


@similar_error(RuntimeError, "appears to not have been used in the graph. Set "
                             "allow_unused=True if this is the desired behavior.")
def grad_unused_input(lib):
    lib.autograd.grad((f64(lib, [1.0]) * 2).sum(), [f64(lib, [1.0])])


@similar_error(RuntimeError, "appears to not have been used in the graph")
def grad_of_no_outputs(lib):
    lib.autograd.grad([], [f64(lib, [1.0])])


@similar_error(RuntimeError, mismatch(r"\[3\]", r"\[2\]"))
def grad_grad_outputs_of_another_shape(lib):
    x = f64(lib, [1.0, 2.0])
    lib.autograd.grad(x * 2, [x], grad_outputs=lib.ones(3, dtype=lib.float64))


@similar_error(TypeError, "gradients can be either Tensors or None, but got float")
def grad_grad_outputs_a_list_of_numbers(lib):
    x = f64(lib, [1.0])
    lib.autograd.grad((x * 2).sum(), x, grad_outputs=[1.0])


@similar_error(AssertionError, "Expected output to be a")
def grad_outputs_a_list_of_numbers(lib):
    lib.autograd.grad([1.0, 2.0], [f64(lib, [1.0])])


@similar_error(RuntimeError, "all inputs have to be Tensors")
def grad_inputs_holding_a_number(lib):
    x = f64(lib, [1.0])
    lib.autograd.grad((x * 2).sum(), [x, 1.0])


# -- ... requires_grad, .grad, .grad_fn, .is_leaf, .data -----------------------------------------
@similar_error(RuntimeError, "only Tensors of floating point dtype can require gradients")
def requires_grad__on_an_integer_tensor(lib):
    lib.ones(2, dtype=lib.int64).requires_grad_()


@similar_error(RuntimeError, "only Tensors of floating point dtype can require gradients")
def requires_grad__on_a_bool_tensor(lib):
    lib.ones(2, dtype=lib.bool).requires_grad_(True)


@similar_error(TypeError, "must be bool")
def requires_grad__with_a_string(lib):
    f64(lib, [1.0], requires_grad=False).requires_grad_("yes")


@similar_error(RuntimeError, r"\[3\].*\[2\]")
def grad_set_to_another_shape(lib):
    f64(lib, [1.0, 2.0]).grad = lib.ones(3, dtype=lib.float64)


@similar_error(RuntimeError, r"float.*(Double|float64)")
def grad_set_to_another_dtype(lib):
    f64(lib, [1.0, 2.0]).grad = lib.ones(2, dtype=lib.float32)


@similar_error(TypeError, "assigned grad expected to be a Tensor or None but got grad of type "
                          ".*ndarray")
def grad_set_to_an_ndarray(lib):
    f64(lib, [1.0]).grad = np.ones(1)


@similar_error(AttributeError, "grad_fn",
               differs="clgrad lets grad_fn be assigned; PyTorch raises AttributeError "
                       "\"attribute 'grad_fn' of 'torch._C.TensorBase' objects is not "
                       "writable\"")
def grad_fn_set(lib):
    f64(lib, [1.0]).grad_fn = None


@similar_error(AttributeError, "is_leaf")
def is_leaf_set(lib):
    f64(lib, [1.0]).is_leaf = False


@similar_error(TypeError, "list")
def data_set_to_a_list(lib):
    f64(lib, [1.0]).data = [1.0]


# -- ... tensors saved for backward and modified in place ----------------------------------------
@similar_error(RuntimeError, MODIFIED_MSG)
def inplace_on_a_saved_output(lib):
    modified_after(lib, lambda t: t.exp(), lambda t, out: out.add_(1))


@similar_error(RuntimeError, MODIFIED_MSG)
def inplace_on_a_saved_input(lib):
    modified_after(lib, lambda t: t.sin(), lambda t, out: t.add_(1))


@similar_error(RuntimeError, MODIFIED_MSG)
def inplace_through_detach_on_a_saved_input(lib):
    modified_after(lib, lambda t: t * t, lambda t, out: t.detach().mul_(2))


@similar_error(RuntimeError, MODIFIED_MSG)
def inplace_on_an_input_a_function_saved(lib):
    modified_after(lib, lambda t: saving(lib).apply(t), lambda t, out: t.add_(1))


# -- ... custom Functions -------------------------------------------------------------------------
@similar_error(RuntimeError, "a leaf Variable that requires grad")
def function_mark_dirty_of_a_leaf(lib):
    marking_dirty(lib, lambda a: a, lambda a, m: a).apply(f64(lib, [1.0]))


@similar_error(RuntimeError, "mark_dirty can only accept variables")
def function_mark_dirty_of_a_number(lib):
    marking_dirty(lib, lambda a: 3, lambda a, m: a * 2).apply(f64(lib, [1.0]))


# -- ... gradcheck and grad mode -----------------------------------------------------------------
@similar_error(RuntimeError, "Jacobian mismatch for output 0 with respect to input 0")
def gradcheck_of_a_wrong_backward(lib):
    lib.autograd.gradcheck(doubling(lib, lambda ctx, g: g * 3).apply, (f64(lib, [1.0, 2.0]),))


@similar_error(TypeError, "must be bool")
def set_grad_enabled_with_a_string(lib):
    with lib.set_grad_enabled("no"):
        pass


@similar_error(TypeError, "must be bool")
def set_grad_enabled_with_none(lib):
    with lib.set_grad_enabled(None):
        pass


@similar_error(RuntimeError, "Inference tensors cannot be saved for backward",
               differs="clgrad's inference_mode is no_grad (it has no inference tensors), so "
                       "backward runs; PyTorch raises RuntimeError 'Inference tensors cannot be "
                       "saved for backward. ...'")
def inference_tensor_saved_for_backward(lib):
    (made_in_inference_mode(lib) * f64(lib, [1.0, 2.0])).sum().backward()


@similar_error(RuntimeError, "Inplace update to inference tensor outside InferenceMode",
               differs="clgrad updates it; PyTorch raises RuntimeError 'Inplace update to "
                       "inference tensor outside InferenceMode is not allowed. ...'")
def inference_tensor_updated_in_place_outside_inference_mode(lib):
    made_in_inference_mode(lib).add_(1)


@similar_error(RuntimeError, "Setting requires_grad=True on inference tensor outside "
                             "InferenceMode",
               differs="clgrad sets it; PyTorch raises RuntimeError 'Setting requires_grad=True "
                       "on inference tensor outside InferenceMode is not allowed.'")
def inference_tensor_requires_grad__outside_inference_mode(lib):
    made_in_inference_mode(lib).requires_grad_()


@pytest.mark.parametrize("case, lib", [
    param for name, c in SIMILAR_ERRORS.items()
    for param in (pytest.param(c, clgrad, id=f"{name.replace('_', '-')}-clgrad",
                               marks=_xfail(c.differs)),
                  pytest.param(c, torch, id=f"{name.replace('_', '-')}-torch"))])
def test_similar_error_to_pytorch(case, lib):
    with pytest.raises(case.error, match=case.match):
        case.run(lib)
    assert lib.is_grad_enabled()


# -- misuse PyTorch accepts: backward and autograd.grad ------------------------------------------
@libs()
def test_backward_twice_through_a_graph_that_saved_nothing(lib):
    x = f64(lib, [1.0, 2.0])
    y = (x + 1).sum()
    y.backward()
    y.backward()
    assert values(x.grad) == [2.0, 2.0]
    assert values(lib.autograd.grad(y, x)[0]) == [1.0, 1.0]


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
@libs()
def test_gradient_of_another_dtype_is_cast_to_the_output_dtype(lib, dtype):
    x = f64(lib, [1.0, 2.0])
    (x * 2).backward(lib.ones(2, dtype=getattr(lib, dtype)))
    assert x.grad.dtype == lib.float64 and values(x.grad) == [2.0, 2.0]


@libs()
def test_gradient_in_a_list(lib):
    x = f64(lib, [1.0, 2.0])
    (x * 2).backward([lib.full((2,), 3.0, dtype=lib.float64)])
    assert values(x.grad) == [6.0, 6.0]


@libs()
def test_backward_under_no_grad_still_accumulates(lib):
    x = f64(lib, [1.0, 2.0])
    y = (x * x).sum()
    with lib.no_grad():
        y.backward()
    assert values(x.grad) == [2.0, 4.0] and not x.grad.requires_grad


@libs()
def test_autograd_backward_of_no_tensors_does_nothing(lib):
    assert lib.autograd.backward([]) is None


@libs()
def test_backward_inputs_unused_or_repeated(lib):
    x, unused = f64(lib, [1.0, 2.0]), f64(lib, [1.0])
    (x * 2).sum().backward(inputs=[unused])
    assert unused.grad is None and x.grad is None
    (x * 2).sum().backward(inputs=[x, x])
    assert values(x.grad) == [2.0, 2.0]


@libs()
def test_grad_of_a_repeated_input_gives_it_twice(lib):
    x = f64(lib, [1.0, 2.0])
    ga, gb = lib.autograd.grad((x * x).sum(), [x, x])
    assert values(ga) == values(gb) == [2.0, 4.0] and x.grad is None


@libs()
def test_grad_outputs_requiring_grad_without_create_graph_give_a_constant(lib):
    x = f64(lib, [1.0, 2.0])
    (g,) = lib.autograd.grad(x * x, x, grad_outputs=f64(lib, [1.0, 3.0]))
    assert values(g) == [2.0, 12.0] and not g.requires_grad


@libs("clgrad does not warn; PyTorch warns (UserWarning) that backward(create_graph=True) "
      "makes a reference cycle between the parameter and its gradient")
def test_backward_with_create_graph_warns_about_the_reference_cycle(lib):
    x = f64(lib, [1.0, 2.0])
    with pytest.warns(UserWarning, match="create_graph=True will create a reference cycle"):
        (x ** 3).sum().backward(create_graph=True)
    assert values(x.grad) == [3.0, 12.0]


# -- ... requires_grad, retain_grad, .grad, detach_ ---------------------------------------------
@libs()
def test_retains_grad_flag(lib):
    x = f64(lib, [1.0, 2.0])
    y = x * 2
    assert not x.retains_grad and not y.retains_grad
    x.retain_grad()
    y.retain_grad()
    assert not x.retains_grad and y.retains_grad


@libs()
def test_retain_grad_on_a_leaf_changes_nothing(lib):
    x = f64(lib, [1.0, 2.0])
    x.retain_grad()
    x.retain_grad()
    (x * 2).sum().backward()
    assert values(x.grad) == [2.0, 2.0]


@libs()
def test_requires_grad_flags_pytorch_allows(lib):
    t = lib.ones(2, dtype=lib.int64)
    assert t.requires_grad_(False) is t and not t.requires_grad
    y = f64(lib, [1.0]) * 2
    assert y.requires_grad_() is y and y.requires_grad and not y.is_leaf


@libs()
def test_requires_grad_turned_off_after_recording_stops_accumulation(lib):
    x = f64(lib, [1.0, 2.0])
    y = (x * 2).sum()
    x.requires_grad_(False)
    y.backward()
    assert x.grad is None


@libs()
def test_assigned_grad_is_accumulated_into(lib):
    x = f64(lib, [1.0, 2.0])
    x.grad = f64(lib, [5.0, 5.0], requires_grad=False)
    (x * 2).sum().backward()
    assert values(x.grad) == [7.0, 7.0]
    y = x * 2
    y.grad = f64(lib, [1.0, 1.0], requires_grad=False)      # a non-leaf's .grad by hand
    assert values(y.grad) == [1.0, 1.0]


@pytest.mark.parametrize("bad", ["shape", "dtype", "type"])
@libs()
def test_refused_grad_assignment_leaves_the_grad_untouched(lib, bad):
    x = f64(lib, [1.0, 2.0])
    (x * 2).sum().backward()
    before = x.grad
    value = {"shape": lib.ones(3, dtype=lib.float64), "dtype": lib.ones(2), "type": 1}[bad]
    with pytest.raises((RuntimeError, TypeError)):
        x.grad = value
    assert x.grad is before and values(x.grad) == [2.0, 2.0]


def _second_device():
    """An OpenCL device other than clgrad's default (simulators excluded), or None."""
    default = clgrad.runtime.default_device()
    return next((d for d in clgrad.runtime.all_devices() if d is not default
                 and not d.is_simulator and d.problem() is None), None)


def test_grad_on_another_device_is_refused_as_pytorch_refuses_meta():
    other = _second_device()
    if other is None:
        pytest.skip("one usable OpenCL device: no other device to assign from")
    for lib, device in ((clgrad, other), (torch, "meta")):
        x = f64(lib, [1.0, 2.0])
        with pytest.raises(RuntimeError, match="device"):
            x.grad = lib.ones(2, dtype=lib.float64).to(device)
        assert x.grad is None


@libs()
def test_deleting_grad_sets_it_to_none(lib):
    x = f64(lib, [1.0])
    (x * 2).sum().backward()
    del x.grad
    assert x.grad is None


@libs()
def test_refused_inplace_writes_leave_the_leaf_untouched(lib):
    x = f64(lib, [1.0, 2.0])
    for write in (lambda: x.add_(1), lambda: x[0:1].mul_(5), lambda: x.__setitem__(1, 9.0)):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            write()
    assert values(x) == [1.0, 2.0] and x.is_leaf and x.grad_fn is None


@libs()
def test_failed_hook_leaves_the_grad_unset(lib):
    x = f64(lib, [1.0, 2.0])
    x.register_hook(lambda g: {}["hooked"])
    with pytest.raises(KeyError):
        (x * 2).sum().backward()
    assert x.grad is None and lib.is_grad_enabled()


@libs()
def test_hook_writing_into_the_grad_in_place(lib):
    x = f64(lib, [1.0, 2.0])
    y = x * 2
    y.register_hook(lambda g: g.mul_(10))
    (y * 1).sum().backward()
    assert values(x.grad) == [20.0, 20.0]


@libs()
def test_inplace_write_nothing_saved_needs(lib):
    x = f64(lib, [0.0, 1.0])
    t = x * 1
    out = t.exp()                  # ExpBackward saves its result, not t
    t.mul_(2)
    out.sum().backward()
    np.testing.assert_allclose(values(x.grad), np.exp([0.0, 1.0]), rtol=1e-12)


@libs()
def test_inplace_on_a_view_of_a_leaf_under_no_grad(lib):
    x = f64(lib, [1.0, 2.0])
    with lib.no_grad():
        x[0:1].mul_(2)
    (x * x).sum().backward()
    assert values(x) == [2.0, 2.0] and values(x.grad) == [4.0, 4.0]


@libs()
def test_detach__on_a_leaf_stops_its_grad(lib):
    x = f64(lib, [1.0, 2.0])
    assert x.detach_() is x
    assert not x.requires_grad and x.is_leaf and not (x * 2).requires_grad


# -- ... custom Functions -----------------------------------------------------------------------
@libs()
def test_function_extra_trailing_none_gradients_are_dropped(lib):
    grad = backward_through(lib, doubling(lib, lambda ctx, g: (g * 2, None, None)))
    assert values(grad) == [2.0, 2.0]


@pytest.mark.parametrize("cast", ["float", "long"])
@libs()
def test_function_gradient_of_another_dtype_is_cast_to_the_input_dtype(lib, cast):
    grad = backward_through(lib, doubling(lib, lambda ctx, g: getattr(g * 2, cast)()))
    assert grad.dtype == lib.float64 and values(grad) == [2.0, 2.0]


@libs()
def test_function_gradient_for_inputs_without_grad_is_dropped(lib):
    bad = function(lib, lambda ctx, a, b, i: a * b * i, lambda ctx, g: (g, g, g))
    grad = backward_through(lib, bad, f64(lib, [3.0], requires_grad=False),
                            lib.ones(1, dtype=lib.int64))
    assert values(grad) == [1.0, 1.0]


@pytest.mark.parametrize("result", [3.0, None, "text"])
@libs()
def test_function_forward_returning_a_non_tensor_returns_it(lib, result):
    assert function(lib, lambda ctx, a: result, lambda ctx, g: g).apply(f64(lib, [1.0])) \
        == result


@libs()
def test_function_forward_returning_a_list_returns_it_unrecorded(lib):
    out = function(lib, lambda ctx, a: [a * 2, a * 3], lambda ctx, g: g).apply(f64(lib, [1.0]))
    assert type(out) is list and [t.requires_grad for t in out] == [False, False]


@libs()
def test_function_forward_returning_a_tensor_and_a_number(lib):
    seen = []

    def backward(ctx, g, g_number):
        seen.append(g_number)
        return g * 2
    out, number = function(lib, lambda ctx, a: (a * 2, 5), backward).apply(f64(lib, [1.0]))
    assert number == 5 and out.requires_grad
    out.sum().backward()
    assert seen == [None]


@libs("clgrad raises TypeError 'Bad() takes no arguments'; PyTorch warns DeprecationWarning "
      "'... should not be instantiated ...' and returns the (useless) Function object")
def test_calling_a_function_class_instead_of_apply_warns(lib):
    bad = doubling(lib, lambda ctx, g: g)
    with pytest.warns(DeprecationWarning, match="should not be instantiated"):
        out = bad(f64(lib, [1.0]))
    assert not isinstance(out, lib.Tensor)


@libs()
def test_saved_tensors_inside_forward_is_empty(lib):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * len(ctx.saved_tensors)
    out = function(lib, forward, lambda ctx, g: g).apply(f64(lib, [1.0]))
    assert values(out) == [0.0]


@libs()
def test_save_for_backward_twice_keeps_the_last_and_none_is_allowed(lib):
    seen = []

    def forward(ctx, a, b):
        ctx.save_for_backward(a)
        ctx.save_for_backward(b, None)
        return a * b

    def backward(ctx, g):
        b, nothing = ctx.saved_tensors
        seen.append(nothing)
        return g * b, None
    grad = backward_through(lib, function(lib, forward, backward), f64(lib, [5.0], False))
    assert values(grad) == [5.0, 5.0] and seen == [None]


@libs("clgrad accepts it silently; PyTorch warns (UserWarning) 'ctx.mark_dirty() received a "
      "tensor that was not an input'")
def test_mark_dirty_of_a_non_input_warns(lib):
    bad = marking_dirty(lib, lambda a: a * 2, lambda a, m: m)
    with pytest.warns(UserWarning, match="mark_dirty\\(\\) received a tensor that was not an "
                                         "input"):
        bad.apply(f64(lib, [1.0]) * 1)


@libs()
def test_needs_input_grad_in_forward_and_backward(lib):
    seen = {}

    def forward(ctx, a, b, k, c):
        seen["forward"] = tuple(ctx.needs_input_grad)
        return a * b * k + c

    def backward(ctx, g):
        seen["backward"] = tuple(ctx.needs_input_grad)
        return g, None, None, g
    bad = function(lib, forward, backward)
    backward_through(lib, bad, f64(lib, [2.0], False), 3, f64(lib, [1.0]))
    assert seen == {"forward": (True, False, False, True),
                    "backward": (True, False, False, True)}


@libs()
def test_needs_input_grad_under_no_grad(lib):
    seen = []

    def forward(ctx, a):
        seen.append(tuple(ctx.needs_input_grad))
        return a * 2
    with lib.no_grad():
        out = function(lib, forward, lambda ctx, g: g).apply(f64(lib, [1.0]))
    assert seen == [(True,)] and not out.requires_grad


# -- ... gradcheck and grad mode ----------------------------------------------------------------
@libs()
def test_gradcheck_without_raising_returns_false(lib):
    bad = doubling(lib, lambda ctx, g: g * 3)
    assert lib.autograd.gradcheck(bad.apply, (f64(lib, [1.0, 2.0]),),
                                  raise_exception=False) is False


@libs()
def test_gradcheck_of_float32_inputs_warns(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="is not a double precision floating point"):
        assert lib.autograd.gradcheck(lambda t: t * 2, (x,), eps=1e-2, atol=1e-2)


@libs()
def test_gradcheck_takes_a_tensor_an_integer_output_and_an_unused_input(lib):
    x, unused = f64(lib, [1.0, 2.0]), f64(lib, [3.0])
    assert lib.autograd.gradcheck(lambda t: t * 2, x) is True
    assert lib.autograd.gradcheck(lambda t: (t > 0).long(), (x,)) is True
    assert lib.autograd.gradcheck(lambda a, b: a * 2, (x, unused)) is True


@libs()
def test_no_grad_decorating_a_generator(lib):
    @lib.no_grad()
    def doubles(x):
        yield x * 2
        yield x * 3
    assert [t.requires_grad for t in doubles(f64(lib, [1.0]))] == [False, False]
    assert lib.is_grad_enabled()


@libs()
def test_grad_mode_is_restored_when_misused_inside(lib):
    x = f64(lib, [1.0])
    with pytest.raises(RuntimeError, match="leaf Variable"), lib.no_grad(), lib.enable_grad():
        x.add_(1)
    assert lib.is_grad_enabled()
    with pytest.raises(TypeError), lib.set_grad_enabled(False):
        lib.set_grad_enabled()
    assert lib.is_grad_enabled()
