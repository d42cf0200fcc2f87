"""OpenCL runtime: devices, memory, kernel pipeline. Knows nothing about Tensor."""
from .device import (
                     Device,
                     all_devices,
                     cpu_device,
                     default_device,
                     device,
                     device_table,
                     gpu_count,
                     set_default_device,
)
from .errors import DeviceUnavailableError, KernelBuildError, OutOfMemoryError
from .memory import empty_cache, memory_stats
from .tuning import tune_matmul

__all__ = [
                     "Device",
                     "DeviceUnavailableError",
                     "KernelBuildError",
                     "OutOfMemoryError",
                     "all_devices",
                     "cpu_device",
                     "default_device",
                     "device",
                     "device_table",
                     "empty_cache",
                     "gpu_count",
                     "memory_stats",
                     "set_default_device",
                     "tune_matmul",
]
