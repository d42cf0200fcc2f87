"""clgrad.save / clgrad.load: a file format that never executes code on load.

Layout (all integers little-endian)::

    magic    8 bytes  b"\\x89CLGRAD\\n"
    version  u32      FORMAT_VERSION
    header   u64      length of the header in bytes
    blob     u64      length of the data blob in bytes
    crc32    u32      zlib.crc32 of header + blob
    header            ASCII JSON describing the object tree
    blob              raw little-endian tensor data and bytes values, 64-byte aligned

The header encodes None, bool, int and str as themselves and every other value as a
one-key object: {"float": float.hex()}, {"list": [...]}, {"tuple": [...]},
{"dict": [k1, v1, k2, v2, ...]}, {"odict": [...]} (OrderedDict), {"bytes": [offset, length]},
{"dtype": name} and {"tensor": {"dtype", "shape", "offset", "nbytes", "requires_grad",
"device"}}. Tensors are stored contiguous; views of one storage are saved independently (each
loads with its own storage) and a tensor appearing twice loads as two tensors.

Every malformed file raises SerializationError (a RuntimeError): the header is validated
(size, nesting depth, types, dtype whitelist, shapes, ranges inside the blob, total bytes at
most the blob's size) before any tensor is allocated.
"""
from __future__ import annotations

import collections
import json
import os
import re
import struct
import zlib
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from .runtime.device import Device, cpu_device
from .runtime.device import device as resolve_device
from .tensor import Tensor
from .tensor import dtype as dt
from .tensor.creation import tensor as make_tensor

MAGIC = b"\x89CLGRAD\n"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<8sIQQI")
MAX_DEPTH = 100                     # Python containers nested in one another
_MAX_JSON_DEPTH = 2 * MAX_DEPTH + 8  # each container is two JSON levels ({"list": [...]})
_MAX_DIMS = 64
_MAX_ELEMENTS = 2**48                # product of the non-zero dims of any shape
_ALIGN = 64
_CHUNK = 1 << 20
_DEVICE_NAME = re.compile(r"(cpu|cuda:\d{1,6}|opencl:\d{1,6})\Z")
_SPECIAL = re.compile(rb'["\\\[\]{}]')

FileLike = str | os.PathLike | IO[bytes]
MapLocation = str | Device | dict | Callable | None


class SerializationError(RuntimeError):
    """A file given to clgrad.load is truncated, corrupted, hostile or not a clgrad file."""


