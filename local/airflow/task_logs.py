"""Task logs for the local stack: read from this machine's files only, never from log servers.

Airflow's API server reads a running or deferred task's log from the worker's or triggerer's
log server too (ports 8793/8794 on the host name the component recorded). The local stack
runs no log server (``--skip-serve-logs``: they would listen on 0.0.0.0), and every component
writes into the same ``AIRFLOW_HOME/logs`` that the API server already reads, trigger logs
included. So that request could only fail, and every such log would start with "Could not read
served logs: HTTPConnectionPool(host=..., port=8794)". Set for the stack through
``AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS`` (``stack_settings``); MWAA is not concerned.

``_read_from_logs_server`` is private to Airflow's ``FileTaskHandler`` (checked against 3.2.1):
on a version without it, this subclass changes nothing and the message comes back.
"""

from __future__ import annotations

import copy
from typing import Any

from airflow.config_templates.airflow_local_settings import DEFAULT_LOGGING_CONFIG
from airflow.utils.log.file_task_handler import FileTaskHandler


class LocalFileTaskHandler(FileTaskHandler):
    """Airflow's file task handler, without the log-server reads (the files are local)."""

    def _read_from_logs_server(self, ti: Any, worker_log_rel_path: str) -> tuple[list, list]:
        return [], []


LOGGING_CONFIG: dict[str, Any] = copy.deepcopy(DEFAULT_LOGGING_CONFIG)
LOGGING_CONFIG["handlers"]["task"]["class"] = f"{__name__}.{LocalFileTaskHandler.__name__}"
