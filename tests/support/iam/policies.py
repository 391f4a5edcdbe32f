"""infra/sales-etl.yaml's IAM policies, rendered for the local endpoint's account and names.

The template is loaded by cfn-lint (which keeps the intrinsic functions as ``Ref``/``Fn::*``
keys); the few intrinsics the policies use are resolved here for account 123456789012
(moto's), region us-east-1, the local bucket and the names ``local.provision`` creates.
An intrinsic or reference this renderer does not know is an error, never left in place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from cfnlint.decode import decode

from local.aws_local import (
    ALERT_TOPIC,
    GLUE_ROLE,
    LAMBDA_ROLE_PRINCIPAL,
    MWAA_EXECUTION_ROLE,
    REGION,
)
from local.provision import LAMBDA_EXECUTION_ROLE_NAME
from local.repo import REPO_ROOT
from local.stack_config import LOCAL_ACCOUNT_ID
from sales_etl.config import PipelineConfig

TEMPLATE = REPO_ROOT / "infra" / "sales-etl.yaml"
PARTITION = "aws"
_NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")

Policy = dict[str, Any]


class RenderError(ValueError):
    """The template uses something this renderer cannot resolve; the message names it."""


def _template() -> dict[str, Any]:
    template, problems = decode(str(TEMPLATE))
    if problems:
        raise RenderError(f"{TEMPLATE} does not load: {problems}")
    return template


def render_properties(cfg: PipelineConfig, logical_id: str) -> dict[str, Any]:
    """One resource's ``Properties``, fully resolved (the Glue job and crawlers, say)."""
    template = _template()
    return _Renderer(template, cfg).resolve(template["Resources"][logical_id]["Properties"])


def render_role_policies(cfg: PipelineConfig) -> dict[str, list[Policy]]:
    """Principal (``local.aws_local``'s names) -> its policy documents, fully resolved."""
    template = _template()
    renderer = _Renderer(template, cfg)
    resources = template["Resources"]

    def inline(role: str) -> list[Policy]:
        return [
            renderer.resolve(p["PolicyDocument"]) for p in resources[role]["Properties"]["Policies"]
        ]

    def for_mwaa_role() -> list[Policy]:
        """Every managed policy the stack attaches to the MWAA execution role (when created)."""
        return [
            renderer.resolve(resource["Properties"]["PolicyDocument"])
            for resource in resources.values()
            if resource["Type"] == "AWS::IAM::ManagedPolicy"
            and "MwaaExecutionRoleName" in json.dumps(resource["Properties"].get("Roles"))
            and renderer.holds(resource.get("Condition"))
        ]

    return {
        MWAA_EXECUTION_ROLE: for_mwaa_role(),
        GLUE_ROLE: inline("GlueRole"),
        LAMBDA_ROLE_PRINCIPAL: inline("LambdaRole"),
    }


class _Renderer:
    def __init__(self, template: Mapping[str, Any], cfg: PipelineConfig) -> None:
        self._conditions = template.get("Conditions", {})
        account, region = LOCAL_ACCOUNT_ID, REGION
        # The parameters that make the stack match the local endpoint's provisioning.
        overrides = {
            "DataBucketName": cfg.bucket,
            "GlueDatabaseName": cfg.glue_database,
            "RawCrawlerName": cfg.raw_crawler,
            "GlueJobName": cfg.glue_job,
            "GlueVersion": cfg.glue_version,
            "LambdaFunctionName": cfg.lambda_function,
            "CreateAlertTopic": "true",  # local.provision creates the alert topic
        }
        self._refs: dict[str, Any] = {
            name: str(overrides.get(name, spec.get("Default", "")))
            for name, spec in template["Parameters"].items()
        }
        self._refs.update(
            {
                "AWS::AccountId": account,
                "AWS::Region": region,
                "AWS::Partition": PARTITION,
                "AWS::NoValue": _NO_VALUE,
                "DataBucket": cfg.bucket,
                "PostProcessFunction": cfg.lambda_function,
                "AlertTopic": f"arn:{PARTITION}:sns:{region}:{account}:{ALERT_TOPIC}",
            }
        )
        logs = f"arn:{PARTITION}:logs:{region}:{account}"
        # Return values from each resource type's "Fn::GetAtt" section in the CloudFormation
        # resource reference (a log group's Arn ends in ":*").
        self._attributes = {
            "DataBucket.Arn": f"arn:{PARTITION}:s3:::{cfg.bucket}",
            "GlueRole.Arn": cfg.glue_role_arn,
            "LambdaRole.Arn": f"arn:{PARTITION}:iam::{account}:role/{LAMBDA_EXECUTION_ROLE_NAME}",
            "LambdaLogGroup.Arn": f"{logs}:log-group:/aws/lambda/{cfg.lambda_function}:*",
            "PostProcessFunction.Arn": (
                f"arn:{PARTITION}:lambda:{region}:{account}:function:{cfg.lambda_function}"
            ),
        }

    def resolve(self, node: Any) -> Any:
        if isinstance(node, Mapping):
            if len(node) == 1:
                ((key, value),) = node.items()
                if key == "Ref":
                    return self._ref(value)
                if key.startswith("Fn::"):
                    return self._function(key, value)
            resolved = {str(k): self.resolve(v) for k, v in node.items()}
            return {k: v for k, v in resolved.items() if v is not _NO_VALUE}
        if isinstance(node, list):
            return [v for v in map(self.resolve, node) if v is not _NO_VALUE]
        return node if not isinstance(node, str) else str(node)

    def _ref(self, name: str) -> Any:
        if name not in self._refs:
            raise RenderError(f"Ref {name} is not known to the local policy renderer")
        return self._refs[name]

    def _attribute(self, name: str) -> str:
        if name not in self._attributes:
            raise RenderError(f"Fn::GetAtt {name} is not known to the local policy renderer")
        return self._attributes[name]

    def _function(self, name: str, args: Any) -> Any:
        if name == "Fn::GetAtt":
            return self._attribute(args if isinstance(args, str) else ".".join(args))
        if name == "Fn::Sub":
            text, variables = (args, {}) if isinstance(args, str) else args
            values = {k: self.resolve(v) for k, v in variables.items()}
            return _SUB_VARIABLE.sub(lambda m: self._sub_value(m[1], values), text)
        if name == "Fn::If":
            condition, when_true, when_false = args
            return self.resolve(when_true if self._condition(condition) else when_false)
        raise RenderError(f"{name} is not supported by the local policy renderer")

    def _sub_value(self, name: str, values: Mapping[str, Any]) -> str:
        if name in values:
            return str(values[name])
        return self._attribute(name) if "." in name else str(self._ref(name))

    def holds(self, condition: str | None) -> bool:
        """Whether a resource's ``Condition`` (None: unconditional) holds for these parameters."""
        return condition is None or self._condition(condition)

    def _condition(self, name: str) -> bool:
        return self._evaluate(self._conditions[name])

    def _evaluate(self, node: Mapping[str, Any]) -> bool:
        ((key, args),) = node.items()
        if key == "Fn::Equals":
            left, right = (self.resolve(a) for a in args)
            return bool(left == right)
        if key == "Fn::Not":
            return not self._evaluate(args[0])
        if key == "Fn::And":
            return all(self._evaluate(a) for a in args)
        if key == "Fn::Or":
            return any(self._evaluate(a) for a in args)
        if key == "Condition":
            return self._condition(args)
        raise RenderError(f"condition function {key} is not supported by the local renderer")
