"""The local AWS endpoint for the tests: one per suite (stopped and checked for leftovers
afterwards), ways to hold its crawls and Glue job runs in flight, boto3 clients for it, and
helpers to create test resources on it and read back what they did."""

from __future__ import annotations

import io
import threading
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest
from botocore.config import Config

from local.aws_local import EndpointClients
from local.endpoint import RunningEndpoint, running_endpoint, start_endpoint
from local.endpoint.glue_crawlers import crawler as glue_crawlers
from local.endpoint.s3 import mirror as s3_mirror
from local.provision import LAMBDA_SERVICE, ensure_role
from tests.support.polling import wait_for

ROLE_ARN = "arn:aws:iam::123456789012:role/local-test-role"


@contextmanager
def suite_endpoint(work_dir: Path, *, prewarm_spark: bool = False) -> Iterator[RunningEndpoint]:
    """A new endpoint, or the one another suite runs in this process (moto allows one).

    A shared endpoint is left to its owner to stop. An own endpoint is stopped on exit, and
    then none of the Glue job or Lambda processes it started may still exist.
    """
    shared = running_endpoint()
    if shared is not None:
        yield shared
        return
    running = start_endpoint(work_dir=work_dir, prewarm_spark=prewarm_spark)
    try:
        yield running
    finally:
        children = running.child_pids()
        running.stop()
        leftovers = [pid for pid in children if psutil.pid_exists(pid)]
        assert not leftovers, f"endpoint child processes survived: {leftovers}"


@contextmanager
def glue_runs_held(bucket: str) -> Iterator[None]:
    """Hold every Glue job run that stages ``bucket`` in STARTING until exit.

    A run takes the mirror locks of its buckets before it stages its inputs
    (``GlueJobRunner._run_staged``); holding the lock here, in the endpoint's process, keeps
    a run waiting exactly as a slow-starting run on Glue would.
    """
    with s3_mirror.bucket_locks([bucket]):
        yield


class CrawlPause:
    """Holds the endpoint's crawls in RUNNING, just before they infer a table, until released."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, max_seconds: float) -> None:
        self.reached = threading.Event()  # a crawl is being held
        self._released = threading.Event()
        real_infer = glue_crawlers.infer_table

        def paused_infer(*args: Any, **kwargs: Any) -> Any:
            self.reached.set()
            self._released.wait(max_seconds)
            return real_infer(*args, **kwargs)

        monkeypatch.setattr(glue_crawlers, "infer_table", paused_infer)

    def release(self) -> None:
        self._released.set()


class Aws:
    """boto3 clients for the endpoint, built the way any local caller builds them (signed with
    the endpoint's key)."""

    def __init__(self, endpoint: EndpointClients) -> None:
        self.endpoint = endpoint
        self.url = endpoint.url
        self._clients: dict[str, Any] = {}

    def __getattr__(self, service: str) -> Any:
        if service.startswith("_"):
            raise AttributeError(service)
        name = "lambda" if service == "lambda_" else service
        if name not in self._clients:
            config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0})
            self._clients[name] = self.endpoint.client(name, config=config)
        return self._clients[name]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_for_job_run(aws: Aws, job_name: str, run_id: str, timeout: float = 60) -> dict:
    return wait_for(
        lambda: aws.glue.get_job_run(JobName=job_name, RunId=run_id)["JobRun"],
        lambda run: run["JobRunState"] not in ("STARTING", "RUNNING", "STOPPING", "WAITING"),
        timeout=timeout,
    )


def wait_for_crawler(aws: Aws, name: str, timeout: float = 60) -> dict:
    return wait_for(
        lambda: aws.glue.get_crawler(Name=name)["Crawler"],
        lambda crawler: crawler["State"] == "READY",
        timeout=timeout,
    )


def keys(aws: Aws, bucket: str, prefix: str = "") -> list[str]:
    response = aws.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(obj["Key"] for obj in response.get("Contents", []))


def log_messages(aws: Aws, group: str, stream: str) -> list[str]:
    events = aws.logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    return [event["message"] for event in events["events"]]


def glue_driver_messages(aws: Aws, group: str, run_id: str) -> list[str]:
    """A Glue 5.0 run's driver stream in ``group``: ``<run id>-driver``."""
    return log_messages(aws, group, f"{run_id}-driver")


def lambda_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def create_job(
    aws: Aws, bucket: str, script: str, name: str | None = None, **kwargs: Any
) -> tuple[str, str]:
    """Upload ``script`` to ``s3://bucket/scripts/`` and define a Glue job that runs it."""
    name = name or unique("job")
    key = f"scripts/{name}.py"
    aws.s3.put_object(Bucket=bucket, Key=key, Body=script.encode())
    aws.glue.create_job(
        Name=name,
        Role=ROLE_ARN,
        Command={"Name": "glueetl", "ScriptLocation": f"s3://{bucket}/{key}"},
        GlueVersion="5.0",
        **kwargs,
    )
    return name, f"s3://{bucket}/{key}"


def lambda_role(aws: Aws) -> str:
    """An IAM role Lambda can assume (moto checks that the role exists)."""
    return ensure_role(aws.iam, "local-test-lambda", LAMBDA_SERVICE)
