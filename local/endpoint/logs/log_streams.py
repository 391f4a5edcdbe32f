"""Write log lines into moto's CloudWatch Logs backend (in-process, no HTTP round trip).

Glue job output, crawler progress and Lambda output land where AWS puts them, so
``GetLogEvents``/``FilterLogEvents`` (and the Airflow provider's ``verbose=True``) show them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from moto.logs.models import logs_backends

from local.endpoint.http import iam_arns
from local.endpoint.http.call_log import CallLog

MAX_MESSAGE_CHARS = 200_000  # CloudWatch rejects events above 256 KiB


class LogStreamWriter:
    """Append events to one log stream, creating the group and stream if needed.

    On AWS the service delivers these logs with the principal's role (the Glue role, the
    function's role), so the writes are recorded in ``call_log`` for ``access_key``.
    """

    def __init__(
        self,
        account_id: str,
        region: str,
        group: str,
        stream: str,
        call_log: CallLog,
        access_key: str,
    ) -> None:
        self.group = group
        self.stream = stream
        self._backend = logs_backends[account_id][region]
        self._lock = threading.Lock()
        self._last_ms = 0
        group_arn = iam_arns.log_group(region, account_id, group)
        if group not in self._backend.groups:
            call_log.record(access_key, "logs:CreateLogGroup", group_arn)
        self._backend.ensure_log_group(group)
        if stream not in self._backend.groups[group].streams:
            call_log.record(access_key, "logs:CreateLogStream", group_arn)
        self._backend.ensure_log_stream(group, stream)
        stream_arn = iam_arns.log_stream(region, account_id, group, stream)
        self._record_put = lambda: call_log.record(access_key, "logs:PutLogEvents", stream_arn)

    def write(self, lines: Iterable[str], timestamp_ms: int | None = None) -> None:
        events = []
        with self._lock:
            for line in lines:
                ms = max(timestamp_ms or int(time.time() * 1000), self._last_ms)
                self._last_ms = ms
                message = line.rstrip("\r\n")[:MAX_MESSAGE_CHARS] or " "
                events.append({"timestamp": ms, "message": message})
            if events:
                self._record_put()
                self._backend.put_log_events(self.group, self.stream, events)
