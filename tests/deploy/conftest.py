"""Fixtures for the deploy command's tests: moto in-process, a fake MWAA, a small project."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from deploy.cli import main
from tests.support.deploy_harness import (
    REGION,
    CallLog,
    Deploy,
    OkChecker,
    Result,
    make_project,
)
from tests.support.mwaa_fake import ENV_NAME, SOURCE_BUCKET, FakeMwaa


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # moto's fake credentials only: a developer's profile, config or endpoint must never leak in.
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield


@pytest.fixture
def s3(aws_env: None) -> Any:
    return boto3.client("s3", region_name=REGION)


@pytest.fixture
def source_bucket(s3: Any) -> str:
    s3.create_bucket(Bucket=SOURCE_BUCKET)
    s3.put_bucket_versioning(Bucket=SOURCE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return SOURCE_BUCKET


@pytest.fixture
def mwaa(s3: Any) -> FakeMwaa:
    return FakeMwaa(s3)


@pytest.fixture
def call_log() -> CallLog:
    return CallLog()


@pytest.fixture
def session(aws_env: None, mwaa: FakeMwaa, call_log: CallLog) -> boto3.Session:
    """The session the deploy uses: its clients reach moto, and the fake for MWAA."""
    session = boto3.Session(region_name=REGION)
    mwaa.register(session.events)
    session.events.register("before-call.*.*", call_log.record)
    return session


@pytest.fixture
def ok_checker() -> OkChecker:
    return OkChecker()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


@pytest.fixture
def deploy(session: boto3.Session, project: Path, ok_checker: OkChecker) -> Deploy:
    """Run ``python -m deploy`` in-process against moto; extra CLI args go to the end."""

    def run(*args: str, checker: Any = ok_checker, project_dir: Path = project) -> Result:
        out, err = io.StringIO(), io.StringIO()
        argv = [ENV_NAME, "--project-dir", str(project_dir), *args]
        code = main(argv, session=session, dag_checker=checker, out=out, err=err)
        return Result(code, out.getvalue(), err.getvalue())

    return run
