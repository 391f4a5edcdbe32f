"""What the ``dags test`` runner (``dag_test_child``) changes inside Airflow, in one place.

Each patch replaces a private Airflow function, or wraps one, the way the Airflow versions in
``SUPPORTED_AIRFLOW_VERSIONS`` define it; another version may have renamed it, changed its
arguments or fixed what it works around. ``apply_patches`` therefore refuses any other
installed version before it patches anything. To support a new version, read each patch's
docstring against that version's source, adapt the patch if needed, then add the version here.
"""

from __future__ import annotations

import functools
from typing import Any

# The Airflow versions whose internals these patches were written against and checked on.
SUPPORTED_AIRFLOW_VERSIONS = frozenset({"3.2.1", "3.3.1"})


class UnsupportedAirflowVersion(RuntimeError):
    """The installed Airflow is not one the patches were written for; the message names both."""


def require_supported_airflow() -> None:
    """Raise ``UnsupportedAirflowVersion`` unless the installed Airflow is a supported one."""
    import airflow

    installed = airflow.__version__
    if installed not in SUPPORTED_AIRFLOW_VERSIONS:
        supported = " or ".join(f"Airflow {v}" for v in sorted(SUPPORTED_AIRFLOW_VERSIONS))
        raise UnsupportedAirflowVersion(
            f"Airflow {installed} is installed, but the dags-test runner's patches of Airflow"
            f" internals ({__name__}) were written for {supported} only. Check each"
            f" patch against Airflow {installed}, then add it to SUPPORTED_AIRFLOW_VERSIONS."
        )


def apply_patches() -> None:
    """Patch the installed Airflow for the dags-test runner, after checking its version.

    Nothing is patched if the version is refused.
    """
    require_supported_airflow()
    _failure_callbacks_see_the_error()
    _test_runs_read_deadline_alerts_in_memory()
    _one_in_process_execution_api()


def _failure_callbacks_see_the_error() -> None:
    """Give a task's failure callbacks its error, as a worker does.

    A worker's task runner (``task_runner.main``) sets ``context["exception"]`` before it
    runs the callbacks; ``dags test`` runs each task in process
    (``supervisor.run_task_in_process``), which calls the same ``finalize`` without it.
    """
    from airflow.sdk.execution_time import task_runner

    finalize = task_runner.finalize

    def finalize_with_error(ti: Any, state: Any, context: Any, log: Any, error: Any = None) -> None:
        context["exception"] = error
        finalize(ti, state, context, log, error)

    task_runner.finalize = finalize_with_error


def _test_runs_read_deadline_alerts_in_memory() -> None:
    """Let ``dags test`` finish a successful run of a DAG that has a deadline.

    ``DAG.test`` builds its scheduler DAG by serializing the DAG in memory, so that DAG's
    ``deadline`` holds encoded alerts, not the ids of ``deadline_alert`` rows; on success
    ``DagRun.update_state`` looks each one up with ``DeadlineAlert.get_by_id``, which fails
    ("'dict' object has no attribute 'hex'", apache/airflow#73428, Airflow 3.2.1; 3.3.1 has
    the same lookup, with ``session`` keyword-only). Here an encoded alert is read as an
    unsaved row instead, as the upstream fix does. A ``dags test``
    run is created running, with no queued time, so it has no deadline to prune anyway.
    """
    from airflow.models.deadline_alert import DeadlineAlert
    from airflow.serialization.definitions.deadline import DeadlineAlertFields
    from airflow.serialization.enums import Encoding

    get_by_id = DeadlineAlert.get_by_id

    # The caller's session, if it gave one: positional in 3.2.1, keyword-only in 3.3.1.
    def get_by_id_or_decode(deadline_alert_id: Any, *args: Any, **kwargs: Any) -> DeadlineAlert:
        if not isinstance(deadline_alert_id, dict):
            return get_by_id(deadline_alert_id, *args, **kwargs)
        alert = deadline_alert_id.get(Encoding.VAR, deadline_alert_id)
        return DeadlineAlert(
            reference=alert[DeadlineAlertFields.REFERENCE],
            interval=alert[DeadlineAlertFields.INTERVAL],
            callback_def=alert[DeadlineAlertFields.CALLBACK],
        )

    DeadlineAlert.get_by_id = staticmethod(get_by_id_or_decode)  # type: ignore[method-assign,assignment]


def _one_in_process_execution_api() -> None:
    """One in-process Execution API for every task of every run in this process.

    ``dags test`` talks to an Execution API served in process, which
    ``supervisor.in_process_api_server`` builds anew (3-5 s) for every task and trigger.
    """
    from airflow.sdk.execution_time import supervisor

    supervisor.in_process_api_server = functools.cache(supervisor.in_process_api_server)
