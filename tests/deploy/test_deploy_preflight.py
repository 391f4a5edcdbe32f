"""Each pre-flight failure exits 2 with a message naming the problem, and writes nothing."""

from __future__ import annotations

import functools
import io
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest

from deploy.cli import EXIT_PREFLIGHT_FAILED, main
from deploy.dag_check import check_dags_in_subprocess
from deploy.files import REQUIREMENTS_BY_AIRFLOW_VERSION
from local.repo import REPO_ROOT
from tests.support.deploy_harness import (
    CONSTRAINT,
    REGION,
    CallLog,
    Deploy,
    OkChecker,
    copy_real_project,
    object_versions,
    write,
)
from tests.support.mwaa_fake import ENV_NAME, SOURCE_BUCKET, FakeMwaa


def assert_nothing_written(s3: Any, mwaa: FakeMwaa, call_log: CallLog) -> None:
    assert call_log.writes == []
    assert mwaa.updates == []
    if SOURCE_BUCKET in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        assert object_versions(s3, SOURCE_BUCKET) == []


def test_versioning_off_fails_before_any_upload(
    deploy: Deploy, s3: Any, mwaa: FakeMwaa, call_log: CallLog
) -> None:
    s3.create_bucket(Bucket=SOURCE_BUCKET)  # versioning never enabled

    result = deploy("--skip-code")

    assert result.code == EXIT_PREFLIGHT_FAILED
    assert f"versioning is not enabled on s3://{SOURCE_BUCKET}" in result.err
    assert "nothing was changed" in result.err
    assert_nothing_written(s3, mwaa, call_log)


def test_suspended_versioning_fails_too(
    deploy: Deploy, s3: Any, source_bucket: str, mwaa: FakeMwaa, call_log: CallLog
) -> None:
    s3.put_bucket_versioning(Bucket=source_bucket, VersioningConfiguration={"Status": "Suspended"})

    result = deploy("--skip-code")

    assert result.code == EXIT_PREFLIGHT_FAILED
    assert "versioning is Suspended" in result.err
    assert_nothing_written(s3, mwaa, call_log)


def test_airflow_version_mismatch_fails(
    deploy: Deploy, project: Path, s3: Any, source_bucket: str, mwaa: FakeMwaa, call_log: CallLog
) -> None:
    # The version's own requirements file, constrained for another Airflow by mistake.
    write(project / "requirements" / "mwaa" / "3.3.1.txt", CONSTRAINT.format(version="3.2.1"))
    mwaa.environment["AirflowVersion"] = "3.3.1"

    result = deploy("--skip-code")

    assert result.code == EXIT_PREFLIGHT_FAILED
    assert "runs Airflow 3.3.1 but requirements.txt is constrained for Airflow 3.2.1" in (
        result.err
    )
    assert_nothing_written(s3, mwaa, call_log)


@pytest.mark.parametrize("version", list(REQUIREMENTS_BY_AIRFLOW_VERSION))
def test_each_supported_version_gets_its_own_constraints(
    version: str, deploy: Deploy, project: Path, s3: Any, source_bucket: str, mwaa: FakeMwaa
) -> None:
    # The project's real requirements files, one per MWAA version.
    shutil.copytree(REPO_ROOT / "requirements" / "mwaa", project / "requirements" / "mwaa")
    shutil.copy2(REPO_ROOT / "requirements.txt", project / "requirements.txt")
    mwaa.environment["AirflowVersion"] = version

    result = deploy("--skip-code")

    assert result.code == 0, result.err
    shipped = s3.get_object(Bucket=source_bucket, Key="requirements.txt")["Body"].read().decode()
    source = REQUIREMENTS_BY_AIRFLOW_VERSION[version]
    assert shipped == (REPO_ROOT / source).read_text()
    assert shipped.splitlines()[0] == CONSTRAINT.format(version=version).strip()
    assert f"target Airflow {version}: requirements.txt from {source}" in result.out
    assert mwaa.updates[-1]["RequirementsS3ObjectVersion"]


def test_an_unsupported_version_is_refused_listing_the_supported_ones(
    deploy: Deploy, s3: Any, source_bucket: str, mwaa: FakeMwaa, call_log: CallLog
) -> None:
    mwaa.environment["AirflowVersion"] = "2.10.3"

    result = deploy("--skip-code")

    assert result.code == EXIT_PREFLIGHT_FAILED
    assert (
        f"environment {ENV_NAME!r} runs Airflow 2.10.3, which this package does not support;"
        " supported: 3.3.1, 3.2.1, 3.0.6, 2.11.2"
    ) in result.err
    assert_nothing_written(s3, mwaa, call_log)
    # Refused on GetEnvironment's answer alone: not even the bucket was read.
    assert [c for c in call_log.calls if not c.startswith(("sts:", "mwaa:"))] == []


