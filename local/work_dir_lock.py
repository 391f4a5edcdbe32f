"""One local stack or demo per work dir: a second one is refused before it touches anything.

The lock is an advisory ``flock`` on ``<work-dir>.lock``, beside the work dir rather than in
it, because the demo deletes its whole work dir on start. The kernel releases a ``flock`` when
its holder dies, even by SIGKILL, so a crashed stack never leaves a stale lock behind. The
file also says who holds it (PID, command, start time) for the refusal message.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path


class WorkDirBusy(RuntimeError):
    """Another process holds the work dir; the message names it and what to do."""


def lock_path(work_dir: Path) -> Path:
    return work_dir.with_name(work_dir.name + ".lock")


@contextlib.contextmanager
def work_dir_lock(work_dir: Path, command: str) -> Iterator[None]:
    """Hold ``work_dir`` for this process while the block runs, or raise ``WorkDirBusy``."""
    path = lock_path(work_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not O_TRUNC: opening must not wipe the holder's details before the lock is ours.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkDirBusy(_busy_message(work_dir, command, _holder(path))) from None
        holder = {
            "pid": os.getpid(),
            "command": command,
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # released: no holder to name
    finally:
        os.close(fd)  # also releases the lock


def _holder(path: Path) -> dict[str, object]:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # the holder is still writing its details
        return {}
    return holder if isinstance(holder, dict) else {}


def _busy_message(work_dir: Path, command: str, holder: dict[str, object]) -> str:
    who = holder.get("command", "another local run")
    pid = holder.get("pid", "unknown")
    since = holder.get("started_at", "an unknown time")
    return (
        f"{who} is already running on {work_dir} (pid {pid}, started at {since}); "
        f"nothing was touched. Stop it first (Ctrl-C in its terminal, or kill {pid}), "
        f"or give this {command} another --work-dir."
    )
