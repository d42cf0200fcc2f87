"""Derivatives of the shape, join and indexing ops (cat, split, flip, gather, scatter, ...).

Registered into ops.RULES by name with the `rule` decorator; binding.py imports this module
before it wraps the public API.
"""
from __future__ import annotations

from .ops import Rule, rule  # noqa: F401