def test_plan_only_lists_what_would_ship_offline(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write(project / "requirements" / "mwaa" / "3.0.6.txt", CONSTRAINT.format(version="3.0.6"))
    # No account, no region, no credentials; and no AWS client may even be made.
    for name in ("AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setattr(boto3, "Session", _no_aws)
    monkeypatch.setattr(boto3, "client", _no_aws)
    out, err = io.StringIO(), io.StringIO()

    argv = ["any-env", "--project-dir", str(project), "--plan-only", "--airflow-version", "3.0.6"]
    code = main(argv, out=out, err=err)

    assert code == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[0] == "Plan only (offline) for an MWAA environment on Airflow 3.0.6"
    shipped_dags = [line.split()[1] for line in lines if line.startswith("    + ")]
    assert shipped_dags == [".airflowignore", "etl_dag.py", "helpers/util.py", "sql/daily.sql"]
    assert any(line.startswith("    teamlib/__init__.py  ") for line in lines)  # plugins.zip
    assert "  requirements.txt (from requirements/mwaa/3.0.6.txt):" in lines
    assert "    " + CONSTRAINT.format(version="3.0.6").strip() in lines
    assert "      handler.py" in lines  # the Lambda zip's members
    assert any(line.startswith("    scripts/sales_etl_job.py  ") for line in lines)


def test_plan_only_refuses_an_unsupported_version(project: Path) -> None:
    err = io.StringIO()

    argv = ["e", "--project-dir", str(project), "--plan-only", "--airflow-version", "3.1.0"]
    code = main(argv, out=io.StringIO(), err=err)

    assert code == EXIT_PREFLIGHT_FAILED
    assert (
        "Airflow 3.1.0 is not a supported MWAA version; supported: 3.3.1, 3.2.1" in err.getvalue()
    )


def _no_aws(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("--plan-only made an AWS session or client")


def test_requirements_without_constraint_line_fails(
    deploy: Deploy, project: Path, s3: Any, source_bucket: str, mwaa: FakeMwaa, call_log: CallLog
) -> None:
    write(project / "requirements.txt", "# extras\nsome-package==1.0\n" + CONSTRAINT)

    result = deploy("--skip-code")

    assert result.code == EXIT_PREFLIGHT_FAILED
    assert "must start with Airflow's constraint line" in result.err
    assert_nothing_written(s3, mwaa, call_log)


def test_dag_import_error_fails_with_the_real_airflow_check(
    deploy: Deploy, tmp_path: Path, s3: Any, source_bucket: str, mwaa: FakeMwaa, call_log: CallLog
) -> None:
    # The real DAG next to a broken one, in one Airflow run: the staged tree (DAG folder plus
    # plugins on sys.path, as on MWAA) must load the first and report the second.
    project = copy_real_project(tmp_path / "real")
    write(
        project / "dags" / "broken_dag.py",
        "from airflow.sdk import DAG\nimport module_that_is_not_installed\n",
    )

    result = deploy("--skip-code", checker=check_dags_in_subprocess, project_dir=project)

    assert result.code == EXIT_PREFLIGHT_FAILED
    assert "DAG import check: 1 DAG(s) loaded: sales_etl" in result.out
    assert "DAG import error in broken_dag.py" in result.err
    assert "No module named 'module_that_is_not_installed'" in result.err
    assert "sales_etl_dag.py" not in result.err
    assert_nothing_written(s3, mwaa, call_log)


def test_dag_check_sees_only_what_mwaa_has_not_the_checkout(
    deploy: Deploy, tmp_path: Path, s3: Any, source_bucket: str, mwaa: FakeMwaa, call_log: CallLog
) -> None:
    # The venv's .pth puts glue_scripts/ and the repo root on every tool's sys.path; MWAA has
    # only the DAG folder, plugins.zip and the installed requirements.
    project = copy_real_project(tmp_path / "real")
    write(project / "dags" / "uses_glue_code.py", "from airflow.sdk import DAG\nimport sales_job\n")
    write(
        project / "dags" / "uses_repo_code.py", "from airflow.sdk import DAG\nimport local.repo\n"
    )

    result = deploy("--skip-code", checker=check_dags_in_subprocess, project_dir=project)

    assert result.code == EXIT_PREFLIGHT_FAILED
    assert "DAG import check: 1 DAG(s) loaded: sales_etl" in result.out
    assert "DAG import error in uses_glue_code.py" in result.err
    assert "No module named 'sales_job'" in result.err
    assert "DAG import error in uses_repo_code.py" in result.err
    assert "No module named 'local'" in result.err
    assert_nothing_written(s3, mwaa, call_log)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        pytest.param(
            "Status", "UPDATING", "is UPDATING; UpdateEnvironment needs one of", id="not-updatable"
        ),
        pytest.param(
            "Name", "another-env", f"MWAA environment {ENV_NAME!r} not found", id="unknown"
        ),
    ],
)
def test_an_environment_that_cannot_take_the_deploy_fails_before_any_write(
    deploy: Deploy,
    s3: Any,
    source_bucket: str,
    mwaa: FakeMwaa,
    call_log: CallLog,
    field: str,
    value: str,
    message: str,
) -> None:
    mwaa.environment[field] = value

    result = deploy("--skip-code")

    assert result.code == EXIT_PREFLIGHT_FAILED
    assert message in result.err
    assert_nothing_written(s3, mwaa, call_log)


def test_code_targets_are_required_unless_skipped(
    deploy: Deploy, s3: Any, source_bucket: str, mwaa: FakeMwaa, call_log: CallLog
) -> None:
    result = deploy()

    assert result.code == EXIT_PREFLIGHT_FAILED
    assert "pass --stack, or --data-bucket and --lambda-function" in result.err
    assert_nothing_written(s3, mwaa, call_log)


def test_missing_lambda_function_fails(
    deploy: Deploy, s3: Any, source_bucket: str, mwaa: FakeMwaa, call_log: CallLog
) -> None:
    s3.create_bucket(Bucket="data-bucket")

    result = deploy("--data-bucket", "data-bucket", "--lambda-function", "no_such_function")

    assert result.code == EXIT_PREFLIGHT_FAILED
    assert "Lambda function 'no_such_function' not found: create the infrastructure stack" in (
        result.err
    )
    assert_nothing_written(s3, mwaa, call_log)
    assert "Contents" not in s3.list_objects_v2(Bucket="data-bucket")


def run_with_session(session: boto3.Session, project: Path, checker: OkChecker) -> Any:
    out, err = io.StringIO(), io.StringIO()
    argv = [ENV_NAME, "--project-dir", str(project), "--skip-code"]
    code = main(argv, session=session, dag_checker=checker, out=out, err=err)
    return code, err.getvalue()


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("region", "no AWS region: pass --region, set AWS_DEFAULT_REGION"),
        # botocore (1.42) takes the region from AWS_DEFAULT_REGION or the profile, never from
        # AWS_REGION (which other AWS SDKs read): advice to set AWS_REGION changed nothing.
        ("region, AWS_REGION set", "(AWS_REGION is set, but boto3 does not read it)"),
        ("credentials", "no AWS credentials found"),
    ],
)
def test_missing_region_or_credentials_fails(
    missing: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    project: Path,
    s3: Any,
    source_bucket: str,
    mwaa: FakeMwaa,
    call_log: CallLog,
    ok_checker: OkChecker,
) -> None:
    # moto exports fake credentials; take away what the case is about.
    if missing.startswith("region"):
        monkeypatch.delenv("AWS_DEFAULT_REGION")
        if missing == "region, AWS_REGION set":
            monkeypatch.setenv("AWS_REGION", REGION)
        session = boto3.Session()
    else:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name)
        session = boto3.Session(region_name=REGION)
    mwaa.register(session.events)
    session.events.register("before-call.*.*", call_log.record)

    code, err = run_with_session(session, project, ok_checker)

    assert code == EXIT_PREFLIGHT_FAILED
    assert message in err
    assert "set AWS_REGION" not in err
    assert ok_checker.seen == []
    assert_nothing_written(s3, mwaa, call_log)


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-such-flag"]) == 2
    assert "usage: python -m deploy" in capsys.readouterr().err
    assert main([ENV_NAME, "--config-out", "x.json", "--skip-code"]) == 2


