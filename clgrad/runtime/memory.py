"""The caching allocator: one pyopencl MemoryPool per device, with stats, a cap and OOM recovery.

Every device has a ceiling on the bytes its pool may hold (in use + cached): the smaller of
the user's cap (`set_memory_limit`, `CLGRAD_MEMORY_LIMIT`) and the device's global memory.
The ceiling is enforced here, before the driver is asked, because drivers may allocate
lazily: pocl (over Linux's overcommit) hands out buffers far beyond its global memory size
and fails only when the pages are touched, so its own allocation errors cannot be relied on.
An allocation over the ceiling, or one the driver refuses, empties the cache and is retried
once; if it still does not fit, OutOfMemoryError names the bytes requested, in use and the
limit, and leaves the allocator as it was (minus the cache).
"""
from __future__ import annotations

import numbers

import pyopencl as cl
import pyopencl.tools as cl_tools

from . import config
from .errors import OutOfMemoryError


class Allocator:
    """Hands out device buffers from a pool; a freed buffer goes back to the pool.

    Reuse is safe without waiting: every device has one in-order queue, so a kernel that
    writes a recycled block is queued after every kernel that read its previous owner.
    """

    __slots__ = ("ceiling", "device", "limit", "max_alloc", "pool")

    def __init__(self, device):
        self.device = device
        self.max_alloc = device.cl_device.max_mem_alloc_size
        self.set_limit(config.memory_limit())
        self.pool = cl_tools.MemoryPool(cl_tools.ImmediateAllocator(device.queue))

    def set_limit(self, limit: int | None) -> None:
        """Cap the bytes the pool may hold at `limit` (None: only the device's memory)."""
        self.limit = limit
        device_bytes = self.device.global_mem_size
        self.ceiling = device_bytes if limit is None else min(limit, device_bytes)

    def allocate(self, nbytes: int):
        """A buffer of at least `nbytes` (>= 1) bytes; empties the cache and retries once."""
        pool = self.pool
        # Fast path: far below every limit even after the pool's size-class rounding (which
        # adds under 1/8), so neither the ceiling nor the single-allocation cap can bite.
        if 2 * nbytes <= self.max_alloc and pool.managed_bytes + 2 * nbytes <= self.ceiling:
            try:
                return pool.allocate(nbytes)
            except cl.Error:
                return self._retry(nbytes)
        return self._allocate_near_limit(nbytes)

    def _allocate_near_limit(self, nbytes: int):
        """Check the exact (rounded) size against the caps; on a miss or a driver failure,
        free the cache and retry once before raising OutOfMemoryError."""
        pool = self.pool
        size = pool.alloc_size(pool.bin_number(nbytes))
        if size > self.max_alloc:
            raise self._error(nbytes, size, (
                f"the device's largest single allocation (CL_DEVICE_MAX_MEM_ALLOC_SIZE) is "
                f"{self.max_alloc} bytes"), freed=0, fix="Split the tensor into smaller ones.")
        if pool.managed_bytes + size > self.ceiling:
            held = pool.managed_bytes
            pool.free_held()
            if pool.managed_bytes + size > self.ceiling:
                freed = held - pool.managed_bytes
                raise self._error(nbytes, size, self._ceiling_text(), freed)
        try:
            return pool.allocate(nbytes)
        except cl.Error:
            return self._retry(nbytes)

    def _retry(self, nbytes: int):
        """The driver refused `nbytes`: free the cache and try once more."""
        pool = self.pool
        held = pool.managed_bytes
        pool.free_held()
        try:
            return pool.allocate(nbytes)
        except cl.Error as exc:
            size = pool.alloc_size(pool.bin_number(nbytes))
            raise self._error(nbytes, size, f"the driver refused it ({exc}); "
                              f"{self._ceiling_text()}", held - pool.managed_bytes) from None

    def _ceiling_text(self) -> str:
        if self.limit is not None and self.limit <= self.device.global_mem_size:
            return (f"the memory limit is {self.limit} bytes (set by "
                    "clgrad.runtime.set_memory_limit or CLGRAD_MEMORY_LIMIT)")
        return (f"the device has {self.device.global_mem_size} bytes "
                "(CL_DEVICE_GLOBAL_MEM_SIZE)")

    def _error(self, nbytes: int, size: int, why: str, freed: int,
               fix: str = "Free tensors that are no longer needed or raise the limit.",
               ) -> OutOfMemoryError:
        pool = self.pool
        rounded = f" (rounded up to {size} by the allocator)" if size != nbytes else ""
        retried = f"{freed} cached bytes were freed and the allocation retried; " if freed else ""
        return OutOfMemoryError(
            f"{self.device}: out of memory allocating {nbytes} bytes{rounded}: "
            f"{pool.active_bytes} bytes are in use by tensors in {pool.active_blocks} blocks, "
            f"{retried}{why}. {fix}")

    def stats(self) -> dict:
        """bytes_cached is what the pool holds beyond the bytes tensors asked for: its
        cached blocks plus the size-class rounding of live ones."""
        pool = self.pool
        return {"bytes_in_use": pool.active_bytes,
                "bytes_cached": pool.managed_bytes - pool.active_bytes,
                "blocks_in_use": pool.active_blocks,
                "blocks_cached": pool.held_blocks}


def _resolve(device):
    from .device import default_device
    from .device import device as resolve
    return default_device() if device is None else resolve(device)


def memory_stats(device=None) -> dict:
    """Bytes and blocks in use by live tensors and held in the cache, on `device`."""
    return _resolve(device).allocator.stats()


def empty_cache(device=None) -> None:
    """Return the cached (unused) blocks of `device` to the driver."""
    _resolve(device).allocator.pool.free_held()


def set_memory_limit(nbytes: int | str | None, device=None) -> None:
    """Cap the bytes `device` (default: the default device) may hold, in use plus cached.

    `nbytes` is a byte count or a string such as ``"512M"``; None removes the cap (the
    device's own memory size still applies). An allocation that would go over the cap
    empties the cache, retries once, then raises `OutOfMemoryError`. Overrides
    `CLGRAD_MEMORY_LIMIT` for that device.
    """
    if isinstance(nbytes, str):
        nbytes = config.parse_bytes(nbytes, "set_memory_limit")
    elif nbytes is not None:
        if isinstance(nbytes, bool) or not isinstance(nbytes, numbers.Integral):
            raise TypeError(f"set_memory_limit: nbytes must be an int, a string such as '512M' "
                            f"or None, got {type(nbytes).__name__}")
        if nbytes <= 0:
            raise ValueError(f"set_memory_limit: nbytes must be positive, got {nbytes}")
        nbytes = int(nbytes)
    _resolve(device).allocator.set_limit(nbytes)


def get_memory_limit(device=None) -> int | None:
    """The cap `set_memory_limit` or `CLGRAD_MEMORY_LIMIT` put on `device` (None: no cap)."""
    return _resolve(device).allocator.limit
