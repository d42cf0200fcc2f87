"""Shared fixtures: the device under test, random data, reference libraries, tolerances."""
import os

import numpy as np
import pytest

import clgrad

try:
    import torch
except ImportError:       # PyTorch is an optional reference; NumPy always is one
    torch = None

FLOAT_DTYPES = [clgrad.float32, clgrad.float64]
INT_DTYPES = [clgrad.uint8, clgrad.int8, clgrad.int16, clgrad.int32, clgrad.int64]
ALL_DTYPES = [clgrad.bool] + INT_DTYPES + FLOAT_DTYPES
TOLERANCE = {"float16": (1e-3, 1e-3), "float32": (1e-5, 1e-6), "float64": (1e-12, 1e-12)}


def supported(dtype) -> bool:
    """Whether the device under test can hold `dtype` (fp16/fp64 need extensions)."""
    dev = clgrad.runtime.default_device()
    return {"float16": dev.fp16, "float64": dev.fp64}.get(dtype.name, True)


def random_array(shape, dtype, rng, low=-5, high=5) -> np.ndarray:
    """Random values of clgrad `dtype` as a NumPy array (in range for every int type)."""
    if dtype is clgrad.bool:
        return rng.random(shape) < 0.5
    if dtype.is_floating_point:
        return rng.uniform(low, high, shape).astype(dtype.np)
    lo = 0 if dtype is clgrad.uint8 else low
    return rng.integers(lo, high, shape, endpoint=True).astype(dtype.np)


def assert_close(got, want, dtype=None, rtol=None, atol=None, equal_nan=True):
    """Compare a clgrad tensor (or array) with a NumPy/PyTorch result, with dtype tolerances."""
    got_np = got.numpy() if isinstance(got, clgrad.Tensor) else np.asarray(got)
    if torch is not None and isinstance(want, torch.Tensor):
        want = want.detach().numpy()
    want = np.asarray(want)
    assert got_np.shape == want.shape, f"shape {got_np.shape} != expected {want.shape}"
    name = (dtype or got.dtype).name if isinstance(got, clgrad.Tensor) or dtype else None
    default_rtol, default_atol = TOLERANCE.get(name, (0, 0))
    np.testing.assert_allclose(got_np, want, rtol=rtol if rtol is not None else default_rtol,
                               atol=atol if atol is not None else default_atol,
                               equal_nan=equal_nan)


@pytest.fixture
def rng():
    return np.random.default_rng(int(os.environ.get("CLGRAD_TEST_SEED", "1234")))


@pytest.fixture(scope="session")
def device():
    return clgrad.runtime.default_device()


def assert_same_error(case, ours, theirs):
    """case(ours) raises the exception type and message that case(theirs) raises (the
    modules are passed in, e.g. clgrad.nn.functional and torch.nn.functional)."""
    with pytest.raises(Exception) as want:
        case(*theirs)
    with pytest.raises(type(want.value)) as got:
        case(*ours)
    assert str(got.value) == str(want.value)
