"""OpenCL device discovery over all platforms, selection, and capabilities.

Nothing here runs at import time: the platforms are enumerated on the first call that needs
them. Device names seen by users follow PyTorch's: ``cpu`` is the first working OpenCL CPU
device, ``cuda:k`` (alias ``gpu:k``) the k-th GPU, and ``opencl:N`` the N-th device over all
platforms in a stable order (platform order, then device order).
"""
from __future__ import annotations

import pyopencl as cl

from . import config
from .errors import DeviceUnavailableError

SIMULATOR_PLATFORMS = ("oclgrind",)
_PROBE_SOURCE = "__kernel void clgrad_probe(__global int *x) { x[get_global_id(0)] += 1; }"


class Device:
    """One OpenCL device, with its context, in-order queue, allocator and kernel cache."""

    __slots__ = (
        "_allocator",
        "_context",
        "_probe",
        "_queue",
        "build_options",
        "chunk",
        "cl_device",
        "compute_units",
        "driver_version",
        "fp16",
        "fp64",
        "global_mem_size",
        "index",
        "is_simulator",
        "kernels",
        "kind",
        "local_mem_size",
        "max_work_group_size",
        "name",
        "ordinal",
        "platform_name",
        "search_text",
        "type",
        "work_group",
    )

    def __init__(self, ordinal: int, cl_device: cl.Device, platform: cl.Platform):
        self.ordinal = ordinal
        self.cl_device = cl_device
        self.platform_name = platform.name.strip()
        self.name = cl_device.name.strip()
        # What a name substring (CLGRAD_DEVICE=pocl, =nvidia) is matched against.
        self.search_text = (f"{self.platform_name} : {self.name} : {platform.vendor} : "
                            f"{platform.version} : {cl_device.vendor}").lower()
        self.is_simulator = any(s in self.platform_name.lower() for s in SIMULATOR_PLATFORMS)
        if cl_device.type & cl.device_type.GPU:
            self.kind = "gpu"
        elif cl_device.type & cl.device_type.CPU:
            self.kind = "cpu"
        else:
            self.kind = "accelerator"
        self.type = "opencl"        # set to cpu/cuda by _assign_names
        self.index = ordinal
        extensions = cl_device.extensions.split()
        self.fp64 = "cl_khr_fp64" in extensions
        self.fp16 = "cl_khr_fp16" in extensions
        self.max_work_group_size = cl_device.max_work_group_size
        self.compute_units = cl_device.max_compute_units
        self.local_mem_size = cl_device.local_mem_size
        self.global_mem_size = cl_device.global_mem_size
        self.driver_version = cl_device.driver_version.strip()
        # Launch shape per device type (DESIGN.md point 5). GPUs: one element per work-item
        # in groups of 256. CPUs (pocl): each work-item walks a contiguous chunk of 32
        # elements, in groups of 16: measured 49 GB/s on a 16M-element multiply against
        # 34 GB/s for one element per work-item in groups of 256.
        cpu = self.kind == "cpu"
        self.work_group = min(16 if cpu else 256, self.max_work_group_size)
        self.chunk = 32 if cpu else 1
        options = []
        if cl_device.single_fp_config & cl.device_fp_config.CORRECTLY_ROUNDED_DIVIDE_SQRT:
            options.append("-cl-fp32-correctly-rounded-divide-sqrt")
        self.build_options = tuple(options)
        self._context = self._queue = self._allocator = None
        self.kernels: dict = {}
        self._probe: str | None | bool = False     # False: not probed; None: works; str: why not

    # -- lazily created OpenCL objects -------------------------------------------------
    @property
    def context(self) -> cl.Context:
        if self._context is None:
            self._context = cl.Context([self.cl_device])
        return self._context

    @property
    def queue(self) -> cl.CommandQueue:
        if self._queue is None:
            self._queue = cl.CommandQueue(self.context)
        return self._queue

    @property
    def allocator(self):
        if self._allocator is None:
            from .memory import Allocator
            self._allocator = Allocator(self)
        return self._allocator

    def synchronize(self) -> None:
        """Wait until every operation queued on this device has finished."""
        if self._queue is not None:
            self._queue.finish()

    # -- capabilities ----------------------------------------------------------------------
    def problem(self) -> str | None:
        """Why this device cannot run kernels (its compiler fails on a trivial kernel), or None.

        pocl 3.0, as bundled in pyopencl's wheels, cannot compile on CPUs newer than its
        LLVM 14 knows (e.g. AMD Zen 5: "unknown target CPU 'generic'"); such a device is
        skipped when choosing a default, and this says why.
        """
        if self._probe is False:
            try:
                cl.Program(self.context, _PROBE_SOURCE).build()
                self._probe = None
            except cl.Error as exc:
                log = str(exc).strip().splitlines()
                detail = next((ln for ln in log if "error" in ln.lower() and ":" in ln), log[-1])
                self._probe = f"its OpenCL compiler fails on a trivial kernel ({detail.strip()})"
        return self._probe

    def require_extension(self, extension: str, dtype_name: str) -> None:
        """Raise TypeError when `dtype_name` needs `extension` and this device lacks it."""
        has = {"cl_khr_fp64": self.fp64, "cl_khr_fp16": self.fp16}[extension]
        if not has:
            raise TypeError(
                f"{dtype_name} is not supported on device {self} ({self.name}): "
                f"it lacks the OpenCL extension {extension}")

    def describe(self) -> str:
        """One line of capabilities, for `python -m clgrad`."""
        return (f"{self.kind}, {self.global_mem_size / 2**30:.1f} GiB, "
                f"max work-group {self.max_work_group_size}, local mem "
                f"{self.local_mem_size // 1024} KiB, fp64 {'yes' if self.fp64 else 'no'}, "
                f"fp16 {'yes' if self.fp16 else 'no'}, driver {self.driver_version}")

    # -- identity ------------------------------------------------------------------------
    def __str__(self) -> str:
        _settle_cpu_name(self)
        if self.type == "cpu":
            return "cpu"
        if self.type == "cuda":
            return f"cuda:{self.index}"
        return f"opencl:{self.ordinal}"

    def __repr__(self) -> str:
        _settle_cpu_name(self)
        if self.type == "cpu":
            return "device(type='cpu')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False
        return isinstance(other, Device) and other.ordinal == self.ordinal

    def __hash__(self) -> int:
        return hash(("clgrad.device", self.ordinal))

    def __reduce__(self):
        return (device, (str(self),))


