"""``python -m local.endpoint [--port N] [--work-dir DIR]``: run the endpoint until stopped.

Prints the endpoint URL on stdout, and on stderr where its key is: the state file
``endpoint.json`` in its work folder (``{"pid", "url", "port", "host", "work_dir", "region",
"aws_access_key_id", "aws_secret_access_key"}``, 0600), removed on exit. Runs until SIGINT or
SIGTERM, then stops the Glue job and Lambda processes it started and the server.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from local.endpoint.server import DEFAULT_PORT, LOOPBACK, EndpointError, start_endpoint


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
    with endpoint:
        print(endpoint.url, flush=True)
        # Never the key itself: terminals and container logs are kept and shared.
        print(
            f"local AWS endpoint ready (pid {os.getpid()}); it serves only requests signed "
            f"with its key, in {endpoint.state_file} (readable by you only).\n"
            f'  AWS CLI, boto3: eval "$(python -m local.endpoint_file {endpoint.state_file})"\n'
            "stop with Ctrl-C or SIGTERM",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(1.0):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
