"""clgrad.save / clgrad.load: round trips, devices, and malformed files (including a fuzz test)."""
import collections
import functools
import io
import json
import math
import struct
import zlib

import numpy as np
import pytest
from conftest import ALL_DTYPES, random_array, supported
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clgrad
from clgrad.runtime.device import all_devices
from clgrad.serialization import _PREFIX, MAX_DEPTH

Error = clgrad.SerializationError


def dumps(obj) -> bytes:
    buffer = io.BytesIO()
    clgrad.save(obj, buffer)
    return buffer.getvalue()


def loads(data: bytes, **kwargs):
    return clgrad.load(io.BytesIO(data), **kwargs)


def reseal(header: bytes, blob: bytes) -> bytes:
    """A file with this header and blob and a correct prefix (lengths, checksum)."""
    crc = zlib.crc32(blob, zlib.crc32(header))
    return _PREFIX.pack(b"\x89CLGRAD\n", 1, len(header), len(blob), crc) + header + blob


def split(data: bytes) -> tuple[bytes, bytes]:
    _, _, header_len, _, _ = _PREFIX.unpack(data[:_PREFIX.size])
    header = data[_PREFIX.size:_PREFIX.size + header_len]
    return header, data[_PREFIX.size + header_len:]


def assert_same(got, want):
    assert type(got) is type(want)
    if isinstance(want, clgrad.Tensor):
        assert (got.dtype, got.shape, got.requires_grad) == (want.dtype, want.shape,
                                                             want.requires_grad)
        np.testing.assert_array_equal(got.numpy(force=True), want.numpy(force=True))
    elif isinstance(want, dict):
        assert list(got) == list(want)
        for key in want:
            assert_same(got[key], want[key])
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w)
    elif isinstance(want, float) and math.isnan(want):
        assert math.isnan(got)
    else:
        assert got == want and repr(got) == repr(want)


def small_file() -> bytes:
    return dumps({"w": clgrad.tensor([[1.5, -2.0], [3.0, 4.0]]), "n": [1, 2.5, "x"]})


# -- round trips --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL_DTYPES + [clgrad.float16], ids=str)
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 3), (3, 5)], ids=str)
def test_round_trip_every_dtype(dtype, shape, rng):
    if not supported(dtype):
        pytest.skip(f"the device lacks {dtype.extension}")
    x = clgrad.tensor(random_array(shape, dtype, rng), dtype=dtype)
    assert_same(loads(dumps(x)), x)


def test_non_contiguous_saved_contiguous(rng):
    base = clgrad.tensor(random_array((6, 8), clgrad.float32, rng))
    for view in (base.t(), base[::2, 1:7], base[:, 3]):
        assert not view.is_contiguous()
        got = loads(dumps(view))
        assert got.is_contiguous()
        assert_same(got, view)


def test_nested_structures_and_plain_values(tmp_path):
    x = clgrad.arange(6).reshape(2, 3)
    obj = {
        "state": collections.OrderedDict([("layer.weight", x.float()), ("layer.bias", x[0])]),
        "floats": [0.1, -0.0, float("nan"), float("inf"), -float("inf"), 1e-310],
        "ints": [0, -1, 2**63, -(2**100)],
        "misc": (None, True, False, "naïve ☃ \ud800", b"\x00\xff", b""),
        3: {(1, "a"): clgrad.float64, None: [[], {}, ()]},
        "deep": [[[[x]]]],
    }
    assert_same(loads(dumps(obj)), obj)
    clgrad.save(obj, tmp_path / "obj.clg")
    assert_same(clgrad.load(tmp_path / "obj.clg"), obj)
    clgrad.save(obj, str(tmp_path / "obj2.clg"))
    assert_same(clgrad.load(str(tmp_path / "obj2.clg")), obj)


def test_file_objects_read_one_record_each():
    buffer = io.BytesIO()
    clgrad.save([1], buffer)
    clgrad.save({"b": clgrad.ones(2)}, buffer)
    buffer.seek(0)
    assert clgrad.load(buffer) == [1]
    assert clgrad.load(buffer)["b"].tolist() == [1.0, 1.0]


def test_requires_grad_preserved():
    w = clgrad.ones(3, requires_grad=True)
    got = loads(dumps({"w": w, "y": w * 2, "c": clgrad.ones(2)}))
    assert got["w"].requires_grad and got["w"].is_leaf
    assert got["y"].requires_grad and got["y"].grad_fn is None
    assert not got["c"].requires_grad


# -- devices ------------------------------------------------------------------------------
def other_device():
    for dev in all_devices():
        if dev != clgrad.runtime.default_device() and dev.problem() is None \
                and not dev.is_simulator:
            return dev
    pytest.skip("only one usable OpenCL device")


def test_map_location_to_cpu_and_device():
    data = dumps({"a": clgrad.arange(4), "b": clgrad.ones(2, requires_grad=True)})
    for where in ("cpu", clgrad.device("cpu")):
        got = loads(data, map_location=where)
        assert got["a"].device == clgrad.device("cpu") and got["b"].requires_grad
    dev = other_device()
    for where in (str(dev), dev, {"cpu": dev}, {"cpu": str(dev)}):
        got = loads(data, map_location=where)
        assert got["a"].device == dev and got["a"].tolist() == [0, 1, 2, 3]


