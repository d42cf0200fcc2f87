"""The Oclgrind coverage subset: every kernel family run on the Oclgrind simulator.

Each case runs an op on Oclgrind (odd sizes, 0-d, empty and non-contiguous operands) and
compares it with NumPy; any report Oclgrind writes (invalid memory access, uninitialised
value, data race, work-group divergence, OpenCL API misuse) fails the case. Every case runs
twice, with the GPU launch shapes (work-groups of 256, one element per work-item) and with
the CPU ones (groups of 16, 32 elements per work-item, the CPU reduction modes and matmul
tiles), since both run in the field.

Deselected from the main suite (pyproject addopts `-m "not oclgrind"`). Run it with Oclgrind
visible as an OpenCL platform, e.g. as .ci/run does:

    OCL_ICD_VENDORS=/path/to/oclgrind.icd CLGRAD_DEVICE=oclgrind \
        python -m pytest -m oclgrind tests/oclgrind

(an .icd file is one line: the path of liboclgrind-rt-icd.so). Oclgrind reads its options
from the environment when the OpenCL platforms are first listed; this conftest sets them
(unless already set) when the run selects the `oclgrind` marker.
"""
import importlib
import os
import tempfile

import pyopencl as cl
import pytest

import clgrad
from clgrad.runtime.memory import Allocator
from clgrad.tensor import reduction

from .oclgrind_helpers import OclgrindLog

device_module = importlib.import_module("clgrad.runtime.device")

# Oclgrind's checks. Invalid memory accesses and work-group divergence are always checked.
# The uninitialised-value check needs -cl-opt-disable (the optimiser emits LLVM `freeze`,
# which that check aborts the kernel on) and the exact, never reused buffers of
# `FreshBuffers` below.
CHECKS = {
    "OCLGRIND_CHECK_API": "1",
    "OCLGRIND_DATA_RACES": "1",
    "OCLGRIND_UNINITIALIZED": "1",
    "OCLGRIND_BUILD_OPTIONS": "-cl-opt-disable",
    "OCLGRIND_MAX_ERRORS": "20",
}
STYLES = {"gpu": ("gpu", 256, 1), "cpu": ("cpu", 16, 32)}   # kind, work-group, chunk
_state = {"configured": False, "keys": set(), "names": set()}


class FreshBuffers(Allocator):
    """Every storage gets a new buffer of exactly its size, kept until the session ends.

    Oclgrind 21.10's uninitialised-value plugin (src/plugins/Uninitialized.cpp) keeps one
    shadow block per buffer number and gets two things wrong that the caching pool runs into:
    - a host write (clEnqueueWriteBuffer, `hostMemoryStore`) replaces the buffer's shadow
      with a clean block the size of the write, so bytes past the write are treated as
      unwritten forever after, even once a kernel writes them (stores outside the shadow are
      dropped, loads outside it read as poisoned);
    - it has no `memoryDeallocated` hook, and Oclgrind reuses the numbers of released
      buffers, so a new buffer inherits the old one's shadow, size included.
    The pool hands out rounded-up blocks (216 and 220 bytes share a 223-byte block) and
    reuses them: a 6x9 float32 tensor written from the host left its block's shadow at 216
    bytes, and a later 55-float clone in that block had its last element reported as
    uninitialised. A plain pyopencl script on Oclgrind shows the same: write 216 of a
    buffer's 256 bytes from the host, fill all 64 floats in a kernel, copy them in another:
    floats 54-63 are reported. Exact, never released buffers keep every shadow the buffer's
    size (clgrad's only host write, Tensor._from_host, covers the whole storage) and new
    buffers start poisoned, so a kernel reading memory nobody wrote is still reported (a
    reused pool block would hide it), and overruns into the pool's rounding are reported as
    invalid accesses too. Oclgrind numbers at most 65535 buffers (16 of a global address's
    64 bits, src/core/Memory.cpp); the session's count is printed at the end.
    """

    def __init__(self, device):
        super().__init__(device)
        self.held = []

    def allocate(self, nbytes: int):
        buffer = cl.Buffer(self.device.context, cl.mem_flags.READ_WRITE, nbytes)
        self.held.append(buffer)
        return buffer


