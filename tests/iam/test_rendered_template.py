"""Calls the local runs never make, evaluated against the rendered template directly."""

from __future__ import annotations

from local.aws_local import ALERT_TOPIC, MWAA_EXECUTION_ROLE
from local.endpoint.http.call_log import Call
from local.stack_config import local_config
from tests.support.iam.evaluation import evaluate, statements_of
from tests.support.iam.policies import render_role_policies


def test_airflow_may_not_change_the_glue_job_or_crawlers_nor_pass_the_glue_role() -> None:
    """Every DAG of a shared MWAA environment has the execution role: none may point the job
    or a crawler at other code or another role (local runs never try; AWS would refuse)."""
    policies = render_role_policies(local_config())
    statements = {
        MWAA_EXECUTION_ROLE: statements_of(MWAA_EXECUTION_ROLE, policies[MWAA_EXECUTION_ROLE])
    }
    glue = "arn:aws:glue:us-east-1:123456789012"
    calls = [
        Call(MWAA_EXECUTION_ROLE, "glue:UpdateJob", f"{glue}:job/sales_etl_job"),
        Call(MWAA_EXECUTION_ROLE, "glue:CreateJob", f"{glue}:job/other_job"),
        Call(MWAA_EXECUTION_ROLE, "glue:UpdateCrawler", f"{glue}:crawler/sales_etl_raw"),
        Call(MWAA_EXECUTION_ROLE, "glue:CreateCrawler", "*"),
        Call(MWAA_EXECUTION_ROLE, "iam:PassRole", local_config().glue_role_arn),
    ]
    assert len(evaluate(calls, statements).denied) == len(calls)


def test_airflow_may_publish_failure_alerts_to_the_stacks_topic() -> None:
    """The alert policy is a managed policy of its own (only with CreateAlertTopic)."""
    policies = render_role_policies(local_config())
    statements = {
        MWAA_EXECUTION_ROLE: statements_of(MWAA_EXECUTION_ROLE, policies[MWAA_EXECUTION_ROLE])
    }
    publish = Call(
        MWAA_EXECUTION_ROLE, "sns:Publish", f"arn:aws:sns:us-east-1:123456789012:{ALERT_TOPIC}"
    )
    assert not evaluate([publish], statements).denied