def test_saved_on_other_device_loads_there_by_default():
    dev = other_device()
    x = clgrad.arange(3).to(dev)
    data = dumps(x)
    assert loads(data).device == dev
    assert loads(data, map_location="cpu").device == clgrad.device("cpu")
    assert loads(data, map_location={"cuda:5": "cpu"}).device == dev   # no entry applies


def test_map_location_callable_gets_host_tensor_and_location():
    seen = []

    def fn(t, location):
        seen.append((t.device, location))
        return t * 2 if location == "cpu" else None

    assert loads(dumps(clgrad.arange(3)), map_location=fn).tolist() == [0, 2, 4]
    assert seen == [(clgrad.device("cpu"), "cpu")]
    assert loads(dumps(clgrad.arange(2)), map_location=lambda s, loc: None).tolist() == [0, 1]
    with pytest.raises(TypeError, match="must return a Tensor"):
        loads(dumps(clgrad.arange(2)), map_location=lambda s, loc: "cpu")


def test_unknown_saved_device_raises_and_can_be_mapped():
    header, blob = split(dumps(clgrad.arange(3)))
    data = reseal(header.replace(b'"device":"cpu"', b'"device":"cuda:7"'), blob)
    with pytest.raises(Error, match="saved on device 'cuda:7'.*map_location"):
        loads(data)
    assert loads(data, map_location="cpu").tolist() == [0, 1, 2]
    assert loads(data, map_location={"cuda:7": "cpu"}).tolist() == [0, 1, 2]


def test_bad_map_location_types():
    with pytest.raises(TypeError, match="map_location must be"):
        loads(small_file(), map_location=3)
    with pytest.raises(RuntimeError, match="not found"):
        loads(small_file(), map_location="opencl:99")


# -- saving unsupported objects -----------------------------------------------------------
@pytest.mark.parametrize("obj, where, name", [
    ({"a": [0, 1, 2, lambda: 0]}, r"obj\['a'\]\[3\]", "function"),
    ([{1, 2}], r"obj\[0\]", "set"),
    ({"x": np.zeros(2)}, r"obj\['x'\]", "ndarray"),
    ((object(),), r"obj\[0\]", "object"),
    ({"k": {clgrad.ones(1): 1}}, r"obj\['k'\]", "dict key of type Tensor"),
])
def test_save_unsupported_type_names_type_and_path(obj, where, name):
    with pytest.raises(TypeError, match=f"{name} at {where}"):
        dumps(obj)


def test_save_cycle_or_too_deep_raises():
    cycle = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="nested deeper"):
        dumps(cycle)
    deep = []
    for _ in range(MAX_DEPTH):
        deep = [deep]
    assert loads(dumps(deep)) == deep


def test_save_rejects_non_file():
    with pytest.raises(TypeError, match="path or a binary file"):
        clgrad.save(1, 3)


# -- malformed files ----------------------------------------------------------------------
def test_every_truncation_raises():
    data = small_file()
    for n in range(len(data)):
        with pytest.raises(Error):
            loads(data[:n])


def test_every_single_byte_flip_raises():
    data = small_file()
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x41
        with pytest.raises(Error):
            loads(bytes(bad))


def test_wrong_magic_and_version():
    data = small_file()
    with pytest.raises(Error, match="not a clgrad file"):
        loads(b"PK\x03\x04" + data[4:])
    with pytest.raises(Error, match="PyTorch zip"):
        loads(b"PK\x03\x04" + data[4:])
    with pytest.raises(Error, match="version 9"):
        loads(data[:8] + struct.pack("<I", 9) + data[12:])


def test_trailing_data_in_a_file(tmp_path):
    (tmp_path / "f").write_bytes(small_file() + b"x")
    with pytest.raises(Error, match="after the end"):
        clgrad.load(tmp_path / "f")


def test_huge_declared_sizes():
    data = small_file()
    for header_len, blob_len in ((2**63, 0), (0, 2**64 - 1), (2**40, 2**40)):
        bad = _PREFIX.pack(b"\x89CLGRAD\n", 1, header_len, blob_len, 0) + data[_PREFIX.size:]
        with pytest.raises(Error, match="truncated"):
            loads(bad)


def header_case(tree) -> bytes:
    return json.dumps({"root": tree}).encode()


def tensor_node(**changes):
    spec = {"dtype": "float32", "shape": [2], "offset": 0, "nbytes": 8, "requires_grad": False,
            "device": "cpu"}
    spec.update(changes)
    return {"tensor": spec}


