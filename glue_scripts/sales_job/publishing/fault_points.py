"""Named points of a run where a local test may kill the job, as a Glue timeout or StopJobRun
would (SIGKILL: no handler, no `finally`, no manifest update runs).

Outside Glue only: when the awsglue library is present (any run on AWS Glue) the variable is
never read, so no job argument or environment setting can make a real run kill itself.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys

KILL_AT_VARIABLE = "SALES_ETL_LOCAL_TEST_KILL_AT"
POINTS = ("after_first_write", "during_rebuild", "before_publish")


def reached(point: str) -> None:
    """SIGKILL this process if a local test asked for it at ``point``."""
    if point not in POINTS:
        raise ValueError(f"unknown fault point {point!r}")
    if os.environ.get(KILL_AT_VARIABLE) != point or importlib.util.find_spec("awsglue"):
        return
    print(f"sales_etl: killed at {point} (local test)", flush=True)
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)
