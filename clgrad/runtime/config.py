"""Every environment setting clgrad reads, read lazily in this one place."""
from __future__ import annotations

import os
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
