"""Exceptions raised by the runtime (all RuntimeError subclasses, as PyTorch raises)."""


class OutOfMemoryError(RuntimeError):
    """A device allocation failed even after the allocator's cache was emptied."""


class KernelBuildError(RuntimeError):
    """The OpenCL compiler rejected a generated kernel; the message holds the build log."""


class DeviceUnavailableError(RuntimeError):
    """No usable OpenCL device matches the request."""
