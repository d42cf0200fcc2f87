"""Reproducible randomness: a Philox4x32-10 generator whose stream is the same on every device.

A Generator is (seed, offset). Every call consumes `numel` counters starting at the offset,
so the numbers depend only on the seed and the order of calls, not on the device.
"""
from __future__ import annotations

import numbers
import os

import numpy as np

from ..runtime import program
from ..runtime.device import default_device
from ..runtime.device import device as resolve_device
from . import dtype as dt
from .creation import _finish, _with_out
from .shape import check_options, factory_size, parse_size
from .tensor import Tensor

DEFAULT_SEED = 67280421310721
_MASK64 = 2**64 - 1


class Generator:
    """A Philox stream position: `manual_seed` restarts it, every draw advances it."""

    def __init__(self, device=None):
        self.device = device
        self._seed = DEFAULT_SEED
        self._offset = 0

    def manual_seed(self, seed) -> Generator:
        if not isinstance(seed, numbers.Integral):
            raise TypeError(f"manual_seed expected an int, got {type(seed).__name__}")
        if not -2**63 <= seed <= _MASK64:
            raise ValueError(f"Overflow when unpacking long long: seed {seed} is outside "
                             f"[-2**63, 2**64 - 1]")
        self._seed = int(seed) & _MASK64
        self._offset = 0
        return self

    def seed(self) -> int:
        self.manual_seed(int.from_bytes(os.urandom(8), "little") >> 1)
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> tuple:
        return (self._seed, self._offset)

    def set_state(self, state) -> Generator:
        self._seed, self._offset = (int(v) for v in state)
        return self

    def _take(self, n: int) -> tuple:
        offset = self._offset
        self._offset = (offset + n) & _MASK64
        return self._seed, offset


default_generator = Generator()


def manual_seed(seed) -> Generator:
    """Seed the default generator (same numbers on every device for a given seed)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def _draw(t: Tensor, dist: str, a, b, generator) -> Tensor:
    """Fill `t` (any layout) with `dist` draws from `generator`."""
    if not t._numel:
        return t
    target = t if t._contig else Tensor._empty(t._shape, t.dtype, t.device)
    device = target.device
    compute = dt.float64 if t.dtype is dt.float64 else dt.float32
    key = ("random", dist, t.dtype)
    kernel = device.kernels.get(key)
    if kernel is None:
        scalar = np.int64 if dist == "randint" else compute.np
        kernel = program.compile_kernel(
            device, key, "random.cl", f"philox_{dist}_{t.dtype.name}",
            [None, np.int64, np.uint64, np.uint64, scalar, scalar, np.int64],
            out_type=t.dtype.ctype, ct=compute.ctype, dist=dist,
            fp64=compute is dt.float64, fp16=t.dtype is dt.float16)
    seed_, offset = (generator or default_generator)._take(target._numel)
    program.launch(device, kernel, target._numel, target._storage.buffer, target._offset,
                   seed_, offset, a, b, target._numel)
    if target is not t:
        t.copy_(target)
    elif t._storage.shared:
        device.queue.finish()
    t._written()
    return t


def _require_float(name: str, d: dt.dtype) -> None:
    if not d.is_floating_point:     # NotImplementedError (a RuntimeError), as PyTorch raises
        raise NotImplementedError(f"{name} is only implemented for floating-point dtypes, got "
                                  f"{d.name}")


def uniform_(self: Tensor, a=0.0, b=1.0, *, generator=None) -> Tensor:
    """Fill with numbers drawn uniformly from [a, b)."""
    _require_float("uniform_", self.dtype)
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={a} > to={b}")
    return _draw(self, "uniform", float(a), float(b), generator)


def normal_(self: Tensor, mean=0.0, std=1.0, *, generator=None) -> Tensor:
    """Fill with numbers drawn from N(mean, std**2)."""
    _require_float("normal_", self.dtype)
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    return _draw(self, "normal", float(mean), float(std), generator)


def random_int_(self: Tensor, low: int, high: int, generator=None) -> Tensor:
    """Fill with integers drawn uniformly from [low, high)."""
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                           f"from={low} >= to={high}")
    for value in (low, high):
        if not -2**63 <= value < 2**63:
            raise ValueError(f"Overflow when unpacking long long: {value} does not fit in int64")
    if self.dtype.category != dt.FLOAT:
        lo, hi = (0, 1) if self.dtype is dt.bool_ else (int(x) for x in (
            np.iinfo(self.dtype.np).min, np.iinfo(self.dtype.np).max))
        for name, value in (("from", low), ("to - 1", high - 1)):
            if not lo <= value <= hi:
                raise RuntimeError(f"random_: {name} = {value} is out of bounds for "
                                   f"{self.dtype.name} [{lo}, {hi}]")
    return _draw(self, "randint", int(low), int(high), generator)


def _factory(fill, dist_name):
    def factory(*size, generator=None, dtype=None, device=None, requires_grad=False,
                **options):
        dt.check_argument(dtype, dist_name)
        dtype = dtype or dt.get_default_dtype()
        _require_float(dist_name, dtype)
        dev = default_device() if device is None else resolve_device(device)
        shape = factory_size(dist_name, size, options)
        return _finish(fill(Tensor._empty(shape, dtype, dev), generator=generator),
                       requires_grad)
    factory.__name__ = dist_name
    return factory


rand = _factory(uniform_, "rand")
randn = _factory(normal_, "randn")


def randint(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False,
            **options):
    """randint(high, size) or randint(low, high, size): integers from [low, high)."""
    if "high" in options:                 # low/high by keyword
        low = options.pop("low", None)
        args = (*([] if low is None else [low]), *args, options.pop("high"))
    check_options("randint", options)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        args, size = args[:-1], args[-1]
    if size is None or len(args) not in (1, 2):
        raise TypeError("randint() expects (high, size) or (low, high, size)")
    low, high = (0, args[0]) if len(args) == 1 else args
    dt.check_argument(dtype, "randint")
    dev = default_device() if device is None else resolve_device(device)
    t = Tensor._empty(parse_size(size), dtype or dt.int64, dev)
    return _finish(random_int_(t, low, high, generator), False)


def rand_like(input, *, dtype=None, device=None, requires_grad=False, **options):
    check_options("rand_like", options)
    return rand(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


def randn_like(input, *, dtype=None, device=None, requires_grad=False, **options):
    check_options("randn_like", options)
    return randn(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                 requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, **options):
    check_options("randint_like", options)
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=dtype or input.dtype,
                   device=device or input.device)


def install(namespace: dict) -> None:
    for f in (rand, randn, randint):
        namespace[f.__name__] = _with_out(f)
    for f in (manual_seed, seed, initial_seed, rand_like, randn_like, randint_like):
        namespace[f.__name__] = f
    namespace["Generator"] = Generator
    namespace["default_generator"] = default_generator
    Tensor.uniform_ = uniform_
    Tensor.normal_ = normal_
