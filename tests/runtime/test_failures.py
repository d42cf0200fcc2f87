"""Kernel build and launch failures: a clear error, nothing half-written, the process goes on.

Build failures are forced with a broken source; launch failures by swapping the device's
cached kernels for ones whose enqueue raises pyopencl.Error, as a driver refusing it would.
"""
import numpy as np
import pyopencl as cl
import pytest
from pyopencl import _cl

import clgrad
from clgrad.runtime import KernelBuildError, OutOfMemoryError, program


@pytest.fixture
def dev():
    return clgrad.runtime.default_device()


@pytest.fixture
def fresh_kernels(dev):
    """An empty kernel cache for the test (so ops build again); the old one afterwards."""
    saved = dict(dev.kernels)
    dev.kernels.clear()
    yield dev.kernels
    dev.kernels.clear()
    dev.kernels.update(saved)


def _still_works():
    assert (clgrad.arange(5.0) * 2 + 1).tolist() == [1.0, 3.0, 5.0, 7.0, 9.0]


# -- build failures -------------------------------------------------------------------------
def test_an_op_whose_generated_kernel_does_not_build_raises_with_log_and_source(
        dev, fresh_kernels, tmp_path, monkeypatch):
    monkeypatch.setenv("CLGRAD_CACHE_DIR", str(tmp_path))
    real = program.render
    monkeypatch.setattr(program, "render", lambda template, **params: real(
        template, **params).replace("{", "{ not_declared_anywhere = 1;", 1))
    with pytest.raises(KernelBuildError) as info:
        clgrad.arange(5.0) * 3
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "not_declared_anywhere" in message and "Build log:" in message
    saved = list((tmp_path / "failed").glob("*.cl"))
    assert len(saved) == 1 and str(saved[0]) in message
    assert "not_declared_anywhere" in saved[0].read_text()
    assert not fresh_kernels                          # nothing cached for the failed build
    monkeypatch.undo()
    _still_works()                                    # the failed build was not cached


def test_compile_kernel_caches_nothing_when_the_build_fails(dev, fresh_kernels, tmp_path,
                                                            monkeypatch):
    monkeypatch.setenv("CLGRAD_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(program, "render", lambda template, **params:
                        "__kernel void broken(__global float *x) { x[0] = nope; }")
    with pytest.raises(KernelBuildError, match=r"(?s)Building kernel broken.*saved to .*"
                                               r"broken-\w+\.cl.*line 1: .*nope"):
        program.compile_kernel(dev, ("test", "broken"), "elementwise.cl", "broken", [None])
    assert ("test", "broken") not in fresh_kernels


# -- launch failures ------------------------------------------------------------------------
def _refusal(code=cl.status_code.INVALID_KERNEL_ARGS):
    error = cl.MemoryError if code == cl.status_code.MEM_OBJECT_ALLOCATION_FAILURE else \
        cl.LogicError
    return error(_cl._ErrorRecord("clEnqueueNDRangeKernel", code, "simulated"))


class RefusedKernel:
    """Stands in for a built kernel; every enqueue fails as a driver refusing it would."""

    def __init__(self, kernel, code=cl.status_code.INVALID_KERNEL_ARGS):
        self.function_name = getattr(kernel, "function_name", "refused")
        self.code = code

    def __call__(self, *args, **kwargs):
        raise _refusal(self.code)


@pytest.fixture
def refused_launches(dev, monkeypatch):
    """Within `with refused_launches():` every kernel launch on `dev` fails."""
    from contextlib import contextmanager

    @contextmanager
    def refusing():
        saved = dict(dev.kernels)
        real = program.compile_kernel

        def compile_refused(device, key, *args, **params):
            device.kernels[key] = RefusedKernel(real(device, key, *args, **params))
            return device.kernels[key]
        for key, entry in saved.items():          # matmul's entries are (kernel, config)
            dev.kernels[key] = (RefusedKernel(entry[0]), *entry[1:]) \
                if isinstance(entry, tuple) else RefusedKernel(entry)
        monkeypatch.setattr(program, "compile_kernel", compile_refused)
        try:
            yield
        finally:
            monkeypatch.setattr(program, "compile_kernel", real)
            dev.kernels.clear()
            dev.kernels.update(saved)
    return refusing


