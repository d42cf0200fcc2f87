"""The caching allocator's cap and out-of-memory recovery (clgrad/runtime/memory.py).

Every test runs under a cap a few hundred KiB above what the pool holds when it starts, so
running out of memory is cheap and never depends on the machine's real memory.
"""
import gc
import os
import subprocess
import sys

import pyopencl as cl
import pytest
from pyopencl import _cl

import clgrad
from clgrad.runtime import OutOfMemoryError, config, get_memory_limit, set_memory_limit

KIB = 1024


@pytest.fixture
def dev():
    return clgrad.runtime.default_device()


@pytest.fixture
def held(dev):
    """The bytes the pool holds with an empty cache; every cap is set relative to it. The cap
    is removed and the cache emptied afterwards."""
    gc.collect()
    clgrad.runtime.empty_cache()
    stats = clgrad.memory_stats()
    yield stats["bytes_in_use"] + stats["bytes_cached"]
    set_memory_limit(None)
    gc.collect()
    clgrad.runtime.empty_cache()


def _in_use():
    stats = clgrad.memory_stats()
    return stats["bytes_in_use"], stats["blocks_in_use"]


def _still_works():
    assert (clgrad.arange(5.0) * 2 + 1).tolist() == [1.0, 3.0, 5.0, 7.0, 9.0]


# -- a cap set through the API -----------------------------------------------------------
def test_over_the_cap_raises_naming_requested_in_use_and_limit(held):
    limit = held + 1024 * KIB
    set_memory_limit(limit)
    assert get_memory_limit() == limit
    kept = clgrad.empty(128 * KIB)                       # 512 KiB of float32: fits
    in_use, blocks = _in_use()
    with pytest.raises(OutOfMemoryError) as info:
        clgrad.empty(200_000)                            # 800,000 more bytes: does not
    message = str(info.value)
    assert isinstance(info.value, RuntimeError) and clgrad.OutOfMemoryError is OutOfMemoryError
    assert "out of memory allocating 800000 bytes" in message
    assert f"{in_use} bytes are in use by tensors" in message
    assert f"the memory limit is {limit} bytes" in message and "set_memory_limit" in message
    assert _in_use() == (in_use, blocks)                 # the failure allocated nothing
    _still_works()
    assert kept.shape == (128 * KIB,)


def test_the_cache_is_emptied_and_the_allocation_retried(held):
    set_memory_limit(held + 1024 * KIB)
    cached = clgrad.empty(150_000)                       # 600 KB, then back into the cache
    del cached
    gc.collect()
    assert clgrad.memory_stats()["blocks_cached"] >= 1
    in_use, blocks = _in_use()
    fresh = clgrad.empty(160_000)    # another size class: fits only once the cache is freed
    stats = clgrad.memory_stats()
    assert stats["blocks_cached"] == 0
    assert (stats["bytes_in_use"], stats["blocks_in_use"]) == (in_use + 640_000, blocks + 1)
    del fresh


def test_the_message_says_the_cache_was_freed_when_it_did_not_help(held):
    set_memory_limit(held + 1024 * KIB)
    cached = clgrad.empty(100_000)
    del cached
    gc.collect()
    with pytest.raises(OutOfMemoryError, match="cached bytes were freed and the allocation "
                                               "retried") as info:
        clgrad.empty(300_000)
    assert "out of memory allocating 1200000 bytes" in str(info.value)
    assert clgrad.memory_stats()["blocks_cached"] == 0
    _still_works()


def test_removing_the_cap_restores_normal_behaviour(held):
    set_memory_limit(held + 256 * KIB)
    with pytest.raises(OutOfMemoryError):
        clgrad.empty(100_000)
    set_memory_limit(None)
    assert get_memory_limit() is None
    x = clgrad.ones(100_000)
    assert float(x.sum()) == 100_000.0
    del x
    _still_works()


def test_the_cap_is_per_device_and_accepts_a_device_and_a_size_string(held, dev):
    set_memory_limit("512M", device=str(dev))
    assert get_memory_limit(dev) == 512 * 2**20 == get_memory_limit()


@pytest.mark.parametrize(("value", "error", "match"), [
    ("lots", ValueError, "'lots' is not a byte count"),
    (-1, ValueError, "must be positive, got -1"),
    (0, ValueError, "must be positive, got 0"),
    (1.5, TypeError, "must be an int.*got float"),
    (True, TypeError, "got bool"),
])
def test_a_bad_cap_raises_naming_the_value(held, value, error, match):
    with pytest.raises(error, match=match):
        set_memory_limit(value)
    assert get_memory_limit() is None


# -- the device's own limits (enforced before the driver is asked) --------------------------
def test_a_huge_allocation_raises_at_once_naming_the_single_allocation_limit(dev):
    # pocl would hand out such a buffer lazily (Linux overcommits) and fail only when the
    # pages are touched, so the allocator checks CL_DEVICE_MAX_MEM_ALLOC_SIZE itself.
    before = _in_use()
    with pytest.raises(OutOfMemoryError) as info:
        clgrad.empty(1 << 45, dtype=clgrad.uint8)
    message = str(info.value)
    assert f"out of memory allocating {1 << 45} bytes" in message
    assert f"CL_DEVICE_MAX_MEM_ALLOC_SIZE) is {dev.cl_device.max_mem_alloc_size} bytes" in message
    assert _in_use() == before
    _still_works()


