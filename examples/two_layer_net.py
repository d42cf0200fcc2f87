"""The classic two-layer ReLU network, trained three ways.

A fully connected net maps 64 random inputs of size 1000 through a hidden layer of 100 ReLU
units to 10 outputs, and is fitted to random targets by minimising the summed squared error:

(a) raw tensors: weights with ``requires_grad=True``, autograd for the gradients, and
    hand-written gradient-descent updates inside ``torch.no_grad()``;
(b) the same, with ReLU as a custom ``torch.autograd.Function``;
(c) ``torch.nn.Sequential`` + ``torch.nn.MSELoss(reduction="sum")`` + ``torch.optim.SGD``.

The script exits non-zero if any loss did not drop by a large factor, or if (a) and (b), which
start from the same weights, do not follow the same loss curve.
"""

import sys

import clgrad as torch

N, D_IN, H, D_OUT = 64, 1000, 100, 10
STEPS = 200
LEARNING_RATE = 1e-6
PRINT_EVERY = 50
MIN_DROP = 100.0  # the final loss must be at least this many times smaller than the first


class MyReLU(torch.autograd.Function):
    """ReLU with a hand-written backward: the gradient passes where the input was positive."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[x < 0] = 0
        return grad_input


def train_manual(x, y, relu):
    """Variants (a) and (b): raw weights, autograd, manual updates; returns the losses."""
    w1 = torch.randn(D_IN, H, requires_grad=True)
    w2 = torch.randn(H, D_OUT, requires_grad=True)
    losses = []
    for step in range(STEPS):
        y_pred = relu(x.mm(w1)).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        report(step, losses[-1])
        loss.backward()
        with torch.no_grad():
            w1 -= LEARNING_RATE * w1.grad
            w2 -= LEARNING_RATE * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    return losses


def train_nn(x, y):
    """Variant (c): nn.Sequential, nn.MSELoss and optim.SGD; returns the losses."""
    model = torch.nn.Sequential(
        torch.nn.Linear(D_IN, H),
        torch.nn.ReLU(),
        torch.nn.Linear(H, D_OUT),
    )
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    losses = []
    for step in range(STEPS):
        loss = loss_fn(model(x), y)
        losses.append(loss.item())
        report(step, losses[-1])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses


def report(step, loss):
    if step % PRINT_EVERY == 0 or step == STEPS - 1:
        print(f"  step {step:4d}  loss {loss:.4f}")


def main():
    torch.manual_seed(0)
    x = torch.randn(N, D_IN)
    y = torch.randn(N, D_OUT)
    variants = {
        "(a) tensors and autograd": lambda: train_manual(x, y, torch.relu),
        "(b) custom ReLU Function": lambda: train_manual(x, y, MyReLU.apply),
        "(c) nn.Sequential + optim.SGD": lambda: train_nn(x, y),
    }
    failures = []
    history = {}
    for name, train in variants.items():
        print(name)
        torch.manual_seed(1)  # the same initial weights for (a) and (b)
        losses = history[name] = train()
        drop = losses[0] / max(losses[-1], 1e-12)
        print(f"  loss {losses[0]:.1f} -> {losses[-1]:.4f} ({drop:.0f}x smaller)")
        if not drop >= MIN_DROP:
            failures.append(f"{name}: loss only dropped {drop:.1f}x (want >= {MIN_DROP:.0f}x)")
    # (a) and (b) compute the same function from the same weights, so their losses must agree.
    a, b = history["(a) tensors and autograd"], history["(b) custom ReLU Function"]
    if any(abs(la - lb) > 1e-3 * max(la, 1.0) for la, lb in zip(a, b)):
        failures.append("the custom ReLU Function trained differently from torch.relu")
    if failures:
        sys.exit("\n".join(failures))
    print("OK")


if __name__ == "__main__":
    main()
