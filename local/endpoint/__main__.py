"""``python -m local.endpoint [--port N] [--work-dir DIR]``: run the endpoint until stopped.

Prints the endpoint URL on stdout. With ``--work-dir`` it also writes ``endpoint.json``
(``{"pid", "url", "port", "host", "work_dir"}``) there, and removes it on exit. Runs until
SIGINT or SIGTERM, then stops the Glue job and Lambda processes it started and the server.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from local.aws_local import aws_connection
from local.endpoint.server import DEFAULT_PORT, LOOPBACK, EndpointError, start_endpoint

STATE_FILE = "endpoint.json"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.endpoint",
        description="Local AWS endpoint (S3, Glue, Lambda, Logs, ...) for the sales ETL DAG.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="default %(default)s")
    parser.add_argument(
        "--host", default=LOOPBACK, help=f"only {LOOPBACK} is accepted (the default)"
    )
    parser.add_argument(
        "--cold-spark",
        action="store_true",
        help="run every Glue job in a fresh Python process and JVM (default: one warm driver)",
    )
    parser.add_argument(
        "--no-prewarm",
        action="store_true",
        help="start the warm Spark driver at the first job run, not now",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        help="folder for S3 mirrors, job runs, Lambda packages and the state file "
        "(default: a temporary folder removed on exit)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        endpoint = start_endpoint(
            args.port,
            args.work_dir,
            host=args.host,
            warm_spark=not args.cold_spark,
            prewarm_spark=not (args.cold_spark or args.no_prewarm),
        )
    except EndpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state_file = args.work_dir.resolve() / STATE_FILE if args.work_dir else None
    try:
        if state_file is not None:
            state = {
                "pid": os.getpid(),
                "url": endpoint.url,
                "port": endpoint.port,
                "host": endpoint.host,
                "work_dir": str(endpoint.work_dir),
            }
            tmp = state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(state, indent=2) + "\n")
            os.replace(tmp, state_file)
        print(endpoint.url, flush=True)
        print(
            f"local AWS endpoint ready (pid {os.getpid()}); for Airflow:\n"
            f"  export AIRFLOW_CONN_AWS_DEFAULT='{aws_connection(endpoint.url)}'\n"
            "stop with Ctrl-C or SIGTERM",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(1.0):
            pass
    finally:
        endpoint.stop()
        if state_file is not None:
            state_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
