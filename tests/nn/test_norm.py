"""Normalisation layers (BatchNorm1d/2d, LayerNorm, GroupNorm) and their functional forms
against torch.nn on float64: outputs, gradients of input/weight/bias, running statistics,
state_dict, repr and error messages."""
from __future__ import annotations

import numpy as np
import pytest

import clgrad
from clgrad import nn
from clgrad.nn import functional as F

torch = pytest.importorskip("torch")
TNN = torch.nn
TF = torch.nn.functional

RTOL, ATOL = 1e-9, 1e-11


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def _close(ours, ref, msg=""):
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=RTOL,
                               atol=ATOL, err_msg=msg)


def _pair_modules(name, *args, **kwargs):
    """The same layer in clgrad and torch (float64), with randomised affine parameters."""
    ours = getattr(nn, name)(*args, dtype=clgrad.float64, **kwargs)
    ref = getattr(TNN, name)(*args, dtype=torch.float64, **kwargs)
    gen = np.random.default_rng(3)
    with torch.no_grad(), clgrad.no_grad():
        for key in ("weight", "bias"):
            if getattr(ref, key) is not None:
                value = gen.standard_normal(tuple(getattr(ref, key).shape))
                getattr(ref, key).copy_(torch.tensor(value))
                getattr(ours, key).copy_(clgrad.tensor(value))
    return ours, ref


