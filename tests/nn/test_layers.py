"""clgrad.nn activation, loss, dropout and embedding layers against torch.nn: the same float64
data through both, comparing outputs, gradients of .sum(), repr strings and state_dict keys."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import clgrad
from clgrad import nn

torch = pytest.importorskip("torch")
TNN = torch.nn


def _pair(a, grad):
    a = np.asarray(a)
    ours, ref = clgrad.tensor(a), torch.tensor(a)
    if grad:
        ours.requires_grad_()
        ref.requires_grad_()
    return ours, ref


def check_layer(name, args, kwargs, *arrays, rtol=1e-10, atol=1e-12):
    """nn.<name>(*args, **kwargs) in clgrad and torch on the same arrays: same repr, output
    and gradient of .sum() w.r.t. every float input (tensor args/kwargs become buffers)."""
    conv = [(clgrad.tensor(v), torch.tensor(v)) if isinstance(v, np.ndarray) else (v, v)
            for v in kwargs.values()]
    ours_kw = {k: c[0] for k, c in zip(kwargs, conv)}
    ref_kw = {k: c[1] for k, c in zip(kwargs, conv)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours_m = getattr(nn, name)(*args, **ours_kw)
        ref_m = getattr(TNN, name)(*args, **ref_kw)
    assert repr(ours_m) == repr(ref_m)
    assert list(ours_m.state_dict()) == list(ref_m.state_dict())
    grads = [np.asarray(a).dtype.kind == "f" for a in arrays]
    pairs = [_pair(a, g) for a, g in zip(arrays, grads)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = ours_m(*[p[0] for p in pairs])
        ref = ref_m(*[p[1] for p in pairs])
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol, atol=atol)
    assert tuple(out.shape) == tuple(ref.shape)
    if not ref.requires_grad:
        return ours_m
    out.sum().backward()
    ref.sum().backward()
    for i, (ours, theirs) in enumerate(pairs):
        if grads[i]:
            np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=rtol,
                                       atol=atol, err_msg=f"{name}: grad of input {i}")
    return ours_m


@pytest.fixture
def rng():
    return np.random.default_rng(11)


# -- activations -------------------------------------------------------------------------------
ACTIVATIONS = [
    ("ReLU", (), {}), ("ReLU", (), {"inplace": True}), ("ReLU6", (), {}),
    ("ReLU6", (True,), {}), ("LeakyReLU", (), {}), ("LeakyReLU", (0.2, True), {}),
    ("ELU", (), {}), ("ELU", (), {"alpha": 0.5, "inplace": True}), ("GELU", (), {}),
    ("GELU", (), {"approximate": "tanh"}), ("SiLU", (), {}), ("SiLU", (True,), {}),
    ("Sigmoid", (), {}), ("Tanh", (), {}), ("Softmax", (), {"dim": 1}),
    ("Softmax", (-1,), {}), ("LogSoftmax", (), {"dim": 0}), ("LogSoftmax", (2,), {}),
    ("Softplus", (), {}), ("Softplus", (2.0, 5.0), {}), ("Hardtanh", (), {}),
    ("Hardtanh", (-2.0, 0.5, True), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), ACTIVATIONS,
                         ids=[f"{n}{a}{k}" for n, a, k in ACTIVATIONS])
def test_activation(name, args, kwargs, rng):
    x = rng.normal(scale=4.0, size=(3, 4, 5))
    inplace = kwargs.get("inplace") or True in args
    if not inplace:
        check_layer(name, args, kwargs, x)
        return
    # in-place on a leaf is an error in torch: apply to a non-leaf and compare the leaf grads
    ours_m, ref_m = getattr(nn, name)(*args, **kwargs), getattr(TNN, name)(*args, **kwargs)
    assert repr(ours_m) == repr(ref_m)
    (a, ta) = _pair(x, True)
    out, ref = ours_m(a * 1.0), ref_m(ta * 1.0)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_activation_inplace_writes_input(rng):
    x = clgrad.tensor(rng.normal(size=(4, 4)))
    out = nn.ReLU(inplace=True)(x)
    assert (x.numpy() >= 0).all() and np.array_equal(out.numpy(), x.numpy())


def test_softmax_implicit_dim_warns_as_torch(rng):
    x = rng.normal(size=(2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = nn.Softmax()(clgrad.tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = TNN.Softmax()(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12)
    assert repr(nn.Softmax()) == repr(TNN.Softmax()) == "Softmax(dim=None)"


def test_activation_reprs_match_torch():
    for name, args, kwargs in [("ReLU6", (), {"inplace": True}), ("GELU", ("tanh",), {}),
                               ("Sigmoid", (), {}), ("LeakyReLU", (1,), {})]:
        assert repr(getattr(nn, name)(*args, **kwargs)) == repr(
            getattr(TNN, name)(*args, **kwargs))
    assert repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.ELU(inplace=True)) == "ELU(alpha=1.0, inplace=True)"


def test_hardtanh_bad_range():
    with pytest.raises(AssertionError, match=r"max_val \(1.0\) must be greater than min_val"):
        nn.Hardtanh(1.0, 1.0)


def test_activation_classes_are_distinct():
    assert not isinstance(nn.LogSoftmax(1), nn.Softmax)
    assert isinstance(nn.ReLU6(), nn.Hardtanh)          # as torch
    assert nn.ReLU6().min_val == 0.0 and nn.ReLU6().max_val == 6.0


# -- losses ------------------------------------------------------------------------------------
def _loss_cases(rng):
    x, y = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    logits = rng.normal(scale=2.0, size=(6, 4))
    labels = np.array([0, 3, 1, -100, 2, 3])
    probs = 1 / (1 + np.exp(-rng.normal(size=(3, 4))))
    bits = (rng.random((3, 4)) > 0.5).astype(np.float64)
    w4, pw = rng.random(4) + 0.5, rng.random(4) + 0.5
    logp = np.log(np.exp(logits) / np.exp(logits).sum(1, keepdims=True))
    q = np.exp(rng.normal(size=(6, 4)))
    q /= q.sum(1, keepdims=True)
    return [
        ("MSELoss", (), {}, x, y), ("MSELoss", (), {"reduction": "sum"}, x, y),
        ("L1Loss", (), {"reduction": "none"}, x, y), ("L1Loss", (None, False), {}, x, y),
        ("SmoothL1Loss", (), {"beta": 0.5}, x, y), ("HuberLoss", (), {"delta": 0.7}, x, y),
        ("HuberLoss", ("sum", 2), {}, x, y),
        ("CrossEntropyLoss", (), {}, logits, labels),
        ("CrossEntropyLoss", (), {"weight": w4, "label_smoothing": 0.1}, logits, labels),
        ("CrossEntropyLoss", (), {"reduction": "none", "ignore_index": 1}, logits,
         np.array([0, 3, 1, 1, 2, 3])),
        ("CrossEntropyLoss", (), {"reduction": "sum"}, logits, q),
        ("NLLLoss", (), {}, logp, labels),
        ("NLLLoss", (w4,), {"reduction": "sum"}, logp, labels),
        ("BCELoss", (), {}, probs, bits), ("BCELoss", (), {"weight": w4}, probs, bits),
        ("BCEWithLogitsLoss", (), {}, logits[:3], bits),
        ("BCEWithLogitsLoss", (), {"weight": w4, "pos_weight": pw}, logits[:3], bits),
        ("BCEWithLogitsLoss", (), {"pos_weight": pw, "reduction": "none"}, logits[:3], bits),
        ("KLDivLoss", (), {"reduction": "batchmean"}, logp, q),
        ("KLDivLoss", (), {"reduction": "sum", "log_target": True}, logp, np.log(q)),
        ("KLDivLoss", (), {}, logp, q),
    ]


def test_losses_match_torch(rng):
    for name, args, kwargs, *arrays in _loss_cases(rng):
        args = tuple(clgrad.tensor(a) if isinstance(a, np.ndarray) else a for a in args)
        if any(isinstance(a, clgrad.Tensor) for a in args):      # weight given positionally
            kwargs = {"weight": args[0].numpy(), **kwargs}
            args = args[1:]
        check_layer(name, args, kwargs, *arrays)


def test_loss_reprs_and_buffers():
    w = clgrad.tensor([1.0, 2.0])
    for name in ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss",
                 "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "KLDivLoss"):
        assert repr(getattr(nn, name)()) == repr(getattr(TNN, name)()) == f"{name}()"
        assert list(getattr(nn, name)().state_dict()) == []
    ce = nn.CrossEntropyLoss(weight=w)
    assert list(ce.state_dict()) == ["weight"] and ce.weight is w
    assert list(dict(ce.named_buffers())) == ["weight"]
    bce = nn.BCEWithLogitsLoss(pos_weight=w)
    assert list(bce.state_dict()) == list(
        TNN.BCEWithLogitsLoss(pos_weight=torch.ones(2)).state_dict()) == ["pos_weight"]
    assert "weight" in bce._buffers and bce.weight is None
    assert list(nn.BCEWithLogitsLoss(w, pos_weight=w).state_dict()) == ["weight", "pos_weight"]
    moved = nn.NLLLoss(weight=clgrad.tensor([1.0, 2.0], dtype=clgrad.float32)).double()
    assert moved.weight.dtype == clgrad.float64


def test_loss_options_stored(rng):
    ce = nn.CrossEntropyLoss(ignore_index=3, reduction="sum", label_smoothing=0.2)
    assert (ce.ignore_index, ce.reduction, ce.label_smoothing) == (3, "sum", 0.2)
    assert nn.SmoothL1Loss(beta=0.3).beta == 0.3 and nn.HuberLoss(delta=2).delta == 2
    assert nn.KLDivLoss(log_target=True).log_target is True


def test_loss_legacy_reduction_warns():
    for size_average, reduce, want in [(False, None, "sum"), (None, False, "none"),
                                       (True, True, "mean")]:
        with pytest.warns(UserWarning, match=f"please use reduction='{want}'"):
            assert nn.MSELoss(size_average, reduce).reduction == want
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert TNN.MSELoss(size_average, reduce).reduction == want


def test_loss_errors(rng):
    with pytest.raises(TypeError, match="delta must be a float or int"):
        nn.HuberLoss(delta="1")
    bad = nn.L1Loss(reduction="avg")      # as torch: checked when called
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        bad(clgrad.tensor([1.0]), clgrad.tensor([2.0]))
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        nn.CrossEntropyLoss()(clgrad.tensor(rng.normal(size=(2, 3))), clgrad.tensor([0, 7]))


# -- dropout -----------------------------------------------------------------------------------
def test_dropout_repr_and_bad_p():
    for kwargs in ({}, {"p": 0.2, "inplace": True}):
        assert repr(nn.Dropout(**kwargs)) == repr(TNN.Dropout(**kwargs))
    assert repr(nn.Dropout()) == "Dropout(p=0.5, inplace=False)"
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match=f"has to be between 0 and 1, but got {p}"):
            nn.Dropout(p)


def test_dropout_eval_is_identity(rng):
    x = clgrad.tensor(rng.normal(size=(8, 8)))
    m = nn.Dropout(0.9).eval()
    assert not m.training and m(x) is x


def test_dropout_training_statistics_and_grad(rng):
    p = 0.3
    x = clgrad.ones((200, 200), dtype=clgrad.float64).requires_grad_()
    out = nn.Dropout(p)(x)
    values = out.detach().numpy()
    assert set(np.unique(values)) <= {0.0, 1 / (1 - p)}
    zeroed = (values == 0).mean()
    assert abs(zeroed - p) < 0.02
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)    # grad is the mask * 1/(1-p)


def test_dropout_seeded_reproducible_and_inplace(rng):
    x = clgrad.tensor(rng.normal(size=(16, 16)))
    m = nn.Dropout(0.5)
    clgrad.manual_seed(123)
    a = m(x).numpy()
    clgrad.manual_seed(123)
    b = m(x).numpy()
    c = m(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)
    y = x.clone()
    out = nn.Dropout(0.5, inplace=True)(y)
    np.testing.assert_array_equal(y.numpy(), out.numpy())
    assert nn.Dropout(1.0)(x).numpy().sum() == 0


def test_dropout_follows_module_train_eval():
    seq = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    assert seq.eval()[1].training is False
    assert seq.train()[1].training is True


# -- embedding ---------------------------------------------------------------------------------
def _embedding_pair(rng, rows, dim, **kwargs):
    w = rng.normal(size=(rows, dim))
    ours = nn.Embedding(rows, dim, _weight=clgrad.tensor(w), **kwargs)
    ref = TNN.Embedding(rows, dim, _weight=torch.tensor(w), **kwargs)
    return ours, ref


@pytest.mark.parametrize("padding_idx", [None, 0, 2, -1])
def test_embedding_matches_torch(rng, padding_idx):
    ours, ref = _embedding_pair(rng, 6, 3, padding_idx=padding_idx)
    assert repr(ours) == repr(ref)
    assert ours.padding_idx == ref.padding_idx
    assert list(ours.state_dict()) == list(ref.state_dict()) == ["weight"]
    idx = np.array([[0, 2, 5, 2], [5, 1, 0, 0], [3, 2, 4, 1]])
    out, tout = ours(clgrad.tensor(idx)), ref(torch.tensor(idx))
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    grad = rng.normal(size=out.shape)
    (out * clgrad.tensor(grad)).sum().backward()
    (tout * torch.tensor(grad)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), ref.weight.grad.numpy(), rtol=1e-12,
                               atol=1e-14)
    if padding_idx is not None:
        assert not ours.weight.grad.numpy()[padding_idx].any()


def test_embedding_init_and_repr(rng):
    clgrad.manual_seed(0)
    emb = nn.Embedding(400, 50, padding_idx=3)
    w = emb.weight.detach().numpy()
    assert emb.weight.requires_grad and w.shape == (400, 50)
    assert not w[3].any()
    rest = np.delete(w, 3, axis=0)
    assert abs(rest.mean()) < 0.02 and abs(rest.std() - 1) < 0.02
    assert repr(emb) == repr(TNN.Embedding(400, 50, padding_idx=3)) == \
        "Embedding(400, 50, padding_idx=3)"
    assert repr(nn.Embedding(4, 2, norm_type=1.0)) == repr(TNN.Embedding(4, 2, norm_type=1.0))
    assert nn.Embedding(4, 2, dtype=clgrad.float64).weight.dtype == clgrad.float64
    assert not nn.Embedding(4, 2, _freeze=True).weight.requires_grad


def test_embedding_from_pretrained(rng):
    w = rng.normal(size=(5, 2))
    emb = nn.Embedding.from_pretrained(clgrad.tensor(w), padding_idx=1)
    ref = TNN.Embedding.from_pretrained(torch.tensor(w), padding_idx=1)
    assert repr(emb) == repr(ref) and not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(clgrad.tensor([1, 4])).numpy(),
                                  ref(torch.tensor([1, 4])).numpy())
    assert nn.Embedding.from_pretrained(clgrad.tensor(w), freeze=False).weight.requires_grad
    with pytest.raises(AssertionError, match="expected to be 2-dimensional"):
        nn.Embedding.from_pretrained(clgrad.tensor(w[0]))


def test_embedding_int32_and_empty_indices(rng):
    ours, ref = _embedding_pair(rng, 4, 3)
    idx = np.array([3, 0, 1], dtype=np.int32)
    np.testing.assert_array_equal(ours(clgrad.tensor(idx)).detach().numpy(),
                                  ref(torch.tensor(idx)).detach().numpy())
    empty = ours(clgrad.tensor(np.zeros((2, 0), dtype=np.int64)))
    assert tuple(empty.shape) == tuple(ref(torch.zeros((2, 0), dtype=torch.int64)).shape)


def test_embedding_errors(rng):
    emb = nn.Embedding(4, 2)
    for bad in ([4], [0, -1]):
        with pytest.raises(IndexError, match="index out of range in self"):
            emb(clgrad.tensor(bad))
        with pytest.raises(IndexError, match="index out of range in self"):
            TNN.Embedding(4, 2)(torch.tensor(bad))
    with pytest.raises(RuntimeError, match="expected indices of type Long or Int, but got "
                                           "Float"):
        emb(clgrad.tensor([1.0]))
    for padding_idx in (4, -5):
        with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
            nn.Embedding(4, 2, padding_idx=padding_idx)
    with pytest.raises(AssertionError, match="Shape of weight does not match"):
        nn.Embedding(4, 2, _weight=clgrad.zeros((2, 4)))
    for option in ({"max_norm": 1.0}, {"scale_grad_by_freq": True}, {"sparse": True}):
        name = next(iter(option))
        with pytest.raises(NotImplementedError, match=f"embedding\\({name}="):
            nn.Embedding(4, 2, **option)
        with pytest.raises(NotImplementedError, match=name):
            nn.functional.embedding(clgrad.tensor([1]), emb.weight, **option)
