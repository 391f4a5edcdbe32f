"""A deploy switches the Glue job's code with one S3 write: stopped at any point, it leaves the
job an entry script and a library that belong together."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from deploy.cli import EXIT_OK
from tests.support.deploy_harness import REGION, Deploy, write

DATA_BUCKET = "data"
FUNCTION = "fn"
CODE_FLAGS = ("--data-bucket", DATA_BUCKET, "--lambda-function", FUNCTION)


class Killed(BaseException):
    """The deploy's process dies here: nothing after it runs, no handler sees it."""


@pytest.fixture
def code_targets(s3: Any) -> None:
    s3.create_bucket(Bucket=DATA_BUCKET)
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="fn-role", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=role,
        Handler="handler.lambda_handler",
        Code={"ZipFile": b"placeholder"},
    )


def write_job(project: Path, version: str) -> None:
    """An entry script and a library module that work only with each other's version."""
    scripts = project / "glue_scripts"
    write(
        scripts / "sales_etl_job.py",
        f"from helper import greet_{version}\nprint(greet_{version}())\n",
    )
    write(scripts / "helper.py", f"def greet_{version}():\n    return {version!r}\n")


def run_published_job(s3: Any, folder: Path) -> str:
    """Run the published pair as Glue does: the script, with the library zip on the path."""
    script, library = folder / "script" / "sales_etl_job.py", folder / "sales_etl_lib.zip"
    script.parent.mkdir(parents=True)
    for path, key in ((script, "scripts/sales_etl_job.py"), (library, "scripts/sales_etl_lib.zip")):
        path.write_bytes(s3.get_object(Bucket=DATA_BUCKET, Key=key)["Body"].read())
    # -S: without the venv's .pth, which would put this checkout's glue_scripts/ on the path.
    done = subprocess.run(
        [sys.executable, "-S", str(script)],
        env={**os.environ, "PYTHONPATH": str(library)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("stop_at", [1, 2, 3])
def test_a_deploy_stopped_at_any_glue_upload_leaves_a_working_pair(
    stop_at: int,
    deploy: Deploy,
    project: Path,
    s3: Any,
    source_bucket: str,
    code_targets: None,
    session: Any,
    tmp_path: Path,
) -> None:
    write_job(project, "v1")
    assert deploy(*CODE_FLAGS).code == EXIT_OK
    assert run_published_job(s3, tmp_path / "v1") == "v1"

    write_job(project, "v2")
    uploads: list[str] = []

    def die_at_the_nth_code_upload(params: dict[str, Any], **_: Any) -> None:
        if params["Bucket"] == DATA_BUCKET:
            uploads.append(params["Key"])
            if len(uploads) == stop_at:
                raise Killed(params["Key"])

    session.events.register("before-parameter-build.s3.PutObject", die_at_the_nth_code_upload)
    try:
        result = deploy(*CODE_FLAGS)
    except Killed:
        published = run_published_job(s3, tmp_path / "stopped")
        assert published in {"v1", "v2"}
    else:
        # Fewer code uploads than the stop point: the deploy ran to its end.
        assert result.code == EXIT_OK, result.err
        assert run_published_job(s3, tmp_path / "done") == "v2"
