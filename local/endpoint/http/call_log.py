"""A record of the AWS calls each principal makes, as IAM sees them (off unless asked for).

Each call is kept as the IAM action, the resource ARN and the condition keys a policy can
test (e.g. ``s3:prefix``), so the roles' policies can be evaluated against what the pipeline
really does. Calls arrive from the HTTP layer (``call_recorder.py``) and from the places where
the endpoint itself acts for a principal (crawls, Glue job staging, log delivery).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from local.aws_local import PRINCIPAL_BY_ACCESS_KEY

UNATTRIBUTED = "unattributed"  # local tools and tests, which use no principal's key
UNKNOWN_RESOURCE = "?"  # an action whose resource this endpoint cannot name


@dataclass(frozen=True, order=True)
class Call:
    principal: str
    action: str
    resource: str
    conditions: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        keys = ", ".join(f"{k}={v!r}" for k, v in self.conditions)
        return f"{self.principal}: {self.action} on {self.resource}" + (
            f" with {keys}" if keys else ""
        )


def principal_of(access_key: str | None) -> str:
    return PRINCIPAL_BY_ACCESS_KEY.get(access_key or "", UNATTRIBUTED)


class CallCounts(Counter[Call]):
    """Each distinct call and how many times it was made (what a bill counts)."""

    def add(self, call: Call) -> None:
        self[call] += 1


class CallLog:
    """Thread-safe; records only while a ``recording()`` block is open."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sinks: list[set[Call] | CallCounts] = []

    @property
    def active(self) -> bool:
        return bool(self._sinks)

    def record(
        self,
        access_key: str | None,
        action: str,
        resource: str,
        conditions: Mapping[str, str] | None = None,
    ) -> None:
        if not self._sinks:
            return
        keys = tuple(sorted((conditions or {}).items()))
        call = Call(principal_of(access_key), action, resource, keys)
        with self._lock:
            for sink in self._sinks:
                sink.add(call)

    @contextmanager
    def recording(self) -> Iterator[set[Call]]:
        """The distinct calls made while the block runs (filled in as they happen)."""
        with self._sink(set()) as calls:
            yield calls

    @contextmanager
    def counting(self) -> Iterator[CallCounts]:
        """Like ``recording()``, with how many times each call was made."""
        with self._sink(CallCounts()) as counts:
            yield counts

    @contextmanager
    def _sink(self, sink: set[Call] | CallCounts) -> Iterator[set[Call] | CallCounts]:
        with self._lock:
            self._sinks.append(sink)
        try:
            yield sink
        finally:
            with self._lock:
                self._sinks = [s for s in self._sinks if s is not sink]
