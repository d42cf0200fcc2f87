"""Comparison helpers of the Oclgrind subset (results read back with numpy(force=True))."""
import os

import numpy as np

import clgrad


def to_numpy(t) -> np.ndarray:
    return t.numpy(force=True) if isinstance(t, clgrad.Tensor) else np.asarray(t)


def close(got, want, rtol=1e-5, atol=1e-6):
    got = to_numpy(got)
    want = to_numpy(want)
    assert got.shape == want.shape, f"shape {got.shape} != {want.shape}"
    if want.dtype.kind in "fc":
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


def layouts(array: np.ndarray, dev):
    """(name, tensor) pairs holding `array`: contiguous, strided (a step-2 slice), and for
    2+ dims transposed (F order)."""
    out = [("contig", clgrad.tensor(array, device=dev))]
    if array.ndim:
        wide = np.zeros(array.shape[:-1] + (2 * array.shape[-1] + 1,), array.dtype)
        wide[..., 1::2] = array
        out.append(("strided", clgrad.tensor(wide, device=dev)[..., 1::2]))
    if array.ndim >= 2:
        t = clgrad.tensor(np.ascontiguousarray(np.swapaxes(array, -1, -2)), device=dev)
        out.append(("transposed", t.transpose(-1, -2)))
    return out


class OclgrindLog:
    """New text in Oclgrind's log since the last look."""

    def __init__(self, path):
        self.path = path
        self.offset = os.path.getsize(path) if os.path.exists(path) else 0

    def new(self) -> str:
        if not os.path.exists(self.path):
            return ""
        with open(self.path, errors="replace") as f:
            f.seek(self.offset)
            text = f.read()
        self.offset += len(text.encode(errors="replace"))
        return text
