"""The local AWS endpoint for a test suite (stopped and checked for leftovers afterwards), and
ways to hold its crawls and Glue job runs in flight."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest

from local.endpoint import (
    RunningEndpoint,
    glue_crawlers,
    running_endpoint,
    s3_mirror,
    start_endpoint,
)


@contextmanager
def suite_endpoint(work_dir: Path, *, prewarm_spark: bool = False) -> Iterator[RunningEndpoint]:
    """A new endpoint, or the one another suite runs in this process (moto allows one).

    A shared endpoint is left to its owner to stop. An own endpoint is stopped on exit, and
    then none of the Glue job or Lambda processes it started may still exist.
    """
    shared = running_endpoint()
    if shared is not None:
        yield shared
        return
    running = start_endpoint(work_dir=work_dir, prewarm_spark=prewarm_spark)
    try:
        yield running
    finally:
        children = running.child_pids()
        running.stop()
        leftovers = [pid for pid in children if psutil.pid_exists(pid)]
        assert not leftovers, f"endpoint child processes survived: {leftovers}"


@contextmanager
def glue_runs_held(bucket: str) -> Iterator[None]:
    """Hold every Glue job run that stages ``bucket`` in STARTING until exit.

    A run takes the mirror locks of its buckets before it stages its inputs
    (``GlueJobRunner._run_staged``); holding the lock here, in the endpoint's process, keeps
    a run waiting exactly as a slow-starting run on Glue would.
    """
    with s3_mirror.bucket_locks([bucket]):
        yield


class CrawlPause:
    """Holds the endpoint's crawls in RUNNING, just before they infer a table, until released."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, max_seconds: float) -> None:
        self.reached = threading.Event()  # a crawl is being held
        self._released = threading.Event()
        real_infer = glue_crawlers.infer_table

        def paused_infer(*args: Any, **kwargs: Any) -> Any:
            self.reached.set()
            self._released.wait(max_seconds)
            return real_infer(*args, **kwargs)

        monkeypatch.setattr(glue_crawlers, "infer_table", paused_infer)

    def release(self) -> None:
        self._released.set()
