"""The price of the job's contract: the Glue job against a bare Spark job with the same outputs.

    python -m benchmarks.contract_price_benchmark                    # 1,000,000 orders, 2 repeats
    python -m benchmarks.contract_price_benchmark --orders 100000 --repeats 1     # a quick look

One day (2024-01-01, no bad rows) is written to a synthetic lake. Each repeat then runs three
fresh processes with the same Spark settings, one after the other: an empty Spark start-up
(`bare_spark_job.py --startup-only`), then the bare job (`bare_spark_job.py`: read, join, three
Parquet tables) and the real job (`glue_scripts/sales_etl_job.py`: line numbers, quarantine,
duplicate check, reconciliation, manifest), in alternating order. Each run's Spark event log
gives its Spark jobs (actions) and where its time goes. Printed per run: wall time, net time
(wall less that repeat's start-up), rows/s on net time, Spark jobs; then medians, the ratio
job net / bare net (target <= 1.3) and each repeat's own ratio. Exits non-zero when a process
fails or an output is wrong (the job's manifest, the bare job's tables), so a broken run never
reports a ratio. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from benchmarks.contract_price_report import (
    BARE,
    JOB,
    STARTUP,
    Run,
    load_average,
    print_header,
    print_run,
    print_steps,
    print_summary,
)
from benchmarks.spark_event_log import event_log_file, read_events
from benchmarks.spark_event_log import spark_jobs as parse_spark_jobs
from local.data.synthetic_sales import write_synthetic_lake
from local.process_group import stop_process_group, wait_until_gone
from local.repo import REPO_ROOT

BARE_SCRIPT = REPO_ROOT / "benchmarks" / "bare_spark_job.py"
JOB_SCRIPT = REPO_ROOT / "glue_scripts" / "sales_etl_job.py"
RUN_DATE = date(2024, 1, 1)
STDERR_TAIL_LINES = 40
JVM_EXIT_WAIT_S = 60.0  # after the Python process exits


class BenchmarkError(RuntimeError):
    """A run failed or wrote the wrong thing; the message names the run and shows why."""


def spark_environment(master: str, event_dir: Path) -> dict[str, str]:
    """The same Spark settings for every run; only the event log folder differs."""
    submit_args = (
        f"--master {master} --driver-memory 2g "
        "--conf spark.eventLog.enabled=true "
        f"--conf spark.eventLog.dir=file://{event_dir} "
        "--conf spark.ui.enabled=false pyspark-shell"
    )
    return {**os.environ, "PYSPARK_SUBMIT_ARGS": submit_args, "SPARK_LOCAL_IP": "127.0.0.1"}


def run_process(name: str, argv: list[str], env: dict[str, str], run_dir: Path) -> float:
    """Run `argv` in its own process group; seconds until it and its JVM have exited.

    The Python process can exit before the JVM it started has shut down (the job never calls
    `spark.stop()`, so its JVM stops in a shutdown hook): the clock runs until the whole group
    is gone, so every run pays its own shutdown, the next run gets the CPU to itself and the
    event log is complete.
    """
    stdout_path, stderr_path = run_dir / "stdout.txt", run_dir / "stderr.txt"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, start_new_session=True)
        returncode = proc.wait()
        # A fine poll: the wait is part of the measured wall time.
        gone = wait_until_gone(proc.pid, time.monotonic() + JVM_EXIT_WAIT_S, poll=0.05)
        wall = time.perf_counter() - started
    if not gone:
        stop_process_group(proc, grace=5)
        raise BenchmarkError(f"{name}: its JVM was still running {JVM_EXIT_WAIT_S:.0f}s after exit")
    if returncode != 0:
        tail = stderr_path.read_text(errors="replace").splitlines()[-STDERR_TAIL_LINES:]
        raise BenchmarkError(
            f"{name} exited with {returncode}: {' '.join(argv)}\n"
            f"--- last lines of {stderr_path} ---\n" + "\n".join(tail)
        )
    return wall


def measure(
    kind: str, repeat: int, argv: list[str], master: str, runs_dir: Path
) -> tuple[Run, Path]:
    """One fresh process; returns its Run (wall time, Spark jobs) and its folder."""
    run_dir = runs_dir / f"repeat{repeat}-{kind}"
    event_dir = run_dir / "events"
    event_dir.mkdir(parents=True)
    name = f"{kind} (repeat {repeat})"
    wall = run_process(name, argv, spark_environment(master, event_dir), run_dir)
    jobs = parse_spark_jobs(read_events(event_log_file(event_dir)))
    return Run(kind, repeat, wall, jobs), run_dir


def run_repeat(repeat: int, lake: Path, orders: int, master: str, runs_dir: Path) -> dict[str, Run]:
    """Start-up first, then bare and job, their order swapped every other repeat (drift)."""
    python = sys.executable
    startup, _ = measure(
        STARTUP, repeat, [python, str(BARE_SCRIPT), "--startup-only"], master, runs_dir
    )
    results = {STARTUP: startup}
    print_run(startup, orders)
    out = runs_dir / f"repeat{repeat}-bare-output"
    day = str(RUN_DATE)
    commands = {
        BARE: [python, str(BARE_SCRIPT), "--lake", str(lake), "--run_date", day, "--out", str(out)],
        JOB: [python, str(JOB_SCRIPT), "--run_date", day, "--data_uri", str(lake)],
    }
    order = (BARE, JOB) if repeat % 2 else (JOB, BARE)
    for kind in order:
        run, run_dir = measure(kind, repeat, commands[kind], master, runs_dir)
        run.net_s = run.wall_s - startup.wall_s
        results[kind] = run
        if kind == JOB:
            check_manifest((run_dir / "stdout.txt").read_text(), orders, repeat)
        else:
            check_bare_output(out, orders, repeat)
        print_run(run, orders)
    return results


def check_manifest(stdout: str, orders: int, repeat: int) -> None:
    """The job printed its manifest last: it must have succeeded on every order."""
    manifest = _last_json_object(stdout)
    if manifest is None:
        raise BenchmarkError(f"job (repeat {repeat}) printed no manifest")
    if manifest.get("status") != "succeeded" or manifest.get("rows_in") != orders:
        raise BenchmarkError(
            f"job (repeat {repeat}): manifest status {manifest.get('status')!r}, rows_in "
            f"{manifest.get('rows_in')} (expected succeeded, {orders}); error "
            f"{manifest.get('error')!r}"
        )


def _last_json_object(text: str) -> dict[str, Any] | None:
    # json.dumps(indent=2) starts the object on a line of its own.
    lines = text.splitlines()
    for index in range(len(lines) - 1, -1, -1):
        if lines[index] == "{":
            try:
                return json.loads("\n".join(lines[index:]))
            except json.JSONDecodeError:
                return None
    return None


def check_bare_output(out: Path, orders: int, repeat: int) -> None:
    """The bare job's three tables exist and daily_sales counts every order (all are valid)."""
    day = f"{RUN_DATE}"
    for table, column in (
        ("daily_sales", "order_date"),
        ("customer_daily", "order_date"),
        ("customer_metrics", "as_of_date"),
    ):
        if not list((out / table / f"{column}={day}").glob("*.parquet")):
            raise BenchmarkError(f"bare (repeat {repeat}) wrote no {table} partition under {out}")
    daily = pq.read_table(out / "daily_sales" / f"order_date={day}")
    counted = sum(daily.column("daily_orders").to_pylist())
    if counted != orders:
        raise BenchmarkError(f"bare (repeat {repeat}): daily_sales counts {counted} of {orders}")


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders on the day")
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=2, help="rounds of the three processes")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp folder")
    parser.add_argument("--keep", action="store_true", help="keep the lake, outputs and logs")
    args = parser.parse_args(argv)
    if args.orders < 1 or args.customers < 1 or args.repeats < 1:
        parser.error("--orders, --customers and --repeats must be >= 1")
    return args


