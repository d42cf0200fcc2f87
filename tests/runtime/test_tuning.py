"""Matmul configurations (clgrad/runtime/tuning.py): the built-in table, the template's
defaults, the tuner's reference check, the on-disk store and its use by later matmuls.

Every test points CLGRAD_CACHE_DIR at its tmp_path, so the user's cache is never touched.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import clgrad
from clgrad.runtime import program, tuning
from clgrad.runtime.tuning import Config

SMALL = [Config(4, 16, 2, 1, 1, 8, False, True), Config(8, 8, 4, 2, 2, 1, True, False)]


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CLGRAD_CACHE_DIR", str(tmp_path))
    dev = clgrad.runtime.default_device()
    tuning.forget(dev)
    yield tmp_path
    tuning.forget(dev)


@pytest.fixture
def dev():
    return clgrad.runtime.default_device()


def test_template_renders_and_builds_with_defaults(dev):
    source = program.render("matmul.cl")
    assert "__kernel void matmul(" in source
    program.build(dev, source, "matmul")


@pytest.mark.parametrize("cfg", sorted(set(tuning.BUILTIN.values()) | set(tuning.VECTOR.values())
                                       | set(tuning.NARROW.values())
                                       | {Config(64, 64, 32, 4, 4, 4, True, True)}),
                         ids=lambda c: c.describe())
def test_builtin_configs_correct_at_odd_sizes(dev, cfg):
    rng = np.random.default_rng(0)
    kernel = tuning.matmul_kernel(dev, "float", "float", cfg, (True, False, True, True, True))
    for m, n, k in ((1, 1, 1), (67, 3, 5), (5, 131, 66)):
        problem = tuning._Problem(dev, np.dtype(np.float32), m, n, k, rng)
        assert problem.correct(dev, kernel, cfg), (m, n, k)


def test_parameters_are_part_of_the_kernel_key(dev):
    kernels = [tuning.matmul_kernel(dev, "float", "float", c, (True,) * 5) for c in SMALL]
    assert kernels[0] is not kernels[1]
    keys = [k for k in dev.kernels if isinstance(k, tuple) and k[0] == "matmul"]
    assert {k[3] for k in keys} >= set(SMALL)


def test_tune_stores_winner_and_matmul_uses_it(dev, cache_dir):
    assert tuning.config_for(dev, np.float32) == tuning.builtin_config(dev)
    best = clgrad.runtime.tune_matmul(sizes=[(33, 17, 9)], candidates=SMALL, repeat=1)
    assert best in SMALL
    store = json.loads((cache_dir / tuning.STORE).read_text())
    (key, entry), = store.items()
    assert dev.name in key and dev.driver_version in key and key.endswith("float32")
    assert Config(**entry["config"]) == best
    assert tuning.config_for(dev, clgrad.float32) == best
    a = np.random.default_rng(1).random((5, 7), dtype=np.float32)
    got = clgrad.tensor(a) @ clgrad.tensor(a.T.copy())
    np.testing.assert_allclose(got.numpy(), a @ a.T, rtol=1e-5)
    used = [v[1] for k, v in dev.kernels.items() if k[:2] == ("mm", clgrad.float32)]
    assert used and all(c == best for c in used)


def test_candidates_are_checked_before_timing(dev, monkeypatch):
    broken = SMALL[0]
    real = tuning.launch

    def launch(device, kernel, cfg, *args):
        if cfg != broken:                # the broken candidate writes nothing: instant, wrong
            real(device, kernel, cfg, *args)
    monkeypatch.setattr(tuning, "launch", launch)
    best = tuning.tune_matmul(dev, sizes=[16], candidates=[broken, SMALL[1]], repeat=1)
    assert best != broken


def test_store_keyed_by_dtype_and_tolerates_corruption(dev, cache_dir):
    tuning.tune_matmul(dev, dtype="int32", sizes=[8], candidates=SMALL[:1], repeat=1)
    store = json.loads((cache_dir / tuning.STORE).read_text())
    assert [k.rsplit("|", 1)[1] for k in store] == ["int32"]
    assert tuning.config_for(dev, np.float32) == tuning.builtin_config(dev)
    (cache_dir / tuning.STORE).write_text("{not json")
    assert tuning.config_for(dev, np.int32) == tuning.builtin_config(dev)


def test_no_working_candidate_raises(dev):
    with pytest.raises(RuntimeError, match="no candidate"):
        tuning.tune_matmul(dev, sizes=[8], candidates=[Config(5, 16, 1, 2, 1, 16, False, True)],
                           repeat=1)
