"""Waiting for something to happen: poll, with a deadline, and fail saying what was awaited."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

T = TypeVar("T")


def wait_for(
    probe: Callable[[], Any],
    done: Callable[[Any], bool],
    timeout: float = 60,
    interval: float = 0.2,
    what: str = "",
) -> Any:
    """Poll ``probe`` until ``done(value)``; return the last value or fail on timeout, naming
    ``what`` was awaited if given."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            awaited = f" waiting for {what}" if what else ""
            pytest.fail(f"timed out after {timeout}s{awaited}; last value: {value!r}")
        time.sleep(interval)


def wait_until(what: str, found: Callable[[], T | None], timeout: float) -> T:
    """Poll ``found`` every half second until it returns something; fail after ``timeout``."""
    return wait_for(found, lambda value: value is not None, timeout, interval=0.5, what=what)
