"""A Glue job run's driver logs in CloudWatch Logs, named as Glue 5.0 names them.

Glue 5.0 writes a run's user stdout and stderr to the output group and system logs to the
error group, in streams named ``<run id>-driver`` (and ``<run id>-executorN``): see "Logging
for AWS Glue jobs", https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html
While the script runs, ``pump`` copies its lines to the run's local log file and a queue, and
``ship_logs`` writes them from that queue to CloudWatch Logs in batches.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import IO

from local.endpoint.logs.log_streams import LogStreamWriter

LOG_GROUP = "/aws-glue/jobs"
OUTPUT_GROUP = f"{LOG_GROUP}/output"
ERROR_GROUP = f"{LOG_GROUP}/error"
DRIVER_STREAM_SUFFIX = "-driver"
LOG_FLUSH_SECONDS = 0.5

LogLines = queue.Queue[tuple[LogStreamWriter, str] | None]


def pump(
    stream: IO[str],
    file: IO[str],
    log: LogStreamWriter,
    public: Callable[[str], str],
    lines: LogLines,
    tail: list[str],
) -> None:
    """Copy the script's lines to its local log file, to CloudWatch as ``public`` words them,
    and the last of them to ``tail``."""
    for line in stream:
        file.write(line)
        lines.put((log, public(line)))
        tail.append(line)
        if len(tail) > 2000:
            del tail[:1000]
    file.flush()


def ship_logs(lines: LogLines) -> None:
    """Batch lines per stream and write them every ``LOG_FLUSH_SECONDS``."""
    done = False
    while not done:
        batch: dict[LogStreamWriter, list[str]] = {}
        deadline = time.monotonic() + LOG_FLUSH_SECONDS
        while True:
            try:
                item = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                done = True
                break
            batch.setdefault(item[0], []).append(item[1])
        for log, batch_lines in batch.items():
            log.write(batch_lines)
