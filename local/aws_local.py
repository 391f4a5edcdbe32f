"""How every local caller reaches the local AWS endpoint: its region, access keys, clients.

The endpoint serves only requests signed with its secret key (``local.endpoint.http.signature``),
which it makes up at each start and hands to the processes that should use it: its own
children, and through its state file (``local.endpoint_file``) the tools. Every caller signs
with one of the access key ids below and that secret. Neither pipeline code nor the endpoint
(moto imports slowly) is imported here, so the endpoint and every local tool use the same values.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

REGION = "us-east-1"
# The SNS topic local runs send failure alerts to (created by local/provision.py).
ALERT_TOPIC = "sales-etl-alerts"

# The access key ids the endpoint accepts, all with its one secret key. Each id names the
# principal that signs with it, so the endpoint's call log knows who made each call.
DEVELOPER_ACCESS_KEY = "LOCALDEVELOPER"  # tools, tests, the AWS CLI: no principal
MWAA_EXECUTION_ACCESS_KEY = "LOCALMWAAEXECUTIONROLE"  # Airflow's aws_default connection
GLUE_ROLE_ACCESS_KEY = "LOCALGLUEROLE"  # crawls and job runs
LAMBDA_ROLE_ACCESS_KEY = "LOCALLAMBDAROLE"  # the post-process function
ACCESS_KEYS = frozenset(
    {DEVELOPER_ACCESS_KEY, MWAA_EXECUTION_ACCESS_KEY, GLUE_ROLE_ACCESS_KEY, LAMBDA_ROLE_ACCESS_KEY}
)
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


_SESSIONS: dict[tuple[str, str, str], boto3.session.Session] = {}
_SESSIONS_LOCK = threading.Lock()


@dataclass(frozen=True)
class EndpointClients:
    """boto3 clients for the endpoint at ``url``, signed with its ``secret_key``."""

    url: str
    secret_key: str = field(repr=False)

    def client(
        self,
        service: str,
        region: str = REGION,
        config: Config | None = None,
        *,
        access_key: str = DEVELOPER_ACCESS_KEY,
    ) -> Any:
        """A client of ``service`` that signs as ``access_key``'s principal (a new one each
        call: callers may register their own event hooks on it)."""
        key = (access_key, self.secret_key, region)
        # A session reused, not one per client: each new session reads the service's model
        # files again (about 100 ms a client). Sessions are not thread-safe, hence the lock.
        with _SESSIONS_LOCK:
            session = _SESSIONS.get(key)
            if session is None:
                session = _SESSIONS[key] = boto3.session.Session(
                    aws_access_key_id=access_key,
                    aws_secret_access_key=self.secret_key,
                    region_name=region,
                )
            return session.client(service, endpoint_url=self.url, config=config)

    def credentials(self, access_key: str = DEVELOPER_ACCESS_KEY) -> dict[str, str]:
        """The key as environment variables, for processes whose boto3 reads them there."""
        return {"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}


def aws_connection(endpoint: EndpointClients) -> str:
    """Airflow's ``aws_default`` connection for the endpoint, as AIRFLOW_CONN_AWS_DEFAULT.

    Its key id stands for the MWAA execution role, whose credentials Airflow uses on MWAA.
    """
    return json.dumps(
        {
            "conn_type": "aws",
            "login": MWAA_EXECUTION_ACCESS_KEY,
            "password": endpoint.secret_key,
            "extra": {"region_name": REGION, "endpoint_url": endpoint.url},
        }
    )
