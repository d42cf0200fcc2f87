"""Derivatives of the remaining math ops: more elementwise functions, scans, products and
norms, and the matmul family beyond mm/matmul.

Registered into ops.RULES by name with the `rule` decorator; binding.py imports this module
before it wraps the public API.
"""
from __future__ import annotations

from .ops import Rule, rule  # noqa: F401
