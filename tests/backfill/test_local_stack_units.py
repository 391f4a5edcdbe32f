"""Fast checks of the local stack's building blocks: loopback settings, login file, stopping."""

from __future__ import annotations

import ast
import contextlib
import importlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
import pytest

from local.airflow.airflow_stack import use_write_ahead_log
from local.airflow.environment import CONFIG_ENV_VARIABLE, airflow_environment
from local.airflow.stack_settings import (
    StackSettings,
    ensure_password_file,
    shell_exports,
    stack_environment,
    write_private,
)
from local.aws_local import MWAA_EXECUTION_ACCESS_KEY, EndpointClients
from local.process_group import run_bounded, spawn
from local.stack_config import LOCAL_CONFIG_VARIABLE
from sales_etl.config import CONFIG_VARIABLE

ENDPOINT = EndpointClients("http://127.0.0.1:4599", "endpoint-key-for-the-test")


@pytest.fixture
def settings(tmp_path: Path) -> StackSettings:
    return StackSettings(tmp_path / "home", tmp_path / "passwords.json", api_port=18123)


def test_environment_binds_everything_to_loopback(settings: StackSettings) -> None:
    env = stack_environment(ENDPOINT, settings, base={})
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__API__PORT"] == "18123"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18123/execution/"
    assert env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "False"
    assert '"endpoint_url": "http://127.0.0.1:4599"' in env["AIRFLOW_CONN_AWS_DEFAULT"]
    assert env["AIRFLOW_HOME"] == str(settings.airflow_home)


def test_no_environment_variable_shadows_the_config_variable_in_the_metastore(
    settings: StackSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow reads AIRFLOW_VAR_* before its metastore: a UI edit would be ignored."""
    monkeypatch.setenv(CONFIG_ENV_VARIABLE, "{}")  # not even the caller's own
    assert CONFIG_ENV_VARIABLE not in stack_environment(ENDPOINT, settings)
    assert CONFIG_ENV_VARIABLE not in airflow_environment(None, settings.airflow_home)
    assert CONFIG_ENV_VARIABLE not in shell_exports(ENDPOINT, settings)  # env.sh


def import_string(path: str) -> Any:
    """What Airflow does with a dotted path in its config."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_task_logs_are_read_from_local_files_never_from_a_log_server(
    settings: StackSettings, tmp_path: Path
) -> None:
    """No component serves logs here (--skip-serve-logs): asking one only adds "Could not
    read served logs" to every running or deferred task's log."""
    from airflow.utils.log.file_task_handler import FileTaskHandler

    env = stack_environment(ENDPOINT, settings, base={})
    config = import_string(env["AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS"])
    handler = import_string(config["handlers"]["task"]["class"])(str(tmp_path))
    # A deferred task's instance: its triggerer's host (its log server would be on 8794).
    ti = SimpleNamespace(
        triggerer_job=SimpleNamespace(hostname="127.0.0.1", id=1), hostname="127.0.0.1", task=None
    )
    sources, _ = FileTaskHandler(str(tmp_path))._read_from_logs_server(ti, "attempt=1.log")
    assert "Could not read served logs" in str(sources)  # what Airflow's own handler does
    assert handler._read_from_logs_server(ti, "attempt=1.log") == ([], [])


def test_shell_exports_never_copy_the_callers_environment(
    settings: StackSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "caller-token")
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", "caller-key")
    text = shell_exports(ENDPOINT, settings)
    assert "caller-token" not in text and "caller-key" not in text
    assert "export AIRFLOW__API__HOST=127.0.0.1" in text
    assert str(settings.password_file) in text  # the path only, never the password
    password = ensure_password_file(settings.password_file)
    assert password not in text


def test_the_stack_signs_with_the_endpoint_key_and_env_sh_keeps_it_private(
    settings: StackSettings, tmp_path: Path
) -> None:
    env = stack_environment(ENDPOINT, settings, base={})
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (
        "LOCALDEVELOPER",
        ENDPOINT.secret_key,
    )
    connection = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
    assert (connection["login"], connection["password"]) == (
        MWAA_EXECUTION_ACCESS_KEY,
        ENDPOINT.secret_key,
    )
    text = shell_exports(ENDPOINT, settings)
    assert f"export AWS_SECRET_ACCESS_KEY={ENDPOINT.secret_key}" in text
    env_file = tmp_path / "env.sh"
    env_file.write_text("an older, world-readable file\n")
    env_file.chmod(0o644)
    write_private(env_file, text)
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert env_file.read_text() == text


