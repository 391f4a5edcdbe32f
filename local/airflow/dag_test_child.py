"""Run ``airflow dags test`` (and ``tasks test``) commands one after another in one Python process.

    python -m local.airflow.dag_test_child --result-fd N [--migrate-log FILE --variables JSON]
    stdin, one batch a line: {"env": {...}, "commands": [{"args": [...], "log_file": "..."}]}

Each command is Airflow's own (parsed by Airflow's CLI parser, run by its command function), so
it behaves exactly like ``airflow dags test sales_etl DAY [--conf ...]``; only the process is
shared. Costs then paid once instead of per run or per task: importing
Airflow and the DAG's providers, migrating the metadata DB (``--migrate-log``: ``airflow db
migrate`` in this process), building the in-process Execution API that ``dags test`` talks to
(Airflow builds a new one, 3-5 s, for every task and trigger) and reading botocore's service
models (``boto_models``: every hook's session would read them again). All that happens at start-up,
before the runs are read from stdin, so a caller can start the runner first and the AWS
endpoint meanwhile; a batch's ``env`` is added for that batch (e.g. the endpoint's variables).
Each command's output goes to its own log file. One JSON line on the result fd reports start-up
(``{"ready": bool}``), then one per command (``{"ok": bool}``), so the parent can time every
step out and kill this process. The process exits when stdin closes.

What it changes inside Airflow for that (the shared Execution API, and two places where ``dags
test`` differs from a worker) is in ``airflow_internals``: on an Airflow version those patches
were not written for, the process exits at start-up, its log naming both versions.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from local.airflow.airflow_internals import UnsupportedAirflowVersion, apply_patches
from local.airflow.boto_models import share_service_models

# Allocations between collections of young objects (Python's default: 700).
GC_YOUNG_THRESHOLD = 50_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--result-fd", type=int, required=True)
    parser.add_argument("--migrate-log", type=Path, help="run `airflow db migrate` first")
    parser.add_argument(
        "--variables", type=json.loads, default={}, help="after migrating, store these Variables"
    )
    args = parser.parse_args(argv)

    from airflow.cli import cli_parser
    from airflow.configuration import write_default_airflow_configuration_if_needed
    from airflow.sdk.execution_time import supervisor

    write_default_airflow_configuration_if_needed()
    share_service_models()
    try:
        # Among them: one in-process Execution API for every task of every run.
        apply_patches()
    except UnsupportedAirflowVersion as refused:
        print(refused, file=sys.stderr)  # to the runner's log; start-up is never reported
        return 1
    cli = cli_parser.get_parser()

    with os.fdopen(args.result_fd, "w", buffering=1) as results:
        ready = True
        if args.migrate_log:
            with _output_to(args.migrate_log):
                ready = _run_cli(cli, ["db", "migrate"])
                for key, value in args.variables.items():  # in the metastore, as on MWAA
                    ready = ready and _run_cli(cli, ["variables", "set", key, value])
        if ready:
            _warm_up(supervisor.in_process_api_server)
        _report(results, {"ready": ready})
        if not ready:
            return 1
        for line in sys.stdin:  # one batch a line, until the parent closes stdin
            batch = json.loads(line)
            with _environment_added(batch.get("env", {})):
                for command in batch["commands"]:
                    with _output_to(Path(command["log_file"])):
                        ok = _run_cli(cli, command["args"])
                    _report(results, {"ok": ok})
    return 0


@contextlib.contextmanager
def _environment_added(extra: dict[str, str]) -> Iterator[None]:
    """``extra`` in os.environ for one batch only (e.g. a Variable overridden by one test)."""
    saved = dict(os.environ)
    os.environ.update(extra)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _warm_up(in_process_api_server: Callable[[], Any]) -> None:
    """Import the DAG's modules and build the Execution API now, while the caller is busy.

    Best effort: anything that fails here fails again, with its message, in the first run.
    """
    from airflow.configuration import conf
    from airflow.dag_processing.dagbag import DagBag

    with contextlib.suppress(Exception):
        DagBag(conf.get("core", "dags_folder"), include_examples=False)
    with contextlib.suppress(Exception):
        import httpx

        api = in_process_api_server()
        with httpx.Client(transport=api.transport, base_url="http://in-process.invalid.") as http:
            http.get("/health")  # the first request builds the versioned routes
    _collect_garbage_less_often()


def _collect_garbage_less_often() -> None:
    """Keep Python's cycle collector from walking Airflow's whole heap again and again.

    This process holds all of Airflow, its providers and the Execution API for its lifetime;
    with the default thresholds full collections walk all of that again and again (0.1-0.2 s
    each, several per DAG run, seen while botocore parses a service model). What start-up
    loaded is kept out of collections (``gc.freeze``) and young objects are collected less
    often: the first DAG run of the demo went from 6.4 s to 5.6 s.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def _report(results: IO[str], report: dict[str, object]) -> None:
    results.write(json.dumps(report) + "\n")


def _run_cli(cli: argparse.ArgumentParser, command: list[str]) -> bool:
    """Run one Airflow CLI command as ``airflow`` would; True if it exited with status 0."""
    try:
        args = cli.parse_args(command)
        args.func(args)
    except SystemExit as exc:  # `dags test` exits with "DagRun failed" when the run failed
        if exc.code not in (None, 0):
            print(f"exit: {exc.code}", file=sys.stderr)
            return False
    except Exception:
        traceback.print_exc()
        return False
    return True


@contextlib.contextmanager
def _output_to(log_file: Path) -> Iterator[None]:
    """Point fds 1 and 2 (and so every logger and print) at ``log_file`` for one run."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for target, saved_fd in zip((1, 2), saved, strict=True):
            os.dup2(saved_fd, target)
            os.close(saved_fd)


if __name__ == "__main__":
    sys.exit(main())
