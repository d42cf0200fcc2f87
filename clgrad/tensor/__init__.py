"""Tensor layer: Storage + Tensor metadata and the raw (non-differentiable) ops.

(The dtype class is not re-exported here: that would shadow the `dtype` submodule, which
every module imports as `from . import dtype as dt`; clgrad.dtype comes from tensor.dtype.)
"""
from . import creation, indexing, joins, linalg, ops, random, reduce, scan, sorting
from .dtype import get_default_dtype, promote_types, set_default_dtype
from .shape import Size
from .tensor import Tensor


def _namespace() -> dict:
    """Every public function of this layer, by name (what `clgrad` re-exports)."""
    namespace: dict = {}
    ops.install(namespace)
    ops.install_extra(namespace)
    creation.install(namespace)
    random.install(namespace)
    indexing.install(namespace)
    reduce.install(namespace)
    linalg.install(namespace)
    joins.install(namespace)
    scan.install(namespace)
    sorting.install(namespace)
    return namespace


functions = _namespace()

__all__ = [
    "Size",
    "Tensor",
    "functions",
    "get_default_dtype",
    "promote_types",
    "set_default_dtype",
]
