"""Linear regression with a custom autograd Function and a hand-written update loop.

Fits y = 3x + 2 + noise on a few hundred points. The model is a custom ``LinearFunction``
(an ``torch.autograd.Function`` with its own forward and backward); the loss is the usual
mean squared error, and the parameters are updated by hand inside ``torch.no_grad()``.

Run it as ``python examples/linear_regression.py [PNG_PATH]``. If matplotlib is installed the
data and the fitted line are saved to PNG_PATH (default ``linear_regression.png`` in the
current directory). The script exits non-zero if the learned slope or intercept is off.
"""

import sys

import clgrad as torch

TRUE_SLOPE, TRUE_INTERCEPT = 3.0, 2.0
TOLERANCE = 0.1


class LinearFunction(torch.autograd.Function):
    """y = x @ w.T + b, with the gradients written out by hand."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w.t() + b

    @staticmethod
    def backward(ctx, grad_out):
        x, w = ctx.saved_tensors
        grad_x = grad_out @ w if ctx.needs_input_grad[0] else None
        grad_w = grad_out.t() @ x if ctx.needs_input_grad[1] else None
        grad_b = grad_out.sum(0) if ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b


def make_data(n=300):
    x = torch.rand(n, 1) * 4 - 2
    y = TRUE_SLOPE * x + TRUE_INTERCEPT + 0.2 * torch.randn(n, 1)
    return x, y


def fit(x, y, steps=300, lr=0.1):
    w = torch.zeros(1, 1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    for step in range(steps):
        y_pred = LinearFunction.apply(x, w, b)
        loss = ((y_pred - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
            w.grad.zero_()
            b.grad.zero_()
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step:4d}  loss {loss.item():.4f}")
    return w.item(), b.item(), loss.item()


def save_plot(x, y, slope, intercept, path):
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed; skipping the plot")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = x.flatten().tolist()
    fig, ax = plt.subplots()
    ax.scatter(xs, y.flatten().tolist(), s=6, label="data")
    ends = [min(xs), max(xs)]
    ax.plot(ends, [slope * e + intercept for e in ends], color="red",
            label=f"fit: y = {slope:.2f}x + {intercept:.2f}")
    ax.legend()
    fig.savefig(path)
    plt.close(fig)
    print(f"saved plot to {path}")


def check_gradients():
    """Compare LinearFunction's hand-written backward with finite differences."""
    try:
        inputs = (torch.randn(5, 3, dtype=torch.float64, requires_grad=True),
                  torch.randn(2, 3, dtype=torch.float64, requires_grad=True),
                  torch.randn(2, dtype=torch.float64, requires_grad=True))
    except TypeError:  # the device has no float64 (cl_khr_fp64)
        print("float64 is not supported on this device; skipping gradcheck")
        return
    assert torch.autograd.gradcheck(LinearFunction.apply, inputs), "backward is wrong"
    print("gradcheck passed: LinearFunction.backward matches finite differences")


def main():
    torch.manual_seed(0)
    check_gradients()
    x, y = make_data()
    slope, intercept, loss = fit(x, y)
    print(f"learned y = {slope:.3f}x + {intercept:.3f}  (true: y = 3x + 2), final loss {loss:.4f}")
    save_plot(x, y, slope, intercept, sys.argv[1] if len(sys.argv) > 1 else "linear_regression.png")
    if abs(slope - TRUE_SLOPE) > TOLERANCE or abs(intercept - TRUE_INTERCEPT) > TOLERANCE:
        sys.exit(f"bad fit: slope {slope:.3f}, intercept {intercept:.3f} "
                 f"(want {TRUE_SLOPE} and {TRUE_INTERCEPT} within {TOLERANCE})")
    print("OK")


if __name__ == "__main__":
    main()
