"""Stand up what the infrastructure stack provides on AWS, on the local endpoint, and seed it.

    python -m local.provision [--endpoint-file .local-run/endpoint/endpoint.json]

``provision`` creates the bucket, the two IAM roles, the SNS topic, the Glue database and its
declared processed tables, then publishes the Glue job and the Lambda with the same
``deploy.artifacts`` functions the MWAA deploy uses against AWS. ``seed`` does that and
uploads a raw-data lake: every local run (the demo, `make airflow`, the end-to-end and
backfill tests) seeds its endpoint through it. The command seeds
the demo lake (2024-01-15..20) into a running endpoint; docker compose's ``aws-init`` runs it
once against the endpoint container (its state lives in memory, so after an endpoint restart
the seeding must run again).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from deploy.artifacts import (
    build_lambda_zip,
    ensure_bucket,
    publish_glue_scripts,
    publish_lambda,
)
from local.aws_local import ALERT_TOPIC, REGION, EndpointClients
from local.data.demo_lake import write_demo_lake
from local.endpoint_file import DEFAULT_PATH, endpoint_for_command
from local.repo import REPO_ROOT
from local.stack_config import local_config
from sales_contract.lambda_environment import post_process_environment
from sales_etl.config import PipelineConfig
from sales_etl.glue_resources import (
    glue_job_definition,
    processed_table_definitions,
    raw_crawler_definition,
)

log = logging.getLogger(__name__)

# The IAM role the post-process Lambda function runs as (its execution role).
LAMBDA_EXECUTION_ROLE_NAME = "sales-etl-post-process"
LAMBDA_SERVICE = "lambda.amazonaws.com"
GLUE_SERVICE = "glue.amazonaws.com"

Written = TypeVar("Written")


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


def ensure_database(glue: Any, name: str) -> None:
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_database(DatabaseInput={"Name": name})


def ensure_log_group(logs: Any, name: str) -> None:
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=name)


def ensure_processed_tables(glue: Any, cfg: PipelineConfig) -> None:
    """Create or update the declared processed tables, as the stack's AWS::Glue::Table does."""
    for table in processed_table_definitions(cfg):
        try:
            glue.create_table(**table)
        except glue.exceptions.AlreadyExistsException:
            glue.update_table(**table)


def ensure_glue_job_and_crawlers(glue: Any, cfg: PipelineConfig) -> None:
    """Create or update the job and crawler from their definitions, as the stack does on AWS.

    The DAG only starts them (``sales_etl.as_deployed`` checks them against the same
    definitions before each run).
    """
    job = glue_job_definition(cfg)
    try:
        glue.get_job(JobName=job["Name"])
    except glue.exceptions.EntityNotFoundException:
        glue.create_job(**job)
    else:
        update = {key: value for key, value in job.items() if key != "Name"}
        glue.update_job(JobName=job["Name"], JobUpdate=update)
    crawler = raw_crawler_definition(cfg)
    try:
        glue.get_crawler(Name=crawler["Name"])
    except glue.exceptions.EntityNotFoundException:
        glue.create_crawler(**crawler)
    else:
        glue.update_crawler(**crawler)


def provision(aws: EndpointClients, cfg: PipelineConfig) -> None:
    """Create or update everything the DAG expects to exist before its first run."""
    s3 = aws.client("s3")
    iam = aws.client("iam")
    ensure_bucket(s3, cfg.bucket, REGION)
    ensure_role(iam, cfg.glue_role_arn.rsplit("/", 1)[-1], GLUE_SERVICE)
    lambda_role = ensure_role(iam, LAMBDA_EXECUTION_ROLE_NAME, LAMBDA_SERVICE)
    # One topic, as the stack's AlertTopic: the Lambda's quarantine notices and failure alerts.
    topic_arn = aws.client("sns").create_topic(Name=ALERT_TOPIC)["TopicArn"]
    # The stack creates these; the Glue and Lambda roles are not allowed to.
    ensure_database(aws.client("glue"), cfg.glue_database)
    ensure_processed_tables(aws.client("glue"), cfg)
    ensure_log_group(aws.client("logs"), f"/aws/lambda/{cfg.lambda_function}")

    publish_glue_scripts(s3, cfg.bucket, REPO_ROOT / "glue_scripts")
    ensure_glue_job_and_crawlers(aws.client("glue"), cfg)
    lambda_arn = publish_lambda(
        aws.client("lambda"),
        cfg.lambda_function,
        lambda_role,
        build_lambda_zip(REPO_ROOT / "lambdas" / "post_process"),
        timeout=300,
        environment=post_process_environment(topic_arn, cfg.max_quarantine_ratio),
        waiter_delay=1,
    )
    log.info("provisioned s3://%s, the Glue job and crawler, Lambda %s", cfg.bucket, lambda_arn)


def seed(
    aws: EndpointClients, cfg: PipelineConfig, write_lake: Callable[[Path], Written]
) -> Written:
    """Provision, then upload the lake ``write_lake`` writes into a scratch folder.

    Every file lands under its path relative to that folder (``raw-data/...``). Returns what
    ``write_lake`` returned (e.g. the days written).
    """
    provision(aws, cfg)
    with tempfile.TemporaryDirectory() as folder:
        lake = Path(folder)
        written = write_lake(lake)
        s3 = aws.client("s3")
        files = [p for p in lake.rglob("*") if p.is_file()]
        # As a producer must: a day's completion marker lands after all of its data files.
        for path in sorted(files, key=lambda p: (p.name == cfg.completion_marker, p)):
            s3.upload_file(str(path), cfg.bucket, path.relative_to(lake).as_posix())
    return written


def seed_demo_lake(endpoint: EndpointClients) -> list[str]:
    """Provision the endpoint and upload the demo lake; returns its days, in order."""
    return seed(endpoint, local_config(), write_demo_lake)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.provision", description="Provision and seed a running endpoint."
    )
    parser.add_argument(
        "--endpoint-file",
        type=Path,
        default=DEFAULT_PATH,
        help="the running endpoint's state file, with its URL and key (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    endpoint = endpoint_for_command(args.endpoint_file)
    days = seed_demo_lake(endpoint)
    print(f"provisioned {endpoint.url}; seeded sales days {days[0]} .. {days[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
