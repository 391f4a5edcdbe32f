"""Execution environments for local Lambda invocations, reused as AWS reuses them.

AWS runs a function's invocations in execution environments it keeps warm: the handler's
module is imported once (the init phase), and a later invocation finds its globals, its clients
and ``/tmp`` as the last one left them. Here an environment is a ``bootstrap.py`` process
serving one invocation at a time. It is reused only for the same function version, code,
handler and settings; one that timed out or died is discarded (the next invocation starts
another: a new init, as on AWS). Concurrent invocations each get one of their own. Every
environment writes to a log stream of its own, as on AWS.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from local.process_group import ProcessRegistry

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
# Ends an invocation's output (bootstrap.py prints it, then the request id): an ASCII record
# separator, which a handler's text output does not carry.
END_MARKER = b"\x1eLOCAL-LAMBDA-END "
# Idle environments kept per function configuration (AWS keeps more; a laptop needs few).
MAX_IDLE = 2


class ExecutionEnvironment:
    """One bootstrap process and the log stream its invocations write to."""

    def __init__(
        self,
        processes: ProcessRegistry,
        task_root: Path,
        handler: str,
        env: dict[str, str],
        log_stream: str,
    ) -> None:
        self.log_stream = log_stream
        self._processes = processes
        # sys.executable is the project's local Python (3.11) even when the function's
        # Runtime says python3.12: the handler must not rely on 3.12-only features.
        self.proc = processes.spawn(
            [sys.executable, str(BOOTSTRAP), str(task_root), handler],
            cwd=task_root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def invoke(
        self, event: bytes, request_id: str, result_file: Path, timeout: float
    ) -> tuple[str, bool]:
        """Run one invocation: its output, and whether this environment can serve another.

        ``timeout`` bounds the wait here; the bootstrap enforces the function's own timeout.
        """
        request = {
            "event": event.decode("utf-8", "replace"),
            "request_id": request_id,
            "result_file": str(result_file),
        }
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return "", False
        output, status = self._read_output(END_MARKER + request_id.encode(), timeout)
        reusable = status == b"ready"  # not after a failed init, a timeout or an exit
        if not reusable:
            self.close()
        return output.decode("utf-8", "replace"), reusable

    def close(self) -> None:
        """Stop the process (if it still runs) and forget it."""
        if self.proc.poll() is None:
            self._processes.terminate(self.proc)
        self._processes.release(self.proc)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def _read_output(self, end: bytes, timeout: float) -> tuple[bytes, bytes | None]:
        """The invocation's output up to its end line, and the status word on that line
        ("ready" or "exit"); None if the process ended first or time ran out."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        output = b""
        while True:
            found = output.find(end)
            line_end = output.find(b"\n", found) if found >= 0 else -1
            if line_end >= 0:
                return output[:found], output[found + len(end) : line_end].strip()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return output, None
            chunk = os.read(fd, 1 << 16)
            if not chunk:  # the process exited: a timeout, a crash, or the endpoint stopping
                self.proc.wait()
                return output, None
            output += chunk


class EnvironmentPool:
    """Idle environments by function configuration; one invocation per environment at a time."""

    def __init__(self) -> None:
        self._idle: dict[Hashable, list[ExecutionEnvironment]] = {}
        self._lock = threading.Lock()

    def take(self, key: Hashable) -> ExecutionEnvironment | None:
        """An idle environment of ``key``'s configuration, if any is alive."""
        with self._lock:
            idle = self._idle.get(key, [])
            while idle:
                environment = idle.pop()
                if environment.alive:
                    return environment
                environment.close()
        return None

    def give_back(self, key: Hashable, environment: ExecutionEnvironment) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if environment.alive and len(idle) < MAX_IDLE:
                idle.append(environment)
                return
        environment.close()


def configuration_key(*parts: Any) -> str:
    """What an environment is reused for: the same function version, code and settings."""
    return json.dumps(parts, sort_keys=True, default=str)
