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
from .memory import empty_cache, get_memory_limit, memory_stats, set_memory_limit
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
                     "get_memory_limit",
                     "gpu_count",
                     "memory_stats",
                     "set_default_device",
                     "set_memory_limit",
                     "tune_matmul",
]
