"""The Optimizer base class (PyTorch's contract) and the fused update launch.

Every parameter update runs as one kernel of runtime/kernels/optim.cl: the parameter, its
gradient and its state buffers are read and written in place in one launch, with the
per-step scalars (learning rate, bias corrections) computed on the host.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from itertools import chain

import numpy as np

from ..autograd import enable_grad, no_grad
from ..runtime import program
from ..tensor import Tensor
from ..tensor import dtype as dt
from ..tensor.elementwise import _INT31

_SCALAR_NP = {"float": np.float32, "double": np.float64}
_IDX_NP = {"int": np.int32, "long": np.int64}
# per algorithm: buffer arguments (param, grad, state), floating scalar arguments, the
# template's variant flags in the order the optimizers pass them
_N_BUFFERS = {"sgd": 3, "adam": 5, "rmsprop": 5, "adagrad": 3}
_N_SCALARS = {"sgd": 4, "adam": 8, "rmsprop": 6, "adagrad": 3}
_FLAGS = {
    "sgd": ("maximize", "weight_decay", "momentum", "nesterov"),
    "adam": ("maximize", "weight_decay", "amsgrad", "decoupled"),
    "rmsprop": ("maximize", "weight_decay", "momentum", "centered"),
    "adagrad": ("maximize", "weight_decay"),
}
_VARIANTS = ("momentum", "nesterov", "amsgrad", "decoupled", "centered")


class _RequiredParameter:
    """Marks a default every param group must set itself (PyTorch's `required`)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class: param groups with per-group options, per-parameter state, state_dict."""

    def __init__(self, params, defaults: dict) -> None:
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {_typename(params)}")
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (missing ones take the defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            param_group["params"] = list(params)
        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                f"{_typename(param)}")
            if not (param.is_leaf or param._retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        self._check_implementation(param_group)
        ids = {id(p) for p in param_group["params"]}
        if len(ids) != len(param_group["params"]):
            import warnings
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        for group in self.param_groups:
            if any(id(p) in ids for p in group["params"]):
                raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def _check_implementation(self, group: dict) -> None:
        """torch's implementation switches. `foreach` and `fused` choose how torch runs the
        same update; clgrad always runs one fused kernel per parameter, so every value gives
        the same numbers and is accepted. `capturable` (CUDA-graph capture) and
        `differentiable` (an update autograd can differentiate through) are not implemented."""
        if group.get("foreach") and group.get("fused"):
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        for name, meaning in (("capturable", "CUDA-graph capture"),
                              ("differentiable", "an update autograd differentiates through")):
            if group.get(name):
                raise NotImplementedError(f"{type(self).__name__}: {name}=True ({meaning}) is "
                                          f"not supported by clgrad; leave {name}=False")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: to None (default) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if grad.grad_fn is not None:
                    grad.detach_()
                else:
                    grad.requires_grad_(False)
                with no_grad():
                    grad.zero_()

    def step(self, closure=None):
        """One update of every parameter that has a gradient (each group by the subclass's
        `_update_group`); `closure` re-evaluates the loss, which is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    def _update_group(self, group: dict) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement its update")

    def _with_grad(self, group: dict):
        """(param, grad, state) for the group's parameters that have a gradient."""
        for p in group["params"]:
            if p._grad is not None:
                yield p, p._grad, self.state[p]

    # -- state_dict ----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}, as torch.

        The state holds references to the optimizer's own buffers (as PyTorch's does).
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: v for p, v in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state_dict from `state_dict()` (this or another optimizer of the same shape).

        Tensors are copied onto each parameter's device (floating state in its dtype), so the
        loaded optimizer never shares buffers with the source.
        """
        saved_groups = copy.deepcopy([{k: v for k, v in g.items()}
                                      for g in state_dict["param_groups"]])
        if len(self.param_groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"])
               for g, s in zip(self.param_groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in self.param_groups)))
        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = {key: _cast(param, key, value) for key, value in v.items()}
            else:
                state[k] = copy.deepcopy(v)
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            saved["params"] = group["params"]
            new_groups.append(saved)
        self.state = state
        self.param_groups = new_groups


def _cast(param: Tensor, key, value):
    """A state value copied for `param`: tensors on its device, floating ones in its dtype."""
    if isinstance(value, Tensor):
        if key == "step":
            return value.clone()
        if value.is_floating_point():
            value = value.to(param.device, param.dtype)
        else:
            value = value.to(param.device)
        return value.clone().contiguous() if value._contig else value.contiguous()
    if isinstance(value, dict):
        return {k: _cast(param, key, v) for k, v in value.items()}
    return copy.deepcopy(value)


def _typename(obj) -> str:
    if isinstance(obj, Tensor):
        return f"clgrad.{type(obj).__name__}"
    module = type(obj).__module__
    name = type(obj).__qualname__
    return name if module == "builtins" else f"{module}.{name}"


# -- the fused launch -----------------------------------------------------------------------
def state_buffer(p: Tensor, fill=None) -> Tensor:
    """A contiguous state buffer shaped like `p`, set to `fill` (None: left unwritten, for a
    kernel that writes it before reading it)."""
    t = Tensor._empty(p._shape, p.dtype, p._storage.device)
    if fill is not None:
        with no_grad():
            t.fill_(fill)
    return t


def next_step(state: dict) -> float:
    """Advance state['step'] (a loaded state may hold a 0-d tensor, as torch saves it)."""
    step = state["step"]
    state["step"] = (float(step.item()) if isinstance(step, Tensor) else float(step)) + 1
    return state["step"]


def fused_update(algo: str, flags: tuple, param: Tensor, grad: Tensor, buffers: list,
                 scalars: list) -> None:
    """Update `param` (and the state `buffers`, contiguous) in place with one kernel launch.

    `flags` are the template's boolean variant parameters for `algo` (see optim.cl) and
    `scalars` the kernel's scalar arguments after the buffers. A non-contiguous parameter or
    gradient goes through contiguous temporaries and the result is copied back.
    """
    if param._numel == 0:
        return
    if grad.dtype is not param.dtype:
        raise RuntimeError(f"{algo}: gradient dtype {grad.dtype.name} differs from the "
                           f"parameter's {param.dtype.name}")
    target = param
    if not param._contig:
        param = param.contiguous()
    if not grad._contig:
        grad = grad.contiguous()
    operands = [param, grad] + buffers
    _launch(algo, flags, operands, scalars)
    if target is not param:
        with no_grad():
            target.copy_(param)                 # bumps the version counter itself
    else:
        param._written()                        # written in place


def _launch(algo: str, flags: tuple, operands: list, scalars: list) -> None:
    """Enqueue the fused kernel over dense `operands` (param, grad, state buffers)."""
    param = operands[0]
    device = param._storage.device
    big = any(x._storage.nbytes > _INT31 for x in operands)
    idx = "long" if big else "int"
    key = ("optim", algo, param.dtype, flags, idx)
    kernel = device.kernels.get(key) or _compile(device, key)
    args = []
    for x in operands:
        args += [x._storage.buffer, x._offset]
    n = param._numel
    args += scalars + [n]
    program.launch(device, kernel, (n + device.chunk - 1) // device.chunk, *args)
    if any(x._storage.shared for x in operands):
        device.queue.finish()


def _compile(device, key):
    """Render and build the fused kernel for `key` (cache miss path only)."""
    _, algo, dtype_, flags, idx = key
    if dtype_.category != dt.FLOAT:
        raise TypeError(f"{algo}: optimizing a {dtype_.name} tensor is not supported "
                        "(floating point parameters only)")
    if dtype_.extension:
        device.require_extension(dtype_.extension, dtype_.name)
    ct = dtype_.opmath
    variant = dict.fromkeys(_VARIANTS, False)
    variant.update(zip(_FLAGS[algo], flags))
    scalar_types = [_SCALAR_NP[ct]] * _N_SCALARS[algo]
    if algo == "sgd":
        scalar_types.append(np.int32)           # `first`: the momentum buffer is new
    scalar_dtypes = [None, _IDX_NP[idx]] * _N_BUFFERS[algo] + scalar_types + [_IDX_NP[idx]]
    tag = "".join(str(int(f)) for f in flags)
    name = f"optim_{algo}_{dtype_.name}_{tag}_{idx}"
    return program.compile_kernel(
        device, key, "optim.cl", name, scalar_dtypes, algo=algo, st=dtype_.ctype, ct=ct,
        idx=idx, chunk=device.chunk, fp64=dtype_ is dt.float64, fp16=dtype_ is dt.float16,
        **variant)
