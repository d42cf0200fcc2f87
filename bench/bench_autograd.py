"""Autograd training-step benchmarks on the default device, against PyTorch CPU in one run.

    python bench/bench_autograd.py

(a) linear regression on 8 samples with the hand-written update loop (forward mm + expand +
pow + sum, backward, `sub_` updates under no_grad, `zero_` of the grads); (b) forward and
backward of a 64x1000 -> 100 -> 10 ReLU net with an MSE loss. Prints the time per step
(best of several runs of many steps) and clgrad's ratio to PyTorch.
"""
from __future__ import annotations

import sys

import numpy as np
from bench_elementwise import best_time, header, torch

import clgrad


def _best(step, sync, steps: int) -> float:
    return best_time(step, sync, repeat=5, number=steps)


def linear_regression(lib, sync) -> float:
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((8, 1)), dtype=lib.float32)
    y = 3 * x + 2
    w = lib.tensor(rng.standard_normal((1, 1)), dtype=lib.float32).requires_grad_()
    b = lib.tensor(rng.standard_normal(1), dtype=lib.float32).requires_grad_()

    def step():
        loss = (x.mm(w) + b.expand(8, 1) - y).pow(2).sum()
        loss.backward()
        with lib.no_grad():
            w.sub_(0.01 * w.grad)
            b.sub_(0.01 * b.grad)
            w.grad.zero_()
            b.grad.zero_()
    return _best(step, sync, 200)


def two_layer_net(lib, sync) -> float:
    rng = np.random.default_rng(1)
    x = lib.tensor(rng.standard_normal((64, 1000)), dtype=lib.float32)
    t = lib.tensor(rng.standard_normal((64, 10)), dtype=lib.float32)
    w1 = lib.tensor(rng.standard_normal((1000, 100)) * 0.03, dtype=lib.float32)
    w2 = lib.tensor(rng.standard_normal((100, 10)) * 0.1, dtype=lib.float32)
    w1.requires_grad_()
    w2.requires_grad_()

    def step():
        loss = (x.mm(w1).relu().mm(w2) - t).pow(2).mean()
        loss.backward()
        w1.grad = None
        w2.grad = None
    return _best(step, sync, 50)


def main(argv) -> None:
    dev = clgrad.runtime.default_device()
    print(header())
    print("| benchmark (time per step) | clgrad | PyTorch CPU | clgrad / PyTorch | target |")
    print("|---|---|---|---|---|")
    for name, fn, target in (("(a) linear regression, 8 samples", linear_regression, "<= 2x"),
                             ("(b) 64x1000 -> 100 -> 10 ReLU net, fwd+bwd", two_layer_net,
                              "<= 1.5x")):
        ours = fn(clgrad, dev.synchronize)
        ref = fn(torch, lambda: None) if torch is not None else float("nan")
        print(f"| {name} | {ours * 1e6:.0f} us | {ref * 1e6:.0f} us | {ours / ref:.2f}x | "
              f"{target} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
