"""Soak: 10,000 training steps of a small MLP (raw tensors, no nn) must not leak.

Bytes and blocks in use by tensors (`memory_stats()`), and the number of live `Storage`
objects (each owns one OpenCL buffer), are recorded after step 100 and step 10,000 and at
their maximum in between: after warm-up they stay flat. Sized to run in well under a minute
on the pocl CPU device; `pytest -s` prints the figures.
"""
import gc
import time

import numpy as np

import clgrad
from clgrad.tensor.storage import Storage

STEPS = 10_000
WARMUP = 100
COUNT_EVERY = 499     # storages are counted with gc (~50 ms a scan); odd and even steps


def _live_storages() -> int:
    return sum(1 for obj in gc.get_objects() if type(obj) is Storage)


def _snapshot(count_storages: bool = True) -> dict:
    stats = clgrad.memory_stats()
    snap = {"bytes_in_use": stats["bytes_in_use"], "blocks_in_use": stats["blocks_in_use"],
            "bytes_cached": stats["bytes_cached"]}
    if count_storages:
        snap["storages"] = _live_storages()
    return snap


def _mlp(rng):
    """Data (8x16 -> 4) and parameters of a 16 -> 16 -> 4 MLP, as float32 tensors."""
    x = clgrad.tensor(rng.standard_normal((8, 16)), dtype=clgrad.float32)
    y = clgrad.tensor(rng.standard_normal((8, 4)), dtype=clgrad.float32)
    params = [clgrad.tensor(rng.standard_normal(shape) * scale, dtype=clgrad.float32,
                            requires_grad=True)
              for shape, scale in (((16, 16), 0.25), ((16,), 0.0), ((16, 4), 0.25), ((4,), 0.0))]
    return x, y, params


def test_training_loop_keeps_memory_and_buffers_flat(rng):
    gc.collect()
    x, y, (w1, b1, w2, b2) = _mlp(rng)
    params = (w1, b1, w2, b2)
    lr = 0.05
    at = {}
    peak = {}
    start = time.perf_counter()
    for step in range(1, STEPS + 1):
        hidden = (x @ w1 + b1).relu()
        loss = ((hidden @ w2 + b2 - y) ** 2).mean()
        loss.backward()
        with clgrad.no_grad():
            for p in params:
                p -= lr * p.grad
        for p in params:        # alternate the two ways of clearing gradients
            if step % 2:
                p.grad = None
            else:
                p.grad.zero_()
        if step == 1:
            first_loss = loss.item()
        if step in (WARMUP, STEPS):
            gc.collect()            # what earlier tests left in cycles is not the loop's
            at[step] = _snapshot()
        if step > WARMUP:                 # every step, gradients set to None or zeroed
            for key, value in _snapshot(count_storages=step % COUNT_EVERY == 0).items():
                peak[key] = max(peak.get(key, 0), value)
    elapsed = time.perf_counter() - start
    last_loss = loss.item()

    print(f"\nsoak: {STEPS} steps in {elapsed:.1f} s ({elapsed / STEPS * 1e3:.2f} ms/step); "
          f"loss {first_loss:.4g} -> {last_loss:.3g}")
    for label, snap in ((f"step {WARMUP}", at[WARMUP]), (f"step {STEPS}", at[STEPS]),
                        ("max between", peak)):
        print(f"soak: {label:>11}: bytes_in_use {snap['bytes_in_use']}, blocks_in_use "
              f"{snap['blocks_in_use']}, bytes_cached {snap['bytes_cached']}, live storages "
              f"{snap['storages']}")

    assert at[STEPS]["bytes_in_use"] == at[WARMUP]["bytes_in_use"], at
    assert at[STEPS]["blocks_in_use"] == at[WARMUP]["blocks_in_use"], at
    assert at[STEPS]["storages"] == at[WARMUP]["storages"], at
    # between samples the figures move with the step's temporaries, never with the step count
    assert peak["bytes_in_use"] <= at[WARMUP]["bytes_in_use"] + 64 * 1024, (peak, at)
    assert peak["blocks_in_use"] <= at[WARMUP]["blocks_in_use"] + 64, (peak, at)
    assert peak["storages"] <= at[WARMUP]["storages"] + 64, (peak, at)
    assert peak["bytes_cached"] <= at[WARMUP]["bytes_cached"] + 256 * 1024, (peak, at)
    assert np.isfinite(last_loss) and last_loss < first_loss