def test_dag_check_that_cannot_run_is_a_preflight_failure(
    deploy: Deploy, s3: Any, source_bucket: str, mwaa: FakeMwaa, call_log: CallLog
) -> None:
    no_airflow = shutil.which("false")
    assert no_airflow
    checker = functools.partial(check_dags_in_subprocess, python=no_airflow)

    result = deploy("--skip-code", checker=checker)

    assert result.code == EXIT_PREFLIGHT_FAILED
    assert f"DAG import check could not run with {no_airflow} (exit 1)" in result.err
    assert_nothing_written(s3, mwaa, call_log)


# Imported by the real DAG check: fails the import if the deployer's credentials or AWS are
# reachable from DAG code, and defines one DAG otherwise.
PROBE_DAG = """
import boto3
import botocore.exceptions
from airflow.sdk import DAG

assert boto3.Session().get_credentials() is None, "the deployer's credentials are visible"
client = boto3.client(
    "sts", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
)
try:
    client.get_caller_identity()
except botocore.exceptions.EndpointConnectionError as exc:
    assert "127.0.0.1:9" in str(exc), exc
else:
    raise AssertionError("DAG code reached an AWS endpoint")

with DAG("probe", schedule=None):
    pass
"""


@pytest.mark.child_process
def test_dag_check_runs_without_the_deployers_credentials_or_aws(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = write(tmp_path / "credentials", "[default]\naws_access_key_id = AKIDEPLOYER\n")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEPLOYER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "deployer-secret")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_PROFILE", "default")

    result = check_dags_in_subprocess({"probe.py": PROBE_DAG.encode()}, {})

    assert result.import_errors == {}
    assert result.dag_ids == ("probe",)


