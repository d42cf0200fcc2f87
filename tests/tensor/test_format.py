"""Compare clgrad's tensor formatting with PyTorch's ``repr(tensor)``."""

import math

import numpy as np
import pytest

from clgrad.tensor.format import format_tensor, get_printoptions, set_printoptions

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64",
          "float16", "float32", "float64"]
FLOAT_DTYPES = ["float16", "float32", "float64"]
INT_DTYPES = ["uint8", "int8", "int16", "int32", "int64"]

RNG = np.random.default_rng(20240611)


@pytest.fixture(autouse=True)
def _restore_printoptions():
    """Every test starts and ends with default print options in both libraries."""
    torch.set_printoptions(profile="default")
    set_printoptions(profile="default")
    yield
    torch.set_printoptions(profile="default")
    set_printoptions(profile="default")


def _dtype_name(t):
    return str(t.dtype).removeprefix("torch.")


def _autograd_suffixes(t):
    if t.grad_fn is not None:
        return [f"grad_fn=<{type(t.grad_fn).__name__}>"]
    return ["requires_grad=True"] if t.requires_grad else []


def check(t, **kwargs):
    """Assert format_tensor reproduces repr(t), with torch. spelled clgrad."""
    expected = repr(t).replace("torch.", "clgrad.")
    got = format_tensor(t.detach().numpy(), _dtype_name(t),
                        suffixes=_autograd_suffixes(t), **kwargs)
    assert got == expected, f"\nexpected:\n{expected}\ngot:\n{got}"


def random_array(shape, dtype, scale=1.0, rng=RNG):
    """Random values of a given clgrad dtype name (numpy side)."""
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(bool)
    if dtype in INT_DTYPES:
        info = np.iinfo(dtype)
        low, high = max(info.min, -int(scale)), min(info.max, int(scale))
        return rng.integers(low, high, size=shape, endpoint=True).astype(dtype)
    return (rng.standard_normal(shape) * scale).astype(dtype)


def T(array):
    return torch.from_numpy(np.array(array))


def F(values, dtype="float32"):
    return T(np.array(values, dtype=dtype))


def case(id_, array):
    return pytest.param(T(array), id=id_)


# --------------------------------------------------------------------------- dtypes

BASIC_CASES = (
    [case(f"{d}-1d", random_array((7,), d, 100)) for d in DTYPES]
    + [case(f"{d}-2d", random_array((3, 4), d, 1000)) for d in DTYPES]
    + [case(f"{d}-3d", random_array((2, 3, 4), d, 10)) for d in DTYPES]
    + [case(f"{d}-4d", random_array((2, 2, 3, 2), d, 10)) for d in DTYPES]
    + [case(f"{d}-0d", random_array((), d, 50)) for d in DTYPES]
    + [case(f"{d}-single", random_array((1,), d, 5)) for d in DTYPES]
    + [case(f"{d}-ones-5d", np.ones((1, 2, 1, 2, 1), dtype=d)) for d in DTYPES]
)


@pytest.mark.parametrize("t", BASIC_CASES)
def test_dtypes_and_ranks(t):
    check(t)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(0,), (2, 0), (0, 3, 1)], ids=str)
def test_empty(shape, dtype):
    check(T(np.zeros(shape, dtype=dtype)))


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_integer_extremes(dtype):
    info = np.iinfo(dtype)
    check(T(np.array([info.min, 0, info.max, 1], dtype=dtype)))


@pytest.mark.parametrize("t", [
    pytest.param(T(np.array(True)), id="bool-true"),
    pytest.param(T(np.array([True, False, True])), id="bool-vec"),
    pytest.param(T(np.array([False, False])), id="bool-all-false"),
    pytest.param(T(np.array([[True], [False]])), id="bool-col"),
])
def test_bool(t):
    check(t)


# ----------------------------------------------------------------- float values

