"""Grad mode: whether ops record themselves for backward (per thread, as PyTorch).

`no_grad`, `enable_grad`, `set_grad_enabled(mode)` and `inference_mode` work as context
managers and as decorators.
"""
from __future__ import annotations

import functools
import inspect
import threading

_local = threading.local()


def is_grad_enabled() -> bool:
    """Whether new ops are recorded for backward in this thread."""
    return getattr(_local, "enabled", True)


def _set(mode: bool) -> None:
    _local.enabled = mode


class _Mode:
    """A grad-mode switch: a context manager, and a decorator running a function under it
    (`@no_grad()` or bare `@no_grad`, as PyTorch)."""

    mode = True

    def __new__(cls, *args, **kwargs):
        if cls in (no_grad, enable_grad) and len(args) == 1 and callable(args[0]) \
                and not kwargs:
            return object.__new__(cls)(args[0])           # bare decorator: @no_grad
        return object.__new__(cls)

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set(self.mode)
        return self

    def __exit__(self, *exc) -> bool:
        _set(self._prev)
        return False

    def __call__(self, fn):
        mode = self.mode
        if inspect.isgeneratorfunction(fn):
            return _generator_under(mode, fn)

        @functools.wraps(fn)
        def run(*args, **kwargs):
            prev = is_grad_enabled()
            _set(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                _set(prev)
        return run


def _generator_under(mode: bool, fn):
    """A generator function whose body runs under grad mode `mode` at every resumption,
    throw() and close() included (the caller's mode is back between them), as PyTorch's
    decorators do."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        gen = fn(*args, **kwargs)
        step, value = gen.send, None
        while True:
            prev = is_grad_enabled()
            _set(mode)
            try:
                item = step(value)
            except StopIteration as stop:
                return stop.value
            finally:
                _set(prev)
            try:
                step, value = gen.send, (yield item)
            except GeneratorExit:
                prev = is_grad_enabled()
                _set(mode)
                try:
                    gen.close()
                finally:
                    _set(prev)
                raise
            except BaseException as exc:  # noqa: BLE001 (thrown in: the body handles it)
                step, value = gen.throw, exc
    return run


class no_grad(_Mode):
    """Ops inside record nothing: results do not require grad."""

    mode = False


class enable_grad(_Mode):
    """Record ops again (inside no_grad)."""

    mode = True


class inference_mode(_Mode):
    """An alias of no_grad (clgrad has no separate inference tensors); mode=False: enable."""

    def __init__(self, mode: bool = True):
        self.mode = not mode


class set_grad_enabled(_Mode):
    """Set grad mode now (a plain call) or for a `with` block / decorated function."""

    def __init__(self, mode: bool):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): argument 'enabled' (position 1) must be bool, "
                            f"not {type(mode).__name__}")
        self.mode = mode
        self._prev = is_grad_enabled()
        _set(self.mode)

    def __enter__(self):
        return self

    def __call__(self, fn):
        _set(self._prev)                 # used as a decorator: undo the constructor's switch
        return super().__call__(fn)
