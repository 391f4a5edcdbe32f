"""Run the unchanged DAG end to end on this machine: no AWS account, no Docker.

    python -m local.demo [--work-dir .local-run/demo] [--run-timeout 300]

Starts the local AWS endpoint, provisions the bucket, roles, Glue job code and Lambda, seeds
the recipe's sample data plus a day with bad rows, runs `airflow dags test` for each day (all
in one process, ``local.airflow.dag_test_runner``), prints what each day produced, and stops
everything it started. Exits 1 if any run failed.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from pathlib import Path

from local.airflow.dag_test_runner import DagRunRequest, DagTestRunner
from local.airflow.environment import airflow_environment, endpoint_variables
from local.data.demo_lake import write_demo_lake
from local.provision import seed
from local.run_summary import catalog_tables, format_day, read_day
from local.stack_config import local_config


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
        # The Glue driver warms up while Airflow starts; the first run should not pay for it.
        endpoint.wait_for_warm_spark()

        succeeded = 0
        s3 = aws.client("s3")
        requests = [DagRunRequest(day) for day in days]
        runs = runner.run(endpoint_variables(endpoint.clients), requests, run_timeout)
        for day, result in zip(days, runs, strict=False):
            if result.ok:
                succeeded += 1
                print(format_day(read_day(s3, cfg.bucket, day), result.seconds))
                continue
            why = "timed out" if result.timed_out else f"exit {result.returncode}"
            print(f"{day}  FAILED ({why}) after {result.seconds:.1f}s; log: {result.log_file}")
            print(result.log_tail(), file=sys.stderr)

        tables = catalog_tables(aws.client("glue"), cfg.glue_database)
        print(f"catalog {cfg.glue_database}: " + ", ".join(f"{t} ({n})" for t, n in tables.items()))
    print(f"{succeeded}/{len(days)} runs succeeded in {time.monotonic() - started:.0f}s")
    print(f"logs: {logs}")
    return 0 if succeeded == len(days) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", type=Path, default=Path(".local-run/demo"))
    parser.add_argument("--run-timeout", type=int, default=300, help="seconds per DAG run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    return run_demo(args.work_dir.resolve(), args.run_timeout)


if __name__ == "__main__":
    sys.exit(main())
