"""Run one Glue job run for real: stage S3, run the script on local Python/PySpark, sync back.

The run goes STARTING (waiting for its buckets, staging) -> RUNNING (the script's process is
alive) -> SUCCEEDED | FAILED | TIMEOUT | STOPPED, and is only marked finished after its
outputs are back in S3, so a caller that sees SUCCEEDED can read them. The script runs as
``<script> --JOB_NAME <name> --JOB_RUN_ID <id> <--key value ...>`` in the endpoint's warm Spark
worker (``warm_spark``) when that is free, else as ``sys.executable <script> ...`` in a new
process group; its stdout and stderr, in one pipe, stream to CloudWatch Logs
``/aws-glue/jobs/output`` while it runs, and the endpoint's own notes go to
``/aws-glue/jobs/error``, both in the stream ``<run id>-driver`` as on Glue 5.0. The script
sees mirror paths in place of ``s3://`` URIs; what it reports (log lines, ``ErrorMessage``,
small JSON files such as its manifest) is written back in ``s3://`` terms on the way out, as a
run on Glue would name it.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from local.aws_local import GLUE_ROLE_ACCESS_KEY
from local.endpoint import iam_arns, s3_mirror
from local.endpoint.class_archive import driver_java_options
from local.endpoint.cloudwatch import LogStreamWriter
from local.endpoint.job_errors import error_message_from_output
from local.endpoint.runtime import EndpointRuntime
from local.endpoint.warm_spark import ScriptRequest, WarmRun

LOG_GROUP = "/aws-glue/jobs"
OUTPUT_GROUP = f"{LOG_GROUP}/output"
ERROR_GROUP = f"{LOG_GROUP}/error"
# Glue 5.0 writes a run's user stdout and stderr to the output group and system logs to the
# error group, in streams named <run id>-driver (and <run id>-executorN): see "Logging for AWS
# Glue jobs", https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html
DRIVER_STREAM_SUFFIX = "-driver"
DEFAULT_TIMEOUT_MINUTES = 2880  # Glue's default job timeout (48 h)
LOG_FLUSH_SECONDS = 0.5


def local_spark_submit_args(java_options: str | None = None) -> str:
    """Laptop-sized Spark: no UI or progress bars, few shuffle partitions, and the driver's
    ``java_options`` (default: a JVM tuned to start fast, ``class_archive.driver_java_options``)."""
    java_options = f"spark.driver.extraJavaOptions={java_options or driver_java_options()}"
    return (
        "--conf spark.ui.enabled=false --conf spark.ui.showConsoleProgress=false "
        "--conf spark.sql.shuffle.partitions=2 --conf spark.default.parallelism=2 "
        f"--conf {shlex.quote(java_options)} pyspark-shell"
    )


class JobRunRecord(Protocol):
    """The run object the runner updates (``glue_jobs.LocalJobRun``)."""

    job_name: str
    job_run_id: str
    account_id: str
    region: str
    script_location: str
    arguments: dict[str, str]
    timeout_minutes: int | None

    def set_state(self, state: str, *, error: str | None = None) -> None: ...


@dataclass
class StagedRun:
    argv: list[str]
    python_path: list[str]  # the run's --extra-py-files, put first on the script's sys.path
    mirrors: list[s3_mirror.BucketMirror] = field(default_factory=list)

    def to_s3_uris(self, text: str) -> str:
        """``text`` with the run's mirror paths written back as ``s3://`` URIs."""
        data = text.encode()
        for mirror in self.mirrors:
            data = mirror.to_s3_uris(data)
        return data.decode()


class StagingError(Exception):
    """The run cannot start: its script or buckets are missing."""


