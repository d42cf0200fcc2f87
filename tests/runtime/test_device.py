"""Device discovery and selection (strings, CLGRAD_DEVICE), capabilities, `python -m clgrad`,
and the caching allocator's statistics."""
import gc
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import clgrad
from clgrad.runtime import DeviceUnavailableError, OutOfMemoryError

REPO = Path(__file__).resolve().parents[2]
DEVICES = clgrad.runtime.all_devices()


def _names(d):
    return f"{d.platform_name}:{d.name}".lower()


def _run(code=None, args=(), env=None, timeout=120):
    """Run clgrad in a fresh interpreter (so CLGRAD_DEVICE is read anew)."""
    environ = {k: v for k, v in os.environ.items() if k != "CLGRAD_DEVICE"}
    environ.update(env or {})
    environ["PYTHONPATH"] = os.pathsep.join([str(REPO), environ.get("PYTHONPATH", "")])
    command = [sys.executable] + (["-c", code] if code is not None else list(args))
    return subprocess.run(command, env=environ, cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False)


# -- resolving device strings ----------------------------------------------------------------
def test_cpu_device_resolves_and_is_the_default():
    cpu = clgrad.device("cpu")
    assert cpu.kind == "cpu" and cpu.type == "cpu" and not cpu.is_simulator
    assert cpu.problem() is None
    assert str(cpu) == "cpu" and repr(cpu) == "device(type='cpu')"
    if "CLGRAD_DEVICE" not in os.environ:
        assert clgrad.runtime.default_device() is cpu


@pytest.mark.parametrize("spec", ["cpu", "cpu:0", "CPU", " cpu ", "Cpu:0"])
def test_cpu_spellings(spec):
    assert clgrad.device(spec) is clgrad.device("cpu")


def test_device_with_index_argument_and_device_passthrough():
    cpu = clgrad.device("cpu")
    assert clgrad.device("cpu", 0) is cpu
    assert clgrad.device(cpu) is cpu
    assert clgrad.device("opencl", cpu.ordinal) is cpu


@pytest.mark.parametrize("ordinal", range(len(DEVICES)))
def test_opencl_n_resolves_every_listed_device(ordinal):
    if DEVICES[ordinal].problem():
        with pytest.raises(RuntimeError, match=f"opencl:{ordinal}.*unusable"):
            clgrad.device(f"opencl:{ordinal}")
        return
    dev = clgrad.device(f"opencl:{ordinal}")
    assert dev is DEVICES[ordinal] and dev.ordinal == ordinal
    assert dev == f"opencl:{ordinal}" and dev == clgrad.device(f"OpenCL:{ordinal}")


def test_cpu_is_the_same_object_as_its_opencl_ordinal():
    cpu = clgrad.device("cpu")
    assert clgrad.device(f"opencl:{cpu.ordinal}") is cpu
    assert cpu == f"opencl:{cpu.ordinal}" and hash(cpu) == hash(DEVICES[cpu.ordinal])


def test_devices_are_listed_in_a_stable_order():
    assert [d.ordinal for d in DEVICES] == list(range(len(DEVICES)))
    assert clgrad.runtime.all_devices() is DEVICES or \
        [d.ordinal for d in clgrad.runtime.all_devices()] == list(range(len(DEVICES)))


