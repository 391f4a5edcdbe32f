"""Glue job runs that really run (patches moto's ``FakeJob`` and ``GlueResponse``).

Stock moto 5.2.5 never executes a job: a state manager moves the run STARTING -> RUNNING ->
SUCCEEDED and ``ExecutionTime`` is hard-coded. Patched here:

- ``FakeJob.start_job_run``: enforces ``ExecutionProperty.MaxConcurrentRuns`` (default 1)
  against the runs' *real* states, merges DefaultArguments < run Arguments <
  NonOverridableArguments as Glue does, and hands a ``LocalJobRun`` to ``GlueJobRunner``.
- ``LocalJobRun``: a ``FakeJobRun`` whose state, times, ``ExecutionTime`` and
  ``ErrorMessage`` come from the real process; its ``LogGroupName`` is ``/aws-glue/jobs``
  so the provider's ``verbose=True`` reads ``/aws-glue/jobs/output`` and ``.../error``.
- ``FakeJob.get_job_runs``: newest run first, as on AWS.
- ``GlueResponse.batch_stop_job_run`` and ``GlueResponse.update_job``: actions moto lacks
  (the provider calls them for ``stop_job_run_on_kill`` and ``update_config=True``).
"""

from __future__ import annotations

import threading
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.glue.exceptions import ConcurrentRunsExceededException
from moto.glue.models import FakeJob, FakeJobRun
from moto.glue.responses import GlueResponse

from local.endpoint import state as endpoint_state
from local.endpoint.glue_jobs.driver_logs import LOG_GROUP
from local.endpoint.glue_jobs.runner import DEFAULT_TIMEOUT_MINUTES, GlueJobRunner
from local.endpoint.patching import Patcher

ACTIVE_STATES = ("STARTING", "RUNNING", "STOPPING", "WAITING")
FINAL_STATES = ("SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR")
_start_lock = threading.Lock()


class LocalJobRun(FakeJobRun):
    """A job run whose state is driven by ``GlueJobRunner``, not by moto's state manager."""

    def __init__(self, job: FakeJob, arguments: dict[str, str], **kwargs: Any) -> None:
        super().__init__(job_name=job.name, arguments=arguments, **kwargs)
        self._state = "STARTING"
        self._state_lock = threading.Lock()
        self.account_id = job.backend.account_id
        self.region = job.backend.region_name
        self.script_location = (job.command or {}).get("ScriptLocation", "")
        self.glue_version = job.glue_version
        self.timeout_minutes: int | None = kwargs.get("timeout")
        self.completed_on = None
        self.error_message: str | None = None
        self.runner: GlueJobRunner | None = None

    @property  # type: ignore[override]
    def status(self) -> str:
        return self._state

    @status.setter
    def status(self, value: str) -> None:
        self.set_state(value)

    def advance(self) -> None:
        """moto calls this on every GetJobRun; the real process decides the state instead."""

    def set_state(self, state: str, *, error: str | None = None) -> None:
        with self._state_lock:
            if self._state in FINAL_STATES:
                return
            self._state = state
            self.modified_on = utcnow()
            if state in FINAL_STATES:
                self.completed_on = self.modified_on
                self.error_message = error

    def as_dict(self) -> dict[str, Any]:
        with self._state_lock:
            data = super().as_dict()
            data["JobRunState"] = self._state
            data["LogGroupName"] = LOG_GROUP
            data["Timeout"] = self.timeout_minutes or DEFAULT_TIMEOUT_MINUTES
            if self.glue_version:
                data["GlueVersion"] = self.glue_version
            finished = self._state in FINAL_STATES
            data["ExecutionTime"] = self.runner.execution_seconds if self.runner else 0
            if finished:
                data["CompletedOn"] = self.completed_on
            else:
                data.pop("CompletedOn", None)
            if self.error_message:
                data["ErrorMessage"] = self.error_message
            return data


