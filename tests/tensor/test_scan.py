"""cumsum / cumprod against PyTorch: dtypes, layouts, long rows (blocked scan), accuracy."""
import numpy as np
import pytest
from conftest import ALL_DTYPES, torch
from test_joins import data, same

import clgrad

pytestmark = pytest.mark.skipif(torch is None, reason="PyTorch is the reference here")
SCANS = pytest.mark.parametrize("name", ["cumsum", "cumprod"])


@SCANS
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
def test_dtypes(name, dtype, rng):
    x = data((5, 7), dtype, rng)
    same(lambda lib, t: getattr(lib, name)(t, 1), x)
    same(lambda lib, t: getattr(t.t(), name)(dim=-1), x)


@SCANS
@pytest.mark.parametrize("shape, dim", [((), 0), ((), -1), ((0,), 0), ((3, 0), 1),
                                        ((3, 0), 0), ((1,), 0), ((2, 3, 4), 1),
                                        ((2, 3, 4), -3), ((4, 1, 5), 2)])
def test_shapes(name, shape, dim, rng):
    same(lambda lib, t: getattr(lib, name)(t, dim), data(shape, clgrad.float64, rng))


@SCANS
def test_strided_and_expanded(name, rng):
    x = data((6, 9, 4), clgrad.int32, rng)
    same(lambda lib, t: getattr(lib, name)(t[::2, 1::3].transpose(0, 2), 1), x)
    same(lambda lib, t: getattr(lib, name)(t[:1, :, :1].expand(3, 9, 5), 1), x)
    same(lambda lib, t: getattr(lib, name)(t[0, 0].expand(5, 4), 0), x)


@pytest.mark.parametrize("n", [65, 1000, 100_003])
def test_long_rows_float32_accuracy(n, rng):
    """The blocked path: not less accurate than PyTorch against a float64 reference."""
    x = rng.uniform(0, 1, n).astype(np.float32)
    want = np.cumsum(x.astype(np.float64))
    got = clgrad.cumsum(clgrad.tensor(x), 0).numpy()
    ref = torch.cumsum(torch.from_numpy(x), 0).numpy()
    assert np.abs(got - want).max() <= max(np.abs(ref - want).max(), 1e-6 * want[-1])


@pytest.mark.parametrize("shape, dim", [((3, 20_011), 1), ((20_011, 3), 0), ((5000, 3), 1),
                                        ((3, 5000), 0), ((7, 300, 3), 1)])
def test_many_and_long_rows_int(shape, dim, rng):
    x = data(shape, clgrad.int64, rng)
    same(lambda lib, t: lib.cumsum(t, dim), x)
    signs = np.where(rng.random(shape) < 0.5, -1, 1).astype(np.int16)
    same(lambda lib, t: lib.cumprod(t, dim), signs)


def test_dtype_out_and_inplace(rng):
    x = data((4, 6), clgrad.int8, rng) * 20
    same(lambda lib, t: lib.cumsum(t, 1, dtype=lib.int8), x)
    same(lambda lib, t: lib.cumsum(t, 1, dtype=lib.float32), x)
    same(lambda lib, t: lib.cumprod(t, 0, dtype=lib.float64), x)
    same(lambda lib, t: t.cumsum_(1), x)
    same(lambda lib, t: (t[:, 1:].cumprod_(0), t)[1], x)
    y = data((4, 6), clgrad.float32, rng)
    same(lambda lib, t: lib.cumsum(t, 0, out=lib.zeros(4, 6, dtype=lib.int64)), y)
    same(lambda lib, t: lib.cumsum(t.t(), 0, out=lib.zeros(4, 6).t()), y)
    same(lambda lib, t: lib.cumsum(t[:, 1:], 1, out=t[:, :-1]), y)


def test_errors():
    with pytest.raises(IndexError, match="Dimension out of range"):
        clgrad.cumsum(clgrad.zeros(3), 1)
    with pytest.raises(RuntimeError, match="bool"):
        clgrad.cumsum(clgrad.zeros(3), 0, dtype=clgrad.bool)
