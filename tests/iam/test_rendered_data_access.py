"""S3 and log calls the local runs do not make as AWS makes them, evaluated against the rendered
template: S3's implicit list check on a missing object, EMRFS's multipart aborts, and the log
groups a Glue 5.0 job writes."""

from __future__ import annotations

import pytest

from local.aws_local import GLUE_ROLE, LAMBDA_ROLE_PRINCIPAL, MWAA_EXECUTION_ROLE
from local.endpoint.http.call_log import Call
from local.stack_config import local_config
from sales_contract.layout import manifest_key
from tests.support.iam.evaluation import Evaluation, evaluate, statements_of
from tests.support.iam.policies import render_role_policies

CONFIG = local_config()
BUCKET = f"arn:aws:s3:::{CONFIG.bucket}"
LOGS = "arn:aws:logs:us-east-1:123456789012:log-group"


def evaluated(calls: list[Call]) -> Evaluation:
    policies = render_role_policies(CONFIG)
    return evaluate(calls, {p: statements_of(p, docs) for p, docs in policies.items()})


@pytest.mark.parametrize("principal", [LAMBDA_ROLE_PRINCIPAL, MWAA_EXECUTION_ROLE])
def test_a_missing_manifest_reads_as_not_found(principal: str) -> None:
    """S3 answers a GetObject of a missing key with 404 only to a caller it would also let list
    that key, else 403 AccessDenied (S3 API reference, GetObject, "Permissions"). The Lambda
    and the failure callback must tell "no manifest" from "not allowed"."""
    key = manifest_key("2024-01-15")
    calls = [
        Call(principal, "s3:GetObject", f"{BUCKET}/{key}"),
        Call(principal, "s3:ListBucket", BUCKET, (("s3:prefix", key),)),
    ]
    assert evaluated(calls).denied == []
    # The grant names the manifests, not the whole bucket (the quarantine's rows, say).
    elsewhere = Call(principal, "s3:ListBucket", BUCKET, (("s3:prefix", "quarantine/"),))
    assert evaluated([elsewhere]).denied == [elsewhere]


OUTPUT_KEYS = [
    "processed-data/daily_sales/order_date=2024-01-15/part-00000.parquet",
    "quarantine/sales/order_date=2024-01-15/part-00000.csv",
    "manifests/run_date=2024-01-15/manifest.json",
    "temp/spark-staging/part-00000",
]


def test_the_glue_job_may_abort_its_own_multipart_uploads_only() -> None:
    """EMRFS writes large objects in parts and aborts the upload when a task fails or is
    retried; without s3:AbortMultipartUpload the parts stay (and bill) until the lifecycle
    rule removes them, and the failed task reports AccessDenied instead of its own error."""
    allowed = [Call(GLUE_ROLE, "s3:AbortMultipartUpload", f"{BUCKET}/{k}") for k in OUTPUT_KEYS]
    inputs = Call(GLUE_ROLE, "s3:AbortMultipartUpload", f"{BUCKET}/raw-data/sales/x.csv")
    evaluation = evaluated([*allowed, inputs])
    assert evaluation.denied == [inputs]


@pytest.mark.parametrize("group", ["/aws-glue/jobs/output", "/aws-glue/jobs/error"])
def test_the_glue_job_writes_the_log_groups_of_glue_5(group: str) -> None:
    """Glue 5.0 writes a job's logs to /aws-glue/jobs/output and /aws-glue/jobs/error (AWS Glue
    guide, "Logging for AWS Glue jobs"); continuous logging's /aws-glue/jobs/logs-v2 is
    Glue 4.0 and earlier."""
    calls = [
        Call(GLUE_ROLE, "logs:CreateLogGroup", f"{LOGS}:{group}:*"),
        Call(GLUE_ROLE, "logs:CreateLogStream", f"{LOGS}:{group}:*"),
        Call(GLUE_ROLE, "logs:PutLogEvents", f"{LOGS}:{group}:log-stream:jr_1-driver"),
    ]
    assert evaluated(calls).denied == []


def test_the_glue_role_writes_no_other_job_log_group() -> None:
    never_written = [
        Call(GLUE_ROLE, "logs:PutLogEvents", f"{LOGS}:/aws-glue/jobs/logs-v2:log-stream:jr_1"),
        Call(GLUE_ROLE, "logs:CreateLogGroup", f"{LOGS}:/aws-glue/jobs/other:*"),
    ]
    assert set(evaluated(never_written).denied) == set(never_written)
