"""How every local caller reaches the local AWS endpoint: its region, fake credentials, clients.

The endpoint accepts any credentials; fixed fake ones keep a developer's real keys out of every
local call. Neither pipeline code nor the endpoint (moto imports slowly) is imported here, so
the endpoint and every local tool use the same values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

REGION = "us-east-1"
# The SNS topic local runs send failure alerts to (created by local/provision.py).
ALERT_TOPIC = "sales-etl-alerts"
FAKE_ACCESS_KEY = "test"
FAKE_SECRET_KEY = "test"
FAKE_SESSION_TOKEN = "test"

# One fake access key per principal, so the endpoint's call log knows who made each call
# (the endpoint accepts any key). Tools and tests keep FAKE_ACCESS_KEY: no principal.
MWAA_EXECUTION_ACCESS_KEY = "LOCALMWAAEXECUTIONROLE"  # Airflow's aws_default connection
GLUE_ROLE_ACCESS_KEY = "LOCALGLUEROLE"  # crawls and job runs
LAMBDA_ROLE_ACCESS_KEY = "LOCALLAMBDAROLE"  # the post-process function
# The principals' names in the call log (``local.endpoint.http.call_log``), for each key.
MWAA_EXECUTION_ROLE = "mwaa-execution-role"
GLUE_ROLE = "glue-role"
# The post-process Lambda's role as the call log names it (the IAM role the function is
# created with is ``local.provision.LAMBDA_EXECUTION_ROLE_NAME``).
LAMBDA_ROLE_PRINCIPAL = "lambda-role"
PRINCIPAL_BY_ACCESS_KEY = {
    MWAA_EXECUTION_ACCESS_KEY: MWAA_EXECUTION_ROLE,
    GLUE_ROLE_ACCESS_KEY: GLUE_ROLE,
    LAMBDA_ROLE_ACCESS_KEY: LAMBDA_ROLE_PRINCIPAL,
}
# As environment variables, for processes whose boto3 reads its credentials from there.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY}


def endpoint_client(
    endpoint_url: str,
    service: str,
    region: str = REGION,
    config: Config | None = None,
    access_key: str = FAKE_ACCESS_KEY,
) -> Any:
    """A boto3 client for the endpoint at ``endpoint_url``, with fake credentials."""
    session = boto3.session.Session(
        aws_access_key_id=access_key,
        aws_secret_access_key=FAKE_SECRET_KEY,
        region_name=region,
    )
    return session.client(service, endpoint_url=endpoint_url, config=config)


@dataclass(frozen=True)
class EndpointClients:
    """boto3 clients for the endpoint at ``url``, with its fake credentials."""

    url: str

    def client(self, service: str) -> Any:
        return endpoint_client(self.url, service)


def aws_connection(endpoint_url: str) -> str:
    """Airflow's ``aws_default`` connection for the endpoint, as AIRFLOW_CONN_AWS_DEFAULT.

    Its key stands for the MWAA execution role, whose credentials Airflow uses on MWAA.
    """
    return json.dumps(
        {
            "conn_type": "aws",
            "login": MWAA_EXECUTION_ACCESS_KEY,
            "password": FAKE_SECRET_KEY,
            "extra": {"region_name": REGION, "endpoint_url": endpoint_url},
        }
    )
