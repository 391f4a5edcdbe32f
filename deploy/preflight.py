"""Pre-flight checks: each returns the problems it found (empty: fine) and writes nothing."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from deploy.dag_check import DagChecker, DagCheckError
from deploy.files import REQUIREMENTS_BY_AIRFLOW_VERSION, supported_versions
from deploy.mwaa import UPDATABLE_STATUSES, MwaaEnvironment

# MWAA's requirements.txt starts with Airflow's constraints for the image's Airflow version:
# a URL, or (without internet egress) a file in the DAG folder named by its path on MWAA.
_CONSTRAINT = re.compile(
    r"^\s*(?:-c|--constraint)[\s=]+\"?(?P<target>\S*/constraints-(?P<version>\d+\.\d+\.\d+)/"
    r"constraints-\d+\.\d+\.txt)\"?\s*$"
)
# Where MWAA syncs the DAG folder on its workers (AWS: "Apache Airflow provider packages
# installed on Amazon MWAA environments", Constraints file).
MWAA_DAGS_DIR = "/usr/local/airflow/dags/"
# A deploy deleting more of its own objects than this needs --max-deletes.
DEFAULT_MAX_DELETES = 5
# botocore takes the region from AWS_DEFAULT_REGION or the profile's `region`; AWS_REGION,
# which other AWS SDKs read, it ignores (botocore 1.42, configprovider: region).
_NO_REGION = (
    "no AWS region: pass --region, set AWS_DEFAULT_REGION, or set `region` in the profile "
    "(AWS_PROFILE / --profile)"
)
_AWS_REGION_IGNORED = " (AWS_REGION is set, but boto3 does not read it)"


def check_session(session: Any) -> list[str]:
    """Region and working credentials; without them no other check can run."""
    problems = []
    if not session.region_name:
        problems.append(_NO_REGION + (_AWS_REGION_IGNORED if os.environ.get("AWS_REGION") else ""))
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


def check_supported_version(env: MwaaEnvironment) -> list[str]:
    """The environment runs an Airflow this tree is checked on; checked before anything else
    is read or written, so an unsupported environment is refused untouched."""
    if env.airflow_version in REQUIREMENTS_BY_AIRFLOW_VERSION:
        return []
    return [
        f"environment {env.name!r} runs Airflow {env.airflow_version or '(none reported)'},"
        f" which this package does not support; supported: {supported_versions()}"
        " (docs/mwaa-versions.md says how to upgrade an environment)"
    ]


def constraint_line(requirements: str) -> re.Match[str] | None:
    """The constraint line, which must be the first requirement (None: it is not)."""
    for line in requirements.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        return _CONSTRAINT.match(line)
    return None


def check_airflow_version(
    env: MwaaEnvironment, requirements: str, dag_files: Mapping[str, bytes]
) -> list[str]:
    """The constraint line's Airflow version is the environment's; a file it names ships."""
    match = constraint_line(requirements)
    if match is None:
        return [
            "requirements.txt must start with Airflow's constraint line "
            '(--constraint "https://raw.githubusercontent.com/apache/airflow/'
            'constraints-<version>/constraints-<python>.txt", or without internet egress '
            f'--constraint "{MWAA_DAGS_DIR}constraints-<version>/constraints-<python>.txt" '
            "with that file in the DAG folder)"
        ]
    problems = []
    if match["version"] != env.airflow_version:
        problems.append(
            f"environment {env.name!r} runs Airflow {env.airflow_version} but "
            f"requirements.txt is constrained for Airflow {match['version']}"
        )
    target = match["target"]
    shipped_as = target.removeprefix(MWAA_DAGS_DIR)
    if target.startswith(MWAA_DAGS_DIR):
        if shipped_as not in dag_files:
            problems.append(
                f"requirements.txt's constraint file {target} is not in the DAG folder this "
                f"deploy ships: add dags/{shipped_as} (and keep it out of .airflowignore)"
            )
    elif target.startswith("/"):
        problems.append(
            f"requirements.txt's constraint file {target} is outside {MWAA_DAGS_DIR}: "
            "MWAA can read a local constraint file only from the DAG folder"
        )
    return problems


def check_dag_selection(dag_files: Mapping[str, bytes], allow_empty: bool) -> list[str]:
    """Refuse a DAG folder with no Python file: it would retire every DAG of ours."""
    if allow_empty or any(name.endswith(".py") for name in dag_files):
        return []
    return [
        "the DAG folder has no Python file to ship (is dags/ empty, or does .airflowignore "
        "exclude everything?): pass --allow-empty-dags to remove this project's DAGs"
    ]


def check_deletes(deletes: Sequence[str], max_deletes: int) -> list[str]:
    if len(deletes) <= max_deletes:
        return []
    return [
        f"the plan deletes {len(deletes)} objects of ours from the DAG folder, more than "
        f"{max_deletes}: pass --max-deletes {len(deletes)} if that is intended"
    ]


def check_dags(
    checker: DagChecker,
    dag_files: Mapping[str, bytes],
    plugin_files: Mapping[str, bytes],
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
