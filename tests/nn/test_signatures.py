"""clgrad's public nn/optim API has torch's signatures: for each dotted name (resolved in both
`clgrad` and `torch`; a class means its __init__), the same parameter names, order, kinds and
defaults, so a PyTorch script's calls bind the same way. Annotations are not compared.

To cover more of the API, add its dotted name to a table below; a mismatch that cannot be
fixed yet goes into KNOWN_MISMATCHES with the reason (it then runs as a strict xfail).
"""
from __future__ import annotations

import ast
import inspect
import warnings

import pytest

import clgrad

torch = pytest.importorskip("torch")

NN_CLASSES = [
    "Linear", "Bilinear", "Identity", "Flatten", "Unflatten", "Dropout", "Embedding",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm",
    "ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
    "Softplus", "Hardtanh",
    "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
    "BCEWithLogitsLoss", "KLDivLoss",
    "Sequential", "ModuleList", "ModuleDict",
    "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "Fold", "Unfold",
    "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
]
FUNCTIONAL = [
    "linear", "bilinear", "dropout", "embedding", "batch_norm", "layer_norm", "group_norm",
    "relu", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh", "softmax", "log_softmax",
    "softplus", "hardtanh",
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
    "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "fold", "unfold",
    "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "pad",
]   # torch's max_pool1d/2d are *args dispatchers: tests/nn/test_windows.py calls them alike
INIT = ["uniform_", "normal_", "zeros_", "ones_", "constant_", "xavier_uniform_",
        "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]
OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]
SCHEDULERS = ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR",
              "ReduceLROnPlateau"]
MODULE_METHODS = [
    "parameters", "named_parameters", "buffers", "children", "named_children", "modules",
    "named_modules", "train", "eval", "to", "cpu", "cuda", "float", "double", "half",
    "zero_grad", "requires_grad_", "apply", "state_dict", "load_state_dict", "register_buffer",
    "register_parameter", "add_module",
]
TOP_LEVEL = ["bilinear", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d",
             "avg_pool1d", "adaptive_avg_pool1d"]

NAMES = ([f"nn.{n}" for n in NN_CLASSES] + [f"nn.functional.{n}" for n in FUNCTIONAL]
         + [f"nn.init.{n}" for n in INIT] + [f"optim.{n}" for n in OPTIMIZERS]
         + [f"optim.lr_scheduler.{n}" for n in SCHEDULERS]
         + [f"nn.Module.{n}" for n in MODULE_METHODS] + TOP_LEVEL)
KNOWN_MISMATCHES: dict[str, str] = {}   # dotted name -> why clgrad differs for now
EMPTY = inspect.Parameter.empty


def _resolve(lib, name: str):
    obj = lib
    for part in name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj.__init__ if inspect.isclass(obj) else obj


def _docstring_params(fn) -> list[tuple]:
    """A builtin's parameters from its docstring's first line, 'name(args) -> Tensor' (how
    torch documents its C++ functions, which inspect cannot read), parsed, not executed."""
    head = next(line for line in (fn.__doc__ or "").splitlines() if line.strip())
    args = ast.parse(f"def f{head[head.index('('):head.rindex(')') + 1]}: pass").body[0].args
    positional = args.posonlyargs + args.args
    defaults = [EMPTY] * (len(positional) - len(args.defaults)) + args.defaults
    kinds = ["POSITIONAL_ONLY"] * len(args.posonlyargs) + ["POSITIONAL_OR_KEYWORD"] * len(
        args.args)
    out = [(a.arg, k, d) for a, k, d in zip(positional, kinds, defaults)]
    if args.vararg:
        out.append((args.vararg.arg, "VAR_POSITIONAL", EMPTY))
    out += [(a.arg, "KEYWORD_ONLY", EMPTY if d is None else d)
            for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg:
        out.append((args.kwarg.arg, "VAR_KEYWORD", EMPTY))
    return [(name, kind, d if d is EMPTY else _default(ast.literal_eval(d)))
            for name, kind, d in out]


def _default(value):
    """A default in comparable form: numbers by value (torch writes 1 for 1.0 in docstrings)
    but booleans and None kept apart from them."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return ("number", float(value))
    return value


def _params(fn) -> list[tuple]:
    """(name, kind, default) per parameter; a C++ builtin's from its documented signature."""
    try:
        sig = inspect.signature(fn)
    except ValueError:
        return _docstring_params(fn)
    return [(p.name, p.kind.name, _default(p.default)) for p in sig.parameters.values()]


def _marked(names):
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_MISMATCHES[n]))
            if n in KNOWN_MISMATCHES else n for n in names]


