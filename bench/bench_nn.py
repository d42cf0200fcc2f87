"""Training-step benchmarks of examples/digits.py's models, against PyTorch CPU in one run.

    python bench/bench_nn.py

One step is what the example does per batch: forward, cross-entropy loss, backward, Adam
step and zero_grad, on a batch of 64 random 8x8 one-channel images with random labels. (a) is
the MLP (64 -> 128 -> 10), (b) the small CNN (two Conv2d 3x3 + ReLU + MaxPool2d(2) blocks,
16 and 32 channels, then Linear(128, 10)). Prints the time per step (best of several runs of
many steps) on clgrad's default device and on PyTorch CPU, and clgrad's ratio to PyTorch.
"""
from __future__ import annotations

import sys

import numpy as np
from bench_elementwise import best_time, header, torch

import clgrad

BATCH = 64


def mlp(nn):
    """examples/digits.py's MLP, built from `nn` (clgrad.nn or torch.nn)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def cnn(nn):
    """examples/digits.py's CNN, built from `nn` (clgrad.nn or torch.nn)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 10))


def train_step(lib, build, sync, steps: int) -> float:
    """Best time (s) of one training step of build(lib.nn) with Adam on one fixed batch."""
    rng = np.random.default_rng(0)
    images = lib.tensor(rng.standard_normal((BATCH, 1, 8, 8)), dtype=lib.float32)
    labels = lib.tensor(rng.integers(0, 10, BATCH), dtype=lib.int64)
    lib.manual_seed(0)
    model = build(lib.nn)
    loss_fn = lib.nn.CrossEntropyLoss()
    optimizer = lib.optim.Adam(model.parameters(), lr=5e-3)

    def step():
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return best_time(step, sync, repeat=5, number=steps)


def main(argv) -> None:
    dev = clgrad.runtime.default_device()
    print(header())
    print(f"| training step, batch {BATCH}, Adam | clgrad | PyTorch CPU | clgrad / PyTorch | "
          f"target |")
    print("|---|---|---|---|---|")
    for name, build, steps, target in (
            ("(a) MLP 64 -> 128 -> 10", mlp, 100, "<= 1.5x"),
            ("(b) CNN 2x (Conv2d 3x3, ReLU, MaxPool2d) -> Linear", cnn, 30, "<= 3x")):
        ours = train_step(clgrad, build, dev.synchronize, steps)
        ref = train_step(torch, build, lambda: None, steps) if torch else float("nan")
        print(f"| {name} | {ours * 1e6:.0f} us | {ref * 1e6:.0f} us | {ours / ref:.2f}x | "
              f"{target} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
