"""Where .grad comes from: a fresh gradient only the engine holds is taken as it is (also
through the double transpose of x @ W.T's weight gradient); anything someone else can see is
copied, laid out like the parameter."""
import numpy as np
import pytest

import clgrad
from clgrad import nn


def test_linear_weight_grad_is_dense_and_right():
    torch = __import__("pytest").importorskip("torch")
    layer = nn.Linear(4, 3).double()
    x = np.random.default_rng(0).standard_normal((5, 4))
    layer(clgrad.tensor(x)).pow(2).sum().backward()
    ref = torch.nn.Linear(4, 3).double()
    ref.load_state_dict({k: torch.tensor(v.detach().numpy())
                         for k, v in layer.state_dict().items()})
    ref(torch.tensor(x)).pow(2).sum().backward()
    assert layer.weight.grad.is_contiguous()
    np.testing.assert_allclose(layer.weight.grad.numpy(), ref.weight.grad.numpy(), atol=1e-12)


def test_taken_gradient_is_not_shared_with_a_hook():
    """A hook that keeps the gradient it saw still holds its own values after .grad is
    changed in place."""
    layer = nn.Linear(3, 2, bias=False).double()
    seen = []
    layer.weight.register_hook(lambda g: seen.append(g))
    layer(clgrad.ones(4, 3, dtype=clgrad.float64)).sum().backward()
    before = seen[0].numpy().copy()
    layer.weight.grad.add_(100)
    np.testing.assert_array_equal(seen[0].numpy(), before)
    np.testing.assert_allclose(layer.weight.grad.numpy(), before + 100)


def test_accumulates_across_backwards():
    w = clgrad.ones(3, 2, dtype=clgrad.float64, requires_grad=True)
    x = clgrad.ones(5, 2, dtype=clgrad.float64)
    for _ in range(3):
        (x @ w.t()).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.full((3, 2), 15.0))


@pytest.mark.parametrize("make", [
    lambda lib: lib.ones(3, 4).t(),                     # dense, transposed
    lambda lib: lib.ones(2, 3, 4).permute(2, 0, 1),     # dense, permuted
    lambda lib: lib.ones(4, 6)[:, ::2],                 # not dense: contiguous .grad
    lambda lib: lib.ones(1, 5).expand(1, 5),            # size-1 dim with any stride
])
@pytest.mark.parametrize("expr", [lambda p: p * 2, lambda p: p.t().contiguous().t() * 2
                                  if p.dim() == 2 else p.contiguous() * 2])
def test_grad_of_a_strided_parameter_has_pytorchs_layout(make, expr):
    """PyTorch's layout contract: a dense parameter's .grad has its strides, any other's is
    contiguous, whether the gradient was stolen or copied."""
    torch = pytest.importorskip("torch")
    got = {}
    for lib in (clgrad, torch):
        p = make(lib).detach().requires_grad_()
        expr(p).sum().backward()
        got[lib] = (p.grad.stride(), p.grad.tolist())
    assert got[clgrad] == got[torch]