@pytest.mark.parametrize("name", _marked(NAMES))
def test_signature_matches_torch(name):
    theirs = _resolve(torch, name)
    assert theirs is not None, f"torch has no {name}: fix the table"
    ours = _resolve(clgrad, name)
    assert ours is not None, f"clgrad has no {name}"
    assert _params(ours) == _params(theirs)


def test_docstring_signature_reader():
    """The fallback for builtins reads torch's documented 'softplus(input, beta=1, ...)'."""
    kind = "POSITIONAL_OR_KEYWORD"
    assert _docstring_params(torch.nn.functional.softplus) == [
        ("input", kind, EMPTY), ("beta", kind, ("number", 1.0)),
        ("threshold", kind, ("number", 20.0))]


# -- parameters clgrad accepts for portability but cannot honour -----------------------------
def _param():
    return [clgrad.nn.Parameter(clgrad.ones(3))]


OPTIMIZER_FLAGS = {name: [f for f in ("foreach", "fused", "capturable", "differentiable")
                          if f in inspect.signature(getattr(torch.optim, name)).parameters]
                   for name in OPTIMIZERS}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_implementation_flags_are_stored_as_torch(name):
    ours = getattr(clgrad.optim, name)(_param(), lr=0.1)
    theirs = getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(3))], lr=0.1)
    assert list(ours.param_groups[0]) == list(theirs.param_groups[0])
    assert ours.defaults == theirs.defaults


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_foreach_and_fused_run_the_same_update(name):
    """They choose torch's implementation, not the result: any value is accepted."""
    flags = [f for f in OPTIMIZER_FLAGS[name] if f in ("foreach", "fused")]
    results = []
    for value in (None, False, True):
        for flag in flags:
            p = _param()
            opt = getattr(clgrad.optim, name)(p, lr=0.1, **{flag: value})
            p[0].grad = clgrad.full((3,), 0.5)
            opt.step()
            results.append(p[0].detach().numpy().tolist())
    assert all(r == results[0] for r in results)
    if "fused" in flags:
        with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True`"):
            getattr(clgrad.optim, name)(_param(), foreach=True, fused=True)


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("flag", ["capturable", "differentiable"])
def test_unsupported_optimizer_flags(name, flag):
    cls = getattr(clgrad.optim, name)
    if flag not in OPTIMIZER_FLAGS[name]:
        with pytest.raises(TypeError):
            cls(_param(), **{flag: False})
        return
    cls(_param(), **{flag: False})
    with pytest.raises(NotImplementedError, match=f"{flag}=True"):
        cls(_param(), **{flag: True})
    opt = cls(_param())
    with pytest.raises(NotImplementedError, match=f"{flag}=True"):
        opt.add_param_group({"params": _param(), flag: True})


def test_hardtanh_deprecated_keywords():
    with pytest.warns(FutureWarning, match="`min_value` is deprecated and renamed to `min_val`"):
        m = clgrad.nn.Hardtanh(min_value=-2.0)
    with pytest.warns(FutureWarning, match="`max_value` is deprecated and renamed to `max_val`"):
        m2 = clgrad.nn.Hardtanh(max_value=3.0)
    assert (m.min_val, m.max_val, m2.min_val, m2.max_val) == (-2.0, 1.0, -1.0, 3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert repr(m) == repr(torch.nn.Hardtanh(min_value=-2.0))


def test_modules_remove_duplicate():
    lin = clgrad.nn.Linear(2, 2)
    net = clgrad.nn.Sequential(lin, lin)
    assert list(net.modules()) == [net, lin]
    assert list(net.modules(remove_duplicate=False)) == [net, lin, lin]
