"""clgrad.nn's Module, Parameter, containers and Linear against torch.nn.

Most tests build the same structure with `lib.nn` for lib in (clgrad, torch) and compare
names, reprs, errors and values.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import clgrad

torch = pytest.importorskip("torch")

LIBS = pytest.mark.parametrize("lib", [clgrad, torch], ids=["clgrad", "torch"])


def net(lib):
    """A nested model with a buffer, a non-persistent buffer and a bias-less Linear."""
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.register_buffer("running", lib.zeros(3))
            self.register_buffer("scratch", lib.ones(2), persistent=False)
            self.scale = nn.Parameter(lib.ones(3))

        def forward(self, x):
            return self.fc(x) * self.scale + self.running

    return nn.Sequential(OrderedDict([
        ("block", Block()),
        ("act", nn.Identity()),
        ("head", nn.Sequential(nn.Linear(3, 2, bias=False), nn.Flatten(0))),
    ]))


def both(fn):
    return fn(clgrad), fn(torch)


def to_torch(t):
    return torch.from_numpy(np.array(t.detach().numpy()))


def copy_into_torch(src, dst) -> None:
    dst.load_state_dict({k: to_torch(v) for k, v in src.state_dict().items()})


def test_parameter_is_a_leaf_tensor_sharing_storage():
    data = clgrad.ones(2, 3)
    p = clgrad.nn.Parameter(data)
    assert isinstance(p, clgrad.Tensor) and p.is_leaf and p.requires_grad
    assert p.data_ptr() == data.data_ptr()
    assert type(p * 2) is clgrad.Tensor
    (p * 2).sum().backward()
    (p * 3).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.full((2, 3), 5.0))
    assert repr(p) == repr(torch.nn.Parameter(torch.ones(2, 3)))
    assert not clgrad.nn.Parameter(data, requires_grad=False).requires_grad
    assert clgrad.nn.Parameter().shape == (0,)


@LIBS
def test_registration_and_names(lib):
    m = net(lib)
    names = [n for n, _ in m.named_parameters()]
    assert names == ["block.scale", "block.fc.weight", "block.fc.bias", "head.0.weight"]
    assert [n for n, _ in m.named_buffers()] == ["block.running", "block.scratch"]
    assert [n for n, _ in m.named_modules()] == ["", "block", "block.fc", "act", "head",
                                                 "head.0", "head.1"]
    assert [n for n, _ in m.named_children()] == ["block", "act", "head"]
    assert len(list(m.parameters())) == 4 and len(list(m.modules())) == 7
    assert [n for n, _ in m.block.named_parameters(prefix="p", recurse=False)] == ["p.scale"]
    assert list(m.state_dict()) == ["block.scale", "block.running", "block.fc.weight",
                                    "block.fc.bias", "head.0.weight"]


def test_state_dict_keys_and_shapes_match_torch():
    ours, theirs = both(lambda lib: net(lib).state_dict())
    assert isinstance(ours, OrderedDict)
    assert list(ours) == list(theirs)
    assert [tuple(v.shape) for v in ours.values()] == [tuple(v.shape) for v in theirs.values()]
    assert not any(v.requires_grad for v in ours.values())
    kept = net(clgrad).state_dict(keep_vars=True)
    assert isinstance(kept["block.scale"], clgrad.nn.Parameter)


def test_state_dict_round_trip_both_ways():
    ours, theirs = net(clgrad), net(torch)
    copy_into_torch(ours, theirs)
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), ours.state_dict()[k].numpy())
    fresh = net(clgrad)
    weight = fresh.block.fc.weight
    result = fresh.load_state_dict({k: clgrad.tensor(v.numpy())
                                    for k, v in theirs.state_dict().items()})
    assert repr(result) == "<All keys matched successfully>"
    assert fresh.block.fc.weight is weight
    np.testing.assert_array_equal(weight.detach().numpy(), ours.block.fc.weight.detach().numpy())


def _errors(lib, mutate, strict=True):
    m = net(lib)
    sd = dict(m.state_dict())
    mutate(sd, lib)
    try:
        return repr(m.load_state_dict(sd, strict=strict))
    except RuntimeError as e:
        return str(e).replace("torch.Size", "clgrad.Size")


def _missing_and_unexpected(sd, lib):
    del sd["block.fc.bias"]
    sd["head.0.bias"] = lib.zeros(2)
    sd["extra"] = lib.zeros(1)


def _size_mismatch(sd, lib):
    sd["block.fc.weight"] = lib.zeros(3, 5)


@pytest.mark.parametrize("mutate", [_missing_and_unexpected, _size_mismatch])
@pytest.mark.parametrize("strict", [True, False])
def test_load_state_dict_errors_match_torch(mutate, strict):
    ours, theirs = both(lambda lib: _errors(lib, mutate, strict))
    assert ours == theirs
    if strict:
        assert ours.startswith("Error(s) in loading state_dict for Sequential:\n\t")


def test_load_state_dict_rejects_non_mapping():
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        net(clgrad).load_state_dict([1, 2])


def test_repr_matches_torch():
    ours, theirs = both(lambda lib: repr(net(lib)))
    assert ours == theirs
    ours, theirs = both(lambda lib: repr(lib.nn.ModuleList(
        [lib.nn.Linear(2, 2) for _ in range(3)] + [lib.nn.Unflatten(1, (2, -1))])))
    assert ours == theirs
    ours, theirs = both(lambda lib: repr(lib.nn.ModuleDict({"a": lib.nn.Identity()})))
    assert ours == theirs


@LIBS
def test_train_eval_propagate(lib):
    m = net(lib)
    assert m.training and m.block.fc.training
    assert m.eval() is m
    assert not any(x.training for x in m.modules())
    m.head.train()
    assert m.head[0].training and not m.block.training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        m.train("yes")


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    m = net(clgrad)
    m(clgrad.randn(4)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=set_to_none)
    for p in m.parameters():
        if set_to_none:
            assert p.grad is None
        else:
            assert not p.grad.numpy().any()


def test_to_dtype_keeps_parameter_identity_and_grads():
    m = net(clgrad)
    m(clgrad.randn(4)).sum().backward()
    params = list(m.parameters())
    assert m.to(clgrad.float64) is m
    assert [id(p) for p in m.parameters()] == [id(p) for p in params]
    assert all(p.dtype is clgrad.float64 and p.grad.dtype is clgrad.float64 for p in params)
    assert m.block.running.dtype is clgrad.float64
    assert all(isinstance(p, clgrad.nn.Parameter) and p.is_leaf for p in params)
    m.zero_grad()
    m(clgrad.randn(4, dtype=clgrad.float64)).sum().backward()
    assert m.block.fc.weight.grad.dtype is clgrad.float64
    m.float()
    assert m.block.fc.weight.dtype is clgrad.float32
    assert m.cpu() is m and m.to("cpu") is m
    with pytest.raises(TypeError, match="only accepts floating point"):
        m.to(clgrad.int64)


def test_linear_forward_backward_matches_torch():
    ours = clgrad.nn.Linear(5, 3, dtype=clgrad.float64)
    theirs = torch.nn.Linear(5, 3, dtype=torch.float64)
    copy_into_torch(ours, theirs)
    x = np.random.default_rng(0).standard_normal((2, 4, 5))
    xo = clgrad.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    (yo * yo).sum().backward()
    (yt * yt).sum().backward()
    for a, b in [(xo.grad, xt.grad), (ours.weight.grad, theirs.weight.grad),
                 (ours.bias.grad, theirs.bias.grad)]:
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


def test_linear_init_bounds_and_no_bias():
    m = clgrad.nn.Linear(16, 200)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= 0.25 and np.abs(w).max() > 0.2 and np.abs(b).max() <= 0.25
    assert w.std() > 0.1
    m = clgrad.nn.Linear(3, 2, bias=False)
    assert m.bias is None and [n for n, _ in m.named_parameters()] == ["weight"]
    assert m(clgrad.randn(3)).shape == (2,)


@LIBS
def test_flatten_unflatten(lib):
    x = lib.arange(24.0).reshape(2, 3, 4)
    assert tuple(lib.nn.Flatten()(x).shape) == (2, 12)
    assert tuple(lib.nn.Flatten(0, 1)(x).shape) == (6, 4)
    assert tuple(lib.nn.Unflatten(2, (2, -1))(x).shape) == (2, 3, 2, 2)
    assert tuple(lib.nn.Unflatten(-1, [2, 2])(x).shape) == (2, 3, 2, 2)
    assert tuple(lib.nn.Identity(1, k=2)(x).shape) == (2, 3, 4)


@LIBS
def test_setattr_errors_and_delattr(lib):
    nn = lib.nn
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'int' as parameter 'weight'"):
        m.weight = 3
    with pytest.raises(KeyError, match="attribute 'in_features' already exists"):
        m.register_buffer("in_features", lib.zeros(1))
    with pytest.raises(KeyError, match="parameter name can"):
        m.register_parameter("a.b", None)
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'nope'"):
        _ = m.nope
    m.extra = nn.Identity()
    assert [n for n, _ in m.named_children()] == ["extra"]
    m.extra = None
    assert list(m.named_children()) == []
    del m.bias
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    m.bias = nn.Parameter(lib.zeros(2))
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    with pytest.raises(NotImplementedError, match=r"Module \[Module\] is missing"):
        nn.Module()(1)


@LIBS
def test_shared_parameters_and_apply(lib):
    nn = lib.nn
    lin = nn.Linear(2, 2)
    m = nn.Sequential(lin, lin)
    assert len(list(m.parameters())) == 2
    assert len(list(m.named_parameters(remove_duplicate=False))) == 4
    assert [n for n, _ in m.named_modules()] == ["", "0"]
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "Sequential"]
    assert m.requires_grad_(False) is m and not lin.weight.requires_grad


@LIBS
def test_sequential_api(lib):
    nn = lib.nn
    a, b, c = nn.Linear(2, 2), nn.Identity(), nn.Flatten()
    s = nn.Sequential(a, b, c)
    assert len(s) == 3 and s[0] is a and s[-1] is c and list(s) == [a, b, c]
    assert isinstance(s[1:], nn.Sequential) and list(s[1:]) == [b, c]
    assert [n for n, _ in s[1:].named_children()] == ["1", "2"]
    with pytest.raises(IndexError):
        s[3]
    s[1] = nn.Identity()
    assert s[1] is not b
    del s[0]
    assert [n for n, _ in s.named_children()] == ["0", "1"] and s[-1] is c
    s.append(a)
    assert s[2] is a and len(s) == 3
    x = lib.ones(3, 2)
    assert tuple(s(x).shape) == (3, 2)
    named = nn.Sequential(OrderedDict([("first", a), ("second", b)]))
    assert named.first is a and [n for n, _ in named.named_children()] == ["first", "second"]


@LIBS
def test_module_list_api(lib):
    nn = lib.nn
    a, b, c = nn.Linear(2, 2), nn.Identity(), nn.Flatten()
    ml = nn.ModuleList([a])
    ml.append(b)
    ml.extend([c])
    assert list(ml) == [a, b, c] and len(ml) == 3 and ml[-1] is c
    assert isinstance(ml[:2], nn.ModuleList) and list(ml[:2]) == [a, b]
    ml.insert(1, nn.Identity())
    assert ml[2] is b and len(ml) == 4
    ml += [nn.Identity()]
    assert len(ml) == 5
    del ml[0]
    assert [n for n, _ in ml.named_children()][:2] == ["0", "1"] and ml[1] is b
    assert len(list(nn.ModuleList([a, a]).parameters())) == 2


@LIBS
def test_module_dict_api(lib):
    nn = lib.nn
    a, b = nn.Linear(2, 2), nn.Identity()
    md = nn.ModuleDict({"a": a})
    md["b"] = b
    md.update([("c", nn.Flatten())])
    assert list(md.keys()) == ["a", "b", "c"] and len(md) == 3 and "b" in md
    assert list(md.values())[:2] == [a, b] and next(iter(md.items())) == ("a", a)
    assert md.pop("b") is b and "b" not in md and list(md) == ["a", "c"]
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]
