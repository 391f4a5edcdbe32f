"""Airflow CLI commands for the tests, each bounded in time and logged to a file."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from local.airflow.cli import AIRFLOW, KILL_AFTER_SECONDS
from local.airflow.command_result import CommandResult


def run_airflow(
    args: list[str], env: dict[str, str], log_file: Path, timeout_seconds: int
) -> CommandResult:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    command = ["timeout", "-k", str(KILL_AFTER_SECONDS), str(timeout_seconds), AIRFLOW, *args]
    started = time.monotonic()
    with log_file.open("w") as log:
        completed = subprocess.run(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    return CommandResult(completed.returncode, time.monotonic() - started, log_file)
