"""clgrad.optim against torch.optim: same float64 weights, same loss, same updates."""
import math

import numpy as np
import pytest
import torch

import clgrad
from clgrad.optim import optimizer as optimizer_module
from clgrad.tensor import elementwise

SHAPES = [(3, 4), (4,), (4, 2)]


def _weights(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in SHAPES]


def _params(lib, non_contiguous=False, seed=0):
    """The weights as leaf tensors of `lib` (non-contiguous: matrices stored transposed)."""
    ws = []
    for w in _weights(seed):
        if non_contiguous and w.ndim == 2:
            t = lib.tensor(np.ascontiguousarray(w.T), dtype=lib.float64).t()
        else:
            t = lib.tensor(w, dtype=lib.float64)
        ws.append(t.requires_grad_())
    return ws


def _loss(lib, ws, x):
    """A small MLP-ish loss written once for both libraries."""
    w1, b1, w2 = ws
    h = lib.tanh(x @ w1 + b1)
    return ((h @ w2) ** 2).sum() + (w1 * w1).sum() * 0.1


def _run(lib, make_opt, steps=50, groups=None, non_contiguous=False):
    x_np = np.linspace(-1, 1, 15).reshape(5, 3)
    x = lib.tensor(x_np, dtype=lib.float64)
    ws = _params(lib, non_contiguous)
    params = ws if groups is None else [dict(g, params=[ws[i] for i in idx])
                                        for idx, g in groups]
    opt = make_opt(lib, params)
    for _ in range(steps):
        opt.zero_grad()
        _loss(lib, ws, x).backward()
        opt.step()
    return [w.detach().numpy() for w in ws], opt


def _close(a, b, tol=1e-10):
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=tol, atol=tol)


CONFIGS = [
    ("SGD", {"lr": 0.01}),
    ("SGD", {"lr": 0.01, "momentum": 0.9}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.01, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.001, "momentum": 0.5, "maximize": True}),   # maximize: the loss grows
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "maximize": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.6, 0.9)}),   # 1 - beta1 >= 0.5: lerp's other branch
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.3, "amsgrad": True}),
]


def _maker(name, kwargs):
    return lambda lib, params: getattr(lib.optim, name)(params, **kwargs)


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{k}" for n, k in CONFIGS])
def test_matches_torch(name, kwargs):
    ours, _ = _run(clgrad, _maker(name, kwargs))
    ref, _ = _run(torch, _maker(name, kwargs))
    _close(ours, ref)


@pytest.mark.parametrize("name,kwargs", [CONFIGS[3], CONFIGS[8]])
def test_non_contiguous_params(name, kwargs):
    ours, _ = _run(clgrad, _maker(name, kwargs), steps=20, non_contiguous=True)
    ref, _ = _run(torch, _maker(name, kwargs), steps=20)
    _close(ours, ref)


@pytest.mark.parametrize("name,default", [("SGD", {"momentum": 0.9}), ("Adam", {})])
def test_param_groups(name, default):
    groups = [((0,), {"lr": 0.02, "weight_decay": 0.1}), ((1, 2), {"lr": 0.005})]
    ours, opt = _run(clgrad, _maker(name, dict(lr=0.01, **default)), groups=groups)
    ref, _ = _run(torch, _maker(name, dict(lr=0.01, **default)), groups=groups)
    _close(ours, ref)
    assert [g["lr"] for g in opt.param_groups] == [0.02, 0.005]


def test_float32_matches_torch():
    def run(lib):
        w = lib.tensor(_weights()[0], dtype=lib.float32, requires_grad=True)
        opt = lib.optim.Adam([w], lr=0.01, amsgrad=True)
        for _ in range(20):
            opt.zero_grad()
            (lib.sin(w) * w).sum().backward()
            opt.step()
        return w.detach().numpy()
    np.testing.assert_allclose(run(clgrad), run(torch), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,kwargs", [CONFIGS[2], CONFIGS[7], CONFIGS[11]])
def test_state_dict_round_trip(name, kwargs):
    full, _ = _run(clgrad, _maker(name, kwargs), steps=30)
    # 20 steps, save, fresh optimizer + load, 10 more steps
    x = clgrad.tensor(np.linspace(-1, 1, 15).reshape(5, 3), dtype=clgrad.float64)
    ws = [clgrad.tensor(w, dtype=clgrad.float64, requires_grad=True) for w in _weights()]
    opt = _maker(name, kwargs)(clgrad, ws)

    def train(o, n):
        for _ in range(n):
            o.zero_grad()
            _loss(clgrad, ws, x).backward()
            o.step()
    train(opt, 20)
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1, 2]
    assert sd["param_groups"][0]["params"] == [0, 1, 2]
    opt2 = _maker(name, dict(kwargs, lr=123.0))(clgrad, ws)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == kwargs["lr"]
    assert opt2.state[ws[0]] is not opt.state[ws[0]]
    train(opt2, 10)
    _close([w.detach().numpy() for w in ws], full)


