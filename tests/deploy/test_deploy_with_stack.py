"""The real project deployed with the real template's stack (moto CloudFormation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from deploy.artifacts import build_lambda_zip, code_sha256
from deploy.stack import config_variable, snake_case
from local.repo import REPO_ROOT
from sales_etl.config import PipelineConfig, load_config
from tests.support.deploy_harness import REGION, CallLog, Deploy, copy_real_project, keys
from tests.support.mwaa_fake import FakeMwaa

STACK = "sales-etl"
TEMPLATE = REPO_ROOT / "infra" / "sales-etl.yaml"


@pytest.fixture
def stack_outputs(aws_env: None) -> dict[str, str]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(
        StackName=STACK,
        TemplateBody=TEMPLATE.read_text(),
        Capabilities=["CAPABILITY_IAM"],
        Parameters=[{"ParameterKey": "DataBucketName", "ParameterValue": "sales-etl-data-test"}],
    )
    stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def printed_variable(out: str) -> dict[str, Any]:
    marker = f"for stack {STACK}:\n"
    assert marker in out, out
    return json.loads(out.split(marker, 1)[1])


@pytest.mark.filterwarnings("ignore:Tried to parse AWS::")  # moto: see test_infra_template
def test_real_project_deploys_code_and_prints_the_config_variable(
    deploy: Deploy,
    tmp_path: Path,
    s3: Any,
    source_bucket: str,
    mwaa: FakeMwaa,
    stack_outputs: dict[str, str],
    call_log: CallLog,
) -> None:
    project = copy_real_project(tmp_path / "real")
    lambda_client = boto3.client("lambda", region_name=REGION)
    function = stack_outputs["LambdaFunction"]
    stack_env = lambda_client.get_function(FunctionName=function)["Configuration"]["Environment"]

    result = deploy("--stack", STACK, project_dir=project)

    assert result.code == 0, result.err + result.out
    data_bucket = stack_outputs["Bucket"]
    assert keys(s3, data_bucket) == ["scripts/sales_etl_job.py", "scripts/sales_etl_lib.zip"]
    config = lambda_client.get_function(FunctionName=function)["Configuration"]
    assert config["CodeSha256"] == code_sha256(build_lambda_zip(project / "lambdas/post_process"))
    assert (config["Handler"], config["Runtime"]) == ("handler.lambda_handler", "python3.12")
    assert config["Role"] == stack_outputs["LambdaRoleArn"]
    # The stack owns the function's settings: the deploy changed only its code.
    assert config["Environment"] == stack_env
    assert (config["Timeout"], config["MemorySize"]) == (300, 256)
    assert "dags/sales_etl_dag.py" in keys(s3, source_bucket)

    variable = printed_variable(result.out)
    assert set(variable) == set(PipelineConfig.model_fields)
    assert load_config(variable).to_dict() == variable
    assert variable["bucket"] == data_bucket == "sales-etl-data-test"
    assert variable["glue_role_arn"] == stack_outputs["GlueRoleArn"]
    assert variable["lambda_function"] == function
    assert variable["max_quarantine_ratio"] == 0.05
    assert variable == config_variable(stack_outputs)

    # Again, writing the Variable to a file: nothing changes anywhere.
    call_log.clear()
    out_file = tmp_path / "sales_etl_config.json"
    again = deploy("--stack", STACK, "--config-out", str(out_file), project_dir=project)
    assert again.code == 0, again.err
    assert "nothing to deploy" in again.out
    assert call_log.writes == []
    assert json.loads(out_file.read_text()) == variable


def test_template_outputs_cover_the_config_keys_the_stack_decides() -> None:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    # Short-form intrinsics (!Ref, !Sub ...) are irrelevant here: load them as plain values.
    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    outputs = yaml.load(TEMPLATE.read_text(), Loader=Loader)["Outputs"]

    config_keys = set(PipelineConfig.model_fields)
    from_stack = {snake_case(name) for name in outputs} & config_keys
    assert from_stack == {
        "bucket",
        "glue_database",
        "raw_crawler",
        "raw_table_prefix",
        "glue_job",
        "glue_role_arn",
        "lambda_function",
        "max_quarantine_ratio",
        "alert_topic_arn",
        "glue_version",
        "athena_workgroup",
        "athena_results_prefix",
    }
    for name, output in outputs.items():
        if snake_case(name) in config_keys:
            assert output["Description"] == f"config key: {snake_case(name)}"