def _start_job_run(
    self: FakeJob,
    allocated_capacity: int | None,
    max_capacity: float | None,
    timeout: int | None,
    worker_type: str | None,
    security_configuration: str | None,
    number_of_workers: int | None,
    notification_property: dict[str, int] | None,
    previous_run_id: str | None,
    arguments: dict[str, str] | None,
) -> str:
    state = endpoint_state.current()
    with _start_lock:
        active = [run for run in self.job_runs if run.status in ACTIVE_STATES]
        limit = (self.execution_property or {}).get("MaxConcurrentRuns") or 1
        if len(active) >= limit:
            raise ConcurrentRunsExceededException(f"Concurrent runs exceeded for {self.name}")
        merged = dict(self.default_arguments or {})
        merged.update(arguments or {})
        merged.update(self.non_overridable_arguments or {})
        run = LocalJobRun(
            self,
            merged,
            job_run_id=previous_run_id,
            allocated_capacity=allocated_capacity or self.allocated_capacity,
            max_capacity=max_capacity or self.max_capacity,
            timeout=timeout or self.timeout,
            worker_type=worker_type or self.worker_type,
            security_configuration=security_configuration or self.security_configuration,
            number_of_workers=number_of_workers or self.number_of_workers,
            notification_property=notification_property or self.notification_property,
        )
        run.runner = GlueJobRunner(state, run)
        self.job_runs.append(run)
    run.runner.start()
    return run.job_run_id


def _get_job_runs(self: FakeJob) -> list[FakeJobRun]:
    """Newest run first, as GetJobRuns returns them on AWS (moto lists oldest first)."""
    for run in self.job_runs:
        run.advance()
    return list(reversed(self.job_runs))


def _batch_stop_job_run(self: GlueResponse) -> ActionResult:
    job_name = self._get_param("JobName")
    job = self.glue_backend.get_job(job_name)
    runs = {run.job_run_id: run for run in job.job_runs}
    submitted, errors = [], []
    for run_id in self._get_param("JobRunIds") or []:
        run = runs.get(run_id)
        if run is None:
            code, message = "EntityNotFoundException", f"Job run {run_id} not found"
        elif isinstance(run, LocalJobRun) and run.runner and run.runner.stop():
            submitted.append({"JobName": job_name, "JobRunId": run_id})
            continue
        else:
            code, message = "InvalidInputException", f"Job run {run_id} is not running"
        errors.append(
            {
                "JobName": job_name,
                "JobRunId": run_id,
                "ErrorDetail": {"ErrorCode": code, "ErrorMessage": message},
            }
        )
    return ActionResult({"SuccessfulSubmissions": submitted, "Errors": errors})


# JobUpdate field -> FakeJob attribute, with the value an omitted field resets to
# (UpdateJob overwrites the whole definition, as on AWS).
_JOB_FIELDS: dict[str, tuple[str, Any]] = {
    "Description": ("description", None),
    "LogUri": ("log_uri", None),
    "Role": ("role", None),
    "ExecutionProperty": ("execution_property", {}),
    "Command": ("command", None),
    "DefaultArguments": ("default_arguments", {}),
    "NonOverridableArguments": ("non_overridable_arguments", None),
    "Connections": ("connections", None),
    "MaxRetries": ("max_retries", None),
    "AllocatedCapacity": ("allocated_capacity", None),
    "Timeout": ("timeout", None),
    "MaxCapacity": ("max_capacity", None),
    "WorkerType": ("worker_type", None),
    "NumberOfWorkers": ("number_of_workers", None),
    "SecurityConfiguration": ("security_configuration", None),
    "NotificationProperty": ("notification_property", None),
    "GlueVersion": ("glue_version", None),
    "CodeGenConfigurationNodes": ("code_gen_configuration_nodes", None),
    "ExecutionClass": ("execution_class", "STANDARD"),
    "SourceControlDetails": ("source_control_details", None),
}


def _update_job(self: GlueResponse) -> ActionResult:
    name = self._get_param("JobName")
    update = self._get_param("JobUpdate") or {}
    job = self.glue_backend.get_job(name)
    for field, (attribute, default) in _JOB_FIELDS.items():
        value = update.get(field, default)
        setattr(job, attribute, dict(value) if isinstance(value, dict) else value)
    job.last_modified_on = utcnow()
    return ActionResult({"JobName": name})


def install(patcher: Patcher) -> None:
    patcher.setattr(FakeJob, "start_job_run", _start_job_run)
    patcher.setattr(FakeJob, "get_job_runs", _get_job_runs)
    patcher.setattr(GlueResponse, "batch_stop_job_run", _batch_stop_job_run)
    patcher.setattr(GlueResponse, "update_job", _update_job)
