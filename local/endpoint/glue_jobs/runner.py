"""Run one Glue job run for real: stage S3, run the script on local Python/PySpark, sync back.

The run goes STARTING (waiting for its buckets, staging) -> RUNNING (the script's process is
alive) -> SUCCEEDED | FAILED | TIMEOUT | STOPPED, and is only marked finished after its
outputs are back in S3, so a caller that sees SUCCEEDED can read them. The script runs as
``<script> --JOB_NAME <name> --JOB_RUN_ID <id> <--key value ...>`` in the endpoint's warm Spark
worker (``spark/warm_spark.py``) when that is free, else as ``sys.executable <script> ...`` in
a new process group (``launch.py``); its stdout and stderr, in one pipe, stream to CloudWatch
Logs ``/aws-glue/jobs/output`` while it runs, and the endpoint's own notes go to
``/aws-glue/jobs/error``, both in the stream ``<run id>-driver`` as on Glue 5.0
(``driver_logs.py``). The script sees mirror paths in place of ``s3://`` URIs
(``staging.py``); what it reports (log lines, ``ErrorMessage``, small JSON files such as its
manifest) is written back in ``s3://`` terms on the way out, as a run on Glue would name it.
"""

from __future__ import annotations

import math
import queue
import subprocess
import threading
import time
from typing import Any, Protocol

from local.aws_local import GLUE_ROLE_ACCESS_KEY
from local.endpoint.glue_jobs import driver_logs, staging
from local.endpoint.glue_jobs.driver_logs import (
    DRIVER_STREAM_SUFFIX,
    ERROR_GROUP,
    OUTPUT_GROUP,
    LogLines,
)
from local.endpoint.glue_jobs.job_errors import error_message_from_output
from local.endpoint.glue_jobs.launch import started_script
from local.endpoint.logs.log_streams import LogStreamWriter
from local.endpoint.s3 import mirror as s3_mirror
from local.endpoint.state import EndpointState

DEFAULT_TIMEOUT_MINUTES = 2880  # Glue's default job timeout (48 h)


class JobRunRecord(Protocol):
    """The run object the runner updates (``job_runs.LocalJobRun``)."""

    job_name: str
    job_run_id: str
    account_id: str
    region: str
    script_location: str
    arguments: dict[str, str]
    timeout_minutes: int | None

    def set_state(self, state: str, *, error: str | None = None) -> None: ...


class GlueJobRunner:
    """Execute one job run in a worker thread; ``stop`` kills it (-> STOPPED)."""

    def __init__(self, endpoint_state: EndpointState, run: JobRunRecord) -> None:
        self.endpoint_state = endpoint_state
        self.run = run
        self.run_dir = endpoint_state.work_dir / "glue" / "runs" / run.job_run_id
        self.started_monotonic: float | None = None
        self.finished_monotonic: float | None = None
        self._proc: subprocess.Popen[Any] | None = None
        self._stop_requested = threading.Event()
        self._timed_out = False

    @property
    def execution_seconds(self) -> int:
        if self.started_monotonic is None:
            return 0
        end = self.finished_monotonic or time.monotonic()
        return max(1, math.ceil(end - self.started_monotonic))

    def start(self) -> None:
        self.endpoint_state.start_worker(self._run, name=f"glue-job-{self.run.job_run_id[:12]}")

    def stop(self) -> bool:
        """Ask the run to stop; False if it had already finished."""
        if self.finished_monotonic is not None:
            return False
        self._stop_requested.set()
        self.run.set_state("STOPPING")
        if self._proc is not None:
            threading.Thread(target=self._kill).start()
        return True

    # -- the worker thread -------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._run_staged()
        except Exception as exc:  # keep the endpoint alive and the run honest
            self._finish("FAILED", f"{type(exc).__name__}: {exc}")

    def _run_staged(self) -> None:
        run = self.run
        buckets = staging.run_buckets(run.script_location, run.arguments)
        s3 = self.endpoint_state.client("s3", run.region)
        with s3_mirror.bucket_locks(buckets):
            if self._stop_requested.is_set():
                self._finish("STOPPED", None)
                return
            try:
                staged = staging.stage(
                    self.endpoint_state.work_dir,
                    s3,
                    buckets,
                    run.script_location,
                    run.job_name,
                    run.job_run_id,
                    run.arguments,
                    self._record_job_s3,
                )
            except staging.StagingError as exc:
                self._finish("FAILED", str(exc))
                return
            returncode, output_tail = self._execute(staged)
            if self.endpoint_state.stopping.is_set():
                self._finish("FAILED", "the local AWS endpoint was shut down during the run")
                return
            sync_error = staging.sync_back(
                staged, self._driver_log(ERROR_GROUP), self._record_job_s3
            )
        if self._stop_requested.is_set():
            self._finish("STOPPED", None)
        elif self._timed_out:
            minutes = self.run.timeout_minutes or DEFAULT_TIMEOUT_MINUTES
            self._finish("TIMEOUT", f"Job run timed out after {minutes} minutes")
        elif returncode != 0:
            error = error_message_from_output(output_tail, returncode)
            self._finish("FAILED", staged.to_s3_uris(error))
        elif sync_error:
            self._finish("FAILED", sync_error)
        else:
            self._finish("SUCCEEDED", None)

    def _execute(self, staged: staging.StagedRun) -> tuple[int, str]:
        """Run the script; its exit status and the tail of its output (stdout and stderr in one
        pipe, so CloudWatch gets the lines in the order the script wrote them, as on Glue 5.0)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        driver_log = self._driver_log(OUTPUT_GROUP)
        lines: LogLines = queue.Queue()
        tail: list[str] = []
        start = started_script(self.endpoint_state, staged, self.run_dir, self.run.region)
        with (self.run_dir / "output.log").open("w") as out_file, start as (script, proc):
            self._proc = proc
            self.started_monotonic = time.monotonic()
            if self._stop_requested.is_set():  # stopped while we were staging
                threading.Thread(target=self._kill).start()
            else:
                self.run.set_state("RUNNING")
            reader = threading.Thread(
                target=driver_logs.pump,
                args=(script.stdout, out_file, driver_log, staged.to_s3_uris, lines, tail),
            )
            reader.start()
            shipper = threading.Thread(target=driver_logs.ship_logs, args=(lines,))
            shipper.start()
            timeout = (self.run.timeout_minutes or DEFAULT_TIMEOUT_MINUTES) * 60
            try:
                returncode = script.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._timed_out = True
                self._kill()
                returncode = script.wait(timeout=timeout)
            reader.join()
            lines.put(None)
            shipper.join()
        self.finished_monotonic = time.monotonic()
        return returncode, "".join(tail[-400:])

    def _kill(self) -> None:
        if self._proc is not None:
            self.endpoint_state.processes.terminate(self._proc)

    def _record_job_s3(self, bucket: str, report: s3_mirror.SyncReport) -> None:
        staging.record_job_s3(self.endpoint_state.call_log, bucket, report)

    def _driver_log(self, group: str) -> LogStreamWriter:
        """The run's driver stream in ``group`` (``<run id>-driver``, as Glue 5.0 names it),
        written as the Glue role (as Glue delivers it)."""
        return LogStreamWriter(
            self.run.account_id,
            self.run.region,
            group,
            self.run.job_run_id + DRIVER_STREAM_SUFFIX,
            self.endpoint_state.call_log,
            GLUE_ROLE_ACCESS_KEY,
        )

    def _finish(self, state: str, error: str | None) -> None:
        if self.finished_monotonic is None:
            self.finished_monotonic = time.monotonic()
        self.run.set_state(state, error=error)
