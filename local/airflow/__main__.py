"""Airflow with UI on this machine, running the unchanged DAG against the local AWS endpoint.

    python -m local.airflow [--port 4599] [--api-port 8080] [--work-dir .local-run/airflow]
    make airflow AIRFLOW_ARGS="--api-port 8081"   # the same flags, through make

Starts the local AWS endpoint (in this process), provisions it and seeds the demo data
(2024-01-15..20), then Airflow's API server, scheduler, triggerer and DAG processor, each on
127.0.0.1 and in its own process group. Runs until Ctrl-C, SIGTERM or SIGHUP, then stops every
component (by process group) and the endpoint. One stack per work dir: a second one is refused
before it touches anything (``local.work_dir_lock``). Exit code 0 after a requested stop, 1 if
something failed or a component died, 2 for unusable arguments (e.g. a port in use, a busy
work dir).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import sys
import threading
from pathlib import Path

from local.airflow.airflow_stack import AirflowStack, Cancelled, StackError
from local.airflow.cli import DAG_ID
from local.airflow.stack_settings import (
    ADMIN_USER,
    StackSettings,
    ensure_password_file,
    port_is_free,
    shell_exports,
    stack_environment,
    write_private,
)
from local.endpoint import DEFAULT_PORT, EndpointError, start_endpoint
from local.provision import seed_demo_lake
from local.stack_config import CONFIG_DESCRIPTION, local_config_json
from local.work_dir_lock import WorkDirBusy, work_dir_lock
from sales_etl.config import CONFIG_VARIABLE, ConfigError, load_config

DEFAULT_API_PORT = 8080
READY_TIMEOUT_SECONDS = 300
WATCH_SECONDS = 2.0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.airflow", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="local AWS endpoint port")
    parser.add_argument("--api-port", type=int, default=DEFAULT_API_PORT, help="Airflow UI/API")
    parser.add_argument("--work-dir", type=Path, default=Path(".local-run/airflow"))
    parser.add_argument("--parallelism", type=int, default=2, help="executor slots")
    parser.add_argument(
        "--reset", action="store_true", help="forget past runs (delete the Airflow DB and logs)"
    )
    return parser.parse_args(argv)


def _stop_on_signals() -> threading.Event:
    """SIGINT, SIGTERM and SIGHUP only set a flag: every wait below polls it and unwinds."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _store_config(stack: AirflowStack) -> str:
    """The stack's config as a metastore Variable, as on MWAA; what the banner says of it."""
    kept = stack.ensure_variable(CONFIG_VARIABLE, local_config_json(), CONFIG_DESCRIPTION)
    where = f"Variable {CONFIG_VARIABLE} (Admin -> Variables; edits apply to the next run)"
    if kept is None:
        return where
    try:
        load_config(kept)
    except ConfigError as err:  # the runs would fail on it: say so now
        return f"{where}\n            kept from an earlier start and INVALID: {err}"
    return f"{where}\n            kept from an earlier start (--reset restores the stack's own)"


def _banner(
    settings: StackSettings,
    password: str,
    env_file: Path,
    logs: Path,
    days: list[str],
    config: str,
) -> str:
    first, last = days[0], days[-1]
    return f"""
Airflow is ready: {settings.api_url}
  login     {ADMIN_USER} / {password}   (dev-only, generated once into {settings.password_file})
  DAG       {DAG_ID}: active, no scheduled runs here; seeded days {first} .. {last}
  config    {config}
  CLI       source {env_file}   (in another shell), then for example:
            airflow dags trigger {DAG_ID} --conf '{{"run_date": "{first}"}}'
            airflow backfill create --dag-id {DAG_ID} --from-date {first} \\
              --to-date {last}T02:00 --max-active-runs 1
  logs      {logs}/<component>.log, task logs in the UI
Stop with Ctrl-C."""


def _port_in_use(port: int, flag: str) -> str:
    return (
        f"error: port {port} on 127.0.0.1 is in use by another program; choose another with"
        f' {flag}, e.g. make airflow AIRFLOW_ARGS="{flag} {port + 1}"'
    )


def run(args: argparse.Namespace, stop: threading.Event) -> int:
    work = args.work_dir.resolve()
    try:
        with work_dir_lock(work, "make airflow"):
            return _run_stack(args, work, stop)
    except WorkDirBusy as busy:
        print(f"error: {busy}", file=sys.stderr)
        return 2


def _run_stack(args: argparse.Namespace, work: Path, stop: threading.Event) -> int:
    settings = StackSettings(
        airflow_home=work / "home",
        password_file=work / "passwords.json",
        api_port=args.api_port,
        parallelism=args.parallelism,
    )
    # Both ports are checked before anything in the work dir is deleted.
    for port, flag in ((args.api_port, "--api-port"), (args.port, "--port")):
        if not port_is_free(port):
            print(_port_in_use(port, flag), file=sys.stderr)
            return 2
    if args.reset:
        shutil.rmtree(settings.airflow_home, ignore_errors=True)
    logs = work / "logs"
    # The endpoint keeps its state in memory, so its files start fresh with every run.
    for fresh in (logs, work / "endpoint"):
        shutil.rmtree(fresh, ignore_errors=True)
    password = ensure_password_file(settings.password_file)
    try:
        endpoint = start_endpoint(args.port, work / "endpoint", prewarm_spark=True)
    except EndpointError as err:
        print(f"error: {err} (try --port)", file=sys.stderr)
        return 2
    with endpoint:
        print(f"local AWS endpoint: {endpoint.url}", flush=True)
        days = seed_demo_lake(endpoint.clients)
        env = stack_environment(endpoint.clients, settings)
        env_file = work / "env.sh"
        # It holds the endpoint's key: readable by the developer only, like the endpoint's own
        # state file (work/endpoint/endpoint.json).
        write_private(env_file, shell_exports(endpoint.clients, settings))
        print("starting Airflow (db migrate, then 4 components; about a minute)...", flush=True)
        stack = AirflowStack(settings, env, logs)
        try:
            stack.migrate(cancelled=stop.is_set)
            stack.start()
            stack.wait_ready(DAG_ID, READY_TIMEOUT_SECONDS, cancelled=stop.is_set)
            config = _store_config(stack)
            print(_banner(settings, password, env_file, logs, days, config), flush=True)
            while not stop.wait(WATCH_SECONDS):
                dead = stack.dead_component()
                if dead is not None:
                    print(
                        f"error: {dead.name} exited ({dead.proc.returncode}); log "
                        f"{dead.log_file}:\n{dead.log_tail()}",
                        file=sys.stderr,
                    )
                    return 1
        finally:
            print("stopping Airflow and the local AWS endpoint...", flush=True)
            leftovers = stack.stop()
            if leftovers:
                print(f"warning: processes still running: {leftovers}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=logging.WARNING)
    stop = _stop_on_signals()
    try:
        code = run(args, stop)
    except Cancelled:
        code = 0
    except StackError as err:
        print(f"error: {err}", file=sys.stderr)
        code = 1
    print("stopped" if code == 0 else f"stopped (exit {code})", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
