"""One local stack or demo per work dir: a second one is refused before it touches anything."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.work_dir_lock import WorkDirBusy, lock_path, work_dir_lock
from tests.support.airflow_tools.stack import free_loopback_port

HOLDER = """
import sys
from pathlib import Path
from local.work_dir_lock import work_dir_lock
with work_dir_lock(Path(sys.argv[1]), "make airflow"):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A work dir as a running stack leaves it: logs and the endpoint's state."""
    work = tmp_path / "airflow"
    for folder in ("logs", "endpoint", "home"):
        (work / folder).mkdir(parents=True)
        (work / folder / "kept").write_text(folder)
    return work


@pytest.fixture
def holder(work: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the work dir, as a running `make airflow` does."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(work)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "held\n"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()  # by its own PID
        proc.wait()


def untouched(work: Path) -> bool:
    return all((work / f / "kept").read_text() == f for f in ("logs", "endpoint", "home"))


def stack_args(work: Path, **ports: int) -> argparse.Namespace:
    return argparse.Namespace(
        work_dir=work,
        port=ports.get("port", free_loopback_port()),
        api_port=ports.get("api_port", free_loopback_port()),
        parallelism=2,
        reset=True,  # the most destructive start: it would delete home/ too
    )


def test_a_second_stack_on_a_busy_work_dir_is_refused_naming_the_first(
    work: Path, holder: subprocess.Popen[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from local.airflow.__main__ import run

    assert run(stack_args(work), threading.Event()) == 2
    error = capsys.readouterr().err
    assert f"make airflow is already running on {work} (pid {holder.pid}, started at " in error
    assert untouched(work)


def test_a_demo_on_a_busy_work_dir_is_refused_before_deleting_it(
    work: Path, holder: subprocess.Popen[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from local import demo

    assert demo.main(["--work-dir", str(work)]) == 2
    assert f"already running on {work} (pid {holder.pid}" in capsys.readouterr().err
    assert untouched(work)


def test_a_busy_endpoint_port_is_refused_before_the_work_dir_is_touched(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The documented tip (another --api-port) while the endpoint's port is taken."""
    from local.airflow.__main__ import run

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        assert run(stack_args(work, port=busy), threading.Event()) == 2
    assert f"port {busy} on 127.0.0.1 is in use" in capsys.readouterr().err
    assert untouched(work)


def test_the_lock_is_released_when_its_holder_is_killed(
    work: Path, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(WorkDirBusy), work_dir_lock(work, "make demo"):
        pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with work_dir_lock(work, "make demo"):
        assert f'"pid": {os.getpid()}' in lock_path(work).read_text()
    assert lock_path(work).read_text() == ""  # released: it names no holder
