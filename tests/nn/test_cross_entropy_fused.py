"""cross_entropy's fused path ((N, C) logits, class indices) against torch: values and
gradients for every reduction, weights, ignore_index, uint8 targets, non-contiguous and huge
logits; gradcheck/gradgradcheck; errors; the composite path beyond the fused class count."""
from __future__ import annotations

import numpy as np
import pytest

import clgrad
import clgrad.nn.functional as F
from clgrad.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _compare(x, target, weight=None, transpose=False, rtol=1e-10, atol=1e-12, **options):
    a = clgrad.tensor(np.ascontiguousarray(x.T) if transpose else x)
    a = (a.t() if transpose else a).detach().requires_grad_()
    b = torch.tensor(x, requires_grad=True)
    wa = None if weight is None else clgrad.tensor(weight)
    wb = None if weight is None else torch.tensor(weight)
    ours = F.cross_entropy(a, clgrad.tensor(target), wa, **options)
    ref = TF.cross_entropy(b, torch.tensor(target), wb, **options)
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=rtol,
                               atol=atol)
    g = np.random.default_rng(5).standard_normal(tuple(ref.shape))
    (ours * clgrad.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)
    return ours


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_torch(reduction, weighted):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 6)) * 3
    target = np.array([0, 5, -100, 2, 1, 3, 3, 4, 0])
    weight = rng.random(6) if weighted else None
    out = _compare(x, target, weight, reduction=reduction)
    assert type(out.grad_fn).__name__ == "CrossEntropyBackward0"
    _compare(x, np.where(target < 0, 3, target), weight, transpose=True, reduction=reduction,
             ignore_index=3)


def test_edges():
    rng = np.random.default_rng(1)
    _compare(rng.standard_normal((4, 1)), np.zeros(4, np.int64))                 # one class
    _compare(np.array([[1e4, -1e4, 0.0], [-3e4, 2e4, 5.0]]), np.array([1, 0]))  # no overflow
    _compare(rng.standard_normal((3, 4)), np.array([7, 7, 7]), ignore_index=7)  # all ignored
    x = rng.standard_normal((5, 3))
    ours = F.cross_entropy(clgrad.tensor(x), clgrad.tensor(np.array([0, 1, 2, 1, 0], np.uint8)))
    ref = TF.cross_entropy(torch.tensor(x), torch.tensor(np.array([0, 1, 2, 1, 0])))
    assert abs(ours.item() - ref.item()) < 1e-12


def test_float32():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 10)).astype(np.float32)
    _compare(x, rng.integers(0, 10, 64), rtol=1e-5, atol=1e-6)


def test_beyond_fused_classes_takes_the_composite_path():
    rng = np.random.default_rng(3)
    _compare(rng.standard_normal((2, 5000)), np.array([4999, 7]))


def test_gradcheck():
    rng = np.random.default_rng(4)
    x = clgrad.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    target = clgrad.tensor([0, 3, -1, 2, 1])
    weight = clgrad.tensor(rng.random(4))
    for reduction in ("mean", "sum", "none"):
        fn = lambda x, r=reduction: F.cross_entropy(x, target, weight, ignore_index=-1,
                                                     reduction=r)
        assert gradcheck(fn, (x,))
        assert gradgradcheck(fn, (x,))


def test_errors_and_version_check():
    x = clgrad.randn(3, 4, requires_grad=True)
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        F.cross_entropy(x, clgrad.tensor([0, 4, 1]))
    with pytest.raises(IndexError, match="Target -2 is out of bounds"):
        F.cross_entropy(x, clgrad.tensor([0, -2, 1]))
    with pytest.raises(ValueError, match=r"batch_size \(3\) to match target batch_size \(2\)"):
        F.cross_entropy(x, clgrad.tensor([0, 1]))
    y = x * 1
    loss = F.cross_entropy(y, clgrad.tensor([0, 1, 2]))
    with clgrad.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_zero_class_weights_give_nan_gradients_as_torch():
    x = np.random.default_rng(6).standard_normal((3, 4))
    a, b = clgrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.cross_entropy(a, clgrad.tensor([0, 1, 2]), clgrad.zeros(4, dtype=a.dtype)).backward()
    TF.cross_entropy(b, torch.tensor([0, 1, 2]), torch.zeros(4, dtype=b.dtype)).backward()
    np.testing.assert_array_equal(np.isnan(a.grad.numpy()), np.isnan(b.grad.numpy()))


def test_targets_on_another_device_raise():
    devices = [d for d in clgrad.runtime.all_devices()
               if not d.is_simulator and d.problem() is None]
    if len(devices) < 2:
        pytest.skip("one usable OpenCL device: nothing to mix")
    logits = clgrad.randn(3, 4, device=devices[0])
    with pytest.raises(RuntimeError, match="same device"):
        F.cross_entropy(logits, clgrad.tensor([0, 1, 2], device=devices[1]))
