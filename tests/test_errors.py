"""A catalogue of bad inputs across the public API, each run side by side in PyTorch.

Every row of CASES is one bad input: an id, `build(lib)` making fresh inputs, `call(lib,
*inputs)` doing the bad thing, the exception type (PyTorch must raise the same type on the
same call, where it has the same API), a regex clgrad's message must match (it names the
offending shape, dtype, value or device), and the check that every input tensor holds the same
values afterwards. DEFINED holds inputs whose result PyTorch defines (NaN, inf, wrap-around,
clamp with min > max): there clgrad must return PyTorch's values, not raise. Bad
CLGRAD_DEVICE values run in a subprocess, since the default device is chosen once.
"""
import os
import re
import subprocess
import sys
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
from conftest import torch

import clgrad


class Case(NamedTuple):
    id: str
    build: Callable             # build(lib) -> tuple of fresh inputs
    call: Callable              # call(lib, *inputs): the bad call
    exc: type                   # the exception type (PyTorch raises it too)
    match: str                  # regex clgrad's message must match (names the offending value)
    torch: bool = True          # PyTorch has the same API: check it raises `exc` too
    needs: Callable | None = None   # needs() -> a reason to skip, or None
    xfail: str | None = None    # a known clgrad bug in a file this test may not fix


# -- inputs -------------------------------------------------------------------------------------
def _t(lib, *shape, dtype=None, grad=False):
    """A fresh tensor 0, 1, 2, ... of `shape` (float32 unless `dtype`)."""
    x = lib.arange(int(np.prod(shape)), dtype=dtype or lib.float32).reshape(*shape)
    return x.requires_grad_() if grad else x


def _rows(lib):
    return _t(lib, 2, 3)


def _pair(lib, s1, s2, d1=None, d2=None):
    return _t(lib, *s1, dtype=d1), _t(lib, *s2, dtype=d2)


def _idx(lib, values):
    return lib.tensor(values, dtype=lib.int64)


def _backward_done(lib):
    a = _t(lib, 3, grad=True)
    y = (a * a).sum()
    y.backward()
    return a, y, a.grad


def _saved_then_modified(lib):
    a = _t(lib, 3, grad=True)
    b = a * 2
    c = b * b            # saves b
    b.add_(1)            # then changes it
    return a, c


def _setitem(x, key, value):
    x[key] = value


def _assign_grad(x, g):
    x.grad = g


# -- devices ------------------------------------------------------------------------------------
def _second_device():
    """A usable OpenCL device other than 'cpu' (simulators excluded), or None."""
    cpu = clgrad.runtime.cpu_device()
    return next((d for d in clgrad.runtime.all_devices() if d is not cpu and
                 not d.is_simulator and d.problem() is None), None)


def _needs_second_device():
    return None if _second_device() else "one usable OpenCL device: nothing to mix"


def _on_two_devices(lib, *shapes, dtype=None):
    other = _second_device()
    first = _t(lib, *shapes[0], dtype=dtype)
    return (first,) + tuple(_t(lib, *s, dtype=dtype).to(other) for s in shapes[1:])


def _needs_no_fp16():
    return "the device has cl_khr_fp16" if clgrad.runtime.default_device().fp16 else None


def _needs_no_fp64():
    return "the device has cl_khr_fp64" if clgrad.runtime.default_device().fp64 else None


C = Case
_MIXED = r"same device.*cpu and opencl:\d+"
_FP16 = r"float16.*cl_khr_fp16"

