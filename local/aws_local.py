"""How every local caller reaches the local AWS endpoint: its region, fake credentials, clients.

The endpoint accepts any credentials; fixed fake ones keep a developer's real keys out of every
local call. Neither pipeline code nor the endpoint (moto imports slowly) is imported here, so
the endpoint and every local tool use the same values.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config

REGION = "us-east-1"
# The SNS topic local runs send failure alerts to (created by local/provision.py).
ALERT_TOPIC = "sales-etl-alerts"
FAKE_ACCESS_KEY = "test"
FAKE_SECRET_KEY = "test"
FAKE_SESSION_TOKEN = "test"
# As environment variables, for processes whose boto3 reads its credentials from there.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY}


def endpoint_client(
    endpoint_url: str, service: str, region: str = REGION, config: Config | None = None
) -> Any:
    """A boto3 client for the endpoint at ``endpoint_url``, with the fake credentials."""
    session = boto3.session.Session(
        aws_access_key_id=FAKE_ACCESS_KEY,
        aws_secret_access_key=FAKE_SECRET_KEY,
        region_name=region,
    )
    return session.client(service, endpoint_url=endpoint_url, config=config)


def aws_connection(endpoint_url: str) -> str:
    """Airflow's ``aws_default`` connection for the endpoint, as AIRFLOW_CONN_AWS_DEFAULT."""
    return json.dumps(
        {
            "conn_type": "aws",
            "login": FAKE_ACCESS_KEY,
            "password": FAKE_SECRET_KEY,
            "extra": {"region_name": REGION, "endpoint_url": endpoint_url},
        }
    )
