"""Run the unchanged DAG end to end on this machine: no AWS account, no Docker.

    python -m local.demo [--work-dir .local-run/demo] [--run-timeout 300]

Starts the local AWS endpoint, provisions the bucket, roles, Glue job code and Lambda, seeds
the recipe's sample data plus a day with bad rows, runs `airflow dags test` for each day (all
in one process, ``local.airflow.dag_test_runner``), prints what each day produced and what it
would cost on AWS (``local.aws_bill``: the calls the endpoint recorded during the day's run
and the run's own figures, priced by AWS's rules), runs the recipe's validation query
through the local Athena API and prints its first rows, and stops everything it started.
Exits 1 if any run or the query failed.
"""

from __future__ import annotations

import argparse
import gc
import logging
import shutil
import sys
import time
from pathlib import Path

from local.airflow.dag_test_runner import DagRunRequest, DagTestRunner
from local.airflow.environment import airflow_environment, endpoint_variables
from local.aws_bill.day_estimate import DayEstimates
from local.data.demo_lake import write_demo_lake
from local.provision import seed
from local.run_summary import catalog_tables, format_day, read_day
from local.stack_config import local_config
from local.validation_query import print_validation_query
from local.work_dir_lock import WorkDirBusy, work_dir_lock


def run_demo(work_dir: Path, run_timeout: int) -> int:
    cfg = local_config()
    shutil.rmtree(work_dir, ignore_errors=True)
    logs = work_dir / "logs"
    started = time.monotonic()
    # Airflow starts (imports, DB migration, DAG parse) while the endpoint is being set up.
    runner = DagTestRunner(airflow_environment(None, work_dir / "airflow"), logs, migrate=True)
    from local.endpoint import start_endpoint  # after the runner's start: moto imports slowly

    with runner, start_endpoint(work_dir=work_dir / "endpoint", prewarm_spark=True) as endpoint:
        print(f"local AWS endpoint: {endpoint.url}")
        aws = endpoint.clients
        days = seed(aws, cfg, write_demo_lake)
        print(f"seeded s3://{cfg.bucket}/raw-data/ for {days[0]} .. {days[-1]}")
        bills = DayEstimates(aws, endpoint.call_log)
        bills.prepare()  # while the Glue driver warms up
        # The Glue driver warms up while Airflow starts; the first run should not pay for it.
        endpoint.wait_for_warm_spark()

        succeeded = 0
        s3 = aws.client("s3")
        env = endpoint_variables(endpoint.clients)
        for day in days:
            # One batch per day, so the calls the endpoint records are that day's alone.
            with bills.recording(day):
                try:
                    result = next(iter(runner.run(env, [DagRunRequest(day)], run_timeout)))
                except RuntimeError as stopped:  # an earlier run left the runner stopped
                    print(f"{day}  NOT RUN: {stopped}")
                    break
            if result.ok:
                succeeded += 1
                print(format_day(read_day(s3, cfg.bucket, day), result.seconds))
                print(bills.format(day))
                continue
            why = "timed out" if result.timed_out else f"exit {result.returncode}"
            print(f"{day}  FAILED ({why}) after {result.seconds:.1f}s; log: {result.log_file}")
            print(bills.format(day))  # a failed day is billed too
            print(result.log_tail(), file=sys.stderr)

        print(bills.summary())
        tables = catalog_tables(aws.client("glue"), cfg.glue_database)
        print(f"catalog {cfg.glue_database}: " + ", ".join(f"{t} ({n})" for t, n in tables.items()))
        # The recipe's validation step, as its users run it: Athena over the outputs.
        queried = print_validation_query(aws.client("athena"), cfg)
    print(f"{succeeded}/{len(days)} runs succeeded in {time.monotonic() - started:.0f}s")
    print(f"logs: {logs}")
    return 0 if succeeded == len(days) and queried else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", type=Path, default=Path(".local-run/demo"))
    parser.add_argument("--run-timeout", type=int, default=300, help="seconds per DAG run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    work_dir = args.work_dir.resolve()
    try:
        with work_dir_lock(work_dir, "make demo"):  # before run_demo deletes the work dir
            return run_demo(work_dir, args.run_timeout)
    except WorkDirBusy as busy:
        print(f"error: {busy}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    status = main()
    # All is stopped and written: spare the exit the collector's last pass over the objects
    # moto and botocore hold (0.8 s).
    gc.freeze()
    sys.exit(status)
