"""clgrad.nn: Module, Parameter, containers and layers, as torch.nn."""
from . import functional, init, parameter
from .containers import ModuleDict, ModuleList, Sequential
from .linear import Flatten, Identity, Linear, Unflatten
from .module import Module
from .parameter import Parameter

__all__ = ["Flatten", "Identity", "Linear", "Module", "ModuleDict", "ModuleList", "Parameter",
           "Sequential", "Unflatten", "functional", "init", "parameter"]