def test_password_is_generated_once_and_private(settings: StackSettings) -> None:
    first = ensure_password_file(settings.password_file)
    assert len(first) >= 16
    assert ensure_password_file(settings.password_file) == first
    assert json.loads(settings.password_file.read_text()) == {"admin": first}
    assert stat.S_IMODE(settings.password_file.stat().st_mode) == 0o600


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _children(pid: int, count: int) -> list[int]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        kids = psutil.Process(pid).children(recursive=True)
        if len(kids) >= count:
            return [k.pid for k in kids]
        time.sleep(0.05)
    raise AssertionError(f"expected {count} children of {pid}")


def test_stop_ends_the_whole_group_even_if_it_ignores_sigterm(tmp_path: Path) -> None:
    # bash and both sleeps ignore SIGTERM (ignored signals survive exec): only SIGKILL works.
    script = "trap '' TERM; sleep 300 & sleep 300 & wait"
    proc = spawn("stubborn", ["bash", "-c", script], dict(os.environ), tmp_path / "s.log")
    kids = _children(proc.pid, 2)
    assert os.getpgid(proc.pid) == proc.pid
    started = time.monotonic()
    proc.stop(grace=1.0)
    assert time.monotonic() - started < 10
    assert not [pid for pid in [proc.pid, *kids] if _alive(pid)]
    assert proc.leftovers() == []


def test_stop_also_ends_a_descendant_that_left_the_group(tmp_path: Path) -> None:
    proc = spawn(
        "escaper", ["bash", "-c", "setsid sleep 300 & wait"], dict(os.environ), tmp_path / "e.log"
    )
    escaped = None
    deadline = time.monotonic() + 10
    while escaped is None and time.monotonic() < deadline:
        for child in psutil.Process(proc.pid).children(recursive=True):
            if os.getpgid(child.pid) != proc.pid:
                escaped = child.pid
        time.sleep(0.05)
    assert escaped is not None, "setsid child never appeared"
    proc.remember_descendants()
    proc.stop(grace=1.0)
    assert not _alive(escaped)


def test_run_bounded_stops_the_group_on_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    code = run_bounded("slow", ["bash", "-c", "sleep 300"], dict(os.environ), tmp_path / "b.log", 1)
    assert code is None
    assert time.monotonic() - started < 10
    assert run_bounded("ok", ["true"], dict(os.environ), tmp_path / "t.log", 30) == 0
    assert run_bounded("no", ["false"], dict(os.environ), tmp_path / "f.log", 30) == 1


def test_stack_database_is_switched_to_write_ahead_logging(tmp_path: Path) -> None:
    database = tmp_path / "airflow.db"
    sqlite3.connect(database).close()
    use_write_ahead_log(database)
    with contextlib.closing(sqlite3.connect(database)) as db:  # a new connection, as a component
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_stack_database_waits_a_minute_for_its_write_lock(settings: StackSettings) -> None:
    # As Airflow itself resolves it, in a process with the stack's environment.
    env = stack_environment(ENDPOINT, settings)
    code = "from airflow.settings import _get_connect_args; print(_get_connect_args('sync'))"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert ast.literal_eval(done.stdout.strip().splitlines()[-1])["timeout"] == 60


class StoredVariables:
    """``AirflowStack.ensure_variable`` over a dict, standing in for the stack's metastore."""

    def __init__(self, **stored: str) -> None:
        self.stored = stored

    def ensure_variable(self, key: str, value: str, description: str) -> str | None:
        kept = self.stored.get(key)
        self.stored.setdefault(key, value)
        return kept


def test_the_stack_creates_its_config_variable_once_and_says_when_a_kept_one_is_invalid() -> None:
    from local.airflow.__main__ import _store_config

    metastore = StoredVariables()
    assert "kept" not in _store_config(metastore)  # type: ignore[arg-type]
    assert json.loads(metastore.stored[CONFIG_VARIABLE]) == LOCAL_CONFIG_VARIABLE
    assert "kept from an earlier start (--reset" in _store_config(metastore)  # type: ignore[arg-type]

    edited = StoredVariables(**{CONFIG_VARIABLE: '{"bukcet": "x"}'})
    said = _store_config(edited)  # type: ignore[arg-type]
    assert "kept from an earlier start and INVALID: unknown key(s) ['bukcet']" in said
    assert edited.stored[CONFIG_VARIABLE] == '{"bukcet": "x"}'  # the user's edit stays
