"""A deploy into a shared MWAA environment deletes only its own objects and ships only the
project's own files, exactly the bytes its pre-flight checked."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deploy.cli import EXIT_OK, EXIT_PREFLIGHT_FAILED
from deploy.s3_objects import OWNER_METADATA
from tests.support.deploy_harness import CallLog, Deploy, OkChecker, keys, object_versions, write
from tests.support.mwaa_fake import FakeMwaa

OTHER_TEAMS = {
    "dags/team_b_dag.py": {},  # uploaded by hand or another tool: no owner recorded
    "dags/team_c/etl.py": {OWNER_METADATA: "team_c"},
}


def put_other_teams_dags(s3: Any, bucket: str) -> None:
    for key, metadata in OTHER_TEAMS.items():
        s3.put_object(Bucket=bucket, Key=key, Body=b"other team", Metadata=metadata)


def test_other_owners_dag_objects_survive_a_deploy(
    deploy: Deploy, s3: Any, source_bucket: str
) -> None:
    put_other_teams_dags(s3, source_bucket)

    result = deploy("--skip-code")

    assert result.code == EXIT_OK, result.err
    assert set(OTHER_TEAMS) <= set(keys(s3, source_bucket))
    for key in OTHER_TEAMS:
        assert f"= {key} (not ours, kept)" in result.out


def test_only_our_files_that_left_the_tree_are_deleted(
    deploy: Deploy, project: Path, s3: Any, source_bucket: str, call_log: CallLog
) -> None:
    put_other_teams_dags(s3, source_bucket)
    assert deploy("--skip-code").code == EXIT_OK
    (project / "dags" / "sql" / "daily.sql").unlink()
    call_log.clear()

    result = deploy("--skip-code")

    assert result.code == EXIT_OK, result.err
    assert call_log.writes == ["s3:DeleteObject"]
    assert "- dags/sql/daily.sql" in result.out
    assert "dags/sql/daily.sql" not in keys(s3, source_bucket)
    assert set(OTHER_TEAMS) <= set(keys(s3, source_bucket))


def empty_the_dag_folder(project: Path) -> None:
    for path in (project / "dags").rglob("*"):
        if path.is_file() and path.name != ".airflowignore":
            path.unlink()


def ignore_everything(project: Path) -> None:
    write(project / "dags" / ".airflowignore", "*\n")


@pytest.mark.parametrize("emptied", [empty_the_dag_folder, ignore_everything])
def test_a_dag_folder_with_nothing_to_ship_is_refused_with_nothing_written(
    emptied: Any,
    deploy: Deploy,
    project: Path,
    s3: Any,
    source_bucket: str,
    mwaa: FakeMwaa,
    call_log: CallLog,
) -> None:
    assert deploy("--skip-code").code == EXIT_OK
    before = object_versions(s3, source_bucket)
    emptied(project)
    call_log.clear()

    result = deploy("--skip-code")

    assert result.code == EXIT_PREFLIGHT_FAILED
    assert "no Python file to ship" in result.err
    assert "--allow-empty-dags" in result.err
    assert "- dags/etl_dag.py" in result.out  # the plan shows what it would have deleted
    assert call_log.writes == []
    assert object_versions(s3, source_bucket) == before
    assert len(mwaa.updates) == 1


def test_allow_empty_dags_retires_only_our_dags(
    deploy: Deploy, project: Path, s3: Any, source_bucket: str
) -> None:
    put_other_teams_dags(s3, source_bucket)
    assert deploy("--skip-code").code == EXIT_OK
    empty_the_dag_folder(project)

    result = deploy("--skip-code", "--allow-empty-dags")

    assert result.code == EXIT_OK, result.err
    dag_keys = [k for k in keys(s3, source_bucket) if k.startswith("dags/")]
    assert dag_keys == sorted(["dags/.airflowignore", *OTHER_TEAMS])


def test_more_deletes_than_the_limit_are_refused_unless_allowed(
    deploy: Deploy, project: Path, s3: Any, source_bucket: str, call_log: CallLog
) -> None:
    for n in range(6):
        write(project / "dags" / "generated" / f"dag_{n}.py", f"# dag {n}\n")
    assert deploy("--skip-code").code == EXIT_OK
    for path in (project / "dags" / "generated").iterdir():
        path.unlink()
    before = object_versions(s3, source_bucket)
    call_log.clear()

    refused = deploy("--skip-code")
    dry_run = deploy("--skip-code", "--dry-run")

    assert refused.code == EXIT_PREFLIGHT_FAILED
    assert "deletes 6 objects of ours from the DAG folder, more than 5" in refused.err
    assert "--max-deletes 6" in refused.err
    assert dry_run.code == EXIT_PREFLIGHT_FAILED  # a dry run says the real run would refuse
    assert "- dags/generated/dag_5.py" in dry_run.out
    assert "deletes 6 objects" in dry_run.err
    assert call_log.writes == []
    assert object_versions(s3, source_bucket) == before

    allowed = deploy("--skip-code", "--max-deletes", "6")

    assert allowed.code == EXIT_OK, allowed.err
    assert not [k for k in keys(s3, source_bucket) if k.startswith("dags/generated/")]


@pytest.mark.parametrize("in_dag_folder", [True, False])
def test_environment_files_under_the_dag_prefix_are_never_deleted(
    in_dag_folder: bool,
    deploy: Deploy,
    s3: Any,
    source_bucket: str,
    mwaa: FakeMwaa,
) -> None:
    # Some environments keep plugins.zip and requirements.txt inside the DAG folder.
    mwaa.environment["PluginsS3Path"] = "dags/plugins.zip"
    mwaa.environment["RequirementsS3Path"] = "dags/requirements.txt"
    if in_dag_folder:  # and even one we uploaded with our owner mark stays
        s3.put_object(
            Bucket=source_bucket,
            Key="dags/startup.sh",
            Body=b"#!/bin/sh\n",
            Metadata={OWNER_METADATA: "sales_etl"},
        )
        mwaa.environment["StartupScriptS3Path"] = "dags/startup.sh"

    for _ in range(3):
        result = deploy("--skip-code")
        assert result.code == EXIT_OK, result.err

    remaining = keys(s3, source_bucket)
    assert {"dags/plugins.zip", "dags/requirements.txt"} <= set(remaining)
    assert "= dags/plugins.zip (environment file, kept)" in result.out
    if in_dag_folder:
        assert "dags/startup.sh" in remaining


def outside_secret(tmp_path: Path) -> Path:
    return write(tmp_path / "home" / ".aws" / "credentials", "[default]\nsecret = x\n")


CODE_FLAGS = ["--data-bucket", "data", "--lambda-function", "fn"]
# Each folder whose files ship, and the flags of a deploy that ships them.
SHIPPED_FOLDERS = [
    ("dags", ["--skip-code"]),
    ("plugins/teamlib", ["--skip-code"]),
    ("glue_scripts", CODE_FLAGS),
    ("lambdas/post_process", CODE_FLAGS),
]


def plant_symlink_outside(folder: Path, tmp_path: Path) -> list[str]:
    link = folder / "creds.py"
    link.symlink_to(outside_secret(tmp_path))
    return [f"{link} resolves to", "outside the project root"]


def plant_name_not_utf8(folder: Path, tmp_path: Path) -> list[str]:
    # S3 keys and zip member names are UTF-8: such a name used to pass pre-flight and fail the
    # DAG upload after UpdateEnvironment had restarted the environment.
    write(folder / os.fsdecode(b"caf\xe9.py"), "VALUE = 1\n")  # Latin-1, as old tools write
    return [f"{folder}/caf\\xe9.py: the file name is not UTF-8"]


@pytest.mark.parametrize("plant", [plant_symlink_outside, plant_name_not_utf8])
@pytest.mark.parametrize(("folder", "flags"), [*SHIPPED_FOLDERS, ("dags/helpers", ["--skip-code"])])
def test_a_file_that_cannot_ship_is_refused_by_name_before_anything_is_written(
    plant: Callable[[Path, Path], list[str]],
    folder: str,
    flags: list[str],
    deploy: Deploy,
    project: Path,
    tmp_path: Path,
    s3: Any,
    source_bucket: str,
    mwaa: FakeMwaa,
    call_log: CallLog,
) -> None:
    s3.create_bucket(Bucket="data")
    expected = plant(project / folder, tmp_path)

    result = deploy(*flags)

    assert result.code == EXIT_PREFLIGHT_FAILED, result.err
    assert [text for text in expected if text not in result.err] == []
    assert call_log.writes == [] and mwaa.updates == []
    assert object_versions(s3, source_bucket) == []


def test_a_symlinked_folder_outside_the_project_is_refused(
    deploy: Deploy, project: Path, tmp_path: Path, source_bucket: str, call_log: CallLog
) -> None:
    outside_secret(tmp_path)
    (project / "dags" / "aws").symlink_to(tmp_path / "home" / ".aws", target_is_directory=True)

    result = deploy("--skip-code")

    assert result.code == EXIT_PREFLIGHT_FAILED
    assert f"{project / 'dags' / 'aws'} resolves to" in result.err
    assert call_log.writes == []


def test_a_symlink_inside_the_project_ships_its_target(
    deploy: Deploy, project: Path, s3: Any, source_bucket: str
) -> None:
    write(project / "shared" / "common.py", "SHARED = 1\n")
    (project / "dags" / "common.py").symlink_to(project / "shared" / "common.py")
    (project / "dags" / "shared").symlink_to(project / "shared", target_is_directory=True)

    result = deploy("--skip-code")

    assert result.code == EXIT_OK, result.err
    for key in ("dags/common.py", "dags/shared/common.py"):
        assert s3.get_object(Bucket=source_bucket, Key=key)["Body"].read() == b"SHARED = 1\n"


def test_unreadable_files_are_clear_errors_before_anything_is_written(
    deploy: Deploy, project: Path, source_bucket: str, call_log: CallLog, mwaa: FakeMwaa
) -> None:
    (project / "dags" / "gone.py").symlink_to(project / "dags" / "deleted_meanwhile.py")

    result = deploy("--skip-code")

    assert result.code == EXIT_PREFLIGHT_FAILED
    assert f"cannot read {project / 'dags' / 'gone.py'}: No such file or directory" in result.err
    (project / "dags" / "gone.py").unlink()
    (project / "dags" / ".airflowignore").write_bytes(b"scratch/\n\xff\xfe\n")

    result = deploy("--skip-code")

    assert result.code == EXIT_PREFLIGHT_FAILED
    assert f"{project / 'dags' / '.airflowignore'} is not UTF-8 text" in result.err
    assert call_log.writes == [] and mwaa.updates == []


def test_files_changed_or_removed_during_the_deploy_ship_the_checked_bytes(
    deploy: Deploy,
    project: Path,
    s3: Any,
    source_bucket: str,
    session: Any,
    ok_checker: OkChecker,
) -> None:
    dag = project / "dags" / "etl_dag.py"
    checked = dag.read_bytes()

    removed = project / "dags" / "helpers" / "util.py"

    def edit_tree_at_first_upload(**_: Any) -> None:
        if removed.exists():
            dag.write_text("edited after the check\n")
            os.remove(removed)

    session.events.register("before-call.s3.PutObject", edit_tree_at_first_upload)

    result = deploy("--skip-code")

    assert result.code == EXIT_OK, result.err
    assert s3.get_object(Bucket=source_bucket, Key="dags/etl_dag.py")["Body"].read() == checked
    assert s3.get_object(Bucket=source_bucket, Key="dags/helpers/util.py")["Body"].read() == (
        b"VALUE = 1\n"
    )
    assert "deployed: 6 object(s) uploaded" in result.out
