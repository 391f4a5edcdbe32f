"""Helpers for the local AWS endpoint tests (boto3 clients, polling, test artefacts)."""

from __future__ import annotations

import io
import time
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config

from local.aws_local import endpoint_client
from local.provision import LAMBDA_SERVICE, ensure_role

ROLE_ARN = "arn:aws:iam::123456789012:role/local-test-role"


class Aws:
    """boto3 clients for the endpoint, built the way any local caller builds them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._clients: dict[str, Any] = {}

    def __getattr__(self, service: str) -> Any:
        if service.startswith("_"):
            raise AttributeError(service)
        name = "lambda" if service == "lambda_" else service
        if name not in self._clients:
            config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0})
            self._clients[name] = endpoint_client(self.url, name, config=config)
        return self._clients[name]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_for(
    probe: Callable[[], Any],
    done: Callable[[Any], bool],
    timeout: float = 60,
    interval: float = 0.2,
    what: str = "",
) -> Any:
    """Poll ``probe`` until ``done(value)``; return the last value or fail on timeout, naming
    ``what`` was awaited if given."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            awaited = f" waiting for {what}" if what else ""
            pytest.fail(f"timed out after {timeout}s{awaited}; last value: {value!r}")
        time.sleep(interval)


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
