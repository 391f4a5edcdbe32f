"""Child processes started by the endpoint (Glue job scripts, Lambda handlers).

Every child is started in its own session, so its process-group id equals its PID. Stopping a
child signals that group (by the child's own PID), which also reaches grandchildren such as the
JVM that PySpark starts, and never anything the endpoint did not start.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Sequence
from typing import Any

from local.process_group import stop_process_group

GRACE_SECONDS = 5.0


class ProcessRegistry:
    """Start, track and stop the endpoint's child processes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: dict[int, subprocess.Popen[Any]] = {}
        self._closed = False

    def spawn(self, args: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen[Any]:
        with self._lock:
            if self._closed:
                raise RuntimeError("the local AWS endpoint is shutting down")
            proc = subprocess.Popen(list(args), start_new_session=True, **popen_kwargs)
            self._procs[proc.pid] = proc
            return proc

    def release(self, proc: subprocess.Popen[Any]) -> None:
        """Forget a child that has exited (reaping it first)."""
        proc.poll()
        with self._lock:
            self._procs.pop(proc.pid, None)

    def pids(self) -> list[int]:
        with self._lock:
            return sorted(self._procs)

    @staticmethod
    def terminate(proc: subprocess.Popen[Any], grace: float = GRACE_SECONDS) -> None:
        """SIGTERM the child's process group, SIGKILL it after ``grace`` seconds."""
        stop_process_group(proc, grace)

    def stop_all(self) -> None:
        """Refuse new children and stop every running one."""
        with self._lock:
            self._closed = True
            procs = list(self._procs.values())
        threads = [threading.Thread(target=self.terminate, args=(p,)) for p in procs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with self._lock:
            self._procs.clear()
