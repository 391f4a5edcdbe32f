"""`python -m deploy` against moto S3 (versioned) and the fake MWAA: what gets written, when."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.deploy_harness import (
    CallLog,
    Deploy,
    OkChecker,
    keys,
    latest_version,
    object_versions,
    write,
)
from tests.support.mwaa_fake import ENV_NAME, FakeMwaa

EXPECTED_DAG_KEYS = [
    "dags/.airflowignore",
    "dags/etl_dag.py",
    "dags/helpers/util.py",
    "dags/sql/daily.sql",
]


def test_first_deploy_uploads_everything_and_updates_the_environment(
    deploy: Deploy, s3: Any, source_bucket: str, mwaa: FakeMwaa, ok_checker: OkChecker
) -> None:
    result = deploy("--skip-code")

    assert result.code == 0, result.err
    assert keys(s3, source_bucket) == sorted(
        [*EXPECTED_DAG_KEYS, "plugins.zip", "requirements.txt"]
    )
    assert mwaa.updates == [
        {
            "Name": ENV_NAME,
            "PluginsS3Path": "plugins.zip",
            "PluginsS3ObjectVersion": latest_version(s3, source_bucket, "plugins.zip"),
            "RequirementsS3Path": "requirements.txt",
            "RequirementsS3ObjectVersion": latest_version(s3, source_bucket, "requirements.txt"),
        }
    ]
    # The import check loaded exactly the files that ship.
    dag_files, plugin_files = ok_checker.seen[0]
    assert ["dags/" + f for f in dag_files] == EXPECTED_DAG_KEYS
    assert plugin_files == [".airflowignore", "teamlib/__init__.py"]
    for key in EXPECTED_DAG_KEYS:
        assert f"uploaded s3://{source_bucket}/{key}" in result.out
    assert "UpdateEnvironment called" in result.out


def test_second_deploy_without_changes_writes_nothing(
    deploy: Deploy, s3: Any, source_bucket: str, mwaa: FakeMwaa, call_log: CallLog
) -> None:
    assert deploy("--skip-code").code == 0
    before = object_versions(s3, source_bucket)
    call_log.clear()

    result = deploy("--skip-code")

    assert result.code == 0, result.err
    assert "nothing to deploy" in result.out
    assert call_log.writes == []
    assert object_versions(s3, source_bucket) == before
    assert len(mwaa.updates) == 1


def test_changed_dag_file_uploads_only_that_file(
    deploy: Deploy, project: Path, s3: Any, source_bucket: str, mwaa: FakeMwaa, call_log: CallLog
) -> None:
    assert deploy("--skip-code").code == 0
    write(project / "dags" / "etl_dag.py", "from airflow.sdk import DAG\n# dag one, v2\n")
    call_log.clear()

    result = deploy("--skip-code")

    assert result.code == 0, result.err
    assert call_log.writes == ["s3:PutObject"]
    assert "~ dags/etl_dag.py" in result.out
    body = s3.get_object(Bucket=source_bucket, Key="dags/etl_dag.py")["Body"].read()
    assert body == (project / "dags" / "etl_dag.py").read_bytes()
    assert len(mwaa.updates) == 1  # DAG files need no UpdateEnvironment


def test_deleted_file_is_deleted_and_keys_outside_the_dag_folder_are_untouched(
    deploy: Deploy, project: Path, s3: Any, source_bucket: str, call_log: CallLog
) -> None:
    outside = {"dags-archive/old_dag.py": b"old", "dagsfile.py": b"x", "other/keep.txt": b"k"}
    for key, body in outside.items():
        s3.put_object(Bucket=source_bucket, Key=key, Body=body)
    assert deploy("--skip-code").code == 0
    outside_before = [v for v in object_versions(s3, source_bucket) if v[0] in outside]
    (project / "dags" / "helpers" / "util.py").unlink()
    call_log.clear()

    result = deploy("--skip-code")

    assert result.code == 0, result.err
    assert call_log.writes == ["s3:DeleteObject"]
    assert "- dags/helpers/util.py" in result.out
    remaining = keys(s3, source_bucket)
    assert "dags/helpers/util.py" not in remaining
    assert set(outside) <= set(remaining)
    assert [v for v in object_versions(s3, source_bucket) if v[0] in outside] == outside_before


def test_changed_plugin_passes_the_new_plugins_version_to_update_environment(
    deploy: Deploy, project: Path, s3: Any, source_bucket: str, mwaa: FakeMwaa
) -> None:
    assert deploy("--skip-code").code == 0
    first_plugins = latest_version(s3, source_bucket, "plugins.zip")
    first_requirements = latest_version(s3, source_bucket, "requirements.txt")
    write(project / "plugins" / "teamlib" / "__init__.py", "NAME = 'teamlib v2'\n")

    result = deploy("--skip-code")

    assert result.code == 0, result.err
    new_plugins = latest_version(s3, source_bucket, "plugins.zip")
    assert new_plugins != first_plugins
    assert mwaa.updates[-1] == {
        "Name": ENV_NAME,
        "PluginsS3Path": "plugins.zip",
        "PluginsS3ObjectVersion": new_plugins,
    }
    assert mwaa.environment["RequirementsS3ObjectVersion"] == first_requirements


def test_failed_update_is_retried_by_the_next_deploy_without_reupload(
    deploy: Deploy, s3: Any, source_bucket: str, mwaa: FakeMwaa, call_log: CallLog
) -> None:
    mwaa.fail_next_update = "service unavailable"
    failed = deploy("--skip-code")
    assert failed.code == 1
    assert "deploy failed" in failed.err and "service unavailable" in failed.err
    assert mwaa.updates == []
    # The update happens before the DAG files: the folder is still on the old version.
    assert not [k for k in keys(s3, source_bucket) if k.startswith("dags/")]
    call_log.clear()

    retried = deploy("--skip-code")

    assert retried.code == 0, retried.err
    assert [c for c in call_log.writes if c != "s3:PutObject"] == ["mwaa:UpdateEnvironment"]
    assert mwaa.updates[0]["PluginsS3ObjectVersion"] == latest_version(
        s3, source_bucket, "plugins.zip"
    )
    assert call_log.writes.count("s3:PutObject") == len(EXPECTED_DAG_KEYS)


def test_dry_run_prints_the_plan_and_changes_nothing(
    deploy: Deploy, project: Path, s3: Any, source_bucket: str, mwaa: FakeMwaa, call_log: CallLog
) -> None:
    assert deploy("--skip-code").code == 0
    write(project / "dags" / "etl_dag.py", "from airflow.sdk import DAG\n# changed\n")
    write(project / "dags" / "new_dag.py", "from airflow.sdk import DAG\n# new\n")
    (project / "dags" / "sql" / "daily.sql").unlink()
    write(project / "plugins" / "teamlib" / "__init__.py", "NAME = 'changed'\n")
    before = object_versions(s3, source_bucket)
    call_log.clear()

    result = deploy("--skip-code", "--dry-run")

    assert result.code == 0, result.err
    for line in (
        "+ dags/new_dag.py",
        "~ dags/etl_dag.py",
        "- dags/sql/daily.sql",
        "= 2 unchanged",
        "plugins.zip s3://mwaa-source-bucket/plugins.zip: upload (content changed)",
        "UpdateEnvironment: yes (PluginsS3ObjectVersion)",
        "dry run: nothing was changed",
    ):
        assert line in result.out
    assert call_log.writes == []
    assert object_versions(s3, source_bucket) == before
    assert len(mwaa.updates) == 1


def test_startup_script_is_versioned_like_plugins(
    deploy: Deploy, tmp_path: Path, s3: Any, source_bucket: str, mwaa: FakeMwaa
) -> None:
    script = write(tmp_path / "startup.sh", "#!/bin/sh\nexport X=1\n")
    assert deploy("--skip-code", "--startup-script", str(script)).code == 0
    assert mwaa.updates[0]["StartupScriptS3Path"] == "startup.sh"
    assert mwaa.updates[0]["StartupScriptS3ObjectVersion"] == latest_version(
        s3, source_bucket, "startup.sh"
    )

    again = deploy("--skip-code", "--startup-script", str(script))
    assert "nothing to deploy" in again.out
    assert len(mwaa.updates) == 1


def test_path_overrides_redirect_the_sync(
    deploy: Deploy, s3: Any, source_bucket: str, mwaa: FakeMwaa
) -> None:
    result = deploy("--skip-code", "--dags-path", "team/dags/", "--plugins-path", "team/p.zip")

    assert result.code == 0, result.err
    assert [k for k in keys(s3, source_bucket) if "dags" in k] == [
        "team/" + k for k in EXPECTED_DAG_KEYS
    ]
    assert mwaa.updates[0]["PluginsS3Path"] == "team/p.zip"
    assert (
        "WARNING: the environment reads DAGs from s3://mwaa-source-bucket/dags/, "
        "this deploy writes them to s3://mwaa-source-bucket/team/dags/"
    ) in result.out


def test_environment_without_plugins_path_gets_one(
    deploy: Deploy, s3: Any, source_bucket: str, mwaa: FakeMwaa
) -> None:
    del mwaa.environment["PluginsS3Path"]

    assert deploy("--skip-code").code == 0

    assert mwaa.updates[0]["PluginsS3Path"] == "plugins.zip"
    assert mwaa.environment["PluginsS3ObjectVersion"] == latest_version(
        s3, source_bucket, "plugins.zip"
    )


def test_same_bytes_reuploaded_by_hand_do_not_restart_the_environment(
    deploy: Deploy, s3: Any, source_bucket: str, mwaa: FakeMwaa
) -> None:
    assert deploy("--skip-code").code == 0
    running = mwaa.environment["PluginsS3ObjectVersion"]
    body = s3.get_object(Bucket=source_bucket, Key="plugins.zip")["Body"].read()
    s3.put_object(Bucket=source_bucket, Key="plugins.zip", Body=body)  # no hash metadata
    assert latest_version(s3, source_bucket, "plugins.zip") != running

    result = deploy("--skip-code")

    assert result.code == 0, result.err
    assert "nothing to deploy" in result.out
    assert len(mwaa.updates) == 1
