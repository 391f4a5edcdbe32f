"""Stack outputs -> the DAG's config Variable and the code targets; artifact planning helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deploy.artifacts import glue_script_objects, in_upload_order, publish_glue_scripts
from deploy.s3_objects import object_has_content
from deploy.stack import (
    StackError,
    code_targets,
    config_overrides,
    config_variable,
    snake_case,
    stack_outputs,
)
from tests.support.deploy_harness import write


@pytest.mark.parametrize(
    ("output", "key"),
    [
        ("Bucket", "bucket"),
        ("GlueRoleArn", "glue_role_arn"),
        ("MaxQuarantineRatio", "max_quarantine_ratio"),
        ("RawTablePrefix", "raw_table_prefix"),
    ],
)
def test_output_names_map_to_config_keys(output: str, key: str) -> None:
    assert snake_case(output) == key


def test_outputs_are_typed_and_unrelated_outputs_ignored() -> None:
    overrides = config_overrides(
        {"Bucket": "data", "MaxQuarantineRatio": "0.1", "MwaaExecutionPolicyArn": "arn:x"}
    )
    assert overrides == {"bucket": "data", "max_quarantine_ratio": 0.1}


def test_invalid_output_names_the_key() -> None:
    with pytest.raises(StackError, match="config key 'bucket' must be a valid S3 bucket name"):
        config_variable({"Bucket": "Not_A_Bucket"})
    with pytest.raises(StackError, match="output MaxQuarantineRatio = 'lots' is not a float"):
        config_variable({"MaxQuarantineRatio": "lots"})


class StubCloudFormation:
    def __init__(self, status: str) -> None:
        self.status = status

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        outputs = [{"OutputKey": "Bucket", "OutputValue": "data"}]
        return {"Stacks": [{"StackStatus": self.status, "Outputs": outputs}]}


def test_only_stable_stacks_are_used() -> None:
    assert stack_outputs(StubCloudFormation("UPDATE_ROLLBACK_COMPLETE"), "s") == {"Bucket": "data"}
    for status in ("ROLLBACK_COMPLETE", "UPDATE_IN_PROGRESS", "DELETE_COMPLETE"):
        with pytest.raises(StackError, match=f"stack 's' is {status}"):
            stack_outputs(StubCloudFormation(status), "s")


def test_cli_values_win_over_stack_outputs() -> None:
    outputs = {"Bucket": "stack-bucket", "LambdaFunction": "fn", "LambdaRoleArn": "arn:role"}
    targets = code_targets(outputs, data_bucket="cli-bucket")
    assert (targets.data_bucket, targets.lambda_function, targets.lambda_role_arn) == (
        "cli-bucket",
        "fn",
        "arn:role",
    )
    with pytest.raises(StackError, match="--data-bucket and --lambda-function"):
        code_targets({})


def test_glue_planning_helpers_agree_with_the_publisher(s3: Any, tmp_path: Path) -> None:
    write(tmp_path / "sales_etl_job.py", "import helper\n")
    write(tmp_path / "helper.py", "X = 1\n")
    s3.create_bucket(Bucket="data")
    objects = glue_script_objects(tmp_path)
    assert not any(object_has_content(s3, "data", key, body) for key, body, _ in objects)

    published = publish_glue_scripts(s3, "data", tmp_path)

    assert [key for key, _, _ in in_upload_order(objects)] == list(published.uploaded)
    assert all(object_has_content(s3, "data", key, body) for key, body, _ in objects)
    write(tmp_path / "helper.py", "X = 2\n")
    stale = [
        k for k, b, _ in glue_script_objects(tmp_path) if not object_has_content(s3, "data", k, b)
    ]
    assert stale == ["scripts/sales_etl_lib.zip"]
