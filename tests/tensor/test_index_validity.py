"""Index tensors clgrad computed and checked skip later bounds checks (and their wait for the
device) only while nobody can have changed them."""
import numpy as np
import pytest

import clgrad
import clgrad.nn.functional as F
from clgrad.tensor import indexing


@pytest.fixture
def checks(monkeypatch):
    """How many bounds-check rounds (each a wait for the device) run."""
    count = [0]
    original = indexing._in_bounds

    def counting(entries):
        count[0] += 1
        return original(entries)
    monkeypatch.setattr(indexing, "_in_bounds", counting)
    return count


def _pool_indices():
    x = clgrad.tensor(np.random.default_rng(0).standard_normal((1, 1, 4, 4)))
    return F.max_pool2d(x, 2, return_indices=True)[1].view(1, 1, 4)


def test_pool_indices_skip_the_check(checks):
    data = clgrad.arange(16.0).view(1, 1, 16)
    got = data.gather(2, _pool_indices())
    assert checks[0] == 0
    assert got.shape == (1, 1, 4)


def test_written_indices_are_checked_again(checks):
    index = _pool_indices()
    index.add_(1000)
    with pytest.raises(IndexError, match="out of bounds"):
        clgrad.zeros(1, 1, 16).gather(2, index)
    assert checks[0] == 1



def test_indices_written_through_data_are_checked_again(checks):
    """.data has a version counter of its own (autograd does not see writes through it), but
    the validity cache does."""
    index = _pool_indices()
    index.data.add_(1000)
    assert index._version == 0
    with pytest.raises(IndexError, match="out of bounds"):
        clgrad.zeros(1, 1, 16).gather(2, index)

def test_indices_shared_with_numpy_are_checked_again():
    index = _pool_indices()
    index.numpy()[0, 0, 0] = 1000          # NumPy writes without clgrad seeing it
    with pytest.raises(IndexError, match="index 1000 is out of bounds"):
        clgrad.zeros(1, 1, 16).gather(2, index)


def test_cross_entropy_waits_once(checks, monkeypatch):
    """The fused path reads its own target-check flag once; the composite one (label
    smoothing) checks the targets once and its gather/scatter skip their checks."""
    reads = [0]
    item = clgrad.Tensor.item

    def counting(self):
        reads[0] += 1
        return item(self)
    monkeypatch.setattr(clgrad.Tensor, "item", counting)
    logits = clgrad.randn(8, 5, requires_grad=True)
    target = clgrad.tensor([0, 1, 4, 2, -100, 3, 1, 0])
    F.cross_entropy(logits, target, weight=clgrad.ones(5)).backward()
    assert reads[0] == 1 and checks[0] == 0
    F.cross_entropy(logits, target, weight=clgrad.ones(5), label_smoothing=0.1).backward()
    assert reads[0] == 2 and checks[0] == 1
    with pytest.raises(IndexError, match="Target 5 is out of bounds"):
        F.cross_entropy(logits, clgrad.tensor([0, 1, 5, 2, 0, 3, 1, 0]))


def test_dilated_pool_indices_are_checked():
    """With dilation a window can miss the input entirely (index -1): not marked valid."""
    x = clgrad.arange(8.0).view(1, 2, 2, 2).requires_grad_()
    _, index = F.max_pool2d(x, 2, stride=1, padding=1, dilation=3, return_indices=True)
    assert index.numpy().min() == -1
    with pytest.raises(IndexError, match="index -1 is out of bounds"):
        clgrad.zeros(1, 2, 4).gather(2, index.view(1, 2, -1))


def test_storage_write_counts_as_a_write():
    index = _pool_indices()
    index.untyped_storage().write(0, np.array([1 << 20], np.int64))
    with pytest.raises(IndexError, match="out of bounds"):
        clgrad.zeros(1, 1, 16).gather(2, index)
