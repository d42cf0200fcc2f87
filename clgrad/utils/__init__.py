"""clgrad.utils: helpers outside the tensor core (`clgrad.utils.data`, as torch.utils.data)."""
from . import data

__all__ = ["data"]
