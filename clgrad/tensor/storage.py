"""Storage: one device buffer shared by a tensor and all of its views."""
from __future__ import annotations

import ctypes
import itertools

import numpy as np
import pyopencl as cl

_uids = itertools.count(1)
_MAP_FLAGS = cl.map_flags.READ | cl.map_flags.WRITE
_MAX_BYTES = 2**63       # a storage's size is an int64, as in PyTorch


class VersionCounter:
    """Autograd's version counter, shared by the tensors of one family: a storage's tensors,
    views and detach()es share the storage's `vc`; `.data` starts a family of its own (writes
    through it are invisible to autograd's checks on the source, as in PyTorch)."""

    __slots__ = ("version",)

    def __init__(self, version: int = 0):
        self.version = version


class Storage:
    """A device buffer of `nbytes` bytes plus the bookkeeping every view shares.

    `version` counts in-place writes: it is autograd's version counter of the tensors over
    this storage, except those reached through `.data`, which count theirs in a
    `VersionCounter` and add to `untracked` here (caches keyed on the version see both). `shared` is set once NumPy holds
    a pointer into the buffer (`from_numpy`, `numpy()`): ops touching such a storage wait
    for their kernel, so NumPy never sees a half-finished result.
    """

    __slots__ = (
        "__weakref__",
        "_host",
        "_keep",
        "_uid",
        "buffer",
        "device",
        "nbytes",
        "shared",
        "untracked",
        "vc",
    )

    def __init__(self, device, nbytes: int, buffer=None, keep=None):
        if nbytes >= _MAX_BYTES:
            raise RuntimeError(f"Storage size calculation overflowed: {nbytes} bytes do not fit "
                               f"in int64")
        self.device = device
        self.nbytes = nbytes
        self.buffer = buffer if buffer is not None else device.allocator.allocate(max(nbytes, 1))
        self.vc = VersionCounter()
        self.untracked = 0
        self.shared = keep is not None
        self._host = None
        self._keep = keep            # the NumPy array a from_numpy buffer lives in
        self._uid = next(_uids)

    @classmethod
    def wrap_numpy(cls, device, array: np.ndarray, low: int, extent: int) -> Storage:
        """A storage over `extent` bytes of `array`'s memory from address `low` (no copy)."""
        if extent == 0:
            return cls(device, 0)
        raw = (ctypes.c_char * extent).from_address(low)
        flags = cl.mem_flags.READ_WRITE | cl.mem_flags.USE_HOST_PTR
        buffer = cl.Buffer(device.context, flags, hostbuf=raw)
        return cls(device, extent, buffer=buffer, keep=(array, raw))

    @property
    def version(self) -> int:
        """Writes counted by `vc`, the version counter of the tensors over this storage."""
        return self.vc.version

    @version.setter
    def version(self, value: int) -> None:
        self.vc.version = value

    def data_ptr(self) -> int:
        """An address-like identity: equal for views of one storage, distinct otherwise."""
        return self._uid << 40

    def host(self, share: bool = True) -> np.ndarray:
        """The whole buffer as host bytes, mapped from the device (CPU devices only).

        `share` marks the storage as held by NumPy (ops on it then wait for completion);
        a caller that only copies the bytes out passes False.
        """
        self.device.queue.finish()
        if self._host is None:
            if self.nbytes == 0:
                self._host = np.empty(0, np.uint8)
            else:
                self._host, _ = cl.enqueue_map_buffer(
                    self.device.queue, self.buffer, _MAP_FLAGS, 0, (self.nbytes,), np.uint8)
        self.shared = self.shared or share
        return self._host

    def read(self, offset: int, nbytes: int) -> np.ndarray:
        """A host copy of `nbytes` bytes from byte `offset` (waits for queued work)."""
        out = np.empty(nbytes, np.uint8)
        if nbytes:
            cl.enqueue_copy(self.device.queue, out, self.buffer, src_offset=offset,
                            is_blocking=True)
        return out

    def write(self, offset: int, data: np.ndarray) -> None:
        """Copy a contiguous host array into the buffer at byte `offset`. A raw write, as
        through PyTorch's untyped storage: autograd's counter stays, caches see it."""
        self.untracked += 1
        if data.nbytes:
            cl.enqueue_copy(self.device.queue, self.buffer, np.ascontiguousarray(data),
                            dst_offset=offset, is_blocking=True)

    def grow(self, nbytes: int) -> None:
        """Make the storage at least `nbytes` long, keeping its bytes (PyTorch's storage
        resize: every tensor over it sees the new buffer). NumPy-backed storages can't."""
        if nbytes <= self.nbytes:
            return
        if self._keep is not None:
            raise RuntimeError("Trying to resize storage that is not resizable")
        buffer = self.device.allocator.allocate(nbytes)
        if self.nbytes:
            cl.enqueue_copy(self.device.queue, buffer, self.buffer, byte_count=self.nbytes)
        self.buffer, self.nbytes, self._host = buffer, nbytes, None
        self.untracked += 1

    def size(self) -> int:
        return self.nbytes

    def __len__(self) -> int:
        return self.nbytes


class HostView:
    """Exposes a tensor's elements to NumPy through its mapped storage, keeping it alive."""

    __slots__ = ("__array_interface__", "storage")

    def __init__(self, storage: Storage, np_dtype, shape, strides, offset: int,
                 share: bool = True):
        host = storage.host(share)
        itemsize = np_dtype.itemsize
        self.storage = storage
        self.__array_interface__ = {
            "version": 3, "typestr": np_dtype.str, "shape": tuple(shape),
            "strides": tuple(s * itemsize for s in strides),
            "data": (host.ctypes.data + offset * itemsize, False)}