CASES = [
    # -- elementwise: broadcasting, in-place, out=, dtypes --------------------------------------
    C("add-broadcast", lambda lib: _pair(lib, (2, 3), (4, 3)), lambda lib, a, b: a + b,
      RuntimeError, r"\(3\).*\(4\)|2, 3.*4, 3"),
    C("mul-broadcast-3d", lambda lib: _pair(lib, (2, 1, 5), (3, 4)), lambda lib, a, b: a * b,
      RuntimeError, r"\(5\).*\(4\)|5.*4"),
    C("where-broadcast", lambda lib: (_t(lib, 3) > 1, _t(lib, 3), _t(lib, 4)),
      lambda lib, c, a, b: lib.where(c, a, b), RuntimeError, r"3.*4"),
    C("where-float-condition", lambda lib: (_t(lib, 3), _t(lib, 3)),
      lambda lib, c, a: lib.where(c, a, a), RuntimeError, r"(?i)float"),
    C("eq-broadcast", lambda lib: _pair(lib, (2,), (3,)), lambda lib, a, b: a == b,
      RuntimeError, r"2.*3"),
    C("maximum-broadcast", lambda lib: _pair(lib, (2, 2), (3,)),
      lambda lib, a, b: lib.maximum(a, b), RuntimeError, r"2.*3"),
    C("add_-into-smaller", lambda lib: _pair(lib, (3,), (2, 3)), lambda lib, a, b: a.add_(b),
      RuntimeError, r"\[3\].*\[2, 3\]"),
    C("mul_-into-smaller-row", lambda lib: _pair(lib, (1, 3), (2, 3)),
      lambda lib, a, b: a.mul_(b), RuntimeError, r"\[1, 3\].*\[2, 3\]"),
    C("add_-float-into-int", lambda lib: _pair(lib, (3,), (3,), lib.int64, lib.float32),
      lambda lib, a, b: a.add_(b), RuntimeError, r"(?i)float.*(long|int64)"),
    C("add_-float-into-bool", lambda lib: (lib.tensor([True]),), lambda lib, a: a.add_(1.5),
      RuntimeError, r"(?i)float.*bool"),
    C("add-out-wrong-dtype", lambda lib: (*_pair(lib, (3,), (3,)), _t(lib, 3, dtype=lib.int64)),
      lambda lib, a, b, out: lib.add(a, b, out=out), RuntimeError, r"(?i)float.*(long|int64)"),
    C("add-int-float-alpha", lambda lib: _pair(lib, (2,), (2,), lib.int64, lib.int64),
      lambda lib, a, b: lib.add(a, b, alpha=1.5), RuntimeError, r"(?i)alpha"),
    C("bitwise-on-float", lambda lib: _pair(lib, (3,), (3,)),
      lambda lib, a, b: lib.bitwise_and(a, b), NotImplementedError, r"(?i)float"),

    C("invert-float", lambda lib: (_t(lib, 3),), lambda lib, a: ~a, TypeError, r"float32"),
    C("neg-bool", lambda lib: (lib.tensor([True]),), lambda lib, a: -a, RuntimeError,
      r"(?i)bool"),
    C("div-bad-rounding-mode", lambda lib: (_t(lib, 3),),
      lambda lib, a: lib.div(a, 2, rounding_mode="bad"), RuntimeError, r"'bad'"),
    C("add-str", lambda lib: (_t(lib, 3),), lambda lib, a: a + "x", TypeError, r"str"),
    C("clamp-no-bounds", lambda lib: (_t(lib, 3),), lambda lib, a: a.clamp(), RuntimeError,
      r"'min' or 'max'"),
    # -- matrix products ------------------------------------------------------------------------
    C("matmul-inner", lambda lib: _pair(lib, (2, 3), (4, 5)), lambda lib, a, b: a @ b,
      RuntimeError, r"2x3.*4x5|\(2, 3\).*\(4, 5\)"),
    C("matmul-0d", lambda lib: (lib.tensor(2.0), _t(lib, 3)), lambda lib, a, b: lib.matmul(a, b),
      RuntimeError, r"(?i)1D|0-d|0D|dimension"),
    C("matmul-dtype", lambda lib: _pair(lib, (2, 2), (2, 2), None, lib.int64),
      lambda lib, a, b: lib.matmul(a, b), RuntimeError, r"(?i)float.*(long|int64)"),
    C("mm-3d", lambda lib: _pair(lib, (2, 2, 2), (2, 2)), lambda lib, a, b: lib.mm(a, b),
      RuntimeError, r"(?i)matrix|2-?D|3-?D"),
    C("mm-inner", lambda lib: _pair(lib, (2, 3), (2, 3)), lambda lib, a, b: lib.mm(a, b),
      RuntimeError, r"2x3.*2x3|\(2, 3\)"),
    C("mm-double-float", lambda lib: _pair(lib, (2, 2), (2, 2), lib.float64, None),
      lambda lib, a, b: a.mm(b), RuntimeError, r"double.*float|float64.*float32"),
    C("bmm-batch", lambda lib: _pair(lib, (2, 3, 4), (3, 4, 5)), lambda lib, a, b: lib.bmm(a, b),
      RuntimeError, r"2.*3"),
    C("bmm-inner", lambda lib: _pair(lib, (2, 3, 4), (2, 3, 5)), lambda lib, a, b: lib.bmm(a, b),
      RuntimeError, r"4.*3|3.*4"),
    C("bmm-2d", lambda lib: _pair(lib, (3, 4), (4, 5)), lambda lib, a, b: lib.bmm(a, b),
      RuntimeError, r"(?i)3-?D|2-?D"),
    C("mv-inner", lambda lib: _pair(lib, (2, 3), (4,)), lambda lib, a, b: lib.mv(a, b),
      RuntimeError, r"3.*4|4.*3"),
    C("dot-length", lambda lib: _pair(lib, (3,), (4,)), lambda lib, a, b: lib.dot(a, b),
      RuntimeError, r"3.*4"),
    C("dot-2d", lambda lib: _pair(lib, (2, 2), (2, 2)), lambda lib, a, b: lib.dot(a, b),
      RuntimeError, r"(?i)1D|2D|2-?d"),
    C("einsum-too-few-operands", lambda lib: _pair(lib, (2, 3), (3, 4)),
      lambda lib, a, b: lib.einsum("ij,jk->ik", a), RuntimeError, r"(?i)operand"),
    C("einsum-size", lambda lib: _pair(lib, (2, 3), (4, 5)),
      lambda lib, a, b: lib.einsum("ij,jk->ik", a, b), RuntimeError, r"3.*4|4.*3"),
    C("einsum-output-letter", lambda lib: (_rows(lib),), lambda lib, a: lib.einsum("ij->k", a),
      RuntimeError, r"subscript k"),
    C("einsum-subscript-count", lambda lib: _pair(lib, (2, 3), (2, 3)),
      lambda lib, a, b: lib.einsum("ijk,jk", a, b), RuntimeError, r"\(3\).*\(2\)"),
    # -- reductions and scans -------------------------------------------------------------------
    C("sum-dim-out-of-range", lambda lib: (_rows(lib),), lambda lib, a: a.sum(dim=2),
      IndexError, r"\[-2, 1\].*got 2"),
    C("sum-negative-dim", lambda lib: (_rows(lib),), lambda lib, a: a.sum(dim=-3),
      IndexError, r"got -3"),
    C("sum-duplicate-dims", lambda lib: (_rows(lib),), lambda lib, a: a.sum(dim=(0, 0)),
      RuntimeError, r"dim 0"),
    C("mean-duplicate-neg-dims", lambda lib: (_rows(lib),), lambda lib, a: a.mean(dim=(1, -1)),
      RuntimeError, r"dim 1"),
    C("mean-int", lambda lib: (_t(lib, 3, dtype=lib.int64),), lambda lib, a: a.mean(),
      RuntimeError, r"(?i)long|int64"),
    C("std-int", lambda lib: (_t(lib, 3, dtype=lib.int64),), lambda lib, a: a.std(),
      RuntimeError, r"(?i)floating point"),
    C("softmax-int", lambda lib: (_t(lib, 3, dtype=lib.int64),),
      lambda lib, a: lib.softmax(a, 0), NotImplementedError, r"Long"),
    C("argmax-dim", lambda lib: (_rows(lib),), lambda lib, a: a.argmax(dim=5),
      IndexError, r"got 5"),
    C("argmax-empty", lambda lib: (lib.zeros(0),), lambda lib, a: a.argmax(), IndexError,
      r"numel\(\) == 0"),
    C("max-dim", lambda lib: (_rows(lib),), lambda lib, a: a.max(dim=-4), IndexError, r"got -4"),
    C("max-empty", lambda lib: (lib.zeros(0),), lambda lib, a: a.max(), RuntimeError,
      r"numel\(\) == 0"),
    C("prod-dim", lambda lib: (_rows(lib),), lambda lib, a: lib.prod(a, 3), IndexError, r"got 3"),
    C("logsumexp-dim", lambda lib: (_rows(lib),), lambda lib, a: lib.logsumexp(a, 2),
      IndexError, r"got 2"),
    C("softmax-dim", lambda lib: (_rows(lib),), lambda lib, a: lib.softmax(a, dim=2),
      IndexError, r"got 2"),
    C("std-dim", lambda lib: (_rows(lib),), lambda lib, a: a.std(dim=7), IndexError, r"got 7"),
    C("norm-bad-p", lambda lib: (_rows(lib),), lambda lib, a: a.norm(p="bad"), RuntimeError,
      r"bad"),
    C("cumsum-dim", lambda lib: (_rows(lib),), lambda lib, a: lib.cumsum(a, dim=3),
      IndexError, r"got 3"),
    C("cumprod-dim", lambda lib: (_rows(lib),), lambda lib, a: lib.cumprod(a, -3),
      IndexError, r"got -3"),
    # -- views and shapes -----------------------------------------------------------------------
    C("view-after-transpose", lambda lib: (_rows(lib).t(),), lambda lib, a: a.view(6),
      RuntimeError, r"(?i)stride.*\[6\]|\[3, 2\].*stride"),
    C("view-after-expand", lambda lib: (_t(lib, 1, 3).expand(2, 3),), lambda lib, a: a.view(6),
      RuntimeError, r"(?i)stride"),
    C("view-strided-slice", lambda lib: (_rows(lib)[:, ::2],), lambda lib, a: a.view(-1),
      RuntimeError, r"(?i)stride"),
    C("view-wrong-numel", lambda lib: (_rows(lib),), lambda lib, a: a.view(4, 2),
      RuntimeError, r"\[4, 2\].*6"),
    C("reshape-wrong-numel", lambda lib: (_rows(lib),), lambda lib, a: a.reshape(4, 4),
      RuntimeError, r"\[4, 4\].*6"),
    C("reshape-two-inferred", lambda lib: (_rows(lib),), lambda lib, a: a.reshape(-1, -1),
      RuntimeError, r"(?i)only one dimension"),
    C("reshape-negative", lambda lib: (_rows(lib),), lambda lib, a: a.reshape(-2, 3),
      RuntimeError, r"-2"),
    C("reshape-float", lambda lib: (_rows(lib),), lambda lib, a: a.reshape(2.5), TypeError,
      r"float"),
    C("expand-incompatible", lambda lib: (_rows(lib),), lambda lib, a: a.expand(2, 4),
      RuntimeError, r"\(4\).*\(3\)"),
    C("expand-fewer-dims", lambda lib: (_rows(lib),), lambda lib, a: a.expand(3),
      RuntimeError, r"\(1\).*\(2\)"),
    C("expand-leading-minus-one", lambda lib: (_rows(lib),), lambda lib, a: a.expand(-1, 2, 3),
      RuntimeError, r"-1.*dimension 0"),
    C("permute-length", lambda lib: (_rows(lib),), lambda lib, a: a.permute(0, 1, 2),
      RuntimeError, r"(?i)number of dimensions|3.*2"),
    C("permute-repeated", lambda lib: (_rows(lib),), lambda lib, a: a.permute(0, 0),
      RuntimeError, r"\[0, 0\]"),
    C("squeeze-dim", lambda lib: (_rows(lib),), lambda lib, a: a.squeeze(2), IndexError,
      r"got 2"),
    C("squeeze-0d-dim", lambda lib: (lib.tensor(1.0),), lambda lib, a: a.squeeze(1),
      IndexError, r"got 1"),
    C("unsqueeze-dim", lambda lib: (_rows(lib),), lambda lib, a: a.unsqueeze(4),
      IndexError, r"got 4"),
    C("unsqueeze-negative-dim", lambda lib: (_rows(lib),), lambda lib, a: a.unsqueeze(-4),
      IndexError, r"got -4"),
    C("transpose-dim", lambda lib: (_rows(lib),), lambda lib, a: a.transpose(0, 2),
      IndexError, r"got 2"),
    C("t-3d", lambda lib: (_t(lib, 2, 2, 2),), lambda lib, a: a.t(), RuntimeError, r"3"),
    C("flatten-start-after-end", lambda lib: (_t(lib, 2, 2, 2),),
      lambda lib, a: a.flatten(2, 1), RuntimeError, r"(?i)start_dim"),
    C("narrow-past-end", lambda lib: (_t(lib, 4),), lambda lib, a: a.narrow(0, 2, 3),
      RuntimeError, r"\(2\).*\(3\).*\(4\)"),
    C("narrow-negative-length", lambda lib: (_rows(lib),), lambda lib, a: a.narrow(1, 0, -1),
      RuntimeError, r"length"),
    C("select-index", lambda lib: (_rows(lib),), lambda lib, a: a.select(0, 5), IndexError,
      r"index 5"),
    C("unbind-dim", lambda lib: (_rows(lib),), lambda lib, a: a.unbind(2), IndexError,
      r"got 2"),
    C("repeat-fewer-dims", lambda lib: (_rows(lib),), lambda lib, a: a.repeat(2), RuntimeError,
      r"(?i)repeat dims"),
    C("repeat-negative", lambda lib: (_t(lib, 3),), lambda lib, a: a.repeat(2, -1),
      RuntimeError, r"negative dimension"),
    C("roll-shifts-dims", lambda lib: (_rows(lib),), lambda lib, a: lib.roll(a, (1, 1), 0),
      RuntimeError, r"shifts: 2, dims: ?1"),
    C("roll-dim", lambda lib: (_rows(lib),), lambda lib, a: lib.roll(a, 1, 5), IndexError,
      r"got 5"),
    C("flip-duplicate", lambda lib: (_rows(lib),), lambda lib, a: lib.flip(a, (0, 0)),
      RuntimeError, r"dim 0 appears multiple times"),
    C("tril-1d", lambda lib: (_t(lib, 3),), lambda lib, a: lib.tril(a), RuntimeError,
      r"at least 2 dimensions"),
    # -- indexing -------------------------------------------------------------------------------
    C("index-int", lambda lib: (_t(lib, 3),), lambda lib, a: a[5], IndexError,
      r"index 5 .*size 3"),
    C("index-negative-int", lambda lib: (_t(lib, 3),), lambda lib, a: a[-4], IndexError,
      r"-4.*size 3"),
    C("index-too-many", lambda lib: (_rows(lib),), lambda lib, a: a[0, 0, 0], IndexError,
      r"(?i)too many.*2"),
    C("index-0d", lambda lib: (lib.tensor(1.0),), lambda lib, a: a[0], IndexError,
      r"0-dim|dimension 0"),
    C("index-tensor", lambda lib: (_t(lib, 3), _idx(lib, [0, 5])), lambda lib, a, i: a[i],
      IndexError, r"index 5 .*size 3"),
    C("index-list", lambda lib: (_rows(lib),), lambda lib, a: a[[0, 5]], IndexError,
      r"index 5 .*size 2"),
    C("index-float-tensor", lambda lib: (_t(lib, 3), lib.tensor([0.0, 1.0])),
      lambda lib, a, i: a[i], IndexError, r"(?i)long, int, byte or bool"),
    C("index-float-scalar", lambda lib: (_t(lib, 3),), lambda lib, a: a[1.5], IndexError,
      r"got float"),
    C("index-bool-mask-shape", lambda lib: (_t(lib, 3), lib.tensor([True, False])),
      lambda lib, a, m: a[m], IndexError, r"\[2\].*\[3\]"),
    C("index-bool-mask-2d", lambda lib: (_rows(lib), lib.tensor([[True]])),
      lambda lib, a, m: a[m], IndexError, r"\[1, 1\].*\[2, 3\]"),
    C("slice-step-zero", lambda lib: (_t(lib, 3),), lambda lib, a: a[::0], ValueError,
      r"(?i)step"),
    C("slice-step-negative", lambda lib: (_t(lib, 3),), lambda lib, a: a[::-1], ValueError,
      r"(?i)step"),
    C("setitem-out-of-range", lambda lib: (_t(lib, 3),), lambda lib, a: _setitem(a, 3, 1.0),
      IndexError, r"index 3 .*size 3"),
    C("setitem-tensor-index", lambda lib: (_t(lib, 3), _idx(lib, [1, 7])),
      lambda lib, a, i: _setitem(a, i, 1.0), IndexError, r"index 7 .*size 3"),
    C("setitem-value-shape", lambda lib: (_rows(lib), _t(lib, 4)),
      lambda lib, a, v: _setitem(a, 0, v), RuntimeError, r"\[4\].*\[3\]"),
    C("index_put_-out-of-range", lambda lib: (_t(lib, 3), _idx(lib, [5])),
      lambda lib, a, i: a.index_put_((i,), lib.tensor(1.0), accumulate=True), IndexError,
      r"index 5 .*size 3"),
    # -- gather / scatter / index_* / masks -----------------------------------------------------
    C("gather-float-index", lambda lib: (_rows(lib), lib.zeros(2, 1)),
      lambda lib, a, i: lib.gather(a, 1, i), RuntimeError, r"(?i)int64.*index.*float"),
    C("gather-out-of-range", lambda lib: (_rows(lib), _idx(lib, [[0], [5]])),
      lambda lib, a, i: lib.gather(a, 1, i), RuntimeError, r"index 5 .*size 3"),
    C("gather-index-ndim", lambda lib: (_rows(lib), _idx(lib, [0, 1])),
      lambda lib, a, i: lib.gather(a, 1, i), RuntimeError, r"(?i)same number of dimensions"),
    C("gather-dim", lambda lib: (_rows(lib), _idx(lib, [[0], [1]])),
      lambda lib, a, i: lib.gather(a, 2, i), IndexError, r"got 2"),
    C("scatter_-out-of-range", lambda lib: (_rows(lib), _idx(lib, [[0], [9]]), lib.ones(2, 1)),
      lambda lib, a, i, s: a.scatter_(1, i, s), RuntimeError, r"index 9 .*size 3"),
    C("scatter-float-index", lambda lib: (_rows(lib), lib.zeros(2, 1), lib.ones(2, 1)),
      lambda lib, a, i, s: lib.scatter(a, 1, i, s), RuntimeError, r"(?i)int64.*float"),
    C("scatter_-src-dtype", lambda lib: (_rows(lib), _idx(lib, [[0], [1]]),
                                         _t(lib, 2, 1, dtype=lib.int64)),
      lambda lib, a, i, s: a.scatter_(1, i, s), RuntimeError, r"(?i)dtype"),
    C("scatter_add_-out-of-range", lambda lib: (_rows(lib), _idx(lib, [[-4], [0]]),
                                                lib.ones(2, 1)),
      lambda lib, a, i, s: a.scatter_add_(1, i, s), RuntimeError, r"index -4 .*size 3"),
    C("index_select-out-of-range", lambda lib: (_rows(lib), _idx(lib, [0, 3])),
      lambda lib, a, i: lib.index_select(a, 1, i), RuntimeError, r"index 3 .*size 3"),
    C("index_select-float-index", lambda lib: (_rows(lib), lib.tensor([0.0])),
      lambda lib, a, i: lib.index_select(a, 1, i), RuntimeError, r"(?i)int64.*float"),
    C("index_select-2d-index", lambda lib: (_rows(lib), _idx(lib, [[0]])),
      lambda lib, a, i: lib.index_select(a, 1, i), IndexError, r"(?i)vector"),
    C("index_add_-out-of-range", lambda lib: (_rows(lib), _idx(lib, [4]), lib.ones(2, 1)),
      lambda lib, a, i, s: a.index_add_(1, i, s), RuntimeError, r"index 4 .*size 3"),
    C("index_copy_-out-of-range", lambda lib: (_t(lib, 3), _idx(lib, [5]), lib.ones(1)),
      lambda lib, a, i, s: a.index_copy_(0, i, s), IndexError, r"index 5 .*size 3"),
    C("index_fill_-float-index", lambda lib: (_rows(lib), lib.tensor([0.0])),
      lambda lib, a, i: a.index_fill_(1, i, 0.0), IndexError, r"int64.*float32"),
    C("masked_fill-float-mask", lambda lib: (_rows(lib), lib.ones(2, 3)),
      lambda lib, a, m: a.masked_fill(m, 0.0), RuntimeError, r"(?i)bool.*float"),
    C("masked_fill_-mask-shape", lambda lib: (_rows(lib), lib.ones(4, dtype=lib.bool)),
      lambda lib, a, m: a.masked_fill_(m, 0.0), RuntimeError, r"\(4\).*\(3\)|4.*3"),
    C("masked_select-mask-shape", lambda lib: (_rows(lib), lib.ones(2, 2, dtype=lib.bool)),
      lambda lib, a, m: lib.masked_select(a, m), RuntimeError, r"\(2\).*\(3\)|3.*2"),
    C("take-out-of-range", lambda lib: (_rows(lib), _idx(lib, [6])),
      lambda lib, a, i: lib.take(a, i), IndexError, r"\b6\b.*\b6\b"),
    C("take-negative-out-of-range", lambda lib: (_rows(lib), _idx(lib, [-7])),
      lambda lib, a, i: lib.take(a, i), IndexError, r"-7.*\b6\b"),
    # -- joins and splits -----------------------------------------------------------------------
    C("cat-shapes", lambda lib: _pair(lib, (2, 3), (2, 4)), lambda lib, a, b: lib.cat([a, b]),
      RuntimeError, r"size 3 but got size 4.*tensor number 1"),
    C("cat-empty-list", lambda lib: (), lambda lib: lib.cat([]), ValueError, r"non-empty"),
    C("cat-dim", lambda lib: _pair(lib, (2, 3), (2, 3)), lambda lib, a, b: lib.cat([a, b], 2),
      IndexError, r"got 2"),
    C("cat-ndim", lambda lib: _pair(lib, (2, 3), (3,)), lambda lib, a, b: lib.cat([a, b]),
      RuntimeError, r"got 2 and 1"),
    C("cat-not-tensor", lambda lib: (_rows(lib),), lambda lib, a: lib.cat([a, 1]), TypeError,
      r"element 1.*int"),
    C("stack-shapes", lambda lib: _pair(lib, (2, 3), (3, 3)), lambda lib, a, b: lib.stack([a, b]),
      RuntimeError, r"\[2, 3\].*entry 0.*\[3, 3\].*entry 1"),
    C("stack-empty", lambda lib: (), lambda lib: lib.stack([]), RuntimeError, r"non-empty"),
    C("stack-dim", lambda lib: _pair(lib, (2, 3), (2, 3)),
      lambda lib, a, b: lib.stack([a, b], dim=3), IndexError, r"got 3"),
    C("split-sizes-sum", lambda lib: (_t(lib, 5),), lambda lib, a: lib.split(a, [2, 2]),
      RuntimeError, r"\b5\b.*\[2, 2\]"),
    C("split-size-zero", lambda lib: (_t(lib, 5),), lambda lib, a: lib.split(a, 0),
      RuntimeError, r"size of 5"),
    C("split-negative-size", lambda lib: (_t(lib, 5),), lambda lib, a: lib.split(a, [6, -1]),
      RuntimeError, r"\[6, -1\]"),
    C("chunk-zero", lambda lib: (_t(lib, 5),), lambda lib, a: lib.chunk(a, 0),
      RuntimeError, r"got: 0"),
    C("tensor_split-zero", lambda lib: (_t(lib, 3),), lambda lib, a: lib.tensor_split(a, 0),
      RuntimeError, r"got 0"),
    # -- creation -------------------------------------------------------------------------------
    C("arange-step-zero", lambda lib: (), lambda lib: lib.arange(0, 5, 0), RuntimeError,
      r"(?i)step must be nonzero"),
    C("arange-step-sign", lambda lib: (), lambda lib: lib.arange(0, 5, -1), RuntimeError,
      r"step=-1"),
    C("arange-nan", lambda lib: (), lambda lib: lib.arange(0, float("nan")), RuntimeError,
      r"nan"),
    C("arange-inf", lambda lib: (), lambda lib: lib.arange(0, float("inf")), RuntimeError,
      r"inf"),
    C("arange-int64-overflow", lambda lib: (), lambda lib: lib.arange(2**63), RuntimeError,
      r"9223372036854775808.*overflow"),
    C("arange-too-many-elements", lambda lib: (), lambda lib: lib.arange(0, 1e20, 1),
      RuntimeError, r"(?i)overflow"),
    C("full-uint8-overflow", lambda lib: (), lambda lib: lib.full((2,), 300, dtype=lib.uint8),
      RuntimeError, r"300.*uint8"),
    C("full-int8-underflow", lambda lib: (), lambda lib: lib.full((2,), -129, dtype=lib.int8),
      RuntimeError, r"-129.*int8"),
    C("full-int64-overflow", lambda lib: (), lambda lib: lib.full((2,), 2**63, dtype=lib.int64),
      RuntimeError, r"9223372036854775808"),
    C("full-nan-int", lambda lib: (), lambda lib: lib.full((2,), float("nan"), dtype=lib.int32),
      RuntimeError, r"nan.*int32"),
    C("full-float32-overflow", lambda lib: (),
      lambda lib: lib.full((2,), 1e40, dtype=lib.float32), RuntimeError, r"1e\+40.*float32"),
    C("tensor-ragged", lambda lib: (), lambda lib: lib.tensor([[1, 2], [3]]), ValueError,
      r"(?i)sequence"),
    C("tensor-str", lambda lib: (), lambda lib: lib.tensor("abc"), TypeError, r"str"),
    C("tensor-uint8-overflow", lambda lib: (),
      lambda lib: lib.tensor([1, 300], dtype=lib.uint8), RuntimeError, r"300.*uint8"),
    C("tensor-int32-overflow", lambda lib: (),
      lambda lib: lib.tensor([1, 2**40], dtype=lib.int32), RuntimeError, r"1099511627776"),
    C("tensor-nan-int", lambda lib: (),
      lambda lib: lib.tensor([float("nan")], dtype=lib.int64), RuntimeError, r"nan.*int64"),
    C("tensor-int64-overflow", lambda lib: (), lambda lib: lib.tensor([2**63]), ValueError,
      r"9223372036854775808"),
    C("tensor-dtype-str", lambda lib: (), lambda lib: lib.zeros(3, dtype="float32"), TypeError,
      r"dtype.*str"),
    C("empty-negative", lambda lib: (), lambda lib: lib.empty(-1, 2), RuntimeError, r"-1"),
    C("zeros-negative", lambda lib: (), lambda lib: lib.zeros((2, -3)), RuntimeError, r"-3"),
    C("zeros-too-large", lambda lib: (), lambda lib: lib.zeros(2**40, 2**40), RuntimeError,
      r"(?i)overflow"),
    C("eye-negative", lambda lib: (), lambda lib: lib.eye(-1), RuntimeError, r"-1"),
    C("linspace-negative-steps", lambda lib: (), lambda lib: lib.linspace(0, 1, -1),
      RuntimeError, r"-1"),
    C("linspace-float-steps", lambda lib: (), lambda lib: lib.linspace(0, 1, 2.5), TypeError,
      r"float"),
    C("from_numpy-object", lambda lib: (), lambda lib: lib.from_numpy(np.array([None, 1])),
      TypeError, r"object"),
    C("randint-empty-range", lambda lib: (), lambda lib: lib.randint(5, 5, (3,)),
      RuntimeError, r"from=5 >= to=5"),
    C("randint-uint8-high", lambda lib: (),
      lambda lib: lib.randint(0, 300, (3,), dtype=lib.uint8), RuntimeError, r"299.*uint8"),
    C("randint-uint8-low", lambda lib: (),
      lambda lib: lib.randint(-1, 3, (3,), dtype=lib.uint8), RuntimeError, r"-1.*uint8"),
    C("randint-int64-overflow", lambda lib: (), lambda lib: lib.randint(0, 2**63, (3,)),
      ValueError, r"9223372036854775808"),
    C("rand-int-dtype", lambda lib: (), lambda lib: lib.rand(3, dtype=lib.int64),
      NotImplementedError, r"int64"),
    C("randn-int-dtype", lambda lib: (), lambda lib: lib.randn(3, dtype=lib.int32),
      NotImplementedError, r"int32"),
    C("uniform_-int", lambda lib: (_t(lib, 3, dtype=lib.int64),), lambda lib, a: a.uniform_(),
      NotImplementedError, r"int64"),
    C("manual_seed-overflow", lambda lib: (), lambda lib: lib.manual_seed(2**70), ValueError,
      r"1180591620717411303424"),
    C("set_default_dtype-int", lambda lib: (), lambda lib: lib.set_default_dtype(lib.int64),
      TypeError, r"int64"),
    # -- devices and device capabilities --------------------------------------------------------
    C("device-unknown", lambda lib: (), lambda lib: lib.device("tpu"), RuntimeError, r"tpu"),
    C("device-opencl-99", lambda lib: (), lambda lib: lib.device("opencl:99"), RuntimeError,
      r"opencl:99.*Devices found", torch=False),
    C("device-opencl-no-number", lambda lib: (), lambda lib: lib.device("opencl"),
      RuntimeError, r"'opencl'.*opencl:N", torch=False),
    C("device-cpu-1", lambda lib: (), lambda lib: lib.device("cpu:1"), RuntimeError,
      r"cpu:1", torch=False),
    C("to-unknown-device", lambda lib: (_t(lib, 3),), lambda lib, a: a.to("tpu"), RuntimeError,
      r"tpu"),
    C("float16-zeros", lambda lib: (), lambda lib: lib.zeros(2, dtype=lib.float16), TypeError,
      _FP16, torch=False, needs=_needs_no_fp16),
    C("float16-half", lambda lib: (_t(lib, 3),), lambda lib, a: a.half(), TypeError, _FP16,
      torch=False, needs=_needs_no_fp16),
    C("float16-tensor", lambda lib: (), lambda lib: lib.tensor([1.0], dtype=lib.float16),
      TypeError, _FP16, torch=False, needs=_needs_no_fp16),
    C("float64-ones", lambda lib: (), lambda lib: lib.ones(2, dtype=lib.float64), TypeError,
      r"float64.*cl_khr_fp64", torch=False, needs=_needs_no_fp64),
    C("mixed-devices-add", lambda lib: _on_two_devices(lib, (3,), (3,)),
      lambda lib, a, b: a + b, RuntimeError, _MIXED, torch=False, needs=_needs_second_device),
    C("mixed-devices-add_", lambda lib: _on_two_devices(lib, (3,), (3,)),
      lambda lib, a, b: a.add_(b), RuntimeError, _MIXED, torch=False,
      needs=_needs_second_device),
    C("mixed-devices-matmul", lambda lib: _on_two_devices(lib, (2, 2), (2, 2)),
      lambda lib, a, b: a @ b, RuntimeError, _MIXED, torch=False, needs=_needs_second_device),
    C("mixed-devices-cat", lambda lib: _on_two_devices(lib, (2,), (2,)),
      lambda lib, a, b: lib.cat([a, b]), RuntimeError, _MIXED, torch=False,
      needs=_needs_second_device),
    C("mixed-devices-gather", lambda lib: _on_two_devices(lib, (2, 3), (2, 1), dtype=lib.int64),
      lambda lib, a, i: lib.gather(a, 1, i), RuntimeError, _MIXED, torch=False,
      needs=_needs_second_device),
    C("mixed-devices-scatter_", lambda lib: _on_two_devices(lib, (2, 3), (2, 1),
                                                             dtype=lib.int64),
      lambda lib, a, i: a.scatter_(1, i, 7), RuntimeError, _MIXED, torch=False,
      needs=_needs_second_device),
    # -- autograd misuse ------------------------------------------------------------------------
    C("backward-non-scalar", lambda lib: (_t(lib, 3, grad=True),),
      lambda lib, a: (a * 2).backward(), RuntimeError, r"(?i)scalar outputs"),
    C("backward-twice", _backward_done, lambda lib, a, y, g: y.backward(), RuntimeError,
      r"(?i)second time.*retain_graph"),
    C("backward-no-grad", lambda lib: (_t(lib, 3),), lambda lib, a: a.sum().backward(),
      RuntimeError, r"(?i)does not require grad"),
    C("backward-under-no_grad", lambda lib: (_t(lib, 3, grad=True),),
      lambda lib, a: _no_grad_sum(lib, a).backward(), RuntimeError,
      r"(?i)does not require grad"),
    C("backward-gradient-shape", lambda lib: (_t(lib, 2, grad=True), lib.ones(3)),
      lambda lib, a, g: (a * 2).backward(g), RuntimeError, r"\[3\].*\[2\]"),
    C("grad-of-non-requiring", lambda lib: (_t(lib, 3, grad=True), _t(lib, 3)),
      lambda lib, a, b: lib.autograd.grad((a * b).sum(), [b]), RuntimeError,
      r"(?i)does not require grad"),
    C("grad-non-scalar", lambda lib: (_t(lib, 2, grad=True),),
      lambda lib, a: lib.autograd.grad(a * 2, [a]), RuntimeError, r"(?i)scalar outputs"),
    C("inplace-on-leaf", lambda lib: (_t(lib, 3, grad=True),), lambda lib, a: a.add_(1),
      RuntimeError, r"(?i)leaf Variable"),
    C("inplace-on-leaf-view", lambda lib: (_t(lib, 3, grad=True),),
      lambda lib, a: a[:2].mul_(2), RuntimeError, r"(?i)view of a leaf Variable"),
    C("saved-tensor-modified", _saved_then_modified, lambda lib, a, c: c.sum().backward(),
      RuntimeError, r"(?i)modified by an inplace operation"),
    C("requires_grad-int", lambda lib: (_t(lib, 3, dtype=lib.int64),),
      lambda lib, a: a.requires_grad_(), RuntimeError, r"(?i)floating point"),
    C("tensor-int-requires_grad", lambda lib: (),
      lambda lib: lib.tensor([1, 2], requires_grad=True), RuntimeError, r"(?i)floating point"),
    C("requires_grad-off-non-leaf", lambda lib: (_t(lib, 2, grad=True),),
      lambda lib, a: (a * 2).requires_grad_(False), RuntimeError, r"(?i)leaf variables"),
    C("grad-assign-shape", lambda lib: (_t(lib, 3, grad=True), lib.ones(4)),
      lambda lib, a, g: _assign_grad(a, g), RuntimeError, r"(?i)size|shape"),
    # -- host reads -----------------------------------------------------------------------------
    C("item-multi", lambda lib: (_rows(lib),), lambda lib, a: a.item(), RuntimeError,
      r"6 elements"),
    C("item-empty", lambda lib: (lib.zeros(0),), lambda lib, a: a.item(), RuntimeError,
      r"0 elements"),
    C("numpy-requires-grad", lambda lib: (_t(lib, 3, grad=True),), lambda lib, a: a.numpy(),
      RuntimeError, r"(?i)detach"),
    C("bool-multi", lambda lib: (_t(lib, 3),), lambda lib, a: bool(a), RuntimeError,
      r"(?i)ambiguous"),
    C("bool-empty", lambda lib: (lib.zeros(0),), lambda lib, a: bool(a), RuntimeError,
      r"(?i)(no|0) values"),
    C("float-multi", lambda lib: (_t(lib, 3),), lambda lib, a: float(a), ValueError,
      r"one element"),
    C("int-multi", lambda lib: (_t(lib, 3),), lambda lib, a: int(a), ValueError,
      r"one element"),
    C("index-float-0d", lambda lib: (lib.tensor(1.5),), lambda lib, a: range(a), TypeError,
      r"integer tensors"),
    C("len-0d", lambda lib: (lib.tensor(1.0),), lambda lib, a: len(a), TypeError, r"0-d"),
    C("iter-0d", lambda lib: (lib.tensor(1.0),), lambda lib, a: iter(a), TypeError, r"0-d"),
    # -- integer arithmetic ---------------------------------------------------------------------
    C("int-floor_divide-zero", lambda lib: (_idx(lib, [4, 5]), _idx(lib, [2, 0])),
      lambda lib, a, b: a // b, RuntimeError, r"ZeroDivisionError"),
    C("int-floor_divide_-zero", lambda lib: (_idx(lib, [4, 5]), _idx(lib, [2, 0])),
      lambda lib, a, b: a.floor_divide_(b), RuntimeError, r"ZeroDivisionError"),
    C("int-remainder-zero", lambda lib: (_idx(lib, [4, 5]), _idx(lib, [2, 0])),
      lambda lib, a, b: lib.remainder(a, b), RuntimeError, r"ZeroDivisionError"),
    C("int-fmod-zero-scalar", lambda lib: (_idx(lib, [4, 5]),), lambda lib, a: lib.fmod(a, 0),
      RuntimeError, r"ZeroDivisionError"),
    C("int-div-trunc-zero", lambda lib: (_idx(lib, [4, 5]), _idx(lib, [1, 0])),
      lambda lib, a, b: a.div(b, rounding_mode="trunc"), RuntimeError, r"ZeroDivisionError"),
    C("int-pow-negative", lambda lib: (_idx(lib, [2, 3]),), lambda lib, a: a ** -1,
      RuntimeError, r"(?i)negative integer powers"),
    # -- sorting --------------------------------------------------------------------------------
    C("topk-k-too-large", lambda lib: (_t(lib, 3),), lambda lib, a: lib.topk(a, 4),
      RuntimeError, r"(?i)k out of range"),
    C("topk-k-negative", lambda lib: (_t(lib, 3),), lambda lib, a: lib.topk(a, -1),
      RuntimeError, r"(?i)k out of range"),
    C("topk-dim", lambda lib: (_rows(lib),), lambda lib, a: lib.topk(a, 2, dim=2), IndexError,
      r"got 2"),
    C("sort-dim", lambda lib: (_rows(lib),), lambda lib, a: lib.sort(a, dim=2), IndexError,
      r"got 2"),
    C("argsort-dim", lambda lib: (_rows(lib),), lambda lib, a: lib.argsort(a, dim=-3),
      IndexError, r"got -3"),
]


def _no_grad_sum(lib, a):
    with lib.no_grad():
        return (a * 2).sum()


def _params(cases, libs=("torch", "clgrad")):
    out = []
    for case in cases:
        for lib in libs:
            if lib == "torch" and not case.torch:
                continue
            marks = []
            if lib == "clgrad" and case.xfail:
                marks.append(pytest.mark.xfail(strict=True, reason=case.xfail))
            out.append(pytest.param(case, lib, id=f"{case.id}-{lib}", marks=marks))
    return out


def _tensors(inputs):
    kinds = (clgrad.Tensor,) + ((torch.Tensor,) if torch is not None else ())
    return [(i, x) for i, x in enumerate(inputs) if isinstance(x, kinds)]


def test_catalogue_is_large_and_ids_are_distinct():
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids), sorted(i for i in ids if ids.count(i) > 1)
    assert len(ids) >= 70


