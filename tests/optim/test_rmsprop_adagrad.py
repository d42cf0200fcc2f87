"""clgrad.optim.RMSprop and Adagrad against torch.optim: same float64 weights, same updates."""
import numpy as np
import pytest
import torch
from test_optim import (  # the weights, loss and checks both files share
    _close,
    _loss,
    _weights,
    launches_after_first_step,
)
from test_optim import _params as shared_params

import clgrad


def _params(lib, non_contiguous=False):
    return shared_params(lib, non_contiguous, seed=1)


def _train(lib, opt, ws, steps):
    x = lib.tensor(np.linspace(-1, 1, 15).reshape(5, 3), dtype=lib.float64)
    for _ in range(steps):
        opt.zero_grad()
        _loss(lib, ws, x).backward()
        opt.step()


def _run(lib, name, kwargs, steps=50, groups=None, non_contiguous=False):
    ws = _params(lib, non_contiguous)
    params = ws if groups is None else [dict(g, params=[ws[i] for i in idx])
                                        for idx, g in groups]
    opt = getattr(lib.optim, name)(params, **kwargs)
    _train(lib, opt, ws, steps)
    return [w.detach().numpy() for w in ws], opt


CONFIGS = [
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.005, "alpha": 0.9, "eps": 1e-6}),
    ("RMSprop", {"lr": 0.005, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.005, "centered": True}),
    ("RMSprop", {"lr": 0.005, "alpha": 0.3, "centered": True}),   # 1 - alpha >= 0.5: lerp
    ("RMSprop", {"lr": 0.005, "momentum": 0.8, "centered": True, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.001, "weight_decay": 0.05, "maximize": True}),
    ("RMSprop", {"lr": 0.001, "momentum": 0.5, "centered": True, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.05, "lr_decay": 0.01}),
    ("Adagrad", {"lr": 0.05, "initial_accumulator_value": 0.3, "eps": 1e-6}),
    ("Adagrad", {"lr": 0.05, "weight_decay": 0.1, "lr_decay": 0.05}),
    ("Adagrad", {"lr": 0.01, "maximize": True, "initial_accumulator_value": 0.1}),
    ("Adagrad", {"lr": 0.02, "lr_decay": 0.1, "weight_decay": 0.2,
                 "initial_accumulator_value": 1.0, "maximize": True}),
]
IDS = [f"{n}-{k}" for n, k in CONFIGS]


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_matches_torch(name, kwargs):
    ours, _ = _run(clgrad, name, kwargs)
    ref, _ = _run(torch, name, kwargs)
    _close(ours, ref)


@pytest.mark.parametrize("name,kwargs", [CONFIGS[5], CONFIGS[13]])
def test_non_contiguous_params(name, kwargs):
    ours, _ = _run(clgrad, name, kwargs, steps=20, non_contiguous=True)
    ref, _ = _run(torch, name, kwargs, steps=20)
    _close(ours, ref)


@pytest.mark.parametrize("name,default,group", [
    ("RMSprop", {"momentum": 0.9}, {"centered": True, "alpha": 0.8}),
    # as torch, a constructor group's own initial_accumulator_value is not used
    ("Adagrad", {"lr_decay": 0.01}, {"lr_decay": 0.1, "initial_accumulator_value": 0.5}),
])
def test_param_groups(name, default, group):
    groups = [((0,), {"lr": 0.02, "weight_decay": 0.1, **group}), ((1, 2), {"lr": 0.005})]
    ours, opt = _run(clgrad, name, dict(lr=0.01, **default), groups=groups)
    ref, _ = _run(torch, name, dict(lr=0.01, **default), groups=groups)
    _close(ours, ref)
    assert [g["lr"] for g in opt.param_groups] == [0.02, 0.005]


def test_float32_matches_torch():
    def run(lib, name, kwargs):
        w = lib.tensor(_weights(seed=1)[0], dtype=lib.float32, requires_grad=True)
        opt = getattr(lib.optim, name)([w], **kwargs)
        for _ in range(20):
            opt.zero_grad()
            (lib.sin(w) * w).sum().backward()
            opt.step()
        return w.detach().numpy()
    for name, kwargs in [CONFIGS[5], CONFIGS[13]]:
        np.testing.assert_allclose(run(clgrad, name, kwargs), run(torch, name, kwargs),
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,kwargs", [CONFIGS[5], CONFIGS[7], CONFIGS[13]])
@pytest.mark.parametrize("tensor_step", [False, True])
def test_state_dict_round_trip(name, kwargs, tensor_step):
    full, _ = _run(clgrad, name, kwargs, steps=30)
    # 20 steps, save, fresh optimizer + load, 10 more steps
    ws = _params(clgrad)
    opt = getattr(clgrad.optim, name)(ws, **kwargs)
    _train(clgrad, opt, ws, 20)
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1, 2]
    assert sd["param_groups"][0]["params"] == [0, 1, 2]
    if tensor_step:                     # as torch saves it: a 0-d tensor
        for s in sd["state"].values():
            s["step"] = clgrad.tensor(s["step"], dtype=clgrad.float32)
    opt2 = getattr(clgrad.optim, name)(ws, **dict(kwargs, lr=123.0))
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == kwargs.get("lr", 1e-2)
    assert opt2.state[ws[0]] is not opt.state[ws[0]]
    _train(clgrad, opt2, ws, 10)
    _close([w.detach().numpy() for w in ws], full)
    assert opt2.state[ws[0]]["step"] == 30


