"""The convolution and pooling modules against torch.nn's: repr, state_dict keys, outputs and
gradients with torch's weights loaded, PyTorch's initialisation bounds, constructor errors."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

import clgrad
from clgrad import nn

torch = pytest.importorskip("torch")

MODULES = [  # (class name, args, kwargs, input shape)
    ("Conv1d", (4, 6, 3), {"stride": 2, "padding": 1}, (2, 4, 11)),
    ("Conv2d", (4, 6, 3), {"groups": 2, "padding": 1, "bias": False}, (2, 4, 7, 6)),
    ("Conv2d", (3, 5, (3, 2)), {"padding": "same", "dilation": (2, 1)}, (2, 3, 6, 7)),
    ("Conv2d", (3, 5, 2), {"stride": (2, 1), "padding": "valid"}, (3, 5, 6)),
    ("ConvTranspose1d", (4, 2, 3), {"stride": 2, "output_padding": 1}, (2, 4, 5)),
    ("ConvTranspose2d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2}, (2, 4, 5, 4)),
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1}, (2, 3, 9)),
    ("MaxPool2d", (2,), {}, (2, 3, 8, 8)),
    ("MaxPool2d", (3, 2, 1), {"ceil_mode": True, "dilation": 1}, (2, 3, 8, 7)),
    ("AvgPool1d", (3,), {"ceil_mode": True}, (2, 3, 10)),
    ("AvgPool2d", (3, 2, 1), {"count_include_pad": False}, (2, 3, 7, 7)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 10)),
    ("AdaptiveAvgPool2d", ((3, None),), {}, (2, 3, 7, 5)),
    ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 7, 5)),
    ("Unfold", (2,), {"stride": 2}, (2, 3, 6, 6)),
    ("Fold", ((4, 5), 2), {}, (2, 12, 12)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", MODULES,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MODULES)])
def test_module_matches_torch(name, args, kwargs, shape):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    ours = getattr(nn, name)(*args, **kwargs).double()
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: clgrad.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(1).standard_normal(shape)
    xo = clgrad.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out, ref = ours(xo), theirs(xt)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-12)
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), atol=1e-10)
    for (key, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=1e-10, err_msg=key)


def test_max_pool_return_indices_module():
    x = np.random.default_rng(2).standard_normal((2, 3, 6, 6))
    out, where = nn.MaxPool2d(2, return_indices=True)(clgrad.tensor(x))
    ref, ref_where = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(where.numpy(), ref_where.numpy())
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


@pytest.mark.parametrize("cls,shape,fan_in", [(nn.Conv2d, (16, 3, 3, 3), 27),
                                              (nn.Conv1d, (16, 3, 5), 15),
                                              (nn.ConvTranspose2d, (3, 16, 3, 3), 144)])
def test_init_bounds(cls, shape, fan_in):
    """kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias."""
    kernel = shape[2:] if len(shape) == 4 else shape[2]
    m = cls(shape[1] if cls is not nn.ConvTranspose2d else 3, 16, kernel)
    assert tuple(m.weight.shape) == shape
    bound = 1 / math.sqrt(fan_in)
    for p in (m.weight, m.bias):
        v = p.detach().numpy()
        assert np.abs(v).max() <= bound and np.abs(v).max() > bound / 2
    w = m.weight.detach().numpy()
    assert abs(w.std() - bound / math.sqrt(3)) < 0.25 * bound


CONSTRUCTOR_ERRORS = [
    ("Conv2d", (4, 6, 3), {"groups": 0}),
    ("Conv2d", (3, 6, 3), {"groups": 2}),
    ("Conv2d", (4, 5, 3), {"groups": 2}),
    ("Conv2d", (4, 6, 3), {"padding": "full"}),
    ("Conv2d", (4, 6, 3), {"padding": "same", "stride": 2}),
    ("Conv2d", (4, 6, 3), {"padding_mode": "foo"}),
    ("ConvTranspose2d", (4, 6, 3), {"padding_mode": "reflect"}),
]


@pytest.mark.parametrize("name,args,kwargs", CONSTRUCTOR_ERRORS)
def test_constructor_errors_match_torch(name, args, kwargs):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.nn, name)(*args, **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(nn, name)(*args, **kwargs)
    assert _sets_sorted(str(ours.value)) == _sets_sorted(str(theirs.value))


def _sets_sorted(message: str) -> str:
    """The message with the items of each {...} sorted (torch prints Python sets)."""
    return re.sub(r"\{([^}]*)\}",
                  lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", message)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("name,args,kwargs,shape", [
    ("Conv2d", (3, 4, 3), {"padding": 1}, (2, 3, 5, 6)),
    ("Conv2d", (3, 4, (3, 2)), {"padding": "same", "dilation": (1, 2)}, (3, 6, 7)),
    ("Conv2d", (2, 4, 3), {"padding": (2, 1), "stride": 2, "groups": 2}, (1, 2, 6, 5)),
    ("Conv1d", (2, 3, 4), {"padding": "same"}, (2, 2, 9)),
])
def test_padding_modes(mode, name, args, kwargs, shape):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*args, padding_mode=mode, **kwargs).double()
    ours = getattr(nn, name)(*args, padding_mode=mode, **kwargs).double()
    assert repr(ours) == repr(theirs)
    ours.load_state_dict({k: clgrad.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(6).standard_normal(shape)
    xo, xt = clgrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(xo), theirs(xt)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-12)
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                               atol=1e-10)


def test_conv_transpose_output_size():
    torch.manual_seed(0)
    theirs = torch.nn.ConvTranspose2d(4, 6, 3, stride=2).double()
    ours = nn.ConvTranspose2d(4, 6, 3, stride=2).double()
    ours.load_state_dict({k: clgrad.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((1, 4, 5, 5))
    for size in [(11, 12), (1, 6, 12, 11)]:
        ref = theirs(torch.tensor(x), output_size=size)
        out = ours(clgrad.tensor(x), output_size=size)
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="valid sizes range from"):
        ours(clgrad.tensor(x), output_size=(20, 20))


def test_small_cnn_trains():
    """A small CNN fits a fixed batch: the loss falls by 10x in 60 Adam steps."""
    clgrad.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(8, 3))
    x = clgrad.randn(12, 1, 8, 8)
    y = clgrad.tensor([i % 3 for i in range(12)])
    opt = clgrad.optim.Adam(model.parameters(), lr=0.03)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 10