@pytest.mark.parametrize("case, lib_name", _params(CASES))
def test_bad_input(case, lib_name):
    reason = case.needs() if case.needs else None
    if reason:
        pytest.skip(reason)
    if lib_name == "torch" and torch is None:
        pytest.skip("PyTorch is the reference for the exception type")
    lib = torch if lib_name == "torch" else clgrad
    inputs = case.build(lib)
    before = [(i, x.detach().numpy().copy()) for i, x in _tensors(inputs)]
    with pytest.raises(Exception) as info:
        case.call(lib, *inputs)
    # The type itself, or a library's own subclass of it (DeviceUnavailableError is a
    # RuntimeError); a builtin subclass such as NotImplementedError is a different type.
    own = info.type.__module__.split(".")[0] in ("clgrad", "torch")
    assert info.type is case.exc or (own and issubclass(info.type, case.exc)), (
        f"{info.type.__name__}: {info.value}")
    if lib is torch:
        return          # PyTorch's words and side effects are not the specification here
    message = str(info.value)
    assert re.search(case.match, message, re.DOTALL), f"{message!r} does not name {case.match!r}"
    for i, values in before:
        after = inputs[i].detach().numpy()
        assert after.shape == values.shape, f"input {i} changed shape"
        np.testing.assert_array_equal(after, values, err_msg=f"input {i} changed")


