"""Fixtures for the deploy command's tests: moto in-process, a fake MWAA, a small project."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from deploy.cli import main
from deploy.dag_check import DagCheckResult
from tests.deploy.mwaa_fake import ENV_NAME, SOURCE_BUCKET, FakeMwaa

REGION = "us-east-1"
REPO_ROOT = Path(__file__).resolve().parents[2]
CONSTRAINT = (
    '--constraint "https://raw.githubusercontent.com/apache/airflow/'
    'constraints-{version}/constraints-3.12.txt"\n'
)
WRITE_CALLS = frozenset({"PutObject", "DeleteObject", "DeleteObjects", "CopyObject"})


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


@dataclass
class CallLog:
    """Names of the AWS operations the deploy's clients sent, in order."""

    calls: list[str] = field(default_factory=list)

    def record(self, model: Any, **_: Any) -> None:
        self.calls.append(f"{model.service_model.service_name}:{model.name}")

    @property
    def writes(self) -> list[str]:
        return [c for c in self.calls if c.split(":")[1] in WRITE_CALLS or "Update" in c]

    def clear(self) -> None:
        self.calls.clear()


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


class OkChecker:
    """Stands in for the (slow) Airflow subprocess check; records what it was asked to load."""

    def __init__(self) -> None:
        self.seen: list[tuple[list[str], list[str]]] = []

    def __call__(self, dags: Mapping[str, Path], plugins: Mapping[str, Path]) -> DagCheckResult:
        self.seen.append((sorted(dags), sorted(plugins)))
        return DagCheckResult(("sales_etl",), {})


@pytest.fixture
def ok_checker() -> OkChecker:
    return OkChecker()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def make_project(root: Path, airflow_version: str = "3.2.1") -> Path:
    """A small project tree with every kind of file a deploy must ship or skip."""
    write(root / "dags" / "etl_dag.py", "from airflow.sdk import DAG\n# dag one\n")
    write(root / "dags" / "helpers" / "util.py", "VALUE = 1\n")
    write(root / "dags" / "sql" / "daily.sql", "select 1;\n")
    write(root / "dags" / ".airflowignore", "scratch/\n*.tmp\n")
    write(root / "dags" / "scratch" / "draft.py", "broken(\n")
    write(root / "dags" / "notes.tmp", "x\n")
    write(root / "dags" / "__pycache__" / "etl_dag.cpython-311.pyc", "junk")
    write(root / "dags" / "test_etl_dag.py", "def test_x():\n    pass\n")
    write(root / "dags" / ".DS_Store", "junk")
    write(root / "plugins" / ".airflowignore", "teamlib/\n")
    write(root / "plugins" / "teamlib" / "__init__.py", "NAME = 'teamlib'\n")
    write(root / "plugins" / "teamlib" / "__pycache__" / "x.cpython-311.pyc", "junk")
    write(root / "requirements.txt", CONSTRAINT.format(version=airflow_version))
    write(root / "glue_scripts" / "sales_etl_job.py", "import helper\n")
    write(root / "glue_scripts" / "helper.py", "X = 1\n")
    write(root / "lambdas" / "post_process" / "handler.py", "def lambda_handler(e, c):\n    pass\n")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


def copy_real_project(dest: Path) -> Path:
    """The real DAG, plugins, requirements, Glue job and Lambda: for tests where content matters."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("dags", "plugins", "glue_scripts", "lambdas"):
        shutil.copytree(REPO_ROOT / name, dest / name, ignore=ignore)
    shutil.copy2(REPO_ROOT / "requirements.txt", dest / "requirements.txt")
    return dest


@dataclass
class Result:
    code: int
    out: str
    err: str


Deploy = Callable[..., Result]


@pytest.fixture
def deploy(session: boto3.Session, project: Path, ok_checker: OkChecker) -> Deploy:
    """Run ``python -m deploy`` in-process against moto; extra CLI args go to the end."""

    def run(*args: str, checker: Any = ok_checker, project_dir: Path = project) -> Result:
        out, err = io.StringIO(), io.StringIO()
        argv = [ENV_NAME, "--project-dir", str(project_dir), *args]
        code = main(argv, session=session, dag_checker=checker, out=out, err=err)
        return Result(code, out.getvalue(), err.getvalue())

    return run


def object_versions(s3: Any, bucket: str) -> list[tuple[str, str, bool]]:
    """Every (key, version, is delete marker) in the bucket: a fingerprint of its state."""
    response = s3.list_object_versions(Bucket=bucket)
    rows = [(v["Key"], v["VersionId"], False) for v in response.get("Versions", [])]
    rows += [(m["Key"], m["VersionId"], True) for m in response.get("DeleteMarkers", [])]
    return sorted(rows)


def keys(s3: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def latest_version(s3: Any, bucket: str, key: str) -> str:
    return s3.head_object(Bucket=bucket, Key=key)["VersionId"]