def _x():
    return clgrad.arange(6.0)


# ops that launch through program.launch: the refusal becomes a RuntimeError naming the kernel
LAUNCHED = {
    "uniform_": lambda x, out: x.uniform_(),
    "setitem": lambda x, out: x.__setitem__(clgrad.tensor([1, 3]), 5.0),
    "index_put_": lambda x, out: x.index_put_((clgrad.tensor([1, 3]),), clgrad.tensor(7.0)),
    "cumsum_out": lambda x, out: clgrad.cumsum(x, 0, out=out),
    "sort": lambda x, out: clgrad.sort(x),
}
# ops that call their kernel directly on the hot path (tensor/elementwise.py, reduction.py,
# runtime/tuning.py): the pyopencl.Error escapes as it is
DIRECT = {
    "add_": lambda x, out: x.add_(1),
    "mul_out": lambda x, out: clgrad.mul(x, 2, out=out),
    "sum_out": lambda x, out: clgrad.sum(x.view(2, 3), 1, out=out[:2]),
    "matmul_out": lambda x, out: clgrad.matmul(x.view(2, 3), x.view(3, 2),
                                               out=out[:4].view(2, 2)),
}


@pytest.mark.parametrize("op", sorted(LAUNCHED))
def test_a_refused_launch_raises_runtime_error_and_leaves_targets_unchanged(
        dev, refused_launches, op):
    x, out = _x(), clgrad.full((6,), -1.0)
    with refused_launches(), pytest.raises(RuntimeError) as info:
        LAUNCHED[op](x, out)
    message = str(info.value)
    assert "Launching kernel" in message and "failed" in message and "simulated" in message
    assert "was not run" in message and str(dev) in message
    assert x.tolist() == list(np.arange(6.0)) and out.tolist() == [-1.0] * 6
    _still_works()


@pytest.mark.parametrize("op", sorted(DIRECT))
def test_a_refused_direct_launch_leaves_targets_unchanged(refused_launches, op):
    x, out = _x(), clgrad.full((6,), -1.0)
    with refused_launches(), pytest.raises((RuntimeError, cl.Error)):
        DIRECT[op](x, out)
    assert x.tolist() == list(np.arange(6.0)) and out.tolist() == [-1.0] * 6
    _still_works()


@pytest.mark.parametrize("op", sorted(DIRECT))
def test_a_refused_direct_launch_raises_runtime_error(refused_launches, op):
    x, out = _x(), clgrad.full((6,), -1.0)
    versions = (x._version, out._version)
    with refused_launches(), pytest.raises(RuntimeError, match="Launching kernel"):
        DIRECT[op](x, out)
    if op in ("add_", "mul_out"):            # nothing was written: autograd sees no change
        assert (x._version, out._version) == versions


def test_a_refused_launch_does_not_resize_out(refused_launches):
    x, out = _x(), clgrad.full((2,), -1.0)
    version = out._version
    with refused_launches(), pytest.raises(RuntimeError, match="Launching kernel"):
        clgrad.mul(x, 2, out=out)
    assert out.tolist() == [-1.0, -1.0] and out._version == version


def test_a_launch_refused_for_memory_is_out_of_memory(dev):
    kernel = RefusedKernel(None, cl.status_code.MEM_OBJECT_ALLOCATION_FAILURE)
    with pytest.raises(OutOfMemoryError, match="out of memory: Launching kernel refused"):
        program.launch(dev, kernel, 10)
    wg = dev.work_group
    with pytest.raises(RuntimeError, match=rf"global size \({(10 + wg - 1) // wg * wg},\) "
                                           rf"and work-group \({wg},\)"):
        program.launch(dev, RefusedKernel(None), 10)
    _still_works()