# -- behaviour PyTorch defines: same values, no exception -------------------------------------
class Defined(NamedTuple):
    id: str
    call: Callable          # call(lib) -> a tensor


def _f(lib, *values, dtype=None):
    return lib.tensor(values, dtype=dtype or lib.float32)


DEFINED = [
    Defined("clamp-min-above-max", lambda lib: _f(lib, -1, 0.5, 3).clamp(2, 1)),
    Defined("clamp-nan-bound", lambda lib: _f(lib, 1, 2).clamp(min=float("nan"))),
    Defined("log-negative-is-nan", lambda lib: lib.log(_f(lib, -1, 0, 1))),
    Defined("sqrt-negative-is-nan", lambda lib: lib.sqrt(_f(lib, -4, 4))),
    Defined("float-div-zero", lambda lib: _f(lib, 1, -1, 0) / 0),
    Defined("int-true-div-zero", lambda lib: _f(lib, 1, -1, 0, dtype=lib.int64) /
            _f(lib, 0, 0, 0, dtype=lib.int64)),
    Defined("float-floor_divide-zero", lambda lib: _f(lib, 5, -5, 0) // _f(lib, 0, 0, 0)),
    Defined("float-remainder-zero", lambda lib: lib.remainder(_f(lib, 5, -5), 0.0)),
    Defined("float-fmod-zero", lambda lib: lib.fmod(_f(lib, 5, -5), 0.0)),
    Defined("pow-zero-negative", lambda lib: lib.pow(_f(lib, 0, 2), -1.0)),
    Defined("exp-overflow", lambda lib: lib.exp(_f(lib, 1000, -1000))),
    Defined("max-propagates-nan", lambda lib: _f(lib, 1, float("nan"), 3).max()),
    Defined("maximum-propagates-nan", lambda lib: lib.maximum(_f(lib, 1, float("nan")),
                                                              _f(lib, float("nan"), 1))),
    Defined("argmax-picks-nan", lambda lib: _f(lib, 1, float("nan"), 3).argmax()),
    Defined("sort-puts-nan-last", lambda lib: lib.sort(_f(lib, 3, float("nan"), 1))[0]),
    Defined("sum-of-empty", lambda lib: lib.zeros(0).sum()),
    Defined("prod-of-empty", lambda lib: lib.zeros(0).prod()),
    Defined("mean-of-empty-is-nan", lambda lib: lib.zeros(0).mean()),
    Defined("softmax-all-minus-inf", lambda lib: lib.softmax(_f(lib, -float("inf"), -float("inf")),
                                                             0)),
    Defined("int8-add-wraps", lambda lib: _f(lib, 127, -128, dtype=lib.int8) +
            _f(lib, 1, -1, dtype=lib.int8)),
    Defined("arange-int8-wraps", lambda lib: lib.arange(120, 140, dtype=lib.int8)),
    Defined("tensor-negative-uint8-wraps", lambda lib: lib.tensor([1, -1], dtype=lib.uint8)),
    Defined("int-pow-negative-tensor", lambda lib: lib.pow(_f(lib, 2, 1, -1, dtype=lib.int64),
                                                           _f(lib, -2, -2, -3, dtype=lib.int64))),
    Defined("atan2-zero-zero", lambda lib: lib.atan2(_f(lib, 0, -0.0), _f(lib, 0, 0))),
]


@pytest.mark.skipif(torch is None, reason="PyTorch defines the expected values")
@pytest.mark.parametrize("case", DEFINED, ids=[d.id for d in DEFINED])
def test_defined_behaviour_matches_torch(case):
    got, want = case.call(clgrad), case.call(torch)
    assert got.dtype.name == str(want.dtype).replace("torch.", "")
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


# -- CLGRAD_DEVICE: the default device is chosen once per process ------------------------------
@pytest.mark.parametrize("value, match", [
    ("tpu", r"CLGRAD_DEVICE='tpu'.*Unknown device 'tpu'"),
    ("opencl:99", r"CLGRAD_DEVICE='opencl:99'.*not found"),
    ("opencl:x", r"CLGRAD_DEVICE='opencl:x'.*Unknown device"),
    ("cuda:7", r"CLGRAD_DEVICE='cuda:7'.*not found"),
])
def test_bad_clgrad_device_value_lists_the_devices(value, match):
    env = dict(os.environ, CLGRAD_DEVICE=value)
    code = "import clgrad; clgrad.zeros(1)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode != 0
    assert "RuntimeError" in done.stderr or "DeviceUnavailableError" in done.stderr
    assert re.search(match, done.stderr, re.DOTALL), done.stderr[-2000:]
    found = [f"opencl:{d.ordinal}" for d in clgrad.runtime.all_devices()]
    assert "Devices found" in done.stderr and all(name in done.stderr for name in found)
