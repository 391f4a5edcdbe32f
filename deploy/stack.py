"""The infrastructure stack's outputs: where the code goes, and the DAG's config Variable.

The template names its outputs after the DAG config keys in PascalCase (CloudFormation
output names cannot hold underscores): ``snake_case(OutputKey)`` is the key of the
``sales_etl_config`` Variable, so the mapping needs no table to keep in sync.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from pydantic import TypeAdapter, ValidationError

from deploy.errors import DeployError
from sales_etl.config import (
    CONFIG_VARIABLE,
    ConfigError,
    PipelineConfig,
    field_type_name,
    load_config,
)

LAMBDA_ROLE_OUTPUT = "LambdaRoleArn"
# Stable states whose outputs describe resources that exist (a rolled-back update keeps the
# previous, working resources).
USABLE_STACK_STATUSES = frozenset(
    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}
)


class StackError(DeployError):
    """The stack cannot be read or its outputs make no valid config; the message says why."""


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def stack_outputs(cfn: Any, stack_name: str) -> dict[str, str]:
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        raise StackError(f"cannot read CloudFormation stack {stack_name!r}: {exc}") from exc
    stack = stacks[0]
    status = stack.get("StackStatus", "")
    if status not in USABLE_STACK_STATUSES:
        raise StackError(
            f"stack {stack_name!r} is {status}; its outputs are usable only in one of "
            f"{sorted(USABLE_STACK_STATUSES)}"
        )
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def config_overrides(outputs: dict[str, str]) -> dict[str, Any]:
    """The Variable keys the stack decides, typed like PipelineConfig's fields.

    Outputs are strings; the Variable's numbers must be JSON numbers, so each value is
    converted to its field's type (pydantic's lax mode: ``"5"`` -> 5).
    """
    known = PipelineConfig.model_fields
    overrides = {}
    for output_key, value in outputs.items():
        key = snake_case(output_key)
        if key in known:
            try:
                overrides[key] = TypeAdapter(known[key].annotation).validate_python(value)
            except ValidationError:
                raise StackError(
                    f"output {output_key} = {value!r} is not a {field_type_name(key)}"
                ) from None
    return overrides


def config_variable(outputs: dict[str, str]) -> dict[str, Any]:
    """The full ``sales_etl_config`` Variable: defaults, overridden by the stack's outputs."""
    try:
        return load_config(config_overrides(outputs)).to_dict()
    except ConfigError as exc:
        raise StackError(f"stack outputs make an invalid {CONFIG_VARIABLE!r}: {exc}") from exc


def config_variable_json(outputs: dict[str, str]) -> str:
    return json.dumps(config_variable(outputs), indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class CodeTargets:
    """Where the Glue scripts and the Lambda code are published."""

    data_bucket: str
    lambda_function: str
    lambda_role_arn: str | None
    """None: keep the function's current role."""


def code_targets(
    outputs: dict[str, str],
    *,
    data_bucket: str | None = None,
    lambda_function: str | None = None,
    lambda_role_arn: str | None = None,
) -> CodeTargets:
    """Resolve the targets from CLI values first, then the stack outputs."""
    overrides = config_overrides(outputs)
    bucket = data_bucket or overrides.get("bucket")
    function = lambda_function or overrides.get("lambda_function")
    missing = [
        flag
        for flag, value in (("--data-bucket", bucket), ("--lambda-function", function))
        if not value
    ]
    if missing:
        raise StackError(
            "no target for the Glue scripts and Lambda code: pass --stack, or "
            f"{' and '.join(missing)} (or --skip-code to deploy only the Airflow files)"
        )
    return CodeTargets(
        data_bucket=str(bucket),
        lambda_function=str(function),
        lambda_role_arn=lambda_role_arn or outputs.get(LAMBDA_ROLE_OUTPUT),
    )
