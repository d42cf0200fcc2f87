"""Handwritten digits (8x8 images) classified by an MLP and by a small CNN.

The 1,797 digits shipped with scikit-learn (``sklearn.datasets.load_digits``, pixel values
0..16) are split 80/20 into a training and a held-out test set with a fixed seed. Two models
are trained with ``torch.nn``, ``torch.optim.Adam`` and a shuffling
``torch.utils.data.DataLoader`` (seeded generator):

(a) an MLP: Flatten -> Linear(64, 128) -> ReLU -> Linear(128, 10);
(b) a CNN: two Conv2d(3x3, padding=1) + ReLU + MaxPool2d(2) blocks, then Linear(128, 10).

A progress bar per epoch goes to stderr. The script exits non-zero unless each model
classifies at least 95% of the test set correctly. scikit-learn is optional: without it the
script says how to install it and ends with a SKIPPED line instead of OK.

    python examples/digits.py           # on clgrad (CLGRAD_DEVICE picks the device)
    python examples/digits.py --torch   # the same program on PyTorch, for comparison
"""

import sys
import time

if "--torch" in sys.argv[1:]:
    import torch
else:
    import clgrad as torch

try:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
except ImportError:
    load_digits = None

nn = torch.nn
EPOCHS = 8
BATCH_SIZE = 64
LEARNING_RATE = 5e-3
MIN_ACCURACY = 0.95
BAR_WIDTH = 30


def load_data():
    """Train and test TensorDatasets of (N, 1, 8, 8) images scaled to mean 0, std 1."""
    images, labels = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=0.2, random_state=0, stratify=labels)
    mean, std = x_train.mean(), x_train.std()  # over the training pixels only

    def dataset(x, y):
        x = torch.tensor((x - mean) / std, dtype=torch.float32).view(-1, 1, 8, 8)
        return torch.utils.data.TensorDataset(x, torch.tensor(y, dtype=torch.int64))
    return dataset(x_train, y_train), dataset(x_test, y_test)


def mlp():
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),   # 16 x 8 x 8
        nn.ReLU(),
        nn.MaxPool2d(2),                  # 16 x 4 x 4
        nn.Conv2d(16, 32, 3, padding=1),  # 32 x 4 x 4
        nn.ReLU(),
        nn.MaxPool2d(2),                  # 32 x 2 x 2
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, 10),
    )


def progress(epoch, step, steps, loss):
    """Redraw this epoch's bar on stderr (only its final state when stderr is not a terminal)."""
    if step < steps and not sys.stderr.isatty():
        return
    filled = BAR_WIDTH * step // steps
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    print(f"\r  epoch {epoch:2d}/{EPOCHS} [{bar}] {step:3d}/{steps} loss {loss:.4f}",
          end="\n" if step == steps else "", file=sys.stderr, flush=True)


def train(model, train_set):
    loader = torch.utils.data.DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    model.train()
    for epoch in range(1, EPOCHS + 1):
        total_loss = 0.0
        for step, (images, labels) in enumerate(loader, 1):
            loss = loss_fn(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item()
            progress(epoch, step, len(loader), total_loss / step)


def accuracy(model, test_set):
    images, labels = test_set.tensors
    model.eval()
    with torch.no_grad():
        predicted = model(images).argmax(dim=1)
    return (predicted == labels).float().mean().item()


def main():
    if load_digits is None:
        print("This example needs scikit-learn for its dataset: pip install scikit-learn")
        print("SKIPPED (scikit-learn not installed)")
        return
    torch.manual_seed(0)
    train_set, test_set = load_data()
    print(f"{len(train_set)} training and {len(test_set)} test images of 8x8 pixels")
    failures = []
    for name, build in (("(a) MLP", mlp), ("(b) CNN", cnn)):
        print(name)
        torch.manual_seed(0)
        model = build()
        start = time.perf_counter()
        train(model, train_set)
        seconds = time.perf_counter() - start
        acc = accuracy(model, test_set)
        print(f"  test accuracy {acc:.1%} after {EPOCHS} epochs ({seconds:.1f} s)")
        if not acc >= MIN_ACCURACY:
            failures.append(f"{name}: test accuracy {acc:.1%} (want >= {MIN_ACCURACY:.0%})")
    if failures:
        sys.exit("\n".join(failures))
    print("OK")


if __name__ == "__main__":
    main()
