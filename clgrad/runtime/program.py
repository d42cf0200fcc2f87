"""Kernel pipeline: render a Mako template -> build for a device -> cache -> launch.

The hot path is ``device.kernels.get(key)`` and a launch. On a miss, `compile_kernel` renders
the template (``strict_undefined``: a missing parameter is an error, not an empty string),
builds it and stores the kernel under the caller's key. Built binaries are also cached on
disk by pyopencl (keyed by source, options, device and driver version), so a new process
skips the compiler for kernels it has seen before.
"""
from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import pyopencl as cl
from mako.lookup import TemplateLookup

from . import config
from .errors import KernelBuildError, OutOfMemoryError

KERNEL_DIR = Path(__file__).parent / "kernels"
_lookup = TemplateLookup(directories=[str(KERNEL_DIR)], strict_undefined=True)


def render(template: str, **params) -> str:
    """The OpenCL C source of `template` (a file in runtime/kernels) for `params`."""
    return _lookup.get_template(template).render(**params)


def build(device, source: str, name: str) -> cl.Program:
    """Build `source` for `device`; a failure raises KernelBuildError with the build log."""
    options = list(device.build_options)
    if config.debug():
        print(f"clgrad: building {name} for {device} {options}", file=sys.stderr)
    if device.is_simulator:
        return _build_uncached(device, source, name, options)
    try:
        return cl.Program(device.context, source).build(options=options)
    except cl.Error as exc:
        raise _build_error(device, source, name, options, str(exc)) from None


def _build_uncached(device, source: str, name: str, options: list) -> cl.Program:
    """Build for a simulator without pyopencl's binary cache.

    Oclgrind checks the program it compiled itself: a build that goes through pyopencl's
    cache (which reads the binary back) makes its uninitialised-value check report stores of
    fully written buffers, and a cached binary would ignore OCLGRIND_BUILD_OPTIONS.
    """
    raw = cl._cl._Program(device.context, source)
    try:
        raw.build(" ".join(options).encode())
    except cl.Error as exc:
        try:
            log = raw.get_build_info(device.cl_device, cl.program_build_info.LOG)
        except cl.Error:
            log = ""
        raise _build_error(device, source, name, options, f"{exc}\n{log}") from None
    program = cl.Program(raw)
    program._source = source      # what pyopencl looks up when a kernel is created
    return program


def _build_error(device, source: str, name: str, options: list, log: str) -> KernelBuildError:
    digest = hashlib.sha1(source.encode()).hexdigest()[:12]
    path = config.cache_dir() / "failed" / f"{name}-{digest}.cl"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
        saved = f"generated source saved to {path}"
    except OSError:
        saved = "generated source could not be saved"
    lines = source.splitlines()
    shown = []
    for number in sorted({int(m) for m in re.findall(r"\.cl:(\d+):\d+", log)}):
        if 0 < number <= len(lines):
            shown.append(f"  line {number}: {lines[number - 1].strip()}")
    where = "\n".join(shown) or "  (no line number in the log)"
    return KernelBuildError(
        f"Building kernel {name} for {device} ({device.name}) failed with options {options}; "
        f"{saved}.\nOffending generated line(s):\n{where}\nBuild log:\n{log.strip()}")


def compile_kernel(device, key, template: str, name: str, scalar_dtypes: list, **params):
    """Render, build and cache kernel `name` of `template` under `key` in `device.kernels`.

    `scalar_dtypes` is pyopencl's per-argument list (None for a buffer, a NumPy dtype for a
    scalar); setting it up front lets a launch pack plain Python numbers quickly.
    """
    source = render(template, name=name, **params)
    kernel = getattr(build(device, source, name), name)
    kernel.set_scalar_arg_dtypes(scalar_dtypes)
    device.kernels[key] = kernel
    return kernel


def launch(device, kernel, n: int, *args) -> None:
    """Run `kernel` over `n` work-items (rounded up to the device's work-group size).

    Kernels guard against the padding work-items themselves (index >= their size argument).
    A launch the driver refuses raises `launch_error`'s RuntimeError.
    """
    wg = device.work_group
    size = (n + wg - 1) // wg * wg
    try:
        kernel(device.queue, (size,), (wg,), *args)
    except cl.Error as exc:
        raise launch_error(device, kernel, (size,), (wg,), exc) from exc


def launch_error(device, kernel, global_size, local_size, exc: cl.Error) -> RuntimeError:
    """The error for a kernel the driver refused to enqueue (pyopencl.Error `exc`).

    Ops that call a kernel directly on their hot path raise this from their
    ``except pyopencl.Error`` clause (free when nothing fails). A driver that allocates
    buffers lazily reports running out of memory here, so that case is OutOfMemoryError.
    Only the refused kernel is not enqueued: earlier kernels of a multi-kernel op have run.
    """
    name = getattr(kernel, "function_name", None) or repr(kernel)
    what = (f"Launching kernel {name} on {device} ({device.name}) with global size "
            f"{tuple(global_size)} and work-group {tuple(local_size)} failed: {exc}")
    if getattr(exc, "code", None) == cl.status_code.MEM_OBJECT_ALLOCATION_FAILURE:
        return OutOfMemoryError(f"{device}: out of memory: {what}. The driver allocates "
                                "buffers when first used: free tensors, or cap clgrad below "
                                "what the device really has (clgrad.runtime.set_memory_limit).")
    return RuntimeError(f"{what}. The kernel was not run.")

