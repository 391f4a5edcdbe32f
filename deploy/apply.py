"""Carry out a DeployPlan, reporting each write as it happens.

Order: the code the new DAG calls (Glue scripts, Lambda) first, then the environment's
versioned files and UpdateEnvironment, and the DAG files last, so a failure part-way leaves
the DAG folder on the old version rather than new DAGs without their plugins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deploy.artifacts import publish_lambda
from deploy.errors import DeployError
from deploy.plan import CodePlan, DeployPlan
from deploy.s3_objects import put_with_hash

Report = Callable[[str], None]

LAMBDA_HANDLER = "handler.lambda_handler"
LAMBDA_RUNTIME = "python3.12"


@dataclass
class DeployOutcome:
    """What a deploy actually changed (filled in as it goes, so a failure can say how far)."""

    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    """UpdateEnvironment parameters sent, empty when it was not called."""
    lambda_updated: bool = False

    def describe(self) -> str:
        parts = [f"{len(self.uploaded)} object(s) uploaded", f"{len(self.deleted)} deleted"]
        if self.lambda_updated:
            parts.append("Lambda updated")
        if self.versions:
            sent = ", ".join(f"{k}={v}" for k, v in sorted(self.versions.items()))
            parts.append(f"UpdateEnvironment called ({sent})")
        else:
            parts.append("UpdateEnvironment not needed")
        return "; ".join(parts)


class ApplyError(DeployError):
    """A write step cannot go on; the message says which."""


def _apply_code(
    code: CodePlan, s3: Any, lambda_client: Any, report: Report, outcome: DeployOutcome
) -> None:
    """Publish the Glue scripts and the Lambda code."""
    bucket = code.targets.data_bucket
    for key, body, content_type in code.glue_uploads:
        put_with_hash(s3, bucket, key, body, content_type)
        outcome.uploaded.append(f"s3://{bucket}/{key}")
        report(f"uploaded s3://{bucket}/{key}")
    if not (code.lambda_code_changed or code.lambda_role_change):
        return
    current = code.lambda_config
    report(f"updating Lambda {code.targets.lambda_function} ...")
    # The stack owns the function's settings: pass them through so only the code (and the
    # role, when the stack's role changed) is updated.
    publish_lambda(
        lambda_client,
        code.targets.lambda_function,
        code.targets.lambda_role_arn or current["Role"],
        code.lambda_zip,
        handler=LAMBDA_HANDLER,
        runtime=LAMBDA_RUNTIME,
        timeout=current["Timeout"],
        memory=current["MemorySize"],
        environment=current.get("Environment", {}).get("Variables", {}),
        description=current.get("Description", ""),
    )
    outcome.lambda_updated = True
    report(f"updated Lambda {code.targets.lambda_function}")


def _apply_env_files(
    plan: DeployPlan, s3: Any, report: Report, outcome: DeployOutcome
) -> dict[str, str]:
    bucket = plan.environment.bucket
    params: dict[str, str] = {}
    for item in plan.env_files:
        version = item.current_version
        if item.upload:
            report(f"uploading {item.slot.label} to s3://{bucket}/{item.slot.key} ...")
            version = put_with_hash(s3, bucket, item.slot.key, item.body, item.content_type)
            outcome.uploaded.append(f"s3://{bucket}/{item.slot.key}")
            report(f"uploaded {item.slot.label} (version {version})")
        if item.update_needed:
            if not version:
                raise ApplyError(
                    f"S3 returned no version for s3://{bucket}/{item.slot.key}: "
                    "is versioning still enabled on the bucket?"
                )
            params[item.slot.path_param] = item.slot.key
            params[item.slot.version_param] = version
    return params


def _apply_dags(plan: DeployPlan, s3: Any, report: Report, outcome: DeployOutcome) -> None:
    bucket = plan.environment.bucket
    for key, body in {**plan.dags.adds, **plan.dags.changes}.items():
        put_with_hash(s3, bucket, key, body, _content_type(key), owner=plan.dags.owner)
        outcome.uploaded.append(f"s3://{bucket}/{key}")
        report(f"uploaded s3://{bucket}/{key}")
    for key in plan.dags.deletes:
        # In a versioned bucket this adds a delete marker: the file can be restored.
        s3.delete_object(Bucket=bucket, Key=key)
        outcome.deleted.append(f"s3://{bucket}/{key}")
        report(f"deleted s3://{bucket}/{key}")


def _content_type(key: str) -> str:
    return "text/x-python" if key.endswith(".py") else "application/octet-stream"


def apply_plan(
    plan: DeployPlan,
    *,
    mwaa: Any,
    s3: Any,
    lambda_client: Any,
    report: Report,
    outcome: DeployOutcome,
) -> DeployOutcome:
    if plan.code is not None:
        _apply_code(plan.code, s3, lambda_client, report, outcome)
    params = _apply_env_files(plan, s3, report, outcome)
    if params:
        report(f"calling UpdateEnvironment on {plan.environment.name} ...")
        mwaa.update_environment(Name=plan.environment.name, **params)
        outcome.versions = params
        report("UpdateEnvironment accepted: the environment is updating (this takes minutes)")
    _apply_dags(plan, s3, report, outcome)
    return outcome
