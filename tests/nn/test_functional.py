"""clgrad.nn.functional and clgrad.nn.init against torch.nn.functional / torch.nn.init: values
and gradients (of .sum()) on the same float64 data, every reduction, errors, statistics."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import assert_same_error

import clgrad
import clgrad.nn.functional as F
from clgrad.nn import init

torch = pytest.importorskip("torch")
TF = torch.nn.functional
REDUCTIONS = ["mean", "sum", "none"]


def _pair(a, grad):
    """The same array as a clgrad and a torch tensor (float64 stays float64)."""
    a = np.asarray(a)
    ours = clgrad.tensor(a)
    ref = torch.tensor(a)
    if grad:
        ours.requires_grad_()
        ref.requires_grad_()
    return ours, ref


def check(fn, *arrays, grads=None, rtol=1e-10, atol=1e-12):
    """fn(F-module, *tensors) in clgrad and torch: same value; same gradients of .sum() for
    the inputs numbered in `grads` (default: every float input)."""
    if grads is None:
        grads = [i for i, a in enumerate(arrays) if np.asarray(a).dtype.kind == "f"]
    pairs = [_pair(a, i in grads) for i, a in enumerate(arrays)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(F, *[p[0] for p in pairs])
        ref = fn(TF, *[p[1] for p in pairs])
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol, atol=atol)
    assert out.shape == tuple(ref.shape)
    if not grads or not ref.requires_grad:
        return out
    out.sum().backward()
    ref.sum().backward()
    for i in grads:
        ours, theirs = pairs[i]
        want = theirs.grad.numpy() if theirs.grad is not None else 0 * theirs.detach().numpy()
        got = ours.grad.numpy() if ours.grad is not None else 0 * ours.detach().numpy()
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"grad of input {i}")
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def _logits(rng, *shape, scale=3.0):
    return rng.standard_normal(shape) * scale


# -- activations -------------------------------------------------------------------------------
ACTIVATIONS = [
    lambda f, x: f.relu(x),
    lambda f, x: f.relu6(x * 3),
    lambda f, x: f.leaky_relu(x),
    lambda f, x: f.leaky_relu(x, 0.2),
    lambda f, x: f.elu(x),
    lambda f, x: f.elu(x, alpha=0.5),
    lambda f, x: f.gelu(x),
    lambda f, x: f.gelu(x, approximate="tanh"),
    lambda f, x: f.silu(x),
    lambda f, x: f.sigmoid(x),
    lambda f, x: f.tanh(x),
    lambda f, x: f.softplus(x),
    lambda f, x: f.softplus(x, beta=2, threshold=3),
    lambda f, x: f.hardtanh(x),
    lambda f, x: f.hardtanh(x, -0.5, 2.0),
    lambda f, x: f.softmax(x, dim=1),
    lambda f, x: f.softmax(x, -1),
    lambda f, x: f.log_softmax(x, dim=0),
    lambda f, x: f.log_softmax(x, 1),
]


@pytest.mark.parametrize("i", range(len(ACTIVATIONS)))
@pytest.mark.parametrize("shape", [(3, 7), (2, 5, 3)])
def test_activation(i, shape, rng):
    check(ACTIVATIONS[i], rng.standard_normal(shape) * 3)


@pytest.mark.parametrize("i", range(len(ACTIVATIONS)))
def test_activation_extreme_inputs_stay_finite(i):
    x = np.array([[-1e4, -50.0, -1.0, 0.5, 30.0, 1e4]])
    check(ACTIVATIONS[i], x)


@pytest.mark.parametrize("name, args", [("relu", ()), ("leaky_relu", (0.1,)), ("elu", (1.0,)),
                                        ("silu", ()), ("hardtanh", (-1.0, 1.0)),
                                        ("relu6", ())])
def test_activation_inplace(name, args, rng):
    x = rng.standard_normal((4, 5)) * 3

    def fn(f, t):
        y = t * 1.0
        out = getattr(f, name)(y, *args, inplace=True)
        assert out is y
        return y
    check(fn, x)


def test_implicit_softmax_dim_warns_and_follows_torch(rng):
    for shape in [(5,), (3, 4), (2, 3, 4), (2, 3, 4, 2)]:
        x = rng.standard_normal(shape)
        with pytest.warns(UserWarning, match="Implicit dimension"):
            out = F.softmax(clgrad.tensor(x))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            np.testing.assert_allclose(out.numpy(), TF.softmax(torch.tensor(x)).numpy())


def test_softmax_dtype(rng):
    x = clgrad.tensor(rng.standard_normal((3, 4)), dtype=clgrad.float32)
    assert F.log_softmax(x, 1, dtype=clgrad.float64).dtype == clgrad.float64


def test_activation_errors():
    x = clgrad.zeros(3)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(x, approximate="exact")
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(x, 2.0, 1.0)


# -- dropout -----------------------------------------------------------------------------------
def test_dropout_statistics_and_gradient():
    clgrad.manual_seed(0)
    x = clgrad.ones(200, 500, dtype=clgrad.float64, requires_grad=True)
    y = F.dropout(x, p=0.3)
    values = y.detach().numpy()
    kept = values != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(values[kept], 1 / 0.7)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), values)


def test_dropout_modes(rng):
    x = clgrad.tensor(rng.standard_normal((4, 6)))
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert float(F.dropout(x, 1.0).abs().sum()) == 0.0
    y = x * 1.0
    assert F.dropout(y, 0.5, inplace=True) is y
    clgrad.manual_seed(3)
    a = F.dropout(x, 0.5).numpy()
    clgrad.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x, 0.5).numpy(), a)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            F.dropout(x, p)


# -- linear and one_hot ------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(shape, bias, rng):
    w, b = rng.standard_normal((3, 4)), rng.standard_normal(3)
    if bias:
        check(lambda f, x, w, b: f.linear(x, w, b), rng.standard_normal(shape), w, b)
    else:
        check(lambda f, x, w: f.linear(x, w), rng.standard_normal(shape), w)



@pytest.mark.parametrize("x, w, b", [((2, 3), (3,), (2,)), ((4, 2, 3), (3,), (1,)),
                                     ((3,), (3,), (1,)), ((2, 3), (3,), ())])
def test_linear_refuses_a_1d_weight_with_a_bias_like_torch(x, w, b):
    """With a bias, PyTorch's linear is addmm, which needs a matrix weight (without one, a
    1-D weight is a matrix-vector product)."""
    def case(lib):
        return F.linear if lib is clgrad else torch.nn.functional.linear
    assert_same_error(lambda lib: case(lib)(lib.ones(x), lib.ones(w), lib.ones(b)),
                      (clgrad,), (torch,))
    assert tuple(F.linear(clgrad.ones(x), clgrad.ones(w)).shape) == x[:-1]


@pytest.mark.parametrize("x", [(3,), (5, 4, 3)])
def test_linear_with_a_1d_weight_and_a_0d_bias_is_a_matrix_vector_product(x):
    """Outside 2-D input, PyTorch takes addmm only for a 1-D bias."""
    got = F.linear(clgrad.ones(x), clgrad.ones(3), clgrad.tensor(1.0))
    want = torch.nn.functional.linear(torch.ones(x), torch.ones(3), torch.tensor(1.0))
    np.testing.assert_allclose(got.numpy(), want.numpy())

def test_one_hot():
    t = np.array([[0, 3], [2, 1]])
    check(lambda f, t: f.one_hot(t), t)
    check(lambda f, t: f.one_hot(t, 6), t)
    assert F.one_hot(clgrad.tensor(t)).dtype == clgrad.int64
    empty = F.one_hot(clgrad.zeros(0, dtype=clgrad.int64), 3)
    assert empty.shape == (0, 3)
    cases = [(clgrad.tensor([0.0, 1.0]), -1, "only applicable to index tensor"),
             (clgrad.tensor([0, -1]), -1, "Class values must be non-negative"),
             (clgrad.tensor([0, 3]), 2, "Class values must be smaller than num_classes"),
             (clgrad.zeros(0, dtype=clgrad.int64), -1, "Can not infer total number")]
    for tensor, n, message in cases:
        with pytest.raises(RuntimeError, match=message):
            F.one_hot(tensor, n)


# -- regression losses -------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss, kwargs", [("mse_loss", {}), ("l1_loss", {}),
                                          ("smooth_l1_loss", {}),
                                          ("smooth_l1_loss", {"beta": 0.5}),
                                          ("smooth_l1_loss", {"beta": 0.0}),
                                          ("huber_loss", {}), ("huber_loss", {"delta": 2.5})])
def test_regression_loss(loss, kwargs, reduction, rng):
    x, y = rng.standard_normal((3, 5, 2)) * 2, rng.standard_normal((3, 5, 2)) * 2
    check(lambda f, a, b: getattr(f, loss)(a, b, reduction=reduction, **kwargs), x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "huber_loss"])
def test_regression_loss_weight(loss, reduction, rng):
    x, y, w = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.random((4, 3))
    check(lambda f, a, b, w: getattr(f, loss)(a, b, reduction=reduction, weight=w), x, y, w,
          grads=[0, 1])


def test_regression_loss_broadcast_warns_and_legacy_args(rng):
    x, y = rng.standard_normal((4, 3)), rng.standard_normal(3)
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(clgrad.tensor(x), clgrad.tensor(y))
    check(lambda f, a, b: f.mse_loss(a, b), x, y)
    check(lambda f, a, b: f.l1_loss(a, b, size_average=False), x, x + 1)
    check(lambda f, a, b: f.l1_loss(a, b, reduce=False), x, x + 1)


def test_regression_loss_errors():
    x = clgrad.zeros(3)
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="foo")
    with pytest.raises(RuntimeError, match="negative values for beta"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(RuntimeError, match="non-positive values for delta"):
        F.huber_loss(x, x, delta=0.0)
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        F.mse_loss(x, x, weight=clgrad.ones(2))


# -- nll_loss / cross_entropy ------------------------------------------------------------------
def _targets(rng, classes, shape, ignore=True):
    t = rng.integers(0, classes, shape)
    if ignore:
        t.flat[0] = -100
    return t


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 2, 3), (5,)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_class_indices(shape, reduction, weighted, smoothing, rng):
    x = _logits(rng, *shape)
    classes = shape[1] if len(shape) > 1 else shape[0]
    t = _targets(rng, classes, shape[:1] + shape[2:] if len(shape) > 1 else (), len(shape) > 1)
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    if weighted:
        check(lambda f, x, t, w: f.cross_entropy(x, t, weight=w, **kw), x, t, rng.random(classes),
              grads=[0])
    else:
        check(lambda f, x, t: f.cross_entropy(x, t, **kw), x, t)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(reduction, weighted, rng):
    x = np.log(rng.random((7, 4, 3)))
    t = _targets(rng, 4, (7, 3))
    t[2, 1] = 1
    w = rng.random(4)
    if weighted:
        t[t == -100] = 0
        check(lambda f, x, t, w: f.nll_loss(x, t, w, ignore_index=1, reduction=reduction),
              x, t, w, grads=[0])
    else:
        check(lambda f, x, t: f.nll_loss(x, t, reduction=reduction), x, t)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4), (5,)])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_cross_entropy_probabilities(shape, reduction, smoothing, rng):
    dim = 1 if len(shape) > 1 else 0
    p = rng.random(shape)
    p = p / p.sum(axis=dim, keepdims=True)
    w = rng.random(shape[dim])
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    check(lambda f, x, p: f.cross_entropy(x, p, **kw), _logits(rng, *shape), p)
    check(lambda f, x, p, w: f.cross_entropy(x, p, weight=w, **kw), _logits(rng, *shape), p, w,
          grads=[0, 1])


def test_cross_entropy_extreme_logits_stay_finite():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]])
    out = check(lambda f, x, t: f.cross_entropy(x, t), x, np.array([1, 2, 0]))
    assert np.isfinite(out.item())
    check(lambda f, x, p: f.cross_entropy(x, p, reduction="none"), x, np.full((3, 3), 1 / 3))


def test_cross_entropy_all_ignored_is_nan_as_torch():
    x = clgrad.zeros(2, 3)
    assert math.isnan(F.cross_entropy(x, clgrad.tensor([-100, -100])).item())


def test_classification_errors():
    x = clgrad.zeros(3, 4)
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Int"):
        F.nll_loss(x, clgrad.tensor([0, 1, 2], dtype=clgrad.int32))
    with pytest.raises(IndexError, match="Target 5 is out of bounds"):
        F.nll_loss(x, clgrad.tensor([0, 1, 5]))
    with pytest.raises(ValueError, match=r"input batch_size \(3\) to match target batch_size"):
        F.cross_entropy(x, clgrad.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0"):
        F.cross_entropy(x, clgrad.tensor([0, 1, 1]), label_smoothing=2.0)
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all 4"):
        F.nll_loss(x, clgrad.tensor([0, 1, 1]), weight=clgrad.ones(3))
    with pytest.raises(RuntimeError, match="Expected floating point type for target"):
        F.cross_entropy(x, clgrad.zeros(3, 4, dtype=clgrad.int64))


# -- binary losses and kl_div ------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction, rng):
    x, t, w = rng.uniform(0.01, 0.99, (5, 3)), rng.random((5, 3)), rng.random((5, 3))
    check(lambda f, x, t: f.binary_cross_entropy(x, t, reduction=reduction), x, t)
    check(lambda f, x, t, w: f.binary_cross_entropy(x, t, w, reduction=reduction), x, t, w,
          grads=[0])


def test_binary_cross_entropy_clamps_log_at_minus_100():
    x, t = np.array([0.0, 1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0])
    out = check(lambda f, x, t: f.binary_cross_entropy(x, t, reduction="none"), x, t, grads=[])
    np.testing.assert_allclose(out.numpy(), [100, 100, 0, 0])
    x = clgrad.tensor(x, requires_grad=True)
    F.binary_cross_entropy(x, clgrad.tensor(t)).backward()
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pos_weight", [False, True])
def test_binary_cross_entropy_with_logits(reduction, pos_weight, rng):
    x, t, w = _logits(rng, 6, 3), rng.random((6, 3)), rng.random((6, 3))
    x[0] = [0.0, 1e4, -1e4]
    if pos_weight:
        check(lambda f, x, t, w, pw: f.binary_cross_entropy_with_logits(
            x, t, w, reduction=reduction, pos_weight=pw), x, t, w, rng.random(3) * 3,
            grads=[0, 1])
    else:
        check(lambda f, x, t: f.binary_cross_entropy_with_logits(x, t, reduction=reduction),
              x, t)


def test_binary_loss_size_errors():
    x, t = clgrad.rand(3), clgrad.rand(3, 1)
    with pytest.raises(ValueError, match="different to the input size"):
        F.binary_cross_entropy(x, t)
    with pytest.raises(ValueError, match="must be the same as input size"):
        F.binary_cross_entropy_with_logits(x, t)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target, rng):
    x = np.log(rng.dirichlet(np.ones(4), 5))
    t = rng.dirichlet(np.ones(4), 5)
    t = np.log(t) if log_target else t
    check(lambda f, x, t: f.kl_div(x, t, reduction=reduction, log_target=log_target), x, t)


def test_kl_div_zero_target_and_mean_warning():
    x, t = np.log([[0.5, 0.5]]), np.array([[0.0, 1.0]])
    check(lambda f, x, t: f.kl_div(x, t, reduction="sum"), x, t, grads=[0])
    with pytest.warns(UserWarning, match="'mean' divides the total loss"):
        F.kl_div(clgrad.tensor(x), clgrad.tensor(t))


# -- nn.init -----------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",),
                                  ("leaky_relu",), ("leaky_relu", 0.2), ("leaky_relu", 1),
                                  ("selu",)])
def test_calculate_gain(args):
    assert init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args))


@pytest.mark.parametrize("shape", [(3, 4), (5, 2, 3, 3), (2, 7, 4)])
def test_fans(shape):
    ours = init._calculate_fan_in_and_fan_out(clgrad.empty(shape))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_init_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.kaiming_uniform_(clgrad.empty(3))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_normal_(clgrad.empty(3))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(clgrad.empty(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        init.calculate_gain("foo")
    with pytest.raises(ValueError, match="negative_slope a not a valid number"):
        init.calculate_gain("leaky_relu", "a")
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.eye_(clgrad.empty(3))
    with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
        init.kaiming_uniform_(clgrad.empty(0, 3))


def _leaf(*shape):
    return clgrad.empty(*shape, dtype=clgrad.float64).requires_grad_()


def test_uniform_initialisers_respect_bounds():
    clgrad.manual_seed(0)
    cases = [(lambda t: init.uniform_(t, -0.5, 2.0), -0.5, 2.0),
             (lambda t: init.xavier_uniform_(t, gain=2.0), None, 2 * math.sqrt(6 / (80 + 60))),
             (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), None,
              math.sqrt(6 / ((1 + 5) * 80))),
             (lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"), None,
              math.sqrt(6 / 60))]
    for fill, low, high in cases:
        t = _leaf(60, 80)
        assert fill(t) is t and t.requires_grad and t.grad_fn is None
        a = t.detach().numpy()
        low = -high if low is None else low
        assert a.min() >= low and a.max() < high
        assert a.min() < low + 0.05 * (high - low) and a.max() > high - 0.05 * (high - low)


def test_normal_initialisers_statistics():
    gen = clgrad.Generator().manual_seed(5)
    cases = [(lambda t: init.normal_(t, 1.5, 0.5, generator=gen), 1.5, 0.5),
             (lambda t: init.xavier_normal_(t, generator=gen), 0, math.sqrt(2 / (400 + 300))),
             (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), 0, math.sqrt(2 / 400)),
             (lambda t: init.kaiming_normal_(t, mode="fan_out"), 0,
              math.sqrt(2 / 1.0001) / math.sqrt(300))]
    for fill, mean, std in cases:
        a = fill(_leaf(300, 400)).detach().numpy()
        assert abs(a.mean() - mean) < 4 * std / math.sqrt(a.size)
        assert abs(a.std() / std - 1) < 0.01


def test_trunc_normal():
    t = init.trunc_normal_(_leaf(400, 500), mean=1.0, std=2.0, a=-1.0, b=4.0)
    a = t.detach().numpy()
    ref = torch.nn.init.trunc_normal_(torch.empty(400, 500, dtype=torch.float64), 1.0, 2.0, -1, 4)
    assert a.min() >= -1.0 and a.max() <= 4.0
    assert abs(a.mean() - ref.mean().item()) < 0.02
    assert abs(a.std() - ref.std().item()) < 0.02


def test_constant_initialisers():
    t = _leaf(3, 4)
    assert init.constant_(t, 2.5) is t
    np.testing.assert_array_equal(t.detach().numpy(), np.full((3, 4), 2.5))
    np.testing.assert_array_equal(init.ones_(t).detach().numpy(), np.ones((3, 4)))
    np.testing.assert_array_equal(init.zeros_(t).detach().numpy(), np.zeros((3, 4)))
    np.testing.assert_array_equal(init.eye_(t).detach().numpy(), np.eye(3, 4))
    assert t.grad_fn is None
