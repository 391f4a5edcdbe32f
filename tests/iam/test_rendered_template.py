"""Calls the local runs never make, evaluated against the rendered template directly."""

from __future__ import annotations

from local.aws_local import ALERT_TOPIC, MWAA_EXECUTION_ROLE
from local.endpoint.http.call_log import Call
from sales_etl.config import PipelineConfig
from tests.support.iam.evaluation import evaluate, statements_of
from tests.support.iam.policies import render_role_policies

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


def test_airflow_may_publish_failure_alerts_to_the_stacks_topic() -> None:
    """The alert policy is a managed policy of its own (only with CreateAlertTopic)."""
    policies = render_role_policies(PipelineConfig())
    statements = {
        MWAA_EXECUTION_ROLE: statements_of(MWAA_EXECUTION_ROLE, policies[MWAA_EXECUTION_ROLE])
    }
    publish = Call(
        MWAA_EXECUTION_ROLE, "sns:Publish", f"arn:aws:sns:us-east-1:123456789012:{ALERT_TOPIC}"
    )
    assert not evaluate([publish], statements).denied
