"""The caching allocator: one pyopencl MemoryPool per device, with stats and OOM recovery."""
from __future__ import annotations

import pyopencl as cl
import pyopencl.tools as cl_tools

from .errors import OutOfMemoryError


class Allocator:
    """Hands out device buffers from a pool; a freed buffer goes back to the pool.

    Reuse is safe without waiting: every device has one in-order queue, so a kernel that
    writes a recycled block is queued after every kernel that read its previous owner.
    """

    __slots__ = ("device", "pool")

    def __init__(self, device):
        self.device = device
        self.pool = cl_tools.MemoryPool(cl_tools.ImmediateAllocator(device.queue))

    def allocate(self, nbytes: int):
        """A buffer of at least `nbytes` (>= 1) bytes; empties the cache and retries once."""
        try:
            return self.pool.allocate(nbytes)
        except cl.Error:
            self.pool.free_held()
            try:
                return self.pool.allocate(nbytes)
            except cl.Error as exc:
                stats = self.stats()
                raise OutOfMemoryError(
                    f"{self.device}: out of memory allocating {nbytes} bytes "
                    f"({stats['bytes_in_use']} bytes in use by tensors, device has "
                    f"{self.device.global_mem_size} bytes; {exc})") from None

    def stats(self) -> dict:
        """bytes_cached is what the pool holds beyond the bytes tensors asked for: its
        cached blocks plus the size-class rounding of live ones."""
        pool = self.pool
        return {"bytes_in_use": pool.active_bytes,
                "bytes_cached": pool.managed_bytes - pool.active_bytes,
                "blocks_in_use": pool.active_blocks,
                "blocks_cached": pool.held_blocks}


def memory_stats(device=None) -> dict:
    """Bytes and blocks in use by live tensors and held in the cache, on `device`."""
    from .device import default_device
    from .device import device as resolve
    dev = default_device() if device is None else resolve(device)
    return dev.allocator.stats()


def empty_cache(device=None) -> None:
    """Return the cached (unused) blocks of `device` to the driver."""
    from .device import default_device
    from .device import device as resolve
    dev = default_device() if device is None else resolve(device)
    dev.allocator.pool.free_held()
