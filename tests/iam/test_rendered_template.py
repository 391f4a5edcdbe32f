"""Calls the local runs never make, evaluated against the rendered template directly."""

from __future__ import annotations

from local.aws_local import MWAA_EXECUTION_ROLE
from local.endpoint.call_log import Call
from sales_etl.config import PipelineConfig
from tests.iam.evaluation import evaluate, statements_of
from tests.iam.rendered_policies import render_role_policies

LOGS = "arn:aws:logs:us-east-1:123456789012:log-group"


def test_airflow_may_filter_the_glue_job_logs_it_streams() -> None:
    """The synchronous GlueJobOperator (verbose) reads the job's logs with FilterLogEvents, a
    log-group action: IAM matches it against the group's ``:*`` ARN."""
    policies = render_role_policies(PipelineConfig())
    statements = {
        MWAA_EXECUTION_ROLE: statements_of(MWAA_EXECUTION_ROLE, policies[MWAA_EXECUTION_ROLE])
    }
    calls = [
        Call(MWAA_EXECUTION_ROLE, "logs:FilterLogEvents", f"{LOGS}:/aws-glue/jobs/{group}:*")
        for group in ("output", "error")
    ]
    assert not evaluate(calls, statements).denied
