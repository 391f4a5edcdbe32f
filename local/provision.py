"""Stand up what the infrastructure stack provides on AWS, on the local endpoint.

Creates the bucket, the two IAM roles and an SNS topic, then publishes the Glue job and the
Lambda with the same ``deploy.artifacts`` functions the MWAA deploy uses against AWS.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.artifacts import (
    build_lambda_zip,
    ensure_bucket,
    publish_glue_scripts,
    publish_lambda,
)
from local.endpoint_env import REGION, REPO_ROOT, EndpointClients
from sales_etl.config import PipelineConfig

log = logging.getLogger(__name__)

LAMBDA_ROLE = "sales-etl-post-process"
NOTIFY_TOPIC = "sales-etl-quarantine"
METRIC_NAMESPACE = "SalesEtl"


@dataclass(frozen=True)
class LocalStack:
    bucket: str
    glue_script: str
    glue_library: str
    lambda_arn: str
    topic_arn: str


def _assume_role_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def ensure_role(iam: Any, name: str, service: str) -> str:
    """The role's ARN, creating it if missing (the local endpoint does not enforce policies)."""
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        created = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=_assume_role_policy(service)
        )
        return created["Role"]["Arn"]


def provision(aws: EndpointClients, cfg: PipelineConfig) -> LocalStack:
    """Create or update everything the DAG expects to exist before its first run."""
    s3 = aws.client("s3")
    iam = aws.client("iam")
    ensure_bucket(s3, cfg.bucket, REGION)
    ensure_role(iam, cfg.glue_role_arn.rsplit("/", 1)[-1], "glue.amazonaws.com")
    lambda_role = ensure_role(iam, LAMBDA_ROLE, "lambda.amazonaws.com")
    topic_arn = aws.client("sns").create_topic(Name=NOTIFY_TOPIC)["TopicArn"]

    scripts = publish_glue_scripts(s3, cfg.bucket, REPO_ROOT / "glue_scripts")
    lambda_arn = publish_lambda(
        aws.client("lambda"),
        cfg.lambda_function,
        lambda_role,
        build_lambda_zip(REPO_ROOT / "lambdas" / "post_process"),
        timeout=300,
        environment={
            "METRIC_NAMESPACE": METRIC_NAMESPACE,
            "PIPELINE_NAME": "sales_etl",
            "SNS_TOPIC_ARN": topic_arn,
            "MAX_QUARANTINE_RATIO": str(cfg.max_quarantine_ratio),
        },
        waiter_delay=1,
    )
    log.info("provisioned s3://%s, Glue job code and Lambda %s", cfg.bucket, lambda_arn)
    return LocalStack(
        cfg.bucket, scripts.script_location, scripts.extra_py_files, lambda_arn, topic_arn
    )


def upload_tree(s3: Any, bucket: str, root: Path) -> list[str]:
    """Upload every file under ``root`` to the same relative key; returns the keys."""
    keys = []
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        key = path.relative_to(root).as_posix()
        s3.upload_file(str(path), bucket, key)
        keys.append(key)
    return keys