@pytest.mark.parametrize("header, message", [
    (b"[" * 100000 + b"]" * 100000, "nested deeper"),
    (b'{"root":' + b'{"list":[' * 200 + b"]}" * 200 + b"}", "nested deeper"),
    (b"\xff\xfe", "not valid JSON"),
    (b'{"root": NaN}', "not valid JSON"),
    (b'{"root": 1' + b"0" * 5000 + b"}", "not valid JSON"),
    (b'{"root": "a"', "not valid JSON"),
    (b'{"root": 1, "x": 2}', "no root"),
    (header_case(1.5), "unexpected JSON value of type float"),
    (header_case({"set": []}), "unknown tag"),
    (header_case({"dict": [1]}), "alternate"),
    (header_case({"dict": [{"list": []}, 1]}), "dict key"),
    (header_case({"dict": [tensor_node(), 1]}), "dict key"),
    (header_case({"float": "0x1p99999999"}), "bad float"),
    (header_case({"bytes": [0, 10**6]}), "outside"),
    (header_case({"list": [{"bytes": [0, 16]}] * 3}), "more bytes than the blob"),
    (header_case(tensor_node(dtype="complex64")), "unknown dtype"),
    (header_case(tensor_node(shape=[-1])), "non-negative"),
    (header_case(tensor_node(shape=[True, 2])), "non-negative"),
    (header_case(tensor_node(shape=[0, 2**40, 2**40])), "too large"),
    (header_case(tensor_node(shape=[3])), "needs 12 bytes"),
    (header_case(tensor_node(offset=12)), "outside"),
    (header_case(tensor_node(requires_grad=1)), "requires_grad"),
    (header_case(tensor_node(dtype="int32", requires_grad=True)), "requires_grad"),
    (header_case(tensor_node(device="pocl")), "bad device"),
    (header_case(tensor_node(extra=1)), "exactly the fields"),
    (header_case({"list": [tensor_node()] * 3}), "more bytes than the blob"),
])
def test_hostile_headers_raise(header, message):
    with pytest.raises(Error, match=message):
        loads(reseal(header, bytes(16)))


def test_dtype_the_device_lacks_raises():
    if supported(clgrad.float16):
        pytest.skip("the device has cl_khr_fp16")
    node = tensor_node(dtype="float16", shape=[4])
    with pytest.raises(Error, match="float16 tensor.*cl_khr_fp16.*map_location"):
        loads(reseal(header_case(node), bytes(8)))


def test_loading_needs_binary_stream():
    with pytest.raises(TypeError, match="binary mode"):
        clgrad.load(io.StringIO("text"))


# -- fuzz ---------------------------------------------------------------------------------
@functools.cache
def seed_files() -> tuple:
    return (
        small_file(),
        dumps([clgrad.tensor(True), clgrad.zeros(0, 3), {"k": b"ab", 7: (None, -0.5)}]),
        dumps(collections.OrderedDict(a=clgrad.arange(3, dtype=clgrad.int8), b=clgrad.int16)),
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8)
    | st.sampled_from(["float32", "int64", "bool", "cpu", "tensor", "dict", "list", "bytes",
                       "float", "shape", "nbytes", "offset", "0x1p3"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["tensor", "dict", "odict", "list", "tuple", "bytes", "float", "dtype",
                         "shape", "offset", "nbytes", "device", "requires_grad", "root"]),
        inner, max_size=3),
    max_leaves=8)


def replace_in_tree(node, path: list, value):
    """Replace the subtree of the JSON `node` reached by following indices in `path`."""
    children = list(node.values()) if isinstance(node, dict) else node
    if not path or not isinstance(node, (dict, list)) or not children:
        return value
    i = path[0] % len(children)
    if isinstance(node, dict):
        key = list(node)[i]
        return {**node, key: replace_in_tree(node[key], path[1:], value)}
    return node[:i] + [replace_in_tree(node[i], path[1:], value)] + node[i + 1:]


@st.composite
def mutated_files(draw) -> bytes:
    data = bytearray(seed_files()[draw(st.integers(0, 2))])
    kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice", "splice"]))
    if kind == "splice":
        header, blob = split(bytes(data))
        tree = json.loads(header)
        path = draw(st.lists(st.integers(0, 20), max_size=8))
        tree = replace_in_tree(tree, path, draw(json_values))
        return reseal(json.dumps(tree).encode(), blob)
    if kind == "truncate":
        return bytes(data[:draw(st.integers(0, len(data)))])
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=4))
        elif len(data) > 1:
            del data[i:i + draw(st.integers(1, 4))]
    if draw(st.booleans()) and len(data) > _PREFIX.size:     # let the parser see the damage
        header, blob = split(bytes(data))
        data = reseal(header, blob)
    return bytes(data)


def tensors_in(obj):
    if isinstance(obj, clgrad.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from tensors_in(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from tensors_in(value)


@settings(max_examples=2000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_files())
def test_fuzz_mutated_files_load_or_raise_the_documented_error(data):
    try:
        obj = loads(data)
    except Error:
        return
    except BaseException as exc:     # noqa: BLE001 - anything else is a failure
        pytest.fail(f"clgrad.load raised {type(exc).__name__}: {exc}")
    total = sum(t.numel() * t.element_size() for t in tensors_in(obj))
    assert total <= len(data)
