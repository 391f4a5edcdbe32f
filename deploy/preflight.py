"""Pre-flight checks: each returns the problems it found (empty: fine) and writes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from deploy.dag_check import DagChecker, DagCheckError
from deploy.mwaa import UPDATABLE_STATUSES, MwaaEnvironment

# MWAA's requirements.txt starts with Airflow's constraints for the image's Airflow version.
_CONSTRAINT = re.compile(
    r"^\s*(?:-c|--constraint)[\s=]+\"?\S*/constraints-(?P<version>\d+\.\d+\.\d+)/"
    r"constraints-\d+\.\d+\.txt\"?\s*$"
)


def check_session(session: Any) -> list[str]:
    """Region and working credentials; without them no other check can run."""
    problems = []
    if not session.region_name:
        problems.append("no AWS region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION")
    try:
        credentials = session.get_credentials()
    except BotoCoreError as exc:
        credentials = None
        problems.append(f"cannot load AWS credentials: {exc}")
    else:
        if credentials is None:
            problems.append(
                "no AWS credentials found: set AWS_PROFILE (or --profile), or the "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment variables"
            )
    if problems:
        return problems
    try:
        session.client("sts").get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        problems.append(f"AWS credentials do not work: {exc}")
    return problems


def check_versioning(s3: Any, bucket: str) -> list[str]:
    try:
        status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    except ClientError as exc:
        return [f"cannot read versioning of s3://{bucket}: {exc}"]
    if status != "Enabled":
        return [
            f"versioning is {status or 'not enabled'} on s3://{bucket}: MWAA needs object "
            "versions for plugins.zip and requirements.txt (and rollback uses them)"
        ]
    return []


def requirements_airflow_version(requirements: Path) -> str | None:
    """The Airflow version of the constraint line, which must be the first requirement."""
    for line in requirements.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _CONSTRAINT.match(line)
        return match["version"] if match else None
    return None


def check_airflow_version(env: MwaaEnvironment, requirements: Path) -> list[str]:
    if not requirements.is_file():
        return [f"requirements file not found: {requirements}"]
    wanted = requirements_airflow_version(requirements)
    if wanted is None:
        return [
            f"{requirements.name} must start with Airflow's constraint line "
            '(--constraint "https://raw.githubusercontent.com/apache/airflow/'
            'constraints-<version>/constraints-<python>.txt")'
        ]
    if wanted != env.airflow_version:
        return [
            f"environment {env.name!r} runs Airflow {env.airflow_version} but "
            f"{requirements.name} is constrained for Airflow {wanted}"
        ]
    return []


def check_dags(
    checker: DagChecker,
    dag_files: Mapping[str, Path],
    plugin_files: Mapping[str, Path],
    report: Callable[[str], None],
) -> list[str]:
    try:
        result = checker(dag_files, plugin_files)
    except DagCheckError as exc:
        return [str(exc)]
    report(f"DAG import check: {len(result.dag_ids)} DAG(s) loaded: {', '.join(result.dag_ids)}")
    problems = [
        f"DAG import error in {name}:\n{_indent(error)}"
        for name, error in sorted(result.import_errors.items())
    ]
    if not problems and not result.dag_ids and any(p.endswith(".py") for p in dag_files):
        problems.append("the DAG folder has Python files but Airflow found no DAG in them")
    return problems


def check_updatable(env: MwaaEnvironment, update_needed: bool) -> list[str]:
    if update_needed and env.status not in UPDATABLE_STATUSES:
        return [
            f"environment {env.name!r} is {env.status}; UpdateEnvironment needs one of "
            f"{sorted(UPDATABLE_STATUSES)}: wait for it and deploy again"
        ]
    return []


def _indent(text: str) -> str:
    lines = text.strip().splitlines()[-12:]  # the traceback's end names the cause
    return "\n".join("    " + line for line in lines)
