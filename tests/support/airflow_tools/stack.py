"""The scheduler-based Airflow stack as the backfill test runs it: settings that only make the
test faster, and a free loopback port for its API server."""

from __future__ import annotations

import socket

LATE_AFTER_SECONDS = 35

# Scheduler-side settings that only make this test faster on a loaded machine; the DAG and
# its operators are untouched (the stack polls once a second, see stack_settings.py).
TEST_TUNING = {
    # Parse the DAG file once at start instead of every 30 s: less CPU for the runs.
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "600",
    # A day whose file never lands must fail in seconds, not after the production 6 hours.
    "AIRFLOW__SALES_ETL__SALES_WAIT_SECONDS": "10",
    # The scheduler fails a deferred task past its timeout when it checks, every 15 s by
    # default: check every second, so that sensor fails 10 s after it starts, not up to 25 s.
    "AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL": "1",
    # A run is late LATE_AFTER_SECONDS after it was queued, not after the production 8 hours:
    # longer than a run that fails or succeeds normally here, short enough to wait for.
    "AIRFLOW__SALES_ETL__LATE_AFTER_SECONDS": str(LATE_AFTER_SECONDS),
}
STACK_READY_SECONDS = 300


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