def test_state_keys():
    w = clgrad.zeros(3, dtype=clgrad.float64, requires_grad=True)
    w.grad = clgrad.ones(3, dtype=clgrad.float64)
    for kwargs, keys in [({}, {"step", "square_avg"}),
                         ({"momentum": 0.9}, {"step", "square_avg", "momentum_buffer"}),
                         ({"centered": True}, {"step", "square_avg", "grad_avg"}),
                         ({"momentum": 0.5, "centered": True},
                          {"step", "square_avg", "momentum_buffer", "grad_avg"})]:
        opt = clgrad.optim.RMSprop([w], **kwargs)
        assert len(opt.state[w]) == 0
        opt.step()
        assert set(opt.state[w]) == keys
        assert opt.state[w]["step"] == 1
    opt = clgrad.optim.Adagrad([w], initial_accumulator_value=0.25)
    assert set(opt.state[w]) == {"step", "sum"}          # created at construction, as torch
    assert opt.state[w]["step"] == 0 and opt.state[w]["sum"].tolist() == [0.25] * 3
    assert opt.state_dict()["state"][0]["sum"].tolist() == [0.25] * 3
    opt.step()
    assert opt.state[w]["step"] == 1 and opt.state[w]["sum"].tolist() == [1.25] * 3


def test_adagrad_add_param_group_and_skipped_params():
    a = clgrad.ones(3, dtype=clgrad.float64, requires_grad=True)
    b = clgrad.ones(3, dtype=clgrad.float64, requires_grad=True)
    opt = clgrad.optim.Adagrad([a], lr=0.5, initial_accumulator_value=3.0)
    opt.add_param_group({"params": [b], "initial_accumulator_value": 1.0})
    a.grad = clgrad.ones(3, dtype=clgrad.float64)
    opt.step()                          # b has no grad: untouched, no state yet
    assert len(opt.state[b]) == 0 and b.tolist() == [1.0] * 3
    np.testing.assert_allclose(a.tolist(), [1 - 0.5 / (2.0 + 1e-10)] * 3)
    b.grad = clgrad.ones(3, dtype=clgrad.float64)
    opt.step()                          # the new group's accumulator starts at its own value
    assert opt.state[b]["sum"].tolist() == [2.0] * 3


def test_one_launch_per_parameter(monkeypatch):
    counts, ws = launches_after_first_step(monkeypatch, [
        lambda ws: clgrad.optim.RMSprop(ws, momentum=0.9, centered=True, weight_decay=0.1),
        lambda ws: clgrad.optim.RMSprop(ws, maximize=True),
        lambda ws: clgrad.optim.Adagrad(ws, lr_decay=0.1, weight_decay=0.1)])
    for (fused, other), algo in zip(counts, ["rmsprop", "rmsprop", "adagrad"]):
        assert fused == [algo] * (3 * len(ws))
        assert other == []


@pytest.mark.parametrize("make,message", [
    (lambda o, w: o.RMSprop([w], lr=-1), "Invalid learning rate: -1"),
    (lambda o, w: o.RMSprop([w], eps=-1e-3), "Invalid epsilon value: -0.001"),
    (lambda o, w: o.RMSprop([w], momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda o, w: o.RMSprop([w], weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda o, w: o.RMSprop([w], alpha=-0.1), "Invalid alpha value: -0.1"),
    (lambda o, w: o.RMSprop([]), "optimizer got an empty parameter list"),
    (lambda o, w: o.Adagrad([w], lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda o, w: o.Adagrad([w], lr_decay=-1), "Invalid lr_decay value: -1"),
    (lambda o, w: o.Adagrad([w], weight_decay=-2), "Invalid weight_decay value: -2"),
    (lambda o, w: o.Adagrad([w], initial_accumulator_value=-0.5),
     "Invalid initial_accumulator_value value: -0.5"),
    (lambda o, w: o.Adagrad([w], eps=-1e-10), "Invalid epsilon value: -1e-10"),
    (lambda o, w: o.Adagrad([w * 2]), "can't optimize a non-leaf Tensor"),
])
def test_errors_match_torch(make, message):
    for lib in (clgrad, torch):
        with pytest.raises(ValueError) as info:
            make(lib.optim, lib.ones(2, requires_grad=True))
        assert str(info.value) == message, (lib.__name__, str(info.value))


def test_implementation_options():
    """foreach/fused only pick torch's implementation: accepted, same update; capturable
    (torch's 7th positional of RMSprop) and differentiable are refused."""
    w = clgrad.ones(2, requires_grad=True)
    clgrad.optim.RMSprop([w], foreach=True)
    clgrad.optim.Adagrad([w], fused=True)
    with pytest.raises(NotImplementedError, match="capturable"):
        clgrad.optim.RMSprop([w], 0.01, 0.99, 1e-8, 0, 0, False, True)
    with pytest.raises(NotImplementedError, match="differentiable"):
        clgrad.optim.Adagrad([w], differentiable=True)