_devices: list[Device] | None = None
_cpu: Device | None = None
_default: Device | None = None


def all_devices() -> list[Device]:
    """Every OpenCL device over all platforms, in a stable order (the N of ``opencl:N``)."""
    global _devices
    if _devices is None:
        try:
            platforms = cl.get_platforms()
        except cl.Error:
            platforms = []
        found = []
        for platform in platforms:
            try:
                cl_devices = platform.get_devices()
            except cl.Error:
                continue
            for cl_device in cl_devices:
                found.append(Device(len(found), cl_device, platform))
        _devices = found
        _assign_names(found)
    return _devices


def _assign_names(devices: list[Device]) -> None:
    gpus = [d for d in devices if d.kind == "gpu" and not d.is_simulator]
    for i, dev in enumerate(gpus):
        dev.type, dev.index = "cuda", i


def _no_platform_error() -> DeviceUnavailableError:
    return DeviceUnavailableError(
        "No OpenCL platform found. Install an OpenCL driver: the pocl CPU device comes with "
        "`pip install 'clgrad[pocl]'` (or your distribution's pocl package, e.g. "
        "`apt-get install pocl-opencl-icd`).")


def device_table() -> str:
    """The devices found, one per line, for error messages."""
    lines = []
    for d in all_devices():
        why = d._probe if isinstance(d._probe, str) else None
        note = f" [unusable: {why}]" if why else (" [simulator]" if d.is_simulator else "")
        lines.append(f"  opencl:{d.ordinal}  {d.platform_name}:{d.name} ({d.kind}){note}")
    return "\n".join(lines) or "  (none)"


