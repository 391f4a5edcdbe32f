"""One warm Spark driver for local Glue job runs, reused from run to run.

A fresh ``python script.py`` pays for the Python imports and the JVM start (10-20 s on a
laptop) before the job does any work; the worker in ``spark_worker.py`` pays once. Runs are
serial in it: a run that finds the worker busy gets a fresh process instead, so concurrent
runs (up to the job's MaxConcurrentRuns) still run concurrently. Stopping or timing out a run
kills the worker; the next run starts another.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from local.process_group import ProcessRegistry

WORKER_SCRIPT = Path(__file__).with_name("spark_worker.py")
READY_TIMEOUT_SECONDS = 300.0
MAX_MESSAGE_BYTES = 1 << 16


@dataclass(frozen=True)
class ScriptRequest:
    """What a run needs: ``argv[0]`` is the script, the rest its arguments."""

    argv: list[str]
    python_path: list[str]
    env: dict[str, str]
    cwd: Path


class WarmRun:
    """A run in progress in the worker, shaped like a ``subprocess.Popen`` for the runner."""

    def __init__(self, worker: WarmSparkWorker, request: ScriptRequest) -> None:
        self._worker = worker
        # one pipe for stdout and stderr, as a fresh process started with stderr=STDOUT
        out_read, out_write = os.pipe()
        try:
            worker.send(request, out_write)
        finally:
            os.close(out_write)
        self.stdout: IO[str] = _text_reader(out_read)
        self.returncode: int | None = None

    def wait(self, timeout: float) -> int:
        """The script's exit status; raises ``subprocess.TimeoutExpired`` like ``Popen.wait``."""
        self.returncode = self._worker.result(timeout)
        return self.returncode


class WarmSparkWorker:
    """The worker process and its control channel."""

    def __init__(
        self, processes: ProcessRegistry, env: dict[str, str], log_file: Path, *, warm_up: bool
    ) -> None:
        self._control, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            with log_file.open("ab") as log:
                self.proc: subprocess.Popen[bytes] = processes.spawn(
                    [
                        sys.executable,
                        str(WORKER_SCRIPT),
                        "--control-fd",
                        str(child_end.fileno()),
                        *(["--warm-up"] if warm_up else []),
                    ],
                    env=env,
                    cwd=log_file.parent,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(child_end.fileno(),),
                )
        finally:
            child_end.close()
        self._ready = False

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> bool:
        if not self._ready:
            self._ready = self._receive(timeout) == {"ready": True}
        return self._ready

    def send(self, request: ScriptRequest, output_fd: int) -> None:
        message = {
            "argv": request.argv,
            "python_path": request.python_path,
            "env": request.env,
            "cwd": str(request.cwd),
        }
        socket.send_fds(self._control, [json.dumps(message).encode()], [output_fd])

    def result(self, timeout: float) -> int:
        reply = self._receive(timeout)
        if reply is None:  # the worker died (killed by stop, timeout or shutdown)
            self.proc.wait()
            return self.proc.returncode
        return int(reply["returncode"])

    def close(self) -> None:
        self._control.close()

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        self._control.settimeout(timeout)
        try:
            message = self._control.recv(MAX_MESSAGE_BYTES)
        except TimeoutError as exc:
            raise subprocess.TimeoutExpired("local Glue Spark worker", timeout) from exc
        except OSError:
            return None
        return json.loads(message) if message else None


class WarmSparkPool:
    """Hands the one warm worker to one run at a time, starting a new one when needed."""

    def __init__(
        self, processes: ProcessRegistry, env_factory: Callable[[], dict[str, str]], work_dir: Path
    ) -> None:
        self._processes = processes
        self._env_factory = env_factory
        self._work_dir = work_dir
        self._lock = threading.Lock()
        self._worker: WarmSparkWorker | None = None
        self._busy = False

    def prewarm(self) -> None:
        """Start the worker and its JVM now, so the first run does not wait for them."""
        with self._lock:
            if self._worker is None:
                self._worker = self._spawn(warm_up=True)

    def acquire(self) -> WarmSparkWorker | None:
        """The worker, ready and reserved for the caller; None if busy or it cannot start."""
        with self._lock:
            if self._busy:
                return None
            if self._worker is None or not self._worker.alive:
                self._discard()
                try:
                    self._worker = self._spawn(warm_up=False)  # a run waits for it
                except RuntimeError:  # the endpoint is shutting down
                    return None
            self._busy = True
            worker = self._worker
        try:
            ready = worker.wait_ready()
        except subprocess.TimeoutExpired:
            ready = False
        if not ready:
            self.release(worker, broken=True)
            return None
        return worker

    def release(self, worker: WarmSparkWorker, *, broken: bool = False) -> None:
        if broken or not worker.alive:
            self._processes.terminate(worker.proc)
            self._processes.release(worker.proc)
        with self._lock:
            self._busy = False
            if worker is self._worker and (broken or not worker.alive):
                self._discard()

    def close(self) -> None:
        with self._lock:
            self._discard()

    def _spawn(self, *, warm_up: bool) -> WarmSparkWorker:
        log_file = self._work_dir / "glue" / "spark-worker.log"
        return WarmSparkWorker(self._processes, self._env_factory(), log_file, warm_up=warm_up)

    def _discard(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None


def _text_reader(fd: int) -> IO[str]:
    return open(fd, encoding="utf-8", errors="replace")