def test_without_a_cap_the_device_memory_size_is_the_ceiling(held, dev, monkeypatch):
    # A device with 256 KiB more than the pool holds: stands in for filling real memory.
    monkeypatch.setattr(dev, "global_mem_size", held + 256 * KIB)
    set_memory_limit(None)                     # the ceiling follows the device's size
    with pytest.raises(OutOfMemoryError, match=f"the device has {held + 256 * KIB} bytes "
                                               r"\(CL_DEVICE_GLOBAL_MEM_SIZE\)"):
        clgrad.empty(100_000)
    set_memory_limit(held + 10 * 2**20)        # a cap above the device's size does not lift it
    with pytest.raises(OutOfMemoryError, match="CL_DEVICE_GLOBAL_MEM_SIZE"):
        clgrad.empty(100_000)
    monkeypatch.undo()
    set_memory_limit(None)
    _still_works()


# -- a driver that refuses an allocation ----------------------------------------------------
class RefusingPool:
    """Wraps the real pool; its next `refusals` allocations fail as a full device would."""

    def __init__(self, pool, refusals):
        self.pool, self.refusals, self.freed = pool, refusals, 0

    def allocate(self, nbytes):
        if self.refusals:
            self.refusals -= 1
            raise cl.MemoryError(_cl._ErrorRecord(
                "clCreateBuffer", cl.status_code.MEM_OBJECT_ALLOCATION_FAILURE, "simulated"))
        return self.pool.allocate(nbytes)

    def free_held(self):
        self.freed += 1
        self.pool.free_held()

    def __getattr__(self, name):
        return getattr(self.pool, name)


def test_a_driver_failure_frees_the_cache_and_retries_once(dev, held, monkeypatch):
    flaky = RefusingPool(dev.allocator.pool, refusals=1)
    monkeypatch.setattr(dev.allocator, "pool", flaky)
    x = clgrad.full((1000,), 3.0)
    assert flaky.freed == 1 and float(x.sum()) == 3000.0


def test_a_driver_that_keeps_failing_raises_out_of_memory(dev, held, monkeypatch):
    before = _in_use()
    flaky = RefusingPool(dev.allocator.pool, refusals=2)
    monkeypatch.setattr(dev.allocator, "pool", flaky)
    with pytest.raises(OutOfMemoryError) as info:
        clgrad.empty(1000)
    message = str(info.value)
    assert "out of memory allocating 4000 bytes" in message
    assert "the driver refused it" in message and "MEM_OBJECT_ALLOCATION_FAILURE" in message
    assert flaky.freed == 1 and flaky.refusals == 0          # one retry, not more
    assert _in_use() == before
    monkeypatch.undo()
    _still_works()


# -- CLGRAD_MEMORY_LIMIT -----------------------------------------------------------------------
@pytest.mark.parametrize(("text", "nbytes"), [
    ("1048576", 1048576), ("512M", 512 * 2**20), ("2G", 2 * 2**30), ("1.5g", 3 * 2**29),
    ("64KiB", 64 * KIB), ("64kb", 64 * KIB), ("100B", 100), (" 3 M ", 3 * 2**20),
    ("1T", 2**40),
])
def test_memory_limit_values(monkeypatch, text, nbytes):
    monkeypatch.setenv("CLGRAD_MEMORY_LIMIT", text)
    assert config.memory_limit() == nbytes


@pytest.mark.parametrize("text", ["lots", "-1", "0", "1e6", "2GG", "12ib", "1.5X", "0.1"])
def test_a_bad_memory_limit_raises_naming_the_variable_and_value(monkeypatch, text):
    monkeypatch.setenv("CLGRAD_MEMORY_LIMIT", text)
    with pytest.raises(ValueError, match=f"CLGRAD_MEMORY_LIMIT: {text!r}"):
        config.memory_limit()


def test_no_memory_limit_by_default(monkeypatch):
    monkeypatch.delenv("CLGRAD_MEMORY_LIMIT", raising=False)
    assert config.memory_limit() is None
    monkeypatch.setenv("CLGRAD_MEMORY_LIMIT", "  ")
    assert config.memory_limit() is None


_ENV_SCRIPT = """
import clgrad
from clgrad.runtime import OutOfMemoryError, get_memory_limit, set_memory_limit
print("limit", get_memory_limit())
kept = clgrad.empty(200_000)
try:
    clgrad.empty(100_000)
except OutOfMemoryError as exc:
    print("oom:", exc)
print("works", (clgrad.arange(3.0) + 1).tolist())
set_memory_limit(None)
print("uncapped", clgrad.empty(100_000).shape[0])
"""


def _python(script, **env):
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env}, check=False)


def test_the_env_var_caps_a_fresh_process():
    result = _python(_ENV_SCRIPT, CLGRAD_MEMORY_LIMIT="1M")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "limit 1048576" in out
    assert "oom: " in out and "out of memory allocating 400000 bytes" in out
    assert "800000 bytes are in use" in out and "the memory limit is 1048576 bytes" in out
    assert "works [1.0, 2.0, 3.0]" in out and "uncapped 100000" in out


def test_a_bad_env_var_raises_on_first_use_not_at_import():
    script = ("import clgrad\nprint('imported')\n"
              "try:\n    clgrad.zeros(1)\nexcept ValueError as exc:\n    print('error:', exc)")
    result = _python(script, CLGRAD_MEMORY_LIMIT="lots")
    assert result.returncode == 0, result.stderr
    assert "imported" in result.stdout
    assert "error: CLGRAD_MEMORY_LIMIT: 'lots' is not a byte count" in result.stdout
