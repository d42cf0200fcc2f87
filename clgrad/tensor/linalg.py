"""(being written)"""
from __future__ import annotations


def install(namespace: dict) -> None:
    """Define this module's functions in `namespace` and its methods on Tensor."""
