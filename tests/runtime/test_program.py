"""The kernel pipeline (clgrad/runtime/program.py): render a Mako template, build it with a
readable error on failure, cache kernels per device, launch over any size."""
import re

import numpy as np
import pyopencl as cl
import pytest

import clgrad
from clgrad.runtime import KernelBuildError, program

BROKEN = "__kernel void f(__global float *x) { x[0] = undefined_symbol; }"


@pytest.fixture
def dev():
    return clgrad.runtime.default_device()


def _capture(run_op, template):
    """The (template, name, scalar_dtypes, params) clgrad compiles `template` with for `run_op`.

    Captured from a real op on a cleared cache (restored afterwards), so these tests follow
    the templates' parameter lists as they evolve instead of hard-coding them.
    """
    device = clgrad.runtime.default_device()
    calls = []
    real = program.compile_kernel

    def spy(device_, key, template_, name, scalar_dtypes, **params):
        calls.append((template_, name, list(scalar_dtypes), params))
        return real(device_, key, template_, name, scalar_dtypes, **params)
    saved = dict(device.kernels)
    device.kernels.clear()
    program.compile_kernel = spy
    try:
        run_op()
    finally:
        program.compile_kernel = real
        device.kernels.clear()
        device.kernels.update(saved)
    matching = [c for c in calls if c[0] == template]
    assert matching, f"the op did not compile a {template} kernel"
    return matching[-1]


@pytest.fixture(scope="module")
def elementwise_call():
    return _capture(lambda: (clgrad.arange(10.0) * 2.5).numpy(), "elementwise.cl")


@pytest.fixture(scope="module")
def random_call():
    return _capture(lambda: clgrad.rand(5).numpy(), "random.cl")


# -- render ----------------------------------------------------------------------------------------
def test_render_substitutes_parameters(elementwise_call):
    template, name, _, params = elementwise_call
    source = program.render(template, name=name, **params)
    assert f"__kernel void {name}(" in source
    assert params["expr"] in source and "${" not in source
    assert "\n%" not in source and "\n##" not in source     # no Mako left over


def test_render_with_a_missing_parameter_raises_naming_it(elementwise_call):
    template, name, _, params = elementwise_call
    assert len(params) >= 5
    for missing in ["name"] + sorted(params):
        kept = {k: v for k, v in dict(params, name=name).items() if k != missing}
        with pytest.raises(NameError, match=f"'{missing}'"):
            program.render(template, **kept)


def test_render_is_deterministic(elementwise_call):
    template, name, _, params = elementwise_call
    assert program.render(template, name=name, **params) == \
        program.render(template, name=name, **params)


def test_render_random_template(random_call):
    template, name, _, params = random_call
    source = program.render(template, name=name, **params)
    assert f"__kernel void {name}(" in source and "0xD2511F53u" in source
    with pytest.raises(NameError, match="'dist'"):
        program.render(template, name=name, **{k: v for k, v in params.items() if k != "dist"})
    assert source.count("0x9E3779B9u") == 9          # ten rounds, nine key bumps


@pytest.mark.parametrize("template", sorted(p.name for p in program.KERNEL_DIR.glob("*.cl")))
def test_every_template_starts_with_a_parameter_comment(template):
    text = (program.KERNEL_DIR / template).read_text()
    assert text.startswith("##"), "each .cl template starts with a comment"
    assert "Parameters" in text.split("\n%", 1)[0]


# -- build -----------------------------------------------------------------------------------------
def test_broken_source_raises_kernel_build_error_with_log_and_line(dev, tmp_path, monkeypatch):
    monkeypatch.setenv("CLGRAD_CACHE_DIR", str(tmp_path))
    with pytest.raises(KernelBuildError) as info:
        program.build(dev, BROKEN, "f")
    message = str(info.value)
    assert isinstance(info.value, RuntimeError) and clgrad.runtime.KernelBuildError is \
        KernelBuildError
    assert "undefined_symbol" in message
    assert "Build log" in message and "f" in message and str(dev) in message
    assert re.search(r"line 1: .*undefined_symbol", message), message
    saved = list((tmp_path / "failed").glob("f-*.cl"))
    assert len(saved) == 1 and saved[0].read_text() == BROKEN
    assert str(saved[0]) in message


def test_build_error_points_at_the_generated_line(dev, tmp_path, monkeypatch):
    monkeypatch.setenv("CLGRAD_CACHE_DIR", str(tmp_path))
    source = ("// header\n__kernel void g(__global int *x)\n{\n"
              "    x[0] = missing_name + 1;\n}")
    with pytest.raises(KernelBuildError, match=r"line 4: x\[0\] = missing_name \+ 1;"):
        program.build(dev, source, "g")


def test_build_and_launch_a_valid_kernel_over_an_odd_size(dev):
    source = ("__kernel void inc(__global int *x, long n) "
              "{ long i = get_global_id(0); if (i < n) x[i] += 1; }")
    kernel = program.build(dev, source, "inc").inc
    kernel.set_scalar_arg_dtypes([None, np.int64])
    n = dev.work_group * 3 + 7                       # not a multiple of the work-group
    host = np.arange(n, dtype=np.int32)
    buf = cl.Buffer(dev.context, cl.mem_flags.READ_WRITE | cl.mem_flags.COPY_HOST_PTR,
                    hostbuf=host)
    program.launch(dev, kernel, n, buf, n)
    out = np.empty_like(host)
    cl.enqueue_copy(dev.queue, out, buf, is_blocking=True)
    np.testing.assert_array_equal(out, host + 1)


def test_compile_kernel_caches_under_the_key(dev, elementwise_call):
    template, _, scalar_dtypes, params = elementwise_call
    key = ("test_program", "compile_kernel")
    dev.kernels.pop(key, None)
    try:
        kernel = program.compile_kernel(dev, key, template, "ew_test_program", scalar_dtypes,
                                        **params)
        assert dev.kernels[key] is kernel
        assert kernel.function_name == "ew_test_program"
    finally:
        dev.kernels.pop(key, None)


# -- the kernel cache on the hot path -----------------------------------------------------------
def test_repeated_op_does_not_grow_the_kernel_cache(dev):
    x = clgrad.arange(7.0)
    y = clgrad.arange(7.0)
    (x + y).numpy()
    size = len(dev.kernels)
    for _ in range(3):
        np.testing.assert_array_equal((x + y).numpy(), 2 * np.arange(7.0))
    assert len(dev.kernels) == size


def test_same_layout_class_reuses_the_kernel_for_new_sizes(dev):
    (clgrad.ones(5) * clgrad.ones(5)).numpy()
    size = len(dev.kernels)
    for n in (1, 17, 1000):
        assert (clgrad.ones(n) * clgrad.ones(n)).numpy().sum() == n
    assert len(dev.kernels) == size


def test_strided_and_new_dtype_variants_build_once_each(dev):
    a = clgrad.arange(12, dtype=clgrad.int32).view(3, 4)
    (a.t() - 1).numpy()
    size = len(dev.kernels)
    for _ in range(2):
        np.testing.assert_array_equal((a.t() - 1).numpy(), np.arange(12).reshape(3, 4).T - 1)
    assert len(dev.kernels) == size


def test_random_kernels_are_cached(dev):
    clgrad.rand(3)
    clgrad.zeros(4, 4).t().uniform_()
    size = len(dev.kernels)
    clgrad.rand(100)
    clgrad.zeros(5, 3).t().uniform_()
    assert len(dev.kernels) == size