def test_name_substring_selects_a_device_containing_it():
    cpu = clgrad.device("cpu")
    for text in (cpu.name, cpu.name.upper(), cpu.platform_name, cpu.name[: len(cpu.name) // 2]):
        dev = clgrad.device(text)
        assert text.strip().lower() in _names(dev)
        assert dev.problem() is None


_POCL = [d for d in DEVICES if "pocl" in d.cl_device.platform.vendor.lower()
         or "pocl" in d.cl_device.platform.version.lower()]


@pytest.mark.skipif(not _POCL, reason="no pocl platform")
def test_pocl_substring_selects_a_pocl_device():
    dev = clgrad.device("pocl")
    assert dev in _POCL and dev.problem() is None


def test_unknown_device_error_lists_devices():
    with pytest.raises(RuntimeError, match="Unknown device 'bogus-device'") as info:
        clgrad.device("bogus-device")
    message = str(info.value)
    assert "Devices found" in message
    for d in DEVICES:
        assert f"opencl:{d.ordinal}" in message and d.name in message


@pytest.mark.parametrize("spec", ["opencl:999", "cpu:1"])
def test_missing_ordinal_errors(spec):
    with pytest.raises(RuntimeError, match=f"'{spec}' not found") as info:
        clgrad.device(spec)
    assert isinstance(info.value, DeviceUnavailableError)


def test_opencl_999_names_the_device_count():
    with pytest.raises(RuntimeError, match=f"{len(DEVICES)} OpenCL device"):
        clgrad.device("opencl:999")


def test_gpu_spellings_without_a_gpu_list_devices():
    if clgrad.runtime.gpu_count():
        pytest.skip("a GPU device exists")
    for spec in ("cuda", "gpu", "cuda:0", "gpu:1"):
        with pytest.raises(RuntimeError, match=f"'{spec}' not found.*0 OpenCL GPU") as info:
            clgrad.device(spec)
        assert "opencl:0" in str(info.value)


@pytest.mark.parametrize("spec", [3, None, 1.5])
def test_device_rejects_non_strings(spec):
    with pytest.raises(TypeError, match="string or a device"):
        clgrad.device(spec)


def test_device_pickles_to_the_same_device():
    cpu = clgrad.device("cpu")
    assert pickle.loads(pickle.dumps(cpu)) is cpu


# -- clgrad.cuda -------------------------------------------------------------------------------
def test_cuda_queries():
    assert clgrad.cuda.is_available() is (clgrad.runtime.gpu_count() > 0)
    assert clgrad.cuda.device_count() == clgrad.runtime.gpu_count()


def test_gpu_count_counts_non_simulator_gpus():
    want = sum(1 for d in DEVICES if d.kind == "gpu" and not d.is_simulator)
    assert clgrad.runtime.gpu_count() == want


# -- capabilities ----------------------------------------------------------------------------
@pytest.mark.parametrize("ordinal", range(len(DEVICES)))
def test_capabilities(ordinal):
    d = DEVICES[ordinal]
    assert d.kind in ("cpu", "gpu", "accelerator")
    assert isinstance(d.fp64, bool) and isinstance(d.fp16, bool)
    assert d.fp64 == ("cl_khr_fp64" in d.cl_device.extensions.split())
    assert d.fp16 == ("cl_khr_fp16" in d.cl_device.extensions.split())
    assert d.max_work_group_size >= 1 and d.local_mem_size > 0 and d.global_mem_size > 0
    assert 1 <= d.work_group <= d.max_work_group_size
    assert isinstance(d.driver_version, str) and d.driver_version
    text = d.describe()
    assert d.kind in text and f"max work-group {d.max_work_group_size}" in text
    assert isinstance(d.build_options, tuple)
    problem = d.problem()
    assert problem is None or "compiler" in problem


def test_require_extension_names_the_missing_extension():
    dev = clgrad.runtime.default_device()
    for ext, has, name in (("cl_khr_fp64", dev.fp64, "float64"),
                           ("cl_khr_fp16", dev.fp16, "float16")):
        if has:
            dev.require_extension(ext, name)
        else:
            with pytest.raises(TypeError, match=f"{name}.*{ext}"):
                dev.require_extension(ext, name)


def test_device_table_lists_every_device():
    table = clgrad.runtime.device_table()
    for d in DEVICES:
        assert f"opencl:{d.ordinal}" in table and d.name in table


# -- CLGRAD_DEVICE -----------------------------------------------------------------------------
_PROBE = "import clgrad; t = clgrad.arange(3) + 1; print(t.device.ordinal, t.tolist())"


def test_clgrad_device_bogus_names_it_and_lists_devices():
    result = _run(_PROBE, env={"CLGRAD_DEVICE": "bogus"})
    assert result.returncode != 0
    assert "CLGRAD_DEVICE='bogus'" in result.stderr and "RuntimeError" in result.stderr
    assert "Devices found" in result.stderr
    for d in DEVICES:
        assert f"opencl:{d.ordinal}" in result.stderr


@pytest.mark.parametrize("spec", ["cpu", "opencl:{cpu}", "name"])
def test_clgrad_device_selects_the_default(spec):
    cpu = clgrad.device("cpu")
    value = {"cpu": "cpu", "opencl:{cpu}": f"opencl:{cpu.ordinal}", "name": cpu.name}[spec]
    result = _run(_PROBE, env={"CLGRAD_DEVICE": value})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(cpu.ordinal), "[1,", "2,", "3]"]


def test_clgrad_device_empty_means_cpu():
    result = _run("import clgrad; print(clgrad.runtime.default_device().type)",
                  env={"CLGRAD_DEVICE": "  "})
    assert result.returncode == 0 and result.stdout.strip() == "cpu"


def test_device_name_is_stable_within_a_run():
    cpu = clgrad.device("cpu")
    code = ("import clgrad; t = clgrad.zeros(1); a = str(t.device); clgrad.device('cpu'); "
            "print(a, str(t.device))")
    result = _run(code, env={"CLGRAD_DEVICE": f"opencl:{cpu.ordinal}"})
    assert result.returncode == 0, result.stderr
    before, after = result.stdout.split()
    assert before == after


# -- python -m clgrad --------------------------------------------------------------------------
def test_main_lists_devices_and_passes_self_test():
    result = _run(args=["-m", "clgrad"])
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"OpenCL devices ({len(DEVICES)}):" in out
    for d in DEVICES:
        assert f"opencl:{d.ordinal}" in out and d.name in out
    assert f"Default device: cpu = opencl:{clgrad.device('cpu').ordinal}" in out
    assert out.count("PASS") >= 5 and "FAIL" not in out
    assert "Self-test passed" in out


def test_main_probe():
    result = _run(args=["-m", "clgrad", "--probe"])
    assert result.returncode == 0, result.stderr
    assert "works" in result.stdout


def test_main_with_a_bogus_device_exits_1_explaining_why():
    result = _run(args=["-m", "clgrad"], env={"CLGRAD_DEVICE": "bogus"})
    assert result.returncode == 1
    assert "no usable default device" in result.stderr and "bogus" in result.stderr
    assert "OpenCL devices" in result.stdout
    probe = _run(args=["-m", "clgrad", "--probe"], env={"CLGRAD_DEVICE": "bogus"})
    assert probe.returncode == 1 and "bogus" in probe.stderr


# -- memory ------------------------------------------------------------------------------------
def test_memory_stats_track_allocation_and_free():
    gc.collect()
    before = clgrad.memory_stats()
    assert set(before) >= {"bytes_in_use", "bytes_cached", "blocks_in_use", "blocks_cached"}
    big = clgrad.empty(1 << 20)                     # 4 MiB
    during = clgrad.memory_stats()
    assert during["bytes_in_use"] >= before["bytes_in_use"] + 4 * 2**20
    assert during["blocks_in_use"] == before["blocks_in_use"] + 1
    del big
    gc.collect()
    after = clgrad.memory_stats()
    assert after["bytes_in_use"] == before["bytes_in_use"]
    assert after["bytes_cached"] > 0 and after["bytes_cached"] >= 4 * 2**20
    again = clgrad.empty(1 << 20)                   # served from the cache
    assert clgrad.memory_stats()["bytes_cached"] < after["bytes_cached"]
    del again
    gc.collect()
    clgrad.runtime.empty_cache()
    emptied = clgrad.memory_stats()
    assert emptied["blocks_cached"] == 0
    # what is left is the pool's size-class rounding of blocks still alive (tensors other
    # tests keep, e.g. in the tracebacks of expected failures)
    assert emptied["bytes_cached"] < 4 * 2**20
    assert clgrad.memory_stats(device="cpu") == clgrad.runtime.memory_stats("cpu")


def test_views_do_not_allocate():
    x = clgrad.zeros(256, 256)
    gc.collect()
    before = clgrad.memory_stats()["bytes_in_use"]
    views = [x.t(), x[::2], x.view(-1), x.unsqueeze(0), x.expand(3, 256, 256), x.detach()]
    assert clgrad.memory_stats()["bytes_in_use"] == before
    del views


def test_out_of_memory_is_a_runtime_error_with_sizes():
    dev = clgrad.runtime.default_device()
    huge = max(dev.global_mem_size, dev.cl_device.max_mem_alloc_size) * 4
    with pytest.raises(OutOfMemoryError, match=f"out of memory allocating {huge} bytes") as info:
        clgrad.empty(huge, dtype=clgrad.uint8)
    assert isinstance(info.value, RuntimeError) and clgrad.OutOfMemoryError is OutOfMemoryError
    assert clgrad.zeros(4).tolist() == [0.0] * 4          # the device still works


def test_opencl_without_a_number_is_an_error():
    with pytest.raises(RuntimeError, match="expected 'opencl:N'"):
        clgrad.device("opencl")
