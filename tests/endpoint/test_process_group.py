"""Stopping children by their process group (``local/process_group.py``)."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from local.process_group import group_exists, stop_process_group


def _wait_until_zombie(pid: int) -> None:
    deadline = time.monotonic() + 30
    while psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, f"{pid} did not exit"
        time.sleep(0.01)


def test_a_group_whose_members_all_exited_is_gone_before_they_are_reaped():
    # Not waited for, the child stays in its group as a zombie: as an orphan does until init
    # reaps it, which on some machines takes a second or two.
    proc = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    try:
        _wait_until_zombie(proc.pid)
        assert not group_exists(proc.pid)
    finally:
        proc.wait()


def test_a_running_member_keeps_its_group_alive_until_stopped():
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        assert group_exists(proc.pid)
    finally:
        stop_process_group(proc, grace=5, whole_group=True)
    assert not group_exists(proc.pid)