def cpu_device() -> Device:
    """The ``cpu`` device: the first non-simulator OpenCL CPU device whose compiler works."""
    global _cpu
    if _cpu is None:
        devices = all_devices()
        if not devices:
            raise _no_platform_error()
        candidates = [d for d in devices if d.kind == "cpu" and not d.is_simulator]
        working = [d for d in candidates if d.problem() is None]
        if not working:
            reason = ("no OpenCL CPU device was found" if not candidates else
                      "no OpenCL CPU device can compile kernels")
            raise DeviceUnavailableError(
                f"The 'cpu' device is unavailable: {reason}. Devices found:\n{device_table()}\n"
                "Install a working pocl: `pip install 'clgrad[pocl]'`, or on CPUs newer than "
                "pyopencl's bundled pocl knows, your distribution's pocl "
                "(e.g. `apt-get install pocl-opencl-icd`).")
        _cpu = working[0]
        _cpu.type, _cpu.index = "cpu", 0
    return _cpu


def _settle_cpu_name(dev: Device) -> None:
    """Before naming a CPU device, decide which device is 'cpu' (so names never change)."""
    if dev.kind == "cpu" and _cpu is None and not dev.is_simulator:
        try:
            cpu_device()
        except RuntimeError:
            pass


def _gpu(index: int, spec: str) -> Device:
    gpus = [d for d in all_devices() if d.type == "cuda"]
    if index >= len(gpus):
        raise DeviceUnavailableError(
            f"Device '{spec}' not found: {len(gpus)} OpenCL GPU device(s) available. "
            f"Devices found:\n{device_table()}")
    return gpus[index]


def device(spec, index: int | None = None) -> Device:
    """Resolve a device string ('cpu', 'cuda', 'gpu:1', 'opencl:2', a name substring)."""
    if isinstance(spec, Device):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"device() expects a string or a device, got {type(spec).__name__}")
    text = spec.strip().lower()
    if index is not None:
        text = f"{text}:{index}"
    kind, _, number = text.partition(":")
    if number and not number.isdigit():
        kind, number = text, ""
    if kind == "cpu":
        if number not in ("", "0"):
            raise DeviceUnavailableError(f"Device '{spec}' not found: there is one 'cpu' device")
        return cpu_device()
    if kind in ("cuda", "gpu"):
        return _gpu(int(number or 0), spec)
    if kind == "opencl" and not number:
        raise RuntimeError(f"Device '{spec}': expected 'opencl:N' with N the device number. "
                           f"Devices found:\n{device_table()}")
    if kind == "opencl" and number:
        devices = all_devices()
        if int(number) >= len(devices):
            raise DeviceUnavailableError(
                f"Device '{spec}' not found: {len(devices)} OpenCL device(s). "
                f"Devices found:\n{device_table()}")
        chosen = devices[int(number)]
        if chosen.problem():
            raise DeviceUnavailableError(f"Device '{spec}' ({chosen.platform_name}:"
                                         f"{chosen.name}) is unusable: {chosen.problem()}")
        return chosen
    return _by_name(spec, text)


def _by_name(spec: str, text: str) -> Device:
    devices = all_devices()
    if not devices:
        raise _no_platform_error()
    matches = [d for d in devices if text and text in d.search_text]
    working = [d for d in matches if d.problem() is None]
    if working:
        return working[0]
    why = "it cannot compile kernels" if matches else "no device name contains it"
    raise RuntimeError(
        f"Unknown device '{spec}': {why}. Expected 'cpu', 'cuda[:k]', 'gpu[:k]', "
        f"'opencl:N' or part of a platform:device name. Devices found:\n{device_table()}")


def default_device() -> Device:
    """The device new tensors go to: `CLGRAD_DEVICE` if set, else the 'cpu' device."""
    global _default
    if _default is None:
        spec = config.device_spec()
        if spec is None:
            _default = cpu_device()
        else:
            try:
                _default = device(spec)
            except RuntimeError as exc:
                raise RuntimeError(f"CLGRAD_DEVICE={spec!r} is invalid: {exc}") from None
    return _default


def set_default_device(dev) -> None:
    """Make `dev` (a device or device string) the default for new tensors."""
    global _default
    _default = device(dev)


def gpu_count() -> int:
    """How many (non-simulator) OpenCL GPU devices exist."""
    return sum(1 for d in all_devices() if d.type == "cuda")