SCALARS = [3.5, -0.0, 0.0, 7.0, -12.0, 1e10, 1e-5, 123456.789, math.nan,
           math.inf, -math.inf, 1e8, 1.0e8 + 1, 65504.0, 6e-8]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("value", SCALARS, ids=repr)
def test_float_scalars(value, dtype):
    with np.errstate(over="ignore"):
        check(F(value, dtype))


FLOAT_VALUE_CASES = [
    ("int-valued", [1.0, 2.0, -3.0, 100.0]),
    ("int-valued-big", [1.0, 2e5, 3e7]),
    ("int-valued-sci", [1.0, 3e9, -7.0]),
    ("halves", [0.5, 1.5, -2.25]),
    ("tiny", [1e-5, 2e-6, 3e-7]),
    ("huge", [1e9, 2e10, -3e11]),
    ("ratio-over-1000", [0.01, 20.0]),
    ("ratio-exactly-1000", [0.1, 100.0]),
    ("max-exactly-1e8", [1e8, 1e7]),
    ("min-exactly-1e-4", [1e-4, 1e-3]),
    ("nan-inf-negzero", [math.nan, math.inf, -math.inf, -0.0, 1.5]),
    ("nan-inf-ints", [math.nan, math.inf, 2.0, -0.0]),
    ("only-nonfinite", [math.nan, math.inf, -math.inf]),
    ("only-zeros", [0.0, -0.0, 0.0]),
    ("negzero-and-one", [-0.0, 1.0]),
    ("sci-with-nan", [1e-9, math.nan, 5.0, -math.inf]),
    ("rounding", [0.99999, 9.99995, -0.00005]),
    ("neg-small", [-0.001, 0.5]),
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("values", [v for _, v in FLOAT_VALUE_CASES],
                         ids=[n for n, _ in FLOAT_VALUE_CASES])
def test_float_values(values, dtype):
    with np.errstate(over="ignore"):
        check(F(values, dtype))


MAGNITUDES = [1e-12, 1e-6, 1e-3, 1.0, 1e3, 1e6, 1e12]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("scale", MAGNITUDES, ids=repr)
def test_random_magnitudes(scale, dtype):
    with np.errstate(over="ignore", under="ignore"):
        check(T(random_array((4, 5), dtype, scale)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mixed_magnitudes(dtype):
    values = np.exp(RNG.uniform(-25, 25, size=(3, 6))) * RNG.choice([-1, 1], size=(3, 6))
    check(T(values.astype(dtype)))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_random_integer_valued_floats(dtype):
    check(T(np.round(RNG.standard_normal((3, 5)) * 50).astype(dtype)))


# --------------------------------------------------------------- summarization

@pytest.mark.parametrize("t", [
    case("2000-f32", random_array((2000,), "float32")),
    case("2000-i64", np.arange(2000)),
    case("1001-bool", random_array((1001,), "bool")),
    case("50x60-f64", random_array((50, 60), "float64")),
    case("50x60-i16", random_array((50, 60), "int16", 30000)),
    case("3x1001-f32", random_array((3, 1001), "float32", 1e5)),
    case("1001x3-f16", random_array((1001, 3), "float16")),
    case("10x10x11-i8", random_array((10, 10, 11), "int8", 100)),
    case("7x7x7x7-f32", random_array((7, 7, 7, 7), "float32", 1e-6)),
    case("2000-nan-edges", np.r_[np.nan, np.ones(1998), -np.inf].astype("float32")),
    case("2000-hidden-middle", np.r_[np.ones(10), 1e-9, np.ones(1989)].astype("float32")),
])
def test_summarization(t):
    check(t)


# ------------------------------------------------------------------ line wrapping

@pytest.mark.parametrize("t", [
    case("arange100-f32", np.arange(100, dtype="float32")),
    case("arange100-i32", np.arange(100, dtype="int32")),
    case("rand40-f64", random_array((40,), "float64")),
    case("rand3x30-f32", random_array((3, 30), "float32", 1e4)),
    case("rand2x2x25-i64", random_array((2, 2, 25), "int64", 10**12)),
    case("sci-row", random_array((30,), "float64", 1e-9)),
    case("suffix-wrap-i16", np.arange(15, dtype="int16") * 1000),
])
def test_long_rows_wrap(t):
    check(t)


@pytest.mark.parametrize("n", range(10, 24))
def test_suffix_wraps_at_linewidth_boundary(n):
    check(T(np.arange(n, dtype="int32")))


# -------------------------------------------------------------------- print options

OPTION_SETS = [
    {"precision": 2},
    {"precision": 0},
    {"precision": 10},
    {"threshold": 5},
    {"threshold": 0},
    {"edgeitems": 1, "threshold": 10},
    {"edgeitems": 5, "threshold": 20},
    {"edgeitems": 0, "threshold": 3},
    {"edgeitems": 0},
    {"linewidth": 40},
    {"linewidth": 120},
    {"linewidth": 1},
    {"sci_mode": True},
    {"sci_mode": False},
    {"sci_mode": True, "precision": 1},
    {"profile": "short"},
    {"profile": "full"},
    {"profile": "default"},
    {"profile": "short", "precision": 6, "linewidth": 60},
]

OPTION_TENSORS = [
    case("f32-2d", random_array((4, 9), "float32")),
    case("f64-huge", random_array((12,), "float64", 1e10)),
    case("f32-ints", np.round(random_array((2, 3, 4), "float32", 10))),
    case("i32-long", random_array((30,), "int32", 1000)),
    case("bool", random_array((2, 7), "bool")),
    case("f16-0d", np.array(2.5, dtype="float16")),
    case("f32-empty", np.zeros((2, 0), dtype="float32")),
    case("f32-1200", random_array((1200,), "float32")),
]


@pytest.mark.parametrize("t", OPTION_TENSORS)
@pytest.mark.parametrize("options", OPTION_SETS, ids=lambda o: repr(o))
def test_printoptions(options, t):
    torch.set_printoptions(**options)
    set_printoptions(**options)
    check(t)


@pytest.mark.parametrize("options", OPTION_SETS, ids=lambda o: repr(o))
def test_get_printoptions_matches_torch(options):
    torch.set_printoptions(**options)
    set_printoptions(**options)
    assert get_printoptions() == torch._tensor_str.get_printoptions()


def test_get_printoptions_defaults_and_roundtrip():
    assert get_printoptions() == {"precision": 4, "threshold": 1000, "edgeitems": 3,
                                  "linewidth": 80, "sci_mode": None}
    set_printoptions(precision=7, sci_mode=True)
    saved = get_printoptions()
    set_printoptions(profile="default")
    set_printoptions(**saved)
    assert get_printoptions() == saved


def test_set_printoptions_resets_sci_mode():
    set_printoptions(sci_mode=True)
    set_printoptions(precision=3)
    assert get_printoptions()["sci_mode"] is None


# ------------------------------------------------------------------- suffixes

def test_requires_grad_suffix():
    t = torch.ones(2, requires_grad=True)
    assert format_tensor(t.detach().numpy(), "float32",
                         suffixes=["requires_grad=True"]) == repr(t)


@pytest.mark.parametrize("t", [
    pytest.param(torch.ones(2, requires_grad=True) + 1, id="add"),
    pytest.param(torch.ones(2, 3, dtype=torch.float64, requires_grad=True) * 2, id="mul-f64"),
    pytest.param(torch.tensor(1.5, requires_grad=True).exp(), id="exp-0d"),
    pytest.param(torch.from_numpy(random_array((40,), "float64")).requires_grad_(),
                 id="long-f64-requires-grad"),
    pytest.param(torch.from_numpy(random_array((3, 25), "float32")).requires_grad_().sum(0),
                 id="long-sum"),
    pytest.param(torch.zeros(0, 3, requires_grad=True), id="empty-requires-grad"),
])
def test_autograd_suffixes(t):
    check(t)


def test_several_suffixes_keep_order():
    got = format_tensor(np.array([1.0, 2.0], dtype="float32"), "float32",
                        suffixes=["requires_grad=True", "names=('x',)"])
    assert got == "tensor([1., 2.], requires_grad=True, names=('x',))"


# --------------------------------------------------------------------- device

def _expected_with_device(t, device):
    """PyTorch's layout for a tensor on ``device`` (no CUDA here, so built from
    PyTorch's own body renderer and suffix placement)."""
    from torch import _tensor_str as ts

    indent = len("tensor(")
    suffixes = [f"device='{device}'"]
    if t.numel() == 0:
        body = "[]"
        if t.dim() != 1:
            suffixes.append(f"size={tuple(t.shape)}")
        if t.dtype != torch.get_default_dtype():
            suffixes.append(f"dtype={t.dtype}")
    else:
        body = ts._tensor_str(t.detach(), indent)
        if t.dtype not in (torch.get_default_dtype(), torch.int64, torch.bool):
            suffixes.append(f"dtype={t.dtype}")
    suffixes += _autograd_suffixes(t)
    text = ts._add_suffixes("tensor(" + body, suffixes, indent, force_newline=False)
    return text.replace("torch.", "clgrad.")


@pytest.mark.parametrize("device", ["cuda:0", "opencl:2"])
@pytest.mark.parametrize("t", [
    pytest.param(torch.tensor([1.0, 2.0]), id="f32"),
    pytest.param(torch.tensor([1, 2], dtype=torch.int32), id="i32"),
    pytest.param(torch.tensor(3.5, dtype=torch.float64), id="f64-0d"),
    pytest.param(torch.zeros(2, 0, dtype=torch.int8), id="empty-2d-i8"),
    pytest.param(torch.zeros(0), id="empty-1d"),
    pytest.param(torch.arange(19, dtype=torch.int16), id="wrap-i16"),
    pytest.param(torch.arange(40, dtype=torch.float64).reshape(2, 20), id="wrap-f64-2d"),
    pytest.param(torch.ones(3, requires_grad=True), id="requires-grad"),
])
def test_device_suffix(t, device):
    got = format_tensor(t.detach().numpy(), _dtype_name(t), device=device,
                        suffixes=_autograd_suffixes(t))
    assert got == _expected_with_device(t, device)


def test_device_suffix_literals():
    ints = np.array([1, 2], dtype="int32")
    assert format_tensor(np.array([1.0, 2.0], dtype="float32"), "float32",
                         device="cuda:0") == "tensor([1., 2.], device='cuda:0')"
    assert (format_tensor(ints, "int32", device="cuda:0", suffixes=["requires_grad=True"])
            == "tensor([1, 2], device='cuda:0', dtype=clgrad.int32, requires_grad=True)")
    assert format_tensor(ints, "int32", device="cpu") == "tensor([1, 2], dtype=clgrad.int32)"


# ------------------------------------------------------------------ random sweep

def _sweep_cases(count, seed=7):
    rng = np.random.default_rng(seed)
    cases = []
    for index in range(count):
        dtype = DTYPES[rng.integers(len(DTYPES))]
        shape = tuple(int(n) for n in rng.integers(1, 6, size=rng.integers(0, 5)))
        scale = 10.0 ** int(rng.integers(-8, 9)) if dtype in FLOAT_DTYPES else 10 ** 6
        with np.errstate(over="ignore", under="ignore"):
            array = random_array(shape, dtype, scale, rng)
        cases.append(case(f"{index}-{dtype}-{shape}", array))
    return cases


@pytest.mark.parametrize("t", _sweep_cases(60))
def test_random_sweep(t):
    check(t)


def test_input_is_cast_to_dtype():
    assert format_tensor(np.array([1, 0], dtype="uint8"), "bool") == "tensor([ True, False])"


def test_unknown_dtype_rejected():
    with pytest.raises(ValueError):
        format_tensor(np.zeros(2), "complex64")