def pytest_configure(config):
    config.addinivalue_line("markers", "oclgrind: runs on the Oclgrind simulator")
    expr = config.option.markexpr or ""
    if "oclgrind" not in expr or "not oclgrind" in expr:
        return
    if device_module._devices is not None:      # platforms already listed: too late
        return
    for name, value in CHECKS.items():
        os.environ.setdefault(name, value)
    if "OCLGRIND_LOG" not in os.environ:
        fd, path = tempfile.mkstemp(prefix="clgrad-oclgrind-", suffix=".log")
        os.close(fd)
        os.environ["OCLGRIND_LOG"] = path
    _state["configured"] = True


@pytest.fixture(scope="session")
def ocl():
    """The Oclgrind device, made the default device for the session."""
    sims = [d for d in clgrad.runtime.all_devices() if d.is_simulator]
    if not sims:
        pytest.skip("Oclgrind is not visible as an OpenCL platform (install the oclgrind "
                    "package and point OCL_ICD_VENDORS at an .icd file naming "
                    "liboclgrind-rt-icd.so)")
    log = os.environ.get("OCLGRIND_LOG")
    checks = ("OCLGRIND_DATA_RACES", "OCLGRIND_UNINITIALIZED")
    missing = [k for k in checks if os.environ.get(k) != "1"]
    if not log or missing:
        pytest.fail("Oclgrind's checks are not configured: run `pytest -m oclgrind` (this "
                    "conftest then sets OCLGRIND_LOG and the checks before the platforms are "
                    f"listed) or set them yourself; missing: {missing or ['OCLGRIND_LOG']}")
    dev = clgrad.device("oclgrind")
    dev._allocator = FreshBuffers(dev)
    previous = clgrad.runtime.default_device() if device_module._default else None
    clgrad.runtime.set_default_device(dev)
    yield dev
    if previous is not None:
        clgrad.runtime.set_default_device(previous)


def _forget(dev):
    """Drop kernels and launch plans that depend on the launch style (not in their keys)."""
    for key, kernel in dev.kernels.items():
        _state["keys"].add((dev.kind, dev.work_group, dev.chunk, repr(key)))
        kernels = kernel if isinstance(kernel, tuple) else (kernel,)
        _state["names"].update(getattr(k, "function_name", "") for k in kernels)
    dev.kernels.clear()
    reduction._PLANS.clear()


@pytest.fixture(scope="session", params=list(STYLES))
def style(request, ocl):
    """The launch shapes of a GPU or of a CPU device, emulated on Oclgrind."""
    saved = ocl.kind, ocl.work_group, ocl.chunk
    _forget(ocl)
    ocl.kind, ocl.work_group, ocl.chunk = STYLES[request.param]
    yield request.param
    _forget(ocl)
    ocl.kind, ocl.work_group, ocl.chunk = saved


_API_ERROR = "Oclgrind - OpenCL runtime error detected"
# pyopencl probes device properties Oclgrind (OpenCL 1.2) does not have, e.g. NVIDIA's
# compute capability, and handles the error: not a clgrad problem.
_PROBE = ("Function: clGetDeviceInfo", "Error:    CL_INVALID_VALUE", "param_name")


def api_errors(stderr: str) -> list:
    """Oclgrind's API-check reports in `stderr`, less pyopencl's own capability probes."""
    blocks = [b.strip() for b in stderr.split(_API_ERROR)[1:]]
    return [b for b in blocks if not all(p in b for p in _PROBE)]


@pytest.fixture
def dev(ocl, style, capfd):
    """The Oclgrind device in the current launch style; fails the test on any report."""
    log = OclgrindLog(os.environ["OCLGRIND_LOG"])
    yield ocl
    ocl.synchronize()
    text = log.new().strip()
    errors = api_errors(capfd.readouterr().err)
    if errors:
        text += "\n" + "\n".join(f"{_API_ERROR}: {e}" for e in errors)
    if text.strip():
        pytest.fail(f"Oclgrind reported ({style} launch shapes):\n{text.strip()[:6000]}",
                    pytrace=False)


def pytest_terminal_summary(terminalreporter):
    devices = device_module._devices or []
    for d in devices:
        if d.is_simulator and d._context is not None:
            _forget(d)
    if _state["keys"]:
        terminalreporter.write_line(
            f"Oclgrind: {len(_state['keys'])} kernel variants (cache keys x launch style), "
            f"{len(_state['names'] - {''})} distinct kernel names")
    for d in devices:
        if isinstance(d._allocator, FreshBuffers):
            held = d._allocator.held
            terminalreporter.write_line(
                f"Oclgrind: {len(held)} buffers, {sum(b.size for b in held)} bytes "
                f"(FreshBuffers; Oclgrind holds at most 65535)")