# -- save ---------------------------------------------------------------------------------
class _Writer:
    """Turns an object tree into the JSON header tree and the list of blob chunks."""

    def __init__(self):
        self.chunks: list[bytes] = []
        self.size = 0

    def add_blob(self, data: bytes) -> int:
        offset = self.size
        pad = -len(data) % _ALIGN
        self.chunks.append(data + b"\0" * pad)
        self.size += len(data) + pad
        return offset

    def encode(self, obj, path: str, depth: int = 0):
        if depth > MAX_DEPTH:
            raise ValueError(f"clgrad.save: {path} is nested deeper than {MAX_DEPTH} levels "
                             "(a reference cycle?)")
        kind = type(obj)
        if obj is None or kind in (bool, int, str):
            return obj
        if kind is float:
            return {"float": obj.hex()}
        if kind is bytes:
            return {"bytes": [self.add_blob(obj), len(obj)]}
        if kind is dt.dtype:
            return {"dtype": obj.name}
        if isinstance(obj, Tensor):
            return {"tensor": self.tensor(obj)}
        if kind in (list, tuple):
            items = [self.encode(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(obj)]
            return {kind.__name__: items}
        if kind in (dict, collections.OrderedDict):
            return {"odict" if kind is collections.OrderedDict else "dict":
                    self.items(obj, path, depth)}
        raise TypeError(f"clgrad.save: can't save an object of type {kind.__qualname__} at "
                        f"{path}: supported are Tensor, dict, OrderedDict, list, tuple, str, "
                        "bytes, int, float, bool, None and clgrad.dtype")

    def items(self, obj: dict, path: str, depth: int) -> list:
        flat = []
        for key, value in obj.items():
            if not _plain_key(key):
                raise TypeError(f"clgrad.save: can't save a dict key of type "
                                f"{type(key).__qualname__} at {path}")
            where = f"{path}[{key!r}]"
            flat += [self.encode(key, where, depth + 1), self.encode(value, where, depth + 1)]
        return flat

    def tensor(self, t: Tensor) -> dict:
        array = np.ascontiguousarray(t.detach().numpy(force=True))
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        return {"dtype": t.dtype.name, "shape": list(t.shape), "offset": self.add_blob(data),
                "nbytes": len(data), "requires_grad": bool(t.requires_grad),
                "device": str(t.device)}


def _plain_key(key) -> bool:
    """Whether `key` may be a dict key in a file: a plain value, or a tuple of them."""
    if type(key) is tuple:
        return all(_plain_key(k) for k in key)
    return key is None or type(key) in (str, int, bool, float, bytes, dt.dtype)


def save(obj: Any, f: FileLike) -> None:
    """Save `obj` (tensors, dicts, OrderedDicts, lists, tuples and plain values) to `f`.

    `f` is a path (str or os.PathLike) or a binary file object opened for writing. Tensors
    are written contiguous, from a host copy on any device, with their dtype, shape,
    requires_grad and device name. Other object types raise TypeError naming the type and
    where it sits in `obj` (e.g. ``obj['a'][3]``). See the module docstring for the format.
    """
    writer = _Writer()
    tree = writer.encode(obj, "obj")
    header = json.dumps({"root": tree}, separators=(",", ":"), allow_nan=False).encode("ascii")
    crc = zlib.crc32(header)
    for chunk in writer.chunks:
        crc = zlib.crc32(chunk, crc)
    parts = [_PREFIX.pack(MAGIC, FORMAT_VERSION, len(header), writer.size, crc), header]
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as stream:
            stream.writelines(parts + writer.chunks)
    elif hasattr(f, "write"):
        for part in parts + writer.chunks:
            f.write(part)
    else:
        raise TypeError(f"clgrad.save: expected a path or a binary file object, got "
                        f"{type(f).__name__}")


# -- load: reading and checking the container ------------------------------------------------
def _read_exact(stream, n: int, what: str) -> bytes:
    """Read n bytes in bounded chunks (a hostile length never allocates more than is there)."""
    parts, got = [], 0
    while got < n:
        part = stream.read(min(_CHUNK, n - got))
        if not isinstance(part, (bytes, bytearray)):
            raise TypeError("clgrad.load: the file object must be opened in binary mode")
        if not part:
            raise SerializationError(f"clgrad.load: file is truncated: the {what} needs {n} "
                                     f"bytes, only {got} remain")
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _read_record(stream) -> tuple[bytes, bytes]:
    prefix = _read_exact(stream, _PREFIX.size, "file prefix")
    magic, version, header_len, blob_len, crc = _PREFIX.unpack(prefix)
    if magic != MAGIC:
        hint = (" (it looks like a PyTorch zip checkpoint, which clgrad does not read)"
                if magic.startswith(b"PK\x03\x04") else "")
        raise SerializationError(f"clgrad.load: not a clgrad file: bad magic bytes "
                                 f"{magic!r}{hint}")
    if version != FORMAT_VERSION:
        raise SerializationError(f"clgrad.load: unsupported format version {version} (this "
                                 f"clgrad reads version {FORMAT_VERSION})")
    header = _read_exact(stream, header_len, "header")
    blob = _read_exact(stream, blob_len, "data blob")
    if zlib.crc32(blob, zlib.crc32(header)) != crc:
        raise SerializationError("clgrad.load: file is corrupted: checksum mismatch")
    return header, blob


def _check_depth(header: bytes) -> None:
    """Bound the JSON nesting before json.loads, so deep input never reaches recursion."""
    depth, in_string, skip = 0, False, -1
    for match in _SPECIAL.finditer(header):
        pos, char = match.start(), match.group()
        if pos <= skip:
            continue
        if in_string:
            if char == b"\\":
                skip = pos + 1
            elif char == b'"':
                in_string = False
        elif char == b'"':
            in_string = True
        elif char in b"[{":
            depth += 1
            if depth > _MAX_JSON_DEPTH:
                raise SerializationError(f"clgrad.load: header nested deeper than "
                                         f"{_MAX_JSON_DEPTH} levels")
        elif char in b"]}":
            depth -= 1


def _parse_header(header: bytes):
    _check_depth(header)
    try:
        tree = json.loads(header.decode("ascii"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SerializationError(f"clgrad.load: header is not valid JSON: {exc}") from None
    if not isinstance(tree, dict) or set(tree) != {"root"}:
        raise SerializationError("clgrad.load: header has no root object")
    return tree["root"]


def _reject_constant(name: str):
    raise ValueError(f"unexpected constant {name}")


# -- load: decoding the validated tree --------------------------------------------------------
class _Reader:
    """Checks the header tree and builds the objects; tensors are made once all is checked."""

    def __init__(self, blob: bytes, place: Callable):
        self.blob = blob
        self.place = place
        self.used = 0                  # bytes of the blob taken by tensors and bytes values
        self.pending: list[tuple[list, int, dict]] = []     # (container, index, tensor spec)

    def fail(self, path: str, why: str):
        raise SerializationError(f"clgrad.load: malformed header at {path}: {why}")

    def decode(self, node, path: str, depth: int = 0):
        if node is None or type(node) in (bool, int, str):
            return node
        if type(node) is not dict or len(node) != 1:
            self.fail(path, f"unexpected JSON value of type {type(node).__name__}")
        if depth > MAX_DEPTH:
            self.fail(path, f"nested deeper than {MAX_DEPTH} levels")
        (tag, value), = node.items()
        if tag in ("list", "tuple", "dict", "odict") and type(value) is not list:
            self.fail(path, f"{tag} payload must be a JSON array")
        if tag in ("list", "tuple"):
            items = [self.decode(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
            return items if tag == "list" else tuple(items)
        if tag in ("dict", "odict"):
            return self.mapping(value, tag, path, depth)
        if tag == "float":
            return self.float_(value, path)
        if tag == "bytes":
            offset, nbytes = self.span(value, path)
            return self.blob[offset:offset + nbytes]
        if tag == "dtype":
            return self.dtype(value, path)
        if tag == "tensor":
            return self.tensor_spec(value, path)
        self.fail(path, f"unknown tag {tag!r}")

    def mapping(self, flat: list, tag: str, path: str, depth: int):
        if len(flat) % 2:
            self.fail(path, "dict payload must alternate keys and values")
        out = collections.OrderedDict() if tag == "odict" else {}
        for i in range(0, len(flat), 2):
            key = self.decode(flat[i], f"{path}<key {i // 2}>", depth + 1)
            if not _plain_key(key):
                self.fail(path, f"a dict key can't be of type {type(key).__name__}")
            out[key] = self.decode(flat[i + 1], f"{path}[{key!r}]", depth + 1)
        return out

    def float_(self, value, path: str) -> float:
        if type(value) is not str or len(value) > 64:
            self.fail(path, "float payload must be a short string")
        try:
            return float.fromhex(value)
        except (ValueError, OverflowError):
            self.fail(path, f"bad float {value!r}")

    def dtype(self, name, path: str) -> dt.dtype:
        if type(name) is not str or name not in {d.name for d in dt.ALL}:
            self.fail(path, f"unknown dtype {name!r}")
        return dt._by_name(name)

    def span(self, value, path: str) -> tuple[int, int]:
        if type(value) is not list or len(value) != 2 or \
                any(type(v) is not int or v < 0 for v in value):
            self.fail(path, "expected [offset, length] with non-negative ints")
        offset, nbytes = value
        if offset + nbytes > len(self.blob):
            self.fail(path, f"bytes {offset}..{offset + nbytes} lie outside the "
                      f"{len(self.blob)}-byte blob")
        self.used += nbytes
        if self.used > len(self.blob):
            self.fail(path, "the values need more bytes than the blob holds")
        return offset, nbytes

    def tensor_spec(self, spec, path: str) -> _TensorSlot:
        keys = {"dtype", "shape", "offset", "nbytes", "requires_grad", "device"}
        if type(spec) is not dict or set(spec) != keys:
            self.fail(path, f"a tensor needs exactly the fields {sorted(keys)}")
        dtype = self.dtype(spec["dtype"], path)
        shape = spec["shape"]
        if type(shape) is not list or len(shape) > _MAX_DIMS or \
                any(type(n) is not int or n < 0 for n in shape):
            self.fail(path, f"shape must be at most {_MAX_DIMS} non-negative ints")
        if np.prod([n for n in shape if n], dtype=object) > _MAX_ELEMENTS:
            self.fail(path, f"shape {shape} is too large")
        offset, nbytes = self.span([spec["offset"], spec["nbytes"]], path)
        numel = int(np.prod(shape, dtype=object))
        if numel * dtype.itemsize != nbytes:
            self.fail(path, f"shape {shape} of {dtype.name} needs {numel * dtype.itemsize} "
                      f"bytes, the file gives {nbytes}")
        grad = spec["requires_grad"]
        if type(grad) is not bool or grad and not dtype.is_floating_point:
            self.fail(path, "requires_grad must be a bool, true only for floating dtypes")
        where = spec["device"]
        if type(where) is not str or not _DEVICE_NAME.match(where):
            self.fail(path, f"bad device name {where!r}")
        return _TensorSlot(dtype, tuple(shape), offset, nbytes, grad, where)

    def build(self, slot: _TensorSlot) -> Tensor:
        d = slot.dtype
        raw = np.frombuffer(self.blob, d.np.newbyteorder("<"), slot.nbytes // d.itemsize,
                            slot.offset)
        array = raw.astype(d.np).reshape(slot.shape)
        return self.place(array, slot)


class _TensorSlot:
    """A validated tensor description, replaced by a Tensor once the whole tree checks out."""

    __slots__ = ("device", "dtype", "nbytes", "offset", "requires_grad", "shape")

    def __init__(self, dtype, shape, offset, nbytes, requires_grad, device):
        self.dtype, self.shape, self.offset, self.nbytes = dtype, shape, offset, nbytes
        self.requires_grad, self.device = requires_grad, device


def _materialize(obj, reader: _Reader):
    """Replace every _TensorSlot in the decoded tree with its tensor (depth already bounded)."""
    if isinstance(obj, _TensorSlot):
        return reader.build(obj)
    if type(obj) in (list, tuple):
        return type(obj)(_materialize(v, reader) for v in obj)
    if isinstance(obj, dict):
        for key, value in obj.items():
            obj[key] = _materialize(value, reader)
    return obj


# -- load: devices ------------------------------------------------------------------------
def _placer(map_location: MapLocation) -> Callable:
    """A function (host array, slot) -> Tensor that puts each tensor where map_location says."""
    if map_location is None or isinstance(map_location, (str, Device)):
        fixed = None if map_location is None else resolve_device(map_location)
        return lambda array, slot: _new(array, slot, fixed or _saved_device(slot.device))
    if isinstance(map_location, dict):
        table = {str(k): resolve_device(v) for k, v in map_location.items()}
        return lambda array, slot: _new(array, slot, table.get(slot.device) or
                                        _saved_device(slot.device))
    if callable(map_location):
        return lambda array, slot: _call_map(map_location, array, slot)
    raise TypeError(f"clgrad.load: map_location must be None, a device string, a clgrad.device, "
                    f"a dict or a callable, got {type(map_location).__name__}")


def _saved_device(name: str) -> Device:
    try:
        return resolve_device(name)
    except RuntimeError as exc:
        raise SerializationError(
            f"clgrad.load: the file holds a tensor saved on device '{name}', which is not "
            f"available here ({str(exc).splitlines()[0]}). Use map_location='cpu' (or a "
            "dict/device) to load it elsewhere.") from None


def _new(array: np.ndarray, slot: _TensorSlot, where: Device) -> Tensor:
    try:
        return make_tensor(array, dtype=slot.dtype, device=where,
                           requires_grad=slot.requires_grad)
    except TypeError as exc:        # the device lacks the dtype's extension (fp16, fp64)
        raise SerializationError(f"clgrad.load: can't load a {slot.dtype.name} tensor: {exc}. "
                                 "Use map_location to pick a device that has it.") from None


def _call_map(fn: Callable, array: np.ndarray, slot: _TensorSlot) -> Tensor:
    """PyTorch's callable map_location, given a host ('cpu') tensor instead of a storage."""
    host = _new(array, slot, cpu_device())
    result = fn(host, slot.device)
    if result is None:
        return _new(array, slot, _saved_device(slot.device))
    if not isinstance(result, Tensor) or tuple(result.shape) != slot.shape:
        raise TypeError(f"clgrad.load: map_location callable must return a Tensor of shape "
                        f"{slot.shape} or None, got {type(result).__name__}")
    return result


def load(f: FileLike, map_location: MapLocation = None, *, weights_only: bool | None = None):
    """Load an object written by clgrad.save from a path or a binary file object.

    Nothing in the file is executed (`weights_only` is accepted for PyTorch compatibility:
    loading is always weights-only). `map_location` places tensors: None keeps each on the
    device it was saved from (SerializationError if that device does not exist here); a
    device string or clgrad.device sends all there; a dict maps saved device strings
    ('cpu', 'cuda:0', 'opencl:2') to targets, others stay where saved; a callable
    ``fn(tensor, location)`` gets each tensor on the 'cpu' device (in place of PyTorch's
    storage) with its saved device string and returns the tensor to use, or None for the
    default. A truncated, corrupted or hostile file raises SerializationError.
    """
    place = _placer(map_location)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as stream:
            header, blob = _read_record(stream)
            if stream.read(1):
                raise SerializationError("clgrad.load: unexpected data after the end of the "
                                         "saved object")
    elif hasattr(f, "read"):
        header, blob = _read_record(f)
    else:
        raise TypeError(f"clgrad.load: expected a path or a binary file object, got "
                        f"{type(f).__name__}")
    reader = _Reader(blob, place)
    tree = reader.decode(_parse_header(header), "obj")
    return _materialize(tree, reader)