class GlueJobRunner:
    """Execute one job run in a worker thread; ``stop`` kills it (-> STOPPED)."""

    def __init__(self, runtime: EndpointRuntime, run: JobRunRecord) -> None:
        self.runtime = runtime
        self.run = run
        self.run_dir = runtime.work_dir / "glue" / "runs" / run.job_run_id
        self.started_monotonic: float | None = None
        self.finished_monotonic: float | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._stop_requested = threading.Event()
        self._timed_out = False

    @property
    def execution_seconds(self) -> int:
        if self.started_monotonic is None:
            return 0
        end = self.finished_monotonic or time.monotonic()
        return max(1, math.ceil(end - self.started_monotonic))

    def start(self) -> None:
        self.runtime.start_worker(self._run, name=f"glue-job-{self.run.job_run_id[:12]}")

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
        buckets = self._buckets()
        s3 = self.runtime.client("s3", self.run.region)
        with s3_mirror.bucket_locks(buckets):
            if self._stop_requested.is_set():
                self._finish("STOPPED", None)
                return
            try:
                staged = self._stage(s3, buckets)
            except StagingError as exc:
                self._finish("FAILED", str(exc))
                return
            returncode, output_tail = self._execute(staged)
            if self.runtime.stopping.is_set():
                self._finish("FAILED", "the local AWS endpoint was shut down during the run")
                return
            sync_error = self._sync_back(staged)
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

    def _buckets(self) -> list[str]:
        values = [self.run.script_location, *self.run.arguments.values()]
        buckets = []
        for value in values:
            for item in str(value).split(","):
                parsed = s3_mirror.parse_s3_uri(item)
                if parsed:
                    buckets.append(parsed[0])
        return sorted(set(buckets))

    def _stage(self, s3: Any, buckets: list[str]) -> StagedRun:
        script = s3_mirror.parse_s3_uri(self.run.script_location or "")
        if script is None:
            raise StagingError(
                f"ScriptLocation must be an s3:// URI, got {self.run.script_location!r}"
            )
        mirrors = {}
        for bucket in buckets:
            mirror = s3_mirror.BucketMirror(self.runtime.work_dir, bucket, s3)
            try:
                self._record_job_s3(bucket, mirror.sync_down())
            except s3.exceptions.NoSuchBucket as exc:
                raise StagingError(
                    f"cannot stage s3://{bucket}: the bucket does not exist"
                ) from exc
            mirrors[bucket] = mirror

        def rewrite(value: str) -> str:
            items = value.split(",")
            parsed = [s3_mirror.parse_s3_uri(item) for item in items]
            if not all(parsed):
                return value
            return ",".join(mirrors[b].rewrite(k) for b, k in parsed)  # type: ignore[misc]

        script_path = mirrors[script[0]].local_path(script[1])
        if not script_path.is_file():
            raise StagingError(f"script {self.run.script_location} not found in S3")
        argv = [
            str(script_path),
            "--JOB_NAME",
            self.run.job_name,
            "--JOB_RUN_ID",
            self.run.job_run_id,
        ]
        python_path: list[str] = []
        for key, value in self.run.arguments.items():
            local_value = rewrite(str(value))
            argv += [key, local_value]
            if key == "--extra-py-files":
                for item in local_value.split(","):
                    path = Path(item)
                    python_path.append(str(path.parent if path.suffix == ".py" else path))
        return StagedRun(argv=argv, python_path=python_path, mirrors=list(mirrors.values()))

    def _execute(self, staged: StagedRun) -> tuple[int, str]:
        """Run the script; its exit status and the tail of its output (stdout and stderr in one
        pipe, so CloudWatch gets the lines in the order the script wrote them, as on Glue 5.0)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        driver_log = self._driver_log(OUTPUT_GROUP)
        lines: queue.Queue[tuple[LogStreamWriter, str] | None] = queue.Queue()
        tail: list[str] = []
        with (
            (self.run_dir / "output.log").open("w") as out_file,
            self._started_script(staged) as script,
        ):
            self.started_monotonic = time.monotonic()
            if self._stop_requested.is_set():  # stopped while we were staging
                threading.Thread(target=self._kill).start()
            else:
                self.run.set_state("RUNNING")
            reader = threading.Thread(
                target=_pump,
                args=(script.stdout, out_file, driver_log, staged.to_s3_uris, lines, tail),
            )
            reader.start()
            shipper = threading.Thread(target=_ship_logs, args=(lines,))
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

    @contextlib.contextmanager
    def _started_script(self, staged: StagedRun) -> Iterator[WarmRun | subprocess.Popen[str]]:
        """The script running in the warm Spark worker if it is free, else in a new process."""
        env = job_environment(self.runtime, self.run.region, self.run_dir / "spark-tmp")
        # The run's --extra-py-files come first, as on Glue: the published library wins over
        # anything else importable here, such as the working tree the venv's .pth names.
        inherited = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join([*staged.python_path, *inherited])
        pool = self.runtime.warm_spark
        worker = pool.acquire() if pool else None
        if pool and worker:
            request = ScriptRequest(staged.argv, staged.python_path, env, self.run_dir)
            try:
                run = WarmRun(worker, request)
                self._proc = worker.proc
                yield run
            finally:
                pool.release(worker)
            run.stdout.close()
            return
        proc = self.runtime.processes.spawn(
            [sys.executable, *staged.argv],
            cwd=self.run_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
        )
        self._proc = proc
        try:
            yield proc
        finally:
            self.runtime.processes.release(proc)

    def _kill(self) -> None:
        if self._proc is not None:
            self.runtime.processes.terminate(self._proc)

    def _sync_back(self, staged: StagedRun) -> str | None:
        errors = []
        log = self._driver_log(ERROR_GROUP)
        for mirror in staged.mirrors:
            try:
                report = mirror.sync_up()
            except Exception as exc:
                errors.append(f"s3://{mirror.bucket}: {type(exc).__name__}: {exc}")
                continue
            self._record_job_s3(mirror.bucket, report)
            log.write(
                [
                    f"[local endpoint] synced s3://{mirror.bucket}: "
                    f"{len(report.uploaded)} uploaded, {len(report.deleted)} deleted"
                ]
            )
        return f"syncing job output back to S3 failed: {'; '.join(errors)}" if errors else None

    def _record_job_s3(self, bucket: str, report: s3_mirror.SyncReport) -> None:
        """Record the staging's S3 reads and the sync-back's writes as the job's own calls.

        On Glue the job reads and writes S3 itself, with the Glue role, listing the folders
        it reads and commits to; here the endpoint does it for the job (with its own key).
        """
        log = self.runtime.call_log
        changes = [
            *(("s3:GetObject", key) for key in report.downloaded),
            *(("s3:PutObject", key) for key in report.uploaded),
            *(("s3:DeleteObject", key) for key in report.deleted),
        ]
        for action, key in changes:
            log.record(GLUE_ROLE_ACCESS_KEY, action, iam_arns.s3_object(bucket, key))
            folder = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
            prefix = {"s3:prefix": folder}
            log.record(GLUE_ROLE_ACCESS_KEY, "s3:ListBucket", iam_arns.s3_bucket(bucket), prefix)

    def _driver_log(self, group: str) -> LogStreamWriter:
        """The run's driver stream in ``group`` (``<run id>-driver``, as Glue 5.0 names it),
        written as the Glue role (as Glue delivers it)."""
        return LogStreamWriter(
            self.run.account_id,
            self.run.region,
            group,
            self.run.job_run_id + DRIVER_STREAM_SUFFIX,
            self.runtime.call_log,
            GLUE_ROLE_ACCESS_KEY,
        )

    def _finish(self, state: str, error: str | None) -> None:
        if self.finished_monotonic is None:
            self.finished_monotonic = time.monotonic()
        self.run.set_state(state, error=error)


def job_environment(runtime: EndpointRuntime, region: str, spark_tmp: Path) -> dict[str, str]:
    """The environment of a job script (and of the warm Spark worker that may run it)."""
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("AWS_"):
            del env[name]  # never hand real credentials or profiles to a job
    env.update(runtime.child_env(region, GLUE_ROLE_ACCESS_KEY))
    env.update(
        {
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "SPARK_LOCAL_DIRS": str(spark_tmp),
            "PYTHONUNBUFFERED": "1",
        }
    )
    # A script's own SparkSession settings still win over these defaults.
    env.setdefault("PYSPARK_SUBMIT_ARGS", local_spark_submit_args())
    return env


def _pump(
    stream: IO[str],
    file: IO[str],
    log: LogStreamWriter,
    public: Callable[[str], str],
    lines: queue.Queue[tuple[LogStreamWriter, str] | None],
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


def _ship_logs(lines: queue.Queue[tuple[LogStreamWriter, str] | None]) -> None:
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
