"""clgrad.nn: Module, Parameter, containers and layers, as torch.nn."""
from . import parameter
from .containers import ModuleDict, ModuleList, Sequential
from .linear import Flatten, Identity, Linear, Unflatten
from .module import Module
from .parameter import Parameter

# functional and init arrive from a concurrent change: wire `from . import functional, init`
# here once clgrad/nn/functional.py and clgrad/nn/init.py are committed.

__all__ = ["Flatten", "Identity", "Linear", "Module", "ModuleDict", "ModuleList", "Parameter",
           "Sequential", "Unflatten", "parameter"]
