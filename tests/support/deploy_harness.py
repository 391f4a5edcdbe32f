"""The deploy command's test harness: a small project with every kind of file a deploy
ships or skips (or a copy of the real one), the AWS calls the deploy sent, a stand-in for its
DAG check, its result, and readers of the bucket it wrote."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.dag_check import DagCheckResult
from local.repo import REPO_ROOT

REGION = "us-east-1"
CONSTRAINT = (
    '--constraint "https://raw.githubusercontent.com/apache/airflow/'
    'constraints-{version}/constraints-3.12.txt"\n'
)
WRITE_CALLS = frozenset({"PutObject", "DeleteObject", "DeleteObjects", "CopyObject"})


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


class OkChecker:
    """Stands in for the (slow) Airflow subprocess check; records what it was asked to load."""

    def __init__(self) -> None:
        self.seen: list[tuple[list[str], list[str]]] = []

    def __call__(self, dags: Mapping[str, Path], plugins: Mapping[str, Path]) -> DagCheckResult:
        self.seen.append((sorted(dags), sorted(plugins)))
        return DagCheckResult(("sales_etl",), {})


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