WORKDIR_CHILDREN = ("lake", "runs")


def prepare_workdir(workdir: Path | None) -> Path:
    if workdir is None:
        return Path(tempfile.mkdtemp(prefix="contract-price-benchmark-"))
    remove_outputs(workdir)  # a reused --workdir starts clean
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir.resolve()


def remove_outputs(workdir: Path, *, created: bool = False) -> None:
    """What the benchmark wrote; the folder itself only when the benchmark created it."""
    for child in WORKDIR_CHILDREN:
        shutil.rmtree(workdir / child, ignore_errors=True)
    if created:
        workdir.rmdir()


def benchmark(args: argparse.Namespace, workdir: Path) -> list[dict[str, Run]]:
    lake, runs_dir = workdir / "lake", workdir / "runs"
    started = time.perf_counter()
    write_synthetic_lake(
        lake,
        start=RUN_DATE,
        days=1,
        orders_per_day=args.orders,
        customers=args.customers,
        bad_row_rate=0.0,
    )
    print(
        f"wrote {args.orders:,} orders, {args.customers:,} customers for {RUN_DATE} in "
        f"{time.perf_counter() - started:.1f}s under {workdir}; master {args.master}; "
        f"load average (1, 5, 15 min) {load_average()}",
        flush=True,
    )
    # Unmeasured: the first JVM of the session reads Spark's jars from a cold disk cache.
    warmup = runs_dir / "warmup"
    warmup.mkdir(parents=True)
    startup = [sys.executable, str(BARE_SCRIPT), "--startup-only"]
    run_process("warm-up start-up", startup, spark_environment(args.master, warmup), warmup)
    print_header()
    return [
        run_repeat(repeat, lake, args.orders, args.master, runs_dir)
        for repeat in range(1, args.repeats + 1)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = prepare_workdir(args.workdir)
    try:
        repeats = benchmark(args, workdir)
    except BenchmarkError as exc:
        print(f"\nFAILED: {exc}\n(kept {workdir} for inspection)", file=sys.stderr)
        return 1
    if not args.keep:
        remove_outputs(workdir, created=args.workdir is None)
    print_summary(repeats, args.orders)
    print(f"load average (1, 5, 15 min) at the end: {load_average()}")
    print_steps(JOB, [r[JOB] for r in repeats])
    print_steps(BARE, [r[BARE] for r in repeats])
    return 0


if __name__ == "__main__":
    sys.exit(main())
