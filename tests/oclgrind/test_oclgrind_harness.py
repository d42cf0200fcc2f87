"""The harness itself: Oclgrind's checks are live, and Oclgrind is chosen only by name."""
import os
import subprocess
import sys

import numpy as np
import pyopencl as cl
import pytest

import clgrad

from .conftest import FreshBuffers
from .oclgrind_helpers import OclgrindLog, close

pytestmark = pytest.mark.oclgrind


def test_checks_are_live(ocl):
    """An out-of-bounds store and an uninitialised read reach the log the harness reads."""
    log = OclgrindLog(os.environ["OCLGRIND_LOG"])
    src = """__kernel void bad(__global float *x, __global float *y) {
                 x[get_global_id(0) + 4] = y[get_global_id(0)]; }"""
    kernel = cl.Kernel(cl.Program(ocl.context, src).build(), "bad")
    x = cl.Buffer(ocl.context, cl.mem_flags.READ_WRITE, 16)
    y = cl.Buffer(ocl.context, cl.mem_flags.READ_WRITE, 16)
    kernel(ocl.queue, (4,), (4,), x, y)
    ocl.queue.finish()
    text = log.new()
    assert "Invalid write" in text, text
    assert "Uninitialized" in text, text
    out = np.empty(4, np.float32)
    cl.enqueue_copy(ocl.queue, out, x)        # keep the harness's own log offset clean


def test_uninitialised_reads_through_clgrad(ocl):
    """Storages come from FreshBuffers: a clone of `empty` is reported, and a host-written
    block's shadow does not leak into a later tensor (the pool's false report, see
    FreshBuffers)."""
    assert isinstance(ocl.allocator, FreshBuffers)
    log = OclgrindLog(os.environ["OCLGRIND_LOG"])
    clgrad.empty(7, device=ocl).clone()
    ocl.synchronize()
    assert "Uninitialized value written" in log.new()
    x = clgrad.tensor(np.zeros((6, 9), np.float32), device=ocl)        # 216 bytes from host
    del x
    y = clgrad.tensor(np.arange(66, dtype=np.float32), device=ocl)
    c = y[:55].clone()                                                  # 220 bytes by kernel
    close(c[50:].clone(), np.arange(50, 55, dtype=np.float32))
    ocl.synchronize()
    assert log.new().strip() == ""


def test_never_the_default_unless_named(ocl):
    """With Oclgrind visible, no CLGRAD_DEVICE means the CPU device, never the simulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLGRAD_DEVICE",
                                                                     "OCLGRIND_"))}
    code = ("import clgrad\n"
            "try:\n d = clgrad.runtime.default_device(); print(d.is_simulator)\n"
            "except RuntimeError as e:\n print('none')")
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    assert run.stdout.strip() in ("False", "none"), run.stdout + run.stderr