def test_state_keys():
    w = clgrad.zeros(3, dtype=clgrad.float64, requires_grad=True)
    w.grad = clgrad.ones(3, dtype=clgrad.float64)
    adam = clgrad.optim.Adam([w], amsgrad=True)
    adam.step()
    assert set(adam.state[w]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert adam.state[w]["step"] == 1
    sgd = clgrad.optim.SGD([w], momentum=0.9)
    sgd.step()
    assert set(sgd.state[w]) == {"momentum_buffer"}
    plain = clgrad.optim.SGD([w])
    plain.step()
    assert len(plain.state[w]) == 0


def test_zero_grad_and_skipped_params():
    a = clgrad.ones(3, dtype=clgrad.float64, requires_grad=True)
    b = clgrad.ones(3, dtype=clgrad.float64, requires_grad=True)
    opt = clgrad.optim.SGD([a, b], lr=0.5)
    (a * 2).sum().backward()
    opt.step()                          # b has no grad: untouched, no state
    assert a.tolist() == [0.0] * 3 and b.tolist() == [1.0] * 3
    grad = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is grad and a.grad.tolist() == [0.0] * 3
    opt.zero_grad()
    assert a.grad is None


def test_closure_and_version():
    w = clgrad.tensor([1.0, -2.0], dtype=clgrad.float64, requires_grad=True)
    opt = clgrad.optim.SGD([w], lr=0.1)
    calls = []

    def closure():
        opt.zero_grad()
        assert clgrad.is_grad_enabled()
        loss = (w * w).sum()
        loss.backward()
        calls.append(1)
        return loss
    version = w._version
    with clgrad.no_grad():
        loss = opt.step(closure)
    assert calls == [1] and loss.item() == 5.0
    assert w._version == version + 1
    np.testing.assert_allclose(w.tolist(), [0.8, -1.6])


def launches_after_first_step(monkeypatch, makers, steps=3):
    """For each optimizer `make(params)`: the fused launches (their algorithm names) and the
    count of other elementwise launches over `steps` steps after the first, which allocates
    (and zeroes) the state. Also returns the parameters."""
    fused, other = [], []
    launch = optimizer_module._launch
    ew_launch = elementwise._launch
    monkeypatch.setattr(optimizer_module, "_launch",
                        lambda *a: (fused.append(a[0]), launch(*a))[1])
    monkeypatch.setattr(elementwise, "_launch", lambda *a: (other.append(1), ew_launch(*a))[1])
    ws = [clgrad.tensor(w, dtype=clgrad.float64, requires_grad=True) for w in _weights()]
    for w in ws:
        w.grad = clgrad.ones(w.shape, dtype=clgrad.float64)
    counts = []
    for make in makers:
        opt = make(ws)
        opt.step()
        fused.clear()
        other.clear()
        for _ in range(steps):
            opt.step()
        counts.append((list(fused), list(other)))
    return counts, ws


def test_one_launch_per_parameter(monkeypatch):
    counts, ws = launches_after_first_step(monkeypatch, [
        lambda ws: clgrad.optim.SGD(ws, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
        lambda ws: clgrad.optim.Adam(ws, amsgrad=True, weight_decay=0.1),
        lambda ws: clgrad.optim.AdamW(ws)])
    for fused, other in counts:
        assert len(fused) == 3 * len(ws)
        assert other == []


def test_float16_if_supported():
    dev = clgrad.zeros(1).device
    if not dev.fp16:
        with pytest.raises(TypeError, match="cl_khr_fp16"):
            clgrad.zeros(2, dtype=clgrad.float16)
        return
    w = clgrad.ones(4, dtype=clgrad.float16, requires_grad=True)
    w.grad = clgrad.ones(4, dtype=clgrad.float16)
    clgrad.optim.Adam([w], lr=0.5).step()
    np.testing.assert_allclose(w.float().tolist(), [0.5] * 4, rtol=1e-3)


@pytest.mark.parametrize("make,message", [
    (lambda o, w: o.SGD([]), "optimizer got an empty parameter list"),
    (lambda o, w: o.SGD([w * 2]), "can't optimize a non-leaf Tensor"),
    (lambda o, w: o.SGD([{"params": [w]}, {"params": [w]}]),
     "some parameters appear in more than one parameter group"),
    (lambda o, w: o.SGD([w], lr=-1), "Invalid learning rate: -1"),
    (lambda o, w: o.SGD([w], momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda o, w: o.SGD([w], weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda o, w: o.SGD([w], nesterov=True),
     "Nesterov momentum requires a momentum and zero dampening"),
    (lambda o, w: o.SGD([w], momentum=0.9, dampening=0.1, nesterov=True),
     "Nesterov momentum requires a momentum and zero dampening"),
    (lambda o, w: o.Adam([w], lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda o, w: o.Adam([w], eps=-1e-3), "Invalid epsilon value: -0.001"),
    (lambda o, w: o.Adam([w], betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    (lambda o, w: o.AdamW([w], betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda o, w: o.AdamW([w], weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda o, w: o.Adam([w], betas=(0, 0.9)), "betas must be either both floats or both"),
])
def test_errors_match_torch(make, message):
    for lib in (clgrad, torch):
        with pytest.raises(ValueError) as info:
            make(lib.optim, lib.ones(2, requires_grad=True))
        assert str(info.value).startswith(message), (lib.__name__, str(info.value))


def test_errors_types():
    w = clgrad.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        clgrad.optim.SGD(w)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        clgrad.optim.SGD([w, 3.0])
    with pytest.raises(TypeError, match="sets will change"):
        clgrad.optim.SGD([{"params": {w}}])
    opt = clgrad.optim.SGD([w])
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})


def test_add_param_group():
    a, b = (clgrad.ones(2, requires_grad=True) for _ in range(2))
    opt = clgrad.optim.SGD([a], lr=0.1, momentum=0.5)
    opt.add_param_group({"params": b, "lr": 0.3})
    assert opt.param_groups[1]["lr"] == 0.3 and opt.param_groups[1]["momentum"] == 0.5
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


# -- lr schedulers ---------------------------------------------------------------------------
SCHEDULERS = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [3, 10, 10, 25], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}),
    ("LambdaLR", {"lr_lambda": lambda e: 1 / (1 + e) + math.sin(e)}),
]


def _torch_lr_sequence(name, kwargs, steps=40):
    """torch's lrs over `steps` epochs for two groups (lr 0.1 and 0.5), and its optimizer."""
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    sched = getattr(torch.optim.lr_scheduler, name)(opt, **kwargs)
    seq = [sched.get_last_lr()]
    for _ in range(steps):
        opt.step()
        sched.step()
        seq.append(sched.get_last_lr())
    return seq, opt


def _clgrad_two_groups():
    a, b = clgrad.zeros(2, requires_grad=True), clgrad.zeros(1, requires_grad=True)
    return clgrad.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)


@pytest.mark.parametrize("name,kwargs", SCHEDULERS, ids=[n for n, _ in SCHEDULERS])
def test_scheduler_matches_torch(name, kwargs):
    opt = _clgrad_two_groups()
    sched = getattr(clgrad.optim.lr_scheduler, name)(opt, **kwargs)
    ours = [sched.get_last_lr()]
    for _ in range(40):
        opt.step()
        sched.step()
        ours.append(sched.get_last_lr())
    ref, _ = _torch_lr_sequence(name, kwargs)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=0)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.5]
    # state_dict round trip: a new scheduler continues the sequence
    opt2 = _clgrad_two_groups()
    opt2.load_state_dict(opt.state_dict())
    sched2 = getattr(clgrad.optim.lr_scheduler, name)(opt2, **kwargs)
    sched2.load_state_dict(sched.state_dict())
    assert sched2.last_epoch == 40 and sched2.get_last_lr() == sched.get_last_lr()


def test_scheduler_resume_needs_initial_lr():
    opt = _clgrad_two_groups()
    with pytest.raises(KeyError, match="initial_lr"):
        clgrad.optim.lr_scheduler.StepLR(opt, 3, last_epoch=5)


@pytest.mark.parametrize("kwargs", [
    {"patience": 2, "factor": 0.5},
    {"mode": "max", "patience": 1, "threshold": 0.1, "threshold_mode": "abs", "cooldown": 2},
    {"patience": 0, "cooldown": 1, "min_lr": [0.02, 0.1], "factor": 0.3, "threshold": 0.05},
])
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.94, 0.7, 0.7, 0.71, 0.8, 0.69, 0.69, 0.69] * 3
    opt = _clgrad_two_groups()
    sched = clgrad.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    _, topt = _torch_lr_sequence("StepLR", {"step_size": 1000}, steps=0)
    for g in topt.param_groups:
        g["lr"] = g["initial_lr"]
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    for m in metrics:
        sched.step(m)
        tsched.step(m)
        assert sched.get_last_lr() == tsched.get_last_lr()
    assert sched.num_bad_epochs == tsched.num_bad_epochs
    sd = sched.state_dict()
    assert sd["best"] == tsched.state_dict()["best"]


def test_scheduler_errors():
    opt = _clgrad_two_groups()
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        clgrad.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode middle is unknown!"):
        clgrad.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="middle")
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        clgrad.optim.lr_scheduler.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(TypeError, match="is not an Optimizer"):
        clgrad.optim.lr_scheduler.StepLR(object(), 3)
