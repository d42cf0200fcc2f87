"""Fused cross entropy (loss.cl) on Oclgrind: forward and backward kernels, with and without
class weights, ignored and out-of-range targets, contiguous/strided/transposed logits, float32
and float64, against a NumPy reference."""
import numpy as np
import pytest

import clgrad
import clgrad.nn.functional as F

from .oclgrind_helpers import close, layouts

pytestmark = pytest.mark.oclgrind


def _reference(x, target, weight, ignore):
    """(mean loss, gradient of the mean) in float64."""
    shifted = x - x.max(1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    keep = target != ignore
    safe = np.where(keep, target, 0)
    w = (weight[safe] if weight is not None else np.ones(len(target))) * keep
    loss = -(logp[np.arange(len(target)), safe] * w).sum() / w.sum()
    onehot = np.eye(x.shape[1])[safe]
    grad = (np.exp(logp) - onehot) * w[:, None] / w.sum()
    return loss, grad


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy(dev, dtype, weighted):
    if dtype == "float64" and not dev.fp64:
        pytest.skip("the device has no cl_khr_fp64")
    rng = np.random.default_rng(21)
    x = (rng.standard_normal((7, 5)) * 4).astype(dtype)
    target = np.array([0, 4, -100, 2, 1, 3, 3])
    weight = rng.random(5).astype(dtype) if weighted else None
    want, want_grad = _reference(x.astype(np.float64), target, weight, -100)
    tol = (1e-4, 1e-5) if dtype == "float32" else (1e-10, 1e-12)
    t = clgrad.tensor(target, device=dev)
    w = None if weight is None else clgrad.tensor(weight, device=dev)
    for _, logits in layouts(x, dev):
        logits = logits.detach().requires_grad_()
        loss = F.cross_entropy(logits, t, w)
        loss.backward()
        close(loss, np.asarray(want, dtype), *tol)
        close(logits.grad, want_grad.astype(dtype), *tol)
    assert {k[1] for k in dev.kernels if k[0] == "cross_entropy"} == {"forward", "backward"}


def test_out_of_range_target(dev):
    logits = clgrad.tensor(np.zeros((3, 4), np.float32), device=dev)
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        F.cross_entropy(logits, clgrad.tensor([0, 4, 1], device=dev))
    loss = F.cross_entropy(logits, clgrad.tensor([0, 3, 1], device=dev), reduction="none")
    close(loss, np.full(3, np.log(4), np.float32))