def test_constraint_file_in_the_dag_folder_must_ship(
    deploy: Deploy, project: Path, s3: Any, source_bucket: str, mwaa: FakeMwaa, call_log: CallLog
) -> None:
    local = "/usr/local/airflow/dags/constraints-3.2.1/constraints-3.12.txt"
    write(project / "requirements.txt", f'--constraint "{local}"\n')

    missing = deploy("--skip-code")

    assert missing.code == EXIT_PREFLIGHT_FAILED
    assert f"constraint file {local} is not in the DAG folder" in missing.err
    assert "add dags/constraints-3.2.1/constraints-3.12.txt" in missing.err
    assert_nothing_written(s3, mwaa, call_log)

    write(project / "dags" / "constraints-3.2.1" / "constraints-3.12.txt", "boto3==1.0\n")
    shipped = deploy("--skip-code")

    assert shipped.code == 0, shipped.err
    assert "+ dags/constraints-3.2.1/constraints-3.12.txt" in shipped.out


def test_constraint_file_outside_the_dag_folder_is_refused(
    deploy: Deploy, project: Path, s3: Any, source_bucket: str, mwaa: FakeMwaa, call_log: CallLog
) -> None:
    write(project / "requirements.txt", '-c "/tmp/constraints-3.2.1/constraints-3.12.txt"\n')

    result = deploy("--skip-code")

    assert result.code == EXIT_PREFLIGHT_FAILED
    assert "outside /usr/local/airflow/dags/" in result.err
    assert_nothing_written(s3, mwaa, call_log)


def test_every_version_ships_the_same_bytes_but_requirements(tmp_path: Path) -> None:
    """One tree for every MWAA version: only requirements.txt depends on the Airflow version."""
    project = copy_real_project(tmp_path / "real")
    shutil.copytree(REPO_ROOT / "requirements" / "mwaa", project / "requirements" / "mwaa")
    shipped = {}
    for version in REQUIREMENTS_BY_AIRFLOW_VERSION:
        out = io.StringIO()
        argv = ["e", "--project-dir", str(project), "--plan-only", "--airflow-version", version]
        assert main(argv, out=out, err=io.StringIO()) == 0
        lines = out.getvalue().splitlines()
        start = lines.index(next(line for line in lines if line.startswith("  requirements.txt")))
        end = lines.index("  Glue scripts (to the stack's data bucket):")
        shipped[version] = (lines[1:start] + lines[end:], lines[start:end])
    everything_else = {version: rest for version, (rest, _) in shipped.items()}
    assert len({tuple(rest) for rest in everything_else.values()}) == 1
    assert any("sales_etl_dag.py" in line for line in everything_else["3.3.1"])
    requirements = {version: tuple(reqs) for version, (_, reqs) in shipped.items()}
    assert len(set(requirements.values())) == len(REQUIREMENTS_BY_AIRFLOW_VERSION)