def check_step(ours, ref, x, upstream):
    """One forward/backward of both modules on x with the same upstream gradient; compares
    output and the gradients of input, weight and bias."""
    xo = clgrad.tensor(x, requires_grad=True)
    xr = torch.tensor(x, requires_grad=True)
    out, expected = ours(xo), ref(xr)
    _close(out, expected, "output")
    (out * clgrad.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    _close(xo.grad, xr.grad, "input grad")
    for key in ("weight", "bias"):
        if getattr(ref, key) is not None:
            _close(getattr(ours, key).grad, getattr(ref, key).grad, f"{key} grad")
            getattr(ours, key).grad = None
            getattr(ref, key).grad = None


def check_state(ours, ref):
    ours_sd, ref_sd = ours.state_dict(), ref.state_dict()
    assert list(ours_sd) == list(ref_sd)
    for key, value in ref_sd.items():
        assert str(ours_sd[key].dtype).split(".")[-1] == str(value.dtype).split(".")[-1], key
        np.testing.assert_allclose(ours_sd[key].numpy(), value.numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=key)


BATCHNORM_CASES = [
    ("BatchNorm1d", (4, 3), {}),
    ("BatchNorm1d", (5, 3, 6), {}),
    ("BatchNorm1d", (4, 3), {"momentum": None}),
    ("BatchNorm1d", (4, 3, 2), {"affine": False}),
    ("BatchNorm1d", (4, 3), {"bias": False, "momentum": 0.3, "eps": 1e-3}),
    ("BatchNorm1d", (4, 3, 5), {"track_running_stats": False}),
    ("BatchNorm2d", (2, 3, 4, 5), {}),
    ("BatchNorm2d", (3, 3, 2, 2), {"momentum": None, "affine": False}),
    ("BatchNorm2d", (2, 3, 3, 1), {"track_running_stats": False, "affine": False}),
]


@pytest.mark.parametrize(("name", "shape", "kwargs"), BATCHNORM_CASES)
def test_batchnorm_train_then_eval(rng, name, shape, kwargs):
    ours, ref = _pair_modules(name, shape[1], **kwargs)
    assert repr(ours) == repr(ref)
    check_state(ours, ref)
    for _ in range(3):
        check_step(ours, ref, rng.standard_normal(shape) * 2 + 1, rng.standard_normal(shape))
        check_state(ours, ref)
    ours.eval()
    ref.eval()
    check_step(ours, ref, rng.standard_normal(shape), rng.standard_normal(shape))
    check_state(ours, ref)


def test_batchnorm_buffers(rng):
    bn = nn.BatchNorm1d(3)
    assert bn.num_batches_tracked.dtype == clgrad.int64
    assert bn.num_batches_tracked.dim() == 0
    assert [name for name, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                        "num_batches_tracked"]
    bn(clgrad.tensor(rng.standard_normal((4, 3))))
    assert bn.num_batches_tracked.item() == 1
    bn.reset_running_stats()
    assert bn.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(bn.running_mean.numpy(), np.zeros(3))
    np.testing.assert_array_equal(bn.running_var.numpy(), np.ones(3))
    untracked = nn.BatchNorm2d(2, track_running_stats=False)
    assert untracked.running_mean is None and untracked.num_batches_tracked is None
    assert list(untracked.state_dict()) == ["weight", "bias"]


def test_batchnorm_load_state_dict(rng):
    ours, ref = _pair_modules("BatchNorm1d", 3)
    ref(torch.tensor(rng.standard_normal((6, 3))))
    ours.load_state_dict({k: clgrad.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    check_state(ours, ref)
    ours.eval()
    ref.eval()
    check_step(ours, ref, rng.standard_normal((4, 3)), rng.standard_normal((4, 3)))


@pytest.mark.parametrize(("name", "shape", "message"), [
    ("BatchNorm1d", (2, 3, 4, 5), "expected 2D or 3D input (got 4D input)"),
    ("BatchNorm1d", (3,), "expected 2D or 3D input (got 1D input)"),
    ("BatchNorm2d", (2, 3, 4), "expected 4D input (got 3D input)"),
])
def test_batchnorm_input_dim(name, shape, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        getattr(nn, name)(3)(clgrad.zeros(shape))


def test_batchnorm_single_value_per_channel():
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(clgrad.zeros(1, 3))
    bn = nn.BatchNorm1d(3).eval()
    assert tuple(bn(clgrad.zeros(1, 3)).shape) == (1, 3)


def test_functional_batch_norm(rng):
    x = rng.standard_normal((4, 3, 5))
    stats = [rng.standard_normal(3), rng.random(3) + 0.5]
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    for training in (True, False):
        ours_rm, ours_rv = (clgrad.tensor(s) for s in stats)
        ref_rm, ref_rv = (torch.tensor(s) for s in stats)
        ow, ob = clgrad.tensor(w, requires_grad=True), clgrad.tensor(b, requires_grad=True)
        rw, rb = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
        out = F.batch_norm(clgrad.tensor(x), ours_rm, ours_rv, ow, ob, training, 0.2, 1e-4)
        ref = TF.batch_norm(torch.tensor(x), ref_rm, ref_rv, rw, rb, training, 0.2, 1e-4)
        _close(out, ref)
        _close(ours_rm, ref_rm)
        _close(ours_rv, ref_rv)
        out.sum().backward()
        ref.sum().backward()
        _close(ow.grad, rw.grad)
        _close(ob.grad, rb.grad)
    out = F.batch_norm(clgrad.tensor(x), None, None, training=True)
    _close(out, TF.batch_norm(torch.tensor(x), None, None, training=True))


def test_functional_batch_norm_errors():
    x = clgrad.zeros(2, 3)
    with pytest.raises(RuntimeError, match="running_mean must be defined in evaluation mode"):
        F.batch_norm(x, None, None)
    with pytest.raises(RuntimeError, match="running_mean should contain 3 elements not 4"):
        F.batch_norm(x, clgrad.zeros(4), clgrad.ones(4), training=True)


LAYERNORM_CASES = [
    ((4,), (2, 3, 4), {}),
    ([3, 4], (2, 3, 4), {}),
    ((5,), (5,), {}),
    (6, (3, 6), {"bias": False, "eps": 1e-3}),
    ((2, 3), (4, 2, 3), {"elementwise_affine": False}),
]


@pytest.mark.parametrize(("normalized_shape", "shape", "kwargs"), LAYERNORM_CASES)
def test_layernorm(rng, normalized_shape, shape, kwargs):
    ours, ref = _pair_modules("LayerNorm", normalized_shape, **kwargs)
    assert repr(ours) == repr(ref)
    check_state(ours, ref)
    check_step(ours, ref, rng.standard_normal(shape) * 3, rng.standard_normal(shape))
    ours.eval()
    ref.eval()
    check_step(ours, ref, rng.standard_normal(shape), rng.standard_normal(shape))


def test_layernorm_non_contiguous(rng):
    ours, ref = _pair_modules("LayerNorm", 3)
    x = rng.standard_normal((3, 4))
    xo = clgrad.tensor(x, requires_grad=True)
    xr = torch.tensor(x, requires_grad=True)
    out, expected = ours(xo.t()), ref(xr.t())
    _close(out, expected)
    out.sum().backward()
    expected.sum().backward()
    _close(xo.grad, xr.grad)


@pytest.mark.parametrize(("normalized_shape", "shape", "message"), [
    (4, (2, 3), (r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\], "
                 r"but got input of size\[2, 3\]")),
    ([3, 4], (2, 4, 3), (r"Given normalized_shape=\[3, 4\], expected input with shape "
                         r"\[\*, 3, 4\], but got input of size\[2, 4, 3\]")),
    ([2, 3], (3,), r"Given normalized_shape=\[2, 3\]"),
])
def test_layernorm_errors(normalized_shape, shape, message):
    with pytest.raises(RuntimeError, match=message):
        nn.LayerNorm(normalized_shape)(clgrad.zeros(shape))


GROUPNORM_CASES = [
    (2, 4, (3, 4), {}),
    (3, 6, (2, 6, 5), {}),
    (1, 3, (2, 3, 2, 2), {"eps": 1e-3}),
    (4, 4, (2, 4, 3, 2), {"bias": False}),
    (2, 6, (2, 6, 3), {"affine": False}),
]


@pytest.mark.parametrize(("groups", "channels", "shape", "kwargs"), GROUPNORM_CASES)
def test_groupnorm(rng, groups, channels, shape, kwargs):
    ours, ref = _pair_modules("GroupNorm", groups, channels, **kwargs)
    assert repr(ours) == repr(ref)
    check_state(ours, ref)
    check_step(ours, ref, rng.standard_normal(shape) * 2 - 1, rng.standard_normal(shape))


def test_groupnorm_errors():
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups "
                                         r"\(4\)"):
        nn.GroupNorm(4, 6)
    with pytest.raises(RuntimeError, match=r"Expected number of channels in input to be "
                                           r"divisible by num_groups, but got input of shape "
                                           r"\[2, 6\] and num_groups=4"):
        F.group_norm(clgrad.zeros(2, 6), 4)
    with pytest.raises(RuntimeError, match="Expected at least 2 dimensions for input tensor "
                                           "but received 1"):
        F.group_norm(clgrad.zeros(6), 3)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        F.group_norm(clgrad.zeros(1, 3), 3)


def test_functional_layer_and_group_norm(rng):
    x = rng.standard_normal((2, 4, 3))
    w, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    out = F.layer_norm(clgrad.tensor(x), (4, 3), clgrad.tensor(w), clgrad.tensor(b), 1e-3)
    _close(out, TF.layer_norm(torch.tensor(x), (4, 3), torch.tensor(w), torch.tensor(b), 1e-3))
    gw = rng.standard_normal(4)
    out = F.group_norm(clgrad.tensor(x), 2, clgrad.tensor(gw))
    _close(out, TF.group_norm(torch.tensor(x), 2, torch.tensor(gw)))


def test_exports():
    for name in ("BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm"):
        assert name in nn.__all__
        assert issubclass(getattr(nn, name), nn.Module)
