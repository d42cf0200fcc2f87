"""Every environment setting clgrad reads, read lazily in this one place."""
from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path


def device_spec() -> str | None:
    """`CLGRAD_DEVICE`: the default device for new tensors (None: the CPU device)."""
    value = os.environ.get("CLGRAD_DEVICE", "").strip()
    return value or None


def cache_dir() -> Path:
    """`CLGRAD_CACHE_DIR`: where tuning results and failed kernel sources are kept."""
    value = os.environ.get("CLGRAD_CACHE_DIR")
    if value:
        return Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "clgrad"


def debug() -> bool:
    """`CLGRAD_DEBUG=1`: print every kernel build (name and options) to stderr."""
    return os.environ.get("CLGRAD_DEBUG", "") not in ("", "0")


_SIZE_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_SIZE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(i?b)?")


def parse_bytes(value: str, source: str = "memory limit") -> int:
    """A byte count from text: ``1048576``, ``512M``, ``1.5G``, ``64KiB`` (binary units).

    A value that is not such a count raises ValueError naming `source` and the value.
    """
    match = _SIZE.fullmatch(value.strip().lower())
    if match is None or (match.group(3) and not match.group(2) and match.group(3) != "b"):
        raise ValueError(f"{source}: {value!r} is not a byte count; expected a whole number of "
                         "bytes or a number with a K, M, G or T suffix (e.g. 1048576, 512M, 2G)")
    nbytes = int(Decimal(match.group(1)) * _SIZE_UNITS[match.group(2)])
    if nbytes <= 0:
        raise ValueError(f"{source}: {value!r} must be a positive number of bytes")
    return nbytes


def memory_limit() -> int | None:
    """`CLGRAD_MEMORY_LIMIT`: the most bytes each device's allocator may hold (None: no cap).

    Accepts bytes or K/M/G/T suffixes (``512M``, ``2G``); read when a device's allocator is
    created (its first allocation). `clgrad.runtime.set_memory_limit` changes it at run time.
    """
    value = os.environ.get("CLGRAD_MEMORY_LIMIT", "").strip()
    return parse_bytes(value, "CLGRAD_MEMORY_LIMIT") if value else None
